//! Playbooks for the current profile: the library (read here, no server
//! needed), the chosen playbook's dry-run with its inputs, and the server's
//! runs: the list, the run chosen with its steps and events, and what a
//! person does to it (tick, done, approve, retry, resume). A run still
//! going is read again while the view is shown (`poll`), as the CLI's
//! `status --watch` reads it; the server runs the steps.

import type { DryRunView, IpcError, LibraryEntry, LibraryView, PlaybookRun, RunEvent, RunStep, RunSummary } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";

/** How many recent runs the list shows. */
export const RECENT_RUNS = 50;

/** How many waiting runs the inbox reads at most, each a request. */
export const INBOX_READS = 20;

/** Whether the run may still change without anyone acting. */
export function isGoing(run: Pick<RunSummary, "state">): boolean {
  return run.state === "queued" || run.state === "running" || run.state === "waiting";
}

/** The step the run is at, if any. */
export function currentStep(run: PlaybookRun): RunStep | null {
  const id = run.current_step ?? run.waiting?.step ?? null;
  return run.steps.find((s) => s.id === id) ?? null;
}

/** The run's events in the order they happened. */
export function timeline(run: PlaybookRun): RunEvent[] {
  return [...run.events].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
}

/** The runs waiting on an approval the reader may give (the server says), newest first. */
export function awaitingApproval(runs: readonly RunSummary[], details: Readonly<Record<string, PlaybookRun>>): PlaybookRun[] {
  return runs
    .filter((r) => r.state === "waiting")
    .map((r) => details[r.id])
    .filter((r): r is PlaybookRun => !!r && r.waiting?.kind === "approval" && r.waiting.may_approve !== false);
}

/** The inputs that were typed: an empty one takes the playbook's default. */
export function given(inputs: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const typed: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs)) if (value !== undefined && value.trim() !== "") typed[name] = value.trim();
  return typed;
}

/** The inputs of `entry` that an alert's labels of the same name give. */
export function inputsFromLabels(entry: LibraryEntry, labels: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const input of entry.inputs) {
    const value = labels[input.name];
    if (value) inputs[input.name] = value;
  }
  return inputs;
}

export class Playbooks {
  library = $state.raw<LibraryView | null>(null);
  runs = $state.raw<RunSummary[]>([]);
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** The playbook whose dry-run is shown. */
  chosen = $state<string | null>(null);
  dryRun = $state.raw<DryRunView | null>(null);
  dryRunError = $state<IpcError | null>(null);
  /** The inputs as typed, by name. */
  inputs = $state<Record<string, string>>({});
  /** The run in the run view, as last read. */
  selectedRun = $state<string | null>(null);
  run = $state.raw<PlaybookRun | null>(null);
  runError = $state<IpcError | null>(null);

  /** Runs waiting on an approval: the approvals inbox. */
  inbox = $state.raw<PlaybookRun[]>([]);

  readonly #ipc: Ipc;
  #profile = $state<string | null>(null);
  #seq = 0;
  #inboxSeq = 0;
  #dry = 0;
  #read = 0;

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  get profile(): string | null {
    return this.#profile;
  }

  /** Puts the store on `profile` without reading: another view starts a run there. */
  use(profile: string): void {
    if (profile !== this.#profile) {
      this.#seq++;
      this.#profile = profile;
      this.runs = [];
      this.selectedRun = null;
      this.run = null;
    }
  }

  /** The library, read once if it was not yet. */
  async ensureLibrary(): Promise<LibraryView> {
    this.library ??= await this.#ipc.playbooksLibrary();
    return this.library;
  }

  /** Reads the library and the runs of `profile`. */
  async load(profile: string): Promise<void> {
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.runs = [];
      this.selectedRun = null;
      this.run = null;
    }
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const [library, page] = await Promise.all([this.#ipc.playbooksLibrary(), this.#ipc.playbookRuns(profile, null, RECENT_RUNS, null)]);
      if (seq !== this.#seq) return;
      this.library = library;
      this.runs = page.items;
      this.error = null;
    } catch (e) {
      if (seq === this.#seq) this.error = toIpcError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  async refresh(): Promise<void> {
    if (this.#profile) await this.load(this.#profile);
  }

  /** Reads the runs again, not the library: what a timer calls. */
  async refreshRuns(): Promise<void> {
    const profile = this.#profile;
    if (profile === null) return;
    const seq = ++this.#seq;
    try {
      const page = await this.#ipc.playbookRuns(profile, null, RECENT_RUNS, null);
      if (seq === this.#seq) this.runs = page.items;
    } catch (e) {
      if (seq === this.#seq) this.error = toIpcError(e);
    }
  }

  reset(): void {
    this.#seq++;
    this.#profile = null;
    this.runs = [];
    this.run = null;
    this.selectedRun = null;
    this.error = null;
  }

  /**
   * Reads which runs of `profile` wait on an approval this reader may give
   * (the server says who may); the count is the rail's and the tray's.
   */
  async loadInbox(profile: string): Promise<number> {
    const seq = ++this.#inboxSeq;
    const page = await this.#ipc.playbookRuns(profile, null, RECENT_RUNS, null);
    const waiting = page.items.filter((r) => r.state === "waiting").slice(0, INBOX_READS);
    const details: Record<string, PlaybookRun> = {};
    await Promise.all(
      waiting.map(async (r) => {
        details[r.id] = await this.#ipc.playbookRunGet(profile, r.id);
      }),
    );
    if (seq !== this.#inboxSeq) return this.inbox.length;
    this.inbox = awaitingApproval(waiting, details);
    return this.inbox.length;
  }

  /** Chooses a playbook: its inputs start at their defaults, and its dry-run is read. */
  async choose(id: string | null): Promise<void> {
    this.chosen = id;
    this.dryRun = null;
    this.dryRunError = null;
    if (id !== null && this.library === null) {
      try {
        await this.ensureLibrary();
      } catch (e) {
        this.dryRunError = toIpcError(e);
        return;
      }
    }
    const entry = this.library?.entries.find((e) => e.id === id);
    this.inputs = Object.fromEntries((entry?.inputs ?? []).map((i) => [i.name, i.value]));
    if (id !== null) await this.plan();
  }

  /** Reads the dry-run of the chosen playbook with the inputs as typed. */
  async plan(): Promise<void> {
    const id = this.chosen;
    if (id === null) return;
    const seq = ++this.#dry;
    try {
      const dry = await this.#ipc.playbookDryRun(this.#profile, id, this.#given());
      if (seq !== this.#dry) return;
      this.dryRun = dry;
      this.dryRunError = null;
    } catch (e) {
      if (seq === this.#dry) this.dryRunError = toIpcError(e);
    }
  }

  /** Inputs that were typed; an empty one takes the playbook's default. */
  #given(): Record<string, string> {
    return given(this.inputs);
  }

  /** Starts a run of `playbook` on the server and shows it. */
  async start(playbook: string, inputs: Record<string, string>, incident: string | null): Promise<PlaybookRun> {
    const profile = this.#need();
    const run = await this.#ipc.playbookRunStart(profile, playbook, given(inputs), incident);
    this.#shown(run);
    this.runs = [run, ...this.runs.filter((r) => r.id !== run.id)];
    return run;
  }

  /** Chooses a run and reads it. */
  async selectRun(id: string | null): Promise<void> {
    this.selectedRun = id;
    this.run = null;
    this.runError = null;
    if (id !== null) await this.poll();
  }

  /**
   * Reads the chosen run again (and the list, so its row moves too); what
   * the view calls on a timer while the run can change.
   */
  async poll(): Promise<void> {
    const id = this.selectedRun;
    const profile = this.#profile;
    if (id === null || profile === null) return;
    const seq = ++this.#read;
    try {
      const run = await this.#ipc.playbookRunGet(profile, id);
      if (seq !== this.#read || this.selectedRun !== id) return;
      this.#shown(run);
    } catch (e) {
      if (seq === this.#read && this.selectedRun === id) this.runError = toIpcError(e);
    }
  }

  /** Whether the view should read again soon. */
  get going(): boolean {
    return (this.run !== null && isGoing(this.run)) || this.runs.some(isGoing);
  }

  /** Ticks item `index` of the waiting manual step. */
  async tick(step: string, index: number): Promise<void> {
    await this.#act((p, id) => this.#ipc.playbookRunTick(p, id, step, [index], false));
  }

  /** Marks the waiting manual step done. */
  async done(step: string): Promise<void> {
    await this.#act((p, id) => this.#ipc.playbookRunTick(p, id, step, [], true));
  }

  async approve(): Promise<void> {
    await this.#act((p, id) => this.#ipc.playbookRunApprove(p, id));
  }

  async retry(): Promise<void> {
    await this.#act((p, id) => this.#ipc.playbookRunRetry(p, id));
  }

  async resume(from: string | null): Promise<void> {
    await this.#act((p, id) => this.#ipc.playbookRunResume(p, id, from));
  }

  async #act(call: (profile: string, run: string) => Promise<PlaybookRun>): Promise<void> {
    const profile = this.#need();
    const id = this.selectedRun;
    if (id === null) throw new Error("no run is chosen");
    ++this.#read;
    const run = await call(profile, id);
    if (this.selectedRun === id) this.#shown(run);
  }

  #shown(run: PlaybookRun): void {
    this.selectedRun = run.id;
    this.run = run;
    this.runError = null;
    const summary: RunSummary = {
      id: run.id,
      playbook: run.playbook,
      title: run.title,
      state: run.state,
      current_step: run.current_step ?? null,
      started_by: run.started_by,
      incident_id: run.incident_id ?? null,
      error: run.error ?? null,
      created_at: run.created_at,
      updated_at: run.updated_at,
      finished_at: run.finished_at ?? null,
    };
    this.runs = this.runs.map((r) => (r.id === run.id ? summary : r));
  }

  #need(): string {
    if (this.#profile === null) throw new Error("no profile is chosen");
    return this.#profile;
  }
}
