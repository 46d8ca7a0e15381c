import { describe, expect, it } from "vitest";

import { fingerprint, IntentKey, randomUuid } from "./intent";

function counter() {
  let n = 0;
  return () => `key-${++n}`;
}

describe("IntentKey", () => {
  it("reuses the key when the same body is sent twice (double click, retry)", () => {
    const intent = new IntentKey(counter());
    const a = intent.keyFor({ slug: "acme", quotas: { max_users: 5 } });
    const b = intent.keyFor({ quotas: { max_users: 5 }, slug: "acme" });
    expect(a).toBe(b);
  });
  it("makes a new key when the body changed", () => {
    const intent = new IntentKey(counter());
    const a = intent.keyFor({ slug: "acme" });
    const b = intent.keyFor({ slug: "acme-2" });
    expect(a).not.toBe(b);
  });
  it("makes a new key after a reset", () => {
    const intent = new IntentKey(counter());
    const a = intent.keyFor({ slug: "acme" });
    intent.reset();
    expect(intent.keyFor({ slug: "acme" })).not.toBe(a);
  });
});

describe("fingerprint", () => {
  it("sorts keys at every level", () => {
    expect(fingerprint({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
  });
  it("tells a number from the same digits as text", () => {
    expect(fingerprint({ n: 5 })).not.toBe(fingerprint({ n: "5" }));
  });
});

describe("randomUuid", () => {
  it("looks like a v4 uuid", () => {
    expect(randomUuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
