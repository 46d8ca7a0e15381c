//! The clusters of the current profile, the topology of the one chosen,
//! and the switchover or failover this window started on it, followed live
//! through the jobs store until it ends with its measured RTO.

import type {
  ClusterPreflight,
  ClusterSummary,
  ClusterTopology,
  FailoverAction,
  FailoverRequest,
  IpcError,
  Job,
  TypedPreflight,
} from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";
import { drawsPrimary, newPrimary } from "../clusters";
import type { Jobs } from "./jobs.svelte";

/** How many times the topology is read after a switchover before it is left as it is. */
const SETTLE_READS = 10;

export class Clusters {
  items = $state.raw<ClusterSummary[]>([]);
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** The id of the cluster shown. */
  selected = $state<string | null>(null);
  topology = $state.raw<ClusterTopology | null>(null);
  topologyError = $state<IpcError | null>(null);
  topologyLoading = $state(false);
  /** The last job started on each cluster from this window. */
  started = $state.raw<Record<string, string>>({});

  readonly #ipc: Ipc;
  readonly #jobs: Jobs;
  #profile = $state<string | null>(null);
  #seq = 0;
  #topologySeq = 0;

  readonly #settleEveryMs: number;

  constructor(ipc: Ipc, jobs: Jobs, settleEveryMs = 1000) {
    this.#ipc = ipc;
    this.#jobs = jobs;
    this.#settleEveryMs = settleEveryMs;
  }

  get profile(): string | null {
    return this.#profile;
  }

  /** Reads the clusters of `profile` and shows the chosen one (the first by default). */
  async load(profile: string): Promise<void> {
    this.#jobs.use(profile);
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.items = [];
      this.selected = null;
      this.topology = null;
      this.topologyError = null;
      this.started = {};
    }
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const items = await this.#ipc.clustersList(profile);
      if (seq !== this.#seq) return;
      this.items = items;
      this.error = null;
      const chosen = items.find((c) => c.id === this.selected)?.id ?? items[0]?.id ?? null;
      await this.select(chosen);
    } catch (e) {
      if (seq === this.#seq) this.error = toIpcError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  async refresh(): Promise<void> {
    if (this.#profile) await this.load(this.#profile);
  }

  /** Shows the topology of cluster `id`, read now. */
  async select(id: string | null): Promise<void> {
    if (id !== this.selected) this.topology = null;
    this.selected = id;
    this.topologyError = null;
    const profile = this.#profile;
    if (id === null || profile === null) return;
    const seq = ++this.#topologySeq;
    this.topologyLoading = true;
    try {
      const topology = await this.#ipc.clusterShow(profile, id);
      if (seq === this.#topologySeq) this.topology = topology;
    } catch (e) {
      if (seq === this.#topologySeq) this.topologyError = toIpcError(e);
    } finally {
      if (seq === this.#topologySeq) this.topologyLoading = false;
    }
  }

  preflight(id: string, action: FailoverAction, candidate: string | null): Promise<ClusterPreflight> {
    return this.#ipc.clusterPreflight(this.#profile, id, action, candidate);
  }

  confirmation(preflight: ClusterPreflight, request: FailoverRequest): Promise<TypedPreflight> {
    return this.#ipc.clusterConfirmation(this.#profile, preflight, request);
  }

  /**
   * Starts the action of `preflight` (a refusal rejects, for the dialog to
   * show), then follows the job in the background and reads the topology
   * again when it ends. Resolves once the server has queued it.
   */
  async start(preflight: ClusterPreflight, request: FailoverRequest, confirmation: string | null, key: string, approval: string | null = null): Promise<Job> {
    const profile = this.#profile;
    if (profile === null) throw toIpcError(new Error("no profile is open"));
    const started = await this.#ipc.clusterStart(profile, preflight, request, confirmation, key, approval);
    const id = preflight.cluster;
    if (profile !== this.#profile) return started.job;
    this.started = { ...this.started, [id]: started.job.id };
    void this.#jobs.watch(started.job.id, started.job).then((ended) => this.#settle(profile, id, ended));
    return started.job;
  }

  /**
   * Reads the topology again after the job ended; the cluster's manager
   * takes a moment to report the promoted member as primary (its INFO lags
   * its own decision), so it is read a few times more until it does.
   */
  async #settle(profile: string, id: string, ended: Job | null): Promise<void> {
    const promoted = newPrimary(ended);
    for (let attempt = 0; attempt < SETTLE_READS; attempt++) {
      if (profile !== this.#profile || this.selected !== id) return;
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, this.#settleEveryMs));
      if (profile !== this.#profile || this.selected !== id) return;
      await this.select(id);
      if (promoted === null || drawsPrimary(this.topology, promoted)) return;
    }
  }

  /** The job last started on cluster `id` from this window, as last seen. */
  jobOf(id: string): Job | null {
    const job = this.started[id];
    return job ? this.#jobs.job(job) : null;
  }

  reset(): void {
    this.#seq++;
    this.#topologySeq++;
    this.#profile = null;
    this.items = [];
    this.selected = null;
    this.topology = null;
    this.topologyError = null;
    this.started = {};
    this.error = null;
    this.loading = false;
  }
}
