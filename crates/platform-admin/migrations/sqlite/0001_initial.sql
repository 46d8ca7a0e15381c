-- Platform Admin schema, SQLite flavour. Keep it in step with
-- ../postgres/0001_initial.sql: the server runs the same queries on both.
-- Timestamps are RFC 3339 text in UTC with milliseconds (fixed width), so
-- they sort the same as text on both databases.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    plan TEXT NOT NULL CHECK (plan IN ('free', 'team', 'business', 'enterprise')),
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    max_users INTEGER NOT NULL,
    storage_gib INTEGER NOT NULL,
    requests_per_minute INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- The slug's uniqueness is enforced here, not by a check before insert:
-- two concurrent creates must end in one success and one conflict.
CREATE UNIQUE INDEX tenants_slug ON tenants (slug);

CREATE TABLE audit_records (
    id TEXT PRIMARY KEY NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX audit_records_target ON audit_records (target, id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE idempotency_keys (
    token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    -- NULL while the first request with this key is still running.
    status INTEGER,
    body TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (token_id, idem_key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
