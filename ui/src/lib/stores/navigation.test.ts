import type { Component } from "svelte";
import { describe, expect, it } from "vitest";

import { ViewRegistry } from "../../views/registry";
import { Navigation } from "./navigation.svelte";

const component = (() => {}) as unknown as Component;

function registry(): ViewRegistry {
  const r = new ViewRegistry();
  r.register({ id: "tenants", label: "Tenants", icon: "", order: 10, component });
  r.register({ id: "alerts", label: "Alerts", icon: "", order: 20, component });
  return r;
}

function memory(): Map<string, string> & { getItem(k: string): string | null; setItem(k: string, v: string): void } {
  const m = new Map<string, string>() as Map<string, string> & {
    getItem(k: string): string | null;
    setItem(k: string, v: string): void;
  };
  m.getItem = (k) => m.get(k) ?? null;
  m.setItem = (k, v) => void m.set(k, v);
  return m;
}

describe("Navigation", () => {
  it("starts on the first view and remembers the chosen one per window", () => {
    const storage = memory();
    const nav = new Navigation(registry(), storage, "main");
    expect(nav.current).toBe("tenants");
    nav.go("alerts");
    expect(new Navigation(registry(), storage, "main").current).toBe("alerts");
    expect(new Navigation(registry(), storage, "other").current).toBe("tenants");
  });
  it("falls back to the first view when the remembered one is gone", () => {
    const storage = memory();
    storage.setItem("opsdeck.view.main", "backups");
    expect(new Navigation(registry(), storage, "main").current).toBe("tenants");
  });
});
