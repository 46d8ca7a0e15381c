//! The window's stores, one of each, wired to the real backend.

import { getCurrentWindow } from "@tauri-apps/api/window";

import { ipc } from "../../ipc";
import { views } from "../../views/registry";
import { Alerts } from "./alerts.svelte";
import { Approvals } from "./approvals.svelte";
import { Audit } from "./audit.svelte";
import { Backups } from "./backups.svelte";
import { Clock } from "./clock.svelte";
import { Clusters } from "./clusters.svelte";
import { Incidents } from "./incidents.svelte";
import { Jobs } from "./jobs.svelte";
import { Navigation } from "./navigation.svelte";
import { Notifications } from "./notifications.svelte";
import { Overview } from "./overview.svelte";
import { Playbooks } from "./playbooks.svelte";
import { Profiles } from "./profiles.svelte";
import { Rbac } from "./rbac.svelte";
import { Tenants } from "./tenants.svelte";
import { Toasts } from "./toasts.svelte";
import { Ui } from "./ui.svelte";

/** The window's label, which keeps its chosen view apart from another window's. */
function windowLabel(): string {
  try {
    return getCurrentWindow().label;
  } catch {
    // Outside the app (a browser on the dev server): one window.
    return "main";
  }
}

export const toasts = new Toasts();
export const profiles = new Profiles(ipc, (message) => toasts.warning(message));
export const tenants = new Tenants(ipc);
export const alerts = new Alerts(ipc);
export const notifications = new Notifications(ipc);
export const overview = new Overview(ipc);
/** The Overview of the profile compared with the current one, side by side; none while its `profile` is null. */
export const compareOverview = new Overview(ipc);
export const ui = new Ui();
export const clock = new Clock();
export const navigation = new Navigation(views, typeof localStorage === "undefined" ? null : localStorage, windowLabel());
export const jobs = new Jobs(ipc);
export const backups = new Backups(ipc, jobs);
export const clusters = new Clusters(ipc, jobs);
export const playbooks = new Playbooks(ipc);
export const incidents = new Incidents(ipc);
export const approvals = new Approvals(ipc);
export const audit = new Audit(ipc);
export const rbac = new Rbac(ipc);
