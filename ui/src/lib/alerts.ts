//! How the alerts view lays out what core sends: alerts grouped by their
//! name and severity, how long each has fired, the silences that mute one,
//! and the filter box's text split into matchers (each read by core's
//! rules, not here; core also words each alert's status).

import type { Alert, IpcError, Silence } from "../generated/bindings";
import { describeError, sentences } from "./errors";

export type AlertRowGroup = {
  /** Stable across reloads: the name and severity. */
  key: string;
  alertname: string;
  /** "" when the alerts carry no severity label. */
  severity: string;
  alerts: Alert[];
};

/** Most urgent first; a severity not listed comes after these, by name. */
const SEVERITY_ORDER = ["critical", "error", "warning", "info"];

function severityRank(severity: string): number {
  const at = SEVERITY_ORDER.indexOf(severity.toLowerCase());
  return at === -1 ? SEVERITY_ORDER.length + (severity === "" ? 1 : 0) : at;
}

/**
 * Groups `alerts` by alertname and severity: the most severe groups first,
 * then by name; within a group, the alerts in core's order (oldest first).
 */
export function groupAlerts(alerts: readonly Alert[]): AlertRowGroup[] {
  const groups = new Map<string, AlertRowGroup>();
  for (const alert of alerts) {
    const alertname = alert.labels["alertname"] ?? "";
    const severity = alert.labels["severity"] ?? "";
    const key = JSON.stringify([alertname, severity]);
    let group = groups.get(key);
    if (!group) {
      group = { key, alertname, severity, alerts: [] };
      groups.set(key, group);
    }
    group.alerts.push(alert);
  }
  return [...groups.values()].sort(
    (a, b) =>
      severityRank(a.severity) - severityRank(b.severity) ||
      a.severity.localeCompare(b.severity) ||
      a.alertname.localeCompare(b.alertname),
  );
}

/** How long an alert has fired, short: `45s`, `12m`, `3h05m`, `2d04h`. */
export function firedFor(startsAt: string, nowMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - Date.parse(startsAt)) / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  if (Number.isNaN(s)) return "";
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** The silences, of those known, that mute `alert`. */
export function silencesOf(alert: Alert, silences: readonly Silence[]): Silence[] {
  return alert.silenced_by.map((id) => silences.find((s) => s.id === id)).filter((s): s is Silence => s !== undefined);
}

/** A silence's matchers as written: `alertname="Disk", job=~"api|web"`. */
export function matchersText(silence: Silence): string {
  const operator = (equal: boolean, regex: boolean) => (equal ? "=" : "!=") + (regex ? "~" : "");
  return silence.matchers.map((m) => `${m.name}${operator(m.is_equal, m.is_regex).replace("!=~", "!~")}"${m.value}"`).join(", ");
}

/**
 * Splits the filter box into matchers at commas outside quotes:
 * `severity=critical, job=~"a,b"` is two. Core reads each one.
 */
export function splitMatchers(text: string): string[] {
  const out: string[] = [];
  let current = "";
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      out.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  out.push(current);
  return out.map((m) => m.trim()).filter((m) => m !== "");
}

/**
 * An error reading alerts, as the view says it: core's message and remedy,
 * where a retry points at the Alertmanager's URL, not the Admin API's.
 */
export function describeAlertsError(err: IpcError): string {
  if (err.remedy?.kind === "retry") {
    return sentences(err.message, "Check the network or the profile's Alertmanager URL, then try again.");
  }
  return describeError(err);
}
