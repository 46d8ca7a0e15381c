import { describe, expect, it, vi } from "vitest";

import type { Channel } from "@tauri-apps/api/core";

import type { ProfileEntry, WindowProfiles } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { fakeIpc } from "../testdata";
import { goneMessage, Profiles } from "./profiles.svelte";

function entry(name: string, tier: ProfileEntry["tier"] = "dev"): ProfileEntry {
  return { name, tier, admin_url: "http://127.0.0.1:1", prometheus_url: null, alertmanager_urls: [], read_only: false, has_token: true };
}

function answer(current: string | null, names: string[], gone: string | null = null): WindowProfiles {
  return { current, profiles: names.map((n) => entry(n)), gone };
}

/** A store over `answers` (one per list call, the last repeated), with the notices it gave. */
function newStore(answers: WindowProfiles[], over: Partial<Ipc> = {}) {
  const notices: string[] = [];
  const watchers: Array<() => void> = [];
  let calls = 0;
  const ipc = fakeIpc({
    profilesList: () => Promise.resolve(answers[Math.min(calls++, answers.length - 1)]!),
    ...over,
  });
  const store = new Profiles(
    ipc,
    (m) => notices.push(m),
    (onmessage) => {
      watchers.push(onmessage);
      return {} as Channel<null>;
    },
  );
  return { store, notices, watchers, calls: () => calls };
}

describe("Profiles store", () => {
  it("says once that the window's profile went, and where the window is now", async () => {
    const { store, notices } = newStore([answer("staging", ["staging"], "prod-eu"), answer("staging", ["staging"])]);
    await store.load();
    expect(store.current?.name).toBe("staging");
    expect(notices).toEqual([goneMessage("prod-eu", "staging")]);
    expect(notices[0]).toContain("prod-eu");
    expect(notices[0]).toContain("now on staging");
    await store.load();
    expect(notices).toHaveLength(1);
  });

  it("asks for a profile when core found no fallback", () => {
    expect(goneMessage("prod-eu", null)).toContain("choose a profile");
  });

  it("gives no notice for a profile this window removed itself", async () => {
    const { store, notices } = newStore([answer("a", ["a", "b"]), answer(null, ["b"], "a")], {
      profileRemove: () => Promise.resolve(null),
    });
    await store.load();
    await store.remove("a");
    expect(store.list?.profiles.map((p) => p.name)).toEqual(["b"]);
    expect(notices).toEqual([]);
  });

  it("reads the list again whenever core's watch reports a change", async () => {
    const { store, watchers, calls } = newStore([answer("a", ["a"]), answer("a", ["a", "added-by-cli"])], {
      profilesWatch: () => Promise.resolve(null),
    });
    await store.load();
    await store.watch();
    expect(watchers).toHaveLength(1);
    watchers[0]!();
    await vi.waitFor(() => expect(store.list?.profiles.length).toBe(2));
    expect(calls()).toBe(2);
    expect(store.current?.name).toBe("a");
  });

  it("shows the answer of the latest load when loads overlap", async () => {
    const pending: Array<(v: WindowProfiles) => void> = [];
    const store = new Profiles(
      fakeIpc({ profilesList: () => new Promise<WindowProfiles>((resolve) => pending.push(resolve)) }),
    );
    const first = store.load();
    const second = store.load();
    pending[1]!(answer("new", ["new"]));
    pending[0]!(answer("old", ["old"]));
    await Promise.all([first, second]);
    expect(store.list?.current).toBe("new");
    expect(store.loading).toBe(false);
  });
});
