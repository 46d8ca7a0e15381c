//! Sorting of the tenants table and the words it uses. Which tenants a
//! search finds and which actions a row offers are core's: the window sends
//! a `TenantFilter` and shows the rows' `actions` as they come.

import {
  PLANS as PLAN_VALUES,
  TENANT_STATUSES,
  type AllowedAction,
  type Plan,
  type Tenant,
  type TenantAction,
  type TenantFilter,
  type TenantOperation,
  type TenantRow,
  type TenantStatus,
} from "../generated/bindings";
import { parseLabelFilter } from "./labels";

export type StatusFilter = "all" | TenantStatus;

const STATUS_LABELS: Record<TenantStatus, string> = { active: "Active", suspended: "Suspended" };

export const STATUS_FILTERS: ReadonlyArray<{ value: StatusFilter; label: string }> = [
  { value: "all", label: "All statuses" },
  ...TENANT_STATUSES.map((value) => ({ value, label: STATUS_LABELS[value] })),
];

/** Plans in core's order (cheapest first), from Rust. */
export const PLANS: readonly Plan[] = PLAN_VALUES;

/**
 * The filter core applies for the toolbar's search box, status menu and
 * label box; the search goes as typed, the labels as `key=value` or `key`
 * filters (comma separated in the box), for core to judge by the server's rule.
 */
export function toFilter(query: string, status: StatusFilter, labels = ""): TenantFilter {
  return { status: status === "all" ? null : status, plan: null, search: query, labels: parseLabelFilter(labels) };
}

/** Whether the filter lets every tenant through (no need to ask core). */
export function isEmptyFilter(filter: TenantFilter): boolean {
  return (
    filter.status === null &&
    filter.plan === null &&
    (filter.search ?? "").trim() === "" &&
    (filter.labels ?? []).length === 0
  );
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
export function sortTenants<T extends Tenant>(tenants: readonly T[], sort: Sort): T[] {
  const sign = sort.dir === "asc" ? 1 : -1;
  return [...tenants].sort((a, b) => sign * compareBy(sort.key, a, b) || cmp(a.slug, b.slug));
}

/** Clicking a column: the same column flips direction, a new one starts ascending (newest first for time). */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, dir: current.dir === "asc" ? "desc" : "asc" };
  return { key, dir: key === "updated_at" ? "desc" : "asc" };
}

/** The lifecycle action of an allowed action, or null for the edit form. */
export function lifecycleAction(allowed: AllowedAction): TenantAction | null {
  return allowed.operation === "update" ? null : allowed.operation;
}

export function actionVerb(operation: TenantOperation): string {
  switch (operation) {
    case "update":
      return "Edit";
    case "suspend":
      return "Suspend";
    case "resume":
      return "Resume";
    case "delete":
      return "Delete";
  }
}

/** Replaces the tenant with the same id (or adds it), as after an update or create. */
export function upsertTenant(tenants: readonly TenantRow[], tenant: TenantRow): TenantRow[] {
  const i = tenants.findIndex((t) => t.id === tenant.id);
  if (i < 0) return [...tenants, tenant];
  const copy = [...tenants];
  copy[i] = tenant;
  return copy;
}
