//! The window's stores, one of each, wired to the real backend.

import { ipc } from "../../ipc";
import { Clock } from "./clock.svelte";
import { Profiles } from "./profiles.svelte";
import { Tenants } from "./tenants.svelte";
import { Toasts } from "./toasts.svelte";
import { Ui } from "./ui.svelte";

export const toasts = new Toasts();
export const profiles = new Profiles(ipc, (message) => toasts.warning(message));
export const tenants = new Tenants(ipc);
export const ui = new Ui();
export const clock = new Clock();
