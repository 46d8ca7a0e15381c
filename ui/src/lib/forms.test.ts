import { describe, expect, it } from "vitest";

import type { CreateTenant, UpdateTenant } from "../generated/bindings";
import {
  buildCreate,
  buildProfile,
  buildUpdate,
  checkTenantDraft,
  emptyTenantForm,
  followPlan,
  parseQuota,
  planHint,
  QUOTA_MAX,
  quotaPlaceholder,
  tenantToForm,
} from "./forms";
import { fakeIpc, tenant } from "./testdata";

describe("parseQuota", () => {
  it("treats an empty field as absent", () => {
    expect(parseQuota("  ")).toEqual({ ok: true, value: undefined });
  });
  it("accepts thousands separators", () => {
    expect(parseQuota("1,000")).toEqual({ ok: true, value: 1000 });
    expect(parseQuota("10 000")).toEqual({ ok: true, value: 10000 });
    expect(parseQuota("1_000_000")).toEqual({ ok: true, value: 1_000_000 });
  });
  it("refuses fractions and words", () => {
    for (const text of ["1.5", "1e3", "0x10", "+5", "lots", "5 users"]) {
      expect(parseQuota(text)).toEqual({ ok: false, message: "Enter a whole number, like 500" });
    }
  });
  it("accepts the server's range, 1 to QUOTA_MAX, and nothing outside it", () => {
    expect(QUOTA_MAX).toBe(10_000_000);
    expect(parseQuota("1")).toEqual({ ok: true, value: 1 });
    expect(parseQuota("007")).toEqual({ ok: true, value: 7 });
    expect(parseQuota("10,000,000")).toEqual({ ok: true, value: 10_000_000 });
    expect(parseQuota("0")).toEqual({ ok: false, message: "must be between 1 and 10000000, got 0" });
    expect(parseQuota("-3")).toEqual({ ok: false, message: "must be between 1 and 10000000, got -3" });
    expect(parseQuota("10,000,001")).toEqual({ ok: false, message: "must be between 1 and 10000000, got 10000001" });
  });
  it("names a number too large for a JS number by its digits", () => {
    expect(parseQuota("99999999999999999999")).toEqual({
      ok: false,
      message: "must be between 1 and 10000000, got 99999999999999999999",
    });
  });
});

describe("buildCreate", () => {
  it("sends only the quotas that were filled in", () => {
    const { body, errors } = buildCreate({ ...emptyTenantForm(), slug: " acme ", name: "Acme", max_users: "25" });
    expect(errors).toEqual({});
    expect(body).toEqual({ slug: "acme", name: "Acme", plan: "team", quotas: { max_users: 25 } });
  });
  it("leaves quotas out when none are set, so the plan's defaults apply", () => {
    const { body } = buildCreate({ ...emptyTenantForm(), slug: "acme", name: "Acme", plan: "free" });
    expect(body).toEqual({ slug: "acme", name: "Acme", plan: "free" });
  });
  it("names the fields to fix with their server paths, and still builds the rest for core to judge", () => {
    const { body, errors } = buildCreate({ ...emptyTenantForm(), storage_gib: "big", max_users: "9" });
    expect(body).toEqual({ slug: "", name: "", plan: "team", quotas: { max_users: 9 } });
    expect(Object.keys(errors).sort()).toEqual(["name", "quotas.storage_gib", "slug"]);
  });
  it("puts an out-of-range quota at its field", () => {
    const { errors } = buildCreate({ ...emptyTenantForm(), slug: "acme", name: "Acme", requests_per_minute: "0" });
    expect(errors).toEqual({ "quotas.requests_per_minute": "must be between 1 and 10000000, got 0" });
  });
});

describe("buildUpdate", () => {
  const original = tenant("acme", { name: "Acme", plan: "team" });
  it("sends only what changed", () => {
    const form = { ...tenantToForm(original), name: "Acme Ltd", max_users: "60" };
    expect(buildUpdate(original, form).body).toEqual({ name: "Acme Ltd", quotas: { max_users: 60 } });
  });
  it("says when nothing changed", () => {
    const result = buildUpdate(original, tenantToForm(original));
    expect(result.body).toBeNull();
    expect(result.unchanged).toBe(true);
  });
  it("leaves out a quota typed differently but equal in value", () => {
    const result = buildUpdate(original, { ...tenantToForm(original), max_users: "0,050", storage_gib: "" });
    expect(result.body).toBeNull();
    expect(result.unchanged).toBe(true);
  });
  it("refuses a quota past QUOTA_MAX instead of sending it", () => {
    const result = buildUpdate(original, { ...tenantToForm(original), storage_gib: "20,000,000" });
    expect(result.body).toBeNull();
    expect(result.unchanged).toBe(false);
    expect(result.errors).toEqual({ "quotas.storage_gib": "must be between 1 and 10000000, got 20000000" });
  });
  it("keeps the changes it can make beside its errors", () => {
    const result = buildUpdate(original, { ...tenantToForm(original), name: "Acme Ltd", storage_gib: "big" });
    expect(result.body).toEqual({ name: "Acme Ltd" });
    expect(result.unchanged).toBe(false);
    expect(Object.keys(result.errors)).toEqual(["quotas.storage_gib"]);
  });
});

describe("buildProfile", () => {
  it("maps the form to profile_add's camelCase arguments", () => {
    const { body } = buildProfile({ name: " eu-prod ", tier: "prod", admin_url: "https://a.example", token: "t0k=" });
    expect(body).toEqual({ name: "eu-prod", tier: "prod", adminUrl: "https://a.example", token: "t0k=" });
  });
  it("reports each empty field", () => {
    const { errors } = buildProfile({ name: "", tier: "dev", admin_url: "", token: "" });
    expect(Object.keys(errors).sort()).toEqual(["admin_url", "name", "token"]);
  });
});

describe("checkTenantDraft", () => {
  it("shows the browser's errors and every one core finds at once, sending nothing", async () => {
    const judged: CreateTenant[] = [];
    const ipc = fakeIpc({
      tenantCheckCreate: (body: CreateTenant) => {
        judged.push(body);
        return Promise.resolve([
          { field: "slug", message: "may contain only lowercase letters, digits and hyphens" },
          { field: "slug", message: "must start with a lowercase letter" },
          { field: "quotas.max_users", message: "must be between 1 and 10000000, got 0" },
        ]);
      },
    });
    const form = { ...emptyTenantForm(), slug: "Not Valid", name: "", max_users: "0", storage_gib: "lots" };
    const draft = await checkTenantDraft(ipc, undefined, form);
    expect(draft.kind).toBe("invalid");
    if (draft.kind !== "invalid") return;
    expect(Object.keys(draft.errors.byField).sort()).toEqual(["name", "quotas.max_users", "quotas.storage_gib", "slug"]);
    expect(draft.errors.byField.slug).toBe("May contain only lowercase letters, digits and hyphens. Must start with a lowercase letter.");
    expect(judged).toHaveLength(1);
  });
  it("passes a draft core finds nothing wrong with", async () => {
    const ipc = fakeIpc({ tenantCheckCreate: () => Promise.resolve([]) });
    const draft = await checkTenantDraft(ipc, undefined, { ...emptyTenantForm(), slug: "acme", name: "Acme" });
    expect(draft).toEqual({ kind: "create", body: { slug: "acme", name: "Acme", plan: "team" } });
  });
  it("checks an edit's changes and says when there are none", async () => {
    const original = tenant("acme", { name: "Acme", plan: "team" });
    const seen: UpdateTenant[] = [];
    const ipc = fakeIpc({
      tenantCheckUpdate: (body: UpdateTenant) => {
        seen.push(body);
        return Promise.resolve([{ field: "name", message: "must not contain control characters" }]);
      },
    });
    expect(await checkTenantDraft(ipc, original, tenantToForm(original))).toEqual({ kind: "unchanged" });
    const draft = await checkTenantDraft(ipc, original, { ...tenantToForm(original), name: "A\u0007" });
    expect(draft.kind).toBe("invalid");
    expect(seen).toEqual([{ name: "A\u0007" }]);
  });
});

describe("the plan's numbers", () => {
  it("are said where the plan sets the quotas, from the API crate's table", () => {
    expect(planHint("team")).toBe("Sets each quota left empty: 50 users, 50 GiB storage, 600 requests per minute");
    expect(quotaPlaceholder("enterprise", "requests_per_minute")).toBe("60000 (enterprise default)");
    expect(planHint("enterprise", "team")).toContain("still at the team plan's default (50 users, 50 GiB storage, 600 requests per minute)");
    expect(planHint("enterprise", "team")).toContain("a quota set by hand is kept");
  });
  it("follow a plan change in the fields not typed into", () => {
    const original = tenant("acme", { plan: "team" });
    const form = { ...tenantToForm(original), plan: "enterprise" as const, max_users: "800" };
    const shown = { max_users: "50", storage_gib: "50", requests_per_minute: "600" };
    const next = followPlan(form, shown, { max_users: 5000, storage_gib: 5000, requests_per_minute: 60000 });
    expect(next.form.max_users).toBe("800");
    expect(next.form.storage_gib).toBe("5000");
    expect(next.form.requests_per_minute).toBe("60000");
    expect(next.shown).toEqual({ max_users: "5000", storage_gib: "5000", requests_per_minute: "60000" });
  });
});
