//! How the backups view words a target's state: sizes, the RPO badge
//! against its objective, the restorable window, and a restore time typed
//! in local time. Pure; the RPO itself is the server's measurement.

import type { Backup, Rpo } from "../generated/bindings";
import { formatInt } from "./format";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** "1.4 GiB"; "—" when unknown. */
export function bytes(n: number | null): string {
  if (n === null || !Number.isFinite(n) || n < 0) return "—";
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${formatInt(value)} B` : `${value < 10 ? value.toFixed(1) : Math.round(value).toString()} ${UNITS[unit]}`;
}

/** "45 s", "12 min", "3 h 5 min". */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** The RPO badge: "RPO 42 s / 5 min", or "RPO unknown / 5 min" with nothing restorable. */
export function rpoText(rpo: Rpo): string {
  const objective = rpo.objective_seconds === null ? "" : ` / ${shortDuration(rpo.objective_seconds)}`;
  const now = rpo.seconds === null || rpo.seconds === undefined ? "unknown" : shortDuration(rpo.seconds);
  return `RPO ${now}${objective}`;
}

/** "verified", "failed verification" or "not verified". */
export function verifiedText(backup: Backup): string {
  if (backup.verified === true) return "verified";
  if (backup.verified === false) return "failed verification";
  return "not verified";
}

/**
 * The instant a `datetime-local` value names in this machine's zone, as
 * the API wants it (RFC 3339, UTC); null when it names none.
 */
export function localToIso(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? null : new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Whether `iso` lies in the restorable window (inclusive). */
export function inWindow(iso: string, window: { from: string; to: string } | null | undefined): boolean {
  if (!window) return false;
  const t = Date.parse(iso);
  return t >= Date.parse(window.from) && t <= Date.parse(window.to);
}
