import { describe, expect, it, vi } from "vitest";

import type { ClusterPreflight, ClusterTopology, Job } from "../../generated/bindings";
import { fakeIpc, job, testChannels } from "../testdata";
import { Clusters } from "./clusters.svelte";
import { Jobs } from "./jobs.svelte";

function topology(id: string, primary: string): ClusterTopology {
  const member = (name: string) => ({ name, role: name === primary ? "primary" : "replica", host: "127.0.0.1", port: 1, state: "up", health: "healthy" });
  return {
    id,
    kind: "patroni",
    name: id,
    primary,
    members: [member("a"), member("b")] as ClusterTopology["members"],
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

  it("starts a switchover with its key, follows the job and reads the topology until it draws the new primary", async () => {
    const keys: string[] = [];
    let shows = 0;
    let end!: (j: Job) => void;
    const ended = new Promise<Job>((resolve) => (end = resolve));
    const ipc = fakeIpc({
      clustersList: () => Promise.resolve([{ id: "pg", kind: "patroni", name: "pg" }]),
      // The manager reports the old primary twice more after the job ends.
      clusterShow: (_p, id) => Promise.resolve(topology(id, shows++ < 3 ? "a" : "b")),
      clusterStart: (_p, p, _r, _c, key) => {
        keys.push(key);
        return Promise.resolve({ preflight: p, job: job("s1", "queued", { kind: "cluster.switchover", target: "cluster:pg" }) });
      },
      jobWatch: () => ended,
    });
    const store = new Clusters(ipc, new Jobs(ipc, testChannels([])), 1);
    await store.load("ops");
    const queued = await store.start(preflight, { candidate: "b" }, null, "key-1");
    expect(queued.id).toBe("s1");
    expect(keys).toEqual(["key-1"]);
    end(job("s1", "succeeded", { kind: "cluster.switchover", result: { rto_seconds: 3.5, new_primary: "b" } }));
    await vi.waitFor(() => expect(store.topology?.primary).toBe("b"));
    expect(store.jobOf("pg")?.state).toBe("succeeded");
    expect(shows).toBe(4);
  });
});
