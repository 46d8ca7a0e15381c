//! Command palette: fuzzy matching of commands against what was typed, and
//! keyboard movement through the results.

export type Command = {
  id: string;
  title: string;
  /** Group shown at the right: "Tenants", "Profiles", "View". */
  group: string;
  /** Extra words that should find this command ("reload" for Refresh). */
  keywords?: string;
  /** Keyboard shortcut shown beside it, if it has one. */
  shortcut?: string;
  run: () => void;
};

export type Match = { score: number; positions: number[] };

function isBoundary(text: string, i: number): boolean {
  if (i === 0) return true;
  const prev = text[i - 1] ?? "";
  return /[\s\-_:/.]/.test(prev);
}

/**
 * Scores `text` against `query` as a subsequence, case-insensitively; null if
 * some character of the query is missing. Consecutive characters, word starts
 * and an exact prefix score higher, so "sus ac" finds "Suspend acme" first.
 */
export function fuzzyMatch(query: string, text: string): Match | null {
  const q = query.toLowerCase().replace(/\s+/g, " ").trim();
  if (q === "") return { score: 0, positions: [] };
  const t = text.toLowerCase();
  const positions: number[] = [];
  let score = 0;
  let from = 0;
  let prev = -2;
  let wordStart = false;
  for (const ch of q) {
    if (ch === " ") {
      // A space in the query asks that the next character start a word.
      wordStart = true;
      continue;
    }
    const i = wordStart ? indexAtWordStart(t, ch, from) : t.indexOf(ch, from);
    if (i < 0) return null;
    wordStart = false;
    score += 1;
    if (i === prev + 1) score += 5;
    if (isBoundary(t, i)) score += 8;
    score -= Math.min(3, (i - from) * 0.05);
    positions.push(i);
    prev = i;
    from = i + 1;
  }
  if (t.startsWith(q)) score += 20;
  else if (t.includes(q)) score += 10;
  return { score, positions };
}

function indexAtWordStart(t: string, ch: string, from: number): number {
  for (let i = t.indexOf(ch, from); i >= 0; i = t.indexOf(ch, i + 1)) if (isBoundary(t, i)) return i;
  return -1;
}

export type Ranked = { command: Command; positions: number[] };

/**
 * Commands that match `query`, best first; ties keep the given order, so an
 * empty query lists commands as registered. At most `limit` results.
 */
export function filterCommands(commands: readonly Command[], query: string, limit = 50): Ranked[] {
  const scored: Array<Ranked & { score: number; order: number }> = [];
  commands.forEach((command, order) => {
    const onTitle = fuzzyMatch(query, command.title);
    const onKeywords = command.keywords ? fuzzyMatch(query, command.keywords) : null;
    if (onTitle) scored.push({ command, positions: onTitle.positions, score: onTitle.score, order });
    else if (onKeywords) scored.push({ command, positions: [], score: onKeywords.score - 2, order });
  });
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return scored.slice(0, limit).map(({ command, positions }) => ({ command, positions }));
}

/** Moves the active result by `delta`, wrapping at both ends; -1 when there is nothing. */
export function moveActive(index: number, delta: number, length: number): number {
  if (length <= 0) return -1;
  if (index < 0) return delta >= 0 ? 0 : length - 1;
  return (((index + delta) % length) + length) % length;
}

/** `text` cut into runs of matched and unmatched characters, to bold the matches. */
export function highlightRuns(text: string, positions: readonly number[]): Array<{ text: string; hit: boolean }> {
  const hits = new Set(positions);
  const runs: Array<{ text: string; hit: boolean }> = [];
  for (let i = 0; i < text.length; i++) {
    const hit = hits.has(i);
    const last = runs[runs.length - 1];
    if (last && last.hit === hit) last.text += text[i];
    else runs.push({ text: text[i] ?? "", hit });
  }
  return runs;
}

export function isPaletteShortcut(e: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey" | "shiftKey">): boolean {
  return (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === "k";
}
