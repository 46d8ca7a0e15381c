//! A deterministic demo data set of tenants (varied plans, quotas,
//! statuses, labels and accent colours, with their audit history) for the
//! sandbox and screenshots. Seeding twice adds nothing: tenants are keyed
//! by slug.

use chrono::{DateTime, Duration, Utc};
use opsdeck_api::tenants::{Labels, Plan, Tenant, TenantStatus};

use crate::audit::store::{historic_id, NewRecord};
use crate::db::Db;
use crate::error::Error;
use crate::tenants::store;

pub mod bulk;

const FIRST: [&str; 24] = [
    "Acme",
    "Northwind",
    "Bluefin",
    "Copperleaf",
    "Driftwood",
    "Evergreen",
    "Foxglove",
    "Granite",
    "Harbor",
    "Ironbark",
    "Juniper",
    "Kestrel",
    "Lakeside",
    "Meridian",
    "Nimbus",
    "Oakridge",
    "Pinecrest",
    "Quarry",
    "Redwood",
    "Silverline",
    "Tidewater",
    "Umber",
    "Vantage",
    "Willow",
];

const SECOND: [&str; 12] = [
    "Analytics",
    "Logistics",
    "Health",
    "Labs",
    "Systems",
    "Retail",
    "Energy",
    "Finance",
    "Media",
    "Robotics",
    "Foods",
    "Travel",
];

/// How many distinct demo tenants there are.
pub const MAX_COUNT: usize = FIRST.len() * SECOND.len();

/// Actor and request id of the seeded audit records.
pub const ACTOR: &str = "seed-demo";

/// More teams than enterprises, as on a real platform.
const PLANS: [Plan; 10] = [
    Plan::Team,
    Plan::Free,
    Plan::Business,
    Plan::Team,
    Plan::Enterprise,
    Plan::Free,
    Plan::Team,
    Plan::Business,
    Plan::Team,
    Plan::Free,
];

const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];

/// Mostly production, as on a real platform.
const ENVS: [&str; 5] = ["prod", "prod", "staging", "prod", "dev"];

const TEAMS: [&str; 5] = ["payments", "platform", "data", "growth", "search"];

const ACCENTS: [&str; 6] = [
    "#0a7cff", "#e5484d", "#30a46c", "#f76b15", "#8e4ec6", "#12a594",
];

/// The accent colour and labels of tenant `i` of any demo set: every one
/// has a region and an env, three in four a team, one in three a colour.
pub fn demo_branding(i: usize) -> (Option<String>, Labels) {
    let mut labels = Labels::new();
    labels.insert("region".into(), REGIONS[i % REGIONS.len()].into());
    labels.insert("env".into(), ENVS[(i / 3) % ENVS.len()].into());
    if i % 4 != 3 {
        labels.insert("team".into(), TEAMS[(i / 2) % TEAMS.len()].into());
    }
    let accent = i
        .is_multiple_of(3)
        .then(|| ACCENTS[(i / 3) % ACCENTS.len()].to_string());
    (accent, labels)
}

/// The `i`-th demo tenant: the same on every run but for its random id.
pub fn demo_tenant(i: usize) -> Tenant {
    let first = i % FIRST.len();
    // Every `i` below MAX_COUNT gets its own (first, second) pair.
    let second = (first + i / FIRST.len()) % SECOND.len();
    let name = format!("{} {}", FIRST[first], SECOND[second]);
    let slug = name.to_lowercase().replace(' ', "-");
    let plan = PLANS[i % PLANS.len()];
    let status = if i % 9 == 4 {
        TenantStatus::Suspended
    } else {
        TenantStatus::Active
    };
    let mut quotas = plan.default_quotas();
    if i % 7 == 3 {
        // Some customers negotiated more seats than their plan gives.
        quotas.max_users *= 2;
    }
    let (accent_color, labels) = demo_branding(i);
    let step = i32::try_from(i).unwrap_or(i32::MAX);
    let created_at = base_time()
        + Duration::hours(61 * i64::from(step))
        + Duration::minutes(17 * i64::from(step));
    Tenant {
        id: historic_id(created_at).to_string(),
        slug,
        name,
        plan,
        status,
        quotas,
        accent_color,
        labels,
        created_at,
        updated_at: match status {
            TenantStatus::Suspended => suspended_at(created_at),
            TenantStatus::Active => created_at,
        },
    }
}

fn suspended_at(created_at: DateTime<Utc>) -> DateTime<Utc> {
    created_at + Duration::days(20)
}

fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default() // 2024-01-01T00:00:00Z
}

/// Inserts the first `count` demo tenants that are not there yet, each with
/// its audit history, and returns how many were inserted.
pub async fn seed_demo(db: &Db, count: usize) -> Result<usize, Error> {
    let mut inserted = 0;
    for i in 0..count.min(MAX_COUNT) {
        let tenant = demo_tenant(i);
        let mut tx = db.begin().await?;
        if !store::insert_if_absent(&mut tx, &tenant).await? {
            continue;
        }
        let target = format!("tenant:{}", tenant.slug);
        let mut history = vec![(tenant.created_at, "tenant.create")];
        if tenant.status == TenantStatus::Suspended {
            history.push((suspended_at(tenant.created_at), "tenant.suspend"));
        }
        for (at, action) in history {
            let record = NewRecord {
                id: historic_id(at),
                at,
                actor: ACTOR,
                action,
                target: &target,
                tenant_id: Some(tenant.id.as_str()),
                before: None,
                after: None,
                request_id: ACTOR,
                idempotency_key: None,
            };
            crate::audit::store::insert(&mut tx, &record).await?;
        }
        tx.commit().await?;
        inserted += 1;
    }
    tracing::info!(inserted, requested = count, "demo tenants seeded");
    Ok(inserted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdeck_api::validation::check_slug;
    use std::collections::HashSet;

    #[test]
    fn every_demo_tenant_is_distinct_and_valid() {
        let mut slugs = HashSet::new();
        for i in 0..MAX_COUNT {
            let slug = demo_tenant(i).slug;
            let mut errors = Vec::new();
            check_slug("slug", &slug, &mut errors);
            assert!(errors.is_empty(), "{slug}: {errors:?}");
            assert!(slugs.insert(slug.clone()), "duplicate {slug}");
        }
    }

    #[test]
    fn demo_branding_is_valid_and_varied() {
        use opsdeck_api::validation::{check_color, check_labels};
        let mut regions = HashSet::new();
        let mut colored = 0;
        for i in 0..MAX_COUNT {
            let tenant = demo_tenant(i);
            let mut errors = Vec::new();
            check_labels("labels", &tenant.labels, &mut errors);
            if let Some(color) = &tenant.accent_color {
                check_color("accent_color", color, &mut errors);
                colored += 1;
            }
            assert!(errors.is_empty(), "{}: {errors:?}", tenant.slug);
            regions.insert(tenant.labels["region"].clone());
            assert_eq!(demo_branding(i), (tenant.accent_color, tenant.labels));
        }
        assert_eq!(regions.len(), REGIONS.len());
        assert!(colored > 0 && colored < MAX_COUNT);
    }

    #[test]
    fn demo_set_mixes_plans_and_statuses() {
        let tenants: Vec<_> = (0..60).map(demo_tenant).collect();
        for plan in Plan::ALL {
            assert!(tenants.iter().any(|t| t.plan == plan), "{plan}");
        }
        assert!(tenants.iter().any(|t| t.status == TenantStatus::Suspended));
        assert!(tenants.iter().any(|t| t.status == TenantStatus::Active));
    }
}
