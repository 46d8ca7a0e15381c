import { describe, expect, it } from "vitest";

import type { Group, Me, Permission, Role, UpdateUser, User, WhoCanView } from "../../generated/bindings";
import type { Ipc } from "../../ipc";
import { fakeIpc } from "../testdata";
import { describePath, GROUP_FIELDS, matrixOf, missing, Rbac, refusal, USER_FIELDS } from "./rbac.svelte";

function me(platform: Permission[], tenants: Me["tenants"] = []): Me {
  return { subject: { kind: "user", id: "u1" }, name: "ann@example.com", token: "t1", platform, tenants };
}

const lists = {
  rbacUsers: () => Promise.resolve([]),
  rbacGroups: () => Promise.resolve([]),
  rbacBindings: () => Promise.resolve([]),
};

describe("Rbac store", () => {
  it("reads what the token holds once per profile", async () => {
    let asked = 0;
    const store = new Rbac(
      fakeIpc({
        ...lists,
        rbacRoles: () => Promise.resolve([]),
        rbacMe: () => {
          asked++;
          return Promise.resolve(me(["rbac.read"]));
        },
      }),
    );
    await store.load("ops");
    await store.refresh();
    await store.load("ops");
    expect(asked).toBe(1);
    expect(store.missing("rbac.write")).toBe("Needs rbac.write on the platform");
    expect(store.missing("rbac.read")).toBeNull();
  });

  it("names the permission a tenant-scoped action lacks, and grants what the tenant holds", () => {
    const mine = me(["tenants.read"], [{ tenant: "id-acme", slug: "acme", permissions: ["tenants.read", "rbac.write"] }]);
    expect(missing(mine, "rbac.write", "acme")).toBeNull();
    expect(missing(mine, "rbac.write", "id-acme")).toBeNull();
    expect(missing(mine, "rbac.write", "globex")).toBe("Needs rbac.write on tenant globex");
    expect(missing(mine, "rbac.write")).toBe("Needs rbac.write on the platform");
    // Unread is not a refusal: the server decides.
    expect(missing(null, "rbac.write")).toBeNull();
  });

  it("applies a role change and shows the role as the server answered", async () => {
    const sent: Array<[string, Permission[]]> = [];
    const before: Role = { name: "auditor", builtin: false, permissions: ["tenants.read"] };
    const store = new Rbac(
      fakeIpc({
        ...lists,
        rbacMe: () => Promise.resolve(me(["rbac.write"])),
        rbacRoles: () => Promise.resolve([before]),
        rbacRolePreview: (_p, role, permissions) =>
          Promise.resolve({
            summary: `Change role ${role}: adds ${permissions.join(", ")}`,
            changes: [{ holder: "user:bob@example.com", change: "gains", permission: "audit.read", scope: { kind: "platform" } }],
          }),
        rbacRoleUpdate: (_p, role, permissions) => {
          sent.push([role, permissions]);
          return Promise.resolve({ name: role, builtin: false, permissions });
        },
      }),
    );
    await store.load("ops");
    const diff = await store.previewRole("auditor", ["tenants.read", "audit.read"]);
    expect(diff.changes[0]?.holder).toBe("user:bob@example.com");
    expect(sent).toHaveLength(0);
    await store.updateRole("auditor", ["tenants.read", "audit.read"]);
    expect(sent).toEqual([["auditor", ["tenants.read", "audit.read"]]]);
    expect(store.roles[0]?.permissions).toEqual(["tenants.read", "audit.read"]);
  });

  it("keeps the first list error and still shows the lists that were read", async () => {
    const store = new Rbac(
      fakeIpc({
        rbacMe: () => Promise.resolve(me([])),
        rbacUsers: () => Promise.reject({ code: "forbidden", message: "needs rbac.read", details: [], remedy: null }),
        rbacGroups: () => Promise.resolve([]),
        rbacRoles: () => Promise.resolve([{ name: "viewer", builtin: true, permissions: ["tenants.read"] }]),
        rbacBindings: () => Promise.resolve([]),
      }),
    );
    await store.load("ops");
    expect(store.error?.message).toBe("needs rbac.read");
    expect(store.roles.map((r) => r.name)).toEqual(["viewer"]);
  });
});

describe("the permissions matrix", () => {
  const columns: WhoCanView[] = [
    {
      permission: "tenants.read",
      tenant: null,
      holders: [
        { subject: "user:bob@example.com", paths: [{ group: "group:sre", binding: "b1", role: "viewer", scope: { kind: "platform" } }] },
        { subject: "user:cy@example.com", paths: [{ group: null, binding: "b2", role: "viewer", scope: { kind: "tenant", tenant: "id-acme", slug: "acme" } }] },
      ],
    },
    {
      permission: "rbac.write",
      tenant: null,
      holders: [{ subject: "user:ann@example.com", paths: [{ group: null, binding: "b3", role: "platform-admin", scope: { kind: "platform" } }] }],
    },
  ];

  it("on the platform shows only what is held there, with each cell's grant paths", () => {
    const m = matrixOf(columns, { kind: "platform" });
    expect(m.subjects).toEqual(["user:ann@example.com", "user:bob@example.com"]);
    expect(m.paths("user:bob@example.com", "tenants.read").map(describePath)).toEqual(["group:sre → binding b1 → role viewer on platform"]);
    expect(m.paths("user:bob@example.com", "rbac.write")).toEqual([]);
  });

  it("on a tenant shows every way it is held there", () => {
    const m = matrixOf(columns, { kind: "tenant", tenant: "acme" });
    expect(m.subjects).toContain("user:cy@example.com");
    expect(m.paths("user:cy@example.com", "tenants.read").map(describePath)).toEqual(["binding b2 → role viewer on tenant acme"]);
  });
});

describe("users and groups edited from the window", () => {
  const ann: User = { id: "u-ann", email: "ann@example.com", display_name: "Ann", status: "active", created_at: "2026-11-24T10:00:00Z" };

  /** A fake server: a user list that grows, counting list reads. */
  function server() {
    const state = { users: [] as User[], groups: [] as Group[], reads: 0, keys: [] as string[] };
    const ipc: Partial<Ipc> = {
      rbacMe: () => Promise.resolve(me(["rbac.read", "rbac.write"])),
      rbacRoles: () => Promise.resolve([]),
      rbacBindings: () => Promise.resolve([]),
      rbacUsers: () => {
        state.reads++;
        return Promise.resolve(state.users);
      },
      rbacGroups: () => Promise.resolve(state.groups),
    };
    return { state, ipc };
  }

  it("keeps the server's errors at their fields and sends the same key when the same user is sent again", async () => {
    const { state, ipc } = server();
    let calls = 0;
    let uuids = 0;
    const store = new Rbac(
      fakeIpc({
        ...ipc,
        rbacUserCreate: (_p, body, key) => {
          calls++;
          state.keys.push(key);
          if (calls === 1) {
            return Promise.reject({
              code: "validation",
              message: "the request is invalid",
              details: [
                { field: "email", message: "must be an email address" },
                { field: "display_name", message: "must not be empty" },
              ],
              remedy: null,
            });
          }
          const user: User = { ...ann, email: body.email, display_name: body.display_name };
          state.users = [user];
          return Promise.resolve(user);
        },
      }),
      () => `key-${++uuids}`,
    );
    await store.load("ops");
    const readsBefore = state.reads;
    expect(await store.createUser({ email: "ann", display_name: "" })).toBeNull();
    expect(store.userErrors?.byField).toEqual({ email: "Must be an email address.", display_name: "Must not be empty." });
    expect(store.userErrors?.general).toBeNull();
    // A failed send of an unchanged form is a retry of the same intent.
    await store.createUser({ email: "ann", display_name: "" });
    expect(state.keys[0]).toBe(state.keys[1]);
    const created = await store.createUser({ email: "ann@example.com", display_name: "Ann" });
    expect(created?.email).toBe("ann@example.com");
    expect(store.userErrors).toBeNull();
    expect(state.keys[2]).not.toBe(state.keys[1]);
    // The list is read again after the change.
    expect(state.reads).toBeGreaterThan(readsBefore);
    expect(store.users.map((u) => u.email)).toEqual(["ann@example.com"]);
  });

  it("puts a taken email or group name at its field, and other refusals above the form", () => {
    const taken = { code: "name_taken", message: "a user named `ann@example.com` already exists", details: [], remedy: null };
    expect(refusal(taken, USER_FIELDS, "email")).toEqual({
      byField: { email: "A user named \u201cann@example.com\u201d already exists." },
      other: [],
      general: null,
    });
    expect(refusal({ ...taken, message: "a group named `sre` already exists" }, GROUP_FIELDS, "name").byField.name).toBe(
      "A group named \u201csre\u201d already exists.",
    );
    const forbidden = refusal({ code: "forbidden", message: "needs rbac.write", details: [], remedy: null }, USER_FIELDS, "email");
    expect(forbidden.byField).toEqual({});
    expect(forbidden.general).toContain("Needs rbac.write.");
  });

  it("starts one request for a double click and is busy until it ends", async () => {
    const { state, ipc } = server();
    state.users = [ann];
    let release: () => void = () => {};
    const sent: UpdateUser[] = [];
    const store = new Rbac(
      fakeIpc({
        ...ipc,
      rbacUserUpdate: (_p, _user, body) => {
        sent.push(body);
        return new Promise((resolve) => {
          release = () => {
            state.users = [{ ...ann, status: body.status ?? ann.status }];
            resolve(state.users[0] as User);
          };
        });
      },
      }),
    );
    await store.load("ops");
    const first = store.setUserStatus(ann, "disabled");
    const second = store.setUserStatus(ann, "disabled");
    expect(store.isBusy("user:u-ann")).toBe(true);
    expect(await second).toBeNull();
    release();
    await first;
    expect(sent).toHaveLength(1);
    expect(store.isBusy("user:u-ann")).toBe(false);
    expect(store.users[0]?.status).toBe("disabled");
  });

  it("keeps a group's field errors, and adds, removes and deletes with the lists read again", async () => {
    const { state, ipc } = server();
    state.users = [ann];
    const sre: Group = { id: "g-sre", name: "sre", external_name: null, members: [], created_at: "2026-11-24T10:00:00Z" };
    const calls: string[] = [];
    const store = new Rbac(
      fakeIpc({
        ...ipc,
      rbacGroupCreate: (_p, body) => {
        if (body.name === "") {
          return Promise.reject({ code: "validation", message: "invalid", details: [{ field: "name", message: "must not be empty" }], remedy: null });
        }
        state.groups = [sre];
        return Promise.resolve(sre);
      },
      rbacGroupAddMember: (_p, group, user) => {
        calls.push(`add ${group} ${user}`);
        state.groups = [{ ...sre, members: ["u-ann"] }];
        return Promise.resolve(state.groups[0] as Group);
      },
      rbacGroupRemoveMember: (_p, group, user, typed) => {
        calls.push(`remove ${group} ${user} ${typed}`);
        state.groups = [sre];
        return Promise.resolve(sre);
      },
      rbacGroupDelete: (_p, group, typed) => {
        calls.push(`delete ${group} ${typed}`);
        state.groups = [];
        return Promise.resolve(null);
      },
      }),
    );
    await store.load("ops");
    expect(await store.createGroup({ name: "" })).toBeNull();
    expect(store.groupErrors?.byField.name).toBe("Must not be empty.");
    await store.createGroup({ name: "sre", external_name: "SRE Team" });
    expect(store.groupErrors).toBeNull();
    expect(store.groups.map((g) => g.name)).toEqual(["sre"]);
    await store.addMember(sre, "ann@example.com");
    expect(store.groups[0]?.members.map((m) => store.email(m))).toEqual(["ann@example.com"]);
    await store.removeMember(sre, "ann@example.com", "ann@example.com");
    expect(store.groups[0]?.members).toEqual([]);
    await store.deleteGroup(sre, null);
    expect(store.groups).toEqual([]);
    expect(calls).toEqual(["add sre ann@example.com", "remove sre ann@example.com ann@example.com", "delete sre null"]);
  });

  it("keeps a refused display name for its user, and a deletion's refusal reaches the caller", async () => {
    const { state, ipc } = server();
    state.users = [ann];
    const store = new Rbac(
      fakeIpc({
        ...ipc,
      rbacUserUpdate: () =>
        Promise.reject({ code: "validation", message: "invalid", details: [{ field: "display_name", message: "is too long" }], remedy: null }),
      rbacUserDelete: () =>
        Promise.reject({
          code: "confirmation_required",
          message: "type the email",
          details: [],
          remedy: { kind: "confirm", target: "ann@example.com" },
        }),
      }),
    );
    await store.load("ops");
    expect(await store.renameUser(ann, "x".repeat(300))).toBeNull();
    expect(store.renameErrors).toEqual({ user: "u-ann", errors: { byField: { display_name: "Is too long." }, other: [], general: null } });
    await expect(store.deleteUser(ann, null)).rejects.toMatchObject({ code: "confirmation_required" });
    expect(store.users).toEqual([ann]);
    expect(store.isBusy("user:u-ann")).toBe(false);
  });

  it("offers the users the server finds for the member picker, the latest search winning", async () => {
    const { ipc } = server();
    const answers: Array<(u: User[]) => void> = [];
    const store = new Rbac(
      fakeIpc({
        ...ipc,
      rbacUsersMatching: () => new Promise((resolve) => answers.push(resolve)),
      }),
    );
    await store.load("ops");
    const older = store.searchUsers("a");
    const newer = store.searchUsers("ann");
    answers[1]?.([ann]);
    await newer;
    answers[0]?.([]);
    await older;
    expect(store.matches).toEqual([ann]);
    await store.searchUsers("  ");
    expect(store.matches).toEqual([]);
  });
});
