//! Progress of long work, as core reports it over a Tauri channel, and how
//! the window words it.

import { Channel } from "@tauri-apps/api/core";

import type { Progress } from "../generated/bindings";

/** Makes the channel a command reports its progress on; tests pass their own. */
export type ProgressChannels = (onmessage: (progress: Progress) => void) => Channel<Progress>;

export const tauriChannels: ProgressChannels = (onmessage) => new Channel<Progress>(onmessage);

/** "Fetching tenants: 1,200 tenants" or "Copying: 40%". */
export function progressLabel(progress: Progress): string {
  const phase = progress.phase.charAt(0).toUpperCase() + progress.phase.slice(1);
  if (progress.total !== null && progress.total > 0) {
    const percent = Math.floor((Math.min(progress.done, progress.total) * 100) / progress.total);
    return `${phase}: ${percent}%`;
  }
  return `${phase}: ${progress.done.toLocaleString("en-US")} ${progress.unit}`;
}
