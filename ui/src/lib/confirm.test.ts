import { describe, expect, it } from "vitest";

import type { Preflight } from "../generated/bindings";
import { canConfirm, confirmLabel } from "./confirm";

const prod: Preflight = {
  action: "delete",
  target: "acme",
  tier: "prod",
  summary: "Delete tenant acme in eu-prod",
  confirm_text: "acme",
};
const dev: Preflight = { ...prod, tier: "dev", confirm_text: null };

describe("canConfirm", () => {
  it("waits for the preflight", () => {
    expect(canConfirm(null, "", false)).toBe(false);
  });
  it("lets dev actions through without typing", () => {
    expect(canConfirm(dev, "", false)).toBe(true);
  });
  it("needs the exact slug in production", () => {
    expect(canConfirm(prod, "", false)).toBe(false);
    expect(canConfirm(prod, "acm", false)).toBe(false);
    expect(canConfirm(prod, "ACME", false)).toBe(false);
    expect(canConfirm(prod, "acme ", false)).toBe(false);
    expect(canConfirm(prod, "acme", false)).toBe(true);
  });
  it("is off while the action is in flight", () => {
    expect(canConfirm(prod, "acme", true)).toBe(false);
    expect(canConfirm(dev, "", true)).toBe(false);
  });
});

describe("confirmLabel", () => {
  it("names the action", () => {
    expect(confirmLabel("delete")).toBe("Delete tenant");
    expect(confirmLabel("resume")).toBe("Resume tenant");
  });
});
