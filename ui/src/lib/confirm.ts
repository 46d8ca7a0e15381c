//! What the confirmation dialog asks for and sends: a lifecycle action
//! (suspend, resume, delete) or an update that core wants confirmed. The
//! rules themselves (which tier, which change needs the slug typed) are
//! core's: they arrive as `Preflight.confirm_text`, and core checks the
//! confirmation again when the change is sent.

import type { FieldChange, Preflight, TenantAction, TenantOperation, TenantRow, TypedPreflight, UpdateTenant } from "../generated/bindings";
import type { Ipc } from "../ipc";
import { toIpcError } from "./errors";


/** What the dialog is opened for. */
export type ConfirmRequest = { kind: "action"; action: TenantAction } | { kind: "update"; body: UpdateTenant };

/**
 * True once the preflight has arrived, nothing is in flight, and, where the
 * preflight asks for it, the typed text equals `confirm_text` exactly (no
 * trimming, no case folding: production confirmations are deliberate).
 */
export function canConfirm(preflight: Preflight | null, typed: string, busy: boolean): boolean {
  if (!preflight || busy) return false;
  return preflight.confirm_text === null || typed === preflight.confirm_text;
}

/** The confirmation to send: what was typed where core asks for it, else none. */
export function confirmationFor(preflight: Preflight, typed: string): string | null {
  return preflight.confirm_text === null ? null : typed;
}

export function confirmLabel(operation: TenantOperation): string {
  switch (operation) {
    case "suspend":
      return "Suspend tenant";
    case "resume":
      return "Resume tenant";
    case "delete":
      return "Delete tenant";
    case "update":
      return "Confirm changes";
  }
}

/** One line of an update's preflight, as the CLI prints it. */
export function changeLine(change: FieldChange): string {
  return `${change.label}: ${change.before} → ${change.after}`;
}

/** Whether the confirm button should look dangerous: the change takes something away. */
export function isReducing(request: ConfirmRequest, preflight: Preflight | null): boolean {
  if (request.kind === "action") return request.action !== "resume";
  return preflight?.changes.some((c) => c.reduces) ?? false;
}

/** Core's preflight for the request, from the tenant as the server has it now. */
export function loadPreflight(ipc: Ipc, profile: string, slug: string, request: ConfirmRequest): Promise<Preflight> {
  return request.kind === "action"
    ? ipc.tenantPreflight(profile, request.action, slug)
    : ipc.tenantUpdatePreflight(profile, slug, request.body);
}

/** Sends the request with the confirmation; the tenant as it is now, or null once deleted. */
export function sendConfirmed(
  ipc: Ipc,
  profile: string,
  slug: string,
  request: ConfirmRequest,
  confirmation: string | null,
  idempotencyKey: string,
  approval: string | null = null,
): Promise<TenantRow | null> {
  return request.kind === "action"
    ? ipc.tenantAction(profile, request.action, slug, confirmation, idempotencyKey, approval)
    : ipc.tenantUpdate(profile, slug, request.body, confirmation, idempotencyKey);
}

export type UpdateOutcome = { kind: "saved"; tenant: TenantRow } | { kind: "confirm" };

/**
 * Saves an edit without a confirmation. Where core says this change needs
 * the slug typed (a cut on production), nothing was sent to the server and
 * the outcome asks the caller to show the confirmation dialog; any other
 * error is thrown as an `IpcError`.
 */
export async function saveUpdate(
  ipc: Ipc,
  profile: string,
  slug: string,
  body: UpdateTenant,
  idempotencyKey: string,
): Promise<UpdateOutcome> {
  try {
    return { kind: "saved", tenant: await ipc.tenantUpdate(profile, slug, body, null, idempotencyKey) };
  } catch (e) {
    const err = toIpcError(e);
    // Core's remedy says the slug must be typed first; the dialog asks for it.
    if (err.remedy?.kind === "confirm") return { kind: "confirm" };
    throw err;
  }
}

/**
 * Whether a typed preflight (a restore, a switchover) lets the action go:
 * exactly the target where core asks for it, anything where it does not.
 */
export function typedOk(preflight: TypedPreflight | null, typed: string): boolean {
  return preflight !== null && (preflight.confirm_text === null || typed === preflight.confirm_text);
}
