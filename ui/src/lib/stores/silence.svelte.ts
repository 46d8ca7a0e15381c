//! The silence dialog's state: matchers prefilled from an alert's labels,
//! a duration and a comment; core's preflight asked again as they change
//! (the newest answer wins), which says how many firing alerts they match
//! and whether production wants the alert name typed. Core checks the
//! confirmation again when the silence is sent.

import type { IpcError, SilencePreflight } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { splitMatchers } from "../alerts";
import { toIpcError } from "../errors";

/** The durations offered, shortest first; core reads any of them. */
export const SILENCE_DURATIONS = ["30m", "1h", "2h", "4h", "8h", "1d", "7d"] as const;

/** `labels` as matchers the dialog starts from: `alertname="Disk", instance="db-2"`, alertname first. */
export function matchersFromLabels(labels: Record<string, string>): string {
  const quote = (v: string) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return Object.entries(labels)
    .sort(([a], [b]) => (a === "alertname" ? -1 : b === "alertname" ? 1 : a.localeCompare(b)))
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(", ");
}

/** "Matches 3 firing alerts now", for the count under the matchers. */
export function firingText(n: number): string {
  if (n === 0) return "Matches no firing alert now";
  return `Matches ${n} firing alert${n === 1 ? "" : "s"} now`;
}

export class SilenceForm {
  matchers = $state("");
  duration = $state<string>("2h");
  comment = $state("");
  /** Ended by the app's watcher once none of its alerts is left. */
  untilResolved = $state(false);
  typed = $state("");
  preflight = $state.raw<SilencePreflight | null>(null);
  /** Why the matchers or duration were refused (core's words). */
  checkError = $state<IpcError | null>(null);
  sendError = $state<IpcError | null>(null);
  busy = $state(false);

  readonly #ipc: Ipc;
  readonly #profile: string;
  #seq = 0;

  constructor(ipc: Ipc, profile: string, labels: Record<string, string>) {
    this.#ipc = ipc;
    this.#profile = profile;
    this.matchers = matchersFromLabels(labels);
  }

  /** Asks core's preflight for the matchers and duration as they are now. */
  async check(): Promise<void> {
    const seq = ++this.#seq;
    const matchers = splitMatchers(this.matchers);
    try {
      const preflight = await this.#ipc.alertsSilencePreflight(this.#profile, matchers, this.duration);
      if (seq !== this.#seq) return;
      this.preflight = preflight;
      this.checkError = null;
    } catch (e) {
      if (seq !== this.#seq) return;
      this.preflight = null;
      this.checkError = toIpcError(e);
    }
  }

  /** Whether it can be sent: a preflight for what is shown, a comment, and the name typed exactly where core asks. */
  get ready(): boolean {
    const p = this.preflight;
    if (!p || this.busy || this.comment.trim() === "") return false;
    return p.confirm_text === null || this.typed === p.confirm_text;
  }

  /** Creates the silence; resolves to its id, or null when it was refused (see `sendError`). */
  async submit(): Promise<string | null> {
    const p = this.preflight;
    if (!p || !this.ready) return null;
    this.busy = true;
    this.sendError = null;
    try {
      return await this.#ipc.alertsSilence(
        this.#profile,
        splitMatchers(this.matchers),
        this.duration,
        this.comment,
        this.untilResolved,
        p.confirm_text === null ? null : this.typed,
      );
    } catch (e) {
      this.sendError = toIpcError(e);
      return null;
    } finally {
      this.busy = false;
    }
  }
}
