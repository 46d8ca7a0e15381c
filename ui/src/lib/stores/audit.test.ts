import { describe, expect, it } from "vitest";

import type { AuditFilters, AuditPage, AuditRecord } from "../../generated/bindings";
import { fakeIpc } from "../testdata";
import { Audit, changedFields, filtersOf } from "./audit.svelte";

function record(seq: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: `r${seq}`,
    seq,
    at: "2026-11-24T10:00:00Z",
    actor: "ann@example.com",
    action: "role.update",
    target: "role:auditor",
    request_id: `req-${seq}`,
    prev_hash: "0".repeat(64),
    hash: "f".repeat(64),
    ...over,
  } as AuditRecord;
}

function page(items: AuditRecord[], next: string | null): AuditPage {
  return { items, next_cursor: next };
}

describe("Audit store", () => {
  it("appends the next page on Load more and stops at the last one", async () => {
    const cursors: Array<string | null> = [];
    const store = new Audit(
      fakeIpc({
        auditPage: (_p, _f, _l, cursor) => {
          cursors.push(cursor);
          return Promise.resolve(cursor === null ? page([record(3), record(2)], "c2") : page([record(2), record(1)], null));
        },
      }),
    );
    await store.load("ops");
    expect(store.nextCursor).toBe("c2");
    await store.more();
    expect(cursors).toEqual([null, "c2"]);
    // The record written between the pages is not shown twice.
    expect(store.items.map((r) => r.seq)).toEqual([3, 2, 1]);
    expect(store.nextCursor).toBeNull();
    await store.more();
    expect(cursors).toHaveLength(2);
  });

  it("sends the typed filters only when applied, blanks as none and times as instants", async () => {
    const sent: AuditFilters[] = [];
    const store = new Audit(
      fakeIpc({
        auditPage: (_p, filters) => {
          sent.push(filters);
          return Promise.resolve(page([], null));
        },
      }),
    );
    await store.load("ops");
    store.form.actor = "  ann@example.com ";
    store.form.since = "2026-11-24T08:00";
    expect(sent).toHaveLength(1);
    await store.apply();
    expect(sent[1]?.actor).toBe("ann@example.com");
    expect(sent[1]?.action).toBeNull();
    expect(sent[1]?.since).toBe(new Date("2026-11-24T08:00").toISOString());
    await store.clear();
    expect(sent[2]).toEqual(filtersOf({ actor: "", action: "", target: "", tenant: "", since: "", until: "" }));
  });

  it("exports with the applied filters and keeps the error when the export fails", async () => {
    const asked: Array<[AuditFilters, string]> = [];
    let fail = false;
    const store = new Audit(
      fakeIpc({
        auditPage: () => Promise.resolve(page([record(1)], null)),
        auditExport: (_p, filters, format) => {
          asked.push([filters, format]);
          return fail
            ? Promise.reject({ code: "io", message: "disk full", details: [], remedy: null })
            : Promise.resolve({ records: 1, path: "/home/ann/Downloads/audit-ops.csv" });
        },
      }),
    );
    await store.load("ops");
    store.form.action = "role.update";
    await store.apply();
    expect((await store.export("csv"))?.path).toBe("/home/ann/Downloads/audit-ops.csv");
    expect(asked[0]?.[0].action).toBe("role.update");
    expect(asked[0]?.[1]).toBe("csv");
    fail = true;
    expect(await store.export("jsonl")).toBeNull();
    expect(store.error?.message).toBe("disk full");
  });

  it("shows only the fields that changed, with creations and deletions whole", () => {
    expect(changedFields({ before: { permissions: ["tenants.read"], name: "auditor" }, after: { permissions: ["tenants.read", "audit.read"], name: "auditor" } })).toEqual([
      { field: "permissions", before: ["tenants.read"], after: ["tenants.read", "audit.read"] },
    ]);
    expect(changedFields({ after: { slug: "acme" } })).toEqual([{ field: "slug", before: undefined, after: "acme" }]);
    expect(changedFields({ before: { slug: "acme" } })).toEqual([{ field: "slug", before: "acme", after: undefined }]);
    expect(changedFields({ before: "x", after: "y" })).toEqual([{ field: "value", before: "x", after: "y" }]);
  });
});
