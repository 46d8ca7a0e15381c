import { describe, expect, it } from "vitest";

import type { Alert, IpcError, Merged, Silence } from "../../generated/bindings";
import { fakeIpc } from "../testdata";
import { Alerts } from "./alerts.svelte";

function merged<T>(profile: string, items: T[]): Merged<T> {
  return { profile, tier: "dev", items, answered: ["http://127.0.0.1:9093"], unreachable: [], fetched_at: "2026-01-01T00:00:00Z" };
}

const noAlertmanager: IpcError = {
  code: "no_alertmanager",
  message: "profile bare names no Alertmanager",
  details: [],
  remedy: null,
};

describe("Alerts store", () => {
  it("acknowledges once however often it is clicked, reads the alerts again, and rejects with core's error", async () => {
    const sent: unknown[][] = [];
    let lists = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const refused: IpcError = { code: "read_only_profile", message: "profile ops is read-only: nothing was changed", details: [], remedy: null };
    const store = new Alerts(
      fakeIpc({
        alertsList: () => {
          lists++;
          return Promise.resolve(merged<Alert>("ops", []));
        },
        alertsSilences: () => Promise.resolve(merged<Silence>("ops", [])),
        alertsAcknowledge: async (...args) => {
          sent.push(args);
          await held;
          return "ack-1";
        },
        alertsWithdraw: () => Promise.reject(refused),
      }),
    );
    await store.load("ops");
    const first = store.acknowledge("a1b2", "on it", "1h");
    const second = store.acknowledge("a1b2", "on it", "1h");
    expect(store.acking).toBe(true);
    release();
    await Promise.all([first, second]);
    expect(sent).toEqual([["ops", "a1b2", "on it", "1h"]]);
    expect(lists).toBe(2);
    expect(store.acking).toBe(false);
    await expect(store.withdraw("ack-1")).rejects.toMatchObject({ code: "read_only_profile" });
    expect(store.acking).toBe(false);
  });

  it("sends the filter box as matchers and keeps the alerts when silences fail", async () => {
    const asked: string[][] = [];
    const store = new Alerts(
      fakeIpc({
        alertsList: (_profile, matchers) => {
          asked.push(matchers);
          return Promise.resolve(merged<Alert>("ops", []));
        },
        alertsSilences: () => Promise.reject(new Error("down")),
      }),
    );
    await store.load("ops");
    store.filter = 'severity=critical, job=~"a,b"';
    await store.refresh();
    expect(asked).toEqual([[], ["severity=critical", 'job=~"a,b"']]);
    expect(store.view?.profile).toBe("ops");
    expect(store.error).toBeNull();
    expect(store.silences).toEqual([]);
  });

  it("drops another profile's alerts and filter, and shows why there are none", async () => {
    const silence = { id: "s-1" } as Silence;
    const store = new Alerts(
      fakeIpc({
        alertsList: (profile) => (profile === "ops" ? Promise.resolve(merged<Alert>("ops", [])) : Promise.reject(noAlertmanager)),
        alertsSilences: (profile) => (profile === "ops" ? Promise.resolve(merged("ops", [silence])) : Promise.reject(noAlertmanager)),
      }),
    );
    await store.load("ops");
    store.filter = "severity=critical";
    store.selected = "abc";
    await store.load("bare");
    expect(store.view).toBeNull();
    expect(store.filter).toBe("");
    expect(store.selected).toBeNull();
    expect(store.silences).toEqual([]);
    expect(store.error?.code).toBe("no_alertmanager");
  });

  it("ignores an answer that comes after a newer request", async () => {
    let release: (v: Merged<Alert>) => void = () => {};
    const slow = new Promise<Merged<Alert>>((resolve) => (release = resolve));
    const store = new Alerts(
      fakeIpc({
        alertsList: (profile) => (profile === "old" ? slow : Promise.resolve(merged<Alert>("new", []))),
        alertsSilences: (profile) => Promise.resolve(merged<Silence>(profile ?? "", [])),
      }),
    );
    const first = store.load("old");
    await store.load("new");
    release(merged<Alert>("old", []));
    await first;
    expect(store.view?.profile).toBe("new");
  });

  it("keeps a clicked notification's alert chosen through the load that follows", async () => {
    const alert = { fingerprint: "abc123", labels: { alertname: "Disk" } } as unknown as Alert;
    const store = new Alerts(
      fakeIpc({
        alertsList: (profile) => Promise.resolve(merged<Alert>(profile ?? "", [alert])),
        alertsSilences: (profile) => Promise.resolve(merged<Silence>(profile ?? "", [])),
      }),
    );
    await store.load("staging");
    store.filter = "job=api";
    store.focus("ops", "abc123");
    expect(store.filter).toBe("");
    await store.load("ops");
    expect(store.selected).toBe("abc123");
    expect(store.selectedAlert?.fingerprint).toBe("abc123");
  });
});
