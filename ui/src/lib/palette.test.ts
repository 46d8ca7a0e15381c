import { describe, expect, it } from "vitest";

import { filterCommands, fuzzyMatch, highlightRuns, isPaletteShortcut, moveActive, type Command } from "./palette";

const cmd = (title: string, keywords?: string): Command => ({ id: title, title, group: "g", keywords, run: () => {} });

describe("fuzzyMatch", () => {
  it("matches a subsequence in any case", () => {
    expect(fuzzyMatch("nt", "New tenant")).not.toBeNull();
    expect(fuzzyMatch("NEW", "new tenant")?.positions).toEqual([0, 1, 2]);
  });
  it("rejects when a character is missing or out of order", () => {
    expect(fuzzyMatch("xyz", "New tenant")).toBeNull();
    expect(fuzzyMatch("tn", "nt")).toBeNull();
  });
  it("treats a space as the start of another word", () => {
    expect(fuzzyMatch("sw prod", "Switch to profile eu-prod")).not.toBeNull();
    expect(fuzzyMatch("new ant", "New tenant")).toBeNull();
  });
  it("scores a prefix above a scattered match", () => {
    const prefix = fuzzyMatch("ref", "Refresh tenants")!.score;
    const scattered = fuzzyMatch("ref", "Remove profile")!.score;
    expect(prefix).toBeGreaterThan(scattered);
  });
});

describe("filterCommands", () => {
  const commands = [cmd("New tenant"), cmd("Refresh tenants", "reload"), cmd("Add profile"), cmd("Focus search")];
  it("lists everything in order for an empty query", () => {
    expect(filterCommands(commands, "").map((r) => r.command.title)).toEqual([
      "New tenant",
      "Refresh tenants",
      "Add profile",
      "Focus search",
    ]);
  });
  it("puts the best match first", () => {
    expect(filterCommands(commands, "add")[0]?.command.title).toBe("Add profile");
  });
  it("finds commands by keyword", () => {
    expect(filterCommands(commands, "reload").map((r) => r.command.title)).toEqual(["Refresh tenants"]);
  });
  it("caps the number of results", () => {
    const many = Array.from({ length: 100 }, (_, i) => cmd(`Suspend tenant-${i}`));
    expect(filterCommands(many, "sus", 20)).toHaveLength(20);
  });
});

describe("moveActive", () => {
  it("wraps around both ends", () => {
    expect(moveActive(2, 1, 3)).toBe(0);
    expect(moveActive(0, -1, 3)).toBe(2);
  });
  it("starts from the first or last when nothing is active", () => {
    expect(moveActive(-1, 1, 3)).toBe(0);
    expect(moveActive(-1, -1, 3)).toBe(2);
  });
  it("has no active item in an empty list", () => {
    expect(moveActive(0, 1, 0)).toBe(-1);
  });
});

describe("highlightRuns", () => {
  it("groups matched characters", () => {
    expect(highlightRuns("abcd", [0, 1, 3])).toEqual([
      { text: "ab", hit: true },
      { text: "c", hit: false },
      { text: "d", hit: true },
    ]);
  });
});

describe("isPaletteShortcut", () => {
  const key = (k: string, mods: Partial<KeyboardEvent> = {}) => ({
    key: k,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    shiftKey: false,
    ...mods,
  });
  it("takes Ctrl+K and Cmd+K", () => {
    expect(isPaletteShortcut(key("k", { ctrlKey: true }))).toBe(true);
    expect(isPaletteShortcut(key("K", { metaKey: true }))).toBe(true);
  });
  it("ignores plain K and other chords", () => {
    expect(isPaletteShortcut(key("k"))).toBe(false);
    expect(isPaletteShortcut(key("k", { ctrlKey: true, shiftKey: true }))).toBe(false);
  });
});
