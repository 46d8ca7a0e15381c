//! When the confirm button of a lifecycle action may be pressed. The rule
//! itself (which tier needs the slug typed) is core's: it arrives as
//! `Preflight.confirm_text`.

import type { Preflight, TenantAction } from "../generated/bindings";

/**
 * True once the preflight has arrived, nothing is in flight, and, where the
 * preflight asks for it, the typed text equals `confirm_text` exactly (no
 * trimming, no case folding: production confirmations are deliberate).
 */
export function canConfirm(preflight: Preflight | null, typed: string, busy: boolean): boolean {
  if (!preflight || busy) return false;
  return preflight.confirm_text === null || typed === preflight.confirm_text;
}

export function confirmLabel(action: TenantAction): string {
  switch (action) {
    case "suspend":
      return "Suspend tenant";
    case "resume":
      return "Resume tenant";
    case "delete":
      return "Delete tenant";
  }
}
