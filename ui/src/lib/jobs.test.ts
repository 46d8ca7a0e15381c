import { describe, expect, it } from "vitest";

import { jobDuration, jobLabel, jobPercent, jobPhase, jobTitle, rtoSeconds, rtoText } from "./jobs";
import { job } from "./testdata";

describe("job words", () => {
  it("takes the percent from the live progress, then the job's own, and 100 once succeeded", () => {
    expect(jobPercent(job("j", "running"), { phase: "copy", done: 3, total: 4, unit: "%" })).toBe(75);
    expect(jobPercent(job("j", "running", { progress: { phase: "copy", percent: 12.6 } }), null)).toBe(13);
    expect(jobPercent(job("j", "running"), null)).toBeNull();
    expect(jobPercent(job("j", "succeeded"), null)).toBe(100);
    expect(jobPercent(job("j", "failed"), { phase: "copy", done: 3, total: 4, unit: "%" })).toBeNull();
  });

  it("names the phase while running and the state otherwise", () => {
    expect(jobPhase(job("j", "running"), { phase: "verifying", done: 0, total: null, unit: "%" })).toBe("verifying");
    expect(jobPhase(job("j", "failed", { progress: { phase: "copy", percent: 50 } }), null)).toBe("failed");
  });

  it("names the target without its kind prefix", () => {
    expect(jobTitle(job("j"))).toBe("backup of main-db");
    expect(jobTitle(job("j", "running", { target: null, kind: "verify" }))).toBe("verify");
    expect(jobLabel(job("j", "running", { kind: "cluster.switchover", target: "cluster:cache" }))).toBe("Cluster switchover of cache");
  });

  it("reads the measured RTO from the result only when it is a number", () => {
    expect(rtoSeconds(job("j", "succeeded", { result: { rto_seconds: 4.25 } }))).toBe(4.25);
    expect(rtoSeconds(job("j", "succeeded", { result: { rto_seconds: "fast" } }))).toBeNull();
    expect(rtoSeconds(job("j", "succeeded", { result: [1] }))).toBeNull();
    expect(rtoText(4.25)).toBe("RTO 4.3 s");
    expect(rtoText(31.6)).toBe("RTO 32 s");
  });

  it("measures how long it ran, to now while it runs", () => {
    const started = job("j", "running", { started_at: "2026-11-24T10:00:00Z" });
    expect(jobDuration(started, Date.parse("2026-11-24T10:00:42Z"))).toBe("42 s");
    expect(jobDuration({ ...started, finished_at: "2026-11-24T10:05:00Z" }, Date.now())).toBe("5 minutes");
    expect(jobDuration(job("j", "queued"), Date.now())).toBe("");
  });
});
