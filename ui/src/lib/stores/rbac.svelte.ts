//! Access control of the current profile: users, groups, roles and
//! bindings as listed; what the profile's token holds (`me`, read once per
//! profile) so actions it cannot do are disabled with the permission named;
//! the subjects × permissions matrix of a scope; and role and binding
//! changes, each previewed (core's diff of effective permissions) before
//! it is applied. Users and groups are created, edited and deleted here:
//! each change sends one idempotency key per intent, starts once however
//! often it is clicked (busy until it ends), keeps the server's field
//! errors by field, and reads the lists again after.

import type {
  AccessDiff,
  BindingRow,
  CreateGroup,
  CreateUser,
  Group,
  IpcError,
  Me,
  PathView,
  Permission,
  Role,
  TypedPreflight,
  UpdateUser,
  User,
  WhoCanView,
} from "../../generated/bindings";
import { SvelteSet } from "svelte/reactivity";

import { PERMISSIONS } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { formErrors, sentence, toIpcError, type FieldErrors } from "../errors";
import { IntentKey, randomUuid, type UuidFn } from "../intent";

/** The fields of the new-user form, as the API names them. */
export const USER_FIELDS = ["email", "display_name"] as const;
/** The fields of the new-group form. */
export const GROUP_FIELDS = ["name", "external_name"] as const;

/** A form's errors after the server (or core) refused it: at the fields, and the rest above them. */
export type FormErrors = FieldErrors & { general: string | null };

/**
 * A refused form's errors at its fields. The server refuses a taken email
 * or group name as `name_taken` without naming the field: it is `keyField`.
 */
export function refusal(e: unknown, known: readonly string[], keyField: string): FormErrors {
  const err = toIpcError(e);
  const errors = formErrors(err, known);
  if (err.code === "name_taken" && Object.keys(errors.byField).length === 0) {
    return { byField: { [keyField]: sentence(err.message) }, other: errors.other, general: null };
  }
  return errors;
}

/** What is in flight, one at a time per thing: a second click on it starts nothing. */
export type BusyKey = "user:new" | "group:new" | `user:${string}` | `group:${string}`;

export type AccessTab = "users" | "groups" | "roles" | "bindings" | "matrix";

/** A scope of the matrix: the platform, or one tenant by slug or id. */
export type MatrixScope = { kind: "platform" } | { kind: "tenant"; tenant: string };

/** The matrix as drawn: holders down, the catalog across, each cell its grant paths. */
export type Matrix = {
  subjects: string[];
  permissions: readonly Permission[];
  paths: (subject: string, permission: Permission) => PathView[];
};

/**
 * The rows of the matrix from who-can, one column per permission. On the
 * platform only what is held there counts (who-can without a tenant answers
 * for every scope); on a tenant, every way it is held there.
 */
export function matrixOf(columns: WhoCanView[], scope: MatrixScope): Matrix {
  const cells: Record<string, PathView[]> = {};
  const subjects: string[] = [];
  for (const column of columns) {
    for (const holder of column.holders) {
      const paths = scope.kind === "platform" ? holder.paths.filter((p) => p.scope.kind === "platform") : holder.paths;
      if (paths.length === 0) continue;
      if (!subjects.includes(holder.subject)) subjects.push(holder.subject);
      cells[`${holder.subject}\u0000${column.permission}`] = paths;
    }
  }
  subjects.sort();
  return { subjects, permissions: PERMISSIONS, paths: (subject, permission) => cells[`${subject}\u0000${permission}`] ?? [] };
}

/** `group:sre → binding 0193… → role reader on tenant acme`, as core words it. */
export function describePath(path: PathView): string {
  const scope = path.scope.kind === "platform" ? "platform" : `tenant ${path.scope.slug}`;
  return `${path.group ? `${path.group} → ` : ""}binding ${path.binding} → role ${path.role} on ${scope}`;
}

/**
 * Why the token cannot do what needs `permission` (on `tenant`, by id or
 * slug, or the platform), or null when it can. Unknown (`me` unread) is
 * not a refusal: the server still decides.
 */
export function missing(me: Me | null, permission: Permission, tenant: string | null = null): string | null {
  if (me === null) return null;
  if (me.platform.includes(permission)) return null;
  if (tenant !== null && me.tenants.some((t) => (t.tenant === tenant || t.slug === tenant) && t.permissions.includes(permission))) return null;
  return `Needs ${permission}${tenant !== null ? ` on tenant ${tenant}` : " on the platform"}`;
}

export class Rbac {
  tab = $state<AccessTab>("users");
  users = $state.raw<User[]>([]);
  groups = $state.raw<Group[]>([]);
  roles = $state.raw<Role[]>([]);
  bindings = $state.raw<BindingRow[]>([]);
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** What the profile's token holds; null until read (or unreadable). */
  me = $state.raw<Me | null>(null);

  scope = $state.raw<MatrixScope>({ kind: "platform" });
  columns = $state.raw<WhoCanView[]>([]);
  matrixLoading = $state(false);
  matrixError = $state<IpcError | null>(null);
  /** The cell whose grant paths show. */
  cell = $state.raw<{ subject: string; permission: Permission } | null>(null);

  /** Keys of the changes in flight. */
  readonly busy = new SvelteSet<BusyKey>();
  /** Why the new user (or group) was refused, by field; null when it was not. */
  userErrors = $state.raw<FormErrors | null>(null);
  groupErrors = $state.raw<FormErrors | null>(null);
  /** Why a display name was refused, for the user (by id) being renamed. */
  renameErrors = $state.raw<{ user: string; errors: FormErrors } | null>(null);
  /** Users whose email contains what the member picker was given. */
  matches = $state.raw<User[]>([]);

  readonly #ipc: Ipc;
  readonly #uuid: UuidFn;
  #intents: Record<string, IntentKey> = {};
  #searchSeq = 0;
  #profile = $state<string | null>(null);
  #seq = 0;
  #matrixSeq = 0;
  /** `me` per profile: read once, kept while the window lives. */
  #mine: Record<string, Me> = {};

  constructor(ipc: Ipc, uuid: UuidFn = randomUuid) {
    this.#ipc = ipc;
    this.#uuid = uuid;
  }

  isBusy(key: BusyKey): boolean {
    return this.busy.has(key);
  }

  get profile(): string | null {
    return this.#profile;
  }

  get matrix(): Matrix {
    return matrixOf(this.columns, this.scope);
  }

  /** The reason an action needing `permission` is disabled, or null. */
  missing(permission: Permission, tenant: string | null = null): string | null {
    return missing(this.me, permission, tenant);
  }

  /** Email of a user id (a group lists its members by id). */
  email(id: string): string {
    return this.users.find((u) => u.id === id)?.email ?? id;
  }

  /** Reads the lists of `profile`, and what its token holds once. */
  async load(profile: string): Promise<void> {
    if (profile !== this.#profile) {
      this.#profile = profile;
      this.me = this.#mine[profile] ?? null;
      this.users = [];
      this.groups = [];
      this.roles = [];
      this.bindings = [];
      this.columns = [];
      this.cell = null;
      this.#forgetEdits();
    }
    const seq = ++this.#seq;
    this.loading = true;
    const mine = this.#mine[profile]
      ? Promise.resolve(this.#mine[profile])
      : this.#ipc.rbacMe(profile).then((me) => {
          this.#mine[profile] = me;
          return me;
        });
    const [me, users, groups, roles, bindings] = await Promise.allSettled([
      mine,
      this.#ipc.rbacUsers(profile),
      this.#ipc.rbacGroups(profile),
      this.#ipc.rbacRoles(profile),
      this.#ipc.rbacBindings(profile),
    ]);
    if (seq !== this.#seq) return;
    if (me.status === "fulfilled") this.me = me.value;
    if (users.status === "fulfilled") this.users = users.value;
    if (groups.status === "fulfilled") this.groups = groups.value;
    if (roles.status === "fulfilled") this.roles = roles.value;
    if (bindings.status === "fulfilled") this.bindings = bindings.value;
    const failed = [users, groups, roles, bindings].find((r) => r.status === "rejected");
    this.error = failed?.status === "rejected" ? toIpcError(failed.reason) : null;
    this.loading = false;
  }

  async refresh(): Promise<void> {
    if (this.#profile) await this.load(this.#profile);
  }

  reset(): void {
    this.#seq++;
    this.#matrixSeq++;
    this.#profile = null;
    this.me = null;
    this.users = [];
    this.groups = [];
    this.roles = [];
    this.bindings = [];
    this.columns = [];
    this.cell = null;
    this.error = null;
    this.matrixError = null;
    this.loading = false;
    this.matrixLoading = false;
    this.#forgetEdits();
  }

  #forgetEdits(): void {
    this.userErrors = null;
    this.groupErrors = null;
    this.renameErrors = null;
    this.matches = [];
    this.#intents = {};
  }

  /** Reads who holds each permission on `scope`. */
  async loadMatrix(scope: MatrixScope = this.scope): Promise<void> {
    const profile = this.#profile;
    if (!profile) return;
    this.scope = scope;
    this.cell = null;
    const seq = ++this.#matrixSeq;
    this.matrixLoading = true;
    try {
      const columns = await this.#ipc.rbacMatrix(profile, scope.kind === "tenant" ? scope.tenant : null);
      if (seq !== this.#matrixSeq) return;
      this.columns = columns;
      this.matrixError = null;
    } catch (e) {
      if (seq === this.#matrixSeq) {
        this.columns = [];
        this.matrixError = toIpcError(e);
      }
    } finally {
      if (seq === this.#matrixSeq) this.matrixLoading = false;
    }
  }

  #mustProfile(): string {
    if (!this.#profile) throw toIpcError(new Error("No profile is open."));
    return this.#profile;
  }

  /** What giving `role` these permissions would change; rejects with an `IpcError`. */
  previewRole(role: string, permissions: Permission[]): Promise<AccessDiff> {
    return this.#ipc.rbacRolePreview(this.#mustProfile(), role, permissions);
  }

  /** Gives `role` these permissions, then reads the lists again. */
  async updateRole(role: string, permissions: Permission[]): Promise<Role> {
    const updated = await this.#ipc.rbacRoleUpdate(this.#mustProfile(), role, permissions);
    this.roles = this.roles.map((r) => (r.name === updated.name ? updated : r));
    void this.#afterChange();
    return updated;
  }

  previewCreateBinding(subject: string, role: string, tenant: string | null): Promise<AccessDiff> {
    return this.#ipc.rbacBindingPreviewCreate(this.#mustProfile(), subject, role, tenant);
  }

  async createBinding(subject: string, role: string, tenant: string | null): Promise<void> {
    await this.#ipc.rbacBindingCreate(this.#mustProfile(), subject, role, tenant);
    await this.#afterChange();
  }

  previewDeleteBinding(binding: string): Promise<AccessDiff> {
    return this.#ipc.rbacBindingPreviewDelete(this.#mustProfile(), binding);
  }

  async deleteBinding(binding: string, confirmation: string | null): Promise<void> {
    await this.#ipc.rbacBindingDelete(this.#mustProfile(), binding, confirmation);
    this.bindings = this.bindings.filter((b) => b.id !== binding);
    await this.#afterChange();
  }

  /**
   * Runs one change under `busy` (nothing when it is already in flight),
   * with the idempotency key of its intent: the same body sent again after
   * a failure reuses the key, a success makes the next one a new intent.
   * Undefined when nothing was started.
   */
  async #change<T>(busy: BusyKey, intent: string, body: unknown, send: (profile: string, key: string) => Promise<T>): Promise<T | undefined> {
    if (this.busy.has(busy)) return undefined;
    const profile = this.#mustProfile();
    const keys = (this.#intents[intent] ??= new IntentKey(this.#uuid));
    this.busy.add(busy);
    try {
      const done = await send(profile, keys.keyFor(body));
      keys.reset();
      return done;
    } finally {
      this.busy.delete(busy);
    }
  }

  /**
   * Creates a user. The server's (or core's) field errors stay in
   * `userErrors` and the promise resolves null; any other refusal is
   * `userErrors.general`.
   */
  async createUser(body: CreateUser): Promise<User | null> {
    try {
      const user = await this.#change("user:new", "user:new", body, (p, key) => this.#ipc.rbacUserCreate(p, body, key));
      if (user === undefined) return null;
      this.userErrors = null;
      await this.#afterChange();
      return user;
    } catch (e) {
      this.userErrors = refusal(e, USER_FIELDS, "email");
      return null;
    }
  }

  /** Gives `user` a new display name; a refusal stays in `renameErrors`, and null comes back. */
  async renameUser(user: User, displayName: string): Promise<User | null> {
    try {
      const updated = await this.#updateUser(user, { display_name: displayName });
      if (updated) this.renameErrors = null;
      return updated;
    } catch (e) {
      this.renameErrors = { user: user.id, errors: formErrors(toIpcError(e), ["display_name"]) };
      return null;
    }
  }

  /** Enables or disables `user` (a disabled user's every token is refused); rejects with an `IpcError`. */
  setUserStatus(user: User, status: User["status"]): Promise<User | null> {
    return this.#updateUser(user, { status });
  }

  async #updateUser(user: User, body: UpdateUser): Promise<User | null> {
    const updated = await this.#change(`user:${user.id}`, `user:${user.id}:update`, body, (p, key) =>
      this.#ipc.rbacUserUpdate(p, user.email, body, key),
    );
    if (updated === undefined) return null;
    this.users = this.users.map((u) => (u.id === updated.id ? updated : u));
    await this.#afterChange();
    return updated;
  }

  /** What deleting `user` does and what must be typed (core's rule); rejects with an `IpcError`. */
  userDeleteConfirmation(user: User): Promise<TypedPreflight> {
    return this.#ipc.rbacUserDeleteConfirmation(this.#mustProfile(), user.email);
  }

  /** Deletes `user` with `typed` where core asks for it; rejects with an `IpcError`. */
  async deleteUser(user: User, typed: string | null): Promise<void> {
    const done = await this.#change(`user:${user.id}`, `user:${user.id}:delete`, typed, (p, key) =>
      this.#ipc.rbacUserDelete(p, user.email, typed, key),
    );
    if (done === undefined) return;
    this.users = this.users.filter((u) => u.id !== user.id);
    await this.#afterChange();
  }

  /** Creates a group; refusals stay in `groupErrors` as for `createUser`. */
  async createGroup(body: CreateGroup): Promise<Group | null> {
    try {
      const group = await this.#change("group:new", "group:new", body, (p, key) => this.#ipc.rbacGroupCreate(p, body, key));
      if (group === undefined) return null;
      this.groupErrors = null;
      await this.#afterChange();
      return group;
    } catch (e) {
      this.groupErrors = refusal(e, GROUP_FIELDS, "name");
      return null;
    }
  }

  /** Makes the user with `email` a member of `group`; rejects with an `IpcError`. */
  async addMember(group: Group, email: string): Promise<Group | null> {
    const updated = await this.#change(`group:${group.id}`, `group:${group.id}:add`, email, (p, key) =>
      this.#ipc.rbacGroupAddMember(p, group.name, email, key),
    );
    if (updated === undefined) return null;
    this.groups = this.groups.map((g) => (g.id === updated.id ? updated : g));
    await this.#afterChange();
    return updated;
  }

  removeMemberConfirmation(group: Group, email: string): Promise<TypedPreflight> {
    return this.#ipc.rbacGroupRemoveMemberConfirmation(this.#mustProfile(), group.name, email);
  }

  /** Takes the user with `email` out of `group`; rejects with an `IpcError`. */
  async removeMember(group: Group, email: string, typed: string | null): Promise<void> {
    const updated = await this.#change(`group:${group.id}`, `group:${group.id}:remove`, [email, typed], (p, key) =>
      this.#ipc.rbacGroupRemoveMember(p, group.name, email, typed, key),
    );
    if (updated === undefined) return;
    this.groups = this.groups.map((g) => (g.id === updated.id ? updated : g));
    await this.#afterChange();
  }

  groupDeleteConfirmation(group: Group): Promise<TypedPreflight> {
    return this.#ipc.rbacGroupDeleteConfirmation(this.#mustProfile(), group.name);
  }

  /** Deletes `group` with `typed` where core asks for it; rejects with an `IpcError`. */
  async deleteGroup(group: Group, typed: string | null): Promise<void> {
    const done = await this.#change(`group:${group.id}`, `group:${group.id}:delete`, typed, (p, key) =>
      this.#ipc.rbacGroupDelete(p, group.name, typed, key),
    );
    if (done === undefined) return;
    this.groups = this.groups.filter((g) => g.id !== group.id);
    await this.#afterChange();
  }

  /** The users whose email contains `text`, for the member picker; the server looks. */
  async searchUsers(text: string): Promise<void> {
    const profile = this.#profile;
    const seq = ++this.#searchSeq;
    if (!profile || text.trim() === "") {
      this.matches = [];
      return;
    }
    try {
      const found = await this.#ipc.rbacUsersMatching(profile, text.trim());
      if (seq === this.#searchSeq) this.matches = found;
    } catch {
      // The picker then offers nothing; adding by a typed email still works.
      if (seq === this.#searchSeq) this.matches = [];
    }
  }

  /** After a change, what was shown is read again: the lists and a matrix already drawn. */
  async #afterChange(): Promise<void> {
    await this.refresh();
    if (this.columns.length > 0 || this.matrixError) await this.loadMatrix();
  }
}
