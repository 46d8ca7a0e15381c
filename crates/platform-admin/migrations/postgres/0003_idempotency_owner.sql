-- Who is running the first request of a key, and until when it is known to
-- be alive: the owner renews its lease while the request runs; a retry may
-- take over a key whose lease ran out, and the old owner can then no longer
-- complete it (its effect is rolled back with the failed completion).
-- Rows written before these columns existed count as leased for five
-- minutes from their creation.
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT;
ALTER TABLE idempotency_keys ADD COLUMN lease_expires_at TEXT COLLATE "C";
