-- Searching 100,000 tenants for a piece of a name without reading every
-- row: a trigram index (pg_trgm, a trusted extension that the database's
-- owner may create) over slug and search name. Keep it in step with
-- ../sqlite/0010_tenant_search_index.sql.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX tenants_search_trgm ON tenants
    USING gin ((slug || ' ' || COALESCE(search_name, '')) gin_trgm_ops);
