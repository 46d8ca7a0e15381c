//! Incidents of the current profile: the list (by status), the one chosen
//! with its timeline, targets, linked alerts, escalations and runs, what a
//! person does to it (acknowledge, mitigate, resolve, note, export), and
//! the maintenance windows. The chosen incident is read again while shown
//! (`poll`) so its timeline follows what others and the server do.

import type {
  IncidentDetail,
  IncidentStatus,
  IncidentTarget,
  Incident,
  IpcError,
  MaintenanceWindow,
  RunSummary,
  Severity,
  TargetState,
} from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";

/** A target as its timer shows it at `nowMs`. */
export type LiveTarget = {
  state: TargetState;
  /** Seconds until it is due (negative: overdue); null once reached. */
  left: number | null;
};

/**
 * The target at `nowMs`: the server said its state when it was read; one
 * not reached that falls due while shown is breached from then on.
 */
export function liveTarget(target: IncidentTarget, nowMs: number): LiveTarget {
  if (target.reached_at) return { state: target.state, left: null };
  const left = Math.round((Date.parse(target.due_at) - nowMs) / 1000);
  return { state: left < 0 ? "breached" : target.state, left };
}

/** A target's state as its timer says it: due, met or breached. */
export function targetWord(state: TargetState): string {
  return state === "running" ? "due" : state;
}

/** `12m 5s`, `1h 4m`, `2d 3h` for a span in seconds. */
export function spanWords(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** The next status a person moves the incident to, and the button's word. */
export function nextSteps(status: IncidentStatus): { status: IncidentStatus; label: string }[] {
  switch (status) {
    case "open":
      return [
        { status: "acknowledged", label: "Acknowledge" },
        { status: "mitigated", label: "Mitigate" },
        { status: "resolved", label: "Resolve" },
      ];
    case "acknowledged":
      return [
        { status: "mitigated", label: "Mitigate" },
        { status: "resolved", label: "Resolve" },
      ];
    case "mitigated":
      return [{ status: "resolved", label: "Resolve" }];
    case "resolved":
      return [];
  }
}

/** An incident's severity from an alert's `severity` label. */
export function severityOfAlert(labels: Readonly<Record<string, string | undefined>>): Severity {
  switch (labels.severity?.toLowerCase()) {
    case "critical":
      return "P1";
    case "warning":
      return "P3";
    default:
      return "P4";
  }
}

export class Incidents {
  items = $state.raw<Incident[]>([]);
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** The list's status filter; null for every one. */
  status = $state<IncidentStatus | null>(null);
  selected = $state<string | null>(null);
  detail = $state.raw<IncidentDetail | null>(null);
  /** The runs of the chosen incident. */
  runs = $state.raw<RunSummary[]>([]);
  detailError = $state<IpcError | null>(null);
  windows = $state.raw<MaintenanceWindow[]>([]);
  windowsError = $state<IpcError | null>(null);

  readonly #ipc: Ipc;
  #profile = $state<string | null>(null);
  #seq = 0;
  #read = 0;

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  get profile(): string | null {
    return this.#profile;
  }

  /** Puts the store on `profile` without reading: another view opens an incident there. */
  use(profile: string): void {
    if (profile !== this.#profile) {
      this.#seq++;
      this.#profile = profile;
      this.items = [];
      this.selected = null;
      this.detail = null;
      this.runs = [];
      this.windows = [];
    }
  }

  async load(profile: string): Promise<void> {
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.items = [];
      this.selected = null;
      this.detail = null;
      this.runs = [];
      this.windows = [];
    }
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const page = await this.#ipc.incidentsList(profile, this.status);
      if (seq !== this.#seq) return;
      this.items = page.items;
      this.error = null;
    } catch (e) {
      if (seq === this.#seq) this.error = toIpcError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
    void this.loadWindows();
  }

  async refresh(): Promise<void> {
    if (this.#profile) await this.load(this.#profile);
  }

  reset(): void {
    this.#seq++;
    this.#profile = null;
    this.items = [];
    this.selected = null;
    this.detail = null;
    this.runs = [];
    this.windows = [];
  }

  async filter(status: IncidentStatus | null): Promise<void> {
    this.status = status;
    await this.refresh();
  }

  async select(id: string | null): Promise<void> {
    this.selected = id;
    this.detail = null;
    this.runs = [];
    this.detailError = null;
    if (id !== null) await this.poll();
  }

  /** Reads the chosen incident and its runs again. */
  async poll(): Promise<void> {
    const id = this.selected;
    const profile = this.#profile;
    if (id === null || profile === null) return;
    const seq = ++this.#read;
    try {
      const [detail, runs] = await Promise.all([this.#ipc.incidentGet(profile, id), this.#ipc.playbookRuns(profile, id, 50, null)]);
      if (seq !== this.#read || this.selected !== id) return;
      this.#shown(detail);
      this.runs = runs.items;
    } catch (e) {
      if (seq === this.#read && this.selected === id) this.detailError = toIpcError(e);
    }
  }

  /** Opens an incident and chooses it. */
  async open(title: string, severity: Severity, commander: string | null): Promise<IncidentDetail> {
    const profile = this.#need();
    const detail = await this.#ipc.incidentOpen(profile, title, severity, commander?.trim() ? commander.trim() : null);
    this.items = [detail.incident, ...this.items.filter((i) => i.id !== detail.incident.id)];
    this.selected = detail.incident.id;
    this.runs = [];
    this.#shown(detail);
    return detail;
  }

  async setStatus(status: IncidentStatus): Promise<void> {
    await this.#act((p, id) => this.#ipc.incidentSetStatus(p, id, status));
  }

  async note(text: string): Promise<void> {
    await this.#act((p, id) => this.#ipc.incidentNote(p, id, text));
  }

  async linkAlert(id: string, fingerprint: string): Promise<IncidentDetail> {
    const detail = await this.#ipc.incidentLinkAlert(this.#need(), id, fingerprint);
    if (this.selected === id) this.#shown(detail);
    return detail;
  }

  /** Writes the chosen incident's Markdown report into the downloads; its path. */
  async export(): Promise<string> {
    const id = this.selected;
    if (id === null) throw new Error("no incident is chosen");
    return await this.#ipc.incidentExport(this.#need(), id);
  }

  async loadWindows(): Promise<void> {
    const profile = this.#profile;
    if (profile === null) return;
    try {
      const page = await this.#ipc.maintenanceList(profile);
      if (profile !== this.#profile) return;
      this.windows = page.items;
      this.windowsError = null;
    } catch (e) {
      if (profile === this.#profile) this.windowsError = toIpcError(e);
    }
  }

  async createWindow(matchers: string[], duration: string, reason: string): Promise<MaintenanceWindow> {
    const made = await this.#ipc.maintenanceCreate(this.#need(), matchers, null, null, duration, reason);
    this.windows = [made, ...this.windows.filter((w) => w.id !== made.id)];
    return made;
  }

  async endWindow(id: string): Promise<void> {
    const ended = await this.#ipc.maintenanceEnd(this.#need(), id);
    this.windows = this.windows.map((w) => (w.id === id ? ended : w));
  }

  async #act(call: (profile: string, incident: string) => Promise<IncidentDetail>): Promise<void> {
    const id = this.selected;
    if (id === null) throw new Error("no incident is chosen");
    ++this.#read;
    const detail = await call(this.#need(), id);
    if (this.selected === id) this.#shown(detail);
  }

  #shown(detail: IncidentDetail): void {
    this.detail = detail;
    this.detailError = null;
    this.items = this.items.map((i) => (i.id === detail.incident.id ? detail.incident : i));
  }

  #need(): string {
    if (this.#profile === null) throw new Error("no profile is chosen");
    return this.#profile;
  }
}
