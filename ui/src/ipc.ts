//! Every call from the window to the Rust shell. The calls themselves are
//! generated (`generated/bindings.ts`, from the one declaration of the
//! commands in src-tauri), so their names, arguments and results cannot drift
//! from Rust; here each becomes a promise of its data that rejects with an
//! `IpcError`, whatever went wrong (the command's error, the bridge, a panic).

import { commands, type IpcError } from "./generated/bindings";
import { toIpcError, UI_CODES } from "./lib/errors";

type Commands = typeof commands;
type DataOf<R> = R extends Promise<infer A> ? (A extends { status: "ok"; data: infer T } ? T : never) : never;

/** The commands the window can call; a type so stores can be tested with a fake. */
export type Ipc = {
  [K in keyof Commands]: (...args: Parameters<Commands[K]>) => Promise<DataOf<ReturnType<Commands[K]>>>;
};

function hasBridge(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

type Outcome = { status: "ok"; data: unknown } | { status: "error"; error: unknown };

/**
 * The calls of the window's first seconds are kept as performance measures
 * (`ipc:<name>`), where `bench/overview` reads where a start went; later
 * ones are not, so a window left open keeps no growing list.
 */
const MEASURED_MS = 10_000;

function measured(name: string, since: number): void {
  if (since > MEASURED_MS || typeof performance.measure !== "function") return;
  try {
    performance.measure(`ipc:${name}`, { start: since, end: performance.now() });
  } catch {
    // A measure is a diagnosis: never a reason for a call to fail.
  }
}

function unwrapped(name: string, command: (...args: never[]) => Promise<Outcome>) {
  return async (...args: never[]): Promise<unknown> => {
    if (!hasBridge()) {
      const err: IpcError = {
        code: UI_CODES.ipcUnavailable,
        message: "The Opsdeck backend is not available: this page is running outside the desktop app.",
        details: [],
        remedy: null,
      };
      throw err;
    }
    let outcome: Outcome;
    const since = performance.now();
    try {
      outcome = await command(...args);
    } catch (e) {
      throw toIpcError(e);
    } finally {
      measured(name, since);
    }
    if (outcome.status === "error") throw toIpcError(outcome.error);
    return outcome.data;
  };
}

export const ipc = Object.fromEntries(
  Object.entries(commands).map(([name, command]) => [name, unwrapped(name, command as never)]),
) as unknown as Ipc;
