import { describe, expect, it } from "vitest";

import { ageWords, countLabel, formatInt, relativeTime, staleMessage } from "./format";

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

describe("countLabel", () => {
  it("counts all when nothing is filtered", () => {
    expect(countLabel(57, 57)).toBe("57 tenants");
    expect(countLabel(1, 1)).toBe("1 tenant");
    expect(countLabel(0, 0)).toBe("0 tenants");
  });
  it("says how many of how many while filtered", () => {
    expect(countLabel(3, 1200)).toBe("3 of 1,200 tenants");
  });
  it("groups thousands", () => {
    expect(formatInt(60000)).toBe("60,000");
  });
});
