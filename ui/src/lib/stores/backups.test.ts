import { describe, expect, it } from "vitest";

import type { BackupList, BackupTarget, Job } from "../../generated/bindings";
import { fakeIpc, job, testChannels } from "../testdata";
import { Backups } from "./backups.svelte";
import { Jobs } from "./jobs.svelte";

const target: BackupTarget = { id: "main-db", kind: "postgresql", stanza: "main" };

function list(labels: string[], over = false): BackupList {
  return {
    target: "main-db",
    items: labels.map((label) => ({
      label,
      type: "full",
      status: "ok",
      size: 1024,
      repository_size: 512,
      started_at: "2026-11-24T10:00:00Z",
      stopped_at: "2026-11-24T10:01:00Z",
    })),
    rpo: { objective_seconds: 300, over, source: "wal_archive", seconds: 42 },
  } as BackupList;
}

describe("Backups store", () => {
  it("reads each target's backups, keeping a target whose list fails apart from the others", async () => {
    const other: BackupTarget = { ...target, id: "broken" };
    const store = new Backups(
      fakeIpc({
        backupTargets: () => Promise.resolve([target, other]),
        backupsList: (_p, t) => (t === "main-db" ? Promise.resolve(list(["20261124-100000F"])) : Promise.reject(new Error("no repository"))),
      }),
      new Jobs(fakeIpc({})),
    );
    await store.load("ops");
    expect(store.lists["main-db"]?.items).toHaveLength(1);
    expect(store.listErrors["broken"]?.message).toContain("no repository");
    expect(store.error).toBeNull();
  });

  it("follows a backup it started to its end and then reads the list again", async () => {
    let lists = 0;
    let end!: (j: Job) => void;
    const ended = new Promise<Job>((resolve) => (end = resolve));
    const ipc = fakeIpc({
      backupTargets: () => Promise.resolve([target]),
      backupsList: () => Promise.resolve(list(lists++ === 0 ? [] : ["20261124-100000F"])),
      backupCreate: (_p, t, type) => Promise.resolve(job("b1", "queued", { request: { type }, target: `backup-target:${t}` })),
      jobsList: () => Promise.resolve({ items: [], next_cursor: null }),
      jobWatch: () => ended,
    });
    const feeds: Array<(m: unknown) => void> = [];
    // The jobs view was never opened: the backups view puts the jobs on its profile.
    const jobs = new Jobs(ipc, testChannels(feeds));
    const store = new Backups(ipc, jobs);
    await store.load("ops");
    const queued = await store.create("main-db", "full");
    expect(queued.state).toBe("queued");
    expect(store.started["main-db"]).toEqual({ kind: "backup", job: "b1" });
    feeds[0]?.({ phase: "backing up", done: 50, total: 100, unit: "%" });
    expect(jobs.live["b1"]?.progress?.done).toBe(50);
    end(job("b1", "succeeded"));
    expect((await store.whenDone("main-db"))?.state).toBe("succeeded");
    expect(store.jobOf("main-db")?.state).toBe("succeeded");
    expect(store.lists["main-db"]?.items.map((b) => b.label)).toEqual(["20261124-100000F"]);
  });

  it("rejects a refused backup for the view to show, and starts no watch", async () => {
    const refusal = { code: "conflict", message: "another job runs on main-db", details: [], remedy: null };
    const store = new Backups(
      fakeIpc({
        backupTargets: () => Promise.resolve([target]),
        backupsList: () => Promise.resolve(list([])),
        backupCreate: () => Promise.reject(refusal),
      }),
      new Jobs(fakeIpc({})),
    );
    await store.load("ops");
    await expect(store.create("main-db", "incr")).rejects.toMatchObject({ code: "conflict" });
    expect(store.started).toEqual({});
  });

  it("sends the typed confirmation of a restore as it was typed", async () => {
    const sent: Array<[string | null, string | null]> = [];
    const ipc = fakeIpc({
      backupTargets: () => Promise.resolve([target]),
      backupsList: () => Promise.resolve(list(["x"])),
      backupRestore: (_p, _t, to, confirmation) => {
        sent.push([to, confirmation]);
        return Promise.resolve(job("r1", "queued", { kind: "restore" }));
      },
      jobWatch: () => new Promise<Job>(() => {}),
    });
    const jobs = new Jobs(ipc, testChannels([]));
    const store = new Backups(ipc, jobs);
    await store.load("ops");
    await store.restore("main-db", "2026-11-24T10:00:30Z", "main-db");
    expect(sent).toEqual([["2026-11-24T10:00:30Z", "main-db"]]);
    expect(store.started["main-db"]?.kind).toBe("restore");
  });
});
