import { describe, expect, it } from "vitest";

import type { IpcError, SilencePreflight } from "../../generated/bindings";
import { fakeIpc } from "../testdata";
import { firingText, matchersFromLabels, SilenceForm } from "./silence.svelte";

function preflight(firing: number, confirm: string | null = null): SilencePreflight {
  return { target: "DiskFilling", noun: "alert name", summary: "Mute every alert matching …", confirm_text: confirm, firing };
}

describe("matchersFromLabels", () => {
  it("starts from every label, alertname first, values quoted and escaped", () => {
    expect(matchersFromLabels({ severity: "critical", instance: 'db "2"', alertname: "DiskFilling" })).toBe(
      'alertname="DiskFilling", instance="db \\"2\\"", severity="critical"',
    );
  });
});

describe("firingText", () => {
  it("counts in words", () => {
    expect(firingText(0)).toBe("Matches no firing alert now");
    expect(firingText(1)).toBe("Matches 1 firing alert now");
    expect(firingText(4)).toBe("Matches 4 firing alerts now");
  });
});

describe("SilenceForm", () => {
  it("asks core for the matchers as edited, and the newest answer wins", async () => {
    const asked: string[][] = [];
    const answers: ((p: SilencePreflight) => void)[] = [];
    const form = new SilenceForm(
      fakeIpc({
        alertsSilencePreflight: (_profile, matchers) => {
          asked.push(matchers);
          return new Promise((resolve) => answers.push(resolve));
        },
      }),
      "ops",
      { alertname: "DiskFilling", instance: "db-2" },
    );
    const first = form.check();
    form.matchers = 'alertname="DiskFilling"';
    const second = form.check();
    answers[1]?.(preflight(3));
    answers[0]?.(preflight(1));
    await Promise.all([first, second]);
    expect(asked).toEqual([['alertname="DiskFilling"', 'instance="db-2"'], ['alertname="DiskFilling"']]);
    expect(form.preflight?.firing).toBe(3);
  });

  it("shows core's refusal of a matcher and cannot be sent", async () => {
    const refused: IpcError = { code: "invalid_input", message: "matchers: `x` is not label=value", details: [], remedy: null };
    const form = new SilenceForm(fakeIpc({ alertsSilencePreflight: () => Promise.reject(refused) }), "ops", {});
    form.comment = "disk swap";
    await form.check();
    expect(form.checkError?.code).toBe("invalid_input");
    expect(form.ready).toBe(false);
    expect(await form.submit()).toBeNull();
  });

  it("needs a comment, and on production the alert name typed exactly, then sends it as the confirmation", async () => {
    const sent: unknown[][] = [];
    const form = new SilenceForm(
      fakeIpc({
        alertsSilencePreflight: () => Promise.resolve(preflight(2, "DiskFilling")),
        alertsSilence: (...args) => {
          sent.push(args);
          return Promise.resolve("5e4b9f8e-0000-4000-8000-000000000001");
        },
      }),
      "prod-eu",
      { alertname: "DiskFilling" },
    );
    await form.check();
    expect(form.ready).toBe(false);
    form.comment = "replacing the disk";
    expect(form.ready).toBe(false);
    form.typed = "diskfilling";
    expect(form.ready).toBe(false);
    form.typed = "DiskFilling";
    expect(form.ready).toBe(true);
    form.duration = "4h";
    form.untilResolved = true;
    expect(await form.submit()).toBe("5e4b9f8e-0000-4000-8000-000000000001");
    expect(sent).toEqual([["prod-eu", ['alertname="DiskFilling"'], "4h", "replacing the disk", true, "DiskFilling"]]);
  });

  it("sends no confirmation where core asks none, and keeps the refusal to show", async () => {
    const sent: unknown[] = [];
    const down: IpcError = { code: "unreachable", message: "no Alertmanager answered", details: [], remedy: null };
    const form = new SilenceForm(
      fakeIpc({
        alertsSilencePreflight: () => Promise.resolve(preflight(1)),
        alertsSilence: (_p, _m, _d, _c, _u, confirmation) => {
          sent.push(confirmation);
          return Promise.reject(down);
        },
      }),
      "ops",
      { alertname: "DiskFilling" },
    );
    await form.check();
    form.comment = "noise";
    form.typed = "ignored";
    expect(await form.submit()).toBeNull();
    expect(sent).toEqual([null]);
    expect(form.sendError?.message).toBe("no Alertmanager answered");
    expect(form.busy).toBe(false);
  });
});
