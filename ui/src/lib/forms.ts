//! Form text → request bodies. Only what the browser must decide lives here
//! (is "1,000" a number, and one a JS number holds exactly?); the other rules
//! are checked by core and the server and come back as field errors.

import { DEFAULT_PLAN, QUOTA_MAX, type CreateTenant, type Plan, type QuotasPatch, type Tenant, type Tier, type UpdateTenant } from "../generated/bindings";

export type QuotaKey = keyof QuotasPatch;
export const QUOTA_KEYS: readonly QuotaKey[] = ["max_users", "storage_gib", "requests_per_minute"];

export const TENANT_FIELDS = [
  "slug",
  "name",
  "plan",
  "quotas.max_users",
  "quotas.storage_gib",
  "quotas.requests_per_minute",
] as const;

export type TenantForm = {
  slug: string;
  name: string;
  plan: Plan;
  max_users: string;
  storage_gib: string;
  requests_per_minute: string;
};

export function emptyTenantForm(): TenantForm {
  return { slug: "", name: "", plan: DEFAULT_PLAN, max_users: "", storage_gib: "", requests_per_minute: "" };
}

export function tenantToForm(t: Tenant): TenantForm {
  return {
    slug: t.slug,
    name: t.name,
    plan: t.plan,
    max_users: String(t.quotas.max_users),
    storage_gib: String(t.quotas.storage_gib),
    requests_per_minute: String(t.quotas.requests_per_minute),
  };
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * The server's bound on every quota, from the API crate's validation.
 * Checked here too, because a value the server would refuse could also be
 * too large for a JS number to hold exactly.
 */
export { QUOTA_MAX };

/**
 * An optional quota: "" is absent; "1,000", "1 000" and "1_000" are 1000.
 * A whole number outside 1..=QUOTA_MAX gets the server's own message for it.
 */
export function parseQuota(text: string): Parsed<number | undefined> {
  const cleaned = text.trim().replace(/[\s,_]/g, "");
  if (cleaned === "") return { ok: true, value: undefined };
  const match = /^(-?)0*(\d+)$/.exec(cleaned);
  if (!match) return { ok: false, message: "Enter a whole number, like 500" };
  const [, sign = "", digits = ""] = match;
  const value = Number(sign + digits);
  if (!(value >= 1 && value <= QUOTA_MAX)) {
    // The digits as typed: a huge number would print as 1e+21.
    const shown = sign === "-" && digits !== "0" ? `-${digits}` : digits;
    return { ok: false, message: `must be between 1 and ${QUOTA_MAX}, got ${shown}` };
  }
  return { ok: true, value };
}

export type Built<T> = { body: T | null; errors: Record<string, string> };

function parseQuotas(form: TenantForm, errors: Record<string, string>): Partial<Record<QuotaKey, number>> {
  const out: Partial<Record<QuotaKey, number>> = {};
  for (const key of QUOTA_KEYS) {
    const parsed = parseQuota(form[key]);
    if (!parsed.ok) errors[`quotas.${key}`] = parsed.message;
    else if (parsed.value !== undefined) out[key] = parsed.value;
  }
  return out;
}

/** The body of `tenant_create`, or the fields that must be fixed first. */
export function buildCreate(form: TenantForm): Built<CreateTenant> {
  const errors: Record<string, string> = {};
  const slug = form.slug.trim();
  const name = form.name.trim();
  if (slug === "") errors.slug = "Enter a slug, like acme-corp";
  if (name === "") errors.name = "Enter the tenant's display name";
  const quotas = parseQuotas(form, errors);
  if (Object.keys(errors).length > 0) return { body: null, errors };
  const body: CreateTenant = { slug, name, plan: form.plan };
  if (Object.keys(quotas).length > 0) body.quotas = quotas;
  return { body, errors };
}

/**
 * The body of `tenant_update` with only what changed. An emptied quota field
 * keeps the current value (a quota can't be unset). `body` is null when there
 * are errors or nothing to save; `errors` tells which.
 */
export function buildUpdate(original: Tenant, form: TenantForm): Built<UpdateTenant> & { unchanged: boolean } {
  const errors: Record<string, string> = {};
  const name = form.name.trim();
  if (name === "") errors.name = "Enter the tenant's display name";
  const quotas = parseQuotas(form, errors);
  if (Object.keys(errors).length > 0) return { body: null, errors, unchanged: false };
  const body: UpdateTenant = {};
  if (name !== original.name) body.name = name;
  if (form.plan !== original.plan) body.plan = form.plan;
  const changedQuotas: QuotasPatch = {};
  for (const key of QUOTA_KEYS) {
    const v = quotas[key];
    if (v !== undefined && v !== original.quotas[key]) changedQuotas[key] = v;
  }
  if (Object.keys(changedQuotas).length > 0) body.quotas = changedQuotas;
  const unchanged = Object.keys(body).length === 0;
  return { body: unchanged ? null : body, errors, unchanged };
}

export const PROFILE_FIELDS = ["name", "tier", "admin_url", "token"] as const;

export type ProfileForm = { name: string; tier: Tier; admin_url: string; token: string };

export type AddProfile = { name: string; tier: Tier; adminUrl: string; token: string };

export function emptyProfileForm(): ProfileForm {
  return { name: "", tier: "dev", admin_url: "", token: "" };
}

/** Arguments of `profile_add`, or the empty fields. The token is passed as typed (it may end in "="). */
export function buildProfile(form: ProfileForm): Built<AddProfile> {
  const errors: Record<string, string> = {};
  const name = form.name.trim();
  const adminUrl = form.admin_url.trim();
  if (name === "") errors.name = "Enter a name for this profile, like eu-prod";
  if (adminUrl === "") errors.admin_url = "Enter the Admin API URL, like https://admin.example.com";
  if (form.token === "") errors.token = "Paste an API token";
  if (Object.keys(errors).length > 0) return { body: null, errors };
  return { body: { name, tier: form.tier, adminUrl, token: form.token }, errors };
}
