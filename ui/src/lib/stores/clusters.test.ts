import { describe, expect, it } from "vitest";

import type { ClusterPreflight, ClusterTopology, Job } from "../../generated/bindings";
import { fakeIpc, job, testChannels } from "../testdata";
import { Clusters } from "./clusters.svelte";
import { Jobs } from "./jobs.svelte";

function topology(id: string, primary: string): ClusterTopology {
  return {
    id,
    kind: "patroni",
    name: id,
    primary,
    members: [],
    sources: [],
    problems: [],
    observed_at: "2026-11-24T10:00:00Z",
  };
}

const preflight: ClusterPreflight = { cluster: "pg", action: "switchover", passed: true, checks: [], candidates: [] };

describe("Clusters store", () => {
  it("shows the first cluster, and keeps the chosen one across a refresh", async () => {
    const store = new Clusters(
      fakeIpc({
        clustersList: () =>
          Promise.resolve([
            { id: "cache", kind: "redis_sentinel", name: "cache" },
            { id: "pg", kind: "patroni", name: "pg" },
          ]),
        clusterShow: (_p, id) => Promise.resolve(topology(id, "a")),
      }),
      new Jobs(fakeIpc({})),
    );
    await store.load("ops");
    expect(store.topology?.id).toBe("cache");
    await store.select("pg");
    await store.refresh();
    expect(store.selected).toBe("pg");
    expect(store.topology?.id).toBe("pg");
  });

  it("ignores a topology that arrives after another cluster was chosen", async () => {
    let release!: (t: ClusterTopology) => void;
    const slow = new Promise<ClusterTopology>((resolve) => (release = resolve));
    const store = new Clusters(
      fakeIpc({
        clustersList: () => Promise.resolve([]),
        clusterShow: (_p, id) => (id === "slow" ? slow : Promise.resolve(topology(id, "b"))),
      }),
      new Jobs(fakeIpc({})),
    );
    await store.load("ops");
    const first = store.select("slow");
    await store.select("pg");
    release(topology("slow", "x"));
    await first;
    expect(store.topology?.id).toBe("pg");
  });

  it("starts a switchover with its key, follows the job and reads the topology again when it ends", async () => {
    const keys: string[] = [];
    let shows = 0;
    let end!: (j: Job) => void;
    const ended = new Promise<Job>((resolve) => (end = resolve));
    const ipc = fakeIpc({
      clustersList: () => Promise.resolve([{ id: "pg", kind: "patroni", name: "pg" }]),
      clusterShow: (_p, id) => Promise.resolve(topology(id, shows++ === 0 ? "a" : "b")),
      clusterStart: (_p, p, _r, _c, key) => {
        keys.push(key);
        return Promise.resolve({ preflight: p, job: job("s1", "queued", { kind: "switchover", target: "cluster:pg" }) });
      },
      jobsList: () => Promise.resolve({ items: [], next_cursor: null }),
      jobWatch: () => ended,
    });
    const jobs = new Jobs(ipc, testChannels([]));
    await jobs.load("ops");
    const store = new Clusters(ipc, jobs);
    await store.load("ops");
    const queued = await store.start(preflight, { candidate: "b" }, null, "key-1");
    expect(queued.id).toBe("s1");
    expect(keys).toEqual(["key-1"]);
    end(job("s1", "succeeded", { kind: "switchover", result: { rto_seconds: 3.5, new_primary: "b" } }));
    await jobs.watch("s1");
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(store.jobOf("pg")?.state).toBe("succeeded");
    expect(store.topology?.primary).toBe("b");
  });
});
