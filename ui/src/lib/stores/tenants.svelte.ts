//! The tenants list of the current profile, as the backend last returned it
//! (live or, offline, cached and marked stale), and which of its rows the
//! toolbar's filter lets through: core decides that, from the list its
//! session holds, so the window and the CLI find the same tenants.

import type { IpcError, Progress, TenantFilter, TenantRow, TenantsView } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { sentence, toIpcError } from "../errors";
import { tauriChannels, type ProgressChannels } from "../progress";
import { isEmptyFilter, upsertTenant } from "../tenants";

const HIGHLIGHT_MS = 4000;

export class Tenants {
  /** Raw, not deeply reactive: the list is replaced whole, and may hold thousands of rows. */
  view = $state.raw<TenantsView | null>(null);
  /** When the UI received `view` (ms since epoch), to keep the stale marker ageing. */
  receivedAt = $state(0);
  loading = $state(false);
  /** How far the load in flight has got, as core reports it; null when none is. */
  progress = $state.raw<Progress | null>(null);
  error = $state<IpcError | null>(null);
  /** Slug of a row to draw attention to, such as a tenant just created. */
  highlight = $state<string | null>(null);
  /** Ids of the rows core says the filter lets through; null while no filter is set. */
  matching = $state.raw<ReadonlySet<string> | null>(null);
  /** Whether a filter is set (its answer may still be on its way). */
  filtered = $state(false);
  /** Why core could not read the label filter (shown at the label box); null when it could. */
  labelFilterError = $state<string | null>(null);

  /** The rows of `view` the filter lets through, in the view's order. */
  readonly rows: TenantRow[] = $derived.by(() => {
    const all = this.view?.tenants ?? [];
    const matching = this.matching;
    if (!this.filtered || matching === null) return all;
    return all.filter((t) => matching.has(t.id));
  });

  readonly #ipc: Ipc;
  readonly #channels: ProgressChannels;
  #profile = $state<string | null>(null);
  #seq = 0;
  #filter: TenantFilter | null = null;
  #filterSeq = 0;
  #highlightTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ipc: Ipc, channels: ProgressChannels = tauriChannels) {
    this.#ipc = ipc;
    this.#channels = channels;
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
      this.matching = null;
      this.error = null;
    }
    const seq = ++this.#seq;
    this.loading = true;
    this.progress = null;
    const channel = this.#channels((progress) => {
      if (seq === this.#seq) this.progress = progress;
    });
    try {
      const view = await this.#ipc.tenantsList(profile, channel);
      if (seq !== this.#seq) return;
      // Core filters the list it just fetched: ask for the new rows before
      // showing them, so a filtered table never flashes unfiltered.
      const fseq = ++this.#filterSeq;
      const matching = await this.#matchingFor(profile);
      if (seq !== this.#seq) return;
      this.view = view;
      if (fseq === this.#filterSeq && matching !== undefined) this.matching = matching;
      this.receivedAt = Date.now();
      this.error = null;
    } catch (e) {
      if (seq !== this.#seq) return;
      this.error = toIpcError(e);
    } finally {
      if (seq === this.#seq) {
        this.loading = false;
        this.progress = null;
      }
    }
  }

  /** Reloads the current profile's list; skipped while a load is in flight, so timers never pile up. */
  async refresh(): Promise<void> {
    if (this.#profile === null || this.loading) return;
    await this.load(this.#profile);
  }

  /**
   * Filters the rows as core says `filter` does. An empty filter needs no
   * answer; an answer that arrives after a newer filter was set is ignored.
   */
  async filter(filter: TenantFilter): Promise<void> {
    this.#filter = isEmptyFilter(filter) ? null : filter;
    if (this.#filter === null) this.labelFilterError = null;
    this.filtered = this.#filter !== null;
    await this.#match();
  }

  /** Whether the row with `id` passes the current filter, as core last said. */
  shows(id: string): boolean {
    return !this.filtered || (this.matching?.has(id) ?? false);
  }

  async #match(): Promise<void> {
    const seq = ++this.#filterSeq;
    const profile = this.#profile;
    if (profile === null || this.view === null) {
      this.matching = null;
      return;
    }
    const matching = await this.#matchingFor(profile);
    if (seq === this.#filterSeq && matching !== undefined) this.matching = matching;
  }

  /** Core's answer for the current filter: null for no filter, undefined when it failed. */
  async #matchingFor(profile: string): Promise<ReadonlySet<string> | null | undefined> {
    const filter = this.#filter;
    if (filter === null) return null;
    try {
      // Replaced whole, never changed in place: a plain set in raw state.
      // eslint-disable-next-line svelte/prefer-svelte-reactivity
      const matching = new Set(await this.#ipc.tenantsMatching(profile, filter));
      this.labelFilterError = null;
      return matching;
    } catch (e) {
      const err = toIpcError(e);
      const atLabel = err.details.filter((d) => d.field === "label");
      if (atLabel.length > 0) {
        // A label filter core cannot read: said at the label box, which
        // matches nothing until it is corrected.
        this.labelFilterError = atLabel.map((d) => sentence(d.message)).join(" ");
        // eslint-disable-next-line svelte/prefer-svelte-reactivity
        return new Set<string>();
      }
      // The rows stay as they were filtered last; the error shows like a failed refresh.
      this.error = err;
      return undefined;
    }
  }

  /** Forgets everything, as when the last profile is removed. */
  reset(): void {
    this.#profile = null;
    this.#seq++;
    this.#filterSeq++;
    this.view = null;
    this.matching = null;
    this.error = null;
    this.loading = false;
  }

  /**
   * Puts a tenant the backend just returned into the list without waiting
   * for a refresh, and asks core again which rows the filter lets through
   * (core's list has the change already).
   */
  async apply(tenant: TenantRow): Promise<void> {
    if (!this.view) return;
    this.view = { ...this.view, tenants: upsertTenant(this.view.tenants, tenant) };
    await this.#match();
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
