//! Command palette: matching commands against what was typed, which result
//! Enter runs, and keyboard movement through the results. Whole words and
//! prefixes rank above scattered letters, and a command that destroys
//! something or changes the environment is never picked by scattered letters.

import type { Tier } from "../generated/bindings";
import { tierTheme } from "./theme";

export type Command = {
  id: string;
  title: string;
  /** Group shown at the right: "Tenants", "Profiles", "View". */
  group: string;
  /** Extra words that should find this command ("reload" for Refresh). */
  keywords?: string;
  /** Keyboard shortcut shown beside it, if it has one. */
  shortcut?: string;
  /** Deletes, suspends or otherwise takes something away (after its own confirmation). */
  destructive?: boolean;
  /** Makes the window act on another environment (a profile switch). */
  changesEnvironment?: boolean;
  /** The tier the command acts on, shown beside its title so the choice says where it acts. */
  tier?: Tier;
  run: () => void;
};

/**
 * How a query found a command, best first: the whole title, the title's
 * first words, every typed word as a word (or a word's start) of the title,
 * of the title and keywords, and scattered letters.
 */
export type MatchKind = "exact" | "prefix" | "words" | "keywords" | "loose";

/**
 * `named`: the query names the command by words — at least two typed words
 * (an action and its target), each two letters or more, each a word or the
 * start of a word of the title (or of the tier shown beside it).
 */
export type Match = { score: number; positions: number[]; kind: MatchKind; named: boolean };

// Far apart, so a better kind of match always ranks above a worse one
// whatever the details within a kind add or take away.
const BASE: Record<MatchKind, number> = { exact: 4000, prefix: 3000, words: 2000, keywords: 1000, loose: 0 };

type Word = { text: string; start: number };

/** The words of `text`, lowercased: runs of letters and digits. */
export function words(text: string): Word[] {
  const found: Word[] = [];
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) found.push({ text: m[0], start: m.index });
  return found;
}

function tokens(query: string): string[] {
  return words(query).map((w) => w.text);
}

/**
 * Each token matched to a different word that it starts, whole words first;
 * null when some token starts no word. `inOrder` when the matched words come
 * in the order typed.
 */
function matchWords(toks: readonly string[], ws: readonly Word[]): { picked: Word[]; whole: number; inOrder: boolean } | null {
  const used = new Set<number>();
  const picked: Word[] = [];
  let whole = 0;
  let inOrder = true;
  let last = -1;
  for (const tok of toks) {
    let at = ws.findIndex((w, i) => !used.has(i) && w.text === tok);
    if (at >= 0) whole += 1;
    else at = ws.findIndex((w, i) => !used.has(i) && w.text.startsWith(tok));
    if (at < 0) return null;
    used.add(at);
    if (at < last) inOrder = false;
    last = at;
    const w = ws[at];
    if (w) picked.push({ text: tok, start: w.start });
  }
  return { picked, whole, inOrder };
}

function isBoundary(text: string, i: number): boolean {
  if (i === 0) return true;
  const prev = text[i - 1] ?? "";
  return /[\s\-_:/.]/.test(prev);
}

/**
 * Scores `text` against `query` as a subsequence, case-insensitively; null if
 * some character of the query is missing. Consecutive characters and word
 * starts score higher. Only ever a "loose" match: see `matchCommand`.
 */
export function fuzzyMatch(query: string, text: string): Match | null {
  const q = query.toLowerCase().replace(/\s+/g, " ").trim();
  if (q === "") return { score: 0, positions: [], kind: "loose", named: false };
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
  if (t.includes(q)) score += 10;
  return { score: Math.min(score, BASE.keywords - 1), positions, kind: "loose", named: false };
}

function indexAtWordStart(t: string, ch: string, from: number): number {
  for (let i = t.indexOf(ch, from); i >= 0; i = t.indexOf(ch, i + 1)) if (isBoundary(t, i)) return i;
  return -1;
}

function prefixPositions(picked: readonly Word[]): number[] {
  return picked.flatMap((w) => Array.from(w.text, (_, k) => w.start + k)).sort((a, b) => a - b);
}

/** The tier's word as the palette shows it beside a command: "PRODUCTION". */
export function tierLabel(tier: Tier): string {
  return tierTheme(tier).label;
}

/**
 * How `query` finds `command`, or null when it does not. The tier shown
 * beside a title counts as part of it, so "switch prod" names a switch to a
 * production profile by words.
 */
export function matchCommand(query: string, command: Pick<Command, "title" | "keywords" | "tier">): Match | null {
  const toks = tokens(query);
  if (toks.length === 0) return query.trim() === "" ? { score: 0, positions: [], kind: "loose", named: false } : null;
  const titleWords = words(command.title);
  const shown = command.tier ? [...titleWords, ...words(tierLabel(command.tier)).map((w) => ({ text: w.text, start: -1 }))] : titleWords;
  const onTitle = matchWords(toks, shown);
  if (onTitle) {
    const positions = prefixPositions(onTitle.picked.filter((w) => w.start >= 0));
    const all = titleWords.map((w) => w.text);
    const exact = toks.length === all.length && toks.every((tok, i) => all[i] === tok);
    const prefix = onTitle.inOrder && toks.every((tok, i) => (i < toks.length - 1 ? all[i] === tok : all[i]?.startsWith(tok)));
    const kind: MatchKind = exact ? "exact" : prefix ? "prefix" : "words";
    // Whole words beat word starts; typed order helps; short titles are
    // more likely what was meant than long ones that contain the words.
    const score = BASE[kind] + 40 * onTitle.whole + (onTitle.inOrder ? 20 : 0) - Math.min(30, all.length * 2);
    const named = toks.length >= 2 && toks.every((tok) => tok.length >= 2);
    return { score, positions, kind, named };
  }
  const keywordWords = words(command.keywords ?? "");
  const onBoth = matchWords(toks, [...shown, ...keywordWords.map((w) => ({ text: w.text, start: -1 }))]);
  if (onBoth) {
    const positions = prefixPositions(onBoth.picked.filter((w) => w.start >= 0));
    return { score: BASE.keywords + 40 * onBoth.whole + 10 * positions.length, positions, kind: "keywords", named: false };
  }
  const loose = fuzzyMatch(query, command.title);
  if (loose) return loose;
  const onKeywords = command.keywords ? fuzzyMatch(query, command.keywords) : null;
  return onKeywords ? { ...onKeywords, score: onKeywords.score - 2, positions: [] } : null;
}

export type Ranked = { command: Command; positions: number[]; kind: MatchKind; named: boolean };

/**
 * Commands that match `query`, best first; ties keep the given order, so an
 * empty query lists commands as registered. At most `limit` results.
 */
export function filterCommands(commands: readonly Command[], query: string, limit = 50): Ranked[] {
  const scored: Array<Ranked & { score: number; order: number }> = [];
  commands.forEach((command, order) => {
    const m = matchCommand(query, command);
    if (m) scored.push({ command, positions: m.positions, kind: m.kind, named: m.named, score: m.score, order });
  });
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return scored.slice(0, limit).map(({ command, positions, kind, named }) => ({ command, positions, kind, named }));
}

/** A command whose accidental run would hurt: it destroys something or moves the window to another environment. */
export function isRisky(command: Pick<Command, "destructive" | "changesEnvironment">): boolean {
  return command.destructive === true || command.changesEnvironment === true;
}

/**
 * The result Enter runs before the user moves: the best one, unless it is
 * risky and the query does not name it by words (scattered letters, a
 * keyword, a single letter, nothing typed) — then the best result that is
 * not risky, or none (-1). A risky command runs on Enter only when the
 * query names it, or when the user moved onto it.
 */
export function defaultActive(results: readonly Ranked[]): number {
  return results.findIndex((r) => !isRisky(r.command) || r.named);
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
