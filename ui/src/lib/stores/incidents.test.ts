import { describe, expect, it } from "vitest";

import type { IncidentDetail, IncidentTarget } from "../../generated/bindings";
import { fakeIpc } from "../testdata";
import { Incidents, liveTarget, nextSteps, severityOfAlert, spanWords, targetWord } from "./incidents.svelte";

function detail(status: IncidentDetail["incident"]["status"] = "open"): IncidentDetail {
  return {
    incident: {
      id: "inc-1",
      title: "Checkout errors",
      severity: "P2",
      commander: "ann@example.com",
      status,
      opened_by: "ann@example.com",
      started_at: "2026-11-25T03:00:00Z",
    },
    timeline: [],
    targets: [],
    alerts: [],
    escalations: [],
    now: "2026-11-25T03:00:00Z",
  };
}

describe("incident targets", () => {
  const due: IncidentTarget = { kind: "acknowledge", seconds: 300, due_at: "2026-11-25T03:05:00Z", state: "running" };

  it("counts down to a target and calls it breached once it falls due unreached", () => {
    expect(liveTarget(due, Date.parse("2026-11-25T03:04:00Z"))).toEqual({ state: "running", left: 60 });
    expect(liveTarget(due, Date.parse("2026-11-25T03:06:30Z"))).toEqual({ state: "breached", left: -90 });
  });

  it("keeps the server's word on a reached target", () => {
    const met: IncidentTarget = { ...due, reached_at: "2026-11-25T03:01:00Z", state: "met" };
    expect(liveTarget(met, Date.parse("2026-11-25T04:00:00Z"))).toEqual({ state: "met", left: null });
  });

  it("says spans in words", () => {
    expect(spanWords(42)).toBe("42s");
    expect(targetWord("running")).toBe("due");
    expect(spanWords(-125)).toBe("2m 5s");
    expect(spanWords(3900)).toBe("1h 5m");
    expect(spanWords(90000)).toBe("1d 1h");
  });
});

describe("incident helpers", () => {
  it("offers the moves a status allows", () => {
    expect(nextSteps("open").map((s) => s.label)).toEqual(["Acknowledge", "Mitigate", "Resolve"]);
    expect(nextSteps("mitigated").map((s) => s.status)).toEqual(["resolved"]);
    expect(nextSteps("resolved")).toEqual([]);
  });

  it("reads an incident's severity from an alert's severity label", () => {
    expect(severityOfAlert({ severity: "critical" })).toBe("P1");
    expect(severityOfAlert({ severity: "Warning" })).toBe("P3");
    expect(severityOfAlert({ severity: "info" })).toBe("P4");
    expect(severityOfAlert({})).toBe("P4");
  });
});

describe("Incidents store", () => {
  it("opens an incident, chooses it and puts it first; a status move shows the server's answer", async () => {
    const store = new Incidents(
      fakeIpc({
        incidentsList: () => Promise.resolve({ items: [] }),
        maintenanceList: () => Promise.resolve({ items: [] }),
        incidentOpen: (_p, title, severity, commander) => {
          expect([title, severity, commander]).toEqual(["Checkout errors", "P2", null]);
          return Promise.resolve(detail());
        },
        incidentSetStatus: (_p, _id, status) => Promise.resolve(detail(status)),
      }),
    );
    await store.load("ops");
    await store.open("Checkout errors", "P2", "  ");
    expect(store.selected).toBe("inc-1");
    expect(store.items.map((i) => i.id)).toEqual(["inc-1"]);
    await store.setStatus("acknowledged");
    expect(store.detail?.incident.status).toBe("acknowledged");
    expect(store.items[0]?.status).toBe("acknowledged");
  });

  it("asks for the chosen status only", async () => {
    const asked: (string | null)[] = [];
    const store = new Incidents(
      fakeIpc({
        incidentsList: (_p, status) => {
          asked.push(status);
          return Promise.resolve({ items: [] });
        },
        maintenanceList: () => Promise.resolve({ items: [] }),
      }),
    );
    await store.load("ops");
    await store.filter("resolved");
    expect(asked).toEqual([null, "resolved"]);
  });
});
