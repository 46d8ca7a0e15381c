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
  type TenantsPage,
} from "../generated/bindings";
import { parseLabelFilter } from "./labels";

export type StatusFilter = "all" | TenantStatus;
export type PlanFilter = "all" | Plan;

const STATUS_LABELS: Record<TenantStatus, string> = { active: "Active", suspended: "Suspended" };

export const STATUS_FILTERS: ReadonlyArray<{ value: StatusFilter; label: string }> = [
  { value: "all", label: "All statuses" },
  ...TENANT_STATUSES.map((value) => ({ value, label: STATUS_LABELS[value] })),
];

/** Plans in core's order (cheapest first), from Rust. */
export const PLANS: readonly Plan[] = PLAN_VALUES;

export const PLAN_FILTERS: ReadonlyArray<{ value: PlanFilter; label: string }> = [
  { value: "all", label: "All plans" },
  ...PLANS.map((value) => ({ value, label: value.charAt(0).toUpperCase() + value.slice(1) })),
];

/**
 * The filter the server applies for the toolbar's search box, status and
 * plan menus and label box; the search goes as typed, the labels as
 * `key=value` or `key` filters (comma separated in the box), for core to
 * judge by the server's rule.
 */
export function toFilter(query: string, status: StatusFilter, labels = "", plan: PlanFilter = "all"): TenantFilter {
  return {
    status: status === "all" ? null : status,
    plan: plan === "all" ? null : plan,
    search: query,
    labels: parseLabelFilter(labels),
  };
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

/** The rows loaded with `page` after them; a row the page holds again (put in by `apply`) is taken from the page. */
export function appendPage(rows: readonly TenantRow[], page: readonly TenantRow[]): TenantRow[] {
  const ids = new Set(page.map((t) => t.id));
  return [...rows.filter((t) => !ids.has(t.id)), ...page];
}

/**
 * The rows loaded, the first page refreshed: the page is the truth about
 * every slug up to its last one (all of them when it is the only page), and
 * the rows after it stay as they were loaded.
 */
export function refreshFirst(rows: readonly TenantRow[], page: TenantsPage): TenantRow[] {
  const last = page.tenants.at(-1)?.slug;
  if (page.next === null || last === undefined) return page.tenants;
  const ids = new Set(page.tenants.map((t) => t.id));
  return [...page.tenants, ...rows.filter((t) => t.slug > last && !ids.has(t.id))];
}

/** `rows` with `tenant` at its place in slug order (the server's). */
export function insertBySlug(rows: readonly TenantRow[], tenant: TenantRow): TenantRow[] {
  const at = rows.findIndex((t) => t.slug > tenant.slug);
  return at < 0 ? [...rows, tenant] : [...rows.slice(0, at), tenant, ...rows.slice(at)];
}
