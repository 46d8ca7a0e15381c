//! The window's views, in one list: each capability's view registers here
//! (its `index.ts`), and the navigation rail, the keyboard and the command
//! palette all read this list. A view's shortcut is Alt and its place in the
//! rail, so adding a view never reassigns another's by hand.

import type { Component } from "svelte";

export type ViewEntry = {
  /** The capability's name, as in every layer: "tenants", "alerts". */
  id: string;
  label: string;
  /** SVG path data, drawn on a 24×24 grid with a 2px stroke. */
  icon: string;
  /** Its place in the rail, lowest first. */
  order: number;
  /** The view itself, or `load` for one fetched the first time it is shown. */
  component?: Component;
  /** A dynamic import of the view: it stays out of the bundle the window starts with. */
  load?: () => Promise<{ default: Component }>;
  /** A count shown on the rail entry (things waiting on the user); none at 0. */
  badge?: () => number;
};

export type RegisteredView = ViewEntry & {
  /** "Alt+1": shown in the rail's tooltip and the palette. */
  shortcut: string;
  /** As `aria-keyshortcuts` wants it. */
  ariaShortcut: string;
};

export class ViewRegistry {
  #entries: ViewEntry[] = [];

  register(entry: ViewEntry): void {
    if (this.#entries.some((e) => e.id === entry.id)) throw new Error(`view ${entry.id} is registered twice`);
    if (!entry.component === !entry.load) throw new Error(`view ${entry.id} needs a component or a load, not both`);
    this.#entries.push(entry);
  }

  /** Every view, in rail order, with its shortcut. */
  list(): RegisteredView[] {
    return [...this.#entries]
      .sort((a, b) => a.order - b.order || a.id.localeCompare(b.id))
      .map((entry, index) => ({
        ...entry,
        // Nine digits: a tenth view would have no Alt+digit of its own.
        shortcut: index < 9 ? `Alt+${index + 1}` : "",
        ariaShortcut: index < 9 ? `Alt+${index + 1}` : "",
      }));
  }

  /** The view Alt+`digit` opens, if there is one. */
  forShortcut(e: Pick<KeyboardEvent, "altKey" | "ctrlKey" | "metaKey" | "code" | "key">): RegisteredView | null {
    if (!e.altKey || e.ctrlKey || e.metaKey) return null;
    // The physical key first: on macOS, Option+1 types "¡", not "1". Some
    // synthetic events (automation) carry only the key.
    const digit = /^(?:Digit|Numpad)([1-9])$/.exec(e.code)?.[1] ?? /^[1-9]$/.exec(e.key)?.[0];
    if (!digit) return null;
    return this.list()[Number(digit) - 1] ?? null;
  }

  /** `id` if it is a registered view, else the first one. */
  resolve(id: string | null | undefined): string | null {
    const views = this.list();
    return views.find((v) => v.id === id)?.id ?? views[0]?.id ?? null;
  }
}

/** The window's registry. */
export const views = new ViewRegistry();
