//! Checks what the backend sent against the generated types before the UI
//! trusts it. A field of the wrong shape becomes a clear message naming the
//! field, never a blank screen or `undefined` in a cell.

import type { FieldChange } from "../generated/FieldChange";
import type { Plan } from "../generated/Plan";
import type { Preflight } from "../generated/Preflight";
import type { ProfileEntry } from "../generated/ProfileEntry";
import type { ProfileList } from "../generated/ProfileList";
import type { Quotas } from "../generated/Quotas";
import type { Stale } from "../generated/Stale";
import type { Tenant } from "../generated/Tenant";
import type { TenantOperation } from "../generated/TenantOperation";
import type { TenantStatus } from "../generated/TenantStatus";
import type { TenantsView } from "../generated/TenantsView";
import type { Tier } from "../generated/Tier";

export class DecodeError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path}: expected ${expected}`);
    this.name = "DecodeError";
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new DecodeError(path, "an object");
  return v as Obj;
}

function str(v: unknown, path: string): string {
  if (typeof v !== "string") throw new DecodeError(path, "a string");
  return v;
}

function strOrNull(v: unknown, path: string): string | null {
  return v === null || v === undefined ? null : str(v, path);
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") throw new DecodeError(path, "true or false");
  return v;
}

function num(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new DecodeError(path, "a number");
  return v;
}

/** A whole number that a JS number holds exactly (quotas are i64 in Rust, far below 2^53 in practice). */
function int(v: unknown, path: string): number {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  throw new DecodeError(path, "a whole number");
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], path: string): T {
  if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
  throw new DecodeError(path, `one of ${allowed.join(", ")}`);
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new DecodeError(path, "a list");
  return v;
}

const TIERS: readonly Tier[] = ["dev", "staging", "prod"];
const PLANS: readonly Plan[] = ["free", "team", "business", "enterprise"];
const STATUSES: readonly TenantStatus[] = ["active", "suspended"];
const OPERATIONS: readonly TenantOperation[] = ["suspend", "resume", "delete", "update"];

export function decodeTier(v: unknown, path = "tier"): Tier {
  return oneOf(v, TIERS, path);
}

export function decodeQuotas(v: unknown, path = "quotas"): Quotas {
  const o = obj(v, path);
  return {
    max_users: int(o.max_users, `${path}.max_users`),
    storage_gib: int(o.storage_gib, `${path}.storage_gib`),
    requests_per_minute: int(o.requests_per_minute, `${path}.requests_per_minute`),
  };
}

export function decodeTenant(v: unknown, path = "tenant"): Tenant {
  const o = obj(v, path);
  return {
    id: str(o.id, `${path}.id`),
    slug: str(o.slug, `${path}.slug`),
    name: str(o.name, `${path}.name`),
    plan: oneOf(o.plan, PLANS, `${path}.plan`),
    status: oneOf(o.status, STATUSES, `${path}.status`),
    quotas: decodeQuotas(o.quotas, `${path}.quotas`),
    created_at: str(o.created_at, `${path}.created_at`),
    updated_at: str(o.updated_at, `${path}.updated_at`),
  };
}

export function decodeStale(v: unknown, path = "stale"): Stale | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, path);
  return { reason: str(o.reason, `${path}.reason`), age_seconds: num(o.age_seconds, `${path}.age_seconds`) };
}

export type DecodedTenants = {
  view: TenantsView;
  /** Rows that could not be read, each as "tenants[3].status: expected …". They are left out of `view`. */
  unreadable: string[];
};

/**
 * The list, keeping every tenant that can be read: one bad row from a newer
 * server hides that row (and says so), not the whole table.
 */
export function decodeTenantsView(v: unknown): DecodedTenants {
  const o = obj(v, "response");
  const tenants: Tenant[] = [];
  const unreadable: string[] = [];
  arr(o.tenants, "tenants").forEach((t, i) => {
    try {
      tenants.push(decodeTenant(t, `tenants[${i}]`));
    } catch (e) {
      if (e instanceof DecodeError) unreadable.push(e.message);
      else throw e;
    }
  });
  return {
    view: {
      profile: str(o.profile, "profile"),
      tier: decodeTier(o.tier),
      tenants,
      fetched_at: str(o.fetched_at, "fetched_at"),
      stale: decodeStale(o.stale),
    },
    unreadable,
  };
}

export function decodeProfileEntry(v: unknown, path = "profile"): ProfileEntry {
  const o = obj(v, path);
  return {
    name: str(o.name, `${path}.name`),
    tier: decodeTier(o.tier, `${path}.tier`),
    admin_url: str(o.admin_url, `${path}.admin_url`),
    prometheus_url: strOrNull(o.prometheus_url, `${path}.prometheus_url`),
    alertmanager_url: strOrNull(o.alertmanager_url, `${path}.alertmanager_url`),
    has_token: bool(o.has_token, `${path}.has_token`),
  };
}

export function decodeProfileList(v: unknown): ProfileList {
  const o = obj(v, "response");
  return {
    current: strOrNull(o.current, "current"),
    profiles: arr(o.profiles, "profiles").map((p, i) => decodeProfileEntry(p, `profiles[${i}]`)),
  };
}

export function decodeFieldChange(v: unknown, path: string): FieldChange {
  const o = obj(v, path);
  return {
    field: str(o.field, `${path}.field`),
    label: str(o.label, `${path}.label`),
    before: str(o.before, `${path}.before`),
    after: str(o.after, `${path}.after`),
    reduces: bool(o.reduces, `${path}.reduces`),
  };
}

export function decodePreflight(v: unknown): Preflight {
  const o = obj(v, "preflight");
  return {
    action: oneOf(o.action, OPERATIONS, "preflight.action"),
    target: str(o.target, "preflight.target"),
    tier: decodeTier(o.tier, "preflight.tier"),
    summary: str(o.summary, "preflight.summary"),
    changes: arr(o.changes, "preflight.changes").map((c, i) => decodeFieldChange(c, `preflight.changes[${i}]`)),
    confirm_text: strOrNull(o.confirm_text, "preflight.confirm_text"),
  };
}

export function decodeTenantOrNull(v: unknown): Tenant | null {
  return v === null || v === undefined ? null : decodeTenant(v);
}
