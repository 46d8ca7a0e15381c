//! Form text → request bodies, and the errors a tenant form shows at once.
//! Only what the browser must decide lives here (is "1,000" a number, and
//! one a JS number holds exactly?); the contract's rules are core's, asked
//! through `tenant_check_create` / `tenant_check_update` before anything is
//! sent, and the server's come back as field errors after.

import {
  DEFAULT_PLAN,
  PLAN_DEFAULTS,
  QUOTA_MAX,
  type CreateTenant,
  type Plan,
  type Quotas,
  type QuotasPatch,
  type Tenant,
  type Tier,
  type UpdateTenant,
} from "../generated/bindings";
import type { Ipc } from "../ipc";
import { draftErrors, type FieldErrors } from "./errors";
import { labelsToRows, rowsToLabels, sameLabels, type LabelRow } from "./labels";

export type QuotaKey = keyof QuotasPatch;
export const QUOTA_KEYS: readonly QuotaKey[] = ["max_users", "storage_gib", "requests_per_minute"];

export const TENANT_FIELDS = [
  "slug",
  "name",
  "plan",
  "quotas.max_users",
  "quotas.storage_gib",
  "quotas.requests_per_minute",
  "accent_color",
  // Every `labels.<key>` error shows here too (see `mapFieldErrors`).
  "labels",
] as const;

export type TenantForm = {
  slug: string;
  name: string;
  plan: Plan;
  max_users: string;
  storage_gib: string;
  requests_per_minute: string;
  /** `#rrggbb` as typed (or picked); "" for none. */
  accent_color: string;
  labels: LabelRow[];
};

export function emptyTenantForm(): TenantForm {
  return {
    slug: "",
    name: "",
    plan: DEFAULT_PLAN,
    max_users: "",
    storage_gib: "",
    requests_per_minute: "",
    accent_color: "",
    labels: [],
  };
}

export function tenantToForm(t: Tenant): TenantForm {
  return {
    slug: t.slug,
    name: t.name,
    plan: t.plan,
    max_users: String(t.quotas.max_users),
    storage_gib: String(t.quotas.storage_gib),
    requests_per_minute: String(t.quotas.requests_per_minute),
    accent_color: t.accent_color ?? "",
    labels: labelsToRows(t.labels),
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

/**
 * The body of `tenant_create` as far as the form can tell, and the fields
 * only the browser can fault (a quota that is not a whole number, an empty
 * field said in the form's words). The body is there even with errors, so
 * that core can judge every other field at the same time.
 */
export function buildCreate(form: TenantForm): { body: CreateTenant; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const slug = form.slug.trim();
  const name = form.name.trim();
  if (slug === "") errors.slug = "Enter a slug, like acme-corp";
  if (name === "") errors.name = "Enter the tenant's display name";
  const quotas = parseQuotas(form, errors);
  const body: CreateTenant = { slug, name, plan: form.plan };
  if (Object.keys(quotas).length > 0) body.quotas = quotas;
  const color = form.accent_color.trim();
  if (color !== "") body.accent_color = color;
  const labels = rowsToLabels(form.labels);
  if (labels.error) errors.labels = labels.error;
  if (Object.keys(labels.labels).length > 0) body.labels = labels.labels;
  return { body, errors };
}

/**
 * The body of `tenant_update` with only what changed. An emptied quota field
 * keeps the current value (a quota can't be unset). `body` is null when
 * nothing is to be saved (`unchanged`); `errors` are the browser's own, as
 * for `buildCreate`.
 */
export function buildUpdate(original: Tenant, form: TenantForm): Built<UpdateTenant> & { unchanged: boolean } {
  const errors: Record<string, string> = {};
  const name = form.name.trim();
  if (name === "") errors.name = "Enter the tenant's display name";
  const quotas = parseQuotas(form, errors);
  const body: UpdateTenant = {};
  if (name !== "" && name !== original.name) body.name = name;
  if (form.plan !== original.plan) body.plan = form.plan;
  const changedQuotas: QuotasPatch = {};
  for (const key of QUOTA_KEYS) {
    const v = quotas[key];
    if (v !== undefined && v !== original.quotas[key]) changedQuotas[key] = v;
  }
  if (Object.keys(changedQuotas).length > 0) body.quotas = changedQuotas;
  // An emptied colour field clears the colour (null); labels go whole.
  const color = form.accent_color.trim();
  if (color !== (original.accent_color ?? "")) body.accent_color = color === "" ? null : color;
  const labels = rowsToLabels(form.labels);
  if (labels.error) errors.labels = labels.error;
  else if (!sameLabels(labels.labels, original.labels)) body.labels = labels.labels;
  const unchanged = Object.keys(body).length === 0 && Object.keys(errors).length === 0;
  return { body: Object.keys(body).length === 0 ? null : body, errors, unchanged };
}

/** What a tenant form holds once checked: a body to send, nothing to save, or every error at once. */
export type TenantDraft =
  | { kind: "create"; body: CreateTenant }
  | { kind: "update"; body: UpdateTenant }
  | { kind: "unchanged" }
  | { kind: "invalid"; errors: FieldErrors };

/**
 * Checks the form as core will (and the server would), without sending it:
 * the browser's own errors and every one core finds, together, so that one
 * round of corrections is enough.
 */
export async function checkTenantDraft(ipc: Ipc, original: Tenant | undefined, form: TenantForm): Promise<TenantDraft> {
  if (original) {
    const built = buildUpdate(original, form);
    if (built.unchanged) return { kind: "unchanged" };
    const checked = built.body ? await ipc.tenantCheckUpdate(built.body) : [];
    const errors = draftErrors(built.errors, checked, TENANT_FIELDS);
    if (hasErrors(errors)) return { kind: "invalid", errors };
    return built.body ? { kind: "update", body: built.body } : { kind: "unchanged" };
  }
  const built = buildCreate(form);
  const errors = draftErrors(built.errors, await ipc.tenantCheckCreate(built.body), TENANT_FIELDS);
  return hasErrors(errors) ? { kind: "invalid", errors } : { kind: "create", body: built.body };
}

function hasErrors(errors: FieldErrors): boolean {
  return Object.keys(errors.byField).length > 0 || errors.other.length > 0;
}

/** A plan's quotas in words, from the API crate's one table (as the CLI's --help lists them). */
export function planQuotas(plan: Plan): string {
  const q: Quotas = PLAN_DEFAULTS[plan];
  return `${q.max_users} users, ${q.storage_gib} GiB storage, ${q.requests_per_minute} requests per minute`;
}

/** What the plan field says it does: on a new tenant, and on an edit (core's rule for a plan change). */
export function planHint(plan: Plan, editingFrom?: Plan): string {
  if (editingFrom === undefined) return `Sets each quota left empty: ${planQuotas(plan)}`;
  return (
    `A new plan moves each quota still at the ${editingFrom} plan's default (${planQuotas(editingFrom)}) ` +
    `to the new plan's; a quota set by hand is kept`
  );
}

/** The placeholder of an empty quota field on a new tenant: the plan's number. */
export function quotaPlaceholder(plan: Plan, key: QuotaKey): string {
  return `${PLAN_DEFAULTS[plan][key]} (${plan} default)`;
}

/**
 * The quota fields after a plan change, from core's answer (`after`): a
 * field still showing what the form last put there follows; one the user
 * typed into is kept. `shown` is what the form last put there, updated.
 */
export function followPlan(
  form: TenantForm,
  shown: Record<QuotaKey, string>,
  after: Quotas,
): { form: TenantForm; shown: Record<QuotaKey, string> } {
  const next = { ...form };
  const nextShown = { ...shown };
  for (const key of QUOTA_KEYS) {
    const value = String(after[key]);
    if (form[key].trim() === shown[key]) next[key] = value;
    nextShown[key] = value;
  }
  return { form: next, shown: nextShown };
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
