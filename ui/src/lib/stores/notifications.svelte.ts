//! The desktop notifications of alerts: their settings (kept by core, the
//! same for every profile) and the clicks on them, which bring the window to
//! the alert. What is notified, and when, is decided in core.

import { Channel } from "@tauri-apps/api/core";

import type { IpcError, NotifySettings, OpenAlert } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";

/** Makes the channel clicks arrive on; tests pass their own. */
export type ClickChannels = (onmessage: (alert: OpenAlert) => void) => Channel<OpenAlert>;

export const tauriClickChannels: ClickChannels = (onmessage) => new Channel<OpenAlert>(onmessage);

/** `HH:MM` of a time core sends as `HH:MM:SS`. */
export function hhmm(time: string): string {
  return time.slice(0, 5);
}

export class Notifications {
  settings = $state.raw<NotifySettings | null>(null);
  saving = $state(false);
  error = $state<IpcError | null>(null);

  readonly #ipc: Ipc;
  readonly #channels: ClickChannels;

  constructor(ipc: Ipc, channels: ClickChannels = tauriClickChannels) {
    this.#ipc = ipc;
    this.#channels = channels;
  }

  async load(): Promise<void> {
    try {
      this.settings = await this.#ipc.notifySettings();
      this.error = null;
    } catch (e) {
      this.error = toIpcError(e);
    }
  }

  /** Keeps `settings`; the backend restarts its watcher with them. Rejects with its error. */
  async save(settings: NotifySettings): Promise<void> {
    this.saving = true;
    try {
      this.settings = await this.#ipc.notifySettingsSet(settings);
      this.error = null;
    } catch (e) {
      this.error = toIpcError(e);
      throw this.error;
    } finally {
      this.saving = false;
    }
  }

  /** Calls `open` with the alert of each clicked notification. */
  async listen(open: (alert: OpenAlert) => void): Promise<void> {
    try {
      await this.#ipc.notifyClicks(this.#channels(open));
    } catch (e) {
      // Notifications still show; a click then only raises the window.
      console.warn("cannot listen for notification clicks", e);
    }
  }
}
