//! The alerts of the current profile, as core merged them from its
//! Alertmanagers, with the silences that mute them and the filter box's
//! matchers. Switching profile drops the old alerts first.

import type { Alert, IpcError, Merged, Silence } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { splitMatchers } from "../alerts";
import { toIpcError } from "../errors";

export class Alerts {
  view = $state.raw<Merged<Alert> | null>(null);
  /** The silences, for naming those that mute an alert; empty when they could not be read. */
  silences = $state.raw<Silence[]>([]);
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** What is typed in the filter box. */
  filter = $state("");
  /** The fingerprint of the alert shown in the detail panel. */
  selected = $state<string | null>(null);
  /** An acknowledgement being sent or withdrawn: its buttons wait (no double sends). */
  acking = $state(false);

  readonly #ipc: Ipc;
  #profile = $state<string | null>(null);
  #seq = 0;

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  get profile(): string | null {
    return this.#profile;
  }

  /** The alert in the detail panel, if it is still in the list. */
  get selectedAlert(): Alert | null {
    return this.view?.items.find((a) => a.fingerprint === this.selected) ?? null;
  }

  /** Reads the alerts of `profile` matching the filter box; a newer request wins. */
  async load(profile: string): Promise<void> {
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.view = null;
      this.silences = [];
      this.selected = null;
      this.filter = "";
    }
    const seq = ++this.#seq;
    this.loading = true;
    this.error = null;
    const [alerts, silences] = await Promise.allSettled([
      this.#ipc.alertsList(profile, splitMatchers(this.filter)),
      this.#ipc.alertsSilences(profile),
    ]);
    if (seq !== this.#seq) return;
    this.loading = false;
    if (alerts.status === "fulfilled") this.view = alerts.value;
    else {
      this.view = null;
      this.error = toIpcError(alerts.reason);
    }
    this.silences = silences.status === "fulfilled" ? silences.value.items : [];
  }

  /**
   * Shows the alert `fingerprint` of `profile` in the detail panel (a clicked
   * notification): the filter is cleared so it is not hidden, and the next
   * load of that profile keeps it chosen.
   */
  focus(profile: string, fingerprint: string): void {
    if (profile !== this.#profile) {
      this.#seq++;
      this.#profile = profile;
      this.view = null;
      this.silences = [];
    }
    this.filter = "";
    this.selected = fingerprint;
  }

  async refresh(): Promise<void> {
    if (this.#profile) await this.load(this.#profile);
  }

  /**
   * Acknowledges alert `fingerprint` for `hold` (what the others see; it
   * mutes nothing), then reads the alerts again. Rejects with core's error;
   * a second call while one runs does nothing.
   */
  async acknowledge(fingerprint: string, comment: string, hold: string): Promise<void> {
    await this.#acking(async (profile) => {
      await this.#ipc.alertsAcknowledge(profile, fingerprint, comment, hold);
    });
  }

  /** Withdraws acknowledgement `id`, then reads the alerts again. */
  async withdraw(id: string): Promise<void> {
    await this.#acking((profile) => this.#ipc.alertsWithdraw(profile, id));
  }

  async #acking(send: (profile: string) => Promise<unknown>): Promise<void> {
    const profile = this.#profile;
    if (!profile || this.acking) return;
    this.acking = true;
    try {
      await send(profile);
    } catch (e) {
      throw toIpcError(e);
    } finally {
      this.acking = false;
    }
    await this.refresh();
  }

  reset(): void {
    this.#seq++;
    this.#profile = null;
    this.view = null;
    this.silences = [];
    this.error = null;
    this.loading = false;
    this.selected = null;
  }
}
