//! Access control of the current profile: users, groups, roles and
//! bindings as listed; what the profile's token holds (`me`, read once per
//! profile) so actions it cannot do are disabled with the permission named;
//! the subjects × permissions matrix of a scope; and role and binding
//! changes, each previewed (core's diff of effective permissions) before
//! it is applied.

import type { AccessDiff, BindingRow, Group, IpcError, Me, PathView, Permission, Role, User, WhoCanView } from "../../generated/bindings";
import { PERMISSIONS } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { toIpcError } from "../errors";

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

  readonly #ipc: Ipc;
  #profile = $state<string | null>(null);
  #seq = 0;
  #matrixSeq = 0;
  /** `me` per profile: read once, kept while the window lives. */
  #mine: Record<string, Me> = {};

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
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

  /** After a change, what was shown is read again: the lists and a matrix already drawn. */
  async #afterChange(): Promise<void> {
    await this.refresh();
    if (this.columns.length > 0 || this.matrixError) await this.loadMatrix();
  }
}
