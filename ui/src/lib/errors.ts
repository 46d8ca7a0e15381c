//! The one error shape the UI deals with (`IpcError`), how any rejection
//! becomes one, and how its field errors are put at their fields.

import type { FieldError, IpcError } from "../generated/bindings";

/** Codes the UI itself produces, beside the backend's. */
export const UI_CODES = {
  malformedResponse: "malformed_response",
  ipcUnavailable: "ipc_unavailable",
  internal: "internal",
} as const;

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
    return { code: e.code, message: e.message, details };
  }
  if (typeof e === "string" && e.length > 0) return { code: UI_CODES.internal, message: e, details: [] };
  if (e instanceof Error) return { code: UI_CODES.internal, message: e.message || e.name, details: [] };
  return { code: UI_CODES.internal, message: "Something went wrong and the backend gave no reason.", details: [] };
}

export function isIpcError(e: unknown): e is IpcError {
  return isObject(e) && typeof e.code === "string" && typeof e.message === "string" && Array.isArray(e.details);
}

/** A sentence for a banner or toast: the backend's message, with what to do next where the code says. */
export function describeError(err: IpcError): string {
  const hint = HINTS[err.code];
  const message = err.message.trim() || "No reason given.";
  return hint ? `${message} ${hint}` : message;
}

const HINTS: Record<string, string> = {
  unreachable: "Check the network or the Admin API URL, then refresh.",
  timeout: "The server took too long to answer; try again.",
  no_token: "This profile has no token in the keyring: add the profile again with its token.",
  no_current_profile: "Choose a profile with the Profile menu.",
  unauthorized: "The API token was rejected: add the profile again with a valid token.",
  forbidden: "This token is not allowed to do that.",
  keyring_unavailable: "The system keyring could not be opened; unlock it and try again.",
  malformed_response: "The server may be newer or older than this Opsdeck.",
  ipc_unavailable: "Opsdeck's window lost its backend; restart the app.",
};

export type FieldErrors = {
  /** First message per known field, keyed by the field's JSON path. */
  byField: Record<string, string>;
  /** Messages for fields this form does not show, prefixed with their field. */
  other: string[];
};

/**
 * Sorts `details` into the form's fields. A field the form doesn't know
 * (a newer server's rule) still shows, in the form's general error.
 */
export function mapFieldErrors(details: readonly FieldError[], known: readonly string[]): FieldErrors {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  for (const d of details) {
    if (known.includes(d.field)) {
      const prev = byField[d.field];
      byField[d.field] = prev ? `${prev}; ${d.message}` : d.message;
    } else {
      other.push(d.field ? `${d.field}: ${d.message}` : d.message);
    }
  }
  return { byField, other };
}

/**
 * Errors that belong to one field even when the backend sends no details
 * (a name already used, a slug already taken).
 */
const FIELD_OF_CODE: Record<string, string> = {
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
    mapped.byField[field] = err.message;
  }
  const atFields = Object.keys(mapped.byField).length > 0 && mapped.other.length === 0;
  return { ...mapped, general: atFields ? null : describeError(err) };
}

/** DOM id of a field's error message, for aria-describedby. */
export function errorId(formId: string, field: string): string {
  return `${formId}-${field.replace(/[^a-zA-Z0-9_-]/g, "-")}-error`;
}
