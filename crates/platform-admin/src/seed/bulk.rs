//! A large platform for benchmarks: `seed-demo --tenants 100000 --users
//! 200000 --bindings 1000000`. Rows are written many to a statement inside
//! one transaction per batch, and every row is keyed (slug, email, a fixed
//! id), so running it again adds nothing and an interrupted run is finished
//! by the next one.

use chrono::{DateTime, Duration, Utc};
use opsdeck_api::rbac::BuiltinRole;
use std::collections::HashMap;

use opsdeck_api::tenants::{Labels, Tenant, TenantStatus};
use sqlx::Row as _;
use uuid::Uuid;

use super::{demo_branding, demo_tenant, ACTOR, MAX_COUNT, PLANS};
use crate::audit::store::NewRecord;
use crate::db::{self, Db};
use crate::error::Error;
use crate::tenants::store;

/// What to load; each count is a total, not an addition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scale {
    pub tenants: usize,
    pub users: usize,
    pub bindings: usize,
}

/// How many rows of each kind a run inserted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inserted {
    pub tenants: u64,
    pub labels: u64,
    pub users: u64,
    pub groups: u64,
    pub members: u64,
    pub bindings: u64,
}

impl Inserted {
    fn any(&self) -> bool {
        self.tenants + self.labels + self.users + self.groups + self.members + self.bindings > 0
    }
}

/// Users per group: teams of about this size, each user in one.
const GROUP_SIZE: usize = 50;

/// Every this many bindings, one goes to a group instead of a user.
const GROUP_BINDING_EVERY: usize = 10;

/// Bindings at platform scope; the rest are on one tenant each.
const PLATFORM_BINDINGS: usize = 20;

/// The roles tenant-scoped bindings cycle through.
const TENANT_ROLES: [BuiltinRole; 4] = [
    BuiltinRole::Viewer,
    BuiltinRole::TenantAdmin,
    BuiltinRole::Operator,
    BuiltinRole::IncidentCommander,
];

/// Rows per statement: under SQLite's 32,766 bound values for the widest
/// row (12 columns), and large enough that a million rows is quick.
const BATCH: usize = 1000;

/// Tenant `i` of a large set: the demo tenants first, then the same names
/// numbered (`Acme Analytics 2`), created ten minutes apart.
pub fn tenant(i: usize) -> Tenant {
    if i < MAX_COUNT {
        return demo_tenant(i);
    }
    let base = demo_tenant(i % MAX_COUNT);
    let round = i / MAX_COUNT + 1;
    let minutes = i64::try_from(i).unwrap_or(i64::MAX / 600) * 10;
    let created_at = base_time() + Duration::minutes(minutes);
    let plan = PLANS[(i / 3) % PLANS.len()];
    let (accent_color, labels) = demo_branding(i);
    Tenant {
        id: crate::audit::store::historic_id(created_at).to_string(),
        slug: format!("{}-{round}", base.slug),
        name: format!("{} {round}", base.name),
        plan,
        status: if i % 13 == 5 {
            TenantStatus::Suspended
        } else {
            TenantStatus::Active
        },
        quotas: plan.default_quotas(),
        accent_color,
        labels,
        created_at,
        updated_at: created_at,
    }
}

fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default() // 2024-01-01T00:00:00Z
}

/// A fixed id per (kind, index), shaped like the v7 ids the server makes,
/// so a second run finds the row it would insert.
fn fixed_id(kind: u8, i: usize) -> String {
    let index = u128::try_from(i).unwrap_or(u128::MAX) & 0xFFFF_FFFF_FFFF;
    let id = (0x0190_0000_0000_7000_8000_0000_0000_0000_u128 | (u128::from(kind) << 56)) | index;
    Uuid::from_u128(id).to_string()
}

pub fn user_email(i: usize) -> String {
    format!("user-{i:06}@demo.opsdeck.test")
}

pub fn group_name(g: usize) -> String {
    format!("team-{g:05}")
}

/// Loads `scale`, reporting each kind's progress through `progress`
/// (kind, done, total).
pub async fn seed(
    db: &Db,
    scale: Scale,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<Inserted, Error> {
    let mut inserted = Inserted::default();
    let now = db::timestamp(db::now());

    for start in (0..scale.tenants).step_by(BATCH) {
        let end = (start + BATCH).min(scale.tenants);
        let tenants: Vec<Tenant> = (start..end).map(tenant).collect();
        inserted.tenants += insert_rows(
            db,
            "tenants",
            store::INSERT_COLUMNS,
            "slug",
            tenants.len(),
            |query, k| store::bind_row(query, &tenants[k]),
        )
        .await?;
        progress("tenants", end, scale.tenants);
    }

    for start in (0..scale.users).step_by(BATCH) {
        let end = (start + BATCH).min(scale.users);
        inserted.users += insert_rows(
            db,
            "rbac_users",
            "id, email, display_name, status, created_at",
            "email",
            end - start,
            |query, k| {
                let i = start + k;
                query
                    .bind(fixed_id(1, i))
                    .bind(user_email(i))
                    .bind(format!("Demo user {i}"))
                    .bind(if i % 50 == 7 { "disabled" } else { "active" })
                    .bind(now.clone())
            },
        )
        .await?;
        progress("users", end, scale.users);
    }

    let groups = scale.users.div_ceil(GROUP_SIZE);
    for start in (0..groups).step_by(BATCH) {
        let end = (start + BATCH).min(groups);
        inserted.groups += insert_rows(
            db,
            "rbac_groups",
            "id, name, external_name, created_at",
            "name",
            end - start,
            |query, k| {
                let g = start + k;
                query
                    .bind(fixed_id(2, g))
                    .bind(group_name(g))
                    .bind(format!("cn={},ou=teams,dc=demo", group_name(g)))
                    .bind(now.clone())
            },
        )
        .await?;
    }
    for start in (0..scale.users).step_by(BATCH) {
        let end = (start + BATCH).min(scale.users);
        inserted.members += insert_rows(
            db,
            "rbac_group_members",
            "group_id, user_id",
            "group_id, user_id",
            end - start,
            |query, k| {
                let i = start + k;
                query.bind(fixed_id(2, i / GROUP_SIZE)).bind(fixed_id(1, i))
            },
        )
        .await?;
        progress("group members", end, scale.users);
    }

    if scale.bindings > 0 && (scale.users == 0 || scale.tenants == 0) {
        return Err(Error::invalid(
            "bindings",
            "bindings need users and tenants to bind",
        ));
    }
    // By the ids stored: a tenant seeded before has its own.
    let tenant_ids = tenant_ids(db, scale.tenants).await?;
    for start in (0..scale.tenants).step_by(BATCH) {
        let end = (start + BATCH).min(scale.tenants);
        let labelled: Vec<(&str, Labels)> = (start..end)
            .map(|i| (tenant_ids[i].as_str(), demo_branding(i).1))
            .collect();
        inserted.labels += insert_labels(db, &labelled).await?;
        progress("tenant labels", end, scale.tenants);
    }
    for start in (0..scale.bindings).step_by(BATCH) {
        let end = (start + BATCH).min(scale.bindings);
        inserted.bindings += insert_rows(
            db,
            "rbac_bindings",
            "id, subject_kind, subject_id, role, tenant_id, created_at",
            "id",
            end - start,
            |query, k| {
                let j = start + k;
                let (kind, subject) = if j % GROUP_BINDING_EVERY == GROUP_BINDING_EVERY - 1 {
                    ("group", fixed_id(2, (j / GROUP_BINDING_EVERY) % groups))
                } else {
                    ("user", fixed_id(1, j % scale.users))
                };
                let (role, tenant) = if j < PLATFORM_BINDINGS {
                    (BuiltinRole::Viewer, None)
                } else {
                    // Spread over every tenant: a stride prime to any count
                    // below a billion visits them all before repeating.
                    let t = (j.wrapping_mul(7919)) % tenant_ids.len();
                    (
                        TENANT_ROLES[j % TENANT_ROLES.len()],
                        Some(tenant_ids[t].clone()),
                    )
                };
                query
                    .bind(fixed_id(3, j))
                    .bind(kind)
                    .bind(subject)
                    .bind(role.as_str())
                    .bind(tenant)
                    .bind(now.clone())
            },
        )
        .await?;
        progress("bindings", end, scale.bindings);
    }

    if inserted.any() {
        // Fresh statistics, so that the planners pick the indexes for the
        // size the tables now have (SQLite has none until asked).
        sqlx::query("ANALYZE").execute(db.pool()).await?;
        let after = serde_json::json!({
            "tenants": inserted.tenants,
            "tenant_labels": inserted.labels,
            "users": inserted.users,
            "groups": inserted.groups,
            "group_members": inserted.members,
            "bindings": inserted.bindings,
        })
        .to_string();
        let mut tx = db.begin().await?;
        crate::audit::store::insert(
            &mut tx,
            &NewRecord {
                id: Uuid::now_v7(),
                at: db::now(),
                actor: ACTOR,
                action: "platform.seed",
                target: "platform",
                tenant_id: None,
                before: None,
                after: Some(&after),
                request_id: ACTOR,
                idempotency_key: None,
            },
        )
        .await?;
        tx.commit().await?;
    }
    Ok(inserted)
}

/// Ids of the first `count` tenants of the set, in set order.
async fn tenant_ids(db: &Db, count: usize) -> Result<Vec<String>, Error> {
    let mut by_slug = std::collections::HashMap::with_capacity(count);
    for row in sqlx::query("SELECT id, slug FROM tenants")
        .fetch_all(db.pool())
        .await?
    {
        let slug: String = row.try_get("slug")?;
        let id: String = row.try_get("id")?;
        by_slug.insert(slug, id);
    }
    (0..count)
        .map(|i| {
            let slug = tenant(i).slug;
            by_slug
                .remove(&slug)
                .ok_or_else(|| Error::Corrupt(format!("tenant {slug} was not stored")))
        })
        .collect()
}

/// Inserts the labels of many tenants in one statement, keeping those a
/// tenant has already; returns how many were new. The demo set's labels
/// are few distinct pairs, so each pair and each tenant id is bound once
/// and its parameter named again in every row that uses it: a third of the
/// values a row-by-row statement would bind.
async fn insert_labels(db: &Db, tenants: &[(&str, Labels)]) -> Result<u64, Error> {
    let mut values: Vec<String> = Vec::new();
    let mut pairs: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    let mut rows = Vec::new();
    for (tenant_id, labels) in tenants {
        if labels.is_empty() {
            continue;
        }
        values.push((*tenant_id).to_string());
        let id = values.len();
        for (key, value) in labels {
            let (k, v) = *pairs.entry((key, value)).or_insert_with(|| {
                values.push(key.clone());
                values.push(value.clone());
                (values.len() - 1, values.len())
            });
            rows.push(format!("(${id}, ${k}, ${v})"));
        }
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "INSERT INTO tenant_labels ({}) VALUES {} ON CONFLICT (tenant_id, key) DO NOTHING",
        store::LABEL_COLUMNS,
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for value in &values {
        query = query.bind(value.as_str());
    }
    let mut tx = db.begin().await?;
    let done = query.execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

type Statement<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// One `INSERT … VALUES (…), (…) ON CONFLICT (key) DO NOTHING` of `rows`
/// rows; `bind` binds row `k`'s values in column order. Returns how many
/// were new.
async fn insert_rows<F>(
    db: &Db,
    table: &str,
    columns: &str,
    key: &str,
    rows: usize,
    bind: F,
) -> Result<u64, Error>
where
    F: for<'q> Fn(Statement<'q>, usize) -> Statement<'q>,
{
    if rows == 0 {
        return Ok(0);
    }
    let width = columns.split(',').count();
    let mut n = 0;
    let values: Vec<String> = (0..rows)
        .map(|_| {
            let row: Vec<String> = (0..width)
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({columns}) VALUES {} ON CONFLICT ({key}) DO NOTHING",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for k in 0..rows {
        query = bind(query, k);
    }
    let mut tx = db.begin().await?;
    let done = query.execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdeck_api::validation::check_slug;
    use std::collections::HashSet;

    #[test]
    fn a_large_set_has_distinct_valid_slugs_and_starts_with_the_demo_set() {
        let mut slugs = HashSet::new();
        for i in 0..(MAX_COUNT * 4) {
            let slug = tenant(i).slug;
            let mut errors = Vec::new();
            check_slug("slug", &slug, &mut errors);
            assert!(errors.is_empty(), "{slug}: {errors:?}");
            assert!(slugs.insert(slug.clone()), "duplicate {slug}");
        }
        assert_eq!(tenant(5).slug, demo_tenant(5).slug);
    }

    #[test]
    fn fixed_ids_differ_by_kind_and_index_and_parse_as_uuids() {
        let ids: HashSet<String> = [(1, 0), (1, 1), (2, 0), (3, 999_999)]
            .iter()
            .map(|&(k, i)| fixed_id(k, i))
            .collect();
        assert_eq!(ids.len(), 4);
        for id in ids {
            assert!(Uuid::parse_str(&id).is_ok(), "{id}");
        }
    }
}
