-- Searching 100,000 tenants for a piece of a name without reading every
-- row: a trigram index (FTS5) over slug and search name, kept in step by
-- triggers. Keep it in step with ../postgres/0010_tenant_search_index.sql.
--
-- It carries what a list filters and orders by (slug, status, plan, id),
-- so that a search picks its page from the index alone and reads only
-- that page's rows. Its rows are numbered through `tenant_search_rows`
-- rather than by the tenants' own rowid, which VACUUM may renumber (the
-- table has no INTEGER PRIMARY KEY).
CREATE TABLE tenant_search_rows (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE tenant_search USING fts5(
    text,
    id UNINDEXED,
    slug UNINDEXED,
    status UNINDEXED,
    plan UNINDEXED,
    tokenize = 'trigram'
);

INSERT INTO tenant_search_rows (id) SELECT id FROM tenants ORDER BY slug;
INSERT INTO tenant_search (rowid, text, id, slug, status, plan)
    SELECT r.row, t.slug || ' ' || COALESCE(t.search_name, ''), t.id, t.slug, t.status, t.plan
    FROM tenants t JOIN tenant_search_rows r ON r.id = t.id;

CREATE TRIGGER tenant_search_insert AFTER INSERT ON tenants BEGIN
    INSERT INTO tenant_search_rows (id) VALUES (new.id);
    INSERT INTO tenant_search (rowid, text, id, slug, status, plan)
        VALUES ((SELECT row FROM tenant_search_rows WHERE id = new.id),
                new.slug || ' ' || COALESCE(new.search_name, ''), new.id, new.slug, new.status, new.plan);
END;

CREATE TRIGGER tenant_search_update AFTER UPDATE OF slug, search_name, status, plan ON tenants BEGIN
    DELETE FROM tenant_search WHERE rowid = (SELECT row FROM tenant_search_rows WHERE id = old.id);
    INSERT INTO tenant_search (rowid, text, id, slug, status, plan)
        VALUES ((SELECT row FROM tenant_search_rows WHERE id = new.id),
                new.slug || ' ' || COALESCE(new.search_name, ''), new.id, new.slug, new.status, new.plan);
END;

CREATE TRIGGER tenant_search_delete AFTER DELETE ON tenants BEGIN
    DELETE FROM tenant_search WHERE rowid = (SELECT row FROM tenant_search_rows WHERE id = old.id);
    DELETE FROM tenant_search_rows WHERE id = old.id;
END;
