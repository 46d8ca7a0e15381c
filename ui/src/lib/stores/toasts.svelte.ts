//! Transient messages in the corner: successes fade, errors and warnings
//! stay until dismissed (an operator may be looking elsewhere when one arrives).

export type Toast = { id: number; kind: "success" | "error" | "warning" | "info"; message: string };

const SUCCESS_MS = 5000;

export class Toasts {
  items = $state<Toast[]>([]);
  #next = 1;
  // Timers are bookkeeping, not state the page shows.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #timers = new Map<number, ReturnType<typeof setTimeout>>();

  push(kind: Toast["kind"], message: string): number {
    const id = this.#next++;
    // Keep the stack short: the oldest successes go first.
    this.items = [...this.items, { id, kind, message }].slice(-5);
    if (kind === "success" || kind === "info") {
      this.#timers.set(
        id,
        setTimeout(() => this.dismiss(id), SUCCESS_MS),
      );
    }
    return id;
  }

  success(message: string): number {
    return this.push("success", message);
  }

  error(message: string): number {
    return this.push("error", message);
  }

  /** Something done, but not as asked (a token stored unchecked): stays until dismissed. */
  warning(message: string): number {
    return this.push("warning", message);
  }

  dismiss(id: number): void {
    const timer = this.#timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(id);
    this.items = this.items.filter((t) => t.id !== id);
  }

  clear(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.items = [];
  }
}
