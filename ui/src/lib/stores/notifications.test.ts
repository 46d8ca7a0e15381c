import { describe, expect, it } from "vitest";

import type { IpcError, NotifySettings, OpenAlert } from "../../generated/bindings";
import { fakeIpc } from "../testdata";
import { hhmm, Notifications } from "./notifications.svelte";

const defaults: NotifySettings = { enabled: true, severity: "warning", quiet_hours: null };

describe("Notifications store", () => {
  it("loads the settings and keeps what the backend saved", async () => {
    const saved: NotifySettings[] = [];
    const store = new Notifications(
      fakeIpc({
        notifySettings: () => Promise.resolve(defaults),
        notifySettingsSet: (settings) => {
          saved.push(settings);
          return Promise.resolve(settings);
        },
      }),
    );
    await store.load();
    expect(store.settings).toEqual(defaults);
    const night: NotifySettings = {
      enabled: true,
      severity: "critical",
      quiet_hours: { start: "22:00:00", end: "07:00:00" },
    };
    await store.save(night);
    expect(saved).toEqual([night]);
    expect(store.settings).toEqual(night);
    expect(store.saving).toBe(false);
  });

  it("keeps the old settings and shows why when saving is refused", async () => {
    const refused: IpcError = {
      code: "invalid_input",
      message: "quiet_hours: start and end are the same time",
      details: [{ field: "quiet_hours", message: "start and end are the same time" }],
      remedy: null,
    };
    const store = new Notifications(
      fakeIpc({
        notifySettings: () => Promise.resolve(defaults),
        notifySettingsSet: () => Promise.reject(refused),
      }),
    );
    await store.load();
    await expect(
      store.save({ ...defaults, quiet_hours: { start: "10:00:00", end: "10:00:00" } }),
    ).rejects.toMatchObject({ code: "invalid_input" });
    expect(store.settings).toEqual(defaults);
    expect(store.error?.details[0]?.field).toBe("quiet_hours");
  });

  it("hands each clicked alert to the window", async () => {
    let deliver: ((alert: OpenAlert) => void) | null = null;
    const store = new Notifications(fakeIpc({ notifyClicks: () => Promise.resolve(null) }), (onmessage) => {
      deliver = onmessage;
      return {} as never;
    });
    const opened: OpenAlert[] = [];
    await store.listen((alert) => opened.push(alert));
    const click = { profile: "ops", fingerprint: "abc123" };
    (deliver as ((alert: OpenAlert) => void) | null)?.(click);
    expect(opened).toEqual([click]);
  });

  it("shows times as hours and minutes", () => {
    expect(hhmm("22:00:00")).toBe("22:00");
  });
});
