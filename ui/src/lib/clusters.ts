//! How the clusters view words a topology and a preflight. Pure.

import type { ClusterMember, ClusterTopology, Job } from "../generated/bindings";
import { bytes } from "./backups";

/** "12 KiB, 0.4 s behind"; "in sync" at zero; "lag unknown". */
export function lagText(member: ClusterMember): string {
  const b = member.lag_bytes;
  const s = member.lag_seconds;
  if ((b === null || b === undefined) && (s === null || s === undefined)) return "lag unknown";
  if ((b ?? 0) === 0 && (s ?? 0) === 0) return "in sync";
  const parts: string[] = [];
  if (b !== null && b !== undefined) parts.push(bytes(b));
  if (s !== null && s !== undefined) parts.push(`${s.toFixed(1)} s`);
  return `${parts.join(", ")} behind`;
}

/** The primaries first, then the replicas by name, then the rest: how the diagram stacks them. */
export function layout(topology: ClusterTopology): { primaries: ClusterMember[]; others: ClusterMember[] } {
  const byName = (a: ClusterMember, b: ClusterMember) => a.name.localeCompare(b.name);
  return {
    primaries: topology.members.filter((m) => m.role === "primary").sort(byName),
    others: topology.members
      .filter((m) => m.role !== "primary")
      .sort((a, b) => (a.role === b.role ? byName(a, b) : a.role === "replica" ? -1 : 1)),
  };
}

/** The member a finished switchover or failover promoted, from its result. */
export function newPrimary(job: Job | null): string | null {
  const result = job?.state === "succeeded" ? job.result : null;
  if (!result || typeof result !== "object" || Array.isArray(result)) return null;
  const name = result["new_primary"];
  return typeof name === "string" ? name : null;
}

/** Whether the topology draws `name` as a primary. */
export function drawsPrimary(topology: ClusterTopology | null, name: string): boolean {
  return topology?.members.some((m) => m.name === name && m.role === "primary") ?? false;
}
