import { describe, expect, it } from "vitest";

import type { Ipc } from "../../ipc";
import type { DecodedTenants } from "../decode";
import { tenant } from "../testdata";
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

function answer(profile: string, slugs: string[]): DecodedTenants {
  return {
    view: { profile, tier: "dev", tenants: slugs.map((s) => tenant(s)), fetched_at: "2024-01-01T00:00:00Z", stale: null },
    unreadable: [],
  };
}

function fakeIpc(tenantsList: Ipc["tenantsList"]): Ipc {
  const no = () => Promise.reject(new Error("not used"));
  return {
    profilesList: no,
    profileAdd: no,
    profileUse: no,
    profileRemove: no,
    tenantsList,
    tenantCreate: no,
    tenantUpdate: no,
    tenantUpdatePreflight: no,
    tenantPreflight: no,
    tenantAction: no,
  };
}

describe("Tenants store", () => {
  it("ignores an answer that arrives after a newer request", async () => {
    const calls: Array<ReturnType<typeof deferred<DecodedTenants>>> = [];
    const store = new Tenants(
      fakeIpc(() => {
        const d = deferred<DecodedTenants>();
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
    const pending = deferred<DecodedTenants>();
    let n = 0;
    const store = new Tenants(fakeIpc(() => (n++ === 0 ? Promise.resolve(answer("dev", ["d1"])) : pending.promise)));
    await store.load("dev");
    expect(store.view?.tenants).toHaveLength(1);
    void store.load("prod");
    expect(store.view).toBeNull();
  });

  it("keeps the last list and records the error when a refresh fails", async () => {
    let fail = false;
    const store = new Tenants(
      fakeIpc(() =>
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
    const pending = deferred<DecodedTenants>();
    const store = new Tenants(
      fakeIpc(() => {
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
    const store = new Tenants(fakeIpc(() => Promise.resolve(answer("dev", ["a"]))));
    await store.load("dev");
    store.apply(tenant("b"));
    expect(store.view?.tenants.map((t) => t.slug)).toEqual(["a", "b"]);
    store.drop("a");
    expect(store.view?.tenants.map((t) => t.slug)).toEqual(["b"]);
  });
});
