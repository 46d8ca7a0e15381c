import { describe, expect, it } from "vitest";

import { row, tenant } from "./testdata";
import { actionVerb, isEmptyFilter, lifecycleAction, nextSort, sortTenants, toFilter } from "./tenants";

const list = [
  row("acme", { name: "Acme Corporation" }),
  row("globex", { name: "Globex", status: "suspended", plan: "enterprise" }),
  row("initech", { name: "Initech Software", plan: "free" }),
];

describe("toFilter", () => {
  it("sends the search as typed and the status menu as core's status", () => {
    expect(toFilter("corp acme", "all")).toEqual({ status: null, plan: null, search: "corp acme", labels: [] });
    expect(toFilter("", "suspended")).toEqual({ status: "suspended", plan: null, search: "", labels: [] });
    expect(toFilter("", "all", "", "business")).toEqual({ status: null, plan: "business", search: "", labels: [] });
  });
  it("needs no answer from core for an empty filter", () => {
    expect(isEmptyFilter(toFilter("   ", "all"))).toBe(true);
    expect(isEmptyFilter(toFilter("", "active"))).toBe(false);
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

describe("lifecycleAction", () => {
  it("opens the edit form for an update and the confirmation for the rest", () => {
    expect(row("acme").actions.map(lifecycleAction)).toEqual([null, "suspend", "delete"]);
    expect(actionVerb("update")).toBe("Edit");
  });
});
