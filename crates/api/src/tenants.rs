//! Tenants: the unit of isolation on the platform, with a plan, quotas and a
//! lifecycle status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::validation::{self, Validate};
use crate::FieldError;

/// Commercial plan; it sets the default quotas of a new tenant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Team,
    Business,
    Enterprise,
}

impl Plan {
    pub const ALL: [Plan; 4] = [Plan::Free, Plan::Team, Plan::Business, Plan::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Team => "team",
            Plan::Business => "business",
            Plan::Enterprise => "enterprise",
        }
    }

    /// Quotas a tenant on this plan gets unless it names its own.
    pub fn default_quotas(self) -> Quotas {
        let (max_users, storage_gib, requests_per_minute) = match self {
            Plan::Free => (5, 1, 60),
            Plan::Team => (50, 50, 600),
            Plan::Business => (500, 500, 6_000),
            Plan::Enterprise => (5_000, 5_000, 60_000),
        };
        Quotas {
            max_users,
            storage_gib,
            requests_per_minute,
        }
    }
}

impl std::str::FromStr for Plan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plan::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!("unknown plan `{s}` (expected free, team, business or enterprise)")
            })
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the tenant's users may use the platform.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub const ALL: [TenantStatus; 2] = [TenantStatus::Active, TenantStatus::Suspended];

    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }
}

impl std::str::FromStr for TenantStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(TenantStatus::Active),
            "suspended" => Ok(TenantStatus::Suspended),
            _ => Err(format!(
                "unknown status `{s}` (expected active or suspended)"
            )),
        }
    }
}

impl std::fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hard limits of one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Quotas {
    #[specta(type = i32)]
    pub max_users: i64,
    #[specta(type = i32)]
    pub storage_gib: i64,
    #[specta(type = i32)]
    pub requests_per_minute: i64,
}

/// Quotas to set; a missing field keeps its current (or the plan's default) value.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(deny_unknown_fields)]
pub struct QuotasPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional, type = Option<i32>)]
    pub max_users: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional, type = Option<i32>)]
    pub storage_gib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional, type = Option<i32>)]
    pub requests_per_minute: Option<i64>,
}

impl QuotasPatch {
    /// `base` with every field this patch names replaced.
    pub fn apply_to(&self, base: Quotas) -> Quotas {
        Quotas {
            max_users: self.max_users.unwrap_or(base.max_users),
            storage_gib: self.storage_gib.unwrap_or(base.storage_gib),
            requests_per_minute: self.requests_per_minute.unwrap_or(base.requests_per_minute),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.max_users.is_none() && self.storage_gib.is_none() && self.requests_per_minute.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Tenant {
    pub id: String,
    /// Stable, URL-safe name: lowercase letters, digits and hyphens, 3–63 long.
    pub slug: String,
    /// Display name.
    pub name: String,
    pub plan: Plan,
    pub status: TenantStatus,
    pub quotas: Quotas,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /v1/tenants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub slug: String,
    pub name: String,
    /// Defaults to `team`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub plan: Option<Plan>,
    /// Defaults to the plan's quotas, field by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub quotas: Option<QuotasPatch>,
}

impl CreateTenant {
    pub const DEFAULT_PLAN: Plan = Plan::Team;

    /// The body as the server stores it (the name trimmed and in NFC). The
    /// server and clients call this before `field_errors`, so that both
    /// judge, and the server keeps, the same text.
    pub fn normalized(mut self) -> Self {
        self.name = validation::normalize_name(&self.name);
        self
    }

    pub fn plan(&self) -> Plan {
        self.plan.unwrap_or(Self::DEFAULT_PLAN)
    }

    /// The quotas the new tenant gets.
    pub fn quotas(&self) -> Quotas {
        self.quotas
            .unwrap_or_default()
            .apply_to(self.plan().default_quotas())
    }
}

impl Validate for CreateTenant {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        validation::check_slug("slug", &self.slug, &mut errors);
        validation::check_name("name", &self.name, &mut errors);
        if let Some(q) = &self.quotas {
            validation::check_quotas(q, &mut errors);
        }
        errors
    }
}

/// Body of `PATCH /v1/tenants/{id}`: every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub plan: Option<Plan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub quotas: Option<QuotasPatch>,
}

impl UpdateTenant {
    /// The change as the server applies it; see `CreateTenant::normalized`.
    pub fn normalized(mut self) -> Self {
        self.name = self.name.map(|name| validation::normalize_name(&name));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.plan.is_none() && self.quotas.is_none_or(|q| q.is_empty())
    }
}

impl Validate for UpdateTenant {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(name) = &self.name {
            validation::check_name("name", name, &mut errors);
        }
        if let Some(q) = &self.quotas {
            validation::check_quotas(q, &mut errors);
        }
        if self.is_empty() {
            errors.push(FieldError::new(
                "",
                "nothing to change: give at least one of name, plan or quotas",
            ));
        }
        errors
    }
}

/// One page of `GET /v1/tenants`, ordered by slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct TenantPage {
    pub items: Vec<Tenant>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Query of `GET /v1/tenants`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTenants {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only tenants whose slug or name contains this text (case-insensitive).
    pub q: Option<String>,
    /// Only tenants with this status.
    pub status: Option<TenantStatus>,
}
