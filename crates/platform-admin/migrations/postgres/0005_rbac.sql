-- Access control: users, groups, service accounts, custom roles and
-- bindings of a role to a subject on the platform or on one tenant. Keep it
-- in step with ../sqlite/0005_rbac.sql.
--
-- Every existing token becomes a service account of the token's name,
-- bound to `platform-admin` (an `admin` token) or `viewer` (a `viewer`
-- token) on the platform, and keeps working: its id, hash and idempotency
-- keys are untouched.

CREATE TABLE rbac_users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX rbac_users_email ON rbac_users (email);

CREATE TABLE rbac_groups (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    external_name TEXT,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX rbac_groups_name ON rbac_groups (name);

CREATE TABLE rbac_group_members (
    group_id TEXT NOT NULL REFERENCES rbac_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES rbac_users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX rbac_group_members_user ON rbac_group_members (user_id);

CREATE TABLE rbac_service_accounts (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX rbac_service_accounts_name ON rbac_service_accounts (name);

-- Custom roles only: the built-in ones are a table in the code.
CREATE TABLE rbac_roles (
    name TEXT PRIMARY KEY NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE rbac_role_permissions (
    role TEXT NOT NULL REFERENCES rbac_roles (name) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role, permission)
);

-- A subject is a user, a group or a service account by id (not a foreign
-- key: it names one of three tables). `tenant_id` NULL is the platform.
CREATE TABLE rbac_bindings (
    id TEXT PRIMARY KEY NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'group', 'service_account')),
    subject_id TEXT NOT NULL,
    role TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rbac_bindings_subject ON rbac_bindings (subject_kind, subject_id);
CREATE INDEX rbac_bindings_tenant ON rbac_bindings (tenant_id);
CREATE INDEX rbac_bindings_role ON rbac_bindings (role);

INSERT INTO rbac_service_accounts (id, name, created_at)
    SELECT id, name, created_at FROM api_tokens;
INSERT INTO rbac_bindings (id, subject_kind, subject_id, role, tenant_id, created_at)
    SELECT id, 'service_account', id,
           CASE role WHEN 'admin' THEN 'platform-admin' ELSE 'viewer' END,
           NULL, created_at
    FROM api_tokens;

-- A token belongs to a user or to a service account (exactly one), may
-- expire, and may be revoked; a revoked token stays listed.
ALTER TABLE api_tokens ADD COLUMN user_id TEXT REFERENCES rbac_users (id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN service_account_id TEXT REFERENCES rbac_service_accounts (id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT COLLATE "C";
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT COLLATE "C";
UPDATE api_tokens SET service_account_id = id;
ALTER TABLE api_tokens DROP COLUMN role;
