//! Builders for tests.

import type { Channel } from "@tauri-apps/api/core";

import type { AllowedAction, Job, JobState, Tenant, TenantRow } from "../generated/bindings";
import type { Ipc } from "../ipc";
import type { Channels } from "./stores/jobs.svelte";

export function tenant(slug: string, over: Partial<Tenant> = {}): Tenant {
  return {
    id: `id-${slug}`,
    slug,
    name: slug.replace(/-/g, " ").replace(/\b\w/g, (c) => c.toUpperCase()),
    plan: "team",
    status: "active",
    quotas: { max_users: 50, storage_gib: 50, requests_per_minute: 600 },
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    ...over,
  };
}

/** A row as core sends it on a dev profile: edit, suspend or resume, delete. */
export function row(slug: string, over: Partial<Tenant> = {}): TenantRow {
  const t = tenant(slug, over);
  const never = "never" as const;
  const actions: AllowedAction[] = [
    { operation: "update", destructive: false, confirm: never },
    t.status === "active"
      ? { operation: "suspend", destructive: true, confirm: never }
      : { operation: "resume", destructive: false, confirm: never },
    { operation: "delete", destructive: true, confirm: never },
  ];
  return { ...t, actions };
}

/**
 * An `Ipc` for store tests: the given commands, and every other one rejects,
 * so a test never has to list commands it does not use.
 */
export function fakeIpc(commands: Partial<Ipc>): Ipc {
  return new Proxy(commands, {
    get: (target, name: string) =>
      target[name as keyof Ipc] ?? (() => Promise.reject(new Error(`${name} is not used by this test`))),
  }) as Ipc;
}

/** A backup job of target main-db, in `state`. */
export function job(id: string, state: JobState = "running", over: Partial<Job> = {}): Job {
  return {
    id,
    kind: "backup",
    target: "backup-target:main-db",
    state,
    progress: { phase: null, percent: null },
    actor: "ann@example.com",
    request: { type: "incr" },
    attempts: 1,
    created_at: "2026-11-24T10:00:00Z",
    updated_at: "2026-11-24T10:00:00Z",
    ...over,
  };
}

/** Channels a test feeds by hand: the n-th made is `feeds[n]`. */
export function testChannels(feeds: Array<(m: unknown) => void>): Channels {
  return <T>(onmessage: (m: T) => void) => {
    feeds.push(onmessage as (m: unknown) => void);
    return {} as Channel<T>;
  };
}
