//! How the window words and measures a server job (a backup, a
//! verification, a restore, a switchover): its state, how far it is, what
//! it is doing, how long it took, and the RTO it measured. Pure.

import type { Job, JobState, Progress } from "../generated/bindings";
import { ageWords } from "./format";

/** Whether the job will change again. */
export function isFinished(state: JobState): boolean {
  return state !== "queued" && state !== "running";
}

/**
 * Whole percent done: 100 once succeeded; while running, the last progress
 * event's, else the job's own; null when it does not say (an unknown
 * amount, or a job that ended without success).
 */
export function jobPercent(job: Job, progress: Progress | null): number | null {
  if (job.state === "succeeded") return 100;
  if (job.state !== "running") return null;
  if (progress && progress.total !== null && progress.total > 0) {
    return Math.min(100, Math.floor((progress.done * 100) / progress.total));
  }
  const own = job.progress.percent;
  return own === null || own === undefined ? null : Math.max(0, Math.min(100, Math.round(own)));
}

/** What the job is doing now: its phase while it runs, else its state. */
export function jobPhase(job: Job, progress: Progress | null): string {
  if (job.state !== "running") return job.state;
  return progress?.phase || job.progress.phase || "running";
}

/**
 * "backup of main-db" from kind and target (`backup-target:main-db`),
 * "cluster switchover of cache" from `cluster.switchover` on `cluster:cache`.
 */
export function jobTitle(job: Job): string {
  const kind = job.kind.replace(/[._]/g, " ");
  const target = job.target?.replace(/^[a-z-]+:/, "");
  return target ? `${kind} of ${target}` : kind;
}

/** The title as a label's start: "Cluster switchover of cache". */
export function jobLabel(job: Job): string {
  const title = jobTitle(job);
  return title.charAt(0).toUpperCase() + title.slice(1);
}

/** How long it ran (or has been running), in words; "" before it started. */
export function jobDuration(job: Job, nowMs: number): string {
  if (!job.started_at) return "";
  const start = Date.parse(job.started_at);
  const end = job.finished_at ? Date.parse(job.finished_at) : nowMs;
  if (Number.isNaN(start) || Number.isNaN(end)) return "";
  const seconds = Math.max(0, Math.round((end - start) / 1000));
  return seconds < 60 ? `${seconds} s` : ageWords(seconds);
}

/** The RTO a restore or failover measured (trigger to first write), in seconds. */
export function rtoSeconds(job: Job): number | null {
  const result = job.result;
  if (!result || typeof result !== "object" || Array.isArray(result)) return null;
  const rto = result["rto_seconds"];
  return typeof rto === "number" && Number.isFinite(rto) ? rto : null;
}

/** "RTO 4.2 s". */
export function rtoText(seconds: number): string {
  return `RTO ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds).toString()} s`;
}
