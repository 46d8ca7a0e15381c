import { describe, expect, it } from "vitest";

import type { PageCursor, TenantFilter, TenantsPage } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { fakeIpc, row } from "../testdata";
import { PAGE_SIZE, Tenants } from "./tenants.svelte";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function page(profile: string, slugs: string[], next: string | null = null): TenantsPage {
  return {
    profile,
    tier: "dev",
    read_only: false,
    tenants: slugs.map((s) => row(s)),
    next: next === null ? null : { server: `c-${next}`, after: next },
    fetched_at: "2024-01-01T00:00:00Z",
    stale: null,
  };
}

type Call = {
  profile: string | null;
  filter: TenantFilter;
  cursor: PageCursor | null;
  limit: number;
  answer: ReturnType<typeof deferred<TenantsPage>>;
};

/** A store whose every page request waits for the test to answer it. */
function held(): { store: Tenants; calls: Call[] } {
  const calls: Call[] = [];
  const ipc: Ipc = fakeIpc({
    tenantsPage: (profile, filter, cursor, limit) => {
      const answer = deferred<TenantsPage>();
      calls.push({ profile, filter, cursor, limit, answer });
      return answer.promise;
    },
  });
  return { store: new Tenants(ipc), calls };
}

const filter = (over: Partial<TenantFilter>): TenantFilter => ({ status: null, plan: null, search: "", labels: [], ...over });
const slugs = (store: Tenants) => store.rows.map((t) => t.slug);

describe("Tenants store", () => {
  it("asks for the first page, then the next from its cursor, and appends it", async () => {
    const { store, calls } = held();
    const first = store.load("dev");
    expect(calls[0]).toMatchObject({ profile: "dev", cursor: null, limit: PAGE_SIZE });
    calls[0]!.answer.resolve(page("dev", ["a", "b"], "b"));
    await first;
    expect(store.more).toBe(true);
    const more = store.loadMore();
    expect(calls[1]?.cursor).toEqual({ server: "c-b", after: "b" });
    calls[1]!.answer.resolve(page("dev", ["c"]));
    await more;
    expect(slugs(store)).toEqual(["a", "b", "c"]);
    expect(store.more).toBe(false);
    await store.loadMore();
    expect(calls).toHaveLength(2);
  });

  it("keeps one request in flight: more pages asked for meanwhile are not sent", async () => {
    const { store, calls } = held();
    const first = store.load("dev");
    void store.loadMore();
    void store.refresh();
    expect(calls).toHaveLength(1);
    calls[0]!.answer.resolve(page("dev", ["a"], "a"));
    await first;
    const more = store.loadMore();
    void store.loadMore();
    void store.loadMore();
    void store.refresh();
    expect(calls).toHaveLength(2);
    calls[1]!.answer.resolve(page("dev", ["b"], "b"));
    await more;
    void store.loadMore();
    expect(calls).toHaveLength(3);
  });

  it("a new filter starts again from the first page and drops what the old one still had coming", async () => {
    const { store, calls } = held();
    const first = store.load("dev");
    calls[0]!.answer.resolve(page("dev", ["a", "b"], "b"));
    await first;
    const more = store.loadMore();
    const searched = store.filter(filter({ search: "zeta" }));
    expect(calls[2]).toMatchObject({ cursor: null, filter: { search: "zeta" } });
    calls[2]!.answer.resolve(page("dev", ["zeta-1"], "zeta-1"));
    await searched;
    // The old filter's next page arrives late: it is not appended.
    calls[1]!.answer.resolve(page("dev", ["c", "d"]));
    await more;
    expect(slugs(store)).toEqual(["zeta-1"]);
    expect(store.filtered).toBe(true);
    // And the new filter can page on at once.
    void store.loadMore();
    expect(calls[3]).toMatchObject({ cursor: { after: "zeta-1" }, filter: { search: "zeta" } });
  });

  it("drops a first page answered after a newer search was typed", async () => {
    const { store, calls } = held();
    const first = store.load("dev");
    calls[0]!.answer.resolve(page("dev", ["a"]));
    await first;
    const older = store.filter(filter({ search: "ac" }));
    const newer = store.filter(filter({ search: "acme" }));
    calls[2]!.answer.resolve(page("dev", ["acme"]));
    await newer;
    calls[1]!.answer.resolve(page("dev", ["acorn", "acme"]));
    await older;
    expect(slugs(store)).toEqual(["acme"]);
    expect(store.loading).toBe(false);
  });

  it("drops the old profile's rows as soon as another profile is asked for", async () => {
    const { store, calls } = held();
    const dev = store.load("dev");
    calls[0]!.answer.resolve(page("dev", ["d1"]));
    await dev;
    const prod = store.load("prod");
    expect(store.view).toBeNull();
    calls[1]!.answer.resolve(page("prod", ["p1"]));
    await prod;
    expect(store.view?.profile).toBe("prod");
  });

  it("a refresh replaces the first page's rows and keeps those loaded after it, and the cursor", async () => {
    const { store, calls } = held();
    const first = store.load("dev");
    calls[0]!.answer.resolve(page("dev", ["a", "b"], "b"));
    await first;
    const more = store.loadMore();
    calls[1]!.answer.resolve(page("dev", ["c", "d"], "d"));
    await more;
    const refreshed = store.refresh();
    // `b` was deleted, `bb` created: the first page now ends at `c`.
    calls[2]!.answer.resolve(page("dev", ["a", "bb"], "bb"));
    await refreshed;
    expect(slugs(store)).toEqual(["a", "bb", "c", "d"]);
    void store.loadMore();
    expect(calls[3]?.cursor).toEqual({ server: "c-d", after: "d" });
  });

  it("keeps the rows and records the error when a page fails", async () => {
    const { store, calls } = held();
    const first = store.load("dev");
    calls[0]!.answer.resolve(page("dev", ["a", "b"], "b"));
    await first;
    const more = store.loadMore();
    calls[1]!.answer.reject({ code: "offline", message: "cannot reach the server", details: [], remedy: null });
    await more;
    expect(slugs(store)).toEqual(["a", "b"]);
    expect(store.error?.code).toBe("offline");
    expect(store.loadingMore).toBe(false);
  });

  it("says at the label box why core cannot read a label filter, and shows no rows", async () => {
    const { store, calls } = held();
    const first = store.load("dev");
    calls[0]!.answer.resolve(page("dev", ["a"]));
    await first;
    const labelled = store.filter(filter({ labels: ["=x"] }));
    calls[1]!.answer.reject({
      code: "validation_failed",
      message: "invalid",
      details: [{ field: "label", message: "a label filter needs a key" }],
      remedy: null,
    });
    await labelled;
    expect(store.labelFilterError).toMatch(/needs a key/);
    expect(store.rows).toEqual([]);
    expect(store.error).toBeNull();
  });

  it("applies a created tenant at its place by slug, and a page holding it again does not repeat it", async () => {
    const { store, calls } = held();
    const first = store.load("dev");
    calls[0]!.answer.resolve(page("dev", ["a", "c"], "c"));
    await first;
    store.apply(row("b"));
    store.apply(row("z"));
    expect(slugs(store)).toEqual(["a", "b", "c", "z"]);
    const more = store.loadMore();
    calls[1]!.answer.resolve(page("dev", ["d", "z"]));
    await more;
    expect(slugs(store)).toEqual(["a", "b", "c", "d", "z"]);
    store.drop("a");
    expect(slugs(store)).toEqual(["b", "c", "d", "z"]);
  });

  it("keeps the rows loaded when the same filter is set again, as when the view is shown anew", async () => {
    const { store, calls } = held();
    const first = store.load("dev");
    calls[0]!.answer.resolve(page("dev", ["a"], "a"));
    await first;
    await store.filter(filter({ search: "  " }));
    expect(calls).toHaveLength(1);
    const searched = store.filter(filter({ search: "acme" }));
    calls[1]!.answer.resolve(page("dev", ["acme"]));
    await searched;
    await store.filter(filter({ search: "acme" }));
    expect(calls).toHaveLength(2);
    expect(slugs(store)).toEqual(["acme"]);
  });
});
