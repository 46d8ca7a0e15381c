//! The tenants of the current profile, a page at a time: the server filters
//! (search, plan, status, labels, by core's one rule) and pages; the table
//! asks for the next page as it is scrolled near its end. Offline, core
//! answers with the last-seen list, filtered and marked stale, in one page.
//!
//! One request is in flight at a time. A new profile or filter starts a new
//! generation: an answer for an older one is dropped, so a slow answer to a
//! search typed over never shows under the newer one.

import type { IpcError, TenantFilter, TenantRow, TenantsPage } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { sentence, toIpcError } from "../errors";
import { appendPage, insertBySlug, isEmptyFilter, refreshFirst } from "../tenants";

const HIGHLIGHT_MS = 4000;

/** Rows asked for at a time: the server's most, so 100,000 tenants are 500 pages. */
export const PAGE_SIZE = 200;

const NO_FILTER: TenantFilter = { status: null, plan: null, search: "", labels: [] };

export class Tenants {
  /**
   * Every page loaded so far, as one page: its rows in the server's order,
   * `next` the cursor of the page that follows (null once the list ended).
   * Raw, not deeply reactive: it is replaced whole and may hold 100,000 rows.
   */
  view = $state.raw<TenantsPage | null>(null);
  /** When the UI received the first page of `view` (ms since epoch), to keep the stale marker ageing. */
  receivedAt = $state(0);
  /** A first page (a load, a new filter, a refresh) is on its way. */
  loading = $state(false);
  /** A further page is on its way. */
  loadingMore = $state(false);
  error = $state<IpcError | null>(null);
  /** Slug of a row to draw attention to, such as a tenant just created. */
  highlight = $state<string | null>(null);
  /** Whether a filter is set. */
  filtered = $state(false);
  /** Why core could not read the label filter (shown at the label box); null when it could. */
  labelFilterError = $state<string | null>(null);

  /** The rows loaded so far. */
  readonly rows: TenantRow[] = $derived(this.view?.tenants ?? []);
  /** Whether the server has more rows than those loaded. */
  readonly more: boolean = $derived(this.view?.next != null);

  readonly #ipc: Ipc;
  #profile = $state<string | null>(null);
  #filter: TenantFilter = NO_FILTER;
  /** Bumped by every new profile, filter or reset: answers of an older one are dropped. */
  #generation = 0;
  #inFlight = false;
  #highlightTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  /** The profile whose list is loaded or loading. */
  get profile(): string | null {
    return this.#profile;
  }

  /**
   * Loads the first page of `profile`'s list under the current filter.
   * Switching profile drops the old list first: one environment's tenants
   * must never show under another's banner.
   */
  async load(profile: string): Promise<void> {
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.view = null;
      this.error = null;
    }
    await this.#first(++this.#generation, profile, false);
  }

  /**
   * Reloads the first page, skipped while any request is in flight so timers
   * never pile up. The rows loaded beyond the first page stay (and the
   * cursor after them), so the table keeps its scroll position; the first
   * page replaces the rows it covers.
   */
  async refresh(): Promise<void> {
    const profile = this.#profile;
    if (profile === null || this.#inFlight) return;
    await this.#first(this.#generation, profile, true);
  }

  /**
   * Filters the list: the server is asked for the first page of the new
   * filter, and answers to the old one are dropped. The rows of the old
   * filter stay until the new ones arrive, so the table does not flash empty.
   */
  async filter(filter: TenantFilter): Promise<void> {
    const next = isEmptyFilter(filter) ? NO_FILTER : filter;
    // The same filter again (the view shown anew) keeps the rows loaded and
    // where the table was scrolled.
    if (this.view !== null && sameFilter(next, this.#filter)) return;
    this.#filter = next;
    this.filtered = this.#filter !== NO_FILTER;
    if (!this.filtered) this.labelFilterError = null;
    const generation = ++this.#generation;
    const profile = this.#profile;
    if (profile === null) return;
    await this.#first(generation, profile, false);
  }

  /** Asks for the page after the rows loaded, unless one is on its way or the list ended. */
  async loadMore(): Promise<void> {
    const profile = this.#profile;
    const view = this.view;
    if (profile === null || view === null || view.next === null || this.#inFlight) return;
    const generation = this.#generation;
    this.#inFlight = true;
    this.loadingMore = true;
    try {
      const page = await this.#ipc.tenantsPage(profile, this.#filter, view.next, PAGE_SIZE);
      if (generation !== this.#generation || this.view === null) return;
      this.view = { ...page, tenants: appendPage(this.view.tenants, page.tenants) };
      this.error = null;
    } catch (e) {
      if (generation !== this.#generation) return;
      this.error = toIpcError(e);
    } finally {
      if (generation === this.#generation) {
        this.#inFlight = false;
        this.loadingMore = false;
      }
    }
  }

  async #first(generation: number, profile: string, keepBeyond: boolean): Promise<void> {
    this.#inFlight = true;
    this.loading = true;
    this.loadingMore = false;
    try {
      const page = await this.#ipc.tenantsPage(profile, this.#filter, null, PAGE_SIZE);
      if (generation !== this.#generation) return;
      const old = this.view;
      this.view =
        keepBeyond && old !== null && page.stale === null && old.stale === null
          ? { ...page, tenants: refreshFirst(old.tenants, page), next: page.next === null ? null : old.next }
          : page;
      this.receivedAt = Date.now();
      this.error = null;
      this.labelFilterError = null;
    } catch (e) {
      if (generation !== this.#generation) return;
      const err = toIpcError(e);
      const atLabel = err.details.filter((d) => d.field === "label");
      if (atLabel.length > 0) {
        // A label filter core cannot read: said at the label box; the
        // table shows no rows until it is corrected.
        this.labelFilterError = atLabel.map((d) => sentence(d.message)).join(" ");
        if (this.view !== null) this.view = { ...this.view, tenants: [], next: null };
      } else {
        this.error = err;
      }
    } finally {
      if (generation === this.#generation) {
        this.#inFlight = false;
        this.loading = false;
      }
    }
  }

  /** Whether the row with `id` is among the rows loaded. */
  shows(id: string): boolean {
    return this.rows.some((t) => t.id === id);
  }

  /** Forgets everything, as when the last profile is removed. */
  reset(): void {
    this.#profile = null;
    this.#generation++;
    this.#inFlight = false;
    this.view = null;
    this.error = null;
    this.loading = false;
    this.loadingMore = false;
  }

  /** Puts a tenant the backend just returned into the rows without waiting for a refresh. */
  apply(tenant: TenantRow): void {
    if (!this.view) return;
    const rows = this.view.tenants;
    const at = rows.findIndex((t) => t.id === tenant.id);
    const tenants = at < 0 ? insertBySlug(rows, tenant) : rows.map((t, i) => (i === at ? tenant : t));
    this.view = { ...this.view, tenants };
  }

  /** Drops a deleted tenant from the rows. */
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

function sameFilter(a: TenantFilter, b: TenantFilter): boolean {
  return (
    a.status === b.status &&
    a.plan === b.plan &&
    (a.search ?? "") === (b.search ?? "") &&
    (a.labels ?? []).join("\n") === (b.labels ?? []).join("\n")
  );
}
