//! The one error shape the UI deals with (`IpcError`), how any rejection
//! becomes one, and how its field errors are put at their fields.

import type { Code, FieldError, IpcError, Remedy } from "../generated/bindings";
import { ageWords } from "./format";

/** Codes the UI itself produces, beside the backend's. */
export const UI_CODES = {
  malformedResponse: "malformed_response",
  ipcUnavailable: "ipc_unavailable",
  internal: "internal",
} as const satisfies Record<string, Code>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/**
 * Whatever a failed `invoke` rejected with, as an `IpcError`. The backend
 * promises `{ code, message, details }`, but a panic in the shell, a plugin
 * or the bridge itself rejects with a bare string or an `Error`.
 */
export function toIpcError(e: unknown): IpcError {
  if (isObject(e) && typeof e.code === "string" && typeof e.message === "string") {
    const details = Array.isArray(e.details)
      ? e.details.filter(
          (d): d is FieldError => isObject(d) && typeof d.field === "string" && typeof d.message === "string",
        )
      : [];
    const remedy = isObject(e.remedy) && typeof e.remedy.kind === "string" ? (e.remedy as Remedy) : null;
    return { code: e.code as Code, message: e.message, details, remedy };
  }
  if (typeof e === "string" && e.length > 0) return { code: UI_CODES.internal, message: e, details: [], remedy: null };
  if (e instanceof Error) return { code: UI_CODES.internal, message: e.message || e.name, details: [], remedy: null };
  return {
    code: UI_CODES.internal,
    message: "Something went wrong and the backend gave no reason.",
    details: [],
    remedy: null,
  };
}

export function isIpcError(e: unknown): e is IpcError {
  return isObject(e) && typeof e.code === "string" && typeof e.message === "string" && Array.isArray(e.details);
}

/**
 * Text from the backend or a server as the window shows it: plain prose.
 * Core's messages carry no markup, but a server's (or serde's) may quote a
 * word in backticks, as terminals show it; here such a word gets quotation
 * marks instead, and a stray backtick goes.
 */
export function plainText(text: string): string {
  return text.replace(/`([^`\n]*)`/g, "\u201c$1\u201d").replace(/`/g, "");
}

/**
 * One message as a sentence of its own: plain, starting with a capital and
 * ending with a full stop, so that it never runs into the next one.
 */
export function sentence(text: string): string {
  const plain = plainText(text).trim();
  if (plain === "") return "";
  // A leading word, not an address or a name: "http://…" stays as it is.
  const first = /^[a-z]+(?![\w:/.@-])/.test(plain) ? plain.charAt(0).toUpperCase() + plain.slice(1) : plain;
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

/** Sentences joined as prose, the empty ones left out. */
export function sentences(...parts: (string | null | undefined)[]): string {
  return parts
    .map((p) => sentence(p ?? ""))
    .filter((p) => p !== "")
    .join(" ");
}

/** What a banner or toast says: the backend's message, then what to do next, each a sentence. */
export function describeError(err: IpcError): string {
  const hint = (err.remedy && remedyHint(err.remedy)) ?? HINTS[err.code];
  return sentences(err.message.trim() || "No reason given", hint);
}

/** Core's remedy in the window's words; the button that acts on it is `remedyAction`. */
export function remedyHint(remedy: Remedy): string | undefined {
  switch (remedy.kind) {
    case "sign_in":
      return `Replace the token of profile ${remedy.profile}.`;
    case "choose_profile":
      return "Choose a profile with the Profile menu, or add one.";
    case "unlock_keyring":
      return "Start and unlock the system keyring (GNOME Keyring, KWallet, KeePassXC), then try again.";
    case "confirm":
      return `Type ${remedy.target} to confirm.`;
    case "retry":
      return "Check the network or the Admin API URL, then try again.";
    case "request_approval": {
      const lasts = remedy.expires_after_seconds === null ? "" : `; a grant lasts ${ageWords(remedy.expires_after_seconds)}`;
      return `A second person holding the role ${remedy.role} must approve ${remedy.action} of ${remedy.target} first (opsdeck approvals request)${lasts}.`;
    }
  }
}

/** The button a remedy puts beside the error, if any: its label. */
export function remedyAction(remedy: Remedy | null): string | null {
  switch (remedy?.kind) {
    case "sign_in":
      return "Replace token";
    case "choose_profile":
      return "Add profile";
    case "unlock_keyring":
    case "retry":
      return "Retry";
    default:
      return null;
  }
}

/** Advice for codes core gives no remedy for. */
const HINTS: Partial<Record<Code, string>> = {
  unauthorized: "The API token was rejected: replace the profile's token.",
  forbidden: "This token is not allowed to do that.",
  malformed_response: "The server may be newer or older than this Opsdeck.",
  ipc_unavailable: "Opsdeck's window lost its backend; restart the app.",
};

export type FieldErrors = {
  /** Every message of each known field, as sentences, keyed by the field's JSON path. */
  byField: Record<string, string>;
  /** Messages for fields this form does not show, prefixed with their field. */
  other: string[];
};

/**
 * Sorts `details` into the form's fields, every message of a field shown
 * at it. A field the form doesn't know (a newer server's rule) still shows,
 * in the form's general error.
 */
export function mapFieldErrors(details: readonly FieldError[], known: readonly string[]): FieldErrors {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  for (const d of details) {
    // `labels.env` belongs to the `labels` field when the form has no
    // field of its own for it: shown there, naming the key.
    const dot = d.field.indexOf(".");
    const parent = dot > 0 ? d.field.slice(0, dot) : "";
    if (known.includes(d.field)) {
      byField[d.field] = sentences(byField[d.field], d.message);
    } else if (parent !== "" && known.includes(parent)) {
      byField[parent] = sentences(byField[parent], `${d.field.slice(dot + 1)}: ${d.message}`);
    } else {
      other.push(d.field ? sentence(`${d.field}: ${d.message}`) : sentence(d.message));
    }
  }
  return { byField, other };
}

/**
 * The errors a form shows at once: its own (what only the browser can
 * judge, such as a quota that is not a number) and core's check of the
 * draft, every one of them. A field the form already faults keeps the
 * form's message: core judged a draft without that field's text.
 */
export function draftErrors(
  own: Record<string, string>,
  checked: readonly FieldError[],
  known: readonly string[],
): FieldErrors {
  const mapped = mapFieldErrors(checked, known);
  const byField = { ...mapped.byField };
  for (const [field, message] of Object.entries(own)) byField[field] = sentence(message);
  return { byField, other: mapped.other };
}

/**
 * Errors that belong to one field even when the backend sends no details
 * (a name already used, a slug already taken).
 */
const FIELD_OF_CODE: Partial<Record<Code, string>> = {
  profile_exists: "name",
  slug_taken: "slug",
  confirmation_mismatch: "confirmation",
  confirmation_required: "confirmation",
};

/**
 * `mapFieldErrors`, plus the whole error at its field when the code names
 * one and no detail does. `general` is the message to show above the form,
 * or null when every problem already shows at a field.
 */
export function formErrors(err: IpcError, known: readonly string[]): FieldErrors & { general: string | null } {
  const mapped = mapFieldErrors(err.details, known);
  const field = FIELD_OF_CODE[err.code];
  if (Object.keys(mapped.byField).length === 0 && field && known.includes(field)) {
    mapped.byField[field] = sentence(err.message);
  }
  const atFields = Object.keys(mapped.byField).length > 0 && mapped.other.length === 0;
  return { ...mapped, general: atFields ? null : describeError(err) };
}

/** DOM id of a field's error message, for aria-describedby. */
export function errorId(formId: string, field: string): string {
  return `${formId}-${field.replace(/[^a-zA-Z0-9_-]/g, "-")}-error`;
}
