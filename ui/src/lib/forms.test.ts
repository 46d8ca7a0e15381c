import { describe, expect, it } from "vitest";

import { buildCreate, buildProfile, buildUpdate, emptyTenantForm, parseQuota, tenantToForm } from "./forms";
import { tenant } from "./testdata";

describe("parseQuota", () => {
  it("treats an empty field as absent", () => {
    expect(parseQuota("  ")).toEqual({ ok: true, value: undefined });
  });
  it("accepts thousands separators", () => {
    expect(parseQuota("1,000")).toEqual({ ok: true, value: 1000n });
    expect(parseQuota("10 000")).toEqual({ ok: true, value: 10000n });
  });
  it("refuses fractions, signs and words", () => {
    expect(parseQuota("1.5").ok).toBe(false);
    expect(parseQuota("-3").ok).toBe(false);
    expect(parseQuota("lots").ok).toBe(false);
  });
});

describe("buildCreate", () => {
  it("sends only the quotas that were filled in", () => {
    const { body, errors } = buildCreate({ ...emptyTenantForm(), slug: " acme ", name: "Acme", max_users: "25" });
    expect(errors).toEqual({});
    expect(body).toEqual({ slug: "acme", name: "Acme", plan: "team", quotas: { max_users: 25n } });
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
});

describe("buildUpdate", () => {
  const original = tenant("acme", { name: "Acme", plan: "team" });
  it("sends only what changed", () => {
    const form = { ...tenantToForm(original), name: "Acme Ltd", max_users: "60" };
    expect(buildUpdate(original, form).body).toEqual({ name: "Acme Ltd", quotas: { max_users: 60n } });
  });
  it("says when nothing changed", () => {
    const result = buildUpdate(original, tenantToForm(original));
    expect(result.body).toBeNull();
    expect(result.unchanged).toBe(true);
  });
  it("compares quotas by value even when the backend sent numbers", () => {
    const fromWire = { ...original, quotas: { max_users: 50, storage_gib: 50, requests_per_minute: 600 } } as never;
    expect(buildUpdate(fromWire, tenantToForm(original)).unchanged).toBe(true);
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
