import { describe, expect, it } from "vitest";

import type { IpcError } from "../generated/bindings";
import {
  describeError,
  draftErrors,
  errorId,
  formErrors,
  mapFieldErrors,
  plainText,
  remedyAction,
  sentence,
  toIpcError,
} from "./errors";

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
    expect(mapped.byField).toEqual({ slug: "Is taken.", "quotas.max_users": "Must be between 1 and 10000000." });
    expect(mapped.other).toEqual(["region: unknown."]);
  });
  it("shows every message of a field, each a sentence", () => {
    const mapped = mapFieldErrors(
      [
        { field: "name", message: "too long" },
        { field: "name", message: "has control characters" },
      ],
      ["name"],
    );
    expect(mapped.byField.name).toBe("Too long. Has control characters.");
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
  it("says who must approve under the two-person rule, and for how long", () => {
    const err = {
      code: "approval_required" as const,
      message: "Needs a second person.",
      details: [],
      remedy: { kind: "request_approval" as const, action: "backup.restore", target: "main-db", role: "platform-admin", expires_after_seconds: 1800 },
    };
    const text = describeError(err);
    expect(text).toContain("holding the role platform-admin must approve backup.restore of main-db");
    expect(text).toContain("lasts 30 minutes");
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
    expect(e.byField).toEqual({ slug: "Is already in use." });
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
    expect(e.other).toEqual(["region: unknown."]);
    expect(e.general).toBe("Invalid.");
  });
});

/**
 * Messages as core, the server and serde word them, some made for a
 * terminal: whatever reaches the window from them is prose.
 */
const FROM_THE_BACKEND: IpcError[] = [
  { code: "slug_taken", message: "the slug `acme` is taken by another tenant", details: [], remedy: null },
  { code: "invalid_state", message: "tenant `acme` is already suspended", details: [], remedy: null },
  { code: "not_found", message: "no tenant `nope`", details: [], remedy: null },
  {
    code: "validation_failed",
    message: "invalid request: plan unknown variant `gold`, expected one of `free`, `team`",
    details: [
      { field: "plan", message: "unknown variant `gold`, expected one of `free`, `team`, `business`, `enterprise`" },
      { field: "colour", message: "unknown field `colour`" },
      { field: "", message: "a lone ` backtick" },
    ],
    remedy: null,
  },
  { code: "unauthorized", message: "the server refused the token of profile `ops`: a valid bearer token is required", details: [], remedy: { kind: "sign_in", profile: "ops" } },
  { code: "unreachable", message: "cannot reach http://127.0.0.1:9/: connection refused", details: [], remedy: { kind: "retry" } },
  { code: "confirmation_required", message: "delete of `acme` on production needs the slug typed to confirm", details: [], remedy: { kind: "confirm", target: "acme" } },
  { code: "profile_not_found", message: "no profile named `eu-prod`", details: [], remedy: { kind: "choose_profile" } },
];

describe("what the window shows", () => {
  it("never contains a backtick, whatever the backend wrote", () => {
    const shown: string[] = [];
    for (const err of FROM_THE_BACKEND) {
      shown.push(describeError(err));
      const form = formErrors(err, ["slug", "name", "plan", "confirmation"]);
      shown.push(...Object.values(form.byField), ...form.other, form.general ?? "");
      shown.push(...Object.values(draftErrors({ name: "`x` is odd" }, err.details, ["plan"]).byField));
    }
    expect(shown.length).toBeGreaterThan(20);
    for (const text of shown) expect(text).not.toContain("`");
  });
  it("quotes a backticked word instead", () => {
    expect(plainText("the slug `acme` is taken")).toBe("the slug \u201cacme\u201d is taken");
  });
  it("keeps the message and the hint apart as sentences", () => {
    const text = describeError(FROM_THE_BACKEND[5] as IpcError);
    expect(text).toBe("Cannot reach http://127.0.0.1:9/: connection refused. Check the network or the Admin API URL, then try again.");
  });
  it("does not capitalise an address or a name that starts a message", () => {
    expect(sentence("http://127.0.0.1:9 did not answer in time")).toBe("http://127.0.0.1:9 did not answer in time.");
    expect(sentence("acme-corp is taken")).toBe("acme-corp is taken.");
    expect(sentence("Done!")).toBe("Done!");
  });
});

describe("draftErrors", () => {
  it("shows the form's own errors and core's together, the form's winning at a field", () => {
    const found = draftErrors(
      { "quotas.max_users": "Enter a whole number, like 500", slug: "Enter a slug, like acme-corp" },
      [
        { field: "slug", message: "must be 3 to 63 characters long" },
        { field: "name", message: "must not be empty" },
        { field: "quotas.storage_gib", message: "must be between 1 and 10000000, got 0" },
      ],
      ["slug", "name", "quotas.max_users", "quotas.storage_gib"],
    );
    expect(found.byField).toEqual({
      slug: "Enter a slug, like acme-corp.",
      name: "Must not be empty.",
      "quotas.max_users": "Enter a whole number, like 500.",
      "quotas.storage_gib": "Must be between 1 and 10000000, got 0.",
    });
  });
});
