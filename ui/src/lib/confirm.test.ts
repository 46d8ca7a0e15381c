import { describe, expect, it } from "vitest";

import type { Preflight, UpdateTenant } from "../generated/bindings";
import type { Ipc } from "../ipc";
import {
  canConfirm,
  changeLine,
  confirmationFor,
  confirmLabel,
  isReducing,
  loadPreflight,
  saveUpdate,
  sendConfirmed,
} from "./confirm";
import { row } from "./testdata";

const prod: Preflight = {
  action: "delete",
  target: "acme",
  tier: "prod",
  summary: "Delete tenant acme in eu-prod",
  changes: [],
  confirm_text: "acme",
};
const dev: Preflight = { ...prod, tier: "dev", confirm_text: null };

const cut: UpdateTenant = { plan: "free", quotas: { max_users: 1 } };
const cutPreflight: Preflight = {
  action: "update",
  target: "acme",
  tier: "prod",
  summary: "Update tenant acme. This lowers its plan, max users.",
  changes: [
    { field: "plan", label: "plan", before: "team", after: "free", reduces: true },
    { field: "quotas.max_users", label: "max users", before: "50", after: "1", reduces: true },
  ],
  confirm_text: "acme",
};

type Call = { command: string; args: unknown[] };

/** An Ipc that records calls and answers the tenant commands from `answers`. */
function recordingIpc(answers: Partial<Ipc>): { ipc: Ipc; calls: Call[] } {
  const calls: Call[] = [];
  const ipc = new Proxy({} as Ipc, {
    get:
      (_, command: string) =>
      (...args: unknown[]) => {
        calls.push({ command: command as keyof Ipc, args });
        const f = answers[command as keyof Ipc] as ((...a: unknown[]) => Promise<unknown>) | undefined;
        return f ? f(...args) : Promise.reject(new Error(`${command} is not used by this test`));
      },
  });
  return { ipc, calls };
}

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
  it("needs the slug for an update core wants confirmed", () => {
    expect(canConfirm(cutPreflight, "", false)).toBe(false);
    expect(canConfirm(cutPreflight, " acme", false)).toBe(false);
    expect(canConfirm(cutPreflight, "acme", false)).toBe(true);
  });
  it("is off while the action is in flight", () => {
    expect(canConfirm(prod, "acme", true)).toBe(false);
    expect(canConfirm(dev, "", true)).toBe(false);
  });
});

describe("confirmationFor", () => {
  it("sends what was typed only where core asks for it", () => {
    expect(confirmationFor(prod, "acme")).toBe("acme");
    expect(confirmationFor(dev, "leftover")).toBeNull();
  });
});

describe("confirmLabel", () => {
  it("names the operation", () => {
    expect(confirmLabel("delete")).toBe("Delete tenant");
    expect(confirmLabel("resume")).toBe("Resume tenant");
    expect(confirmLabel("update")).toBe("Confirm changes");
  });
});

describe("changeLine", () => {
  it("reads before → after, as the CLI prints it", () => {
    expect(cutPreflight.changes.map(changeLine)).toEqual(["plan: team → free", "max users: 50 → 1"]);
  });
});

describe("isReducing", () => {
  it("follows core's changes for an update", () => {
    const raise: Preflight = {
      ...cutPreflight,
      changes: [{ field: "name", label: "name", before: "A", after: "B", reduces: false }],
      confirm_text: null,
    };
    expect(isReducing({ kind: "update", body: cut }, cutPreflight)).toBe(true);
    expect(isReducing({ kind: "update", body: { name: "B" } }, raise)).toBe(false);
    expect(isReducing({ kind: "update", body: cut }, null)).toBe(false);
  });
  it("marks suspend and delete, not resume", () => {
    expect(isReducing({ kind: "action", action: "delete" }, null)).toBe(true);
    expect(isReducing({ kind: "action", action: "resume" }, null)).toBe(false);
  });
});

describe("saveUpdate", () => {
  it("returns the saved tenant when core needs no confirmation", async () => {
    const saved = row("acme", { name: "Acme Inc" });
    const { ipc, calls } = recordingIpc({ tenantUpdate: () => Promise.resolve(saved) });
    const outcome = await saveUpdate(ipc, "prod", "acme", { name: "Acme Inc" }, "k1");
    expect(outcome).toEqual({ kind: "saved", tenant: saved });
    expect(calls).toEqual([{ command: "tenantUpdate", args: ["prod", "acme", { name: "Acme Inc" }, null, "k1"] }]);
  });

  it("asks for the confirmation dialog when core requires the slug", async () => {
    const { ipc } = recordingIpc({
      tenantUpdate: () =>
        Promise.reject({
          code: "confirmation_required",
          message: "update of `acme` needs the slug",
          details: [],
          remedy: { kind: "confirm", target: "acme" },
        }),
    });
    expect(await saveUpdate(ipc, "prod", "acme", cut, "k1")).toEqual({ kind: "confirm" });
  });

  it("throws any other error as an IpcError, for the form", async () => {
    const { ipc } = recordingIpc({
      tenantUpdate: () =>
        Promise.reject({
          code: "validation_failed",
          message: "bad",
          details: [{ field: "quotas.max_users", message: "too small" }],
        }),
    });
    await expect(saveUpdate(ipc, "prod", "acme", cut, "k1")).rejects.toMatchObject({
      code: "validation_failed",
      details: [{ field: "quotas.max_users", message: "too small" }],
    });
  });
});

describe("loadPreflight and sendConfirmed", () => {
  it("ask core for an update's preflight and send the update with the typed slug", async () => {
    const saved = row("acme", { plan: "free" });
    const { ipc, calls } = recordingIpc({
      tenantUpdatePreflight: () => Promise.resolve(cutPreflight),
      tenantUpdate: () => Promise.resolve(saved),
    });
    const request = { kind: "update", body: cut } as const;
    const preflight = await loadPreflight(ipc, "prod", "acme", request);
    expect(preflight.confirm_text).toBe("acme");
    const result = await sendConfirmed(ipc, "prod", "acme", request, confirmationFor(preflight, "acme"), "k2");
    expect(result).toBe(saved);
    expect(calls).toEqual([
      { command: "tenantUpdatePreflight", args: ["prod", "acme", cut] },
      { command: "tenantUpdate", args: ["prod", "acme", cut, "acme", "k2"] },
    ]);
  });

  it("ask core for an action's preflight and send the action", async () => {
    const { ipc, calls } = recordingIpc({
      tenantPreflight: () => Promise.resolve(prod),
      tenantAction: () => Promise.resolve(null),
    });
    const request = { kind: "action", action: "delete" } as const;
    await loadPreflight(ipc, "prod", "acme", request);
    expect(await sendConfirmed(ipc, "prod", "acme", request, "acme", "k3")).toBeNull();
    expect(await sendConfirmed(ipc, "prod", "acme", request, "acme", "k4", "a-1")).toBeNull();
    expect(calls).toEqual([
      { command: "tenantPreflight", args: ["prod", "delete", "acme"] },
      { command: "tenantAction", args: ["prod", "delete", "acme", "acme", "k3", null] },
      { command: "tenantAction", args: ["prod", "delete", "acme", "acme", "k4", "a-1"] },
    ]);
  });
});
