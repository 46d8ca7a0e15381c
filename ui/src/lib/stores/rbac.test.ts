import { describe, expect, it } from "vitest";

import type { Me, Permission, Role, WhoCanView } from "../../generated/bindings";
import { fakeIpc } from "../testdata";
import { describePath, matrixOf, missing, Rbac } from "./rbac.svelte";

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
