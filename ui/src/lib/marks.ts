//! Where the window's start goes, kept as performance entries that
//! `bench/overview` reads: marks of its steps (`opsdeck:<step>`) and
//! measures of its calls to the backend (`ipc:<name>`). Only the first
//! seconds are kept, so a window left open keeps no growing list.

/** How long after the page's start marks and measures are kept. */
const KEPT_MS = 10_000;

function keeping(): boolean {
  return typeof performance !== "undefined" && typeof performance.mark === "function" && performance.now() <= KEPT_MS;
}

/** Marks `step` of the window's start. */
export function mark(step: string): void {
  if (!keeping()) return;
  try {
    performance.mark(`opsdeck:${step}`);
  } catch {
    // A mark is a diagnosis: never a reason for anything to fail.
  }
}

/** Keeps the call `name` made at `since` as a measure up to now. */
export function measureCall(name: string, since: number): void {
  if (!keeping() || since > KEPT_MS) return;
  try {
    performance.measure(`ipc:${name}`, { start: since, end: performance.now() });
  } catch {
    // As above.
  }
}
