import { describe, expect, it } from "vitest";

import type { Approval, IpcError } from "../../generated/bindings";
import { fakeIpc } from "../testdata";
import { approvalNeeded, Approvals, approvalWhat } from "./approvals.svelte";

const pending: Approval = {
  id: "a-1",
  action: "tenant.delete",
  target: "spare",
  body: null,
  reason: "Spare is unused",
  requested_by: "other",
  requested_at: "2026-11-25T07:00:00Z",
  expires_at: "2026-11-25T07:30:00Z",
  state: "pending",
  role: "platform-admin",
};

describe("approvalNeeded", () => {
  it("finds the two-person remedy and nothing else", () => {
    const remedy = { kind: "request_approval" as const, action: "tenant.delete", target: "spare", role: "platform-admin", expires_after_seconds: 1800 };
    const asked: IpcError = { code: "approval_required", message: "m", details: [], remedy };
    expect(approvalNeeded(asked)).toEqual(remedy);
    expect(approvalNeeded({ ...asked, remedy: { kind: "retry" } })).toBeNull();
    expect(approvalNeeded(null)).toBeNull();
  });
});

describe("Approvals", () => {
  it("counts the pending requests and drops one once decided", async () => {
    const store = new Approvals(
      fakeIpc({
        approvalsList: () => Promise.resolve({ items: [pending, { ...pending, id: "a-2", target: "other" }] }),
        approvalDecide: (_p, id, grant) => Promise.resolve({ ...pending, id, state: grant ? "granted" : "denied", decided_by: "desk" }),
      }),
    );
    expect(await store.loadPending("plat")).toBe(2);
    const decided = await store.decide("plat", "a-1", true, null);
    expect(decided.state).toBe("granted");
    expect(store.pending.map((a) => a.id)).toEqual(["a-2"]);
    expect(approvalWhat(decided)).toBe("tenant.delete of spare");
  });
});
