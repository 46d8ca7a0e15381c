-- The name as searches compare it: lower-cased and in NFC, computed in Rust
-- so that SQLite (whose LOWER knows only ASCII) and PostgreSQL agree.
-- NULL until the server fills it in, which it does for every row at start.
ALTER TABLE tenants ADD COLUMN search_name TEXT;
