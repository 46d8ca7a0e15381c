//! Which view of the rail the window shows, remembered per window (by its
//! label) across restarts. A remembered view that is gone falls back to the
//! first one.

import type { ViewRegistry } from "../../views/registry";

type Storage = Pick<globalThis.Storage, "getItem" | "setItem">;

export class Navigation {
  #chosen = $state<string | null>(null);
  readonly #registry: ViewRegistry;
  readonly #storage: Storage | null;
  readonly #key: string;

  constructor(registry: ViewRegistry, storage: Storage | null, windowLabel: string) {
    this.#registry = registry;
    this.#storage = storage;
    this.#key = `opsdeck.view.${windowLabel}`;
    try {
      this.#chosen = storage?.getItem(this.#key) ?? null;
    } catch {
      // Storage refused (private mode, quota): start on the first view.
    }
  }

  /** The id of the view shown. */
  get current(): string | null {
    return this.#registry.resolve(this.#chosen);
  }

  go(id: string): void {
    this.#chosen = id;
    try {
      this.#storage?.setItem(this.#key, id);
    } catch {
      // Not remembered; the window still switches.
    }
  }
}
