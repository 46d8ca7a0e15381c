//! The profiles the backend knows and the one this window is on: the
//! window's own, which core keeps apart from the CLI's current profile.
//! Changes made outside the window (the CLI adding or removing a profile)
//! reach it through core's watch of the profiles file, and on focus.

import { Channel } from "@tauri-apps/api/core";

import type { IpcError, LoginCheck, ProfileAdded, ProfileEntry, WindowProfiles } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";
import type { AddProfile } from "../forms";

/** Makes the channel core's watch reports changes on; tests pass their own. */
export type WatchChannels = (onmessage: () => void) => Channel<null>;

export const tauriWatchChannels: WatchChannels = (onmessage) => new Channel<null>(() => onmessage());

/** What the window says when the profile it was on went, and where it is now. */
export function goneMessage(gone: string, now: string | null): string {
  const where = now ? `this window is now on ${now}` : "choose a profile with the Profile menu";
  return `Profile ${gone}, which this window was on, is no longer there (removed outside this window): ${where}.`;
}

export class Profiles {
  list = $state<WindowProfiles | null>(null);
  loading = $state(false);
  switching = $state(false);
  error = $state<IpcError | null>(null);

  readonly current: ProfileEntry | null = $derived(
    this.list?.profiles.find((p) => p.name === this.list?.current) ?? null,
  );
  readonly isEmpty: boolean = $derived(this.list !== null && this.list.profiles.length === 0);

  readonly #ipc: Ipc;
  readonly #onGone: (message: string) => void;
  readonly #channels: WatchChannels;
  /** Only the answer to the latest load is shown: loads from the watch, focus and actions overlap. */
  #loads = 0;
  /** A profile this window removed itself: its going needs no notice. */
  #removedHere: string | null = null;

  constructor(ipc: Ipc, onGone: (message: string) => void = () => {}, channels: WatchChannels = tauriWatchChannels) {
    this.#ipc = ipc;
    this.#onGone = onGone;
    this.#channels = channels;
  }

  async load(): Promise<void> {
    const load = ++this.#loads;
    this.loading = true;
    try {
      const list = await this.#ipc.profilesList();
      if (load !== this.#loads) return;
      this.list = list;
      this.error = null;
      if (list.gone !== null && list.gone !== this.#removedHere) this.#onGone(goneMessage(list.gone, list.current));
      this.#removedHere = null;
    } catch (e) {
      if (load === this.#loads) this.error = toIpcError(e);
    } finally {
      if (load === this.#loads) this.loading = false;
    }
  }

  /** Reloads the list whenever core sees the profiles file change. */
  async watch(): Promise<void> {
    try {
      await this.#ipc.profilesWatch(this.#channels(() => void this.load()));
    } catch (e) {
      // The window still reloads on focus and after its own actions.
      console.warn("cannot watch the profiles file", e);
    }
  }

  /** Puts this window on `name`; rejects with the backend's error. */
  async use(name: string): Promise<void> {
    if (this.list?.current === name) return;
    this.switching = true;
    try {
      await this.#ipc.profileUse(name);
      if (this.list) this.list = { ...this.list, current: name };
      await this.load();
    } finally {
      this.switching = false;
    }
  }

  /**
   * Saves a profile once the server took its token (or could not be reached
   * to check it), and puts this window on it; rejects with field errors for
   * the dialog, the token's at the token field, and then nothing is saved.
   */
  async add(input: AddProfile): Promise<ProfileAdded> {
    const added = await this.#ipc.profileAdd(input.name, input.tier, input.adminUrl, input.token);
    await this.load();
    return added;
  }

  /** Replaces a profile's token; the server checks it first (a refused one is not kept). */
  async setToken(name: string, token: string): Promise<LoginCheck> {
    const check = await this.#ipc.profileSetToken(name, token);
    await this.load();
    return check;
  }

  async remove(name: string): Promise<void> {
    await this.#ipc.profileRemove(name);
    this.#removedHere = name;
    await this.load();
  }
}
