-- The cached tenant list belongs to the server a profile points at, not to
-- the profile's name: a profile whose URL changed, or that was removed and
-- added again for another server, must never show the old server's tenants.
-- The old rows cannot be tied to a server from here (the URLs live in
-- profiles.toml), so they are dropped: it is a cache, the next live list
-- fills it again.
DROP TABLE tenant_cache;

CREATE TABLE tenant_cache (
    -- The normalised admin API URL (see `store::server_key`).
    server     TEXT PRIMARY KEY NOT NULL,
    fetched_at TEXT NOT NULL,
    tenants    TEXT NOT NULL
);
