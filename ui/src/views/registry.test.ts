import type { Component } from "svelte";
import { describe, expect, it } from "vitest";

import page from "../../../docs/keyboard.md?raw";
import { ViewRegistry } from "./registry";

const component = (() => {}) as unknown as Component;
const key = (code: string, mods: Partial<KeyboardEvent> = {}) => ({
  code,
  key: "¡",
  altKey: true,
  ctrlKey: false,
  metaKey: false,
  ...mods,
});

function registry(): ViewRegistry {
  const r = new ViewRegistry();
  r.register({ id: "alerts", label: "Alerts", icon: "M0 0", order: 20, component });
  r.register({ id: "tenants", label: "Tenants", icon: "M0 0", order: 10, component });
  return r;
}

describe("ViewRegistry", () => {
  it("lists views in rail order with Alt and their place as shortcut", () => {
    expect(registry().list().map((v) => [v.id, v.shortcut])).toEqual([
      ["tenants", "Alt+1"],
      ["alerts", "Alt+2"],
    ]);
  });
  it("refuses a view registered twice", () => {
    const r = registry();
    expect(() => r.register({ id: "alerts", label: "Alerts", icon: "", order: 1, component })).toThrow(/twice/);
  });
  it("finds the view of Alt and a digit, by the physical key", () => {
    const r = registry();
    expect(r.forShortcut(key("Digit2"))?.id).toBe("alerts");
    expect(r.forShortcut(key("Numpad1"))?.id).toBe("tenants");
    expect(r.forShortcut(key("Digit3"))).toBeNull();
    expect(r.forShortcut(key("", { key: "2" }))?.id).toBe("alerts");
    expect(r.forShortcut(key("Digit1", { altKey: false }))).toBeNull();
    expect(r.forShortcut(key("Digit1", { ctrlKey: true }))).toBeNull();
  });
  it("falls back to the first view for a remembered one that is gone", () => {
    expect(registry().resolve("alerts")).toBe("alerts");
    expect(registry().resolve("backups")).toBe("tenants");
    expect(new ViewRegistry().resolve("tenants")).toBeNull();
  });
});

describe("the window's views", () => {
  it("are each in docs/keyboard.md with their shortcut", async () => {
    const { views } = await import("./index");
    const listed = views.list();
    expect(listed.map((v) => v.id)).toEqual(["overview", "tenants", "alerts", "backups", "clusters", "jobs", "playbooks", "incidents", "audit", "rbac"]);
    // A view past the ninth has no Alt+digit: the palette opens it.
    for (const v of listed) expect(page).toContain(v.shortcut ? `| \`${v.shortcut}\` | ${v.label} |` : `| palette | ${v.label} |`);
  });
});
