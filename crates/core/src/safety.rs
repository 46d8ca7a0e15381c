//! Safety rules for destructive actions. Production is unmistakable: a
//! suspend or delete there needs the target's slug typed back. The CLI and
//! the window both ask core, so they never disagree.

use opsdeck_api::tenants::{Tenant, TenantStatus};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::profiles::{Profile, Tier};

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

/// What an action will do, shown before it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Preflight {
    pub action: TenantAction,
    /// Slug of the tenant.
    pub target: String,
    pub tier: Tier,
    /// One paragraph for people: what will happen, where, to whom.
    pub summary: String,
    /// Text the user must type to go on; set only in production for
    /// destructive actions.
    pub confirm_text: Option<String>,
}

/// The preflight of `action` on `tenant` in `profile`.
pub fn preflight(profile: &Profile, action: TenantAction, tenant: &Tenant) -> Preflight {
    let place = format!("profile `{}` ({})", profile.name, profile.tier);
    let who = format!(
        "`{}` ({}, plan {}, up to {} users)",
        tenant.slug, tenant.name, tenant.plan, tenant.quotas.max_users
    );
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
        action,
        target: tenant.slug.clone(),
        tier: profile.tier,
        summary,
        confirm_text,
    }
}

/// Checks the typed confirmation against the preflight's demand.
pub fn check_confirmation(preflight: &Preflight, typed: Option<&str>) -> Result<()> {
    match (&preflight.confirm_text, typed.map(str::trim)) {
        (None, _) => Ok(()),
        (Some(want), Some(got)) if got == want => Ok(()),
        (Some(want), Some(got)) => Err(Error::ConfirmationMismatch {
            typed: got.to_string(),
            target: want.clone(),
        }),
        (Some(want), None) => Err(Error::ConfirmationRequired {
            action: preflight.action.to_string(),
            target: want.clone(),
            summary: preflight.summary.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdeck_api::tenants::Plan;

    fn tenant() -> Tenant {
        let now = chrono::Utc::now();
        Tenant {
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
}
