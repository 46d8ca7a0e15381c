import { describe, expect, it } from "vitest";

import type { Alert, IpcError, Silence } from "../generated/bindings";
import { describeAlertsError, firedFor, groupAlerts, matchersText, silencesOf, splitMatchers } from "./alerts";

function alert(name: string, severity: string | null, over: Partial<Alert> = {}): Alert {
  const labels: Record<string, string> = { alertname: name, instance: `${name}-1` };
  if (severity !== null) labels["severity"] = severity;
  return {
    fingerprint: `${name}-${severity}-${over.starts_at ?? ""}`,
    labels,
    annotations: {},
    state: "active",
    status: "firing",
    silenced_by: [],
    inhibited_by: [],
    receivers: ["nowhere"],
    starts_at: "2026-01-01T00:00:00Z",
    ends_at: "2026-01-01T04:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    generator_url: null,
    acknowledged: null,
    ...over,
  };
}

const silence: Silence = {
  id: "s-1",
  matchers: [
    { name: "alertname", value: "DiskFull", is_equal: true, is_regex: false },
    { name: "job", value: "api|web", is_equal: false, is_regex: true },
  ],
  state: "active",
  starts_at: "2026-01-01T00:00:00Z",
  ends_at: "2026-01-01T02:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  created_by: "ops",
  comment: "disk swap",
};

describe("groupAlerts", () => {
  it("groups by name and severity, the most severe first", () => {
    const groups = groupAlerts([
      alert("DiskFull", "warning"),
      alert("HighErrorRate", "critical"),
      alert("DiskFull", "critical"),
      alert("DiskFull", "warning", { starts_at: "2026-01-01T01:00:00Z" }),
      alert("Watchdog", null),
      alert("Odd", "page"),
    ]);
    expect(groups.map((g) => [g.alertname, g.severity, g.alerts.length])).toEqual([
      ["DiskFull", "critical", 1],
      ["HighErrorRate", "critical", 1],
      ["DiskFull", "warning", 2],
      ["Odd", "page", 1],
      ["Watchdog", "", 1],
    ]);
  });
  it("keeps core's order within a group", () => {
    const first = alert("A", "info", { starts_at: "2026-01-01T00:00:00Z" });
    const second = alert("A", "info", { starts_at: "2026-01-01T03:00:00Z" });
    expect(groupAlerts([first, second])[0]?.alerts).toEqual([first, second]);
  });
});

describe("firedFor", () => {
  const start = "2026-01-01T00:00:00Z";
  const at = (s: number) => Date.parse(start) + s * 1000;
  it("is short, as the CLI prints it", () => {
    expect(firedFor(start, at(-5))).toBe("0s");
    expect(firedFor(start, at(45))).toBe("45s");
    expect(firedFor(start, at(12 * 60 + 5))).toBe("12m");
    expect(firedFor(start, at(3 * 3600 + 5 * 60))).toBe("3h05m");
    expect(firedFor(start, at(2 * 86_400 + 4 * 3600))).toBe("2d04h");
  });
});

describe("silences", () => {
  it("finds the silences that mute an alert and writes their matchers", () => {
    const muted = alert("DiskFull", "warning", { state: "suppressed", status: "silenced", silenced_by: ["s-1", "gone"] });
    expect(silencesOf(muted, [silence])).toEqual([silence]);
    expect(matchersText(silence)).toBe('alertname="DiskFull", job!~"api|web"');
  });
});

describe("splitMatchers", () => {
  it("splits at commas outside quotes and drops empty parts", () => {
    expect(splitMatchers('severity=critical, job=~"a,b" ,')).toEqual(["severity=critical", 'job=~"a,b"']);
    expect(splitMatchers("  ")).toEqual([]);
  });
});

describe("describeAlertsError", () => {
  it("points a retry at the Alertmanager and keeps other remedies", () => {
    const down: IpcError = {
      code: "unreachable",
      message: "no Alertmanager of profile ops answered: http://127.0.0.1:9 refused",
      details: [],
      remedy: { kind: "retry" },
    };
    expect(describeAlertsError(down)).toBe(
      "No Alertmanager of profile ops answered: http://127.0.0.1:9 refused. Check the network or the profile's Alertmanager URL, then try again.",
    );
    const keyring: IpcError = {
      code: "keyring_unavailable",
      message: "the keyring is locked",
      details: [],
      remedy: { kind: "unlock_keyring" },
    };
    expect(describeAlertsError(keyring)).toContain("unlock the system keyring");
  });
});
