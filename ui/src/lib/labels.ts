//! Tenant labels and accent colours as the window edits and filters them.
//! The rules a label must follow are the contract's, judged by core (and
//! the server); here only what the form itself must decide: rows of the
//! labels editor to a map (a key given twice, a value without a key), and
//! the filter bar's text to label filters.

import type { Tenant } from "../generated/bindings";

/** A tenant's labels: key → value. */
export type Labels = NonNullable<Tenant["labels"]>;

/** One row of the labels editor; `id` keeps a row's inputs as rows come and go. */
export type LabelRow = { id: number; key: string; value: string };

let nextRowId = 0;

/** A new row, empty unless given. */
export function labelRow(key = "", value = ""): LabelRow {
  nextRowId += 1;
  return { id: nextRowId, key, value };
}

/** The rows of a tenant's labels, by key. */
export function labelsToRows(labels: Labels | null | undefined): LabelRow[] {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => labelRow(key, value ?? ""));
}

/** The rows without the one of `id`. */
export function removeRow(rows: readonly LabelRow[], id: number): LabelRow[] {
  return rows.filter((r) => r.id !== id);
}

/**
 * The label map of the rows, and the problems only the form can see: a key
 * given twice, a value with no key. Rows left wholly empty are ignored.
 * Keys are trimmed; values are kept as typed (a value may hold spaces).
 */
export function rowsToLabels(rows: readonly LabelRow[]): { labels: Labels; error: string | null } {
  const labels: Record<string, string> = {};
  const problems: string[] = [];
  for (const row of rows) {
    const key = row.key.trim();
    if (key === "" && row.value === "") continue;
    if (key === "") {
      problems.push(`the value "${row.value}" has no key`);
      continue;
    }
    if (key in labels) {
      problems.push(`the key "${key}" is given twice`);
      continue;
    }
    labels[key] = row.value;
  }
  return { labels, error: problems.length > 0 ? capitalize(problems.join("; ")) + "." : null };
}

/** Whether two label maps hold the same labels. */
export function sameLabels(a: Labels | null | undefined, b: Labels | null | undefined): boolean {
  const left = Object.entries(a ?? {});
  const right = b ?? {};
  return left.length === Object.keys(right).length && left.every(([k, v]) => right[k] === v);
}

/** Labels as `key=value` texts by key, as the table's chips and the CLI show them. */
export function labelTexts(labels: Labels | null | undefined): string[] {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v ?? ""}`);
}

/**
 * The filter bar's label text as label filters: comma separated, each
 * `key=value` (that value, exactly) or `key` (any value). Space around a
 * comma is not part of a filter; space inside a value is.
 */
export function parseLabelFilter(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** Whether the text is a colour an `<input type="color">` can show: `#rrggbb`, any case. */
export function isHexColor(text: string): boolean {
  return /^#[0-9a-fA-F]{6}$/.test(text.trim());
}

/** What the colour picker shows for the text field: its colour, or a neutral grey while it is not one. */
export function pickerValue(text: string): string {
  return isHexColor(text) ? text.trim().toLowerCase() : "#808080";
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
