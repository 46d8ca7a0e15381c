//! The server's two-person rule in the window: the requests waiting for a
//! second person (the approvals inbox, beside the playbook runs waiting on
//! an approval), asking for one when the server refused a destructive
//! action without it, following it until it is decided, and granting or
//! denying one. The server decides who may grant; the window only asks.

import type { Approval, Destructive, IpcError, Remedy } from "../../generated/bindings";
import type { Ipc } from "../../ipc";

/** How often a request the window asked for is read again while it waits. */
export const FOLLOW_MS = 5_000;

/** The two-person remedy of `error`, when the server asked for an approval. */
export function approvalNeeded(error: IpcError | null): Extract<Remedy, { kind: "request_approval" }> | null {
  const remedy = error?.remedy;
  return remedy?.kind === "request_approval" ? remedy : null;
}

/** The action of `approval` in words: "backup.restore of main-db". */
export function approvalWhat(approval: Pick<Approval, "action" | "target">): string {
  return `${approval.action} of ${approval.target}`;
}

export class Approvals {
  /** Requests waiting for a second person, newest first. */
  pending = $state.raw<Approval[]>([]);
  readonly #ipc: Ipc;
  #seq = 0;

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  /**
   * Reads the pending requests of `profile`; the count joins the rail's
   * and the tray's. A server without the two-person rule has none.
   */
  async loadPending(profile: string): Promise<number> {
    const seq = ++this.#seq;
    const page = await this.#ipc.approvalsList(profile, "pending");
    if (seq === this.#seq) this.pending = page.items;
    return this.pending.length;
  }

  request(profile: string, action: Destructive, reason: string): Promise<Approval> {
    return this.#ipc.approvalRequest(profile, action, reason.trim());
  }

  get(profile: string, id: string): Promise<Approval> {
    return this.#ipc.approvalGet(profile, id);
  }

  /** Grants or denies `id`; it leaves the pending list once decided. */
  async decide(profile: string, id: string, grant: boolean, note: string | null): Promise<Approval> {
    const decided = await this.#ipc.approvalDecide(profile, id, grant, note);
    this.pending = this.pending.filter((a) => a.id !== id);
    return decided;
  }

  reset(): void {
    this.#seq++;
    this.pending = [];
  }
}
