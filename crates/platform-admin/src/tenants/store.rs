//! SQL of the tenants table and its labels (`tenant_labels`), the one place
//! that knows their columns. Changes to a tenant's row are single
//! statements (`UPDATE … RETURNING`), so concurrent requests cannot lose
//! each other's updates on either database; its labels are replaced whole
//! in the same transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use opsdeck_api::tenants::{
    LabelSelector, Labels, Plan, Quotas, Tenant, TenantStatus, UpdateTenant,
};
// Both the stored `search_name` and the searched text go through the
// contract's `search_text`, so the databases only compare bytes and agree.
use opsdeck_api::validation::search_text;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row as _};
use uuid::Uuid;

use crate::db::{self, Db};
use crate::error::Error;

const COLUMNS: &str = "id, slug, name, plan, status, max_users, storage_gib, requests_per_minute, \
     accent_color, created_at, updated_at";

const INSERT: &str = "INSERT INTO tenants \
    (id, slug, name, plan, status, max_users, storage_gib, requests_per_minute, created_at, updated_at, search_name, accent_color) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

const INSERT_IF_ABSENT: &str = "INSERT INTO tenants \
    (id, slug, name, plan, status, max_users, storage_gib, requests_per_minute, created_at, updated_at, search_name, accent_color) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (slug) DO NOTHING";

/// Columns of `tenant_labels`, in the order [`bind_label`] binds.
pub const LABEL_COLUMNS: &str = "tenant_id, key, value";

/// Labels per statement: three values each, well under SQLite's limit of
/// bound values.
const LABEL_BATCH: usize = 500;

/// Fills `search_name` of rows that lack it (written before the column
/// existed, or by an older server); returns how many.
pub async fn backfill_search(db: &Db) -> Result<u64, Error> {
    let mut filled = 0;
    loop {
        let rows = sqlx::query("SELECT id, name FROM tenants WHERE search_name IS NULL LIMIT 500")
            .fetch_all(db.pool())
            .await?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let mut tx = db.begin().await?;
        let mut round = 0;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let name: String = row.try_get("name")?;
            // Only if the name is still the one read: a rename in between
            // has written its own search text.
            let done = sqlx::query(
                "UPDATE tenants SET search_name = $2 WHERE id = $1 AND name = $3 AND search_name IS NULL",
            )
            .bind(&id)
            .bind(search_text(&name))
            .bind(&name)
            .execute(&mut *tx)
            .await?;
            round += done.rows_affected();
        }
        tx.commit().await?;
        if round == 0 {
            return Ok(filled);
        }
        filled += round;
    }
}

/// A tenant named in a path: by id when the segment is a UUID, else by slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRef {
    Id(String),
    Slug(String),
}

impl TenantRef {
    /// The same reading as the contract's `is_tenant_id`, which refuses
    /// slugs of that form, so every tenant can be named by its slug.
    pub fn parse(segment: &str) -> Self {
        match Uuid::parse_str(segment) {
            Ok(id) => TenantRef::Id(id.hyphenated().to_string()),
            Err(_) => TenantRef::Slug(segment.to_string()),
        }
    }

    fn column(&self) -> &'static str {
        match self {
            TenantRef::Id(_) => "id",
            TenantRef::Slug(_) => "slug",
        }
    }

    fn value(&self) -> &str {
        match self {
            TenantRef::Id(v) | TenantRef::Slug(v) => v,
        }
    }
}

impl std::fmt::Display for TenantRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.value())
    }
}

/// Inserts a new tenant with its labels; a taken slug is `SlugTaken`,
/// decided by the unique index so that racing creates cannot both win.
pub async fn insert(conn: &mut AnyConnection, tenant: &Tenant) -> Result<(), Error> {
    match insert_statement(INSERT, tenant).execute(&mut *conn).await {
        Ok(_) => insert_labels(conn, &tenant.id, &tenant.labels).await,
        Err(err) if db::is_unique_violation(&err) => Err(Error::SlugTaken(tenant.slug.clone())),
        Err(err) => Err(err.into()),
    }
}

/// Inserts unless the slug exists (with its labels); true when inserted.
pub async fn insert_if_absent(conn: &mut AnyConnection, tenant: &Tenant) -> Result<bool, Error> {
    let done = insert_statement(INSERT_IF_ABSENT, tenant)
        .execute(&mut *conn)
        .await?;
    let inserted = done.rows_affected() == 1;
    if inserted {
        insert_labels(conn, &tenant.id, &tenant.labels).await?;
    }
    Ok(inserted)
}

/// Adds `labels` to the tenant of id `tenant_id`, many to a statement.
async fn insert_labels(
    conn: &mut AnyConnection,
    tenant_id: &str,
    labels: &Labels,
) -> Result<(), Error> {
    let labels: Vec<(&String, &String)> = labels.iter().collect();
    for chunk in labels.chunks(LABEL_BATCH) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO tenant_labels ({LABEL_COLUMNS}) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (key, value) in chunk {
            query = bind_label(query, tenant_id, key, value);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Binds one label's values of [`LABEL_COLUMNS`], in order.
fn bind_label<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    tenant_id: &str,
    key: &str,
    value: &str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(tenant_id.to_string())
        .bind(key.to_string())
        .bind(value.to_string())
}

/// The labels of each of these tenants, in one query: a page of a list
/// costs one read of labels, not one per tenant.
async fn labels_of(
    conn: &mut AnyConnection,
    ids: &[&str],
) -> Result<HashMap<String, Labels>, Error> {
    let mut found: HashMap<String, Labels> = HashMap::new();
    if ids.is_empty() {
        return Ok(found);
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT tenant_id, key, value FROM tenant_labels WHERE tenant_id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let tenant: String = row.try_get("tenant_id")?;
        found
            .entry(tenant)
            .or_default()
            .insert(row.try_get("key")?, row.try_get("value")?);
    }
    Ok(found)
}

/// `tenants` with their labels filled in.
async fn with_labels(
    conn: &mut AnyConnection,
    mut tenants: Vec<Tenant>,
) -> Result<Vec<Tenant>, Error> {
    let ids: Vec<&str> = tenants.iter().map(|t| t.id.as_str()).collect();
    let mut labels = labels_of(conn, &ids).await?;
    for tenant in &mut tenants {
        tenant.labels = labels.remove(&tenant.id).unwrap_or_default();
    }
    Ok(tenants)
}

/// `tenant` (if any) with its labels filled in.
async fn one_with_labels(
    conn: &mut AnyConnection,
    tenant: Option<Tenant>,
) -> Result<Option<Tenant>, Error> {
    match tenant {
        Some(tenant) => Ok(with_labels(conn, vec![tenant]).await?.pop()),
        None => Ok(None),
    }
}

fn insert_statement<'q>(
    sql: &'static str,
    tenant: &'q Tenant,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    bind_row(sqlx::query(sql), tenant)
}

/// The columns a tenant is inserted with, in the order [`bind_row`] binds.
/// Its labels go into `tenant_labels` ([`LABEL_COLUMNS`]).
pub const INSERT_COLUMNS: &str =
    "id, slug, name, plan, status, max_users, storage_gib, requests_per_minute, created_at, updated_at, search_name, accent_color";

/// Binds `tenant`'s values of [`INSERT_COLUMNS`], in order.
pub fn bind_row<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    tenant: &Tenant,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(tenant.id.clone())
        .bind(tenant.slug.clone())
        .bind(tenant.name.clone())
        .bind(tenant.plan.as_str())
        .bind(tenant.status.as_str())
        .bind(tenant.quotas.max_users)
        .bind(tenant.quotas.storage_gib)
        .bind(tenant.quotas.requests_per_minute)
        .bind(db::timestamp(tenant.created_at))
        .bind(db::timestamp(tenant.updated_at))
        .bind(search_text(&tenant.name))
        .bind(tenant.accent_color.clone())
}

/// The id of the tenant, `None` when there is none.
pub async fn id_of(pool: &AnyPool, tenant: &TenantRef) -> Result<Option<String>, Error> {
    let sql = format!("SELECT id FROM tenants WHERE {} = $1", tenant.column());
    let row = sqlx::query(&sql)
        .bind(tenant.value())
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get("id")).transpose()?)
}

/// (id, slug) of the tenants of these ids that exist.
pub async fn slugs_by_id(pool: &AnyPool, ids: &[String]) -> Result<Vec<(String, String)>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT id, slug FROM tenants WHERE id IN ({}) ORDER BY slug",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id.as_str());
    }
    let rows = query.fetch_all(pool).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("slug")?)))
        .collect()
}

/// The slugs of the tenants of these ids that exist.
pub async fn slugs_of(pool: &AnyPool, ids: &[String]) -> Result<Vec<String>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT slug FROM tenants WHERE id IN ({}) ORDER BY slug",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id.as_str());
    }
    let rows = query.fetch_all(pool).await?;
    rows.iter().map(|row| Ok(row.try_get("slug")?)).collect()
}

pub async fn get(pool: &AnyPool, tenant: &TenantRef) -> Result<Option<Tenant>, Error> {
    get_in(&mut *pool.acquire().await?, tenant).await
}

pub async fn get_in(conn: &mut AnyConnection, tenant: &TenantRef) -> Result<Option<Tenant>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tenants WHERE {} = $1",
        tenant.column()
    );
    let row = sqlx::query(&sql)
        .bind(tenant.value())
        .fetch_optional(&mut *conn)
        .await?;
    let found = row.as_ref().map(from_row).transpose()?;
    one_with_labels(conn, found).await
}

/// The tenant, locked until the transaction ends on PostgreSQL (SQLite's
/// write transactions hold the whole database already): what an `If-Match`
/// is compared with must not change before the update.
pub async fn get_for_update(
    conn: &mut AnyConnection,
    kind: db::DbKind,
    tenant: &TenantRef,
) -> Result<Option<Tenant>, Error> {
    let lock = match kind {
        db::DbKind::Postgres => " FOR UPDATE",
        db::DbKind::Sqlite => "",
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM tenants WHERE {} = $1{lock}",
        tenant.column()
    );
    let row = sqlx::query(&sql)
        .bind(tenant.value())
        .fetch_optional(&mut *conn)
        .await?;
    let found = row.as_ref().map(from_row).transpose()?;
    one_with_labels(conn, found).await
}

/// Which tenants a page lists.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only slugs after this one (the cursor).
    pub after: Option<String>,
    /// Words, each a case-insensitive substring of the slug or the name.
    pub text: Option<String>,
    pub status: Option<TenantStatus>,
    pub plan: Option<Plan>,
    /// Only tenants with every one of these labels.
    pub labels: Vec<LabelSelector>,
    /// Only these tenants (by id); `None` is every tenant.
    pub only: Option<Vec<String>>,
    pub limit: u32,
}

/// Ordered by slug.
///
/// Every word of the search must be in the slug or the name: the rule of
/// core's `TenantFilter`, so a search on the server and one of a cached
/// list offline find the same tenants. A word of three characters or more
/// is found through the trigram index of migration 0010. The index holds
/// `slug || ' ' || search name`; a word has no space, so it is in that text
/// exactly when it is in the slug or in the name. On SQLite the index also
/// carries slug, status, plan and id, so a search picks its page there and
/// reads only that page's rows.
///
/// A label filter is an `id IN` over the `(key, value, tenant_id)` index of
/// `tenant_labels`, its key and value bound as parameters and compared for
/// equality: quotes, `%`, `_` and backslashes in them are only text. The
/// page's labels are then read in one query.
pub async fn list(db: &Db, filter: &ListFilter) -> Result<Vec<Tenant>, Error> {
    let words: Vec<String> = filter
        .text
        .iter()
        .flat_map(|text| text.split_whitespace())
        .map(search_text)
        .collect();
    let through_index = db.kind() == db::DbKind::Sqlite && words.iter().any(|w| indexable(w));
    let mut conditions = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    let mut bind = |value: String| {
        binds.push(value);
        format!("${}", binds.len())
    };
    if let Some(after) = &filter.after {
        conditions.push(format!("slug > {}", bind(after.clone())));
    }
    for word in &words {
        conditions.push(match (db.kind(), indexable(word)) {
            // The index takes no ESCAPE clause; an indexable word has no
            // wildcard to escape.
            (db::DbKind::Sqlite, true) => format!("text LIKE {}", bind(format!("%{word}%"))),
            (db::DbKind::Postgres, true) => format!(
                "(slug || ' ' || COALESCE(search_name, '')) LIKE {}",
                bind(format!("%{word}%"))
            ),
            (db::DbKind::Sqlite, false) if through_index => format!(
                "text LIKE {} ESCAPE '\\'",
                bind(format!("%{}%", db::escape_like(word)))
            ),
            // Slugs are lowercase ASCII already.
            (_, false) => {
                let n = bind(format!("%{}%", db::escape_like(word)));
                format!("(slug LIKE {n} ESCAPE '\\' OR search_name LIKE {n} ESCAPE '\\')")
            }
        });
    }
    if let Some(plan) = filter.plan {
        conditions.push(format!("plan = {}", bind(plan.as_str().to_string())));
    }
    if let Some(status) = filter.status {
        conditions.push(format!("status = {}", bind(status.as_str().to_string())));
    }
    for selector in &filter.labels {
        let key = bind(selector.key.clone());
        conditions.push(match &selector.value {
            Some(value) => format!(
                "id IN (SELECT tenant_id FROM tenant_labels WHERE key = {key} AND value = {})",
                bind(value.clone())
            ),
            None => format!("id IN (SELECT tenant_id FROM tenant_labels WHERE key = {key})"),
        });
    }
    if let Some(only) = &filter.only {
        if only.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = only.iter().map(|id| bind(id.clone())).collect();
        conditions.push(format!("id IN ({})", placeholders.join(", ")));
    }
    let limit = bind(String::new());
    let filtered = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let sql = if through_index {
        format!(
            "SELECT {COLUMNS} FROM tenants WHERE id IN \
             (SELECT id FROM tenant_search{filtered} ORDER BY slug LIMIT {limit}) ORDER BY slug"
        )
    } else {
        format!("SELECT {COLUMNS} FROM tenants{filtered} ORDER BY slug LIMIT {limit}")
    };
    let mut query = sqlx::query(&sql);
    // The last placeholder is the limit, a number.
    for value in &binds[..binds.len() - 1] {
        query = query.bind(value.as_str());
    }
    let mut conn = db.pool().acquire().await?;
    let rows = query
        .bind(i64::from(filter.limit))
        .fetch_all(&mut *conn)
        .await?;
    let tenants = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    with_labels(&mut conn, tenants).await
}

/// Whether the trigram index can find `word`: three characters make a
/// trigram, and LIKE's own wildcards would need an ESCAPE clause, which the
/// index does not take (such searches are rare enough to read every row).
fn indexable(word: &str) -> bool {
    word.chars().count() >= 3 && !word.contains(['%', '_', '\\'])
}

/// Applies the fields `change` names, its labels replacing the tenant's
/// whole; `None` when there is no such tenant.
pub async fn update(
    conn: &mut AnyConnection,
    tenant: &TenantRef,
    change: &UpdateTenant,
    now: DateTime<Utc>,
) -> Result<Option<Tenant>, Error> {
    let quotas = change.quotas.unwrap_or_default();
    // `UpdateTenant::quotas_after` in SQL, so that it reads the row it
    // writes: a quota not named follows a plan change while it is still at
    // the old plan's default. SET expressions see the row as it was.
    let follow = |column: &str, default: fn(Quotas) -> i64| {
        let table = |plan: &str| {
            let arms: String = Plan::ALL
                .iter()
                .map(|p| {
                    format!(
                        " WHEN '{}' THEN {}",
                        p.as_str(),
                        default(p.default_quotas())
                    )
                })
                .collect();
            format!("CASE {plan}{arms} END")
        };
        format!(
            "CASE WHEN $3 IS NOT NULL AND $3 <> plan AND {column} = {old} THEN {new} ELSE {column} END",
            old = table("plan"),
            new = table("$3"),
        )
    };
    let sql = format!(
        "UPDATE tenants SET name = COALESCE($2, name), plan = COALESCE($3, plan), \
         max_users = COALESCE($4, {}), storage_gib = COALESCE($5, {}), \
         requests_per_minute = COALESCE($6, {}), updated_at = $7, \
         search_name = COALESCE($8, search_name), \
         accent_color = CASE WHEN $9 = 1 THEN $10 ELSE accent_color END \
         WHERE {} = $1 RETURNING {COLUMNS}",
        follow("max_users", |q| q.max_users),
        follow("storage_gib", |q| q.storage_gib),
        follow("requests_per_minute", |q| q.requests_per_minute),
        tenant.column()
    );
    let row = sqlx::query(&sql)
        .bind(tenant.value())
        .bind(change.name.as_deref())
        .bind(change.plan.map(Plan::as_str))
        .bind(quotas.max_users)
        .bind(quotas.storage_gib)
        .bind(quotas.requests_per_minute)
        .bind(db::timestamp(now))
        .bind(change.name.as_deref().map(search_text))
        .bind(i64::from(change.accent_color.is_some()))
        .bind(change.accent_color.clone().flatten())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(updated) = row.as_ref().map(from_row).transpose()? else {
        return Ok(None);
    };
    if let Some(labels) = &change.labels {
        sqlx::query("DELETE FROM tenant_labels WHERE tenant_id = $1")
            .bind(updated.id.as_str())
            .execute(&mut *conn)
            .await?;
        insert_labels(conn, &updated.id, labels).await?;
    }
    one_with_labels(conn, Some(updated)).await
}

/// Moves the tenant from `from` to `to`. `None` when no tenant matched:
/// either it does not exist or it is not in `from`.
pub async fn transition(
    conn: &mut AnyConnection,
    tenant: &TenantRef,
    from: TenantStatus,
    to: TenantStatus,
    now: DateTime<Utc>,
) -> Result<Option<Tenant>, Error> {
    let sql = format!(
        "UPDATE tenants SET status = $2, updated_at = $3 WHERE {} = $1 AND status = $4 \
         RETURNING {COLUMNS}",
        tenant.column()
    );
    let row = sqlx::query(&sql)
        .bind(tenant.value())
        .bind(to.as_str())
        .bind(db::timestamp(now))
        .bind(from.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let changed = row.as_ref().map(from_row).transpose()?;
    one_with_labels(conn, changed).await
}

/// Deletes the tenant and its labels; returns it as it was (labels too),
/// or `None` when there was none.
pub async fn delete(conn: &mut AnyConnection, tenant: &TenantRef) -> Result<Option<Tenant>, Error> {
    let sql = format!(
        "DELETE FROM tenants WHERE {} = $1 RETURNING {COLUMNS}",
        tenant.column()
    );
    // Read before the delete takes the labels with it (ON DELETE CASCADE).
    let (id, labels) = match get_in(&mut *conn, tenant).await? {
        Some(found) => (found.id, found.labels),
        None => return Ok(None),
    };
    // The cascade does this too; said here as well so that no label can
    // outlive its tenant on a connection without foreign keys.
    sqlx::query("DELETE FROM tenant_labels WHERE tenant_id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(&sql)
        .bind(tenant.value())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row
        .as_ref()
        .map(from_row)
        .transpose()?
        .map(|deleted| Tenant { labels, ..deleted }))
}

fn from_row(row: &AnyRow) -> Result<Tenant, Error> {
    let plan: String = row.try_get("plan")?;
    let status: String = row.try_get("status")?;
    let created_at: String = row.try_get("created_at")?;
    let updated_at: String = row.try_get("updated_at")?;
    Ok(Tenant {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        plan: plan.parse().map_err(Error::Corrupt)?,
        status: status.parse().map_err(Error::Corrupt)?,
        quotas: Quotas {
            max_users: row.try_get("max_users")?,
            storage_gib: row.try_get("storage_gib")?,
            requests_per_minute: row.try_get("requests_per_minute")?,
        },
        accent_color: row.try_get("accent_color")?,
        labels: Labels::new(),
        created_at: db::parse_timestamp(&created_at)?,
        updated_at: db::parse_timestamp(&updated_at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_ids_and_anything_else_a_slug() {
        let id = "0190F0E2-7C3B-7A6E-9B5D-1F2E3D4C5B6A";
        assert_eq!(TenantRef::parse(id), TenantRef::Id(id.to_lowercase()));
        assert_eq!(TenantRef::parse("acme"), TenantRef::Slug("acme".into()));
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(db::escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
