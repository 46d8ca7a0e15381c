import { describe, expect, it } from "vitest";

import { DecodeError, decodePreflight, decodeProfileList, decodeTenant, decodeTenantsView } from "./decode";

const wireTenant = (slug: string, over: Record<string, unknown> = {}) => ({
  id: `id-${slug}`,
  slug,
  name: slug,
  plan: "team",
  status: "active",
  quotas: { max_users: 50, storage_gib: 50, requests_per_minute: 600 },
  created_at: "2024-01-01T00:00:00Z",
  updated_at: "2024-01-01T00:00:00Z",
  ...over,
});

describe("decodeTenant", () => {
  it("keeps quotas as the numbers the generated type says", () => {
    expect(decodeTenant(wireTenant("acme")).quotas).toEqual({ max_users: 50, storage_gib: 50, requests_per_minute: 600 });
  });
  it("refuses a quota that is not a whole number a JS number holds exactly", () => {
    const quotas = (max_users: unknown) => wireTenant("acme", { quotas: { max_users, storage_gib: 1, requests_per_minute: 1 } });
    for (const bad of [1.5, 2 ** 53, "50", Number.NaN, null]) {
      expect(() => decodeTenant(quotas(bad))).toThrow("tenant.quotas.max_users: expected a whole number");
    }
    expect(decodeTenant(quotas(Number.MAX_SAFE_INTEGER)).quotas.max_users).toBe(Number.MAX_SAFE_INTEGER);
  });
  it("names the field that is wrong", () => {
    expect(() => decodeTenant(wireTenant("acme", { status: "archived" }))).toThrow(
      "tenant.status: expected one of active, suspended",
    );
    expect(() => decodeTenant(wireTenant("acme", { quotas: { max_users: 1.5 } }))).toThrow(DecodeError);
  });
});

describe("decodeTenantsView", () => {
  const view = (tenants: unknown) => ({
    profile: "eu-prod",
    tier: "prod",
    tenants,
    fetched_at: "2024-01-01T00:00:00Z",
    stale: { reason: "connection refused", age_seconds: 720 },
  });
  it("keeps the readable rows and reports the others", () => {
    const { view: v, unreadable } = decodeTenantsView(view([wireTenant("a"), wireTenant("b", { plan: 7 }), wireTenant("c")]));
    expect(v.tenants.map((t) => t.slug)).toEqual(["a", "c"]);
    expect(unreadable).toEqual(["tenants[1].plan: expected one of free, team, business, enterprise"]);
    expect(v.stale).toEqual({ reason: "connection refused", age_seconds: 720 });
  });
  it("fails on a response without a list", () => {
    expect(() => decodeTenantsView({ profile: "p", tier: "dev" })).toThrow("tenants: expected a list");
  });
  it("accepts a missing stale as live", () => {
    const { view: v } = decodeTenantsView({ ...view([]), stale: null });
    expect(v.stale).toBeNull();
  });
});

describe("decodeProfileList", () => {
  it("reads profiles and tolerates absent optional URLs", () => {
    const list = decodeProfileList({
      current: null,
      profiles: [{ name: "dev", tier: "dev", admin_url: "http://127.0.0.1:8080", has_token: true }],
    });
    expect(list.profiles[0]?.prometheus_url).toBeNull();
  });
  it("rejects an unknown tier", () => {
    expect(() =>
      decodeProfileList({ current: null, profiles: [{ name: "x", tier: "qa", admin_url: "u", has_token: true }] }),
    ).toThrow("profiles[0].tier");
  });
});

describe("decodePreflight", () => {
  it("keeps a null confirm_text", () => {
    const p = decodePreflight({
      action: "suspend",
      target: "acme",
      tier: "dev",
      summary: "s",
      changes: [],
      confirm_text: null,
    });
    expect(p.confirm_text).toBeNull();
  });
  it("reads an update's changes, before and after", () => {
    const p = decodePreflight({
      action: "update",
      target: "acme",
      tier: "prod",
      summary: "s",
      changes: [{ field: "quotas.max_users", label: "max users", before: "50", after: "1", reduces: true }],
      confirm_text: "acme",
    });
    expect(p.action).toBe("update");
    expect(p.changes[0]?.reduces).toBe(true);
  });
  it("names a change of the wrong shape", () => {
    expect(() =>
      decodePreflight({
        action: "update",
        target: "acme",
        tier: "prod",
        summary: "s",
        changes: [{ field: "plan", label: "plan", before: "team", after: "free", reduces: "yes" }],
        confirm_text: "acme",
      }),
    ).toThrow("preflight.changes[0].reduces");
  });
});
