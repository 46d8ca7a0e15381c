import { describe, expect, it } from "vitest";

import { buildCreate, buildProfile, buildUpdate, emptyTenantForm, parseQuota, QUOTA_MAX, tenantToForm } from "./forms";
import { tenant } from "./testdata";

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
  it("names the fields to fix with their server paths", () => {
    const { body, errors } = buildCreate({ ...emptyTenantForm(), storage_gib: "big" });
    expect(body).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(["name", "quotas.storage_gib", "slug"]);
  });
  it("puts an out-of-range quota at its field", () => {
    const { body, errors } = buildCreate({ ...emptyTenantForm(), slug: "acme", name: "Acme", requests_per_minute: "0" });
    expect(body).toBeNull();
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
