//! Builders for tests.

import type { Tenant } from "../generated/bindings";
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
