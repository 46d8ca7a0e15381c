//! Which dialogs are open and how the table is filtered: shared so the
//! command palette can do anything a button can.

import type { Tenant, TenantAction } from "../../generated/bindings";
import { DEFAULT_SORT, type PlanFilter, type Sort, type StatusFilter } from "../tenants";

export type TenantDialog =
  | { kind: "create" }
  | { kind: "edit"; tenant: Tenant }
  | { kind: "confirm"; action: TenantAction; tenant: Tenant }
  | null;

export class Ui {
  tenantDialog = $state.raw<TenantDialog>(null);
  addProfileOpen = $state(false);
  manageProfilesOpen = $state(false);
  /** The profile whose token is being replaced, if any. */
  tokenFor = $state<string | null>(null);
  paletteOpen = $state(false);
  /** The alerts view's notification settings panel. */
  notifySettingsOpen = $state(false);
  query = $state("");
  status = $state<StatusFilter>("all");
  plan = $state<PlanFilter>("all");
  /** The tenants filter bar's label text: `key=value` or `key`, comma separated. */
  labels = $state("");
  sort = $state<Sort>(DEFAULT_SORT);
  /** Bumped to ask the search box to take focus. */
  searchFocusRequests = $state(0);

  focusSearch(): void {
    this.searchFocusRequests++;
  }

  clearFilters(): void {
    this.query = "";
    this.status = "all";
    this.plan = "all";
    this.labels = "";
  }
}
