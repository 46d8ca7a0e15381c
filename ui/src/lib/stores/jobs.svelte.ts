//! The server's jobs for the current profile: the recent ones, one chosen
//! with its log, and the jobs this window watches live (their progress and
//! new log lines arrive over Tauri channels until they end). The backups
//! and clusters views start jobs and follow them here, so every view shows
//! the same progress.

import { Channel } from "@tauri-apps/api/core";
import { SvelteMap } from "svelte/reactivity";

import type { IpcError, Job, JobLogLine, Progress } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";
import { isFinished } from "../jobs";

/** Makes the channels a watch reports on; tests pass their own. */
export type Channels = <T>(onmessage: (message: T) => void) => Channel<T>;

export const tauriChannels: Channels = <T>(onmessage: (message: T) => void) => new Channel<T>(onmessage);

/** A job followed live. */
export type Live = {
  job: Job;
  progress: Progress | null;
  /** Log lines that arrived while watching, oldest first. */
  log: JobLogLine[];
  /** Why the watch ended without the job's end (the job may still run). */
  error: IpcError | null;
};

/** How many recent jobs the list shows. */
export const RECENT = 50;

export class Jobs {
  items = $state.raw<Job[]>([]);
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** The id of the job in the detail panel. */
  selected = $state<string | null>(null);
  /** The chosen job as last read, with its log. */
  detail = $state.raw<Job | null>(null);
  live = $state.raw<Record<string, Live>>({});

  readonly #ipc: Ipc;
  readonly #channels: Channels;
  #profile = $state<string | null>(null);
  #seq = 0;
  /** Bumped when the profile changes: watches of the old one stop writing here. */
  #generation = 0;
  #watching = new SvelteMap<string, Promise<Job | null>>();

  constructor(ipc: Ipc, channels: Channels = tauriChannels) {
    this.#ipc = ipc;
    this.#channels = channels;
  }

  get profile(): string | null {
    return this.#profile;
  }

  /** The job as last seen: live if watched, else from the list. */
  job(id: string): Job | null {
    return this.live[id]?.job ?? this.items.find((j) => j.id === id) ?? (this.detail?.id === id ? this.detail : null);
  }

  /**
   * Puts the store on `profile` without reading the list: another view is
   * about to start jobs there and follow them.
   */
  use(profile: string): void {
    if (profile !== this.#profile) this.#switchTo(profile);
  }

  /** Reads the recent jobs of `profile` and watches those still going. */
  async load(profile: string): Promise<void> {
    if (profile !== this.#profile) this.#switchTo(profile);
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const page = await this.#ipc.jobsList(profile, RECENT, null);
      if (seq !== this.#seq) return;
      this.items = page.items;
      this.error = null;
      for (const job of page.items) if (!isFinished(job.state)) void this.watch(job.id, job);
    } catch (e) {
      if (seq === this.#seq) this.error = toIpcError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  async refresh(): Promise<void> {
    if (this.#profile) await this.load(this.#profile);
  }

  /** Chooses a job and reads it with its log. */
  async select(id: string | null): Promise<void> {
    this.selected = id;
    this.detail = null;
    if (id === null || this.#profile === null) return;
    const generation = this.#generation;
    try {
      const job = await this.#ipc.jobGet(this.#profile, id);
      if (generation === this.#generation && this.selected === id) this.detail = job;
    } catch (e) {
      if (generation === this.#generation && this.selected === id) this.error = toIpcError(e);
    }
  }

  /**
   * Follows the job to its end (once, however often it is asked): its
   * progress and log lines as they come; the job as it ended, or null when
   * the watch failed (the error is kept on its live entry).
   */
  watch(id: string, known?: Job): Promise<Job | null> {
    const running = this.#watching.get(id);
    if (running) return running;
    const profile = this.#profile;
    if (profile === null) return Promise.resolve(null);
    const generation = this.#generation;
    const mine = () => generation === this.#generation;
    const start = known ?? this.job(id);
    if (start) this.#put(id, { job: start, progress: null, log: [], error: null });
    const onProgress = this.#channels<Progress>((progress) => {
      const live = this.live[id];
      if (mine() && live) this.#put(id, { ...live, progress });
    });
    const onLog = this.#channels<JobLogLine>((line) => {
      const live = this.live[id];
      if (mine() && live) this.#put(id, { ...live, log: [...live.log, line] });
    });
    const watching = this.#ipc
      .jobWatch(profile, id, onProgress, onLog)
      .then((job) => {
        if (!mine()) return job;
        const live = this.live[id];
        this.#put(id, { job: { ...job, log: live?.job.log ?? [] }, progress: live?.progress ?? null, log: live?.log ?? [], error: null });
        this.items = this.items.some((j) => j.id === id) ? this.items.map((j) => (j.id === id ? job : j)) : [job, ...this.items];
        if (this.selected === id) void this.select(id);
        return job;
      })
      .catch((e: unknown) => {
        const live = this.live[id];
        if (mine() && live) this.#put(id, { ...live, error: toIpcError(e) });
        return null;
      })
      .finally(() => {
        if (this.#watching.get(id) === watching) this.#watching.delete(id);
      });
    this.#watching.set(id, watching);
    return watching;
  }

  /**
   * Follows a job another view knows only by its id (a playbook run's
   * action step): reads it, then watches it while it goes on.
   */
  async follow(id: string): Promise<void> {
    const profile = this.#profile;
    if (profile === null || this.live[id] || this.#watching.has(id)) return;
    const generation = this.#generation;
    try {
      const job = await this.#ipc.jobGet(profile, id);
      if (generation !== this.#generation || this.live[id]) return;
      if (isFinished(job.state)) this.#put(id, { job, progress: null, log: [], error: null });
      else void this.watch(id, job);
    } catch {
      // The run's step says how the action went; its bar stays empty.
    }
  }

  /** Asks the job to stop; the watch reports its end. */
  async cancel(id: string): Promise<Job> {
    if (this.#profile === null) throw toIpcError(new Error("no profile is open"));
    const job = await this.#ipc.jobCancel(this.#profile, id);
    const live = this.live[id];
    if (live) this.#put(id, { ...live, job: { ...live.job, ...job, log: live.job.log ?? [] } });
    this.items = this.items.map((j) => (j.id === id ? job : j));
    if (!isFinished(job.state)) void this.watch(id, job);
    return job;
  }

  reset(): void {
    this.#switchTo(null);
  }

  #switchTo(profile: string | null): void {
    this.#seq++;
    this.#generation++;
    this.#profile = profile;
    this.#watching.clear();
    this.items = [];
    this.live = {};
    this.selected = null;
    this.detail = null;
    this.error = null;
    this.loading = false;
  }

  #put(id: string, live: Live): void {
    this.live = { ...this.live, [id]: live };
  }
}
