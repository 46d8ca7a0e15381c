-- Tenant branding and labels. Keep it in step with
-- ../postgres/0017_tenant_branding_labels.sql.

-- `#rrggbb`, NULL when the tenant has no accent colour.
ALTER TABLE tenants ADD COLUMN accent_color TEXT;

-- One row per label; a tenant's labels go with it. Without a rowid, the
-- primary key is the table: one B-tree less to write per label, which the
-- seeding of 100,000 tenants notices.
CREATE TABLE tenant_labels (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
-- A label filter (`key=value` or `key`) finds its tenants here without
-- reading any tenant's row.
CREATE INDEX tenant_labels_key_value ON tenant_labels (key, value, tenant_id);
