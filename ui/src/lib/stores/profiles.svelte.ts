//! The profiles the backend knows and which one is current.

import type { IpcError, LoginCheck, ProfileEntry, ProfileList } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";
import type { AddProfile } from "../forms";

export class Profiles {
  list = $state<ProfileList | null>(null);
  loading = $state(false);
  switching = $state(false);
  error = $state<IpcError | null>(null);

  readonly current: ProfileEntry | null = $derived(
    this.list?.profiles.find((p) => p.name === this.list?.current) ?? null,
  );
  readonly isEmpty: boolean = $derived(this.list !== null && this.list.profiles.length === 0);

  readonly #ipc: Ipc;

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.list = await this.#ipc.profilesList();
      this.error = null;
    } catch (e) {
      this.error = toIpcError(e);
    } finally {
      this.loading = false;
    }
  }

  /** Makes `name` current; rejects with the backend's error. */
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

  /** Saves a profile (the backend makes it current); rejects with field errors for the dialog. */
  async add(input: AddProfile): Promise<ProfileEntry> {
    const entry = await this.#ipc.profileAdd(input.name, input.tier, input.adminUrl, input.token);
    await this.load();
    return entry;
  }

  /** Replaces a profile's token; the server checks it first (a refused one is not kept). */
  async setToken(name: string, token: string): Promise<LoginCheck> {
    const check = await this.#ipc.profileSetToken(name, token);
    await this.load();
    return check;
  }

  async remove(name: string): Promise<void> {
    await this.#ipc.profileRemove(name);
    await this.load();
  }
}
