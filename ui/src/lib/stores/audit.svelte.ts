//! The audit log of the current profile: records newest first for the
//! view's filters, a page at a time ("Load more" follows the cursor), the
//! record chosen for its detail, and exports of every matching record.

import type { AuditExported, AuditFilters, AuditRecord, IpcError, JsonValue } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";

/** Records per page. */
export const AUDIT_PAGE = 50;

/** The filters as typed: text, and times as `datetime-local` values (local time). */
export type AuditForm = {
  actor: string;
  action: string;
  target: string;
  tenant: string;
  since: string;
  until: string;
};

export const emptyForm = (): AuditForm => ({ actor: "", action: "", target: "", tenant: "", since: "", until: "" });

/** A `datetime-local` value as an instant, or null when blank or not a time. */
function instant(local: string): string | null {
  if (!local.trim()) return null;
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

/** The form as the command takes it: blanks are no filter. */
export function filtersOf(form: AuditForm): AuditFilters {
  const text = (v: string) => (v.trim() ? v.trim() : null);
  return {
    actor: text(form.actor),
    action: text(form.action),
    target: text(form.target),
    tenant: text(form.tenant),
    since: instant(form.since),
    until: instant(form.until),
  };
}

/** One field a record changed: as it was and as it became (absent: not there). */
export type FieldChange = { field: string; before: JsonValue | undefined; after: JsonValue | undefined };

function asObject(value: JsonValue | null | undefined): Record<string, JsonValue> | null {
  return value !== null && value !== undefined && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, JsonValue>) : null;
}

/**
 * The fields whose value differs between before and after, by name. A
 * creation has no before and a deletion no after: every field shows. A
 * value that is not an object shows as one field, "value".
 */
export function changedFields(record: Pick<AuditRecord, "before" | "after">): FieldChange[] {
  const before = record.before ?? null;
  const after = record.after ?? null;
  const b = asObject(before);
  const a = asObject(after);
  if ((before !== null && !b) || (after !== null && !a)) {
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ field: "value", before: before ?? undefined, after: after ?? undefined }];
  }
  const all = [...Object.keys(b ?? {}), ...Object.keys(a ?? {})];
  const names = all.filter((name, i) => all.indexOf(name) === i).sort();
  return names
    .map((field) => ({ field, before: b?.[field], after: a?.[field] }))
    .filter((c) => JSON.stringify(c.before) !== JSON.stringify(c.after));
}

export class Audit {
  items = $state.raw<AuditRecord[]>([]);
  nextCursor = $state<string | null>(null);
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** The filters as typed; applied by `apply()`. */
  form = $state<AuditForm>(emptyForm());
  /** The filters of the records shown (and of an export). */
  applied = $state.raw<AuditFilters>(filtersOf(emptyForm()));
  /** The id of the record in the detail panel. */
  selected = $state<string | null>(null);
  exporting = $state(false);

  readonly #ipc: Ipc;
  #profile = $state<string | null>(null);
  #seq = 0;

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  get profile(): string | null {
    return this.#profile;
  }

  get chosen(): AuditRecord | null {
    return this.items.find((r) => r.id === this.selected) ?? null;
  }

  /** Reads the first page of `profile` for the applied filters. */
  async load(profile: string): Promise<void> {
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.selected = null;
      this.items = [];
    }
    await this.#read(null);
  }

  /** Applies the typed filters and reads again from the newest. */
  async apply(): Promise<void> {
    this.applied = filtersOf(this.form);
    this.selected = null;
    if (this.#profile) await this.#read(null);
  }

  /** Clears every filter and reads again. */
  async clear(): Promise<void> {
    this.form = emptyForm();
    await this.apply();
  }

  /** Appends the next page, if there is one. */
  async more(): Promise<void> {
    if (this.#profile && this.nextCursor && !this.loading) await this.#read(this.nextCursor);
  }

  async refresh(): Promise<void> {
    if (this.#profile) await this.#read(null);
  }

  reset(): void {
    this.#seq++;
    this.#profile = null;
    this.items = [];
    this.nextCursor = null;
    this.selected = null;
    this.error = null;
    this.loading = false;
  }

  /**
   * Writes every record of the applied filters to the user's downloads;
   * what was written, or null with the error kept.
   */
  async export(format: "csv" | "jsonl"): Promise<AuditExported | null> {
    if (!this.#profile || this.exporting) return null;
    this.exporting = true;
    try {
      const done = await this.#ipc.auditExport(this.#profile, this.applied, format);
      this.error = null;
      return done;
    } catch (e) {
      this.error = toIpcError(e);
      return null;
    } finally {
      this.exporting = false;
    }
  }

  async #read(cursor: string | null): Promise<void> {
    const profile = this.#profile;
    if (!profile) return;
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const page = await this.#ipc.auditPage(profile, this.applied, AUDIT_PAGE, cursor);
      if (seq !== this.#seq) return;
      // A record already shown (written between pages) is not shown twice.
      const known = cursor ? this.items.map((r) => r.id) : [];
      this.items = cursor ? [...this.items, ...page.items.filter((r) => !known.includes(r.id))] : page.items;
      this.nextCursor = page.next_cursor;
      this.error = null;
    } catch (e) {
      if (seq === this.#seq) this.error = toIpcError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }
}
