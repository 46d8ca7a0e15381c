import { describe, expect, it } from "vitest";

import type { Board, IpcError, PanelSvg } from "../../generated/bindings";
import { fakeIpc } from "../testdata";
import { ImageUrls } from "../images";
import { gridOf, Overview } from "./overview.svelte";

function panel(id: string, state: PanelSvg["state"] = "data", error: string | null = null): PanelSvg {
  return { id, title: id, state, error, series: state === "data" ? 1 : 0, svg: `<svg id="${id}"><path d="M0 0"/></svg>` };
}

function board(panels: PanelSvg[], at = "2026-01-01T00:00:00Z", offline: string | null = null, fromCache = false): Board {
  return { dashboard: "overview", title: "Overview", panels, offline, from_cache: fromCache, fetched_at: at };
}

/** A promise and the functions that settle it, for a request still in flight. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const unreachable: IpcError = { code: "unreachable", message: "cannot reach http://127.0.0.1:9090", details: [], remedy: null };

describe("Overview store", () => {
  it("asks core for the chosen range, width and theme, and shows a failed panel beside the drawn ones", async () => {
    const asked: unknown[][] = [];
    const store = new Overview(
      fakeIpc({
        dashboardsRender: (...args) => {
          asked.push(args);
          return Promise.resolve(board([panel("rate"), panel("errors", "failed", "parse error")]));
        },
      }),
    );
    await store.load("ops", { widthPx: 480, theme: "dark" });
    await store.choose("6h");
    expect(asked).toEqual([
      ["ops", "overview", null, "1h", 480, "dark"],
      ["ops", "overview", null, "6h", 480, "dark"],
    ]);
    expect(store.board?.panels.map((p) => [p.id, p.state, p.error])).toEqual([
      ["rate", "data", null],
      ["errors", "failed", "parse error"],
    ]);
    expect(store.stale).toBeNull();
    expect(store.error).toBeNull();
  });

  it("never runs two refreshes at once, and a new range supersedes the one running", async () => {
    const pending: ReturnType<typeof deferred<Board>>[] = [];
    const store = new Overview(
      fakeIpc({
        dashboardsRender: () => {
          const d = deferred<Board>();
          pending.push(d);
          return d.promise;
        },
      }),
    );
    const first = store.load("ops");
    const again = store.refresh();
    expect(pending).toHaveLength(1);
    pending[0]?.resolve(board([panel("rate")], "2026-01-01T00:00:00Z"));
    await Promise.all([first, again]);
    expect(store.board?.fetched_at).toBe("2026-01-01T00:00:00Z");

    // A refresh after the first ended asks again.
    const second = store.refresh();
    expect(pending).toHaveLength(2);
    // The range changes while it runs: the new one is asked, the old answer dropped.
    const third = store.choose("24h");
    expect(pending).toHaveLength(3);
    pending[2]?.resolve(board([panel("rate")], "2026-01-01T00:02:00Z"));
    pending[1]?.resolve(board([panel("rate")], "2026-01-01T00:01:00Z"));
    await Promise.all([second, third]);
    expect(store.board?.fetched_at).toBe("2026-01-01T00:02:00Z");
    expect(store.loading).toBe(false);
  });

  it("keeps each profile's last panels and shows them stale with their age when Prometheus is unreachable", async () => {
    let answer: (profile: string) => Promise<Board> = (profile) =>
      Promise.resolve(board([panel(`${profile}-rate`)], "2026-01-01T00:00:00Z"));
    const store = new Overview(fakeIpc({ dashboardsRender: (profile) => answer(profile ?? "") }));
    await store.load("staging");
    await store.load("prod");
    expect(store.board?.panels[0]?.id).toBe("prod-rate");

    // Core says Prometheus is down: its panels all carry that error.
    answer = () => Promise.resolve(board([panel("rate", "failed", "cannot reach")], "2026-01-01T00:10:00Z", "cannot reach"));
    await store.load("staging");
    expect(store.board?.panels[0]?.id).toBe("staging-rate");
    expect(store.stale).toBe("cannot reach");
    expect(store.ageSeconds(Date.parse("2026-01-01T00:03:00Z"))).toBe(180);

    // The command itself failing offline does the same.
    answer = () => Promise.reject(unreachable);
    await store.load("prod");
    expect(store.board?.panels[0]?.id).toBe("prod-rate");
    expect(store.stale).toBe(unreachable.message);
    expect(store.error).toBeNull();

    // Back online: fresh panels, no longer stale.
    answer = () => Promise.resolve(board([panel("fresh")], "2026-01-01T00:20:00Z"));
    await store.refresh();
    expect(store.board?.panels[0]?.id).toBe("fresh");
    expect(store.stale).toBeNull();
  });

  it("shows core's panels when offline with nothing seen before, and the error when there is no Prometheus", async () => {
    const noPrometheus: IpcError = { code: "no_prometheus", message: "profile bare names no Prometheus", details: [], remedy: null };
    const store = new Overview(
      fakeIpc({
        dashboardsRender: (profile) =>
          profile === "bare"
            ? Promise.reject(noPrometheus)
            : Promise.resolve(board([panel("rate", "failed", "cannot reach")], undefined, "cannot reach")),
      }),
    );
    await store.load("ops");
    expect(store.board?.panels[0]?.state).toBe("failed");
    expect(store.stale).toBeNull();
    await store.load("bare");
    expect(store.board).toBeNull();
    expect(store.error?.code).toBe("no_prometheus");
  });

  it("shows the panels core kept from before a restart as stale, with their age", async () => {
    const store = new Overview(
      fakeIpc({
        dashboardsRender: () => Promise.resolve(board([panel("rate")], "2026-01-01T00:00:00Z", "cannot reach", true)),
      }),
    );
    await store.load("ops");
    expect(store.board?.panels[0]?.state).toBe("data");
    expect(store.stale).toBe("cannot reach");
    expect(store.ageSeconds(Date.parse("2026-01-01T00:05:00Z"))).toBe(300);
  });

  it("exports the panel of the profile, range and drawing shown", async () => {
    const asked: unknown[][] = [];
    const store = new Overview(
      fakeIpc({
        dashboardsRender: () => Promise.resolve(board([panel("rate")])),
        dashboardsExportPanel: (...args) => {
          asked.push(args);
          return Promise.resolve("/home/me/Downloads/overview-rate.svg");
        },
      }),
    );
    await expect(store.exportPanel("rate")).rejects.toThrow();
    await store.load("ops", { widthPx: 400, theme: "light" });
    store.range = "15m";
    expect(await store.exportPanel("rate")).toBe("/home/me/Downloads/overview-rate.svg");
    await store.exportPanel("rate", "png");
    expect(asked).toEqual([
      ["ops", "overview", "rate", "15m", 400, "light", "svg"],
      ["ops", "overview", "rate", "15m", 400, "light", "png"],
    ]);
  });
});

describe("ImageUrls", () => {
  it("keeps a panel's URL while its drawing is the same and revokes the one replaced", async () => {
    const revoked: string[] = [];
    const revoke = URL.revokeObjectURL.bind(URL);
    URL.revokeObjectURL = (url: string) => {
      revoked.push(url);
      revoke(url);
    };
    try {
      const images = new ImageUrls();
      const first = images.url("/rate", "<svg><text>5 µs — ✓</text></svg>");
      expect(first.startsWith("blob:")).toBe(true);
      expect(images.url("/rate", "<svg><text>5 µs — ✓</text></svg>")).toBe(first);
      const second = images.url("/rate", "<svg><text>6 µs</text></svg>");
      expect(second).not.toBe(first);
      expect(revoked).toEqual([first]);
      images.url("staging/rate", "<svg/>");
      expect(images.size).toBe(2);
      images.clear();
      expect(revoked).toHaveLength(3);
      expect(images.size).toBe(0);
    } finally {
      URL.revokeObjectURL = revoke;
    }
  });
});

describe("gridOf", () => {
  it("puts more panels in a row as the window widens, each drawn at its cell's width", () => {
    expect(gridOf(500)).toEqual({ columns: 1, widthPx: 500 });
    expect(gridOf(1012)).toEqual({ columns: 2, widthPx: 500 });
    expect(gridOf(1224)).toEqual({ columns: 3, widthPx: 400 });
  });
});
