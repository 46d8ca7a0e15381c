//! Where keyboard focus goes: the first thing a dialog focuses (never the
//! button that acts), where it goes back to when the dialog closes, and how
//! the arrow keys move through the rows of a table with one Tab stop.

/** What a confirmation focuses first: the slug field when one must be typed (production), else Cancel. */
export function confirmStart(preflight: { confirm_text: string | null } | null): "slug" | "cancel" {
  return preflight?.confirm_text != null ? "slug" : "cancel";
}

/** The controls a dialog may open on: its fields, in document order. */
export const FIELD_SELECTOR = "input, select, textarea";

type FieldLike = { tagName: string; type?: string; disabled?: boolean; readOnly?: boolean; hidden?: boolean };

/** The first field that takes typing: not hidden, disabled, read-only, nor a button-like input. */
export function firstField<T extends FieldLike>(candidates: Iterable<T>): T | null {
  for (const el of candidates) {
    if (el.disabled || el.readOnly || el.hidden) continue;
    if (el.tagName === "INPUT" && ["hidden", "button", "submit", "reset", "image"].includes(el.type ?? "")) continue;
    return el;
  }
  return null;
}

type Focusable = { isConnected: boolean; focus: () => void };

/**
 * Gives focus back to `before` (where the user was when the dialog opened).
 * When that element has gone (its row was deleted) or focus was left
 * nowhere, `fallback` gets it. Returns what was focused.
 */
export function restoreFocus<T extends Focusable>(before: T | null, fallback: () => T | null | undefined): T | null {
  const target = before?.isConnected ? before : (fallback() ?? null);
  target?.focus();
  return target;
}

/**
 * The row index a key moves to from `index` in a table of `count` rows, or
 * null for a key that does not move. `page` is how many rows fit in view.
 * No wrapping: the ends stay put, as in a list.
 */
export function rowKeyTarget(key: string, index: number, count: number, page: number): number | null {
  if (count <= 0) return null;
  const clamp = (i: number) => Math.max(0, Math.min(count - 1, i));
  switch (key) {
    case "ArrowDown":
      return clamp(index + 1);
    case "ArrowUp":
      return clamp(index - 1);
    case "Home":
      return 0;
    case "End":
      return count - 1;
    case "PageDown":
      return clamp(index + Math.max(1, page - 1));
    case "PageUp":
      return clamp(index - Math.max(1, page - 1));
    default:
      return null;
  }
}

/**
 * The one row that Tab reaches: the active row while it is in view, else
 * the first row in view, so Tab never lands on a row scrolled away.
 * `visible` is the range of rows in view (inclusive), null before layout.
 */
export function tabbableRow(active: number, visible: { start: number; end: number } | null, count: number): number {
  if (count <= 0) return -1;
  const a = Math.max(0, Math.min(count - 1, active));
  if (!visible) return a;
  if (a >= visible.start && a <= visible.end) return a;
  return Math.max(0, Math.min(count - 1, visible.start));
}
