import { describe, expect, it } from "vitest";

import { tenant } from "./testdata";
import { filterTenants, nextSort, rowActions, sortTenants, upsertTenant } from "./tenants";

const list = [
  tenant("acme", { name: "Acme Corporation" }),
  tenant("globex", { name: "Globex", status: "suspended", plan: "enterprise" }),
  tenant("initech", { name: "Initech Software", plan: "free" }),
];

describe("filterTenants", () => {
  it("matches slug or name, ignoring case", () => {
    expect(filterTenants(list, "GLOB", "all").map((t) => t.slug)).toEqual(["globex"]);
    expect(filterTenants(list, "software", "all").map((t) => t.slug)).toEqual(["initech"]);
  });
  it("needs every word to match", () => {
    expect(filterTenants(list, "acme corp", "all").map((t) => t.slug)).toEqual(["acme"]);
    expect(filterTenants(list, "acme globex", "all")).toEqual([]);
  });
  it("filters by status", () => {
    expect(filterTenants(list, "", "suspended").map((t) => t.slug)).toEqual(["globex"]);
    expect(filterTenants(list, "", "active").map((t) => t.slug)).toEqual(["acme", "initech"]);
  });
  it("returns everything for an empty query", () => {
    expect(filterTenants(list, "   ", "all")).toHaveLength(3);
  });
});

describe("sortTenants", () => {
  it("orders plans by size, not alphabetically", () => {
    const sorted = sortTenants(list, { key: "plan", dir: "asc" }).map((t) => t.plan);
    expect(sorted).toEqual(["free", "team", "enterprise"]);
  });
  it("sorts quotas numerically", () => {
    const many = [
      tenant("a", { quotas: { max_users: 500, storage_gib: 1, requests_per_minute: 1 } }),
      tenant("b", { quotas: { max_users: 60, storage_gib: 1, requests_per_minute: 1 } }),
    ];
    expect(sortTenants(many, { key: "max_users", dir: "desc" }).map((t) => t.slug)).toEqual(["a", "b"]);
    expect(sortTenants(many, { key: "max_users", dir: "asc" }).map((t) => t.slug)).toEqual(["b", "a"]);
  });
  it("breaks ties by slug so refreshes don't reorder rows", () => {
    const same = [tenant("zeta"), tenant("alpha"), tenant("mid")];
    expect(sortTenants(same, { key: "status", dir: "desc" }).map((t) => t.slug)).toEqual(["alpha", "mid", "zeta"]);
  });
  it("does not modify its input", () => {
    const input = [tenant("b"), tenant("a")];
    sortTenants(input, { key: "slug", dir: "asc" });
    expect(input.map((t) => t.slug)).toEqual(["b", "a"]);
  });
});

describe("nextSort", () => {
  it("flips the direction of the same column", () => {
    expect(nextSort({ key: "slug", dir: "asc" }, "slug")).toEqual({ key: "slug", dir: "desc" });
  });
  it("starts a time column newest first", () => {
    expect(nextSort({ key: "slug", dir: "asc" }, "updated_at")).toEqual({ key: "updated_at", dir: "desc" });
  });
});

describe("rowActions", () => {
  it("offers resume only to suspended tenants", () => {
    expect(rowActions("active")).toEqual(["suspend", "delete"]);
    expect(rowActions("suspended")).toEqual(["resume", "delete"]);
  });
});

describe("upsertTenant", () => {
  it("replaces by id and appends new ones", () => {
    const updated = upsertTenant(list, { ...list[0]!, name: "Renamed" });
    expect(updated[0]?.name).toBe("Renamed");
    expect(updated).toHaveLength(3);
    expect(upsertTenant(list, tenant("new"))).toHaveLength(4);
  });
});
