import { describe, expect, it } from "vitest";

import type { Channel } from "@tauri-apps/api/core";

import type { Progress, TenantsView } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { fakeIpc, row } from "../testdata";
import { Tenants } from "./tenants.svelte";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function answer(profile: string, slugs: string[]): TenantsView {
  return { profile, tier: "dev", read_only: false, tenants: slugs.map((s) => row(s)), fetched_at: "2024-01-01T00:00:00Z", stale: null };
}

const withList = (tenantsList: Ipc["tenantsList"]): Ipc => fakeIpc({ tenantsList });

/** A store whose progress channels are plain objects the test can feed. */
function newStore(ipc: Ipc, feeds: Array<(p: Progress) => void> = []): Tenants {
  return new Tenants(ipc, (onmessage) => {
    feeds.push(onmessage);
    return {} as Channel<Progress>;
  });
}

describe("Tenants store", () => {
  it("ignores an answer that arrives after a newer request", async () => {
    const calls: Array<ReturnType<typeof deferred<TenantsView>>> = [];
    const store = newStore(
      withList(() => {
        const d = deferred<TenantsView>();
        calls.push(d);
        return d.promise;
      }),
    );
    const first = store.load("dev");
    const second = store.load("prod");
    calls[1]!.resolve(answer("prod", ["p1"]));
    await second;
    calls[0]!.resolve(answer("dev", ["d1"]));
    await first;
    expect(store.view?.profile).toBe("prod");
    expect(store.loading).toBe(false);
  });

  it("drops the old profile's list as soon as another profile is asked for", async () => {
    const pending = deferred<TenantsView>();
    let n = 0;
    const store = newStore(withList(() => (n++ === 0 ? Promise.resolve(answer("dev", ["d1"])) : pending.promise)));
    await store.load("dev");
    expect(store.view?.tenants).toHaveLength(1);
    void store.load("prod");
    expect(store.view).toBeNull();
  });

  it("keeps the last list and records the error when a refresh fails", async () => {
    let fail = false;
    const store = newStore(
      withList(() =>
        fail
          ? Promise.reject({ code: "unauthorized", message: "token rejected", details: [] })
          : Promise.resolve(answer("dev", ["a", "b"])),
      ),
    );
    await store.load("dev");
    fail = true;
    await store.refresh();
    expect(store.view?.tenants).toHaveLength(2);
    expect(store.error?.code).toBe("unauthorized");
  });

  it("does not start a second refresh while one is in flight", async () => {
    let calls = 0;
    const pending = deferred<TenantsView>();
    const store = newStore(
      withList(() => {
        calls++;
        return pending.promise;
      }),
    );
    void store.load("dev");
    void store.refresh();
    void store.refresh();
    expect(calls).toBe(1);
    pending.resolve(answer("dev", []));
  });

  it("applies a created tenant and drops a deleted one without a reload", async () => {
    const store = newStore(withList(() => Promise.resolve(answer("dev", ["a"]))));
    await store.load("dev");
    await store.apply(row("b"));
    expect(store.view?.tenants.map((t) => t.slug)).toEqual(["a", "b"]);
    store.drop("a");
    expect(store.view?.tenants.map((t) => t.slug)).toEqual(["b"]);
  });

  it("shows the rows core says the filter lets through, and all of them without a filter", async () => {
    const asked: unknown[] = [];
    const store = newStore(
      fakeIpc({
        tenantsList: () => Promise.resolve(answer("dev", ["acme", "globex", "initech"])),
        tenantsMatching: (_profile, filter) => {
          asked.push(filter);
          return Promise.resolve(["id-globex"]);
        },
      }),
    );
    await store.load("dev");
    expect(store.rows).toHaveLength(3);
    await store.filter({ status: null, plan: null, search: "glob" });
    expect(store.rows.map((t) => t.slug)).toEqual(["globex"]);
    expect(store.shows("id-acme")).toBe(false);
    await store.filter({ status: null, plan: null, search: "  " });
    expect(store.rows).toHaveLength(3);
    expect(asked).toHaveLength(1);
  });

  it("shows a label filter core cannot read at the label box, matching nothing until corrected", async () => {
    const asked: unknown[] = [];
    const store = newStore(
      fakeIpc({
        tenantsList: () => Promise.resolve(answer("dev", ["acme", "globex"])),
        tenantsMatching: (_profile, filter) => {
          asked.push(filter);
          if (filter.labels?.includes("Env")) {
            return Promise.reject({
              code: "invalid_input",
              message: "invalid `label`",
              details: [{ field: "label", message: "`Env`: a label key must start with a lowercase letter or a digit" }],
              remedy: null,
            });
          }
          return Promise.resolve(["id-acme"]);
        },
      }),
    );
    await store.load("dev");
    await store.filter({ status: null, plan: null, search: "", labels: ["Env"] });
    expect(store.labelFilterError).toBe("“Env”: a label key must start with a lowercase letter or a digit.");
    expect(store.rows).toEqual([]);
    expect(store.error).toBeNull();
    await store.filter({ status: null, plan: null, search: "", labels: ["env=prod"] });
    expect(store.labelFilterError).toBeNull();
    expect(store.rows.map((t) => t.slug)).toEqual(["acme"]);
    expect(asked).toEqual([
      { status: null, plan: null, search: "", labels: ["Env"] },
      { status: null, plan: null, search: "", labels: ["env=prod"] },
    ]);
  });

  it("asks core again after a refresh, before showing the new rows", async () => {
    let list = ["acme"];
    let matches = ["id-acme"];
    const store = newStore(
      fakeIpc({
        tenantsList: () => Promise.resolve(answer("dev", list)),
        tenantsMatching: () => Promise.resolve(matches),
      }),
    );
    await store.load("dev");
    await store.filter({ status: "active", plan: null, search: "" });
    list = ["acme", "acme-two"];
    matches = ["id-acme", "id-acme-two"];
    await store.refresh();
    expect(store.rows.map((t) => t.slug)).toEqual(["acme", "acme-two"]);
  });

  it("ignores a filter answer that arrives after a newer filter", async () => {
    const answers: Array<ReturnType<typeof deferred<string[]>>> = [];
    const store = newStore(
      fakeIpc({
        tenantsList: () => Promise.resolve(answer("dev", ["acme", "globex"])),
        tenantsMatching: () => {
          const d = deferred<string[]>();
          answers.push(d);
          return d.promise;
        },
      }),
    );
    await store.load("dev");
    const first = store.filter({ status: null, plan: null, search: "a" });
    const second = store.filter({ status: null, plan: null, search: "glob" });
    answers[1]!.resolve(["id-globex"]);
    await second;
    answers[0]!.resolve(["id-acme", "id-globex"]);
    await first;
    expect(store.rows.map((t) => t.slug)).toEqual(["globex"]);
  });

  it("shows core's progress while a list loads, and drops it when the list is in", async () => {
    const pending = deferred<TenantsView>();
    const feeds: Array<(p: Progress) => void> = [];
    const store = newStore(withList(() => pending.promise), feeds);
    const loading = store.load("dev");
    expect(feeds).toHaveLength(1);
    feeds[0]?.({ phase: "fetching tenants", done: 400, total: null, unit: "tenants" });
    expect(store.progress?.done).toBe(400);
    pending.resolve(answer("dev", ["a"]));
    await loading;
    expect(store.progress).toBeNull();
    expect(store.view?.tenants).toHaveLength(1);
  });
});
