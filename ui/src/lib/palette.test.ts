import { describe, expect, it } from "vitest";

import {
  defaultActive,
  filterCommands,
  fuzzyMatch,
  highlightRuns,
  isPaletteShortcut,
  matchCommand,
  moveActive,
  type Command,
} from "./palette";

const cmd = (title: string, keywords?: string, extra: Partial<Command> = {}): Command => ({
  id: title,
  title,
  group: "g",
  keywords,
  run: () => {},
  ...extra,
});

/** What Enter runs for `query` before the user moves, or null. */
function chosen(commands: readonly Command[], query: string): string | null {
  const results = filterCommands(commands, query);
  return results[defaultActive(results)]?.command.title ?? null;
}

// The window's commands with two other profiles and a few tenants, as App builds them.
const WINDOW: Command[] = [
  cmd("New tenant", "create add"),
  cmd("Refresh tenants", "reload update"),
  cmd("Focus search", "find filter"),
  cmd("Theme: follow the system", "appearance colour color mode auto os"),
  cmd("Theme: light", "appearance colour color mode"),
  cmd("Theme: dark", "appearance colour color mode night"),
  cmd("Add profile", "new environment connect"),
  cmd("Switch to profile sandbox", "use environment dev", { changesEnvironment: true, tier: "dev" }),
  cmd("Switch to profile prod-eu", "use environment prod", { changesEnvironment: true, tier: "prod" }),
  cmd("Switch to profile eu-west", "use environment prod", { changesEnvironment: true, tier: "prod" }),
  cmd("Edit ironbark-foods", "Ironbark Foods"),
  cmd("Suspend ironbark-foods", "Ironbark Foods", { destructive: true, tier: "staging" }),
  cmd("Delete ironbark-foods", "Ironbark Foods", { destructive: true, tier: "staging" }),
  cmd("Edit acme", "Acme Corp"),
  cmd("Resume acme", "Acme Corp"),
  cmd("Delete acme", "Acme Corp", { destructive: true, tier: "staging" }),
];

describe("matchCommand", () => {
  it("tells whole titles, first words, words and scattered letters apart", () => {
    expect(matchCommand("new tenant", cmd("New tenant"))?.kind).toBe("exact");
    expect(matchCommand("new ten", cmd("New tenant"))?.kind).toBe("prefix");
    expect(matchCommand("tenant new", cmd("New tenant"))?.kind).toBe("words");
    expect(matchCommand("reload", cmd("Refresh tenants", "reload"))?.kind).toBe("keywords");
    expect(matchCommand("nwtn", cmd("New tenant"))?.kind).toBe("loose");
  });
  it("counts the tier shown beside a title as words of it", () => {
    const m = matchCommand("switch prod", cmd("Switch to profile eu-west", "", { tier: "prod" }));
    expect(m?.kind).toBe("words");
    expect(m?.named).toBe(true);
  });
  it("names a command only with two words of two letters or more", () => {
    expect(matchCommand("delete acme", cmd("Delete acme"))?.named).toBe(true);
    expect(matchCommand("del ac", cmd("Delete acme"))?.named).toBe(true);
    expect(matchCommand("d a", cmd("Delete acme"))?.named).toBe(false);
    expect(matchCommand("delete", cmd("Delete acme"))?.named).toBe(false);
  });
  it("bolds the typed word starts", () => {
    expect(matchCommand("sw prod", cmd("Switch to profile prod-eu"))?.positions).toEqual([0, 1, 18, 19, 20, 21]);
  });
});

describe("ranking the window's commands", () => {
  it("puts the profile named by words above scattered letters", () => {
    const ranked = filterCommands(WINDOW, "switch prod").map((r) => r.command.title);
    expect(ranked.slice(0, 2)).toEqual(["Switch to profile prod-eu", "Switch to profile eu-west"]);
    expect(ranked.indexOf("Switch to profile sandbox")).toBeGreaterThan(1);
    expect(chosen(WINDOW, "switch prod")).toBe("Switch to profile prod-eu");
  });
  it("never picks another profile for scattered letters", () => {
    const others = WINDOW.filter((c) => !c.title.includes("prod-eu") && !c.title.includes("eu-west"));
    expect(filterCommands(others, "switch prod").map((r) => r.command.title)).toContain("Switch to profile sandbox");
    expect(chosen(others, "switch prod")).toBeNull();
  });
  it("takes the word over a destructive command's scattered letters", () => {
    expect(chosen(WINDOW, "dark")).toBe("Theme: dark");
    const noTheme = WINDOW.filter((c) => !c.title.startsWith("Theme"));
    expect(filterCommands(noTheme, "dark")[0]?.command.title).toBe("Delete ironbark-foods");
    expect(chosen(noTheme, "dark")).toBe("Edit ironbark-foods");
    expect(chosen(noTheme.filter((c) => c.destructive), "dark")).toBeNull();
  });
  it("does not pick a destructive command for one word or a keyword", () => {
    expect(chosen(WINDOW, "delete")).toBeNull();
    expect(chosen(WINDOW, "acme corp")).toBe("Edit acme");
    expect(chosen(WINDOW.filter((c) => c.destructive), "acme corp")).toBeNull();
  });
  it("picks a destructive command named by action and target", () => {
    expect(chosen(WINDOW, "delete acme")).toBe("Delete acme");
    expect(chosen(WINDOW, "sus iron")).toBe("Suspend ironbark-foods");
  });
  it("picks the first safe command when nothing is typed", () => {
    const risky = [cmd("Delete acme", "", { destructive: true }), cmd("Add profile")];
    expect(chosen(risky, "")).toBe("Add profile");
  });
});

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
  it("scores consecutive letters above scattered ones", () => {
    const together = fuzzyMatch("ref", "Refresh tenants")!.score;
    const scattered = fuzzyMatch("ref", "Remove profile")!.score;
    expect(together).toBeGreaterThan(scattered);
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
