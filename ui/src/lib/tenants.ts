//! Filtering and sorting of the tenants table, and which actions a tenant
//! offers. What the server decides (state transitions, confirmation rules)
//! is not here: the backend's preflight says that.

import { PLANS as PLAN_VALUES, TENANT_STATUSES, type Plan, type Tenant, type TenantAction, type TenantStatus } from "../generated/bindings";

export type StatusFilter = "all" | TenantStatus;

const STATUS_LABELS: Record<TenantStatus, string> = { active: "Active", suspended: "Suspended" };

export const STATUS_FILTERS: ReadonlyArray<{ value: StatusFilter; label: string }> = [
  { value: "all", label: "All statuses" },
  ...TENANT_STATUSES.map((value) => ({ value, label: STATUS_LABELS[value] })),
];

/** Plans in core's order (cheapest first), from Rust. */
export const PLANS: readonly Plan[] = PLAN_VALUES;

/**
 * Tenants whose slug or name contains every word of `query` (any case),
 * with the given status. Keeps the input order.
 */
export function filterTenants(tenants: readonly Tenant[], query: string, status: StatusFilter): Tenant[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return tenants.filter((t) => {
    if (status !== "all" && t.status !== status) return false;
    if (words.length === 0) return true;
    const hay = `${t.slug}\n${t.name}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

export type SortKey =
  | "slug"
  | "name"
  | "plan"
  | "status"
  | "max_users"
  | "storage_gib"
  | "requests_per_minute"
  | "updated_at";

export type SortDir = "asc" | "desc";
export type Sort = { key: SortKey; dir: SortDir };

export const DEFAULT_SORT: Sort = { key: "slug", dir: "asc" };

function compareBy(key: SortKey, a: Tenant, b: Tenant): number {
  switch (key) {
    case "slug":
      return cmp(a.slug, b.slug);
    case "name":
      return a.name.localeCompare(b.name, undefined, { sensitivity: "base", numeric: true });
    case "plan":
      return PLANS.indexOf(a.plan) - PLANS.indexOf(b.plan);
    case "status":
      return cmp(a.status, b.status);
    case "max_users":
    case "storage_gib":
    case "requests_per_minute":
      return cmp(a.quotas[key], b.quotas[key]);
    case "updated_at":
      return cmp(Date.parse(a.updated_at) || 0, Date.parse(b.updated_at) || 0);
  }
}

function cmp<T extends string | number>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A sorted copy; ties fall back to the slug so the order never jitters between refreshes. */
export function sortTenants(tenants: readonly Tenant[], sort: Sort): Tenant[] {
  const sign = sort.dir === "asc" ? 1 : -1;
  return [...tenants].sort((a, b) => sign * compareBy(sort.key, a, b) || cmp(a.slug, b.slug));
}

/** Clicking a column: the same column flips direction, a new one starts ascending (newest first for time). */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, dir: current.dir === "asc" ? "desc" : "asc" };
  return { key, dir: key === "updated_at" ? "desc" : "asc" };
}

/** The lifecycle actions a row offers: suspend or resume, and delete. */
export function rowActions(status: TenantStatus): TenantAction[] {
  return status === "active" ? ["suspend", "delete"] : ["resume", "delete"];
}

export function actionVerb(action: TenantAction): string {
  switch (action) {
    case "suspend":
      return "Suspend";
    case "resume":
      return "Resume";
    case "delete":
      return "Delete";
  }
}

/** Replaces the tenant with the same id (or adds it), as after an update or create. */
export function upsertTenant(tenants: readonly Tenant[], tenant: Tenant): Tenant[] {
  const i = tenants.findIndex((t) => t.id === tenant.id);
  if (i < 0) return [...tenants, tenant];
  const copy = [...tenants];
  copy[i] = tenant;
  return copy;
}
