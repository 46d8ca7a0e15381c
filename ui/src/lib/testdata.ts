//! Builders for tests.

import type { AllowedAction, Tenant, TenantRow } from "../generated/bindings";
import type { Ipc } from "../ipc";

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
