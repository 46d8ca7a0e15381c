//! The backup targets of the current profile, each with its backups,
//! restorable window and RPO, and the backup, verification or restore this
//! window started on it, followed live through the jobs store until done.

import type { BackupList, BackupTarget, BackupType, IpcError, Job, TypedPreflight } from "../../generated/bindings";
import { SvelteMap } from "svelte/reactivity";

import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";
import type { Jobs } from "./jobs.svelte";

/** A job this window started on a target. */
export type Started = { kind: "backup" | "verify" | "restore"; job: string };

export class Backups {
  targets = $state.raw<BackupTarget[]>([]);
  lists = $state.raw<Record<string, BackupList>>({});
  /** Why a target's list could not be read. */
  listErrors = $state.raw<Record<string, IpcError>>({});
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** The last job started on each target from this window. */
  started = $state.raw<Record<string, Started>>({});

  readonly #ipc: Ipc;
  readonly #jobs: Jobs;
  #profile = $state<string | null>(null);
  #seq = 0;
  #done = new SvelteMap<string, Promise<Job | null>>();

  constructor(ipc: Ipc, jobs: Jobs) {
    this.#ipc = ipc;
    this.#jobs = jobs;
  }

  get profile(): string | null {
    return this.#profile;
  }

  /** Reads the targets of `profile` and each one's backups. */
  async load(profile: string): Promise<void> {
    this.#jobs.use(profile);
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.targets = [];
      this.lists = {};
      this.listErrors = {};
      this.started = {};
      this.#done.clear();
    }
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const targets = await this.#ipc.backupTargets(profile);
      if (seq !== this.#seq) return;
      this.targets = targets;
      this.error = null;
      await Promise.all(targets.map((t) => this.loadList(t.id)));
    } catch (e) {
      if (seq === this.#seq) this.error = toIpcError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  async refresh(): Promise<void> {
    if (this.#profile) await this.load(this.#profile);
  }

  async loadList(target: string): Promise<void> {
    const profile = this.#profile;
    if (profile === null) return;
    try {
      const list = await this.#ipc.backupsList(profile, target);
      if (profile !== this.#profile) return;
      this.lists = { ...this.lists, [target]: list };
      const { [target]: _gone, ...others } = this.listErrors;
      this.listErrors = others;
    } catch (e) {
      if (profile === this.#profile) this.listErrors = { ...this.listErrors, [target]: toIpcError(e) };
    }
  }

  /** Starts a backup of `target`: the queued job, followed to its end. */
  create(target: string, type: BackupType): Promise<Job> {
    return this.#run(target, "backup", (profile) => this.#ipc.backupCreate(profile, target, type));
  }

  /** Starts a verification of the backup `set` (the newest when null). */
  verify(target: string, set: string | null): Promise<Job> {
    return this.#run(target, "verify", (profile) => this.#ipc.backupVerify(profile, target, set));
  }

  /** What a restore to `to` (the newest point when null) will do, and what must be typed. */
  restorePreflight(target: string, to: string | null): Promise<TypedPreflight> {
    return this.#ipc.backupRestorePreflight(this.#profile, target, to);
  }

  /** Starts a restore; core checks `confirmation` against the target. `approval`: a granted two-person approval. */
  restore(target: string, to: string | null, confirmation: string | null, approval: string | null = null): Promise<Job> {
    return this.#run(target, "restore", (profile) => this.#ipc.backupRestore(profile, target, to, confirmation, approval));
  }

  /** The end of the job last started on `target` (the target's list read again by then). */
  whenDone(target: string): Promise<Job | null> {
    return this.#done.get(target) ?? Promise.resolve(null);
  }

  /** The job running or last run from this window on `target`, as last seen. */
  jobOf(target: string): Job | null {
    const started = this.started[target];
    return started ? this.#jobs.job(started.job) : null;
  }

  reset(): void {
    this.#seq++;
    this.#profile = null;
    this.targets = [];
    this.lists = {};
    this.listErrors = {};
    this.started = {};
    this.#done.clear();
    this.error = null;
    this.loading = false;
  }

  /**
   * Starts a job: the queued job, or a refusal (rejects, for the caller to
   * show). It is then followed in the background to its end, after which
   * the target's backups are read again (`whenDone`).
   */
  async #run(target: string, kind: Started["kind"], start: (profile: string) => Promise<Job>): Promise<Job> {
    const profile = this.#profile;
    if (profile === null) throw toIpcError(new Error("no profile is open"));
    const job = await start(profile);
    if (profile !== this.#profile) return job;
    this.started = { ...this.started, [target]: { kind, job: job.id } };
    const done = this.#jobs.watch(job.id, job).then(async (ended) => {
      if (profile === this.#profile) await this.loadList(target);
      return ended;
    });
    this.#done.set(target, done);
    return job;
  }
}
