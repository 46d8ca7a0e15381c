import { describe, expect, it } from "vitest";

import { ageWords, formatInt, pagedCount, relativeTime, staleMessage } from "./format";

const NOW = Date.parse("2024-06-01T12:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

describe("relativeTime", () => {
  it("says just now for the last 45 seconds and small clock skew", () => {
    expect(relativeTime(ago(10), NOW)).toBe("just now");
    expect(relativeTime(ago(-30), NOW)).toBe("just now");
  });
  it("counts minutes, hours and days", () => {
    expect(relativeTime(ago(3 * 60), NOW)).toBe("3 min ago");
    expect(relativeTime(ago(59 * 60), NOW)).toBe("59 min ago");
    expect(relativeTime(ago(2 * 3600 + 100), NOW)).toBe("2 h ago");
    expect(relativeTime(ago(5 * 86400), NOW)).toBe("5 d ago");
  });
  it("shows the date for anything older than two months", () => {
    expect(relativeTime("2023-01-15T10:00:00Z", NOW)).toBe("2023-01-15");
  });
  it("marks future times beyond skew as such", () => {
    expect(relativeTime(ago(-10 * 60), NOW)).toBe("in 10 min");
  });
  it("does not pretend to know an unreadable time", () => {
    expect(relativeTime("not a date", NOW)).toBe("—");
  });
});

describe("staleMessage", () => {
  it("states the age in minutes", () => {
    expect(staleMessage(12 * 60, 0)).toBe("Offline — showing the list from 12 minutes ago");
  });
  it("keeps ageing after the answer arrived", () => {
    expect(staleMessage(60, 2 * 60_000)).toBe("Offline — showing the list from 3 minutes ago");
  });
  it("uses singular and larger units", () => {
    expect(ageWords(60)).toBe("1 minute");
    expect(ageWords(3 * 3600)).toBe("3 hours");
    expect(ageWords(86400)).toBe("1 day");
    expect(ageWords(5)).toBe("a few seconds");
  });
});

describe("pagedCount", () => {
  it("counts the tenants once the last page has come", () => {
    expect(pagedCount(57, false, false)).toBe("57 tenants");
    expect(pagedCount(1, false, false)).toBe("1 tenant");
    expect(pagedCount(0, false, false)).toBe("0 tenants");
  });
  it("says how many are loaded while pages remain, and counts matches under a filter", () => {
    expect(pagedCount(1200, true, false)).toBe("1,200 loaded, more…");
    expect(pagedCount(1200, true, true)).toBe("1,200 loaded, more…");
    expect(pagedCount(1, false, true)).toBe("1 match");
    expect(pagedCount(3, false, true)).toBe("3 matches");
  });
  it("groups thousands", () => {
    expect(formatInt(60000)).toBe("60,000");
  });
});
