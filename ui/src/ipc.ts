//! Every call from the window to the Rust shell goes through here: one typed
//! function per Tauri command. Arguments are camelCase (Tauri's convention
//! for command arguments); answers are checked by `lib/decode` and failures
//! always reject with an `IpcError`.

import { invoke } from "@tauri-apps/api/core";

import type { CreateTenant } from "./generated/CreateTenant";
import type { IpcError } from "./generated/IpcError";
import type { Preflight } from "./generated/Preflight";
import type { ProfileEntry } from "./generated/ProfileEntry";
import type { ProfileList } from "./generated/ProfileList";
import type { Tenant } from "./generated/Tenant";
import type { TenantAction } from "./generated/TenantAction";
import type { Tier } from "./generated/Tier";
import type { UpdateTenant } from "./generated/UpdateTenant";
import {
  DecodeError,
  decodePreflight,
  decodeProfileEntry,
  decodeProfileList,
  decodeTenant,
  decodeTenantOrNull,
  decodeTenantsView,
  type DecodedTenants,
} from "./lib/decode";
import { toIpcError, UI_CODES } from "./lib/errors";

function hasBridge(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

async function call<T>(command: string, args: Record<string, unknown>, decode: (raw: unknown) => T): Promise<T> {
  if (!hasBridge()) {
    const err: IpcError = {
      code: UI_CODES.ipcUnavailable,
      message: "The Opsdeck backend is not available: this page is running outside the desktop app.",
      details: [],
    };
    throw err;
  }
  let raw: unknown;
  try {
    raw = await invoke<unknown>(command, args);
  } catch (e) {
    throw toIpcError(e);
  }
  try {
    return decode(raw);
  } catch (e) {
    if (e instanceof DecodeError) {
      const err: IpcError = {
        code: UI_CODES.malformedResponse,
        message: `The answer to ${command} could not be read (${e.message}).`,
        details: [],
      };
      throw err;
    }
    throw toIpcError(e);
  }
}

const nothing = (): null => null;

/** The commands the window can call; an interface so stores can be tested with a fake. */
export interface Ipc {
  profilesList(): Promise<ProfileList>;
  profileAdd(args: { name: string; tier: Tier; adminUrl: string; token: string }): Promise<ProfileEntry>;
  profileUse(name: string): Promise<null>;
  profileRemove(name: string): Promise<null>;
  tenantsList(profile: string | null): Promise<DecodedTenants>;
  tenantCreate(profile: string, body: CreateTenant, idempotencyKey: string): Promise<Tenant>;
  tenantUpdate(
    profile: string,
    tenant: string,
    body: UpdateTenant,
    confirmation: string | null,
    idempotencyKey: string,
  ): Promise<Tenant>;
  tenantUpdatePreflight(profile: string, tenant: string, body: UpdateTenant): Promise<Preflight>;
  tenantPreflight(profile: string, action: TenantAction, tenant: string): Promise<Preflight>;
  tenantAction(
    profile: string,
    action: TenantAction,
    tenant: string,
    confirmation: string | null,
    idempotencyKey: string,
  ): Promise<Tenant | null>;
}

export const ipc: Ipc = {
  profilesList: () => call("profiles_list", {}, decodeProfileList),
  profileAdd: ({ name, tier, adminUrl, token }) =>
    call("profile_add", { name, tier, adminUrl, token }, (raw) => decodeProfileEntry(raw)),
  profileUse: (name) => call("profile_use", { name }, nothing),
  profileRemove: (name) => call("profile_remove", { name }, nothing),
  tenantsList: (profile) => call("tenants_list", { profile }, decodeTenantsView),
  tenantCreate: (profile, body, idempotencyKey) =>
    call("tenant_create", { profile, body, idempotencyKey }, (raw) => decodeTenant(raw)),
  tenantUpdate: (profile, tenant, body, confirmation, idempotencyKey) =>
    call("tenant_update", { profile, tenant, body, confirmation, idempotencyKey }, (raw) => decodeTenant(raw)),
  tenantUpdatePreflight: (profile, tenant, body) =>
    call("tenant_update_preflight", { profile, tenant, body }, decodePreflight),
  tenantPreflight: (profile, action, tenant) =>
    call("tenant_preflight", { profile, action, tenant }, decodePreflight),
  tenantAction: (profile, action, tenant, confirmation, idempotencyKey) =>
    call("tenant_action", { profile, action, tenant, confirmation, idempotencyKey }, decodeTenantOrNull),
};
