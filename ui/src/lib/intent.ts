//! Idempotency keys, one per user intent. A double click, or a retry of the
//! same form after a network error, sends the same key, so the server does
//! the thing once. Changing what the form says is a new intent.

export type UuidFn = () => string;

export function randomUuid(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // Older webviews lack randomUUID but all have getRandomValues.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A stable text for a request body: object keys sorted at every level. */
export function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return v;
  });
}

export class IntentKey {
  #key: string | null = null;
  #print: string | null = null;
  readonly #uuid: UuidFn;

  constructor(uuid: UuidFn = randomUuid) {
    this.#uuid = uuid;
  }

  /** The key for sending `body`: the previous one if the body is unchanged, else a fresh one. */
  keyFor(body: unknown): string {
    const print = fingerprint(body);
    if (this.#key === null || print !== this.#print) {
      this.#key = this.#uuid();
      this.#print = print;
    }
    return this.#key;
  }

  /** After success: the next submission is a new intent even with the same body. */
  reset(): void {
    this.#key = null;
    this.#print = null;
  }
}
