//! Every call from the window to the Rust shell. The calls themselves are
//! generated (`generated/bindings.ts`, from the one declaration of the
//! commands in src-tauri), so their names, arguments and results cannot drift
//! from Rust; here each becomes a promise of its data that rejects with an
//! `IpcError`, whatever went wrong (the command's error, the bridge, a panic).

import { commands, type IpcError } from "./generated/bindings";
import { toIpcError, UI_CODES } from "./lib/errors";
import { measureCall } from "./lib/marks";

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
      measureCall(name, since);
    }
    if (outcome.status === "error") throw toIpcError(outcome.error);
    return outcome.data;
  };
}

export const ipc = Object.fromEntries(
  Object.entries(commands).map(([name, command]) => [name, unwrapped(name, command as never)]),
) as unknown as Ipc;
