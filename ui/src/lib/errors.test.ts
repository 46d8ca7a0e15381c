import { describe, expect, it } from "vitest";

import type { IpcError } from "../generated/bindings";
import { describeError, errorId, formErrors, mapFieldErrors, remedyAction, toIpcError } from "./errors";

describe("toIpcError", () => {
  it("keeps a well-formed backend error", () => {
    const e = { code: "slug_taken", message: "taken", details: [{ field: "slug", message: "taken" }], remedy: null };
    expect(toIpcError(e)).toEqual(e);
  });
  it("wraps a bare string or Error", () => {
    expect(toIpcError("boom")).toEqual({ code: "internal", message: "boom", details: [], remedy: null });
    expect(toIpcError(new Error("bad"))).toMatchObject({ code: "internal", message: "bad" });
  });
  it("drops malformed details but keeps the message", () => {
    const e = toIpcError({ code: "validation_failed", message: "m", details: [{ field: 1 }, null], remedy: null });
    expect(e.details).toEqual([]);
  });
  it("never returns an empty message", () => {
    expect(toIpcError(undefined).message).not.toBe("");
  });
});

describe("mapFieldErrors", () => {
  it("puts known fields at their field and the rest in the general list", () => {
    const mapped = mapFieldErrors(
      [
        { field: "slug", message: "is taken" },
        { field: "quotas.max_users", message: "must be between 1 and 10000000" },
        { field: "region", message: "unknown" },
      ],
      ["slug", "name", "quotas.max_users"],
    );
    expect(mapped.byField).toEqual({ slug: "is taken", "quotas.max_users": "must be between 1 and 10000000" });
    expect(mapped.other).toEqual(["region: unknown"]);
  });
  it("joins two messages for one field", () => {
    const mapped = mapFieldErrors(
      [
        { field: "name", message: "too long" },
        { field: "name", message: "has control characters" },
      ],
      ["name"],
    );
    expect(mapped.byField.name).toBe("too long; has control characters");
  });
});

describe("describeError", () => {
  it("adds what to do for an unreachable server", () => {
    expect(describeError({ code: "unreachable", message: "Connection refused.", details: [], remedy: { kind: "retry" } })).toContain(
      "Check the network",
    );
  });
  it("passes codes without advice through", () => {
    expect(describeError({ code: "slug_taken", message: "Odd.", details: [], remedy: null })).toBe("Odd.");
  });

  it("words core's sign-in remedy for the window, with a button", () => {
    const err: IpcError = { code: "no_token", message: "no token.", details: [], remedy: { kind: "sign_in", profile: "eu" } };
    expect(describeError(err)).toContain("Replace the token of profile eu");
    expect(remedyAction(err.remedy)).toBe("Replace token");
    expect(remedyAction(null)).toBeNull();
  });
});

describe("errorId", () => {
  it("makes a valid id from a dotted field path", () => {
    expect(errorId("create", "quotas.max_users")).toBe("create-quotas-max_users-error");
  });
});

describe("formErrors", () => {
  it("puts a code-level error at its field when no detail names one", () => {
    const e = formErrors({ code: "profile_exists", message: "A profile named eu-prod exists.", details: [], remedy: null }, ["name", "token"]);
    expect(e.byField).toEqual({ name: "A profile named eu-prod exists." });
    expect(e.general).toBeNull();
  });
  it("prefers the details when there are some", () => {
    const e = formErrors(
      { code: "slug_taken", message: "taken", details: [{ field: "slug", message: "is already in use" }], remedy: null },
      ["slug"],
    );
    expect(e.byField).toEqual({ slug: "is already in use" });
  });
  it("keeps a general message for errors without a field", () => {
    const e = formErrors({ code: "unreachable", message: "Connection refused.", details: [], remedy: null }, ["slug"]);
    expect(e.byField).toEqual({});
    expect(e.general).toContain("Connection refused.");
  });
  it("keeps a general message when some detail has no field in the form", () => {
    const e = formErrors(
      { code: "validation_failed", message: "Invalid.", details: [{ field: "region", message: "unknown" }], remedy: null },
      ["slug"],
    );
    expect(e.other).toEqual(["region: unknown"]);
    expect(e.general).toBe("Invalid.");
  });
});
