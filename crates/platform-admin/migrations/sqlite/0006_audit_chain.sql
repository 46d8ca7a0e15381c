-- The audit log becomes a hash chain. Keep it in step with
-- ../postgres/0006_audit_chain.sql.
--
-- `seq` is a record's place in the chain (1, 2, 3… without gaps), `hash`
-- the SHA-256 of its canonical encoding, which includes `prev_hash`.
-- Records of the tenant they are about carry the tenant's id: a slug can be
-- reused after a delete, an id cannot.
ALTER TABLE audit_records ADD COLUMN seq INTEGER;
ALTER TABLE audit_records ADD COLUMN tenant_id TEXT;
ALTER TABLE audit_records ADD COLUMN before_state TEXT;
ALTER TABLE audit_records ADD COLUMN after_state TEXT;
ALTER TABLE audit_records ADD COLUMN idempotency_key TEXT;
ALTER TABLE audit_records ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_records ADD COLUMN hash TEXT;

-- Existing records are chained in id (time) order; their hashes are
-- computed by the server when it opens the database (SQL has no SHA-256 on
-- SQLite), which it knows to do because the head's hash is still NULL.
UPDATE audit_records SET seq = numbered.n
    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM audit_records) AS numbered
    WHERE numbered.id = audit_records.id;
-- A record names its tenant only if the tenant of that slug existed when
-- the record was written: the records of a deleted tenant whose slug was
-- taken again stay with no tenant (platform readers only).
UPDATE audit_records SET tenant_id = (
    SELECT t.id FROM tenants t
    WHERE 'tenant:' || t.slug = audit_records.target AND t.created_at <= audit_records.at);

CREATE UNIQUE INDEX audit_records_seq ON audit_records (seq);
CREATE INDEX audit_records_tenant ON audit_records (tenant_id, seq);

-- The head of the chain, one row: every append locks it, so two writers
-- cannot both extend the same record.
CREATE TABLE audit_chain (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT
);
INSERT INTO audit_chain (id, seq, hash)
    SELECT 1, COUNT(*),
           CASE WHEN COUNT(*) = 0 THEN '0000000000000000000000000000000000000000000000000000000000000000' END
    FROM audit_records;
