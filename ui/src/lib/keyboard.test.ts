import { describe, expect, it } from "vitest";

import page from "../../../docs/keyboard.md?raw";
import { keyAction, KEYS } from "./keyboard";

const press = (key: string, mods: Partial<KeyboardEvent> = {}) => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  shiftKey: false,
  ...mods,
});

describe("keyAction", () => {
  it("maps single keys in either case", () => {
    expect(keyAction(press("/"))).toBe("search");
    expect(keyAction(press("n"))).toBe("newTenant");
    expect(keyAction(press("R", { shiftKey: true }))).toBe("refresh");
  });
  it("leaves chords and other keys to the browser", () => {
    expect(keyAction(press("n", { ctrlKey: true }))).toBeNull();
    expect(keyAction(press("r", { metaKey: true }))).toBeNull();
    expect(keyAction(press("x"))).toBeNull();
    expect(keyAction(press("k", { ctrlKey: true }))).toBe("palette");
  });
});

describe("docs/keyboard.md", () => {
  it("lists every shortcut the palette shows", () => {
    for (const key of Object.values(KEYS)) expect(page).toContain(`| \`${key}\``);
    expect(page).toContain("`Ctrl+K`");
  });
  it("lists the keys of the table, the dialogs and the palette", () => {
    for (const key of ["`↑`", "`↓`", "`Home`", "`End`", "`Page Up`", "`Page Down`", "`Enter`", "`Escape`", "`Tab`"]) {
      expect(page).toContain(key);
    }
  });
});
