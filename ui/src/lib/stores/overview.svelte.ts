//! The Overview: a dashboard of the current profile drawn by core panel by
//! panel, for the chosen range, refreshed while the view shows (never two
//! refreshes at once). The last panels each profile drew are kept in memory,
//! and by core across restarts: when Prometheus cannot be reached they are
//! shown, marked stale.

import { DASHBOARD_DEFAULT_RANGE, DASHBOARD_RANGES, type Board, type ImageFormat, type IpcError, type Theme } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { SvelteMap } from "svelte/reactivity";

import { toIpcError } from "../errors";
import { mark } from "../marks";

export type Range = (typeof DASHBOARD_RANGES)[number];

/** How often the shown view reads Prometheus again. */
export const REFRESH_MS = 30_000;

/** The dashboard the window opens on. */
export const OVERVIEW = "overview";

/** What a load draws for: the panel width in pixels and the theme. */
export type Drawing = { widthPx: number; theme: Theme };

/** Codes that mean the backend could not reach the server (not a refusal). */
const OFFLINE_CODES = new Set(["unreachable", "timeout"]);

export class Overview {
  range = $state<Range>(DASHBOARD_DEFAULT_RANGE as Range);
  /** The panels shown: fresh, or the last seen when `stale`. */
  board = $state.raw<Board | null>(null);
  /** Prometheus could not be reached; `board` is the last one seen. */
  stale = $state<string | null>(null);
  /** Why there is nothing to show (no Prometheus, a refused request). */
  error = $state<IpcError | null>(null);
  loading = $state(false);

  readonly #ipc: Ipc;
  readonly #lastSeen = new SvelteMap<string, Board>();
  #profile = $state<string | null>(null);
  #drawing: Drawing = { widthPx: 600, theme: "light" };
  #seq = 0;
  #running: { key: string; done: Promise<void> } | null = null;

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  get profile(): string | null {
    return this.#profile;
  }

  /**
   * Draws the Overview of `profile`. A load for the same profile, range and
   * drawing as one still running waits for that one instead of asking
   * again; any other supersedes it (its answer is dropped).
   */
  load(profile: string, drawing: Drawing = this.#drawing): Promise<void> {
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.board = this.#lastSeen.get(profile) ?? null;
      this.stale = null;
      this.error = null;
    }
    this.#drawing = drawing;
    const key = [profile, this.range, drawing.widthPx, drawing.theme].join("\n");
    if (this.#running?.key === key) return this.#running.done;
    const seq = ++this.#seq;
    const done = this.#fetch(profile, seq).finally(() => {
      if (this.#running?.done === done) this.#running = null;
    });
    this.#running = { key, done };
    return done;
  }

  async #fetch(profile: string, seq: number): Promise<void> {
    this.loading = true;
    let board: Board | null = null;
    let failure: IpcError | null = null;
    try {
      board = await this.#ipc.dashboardsRender(profile, OVERVIEW, null, this.range, this.#drawing.widthPx, this.#drawing.theme);
    } catch (e) {
      failure = toIpcError(e);
    }
    if (seq !== this.#seq) return;
    this.loading = false;
    const last = this.#lastSeen.get(profile) ?? null;
    if (board && board.offline === null) {
      mark("board");
      this.#lastSeen.set(profile, board);
      this.board = board;
      this.stale = null;
      this.error = null;
    } else if (board) {
      // Every panel holds the same "cannot reach": the last data says more,
      // from this run of the app or, after a restart, the copy core kept.
      const shown = last ?? (board.from_cache ? board : null);
      this.board = shown ?? board;
      this.stale = shown ? board.offline : null;
      this.error = null;
    } else if (failure && OFFLINE_CODES.has(failure.code) && last) {
      this.board = last;
      this.stale = failure.message;
      this.error = null;
    } else {
      this.board = null;
      this.stale = null;
      this.error = failure;
    }
  }

  /** Draws again what is shown, unless a refresh of it is still running. */
  refresh(drawing?: Drawing): Promise<void> {
    return this.#profile ? this.load(this.#profile, drawing) : Promise.resolve();
  }

  /** Shows `range`, drawn afresh. */
  choose(range: Range, drawing?: Drawing): Promise<void> {
    this.range = range;
    return this.refresh(drawing);
  }

  /** How old the shown panels are, in seconds, at `nowMs`. */
  ageSeconds(nowMs: number): number {
    if (!this.board) return 0;
    return Math.max(0, (nowMs - Date.parse(this.board.fetched_at)) / 1000);
  }

  /** Writes panel `id` as drawn now into the user's downloads; resolves to the file's path. */
  exportPanel(id: string, format: ImageFormat = "svg"): Promise<string> {
    const profile = this.#profile;
    if (!profile) return Promise.reject(new Error("no profile"));
    return this.#ipc.dashboardsExportPanel(profile, OVERVIEW, id, this.range, this.#drawing.widthPx, this.#drawing.theme, format);
  }

  reset(): void {
    this.#seq++;
    this.#running = null;
    this.#profile = null;
    this.board = null;
    this.stale = null;
    this.error = null;
    this.loading = false;
  }
}

/** How many panels go in a row of a grid `width` pixels wide, and how wide each is drawn. */
export function gridOf(width: number, gap = 12): { columns: number; widthPx: number } {
  const columns = width >= 1100 ? 3 : width >= 640 ? 2 : 1;
  const widthPx = Math.max(200, Math.floor((width - gap * (columns - 1)) / columns));
  return { columns, widthPx };
}
