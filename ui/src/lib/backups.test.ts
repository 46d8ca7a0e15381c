import { describe, expect, it } from "vitest";

import type { Rpo } from "../generated/bindings";
import { bytes, inWindow, localToIso, rpoText, shortDuration } from "./backups";

describe("backup words", () => {
  it("sizes in binary units", () => {
    expect(bytes(512)).toBe("512 B");
    expect(bytes(1536)).toBe("1.5 KiB");
    expect(bytes(5 * 1024 ** 3)).toBe("5.0 GiB");
    expect(bytes(null)).toBe("—");
  });

  it("shows the RPO against its objective, unknown when nothing is restorable", () => {
    const rpo: Rpo = { objective_seconds: 300, seconds: 42, over: false, source: "wal_archive" } as Rpo;
    expect(rpoText(rpo)).toBe("RPO 42 s / 5 min");
    expect(rpoText({ ...rpo, seconds: null, over: true })).toBe("RPO unknown / 5 min");
    expect(shortDuration(3 * 3600 + 300)).toBe("3 h 5 min");
  });

  it("reads a local restore time as an instant and checks it against the window", () => {
    const iso = localToIso("2026-11-24T10:00:30");
    expect(iso).toBe(new Date(2026, 10, 24, 10, 0, 30).toISOString().replace(".000Z", "Z"));
    expect(localToIso("yesterday")).toBeNull();
    const window = { from: "2026-11-24T00:00:00Z", to: "2026-11-24T12:00:00Z" };
    expect(inWindow("2026-11-24T11:59:59Z", window)).toBe(true);
    expect(inWindow("2026-11-24T12:00:01Z", window)).toBe(false);
    expect(inWindow("2026-11-24T11:00:00Z", null)).toBe(false);
  });
});
