//! Turns times, ages and quota figures into the short words the tables and
//! markers show. Pure: the current time is always passed in.

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "3 min ago", "2 h ago", "5 d ago"; "—" for a time that can't be read. */
export function relativeTime(iso: string, nowMs: number): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "—";
  const seconds = Math.round((nowMs - then) / 1000);
  // Clocks of laptop and server disagree by a few seconds; a time slightly
  // in the future is "just now", not "in 2 s".
  if (seconds < 45 && seconds > -60) return "just now";
  const future = seconds < 0;
  const abs = Math.abs(seconds);
  let text: string;
  if (abs < HOUR) text = `${Math.max(1, Math.round(abs / MINUTE))} min`;
  else if (abs < DAY) text = `${Math.floor(abs / HOUR)} h`;
  else if (abs < 60 * DAY) text = `${Math.floor(abs / DAY)} d`;
  else {
    return new Date(then).toISOString().slice(0, 10);
  }
  return future ? `in ${text}` : `${text} ago`;
}

/** An age in words for sentences: "a few seconds", "1 minute", "12 minutes", "3 hours", "2 days". */
export function ageWords(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 60) return "a few seconds";
  if (seconds < HOUR) return plural(Math.floor(seconds / MINUTE), "minute");
  if (seconds < DAY) return plural(Math.floor(seconds / HOUR), "hour");
  return plural(Math.floor(seconds / DAY), "day");
}

/**
 * The offline marker's sentence. `ageSeconds` is the age the backend
 * reported; `elapsedMs` is how long ago the UI received that answer, so the
 * marker keeps ageing while the window stays open.
 */
export function staleMessage(ageSeconds: number, elapsedMs: number): string {
  const age = Math.max(0, ageSeconds) + Math.max(0, elapsedMs) / 1000;
  return `Offline — showing the list from ${ageWords(age)} ago`;
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${formatInt(n)} ${n === 1 ? word : pluralWord}`;
}

/**
 * The count of a list the server pages: "1,200 loaded, more…" while pages
 * remain, then "57 tenants", or "12 matches" under a filter (its total is
 * known only once the last page has come).
 */
export function pagedCount(loaded: number, more: boolean, filtered: boolean): string {
  if (more) return `${formatInt(loaded)} loaded, more…`;
  return filtered ? plural(loaded, "match", "matches") : plural(loaded, "tenant");
}

const intFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatInt(n: number): string {
  return intFormat.format(n);
}

/** The local wall-clock time of an ISO timestamp, for tooltips and "updated at". */
export function clockTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function absoluteTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "unknown time";
  return new Date(t).toLocaleString();
}
