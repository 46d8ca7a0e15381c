import { describe, expect, it } from "vitest";

import type { LibraryView, PlaybookRun, RunStep } from "../../generated/bindings";
import { fakeIpc } from "../testdata";
import { currentStep, given, inputsFromLabels, isGoing, Playbooks, timeline } from "./playbooks.svelte";

const library: LibraryView = {
  dir: "/home/ann/.config/opsdeck/playbooks",
  entries: [
    {
      id: "high-error-rate",
      title: "High error rate",
      severity: "P2",
      source: "built-in",
      file: "builtin:high-error-rate.yaml",
      suggested_by: ["HighErrorRate"],
      inputs: [
        { name: "tenant", kind: "string", value: "acme", description: null },
        { name: "threshold", kind: "number", value: "0.01", description: "The error rate to get under" },
      ],
    },
  ],
  notes: [],
};

function step(id: string, state: RunStep["state"], over: Partial<RunStep> = {}): RunStep {
  return { id, kind: "manual", summary: id, on_failure: "abort", state, attempt: 1, checklist: [], ...over };
}

function run(id: string, state: PlaybookRun["state"], over: Partial<PlaybookRun> = {}): PlaybookRun {
  return {
    id,
    playbook: "high-error-rate",
    title: "High error rate",
    state,
    current_step: "look",
    started_by: "ann@example.com",
    created_at: "2026-11-25T03:00:00Z",
    updated_at: "2026-11-25T03:00:00Z",
    inputs: {},
    steps: [step("look", "waiting", { checklist: [{ text: "Read the logs", ticked: false }] }), step("suspend", "pending", { kind: "action" })],
    approvals: [],
    events: [
      { seq: 2, at: "2026-11-25T03:00:02Z", actor: "platform-admin", kind: "step_waiting", message: "waits on look" },
      { seq: 1, at: "2026-11-25T03:00:01Z", actor: "ann@example.com", kind: "started", message: "started" },
    ],
    ...over,
  };
}

describe("Playbooks store", () => {
  it("starts a chosen playbook's inputs at their defaults and plans again with what was typed", async () => {
    const asked: Record<string, string>[] = [];
    const store = new Playbooks(
      fakeIpc({
        playbooksLibrary: () => Promise.resolve(library),
        playbookRuns: () => Promise.resolve({ items: [] }),
        playbookDryRun: (_p, _id, inputs) => {
          asked.push(inputs);
          return Promise.resolve({ playbook: "high-error-rate", title: "", severity: "P2", inputs: [], steps: [], refused: [], unchecked: null });
        },
      }),
    );
    await store.load("ops");
    await store.choose("high-error-rate");
    expect(store.inputs).toEqual({ tenant: "acme", threshold: "0.01" });
    store.inputs.tenant = "globex";
    store.inputs.threshold = " ";
    await store.plan();
    expect(asked.at(-1)).toEqual({ tenant: "globex" });
  });

  it("shows a started run and puts it first in the list", async () => {
    const started = run("r2", "running");
    const store = new Playbooks(
      fakeIpc({
        playbooksLibrary: () => Promise.resolve(library),
        playbookRuns: () => Promise.resolve({ items: [run("r1", "succeeded")] }),
        playbookRunStart: (_p, id, inputs, incident) => {
          expect([id, inputs, incident]).toEqual(["high-error-rate", { tenant: "acme" }, "inc-1"]);
          return Promise.resolve(started);
        },
      }),
    );
    await store.load("ops");
    await store.start("high-error-rate", { tenant: "acme", threshold: "" }, "inc-1");
    expect(store.selectedRun).toBe("r2");
    expect(store.runs.map((r) => r.id)).toEqual(["r2", "r1"]);
    expect(store.going).toBe(true);
  });

  it("ticks one item of the waiting step and then marks it done, showing the run the server answers", async () => {
    const calls: [string, number[], boolean][] = [];
    const store = new Playbooks(
      fakeIpc({
        playbooksLibrary: () => Promise.resolve(library),
        playbookRuns: () => Promise.resolve({ items: [run("r1", "waiting")] }),
        playbookRunGet: () => Promise.resolve(run("r1", "waiting")),
        playbookRunTick: (_p, _id, stepId, items, done) => {
          calls.push([stepId, items, done]);
          return Promise.resolve(run("r1", done ? "running" : "waiting"));
        },
      }),
    );
    await store.load("ops");
    await store.selectRun("r1");
    await store.tick("look", 0);
    await store.done("look");
    expect(calls).toEqual([
      ["look", [0], false],
      ["look", [], true],
    ]);
    expect(store.run?.state).toBe("running");
    expect(store.runs[0]?.state).toBe("running");
  });

  it("keeps a slow read of a run from overwriting what an action answered after it", async () => {
    let answer: (r: PlaybookRun) => void = () => {};
    const store = new Playbooks(
      fakeIpc({
        playbooksLibrary: () => Promise.resolve(library),
        playbookRuns: () => Promise.resolve({ items: [] }),
        playbookRunGet: () => new Promise((resolve) => (answer = resolve)),
        playbookRunApprove: () => Promise.resolve(run("r1", "running", { current_step: "suspend" })),
      }),
    );
    await store.load("ops");
    const selecting = store.selectRun("r1");
    answer(run("r1", "waiting"));
    await selecting;
    const polling = store.poll();
    await store.approve();
    answer(run("r1", "waiting"));
    await polling;
    expect(store.run?.state).toBe("running");
  });
});

describe("approvals inbox", () => {
  it("counts the runs waiting on an approval, not those waiting on a manual step", async () => {
    const approval = run("r2", "waiting", {
      current_step: "ok",
      waiting: { step: "ok", kind: "approval", role: "incident-commander", reason: "suspends a tenant", following: ["Suspend acme"] },
    });
    const manual = run("r1", "waiting", { waiting: { step: "look", kind: "manual", following: [] } });
    const read: string[] = [];
    const store = new Playbooks(
      fakeIpc({
        playbookRuns: () => Promise.resolve({ items: [approval, manual, run("r0", "succeeded")] }),
        playbookRunGet: (_p, id) => {
          read.push(id);
          return Promise.resolve(id === "r2" ? approval : manual);
        },
      }),
    );
    expect(await store.loadInbox("ops")).toBe(1);
    expect(store.inbox.map((r) => r.id)).toEqual(["r2"]);
    expect(read.sort()).toEqual(["r1", "r2"]);
  });

  it("leaves out the approvals the server says this reader may not give", async () => {
    const waiting = { step: "ok", kind: "approval", role: "incident-commander", following: [] };
    const mine = run("r3", "waiting", { waiting: { ...waiting, may_approve: true } });
    const theirs = run("r4", "waiting", { waiting: { ...waiting, may_approve: false, why_not: "ops started this run" } });
    const store = new Playbooks(
      fakeIpc({
        playbookRuns: () => Promise.resolve({ items: [mine, theirs] }),
        playbookRunGet: (_p, id) => Promise.resolve(id === "r3" ? mine : theirs),
      }),
    );
    expect(await store.loadInbox("ops")).toBe(1);
    expect(store.inbox.map((r) => r.id)).toEqual(["r3"]);
  });

  it("fills a playbook's inputs from the alert's labels of the same name", () => {
    const entry = library.entries[0];
    if (!entry) throw new Error("a library entry");
    expect(inputsFromLabels(entry, { tenant: "acme", alertname: "HighErrorRate" })).toEqual({ tenant: "acme" });
  });
});

describe("run helpers", () => {
  it("orders the timeline by sequence, finds the current step and says what still changes", () => {
    const r = run("r1", "waiting");
    expect(timeline(r).map((e) => e.seq)).toEqual([1, 2]);
    expect(currentStep(r)?.id).toBe("look");
    expect(isGoing(r)).toBe(true);
    expect(isGoing({ state: "failed" })).toBe(false);
    expect(given({ a: " x ", b: "", c: undefined })).toEqual({ a: "x" });
  });
});
