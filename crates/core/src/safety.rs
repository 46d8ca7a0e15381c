//! Safety rules for changes that take something away. Production is
//! unmistakable: a suspend or delete there, or an update that lowers a quota
//! or the plan, needs the target's slug typed back, exactly. The CLI and the
//! window both ask core, so they never disagree.

use opsdeck_api::tenants::{Plan, Tenant, TenantStatus, UpdateTenant};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::profiles::{Profile, Tier};

/// A lifecycle action on a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum TenantAction {
    Suspend,
    Resume,
    Delete,
}

impl TenantAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantAction::Suspend => "suspend",
            TenantAction::Resume => "resume",
            TenantAction::Delete => "delete",
        }
    }

    /// Whether the action takes something away from the tenant's users.
    pub fn is_destructive(self) -> bool {
        matches!(self, TenantAction::Suspend | TenantAction::Delete)
    }
}

impl std::fmt::Display for TenantAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a preflight can describe: a lifecycle action or an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum TenantOperation {
    Suspend,
    Resume,
    Delete,
    Update,
}

impl TenantOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantOperation::Suspend => "suspend",
            TenantOperation::Resume => "resume",
            TenantOperation::Delete => "delete",
            TenantOperation::Update => "update",
        }
    }
}

impl From<TenantAction> for TenantOperation {
    fn from(action: TenantAction) -> Self {
        match action {
            TenantAction::Suspend => TenantOperation::Suspend,
            TenantAction::Resume => TenantOperation::Resume,
            TenantAction::Delete => TenantOperation::Delete,
        }
    }
}

impl std::fmt::Display for TenantOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field an update changes, as it is and as it will be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct FieldChange {
    /// The field's path, as in field errors (`plan`, `quotas.max_users`).
    pub field: String,
    /// The field's name for people (`max users`).
    pub label: String,
    pub before: String,
    pub after: String,
    /// Whether the change takes something away: a lower quota, a lower plan.
    pub reduces: bool,
}

impl std::fmt::Display for FieldChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.label, self.before, self.after)?;
        if self.reduces {
            f.write_str(" (lower)")?;
        }
        Ok(())
    }
}

/// What an operation will do, shown before it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Preflight {
    pub action: TenantOperation,
    /// Slug of the tenant.
    pub target: String,
    pub tier: Tier,
    /// One paragraph for people: what will happen, where, to whom.
    pub summary: String,
    /// For an update, each field it changes, before and after; empty otherwise.
    pub changes: Vec<FieldChange>,
    /// Text the user must type to go on; set only in production, for an
    /// action that takes something away from the tenant's users.
    pub confirm_text: Option<String>,
}

impl Preflight {
    /// The summary followed by one line per changed field: what the CLI
    /// prints before asking.
    pub fn text(&self) -> String {
        let mut text = self.summary.clone();
        for change in &self.changes {
            text.push_str(&format!("\n  {change}"));
        }
        text
    }
}

// Plain prose, no markup: the window shows it as it is, the CLI prints it.
fn place(profile: &Profile) -> String {
    format!("profile {} ({})", profile.name, profile.tier)
}

fn who(tenant: &Tenant) -> String {
    format!(
        "{} ({}, plan {}, up to {} users)",
        tenant.slug, tenant.name, tenant.plan, tenant.quotas.max_users
    )
}

/// The preflight of `action` on `tenant` in `profile`.
pub fn preflight(profile: &Profile, action: TenantAction, tenant: &Tenant) -> Preflight {
    let (place, who) = (place(profile), who(tenant));
    let summary = match action {
        TenantAction::Suspend => format!(
            "Suspend tenant {who} on {place}. Its users are refused until the tenant is resumed; its data is kept."
        ),
        TenantAction::Resume => format!("Resume tenant {who} on {place}. Its users may sign in again."),
        TenantAction::Delete => format!(
            "Delete tenant {who} on {place}. This cannot be undone.{}",
            if tenant.status == TenantStatus::Active {
                " The tenant is active: its users lose access now."
            } else {
                ""
            }
        ),
    };
    let confirm_text =
        (profile.tier == Tier::Prod && action.is_destructive()).then(|| tenant.slug.clone());
    Preflight {
        action: action.into(),
        target: tenant.slug.clone(),
        tier: profile.tier,
        summary,
        changes: Vec::new(),
        confirm_text,
    }
}

/// Where a plan stands in the order free < team < business < enterprise.
fn plan_rank(plan: Plan) -> usize {
    Plan::ALL.iter().position(|p| *p == plan).unwrap_or(0)
}

/// The fields `patch` changes on `tenant`, with the values the server will
/// keep: quotas the patch names, and on a plan change the quotas still at
/// the old plan's defaults, which move to the new plan's (the contract's
/// rule, `UpdateTenant::quotas_after`).
pub fn update_changes(tenant: &Tenant, patch: &UpdateTenant) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    if let Some(name) = patch.name.as_ref().filter(|n| **n != tenant.name) {
        changes.push(FieldChange {
            field: "name".into(),
            label: "name".into(),
            before: tenant.name.clone(),
            after: name.clone(),
            reduces: false,
        });
    }
    if let Some(plan) = patch.plan.filter(|p| *p != tenant.plan) {
        changes.push(FieldChange {
            field: "plan".into(),
            label: "plan".into(),
            before: tenant.plan.to_string(),
            after: plan.to_string(),
            reduces: plan_rank(plan) < plan_rank(tenant.plan),
        });
    }
    if let Some(color) = patch
        .accent_color
        .as_ref()
        .filter(|c| **c != tenant.accent_color)
    {
        let shown = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".to_string());
        changes.push(FieldChange {
            field: "accent_color".into(),
            label: "accent colour".into(),
            before: shown(&tenant.accent_color),
            after: shown(color),
            reduces: false,
        });
    }
    if let Some(labels) = patch.labels.as_ref().filter(|l| **l != tenant.labels) {
        let shown = |labels: &opsdeck_api::tenants::Labels| {
            if labels.is_empty() {
                "none".to_string()
            } else {
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        changes.push(FieldChange {
            field: "labels".into(),
            label: "labels".into(),
            before: shown(&tenant.labels),
            after: shown(labels),
            reduces: false,
        });
    }
    {
        let after = patch.quotas_after(tenant);
        let before = tenant.quotas;
        for (field, label, was, will) in [
            (
                "quotas.max_users",
                "max users",
                before.max_users,
                after.max_users,
            ),
            (
                "quotas.storage_gib",
                "storage GiB",
                before.storage_gib,
                after.storage_gib,
            ),
            (
                "quotas.requests_per_minute",
                "requests per minute",
                before.requests_per_minute,
                after.requests_per_minute,
            ),
        ] {
            if was != will {
                changes.push(FieldChange {
                    field: field.into(),
                    label: label.into(),
                    before: was.to_string(),
                    after: will.to_string(),
                    reduces: will < was,
                });
            }
        }
    }
    changes
}

/// The preflight of applying `patch` to `tenant` in `profile`: in production,
/// a change that lowers a quota or the plan needs the slug typed.
pub fn update_preflight(profile: &Profile, tenant: &Tenant, patch: &UpdateTenant) -> Preflight {
    let changes = update_changes(tenant, patch);
    let lowered: Vec<&str> = changes
        .iter()
        .filter(|c| c.reduces)
        .map(|c| c.label.as_str())
        .collect();
    let (place, who) = (place(profile), who(tenant));
    let mut summary = if changes.is_empty() {
        format!("Update tenant {who} on {place}: nothing changes.")
    } else if lowered.is_empty() {
        format!("Update tenant {who} on {place}.")
    } else {
        format!(
            "Update tenant {who} on {place}. This lowers its {}: its users may lose what they use now.",
            lowered.join(", ")
        )
    };
    if let Some(plan) = patch.plan.filter(|p| *p != tenant.plan) {
        summary.push_str(&format!(
            " Quotas at the {} plan's defaults move to the {plan} plan's; quotas set by hand are kept.",
            tenant.plan
        ));
    }
    let confirm_text =
        (profile.tier == Tier::Prod && !lowered.is_empty()).then(|| tenant.slug.clone());
    Preflight {
        action: TenantOperation::Update,
        target: tenant.slug.clone(),
        tier: profile.tier,
        summary,
        changes,
        confirm_text,
    }
}

/// What a change to a named target other than a tenant (a backup target's
/// restore, a cluster's switchover) will do, and what must be typed to go
/// on: the window shows it before asking, under the rule of [`check_typed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TypedPreflight {
    /// The action, as the API names it ("restore", "switchover").
    pub action: String,
    pub target: String,
    /// What the target is to the user ("backup target id", "cluster id").
    pub noun: String,
    pub tier: Tier,
    /// What will happen, where, for people.
    pub summary: String,
    /// Text the user must type to go on: the target, set only in production.
    pub confirm_text: Option<String>,
}

/// The preflight [`check_typed`] enforces: none on a read-only profile; in
/// production, the target to be typed.
pub fn typed_preflight(
    profile: &Profile,
    action: &str,
    target: &str,
    noun: &str,
    summary: String,
) -> Result<TypedPreflight> {
    profile.writable()?;
    Ok(TypedPreflight {
        action: action.to_string(),
        target: target.to_string(),
        noun: noun.to_string(),
        tier: profile.tier,
        summary,
        confirm_text: (profile.tier == Tier::Prod).then(|| target.to_string()),
    })
}

/// The rule of changes other than a tenant's (silences, access): none on a
/// read-only profile; in production, the target typed; a typed target,
/// when given, must be the target exactly.
pub fn check_typed(
    profile: &Profile,
    action: &str,
    target: &str,
    noun: &str,
    summary: String,
    typed: Option<&str>,
) -> Result<()> {
    profile.writable()?;
    match typed {
        Some(got) if got != target => Err(Error::ConfirmationMismatch {
            typed: got.to_string(),
            target: target.to_string(),
        }),
        Some(_) => Ok(()),
        None if profile.tier == Tier::Prod => Err(Error::ConfirmationRequired {
            action: action.to_string(),
            target: target.to_string(),
            noun: noun.to_string(),
            summary,
        }),
        None => Ok(()),
    }
}

/// Checks the typed confirmation against the preflight. The rule is one
/// everywhere: a confirmation, when given, must equal the target's slug
/// exactly (no trimming, no case folding), whether or not one is needed; and
/// where the preflight demands one, it must be given.
pub fn check_confirmation(preflight: &Preflight, typed: Option<&str>) -> Result<()> {
    match (typed, &preflight.confirm_text) {
        (Some(got), _) if got != preflight.target => Err(Error::ConfirmationMismatch {
            typed: got.to_string(),
            target: preflight.target.clone(),
        }),
        (Some(_), _) | (None, None) => Ok(()),
        (None, Some(want)) => Err(Error::ConfirmationRequired {
            action: preflight.action.to_string(),
            target: want.clone(),
            noun: "slug".to_string(),
            summary: preflight.text(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdeck_api::tenants::QuotasPatch;

    fn tenant() -> Tenant {
        let now = chrono::Utc::now();
        Tenant {
            accent_color: None,
            labels: Default::default(),
            id: "t1".into(),
            slug: "acme".into(),
            name: "Acme".into(),
            plan: Plan::Team,
            status: TenantStatus::Active,
            quotas: Plan::Team.default_quotas(),
            created_at: now,
            updated_at: now,
        }
    }

    fn profile(tier: Tier) -> Profile {
        Profile::new("p", tier, "http://127.0.0.1:1").expect("profile")
    }

    #[test]
    fn a_typed_preflight_asks_for_the_target_only_in_production_and_never_on_a_read_only_profile() {
        let summary = || "Restore it.".to_string();
        let prod = typed_preflight(&profile(Tier::Prod), "restore", "main-db", "id", summary())
            .expect("prod");
        assert_eq!(prod.confirm_text.as_deref(), Some("main-db"));
        let staging = typed_preflight(
            &profile(Tier::Staging),
            "restore",
            "main-db",
            "id",
            summary(),
        )
        .expect("staging");
        assert_eq!(staging.confirm_text, None);
        let mut read_only = profile(Tier::Dev);
        read_only.read_only = true;
        assert!(typed_preflight(&read_only, "restore", "main-db", "id", summary()).is_err());
    }

    #[test]
    fn prod_destructive_actions_need_the_slug() {
        for action in [TenantAction::Suspend, TenantAction::Delete] {
            let p = preflight(&profile(Tier::Prod), action, &tenant());
            assert_eq!(p.confirm_text.as_deref(), Some("acme"));
            assert!(matches!(
                check_confirmation(&p, None),
                Err(Error::ConfirmationRequired { .. })
            ));
            assert!(matches!(
                check_confirmation(&p, Some("acm")),
                Err(Error::ConfirmationMismatch { .. })
            ));
            assert!(check_confirmation(&p, Some("acme")).is_ok());
        }
    }

    #[test]
    fn resume_and_lower_tiers_need_no_typing() {
        assert!(
            preflight(&profile(Tier::Prod), TenantAction::Resume, &tenant())
                .confirm_text
                .is_none()
        );
        for tier in [Tier::Dev, Tier::Staging] {
            let p = preflight(&profile(tier), TenantAction::Delete, &tenant());
            assert!(p.confirm_text.is_none());
            assert!(p.summary.contains("cannot be undone"));
        }
    }

    fn cut(max_users: i64) -> UpdateTenant {
        UpdateTenant {
            quotas: Some(QuotasPatch {
                max_users: Some(max_users),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn prod_quota_cut_and_plan_downgrade_need_the_slug() {
        let downgrade = UpdateTenant {
            plan: Some(Plan::Free),
            ..Default::default()
        };
        for patch in [cut(1), downgrade] {
            let p = update_preflight(&profile(Tier::Prod), &tenant(), &patch);
            assert_eq!(p.action, TenantOperation::Update);
            assert_eq!(p.confirm_text.as_deref(), Some("acme"), "{patch:?}");
            assert!(matches!(
                check_confirmation(&p, None),
                Err(Error::ConfirmationRequired { .. })
            ));
            assert!(check_confirmation(&p, Some("acme")).is_ok());
        }
    }

    #[test]
    fn update_preflight_lists_each_change_before_and_after() {
        let patch = UpdateTenant {
            accent_color: None,
            labels: None,
            name: Some("Acme Inc".into()),
            plan: Some(Plan::Free),
            quotas: Some(QuotasPatch {
                max_users: Some(1),
                storage_gib: Some(50),
                requests_per_minute: Some(9_000),
            }),
        };
        let p = update_preflight(&profile(Tier::Prod), &tenant(), &patch);
        let lines: Vec<String> = p.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "name: Acme → Acme Inc",
                "plan: team → free (lower)",
                "max users: 50 → 1 (lower)",
                "requests per minute: 600 → 9000",
            ],
            "storage is unchanged, so not listed"
        );
        assert!(
            p.summary.contains("lowers its plan, max users"),
            "{}",
            p.summary
        );
        assert!(
            p.text().contains("\n  max users: 50 → 1 (lower)"),
            "{}",
            p.text()
        );
        let Err(Error::ConfirmationRequired { summary, .. }) = check_confirmation(&p, None) else {
            panic!("confirmation required");
        };
        assert!(summary.contains("plan: team → free (lower)"), "{summary}");
    }

    #[test]
    fn a_plan_change_shows_the_quotas_it_moves_and_keeps_those_set_by_hand() {
        let mut custom = tenant();
        custom.quotas.max_users = 800;
        let upgrade = UpdateTenant {
            plan: Some(Plan::Enterprise),
            ..Default::default()
        };
        let p = update_preflight(&profile(Tier::Prod), &custom, &upgrade);
        let lines: Vec<String> = p.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "plan: team → enterprise",
                "storage GiB: 50 → 5000",
                "requests per minute: 600 → 60000",
            ],
            "max users was set by hand: kept"
        );
        assert!(
            p.summary.contains("quotas set by hand are kept"),
            "{}",
            p.summary
        );
        assert!(p.confirm_text.is_none());

        let downgrade = UpdateTenant {
            plan: Some(Plan::Free),
            ..Default::default()
        };
        let p = update_preflight(&profile(Tier::Prod), &tenant(), &downgrade);
        assert_eq!(p.changes.len(), 4, "{:?}", p.changes);
        assert!(p.changes.iter().all(|c| c.reduces));
        assert!(
            p.summary
                .contains("lowers its plan, max users, storage GiB, requests per minute"),
            "{}",
            p.summary
        );
        assert_eq!(p.confirm_text.as_deref(), Some("acme"));
    }

    #[test]
    fn summaries_are_plain_prose_without_markup() {
        let p = update_preflight(&profile(Tier::Prod), &tenant(), &cut(1));
        let q = preflight(&profile(Tier::Prod), TenantAction::Delete, &tenant());
        for text in [p.text(), q.text()] {
            assert!(!text.contains('`'), "{text}");
            assert!(text.contains("acme (Acme, plan team"), "{text}");
        }
    }

    #[test]
    fn raises_renames_and_lower_tiers_need_no_typing() {
        let raise = UpdateTenant {
            accent_color: None,
            labels: None,
            name: Some("Acme Inc".into()),
            plan: Some(Plan::Enterprise),
            quotas: Some(QuotasPatch {
                storage_gib: Some(5_000),
                ..Default::default()
            }),
        };
        let p = update_preflight(&profile(Tier::Prod), &tenant(), &raise);
        assert!(p.confirm_text.is_none());
        assert!(p.changes.iter().all(|c| !c.reduces));
        assert!(check_confirmation(&p, None).is_ok());
        // The same value again is no change, hence no reduction.
        let same = update_preflight(&profile(Tier::Prod), &tenant(), &cut(50));
        assert!(same.changes.is_empty() && same.confirm_text.is_none());
        for tier in [Tier::Dev, Tier::Staging] {
            let p = update_preflight(&profile(tier), &tenant(), &cut(1));
            assert!(p.confirm_text.is_none());
            assert!(p.changes[0].reduces);
        }
    }

    #[test]
    fn confirmation_is_exact_without_trimming_or_case_folding() {
        let p = preflight(&profile(Tier::Prod), TenantAction::Delete, &tenant());
        for typed in [" acme ", "acme\n", "ACME", "acme "] {
            assert!(
                matches!(
                    check_confirmation(&p, Some(typed)),
                    Err(Error::ConfirmationMismatch { .. })
                ),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn a_wrong_confirmation_is_refused_even_where_none_is_needed() {
        let not_needed = [
            preflight(&profile(Tier::Prod), TenantAction::Resume, &tenant()),
            preflight(&profile(Tier::Dev), TenantAction::Delete, &tenant()),
            preflight(&profile(Tier::Staging), TenantAction::Suspend, &tenant()),
            update_preflight(&profile(Tier::Prod), &tenant(), &UpdateTenant::default()),
        ];
        for p in not_needed {
            assert!(p.confirm_text.is_none());
            assert!(check_confirmation(&p, None).is_ok());
            assert!(check_confirmation(&p, Some("acme")).is_ok());
            assert!(
                matches!(
                    check_confirmation(&p, Some("globex")),
                    Err(Error::ConfirmationMismatch { .. })
                ),
                "{}",
                p.summary
            );
        }
    }

    #[test]
    fn a_named_target_is_typed_on_production_only() {
        let mut profile = Profile {
            name: "p".into(),
            admin_url: "http://127.0.0.1:1".into(),
            tier: Tier::Staging,
            alertmanager_urls: Vec::new(),
            prometheus_url: None,
            read_only: false,
        };
        let ask = |profile: &Profile, typed: Option<&str>| {
            check_typed(
                profile,
                "failover",
                "cache",
                "cluster id",
                "s".into(),
                typed,
            )
        };
        assert!(ask(&profile, None).is_ok());
        assert!(matches!(
            ask(&profile, Some("db")),
            Err(Error::ConfirmationMismatch { .. })
        ));
        profile.tier = Tier::Prod;
        assert!(matches!(
            ask(&profile, None),
            Err(Error::ConfirmationRequired { .. })
        ));
        assert!(ask(&profile, Some("cache")).is_ok());
    }
}
