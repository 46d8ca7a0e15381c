//! The tenants list of the current profile, as the backend last returned it
//! (live or, offline, cached and marked stale).

import type { IpcError, Tenant, TenantsView } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";
import { upsertTenant } from "../tenants";

const HIGHLIGHT_MS = 4000;

export class Tenants {
  /** Raw, not deeply reactive: the list is replaced whole, and may hold thousands of rows. */
  view = $state.raw<TenantsView | null>(null);
  /** When the UI received `view` (ms since epoch), to keep the stale marker ageing. */
  receivedAt = $state(0);
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** Slug of a row to draw attention to, such as a tenant just created. */
  highlight = $state<string | null>(null);

  readonly #ipc: Ipc;
  #profile = $state<string | null>(null);
  #seq = 0;
  #highlightTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  /** The profile whose list is loaded or loading. */
  get profile(): string | null {
    return this.#profile;
  }

  /**
   * Loads the list of `profile`. Switching profile drops the old list first:
   * one environment's tenants must never show under another's banner. An
   * answer that arrives after a newer request was made is ignored.
   */
  async load(profile: string): Promise<void> {
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.view = null;
      this.error = null;
    }
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const view = await this.#ipc.tenantsList(profile);
      if (seq !== this.#seq) return;
      this.view = view;
      this.receivedAt = Date.now();
      this.error = null;
    } catch (e) {
      if (seq !== this.#seq) return;
      this.error = toIpcError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  /** Reloads the current profile's list; skipped while a load is in flight, so timers never pile up. */
  async refresh(): Promise<void> {
    if (this.#profile === null || this.loading) return;
    await this.load(this.#profile);
  }

  /** Forgets everything, as when the last profile is removed. */
  reset(): void {
    this.#profile = null;
    this.#seq++;
    this.view = null;
    this.error = null;
    this.loading = false;
  }

  /** Puts a tenant the backend just returned into the list without waiting for a refresh. */
  apply(tenant: Tenant): void {
    if (!this.view) return;
    this.view = { ...this.view, tenants: upsertTenant(this.view.tenants, tenant) };
  }

  /** Drops a deleted tenant from the list. */
  drop(slug: string): void {
    if (!this.view) return;
    this.view = { ...this.view, tenants: this.view.tenants.filter((t) => t.slug !== slug) };
  }

  flash(slug: string): void {
    clearTimeout(this.#highlightTimer);
    this.highlight = slug;
    this.#highlightTimer = setTimeout(() => {
      this.highlight = null;
    }, HIGHLIGHT_MS);
  }

  dispose(): void {
    clearTimeout(this.#highlightTimer);
  }
}
