import { describe, expect, it } from "vitest";

import { confirmStart, firstField, restoreFocus, rowKeyTarget, tabbableRow } from "./focus";

describe("confirmStart", () => {
  it("starts on Cancel on dev and staging, so Enter Enter does not act", () => {
    expect(confirmStart({ confirm_text: null })).toBe("cancel");
  });
  it("starts on the slug field when the slug must be typed", () => {
    expect(confirmStart({ confirm_text: "acme" })).toBe("slug");
  });
  it("starts on Cancel while the preflight is loading", () => {
    expect(confirmStart(null)).toBe("cancel");
  });
});

describe("firstField", () => {
  it("skips what takes no typing", () => {
    const fields = [
      { tagName: "INPUT", type: "hidden", name: "h" },
      { tagName: "INPUT", type: "text", disabled: true, name: "d" },
      { tagName: "INPUT", type: "text", readOnly: true, name: "r" },
      { tagName: "SELECT", name: "tier" },
      { tagName: "INPUT", type: "text", name: "url" },
    ];
    expect(firstField(fields)?.name).toBe("tier");
  });
  it("finds nothing in a dialog without fields", () => {
    expect(firstField([])).toBeNull();
  });
});

describe("restoreFocus", () => {
  const el = (name: string, isConnected = true) => {
    const e = { name, isConnected, focused: false, focus: () => (e.focused = true) };
    return e;
  };
  it("goes back where the user was", () => {
    const before = el("row");
    const fallback = el("table");
    expect(restoreFocus(before, () => fallback)?.name).toBe("row");
    expect(before.focused).toBe(true);
    expect(fallback.focused).toBe(false);
  });
  it("falls back when that element has gone", () => {
    const fallback = el("next row");
    expect(restoreFocus(el("deleted row", false), () => fallback)?.name).toBe("next row");
    expect(fallback.focused).toBe(true);
    expect(restoreFocus(null, () => null)).toBeNull();
  });
});

describe("rowKeyTarget", () => {
  it("moves one row with the arrows, without wrapping", () => {
    expect(rowKeyTarget("ArrowDown", 3, 10, 5)).toBe(4);
    expect(rowKeyTarget("ArrowUp", 3, 10, 5)).toBe(2);
    expect(rowKeyTarget("ArrowDown", 9, 10, 5)).toBe(9);
    expect(rowKeyTarget("ArrowUp", 0, 10, 5)).toBe(0);
  });
  it("jumps to the ends and by pages", () => {
    expect(rowKeyTarget("Home", 5, 10, 5)).toBe(0);
    expect(rowKeyTarget("End", 5, 10, 5)).toBe(9);
    expect(rowKeyTarget("PageDown", 0, 100, 20)).toBe(19);
    expect(rowKeyTarget("PageUp", 5, 100, 20)).toBe(0);
  });
  it("leaves other keys and empty tables alone", () => {
    expect(rowKeyTarget("Tab", 0, 10, 5)).toBeNull();
    expect(rowKeyTarget("ArrowDown", 0, 0, 5)).toBeNull();
  });
});

describe("tabbableRow", () => {
  it("keeps the active row while it is in view", () => {
    expect(tabbableRow(12, { start: 10, end: 30 }, 100)).toBe(12);
  });
  it("gives the first row in view when the active one is scrolled away", () => {
    expect(tabbableRow(2, { start: 40, end: 60 }, 100)).toBe(40);
    expect(tabbableRow(80, { start: 40, end: 60 }, 100)).toBe(40);
  });
  it("stays inside the table when rows went away", () => {
    expect(tabbableRow(57, null, 50)).toBe(49);
    expect(tabbableRow(0, null, 0)).toBe(-1);
  });
});
