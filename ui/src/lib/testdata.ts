//! Builders for tests.

import type { Tenant } from "../generated/Tenant";

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
