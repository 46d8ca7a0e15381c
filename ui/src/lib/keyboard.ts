//! The window's keyboard shortcuts, in one table: the palette shows them
//! beside their commands, App.svelte acts on them, and docs/keyboard.md
//! lists them (a test checks the page against this table).

import { isPaletteShortcut } from "./palette";

/** Single keys that act while no text field has focus and no dialog is open. */
export const KEYS = {
  search: "/",
  newTenant: "N",
  refresh: "R",
} as const;

export type KeyAction = keyof typeof KEYS | "palette";

type KeyEventLike = Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey" | "shiftKey">;

/** What a key press outside text fields asks for, if anything. */
export function keyAction(e: KeyEventLike): KeyAction | null {
  if (isPaletteShortcut(e)) return "palette";
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const key = e.key.length === 1 ? e.key.toUpperCase() : e.key;
  for (const [action, bound] of Object.entries(KEYS) as Array<[keyof typeof KEYS, string]>) {
    if (bound === key) return action;
  }
  return null;
}
