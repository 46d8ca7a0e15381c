import { describe, expect, it } from "vitest";

import { COLOR_SCHEMES, parseColorScheme, resolveColorScheme, tierTheme } from "./theme";

describe("tierTheme", () => {
  it("spells out PRODUCTION for prod", () => {
    expect(tierTheme("prod")).toEqual({ className: "tier-prod", label: "PRODUCTION" });
  });
  it("gives each tier its own class", () => {
    const classes = new Set([tierTheme("dev"), tierTheme("staging"), tierTheme("prod"), tierTheme(null)].map((t) => t.className));
    expect(classes.size).toBe(4);
  });
  it("has a neutral look without a profile", () => {
    expect(tierTheme(undefined).className).toBe("tier-none");
  });
});

describe("colour scheme", () => {
  it("follows the OS until the user picks one", () => {
    expect(resolveColorScheme("system", true)).toBe("dark");
    expect(resolveColorScheme("system", false)).toBe("light");
    expect(resolveColorScheme("light", true)).toBe("light");
    expect(resolveColorScheme("dark", false)).toBe("dark");
  });
  it("reads back what it stored and falls back to the OS for anything else", () => {
    for (const s of COLOR_SCHEMES) expect(parseColorScheme(s.value)).toBe(s.value);
    expect(parseColorScheme(null)).toBe("system");
    expect(parseColorScheme("Dark ")).toBe("system");
  });
});
