import { describe, expect, it } from "vitest";

import { tierTheme } from "./theme";

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
