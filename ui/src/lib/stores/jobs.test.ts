import { describe, expect, it } from "vitest";

import type { Job, JobLogLine, Progress } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { fakeIpc, job, testChannels } from "../testdata";
import { Jobs } from "./jobs.svelte";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("Jobs store", () => {
  it("watches the jobs still going when the list is read, and not the finished ones", async () => {
    const watched: string[] = [];
    const store = new Jobs(
      fakeIpc({
        jobsList: () => Promise.resolve({ items: [job("a", "running"), job("b", "succeeded"), job("c", "queued")], next_cursor: null }),
        jobWatch: (_p, id) => {
          watched.push(id);
          return new Promise<Job>(() => {});
        },
      }),
      testChannels([]),
    );
    await store.load("ops");
    expect(watched).toEqual(["a", "c"]);
    expect(Object.keys(store.live).sort()).toEqual(["a", "c"]);
  });

  it("shows progress and log lines as they arrive, and the job as it ended", async () => {
    const feeds: Array<(m: unknown) => void> = [];
    const end = deferred<Job>();
    const store = new Jobs(fakeIpc({ jobsList: () => Promise.resolve({ items: [], next_cursor: null }), jobWatch: () => end.promise }), testChannels(feeds));
    await store.load("ops");
    const watching = store.watch("j1", job("j1", "queued"));
    const [progress, log] = feeds;
    progress?.({ phase: "backing up", done: 40, total: 100, unit: "%" } satisfies Progress);
    log?.({ seq: 1, at: "2026-11-24T10:00:01Z", line: "started" } satisfies JobLogLine);
    log?.({ seq: 2, at: "2026-11-24T10:00:02Z", line: "copied" } satisfies JobLogLine);
    expect(store.live["j1"]?.progress?.done).toBe(40);
    expect(store.live["j1"]?.log.map((l) => l.line)).toEqual(["started", "copied"]);
    end.resolve(job("j1", "succeeded"));
    expect((await watching)?.state).toBe("succeeded");
    expect(store.job("j1")?.state).toBe("succeeded");
    expect(store.items.map((j) => j.id)).toEqual(["j1"]);
  });

  it("watches a job once however often it is asked", async () => {
    let calls = 0;
    const store = new Jobs(
      fakeIpc({
        jobsList: () => Promise.resolve({ items: [], next_cursor: null }),
        jobWatch: () => {
          calls++;
          return Promise.resolve(job("j", "succeeded"));
        },
      }),
      testChannels([]),
    );
    await store.load("ops");
    await Promise.all([store.watch("j", job("j")), store.watch("j", job("j"))]);
    expect(calls).toBe(1);
  });

  it("keeps a broken watch's error on the job and does not reject", async () => {
    const store = new Jobs(
      fakeIpc({
        jobsList: () => Promise.resolve({ items: [], next_cursor: null }),
        jobWatch: () => Promise.reject({ code: "unreachable", message: "server gone", details: [], remedy: { kind: "retry" } }),
      }),
      testChannels([]),
    );
    await store.load("ops");
    expect(await store.watch("j", job("j"))).toBeNull();
    expect(store.live["j"]?.error?.code).toBe("unreachable");
  });

  it("drops what a watch of the previous profile reports after a switch", async () => {
    const feeds: Array<(m: unknown) => void> = [];
    const end = deferred<Job>();
    const ipc: Ipc = fakeIpc({
      jobsList: (profile) => Promise.resolve({ items: profile === "old" ? [job("x")] : [], next_cursor: null }),
      jobWatch: () => end.promise,
    });
    const store = new Jobs(ipc, testChannels(feeds));
    await store.load("old");
    await store.load("new");
    feeds[0]?.({ phase: "copying", done: 1, total: 2, unit: "%" });
    end.resolve(job("x", "succeeded"));
    await end.promise;
    expect(store.live).toEqual({});
    expect(store.items).toEqual([]);
  });

  it("cancels through the server and marks the job as asked to stop", async () => {
    const asked: string[] = [];
    const store = new Jobs(
      fakeIpc({
        jobsList: () => Promise.resolve({ items: [job("j", "succeeded")], next_cursor: null }),
        jobCancel: (_p, id) => {
          asked.push(id);
          return Promise.resolve(job(id, "cancelled"));
        },
      }),
      testChannels([]),
    );
    await store.load("ops");
    const cancelled = await store.cancel("j");
    expect(asked).toEqual(["j"]);
    expect(cancelled.state).toBe("cancelled");
    expect(store.items[0]?.state).toBe("cancelled");
  });
});
