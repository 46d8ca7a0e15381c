-- Last tenant list seen per profile, shown (marked stale) when the server is unreachable.
CREATE TABLE tenant_cache (
    profile    TEXT PRIMARY KEY NOT NULL,
    fetched_at TEXT NOT NULL,
    tenants    TEXT NOT NULL
);
