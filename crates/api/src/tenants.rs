//! Tenants: the unit of isolation on the platform, with a plan, quotas, a
//! lifecycle status, branding (display name, accent colour) and free-form
//! labels.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::validation::{self, Validate};
use crate::FieldError;

/// Commercial plan. It sets a new tenant's quotas, except those the tenant
/// names; a plan change moves the quotas still at the old plan's defaults to
/// the new plan's and keeps those set by hand (see `UpdateTenant::quotas_after`).
/// Plans are ordered from the smallest (free) to the largest (enterprise).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    specta::Type,
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

    /// Every plan with its default quotas: the one table the server
    /// applies, the CLI's help lists and the window's form shows.
    pub fn all_defaults() -> std::collections::BTreeMap<Plan, Quotas> {
        Plan::ALL
            .into_iter()
            .map(|plan| (plan, plan.default_quotas()))
            .collect()
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

/// Free-form labels of a tenant: key → value, in key order. Keys are like
/// Kubernetes label keys (see `validation::check_labels`).
pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Tenant {
    pub id: String,
    /// Stable, URL-safe name: lowercase letters, digits and hyphens, 3–63 long.
    pub slug: String,
    /// Display name, the tenant's branding with `accent_color`: any visible
    /// text of at most 200 characters.
    pub name: String,
    pub plan: Plan,
    pub status: TenantStatus,
    pub quotas: Quotas,
    /// Accent colour of the tenant's branding, `#rrggbb` in lowercase hex;
    /// null when unset.
    // Absent in lists cached before branding existed: read as unset.
    #[serde(default)]
    #[schema(value_type = Option<String>, required = true, example = "#0a7cff")]
    pub accent_color: Option<String>,
    /// Free-form labels, always an object, sorted by key.
    #[serde(default)]
    #[schema(value_type = HashMap<String, String>, required = true)]
    pub labels: Labels,
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
    /// `#rrggbb`; unset when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    #[schema(example = "#0a7cff")]
    pub accent_color: Option<String>,
    /// At most 32; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub labels: Option<Labels>,
}

impl CreateTenant {
    pub const DEFAULT_PLAN: Plan = Plan::Team;

    /// The body as the server stores it (the name trimmed and in NFC, the
    /// colour in lowercase). The server and clients call this before
    /// `field_errors`, so that both judge, and the server keeps, the same text.
    pub fn normalized(mut self) -> Self {
        self.name = validation::normalize_name(&self.name);
        self.accent_color = self.accent_color.map(|c| validation::normalize_color(&c));
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
        if let Some(color) = &self.accent_color {
            validation::check_color("accent_color", color, &mut errors);
        }
        if let Some(labels) = &self.labels {
            validation::check_labels("labels", labels, &mut errors);
        }
        errors
    }
}

/// Reads a field that may be absent (outer `None`), null (`Some(None)`) or
/// set: `accent_color` of an update, where null clears the colour.
fn absent_null_or<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Body of `PATCH /v1/tenants/{id}`: every field is optional. Changing the
/// plan moves each quota still at the old plan's default to the new plan's
/// default and keeps quotas set by hand; quotas named here are set as given.
/// `accent_color` set to null clears the colour. `labels` replaces the
/// tenant's labels as a whole (`{}` removes them all): a client that adds or
/// removes one label sends the whole map it read, with `If-Match`, so that a
/// change made in between is not lost.
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
    /// `#rrggbb` sets the colour, null clears it; absent keeps it.
    #[serde(
        default,
        deserialize_with = "absent_null_or",
        skip_serializing_if = "Option::is_none"
    )]
    #[specta(optional, type = Option<String>)]
    #[schema(value_type = Option<String>, nullable, example = "#0a7cff")]
    pub accent_color: Option<Option<String>>,
    /// The tenant's labels after the change, whole; absent keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub labels: Option<Labels>,
}

impl UpdateTenant {
    /// The change as the server applies it; see `CreateTenant::normalized`.
    pub fn normalized(mut self) -> Self {
        self.name = self.name.map(|name| validation::normalize_name(&name));
        self.accent_color = self
            .accent_color
            .map(|c| c.map(|c| validation::normalize_color(&c)));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.plan.is_none()
            && self.quotas.is_none_or(|q| q.is_empty())
            && self.accent_color.is_none()
            && self.labels.is_none()
    }

    /// The plan `current` is on after this change.
    pub fn plan_after(&self, current: &Tenant) -> Plan {
        self.plan.unwrap_or(current.plan)
    }

    /// The quotas `current` has after this change, quota by quota: one the
    /// change names is set to that value; when the plan changes, one still
    /// at the old plan's default moves to the new plan's default; any other
    /// (set by hand, or the plan stays) is kept. The server applies this
    /// rule, and clients show its outcome before sending.
    pub fn quotas_after(&self, current: &Tenant) -> Quotas {
        let named = self.quotas.unwrap_or_default();
        let (old, new) = (
            current.plan.default_quotas(),
            self.plan_after(current).default_quotas(),
        );
        let follow = |value: i64, old_default: i64, new_default: i64| {
            if value == old_default {
                new_default
            } else {
                value
            }
        };
        let q = current.quotas;
        Quotas {
            max_users: named
                .max_users
                .unwrap_or_else(|| follow(q.max_users, old.max_users, new.max_users)),
            storage_gib: named
                .storage_gib
                .unwrap_or_else(|| follow(q.storage_gib, old.storage_gib, new.storage_gib)),
            requests_per_minute: named.requests_per_minute.unwrap_or_else(|| {
                follow(
                    q.requests_per_minute,
                    old.requests_per_minute,
                    new.requests_per_minute,
                )
            }),
        }
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
        if let Some(Some(color)) = &self.accent_color {
            validation::check_color("accent_color", color, &mut errors);
        }
        if let Some(labels) = &self.labels {
            validation::check_labels("labels", labels, &mut errors);
        }
        if self.is_empty() {
            errors.push(FieldError::new(
                "",
                "nothing to change: give at least one of name, plan, quotas, accent_color or labels",
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
    /// Only tenants whose slug or name contains every word of this text
    /// (words split at spaces; case-insensitive).
    pub q: Option<String>,
    /// Only tenants with this status.
    pub status: Option<TenantStatus>,
    /// Only tenants on this plan.
    pub plan: Option<Plan>,
    /// Only tenants with this label: `key=value` (the key and the value
    /// both match, exactly) or `key` alone (any value). Repeatable; a tenant
    /// must match every one. At most 32.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[param(value_type = Option<Vec<String>>, style = Form, explode)]
    pub label: Vec<String>,
}

impl ListTenants {
    /// The query as name–value pairs, each `label` its own pair (form
    /// encoders take no lists).
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            pairs.push(("cursor", cursor.clone()));
        }
        if let Some(q) = &self.q {
            pairs.push(("q", q.clone()));
        }
        if let Some(status) = self.status {
            pairs.push(("status", status.to_string()));
        }
        if let Some(plan) = self.plan {
            pairs.push(("plan", plan.to_string()));
        }
        pairs.extend(self.label.iter().map(|l| ("label", l.clone())));
        pairs
    }
}

/// One `label` filter of a tenant list: `key=value` or `key` alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct LabelSelector {
    pub key: String,
    /// `None`: the tenant has the label, whatever its value.
    pub value: Option<String>,
}

impl LabelSelector {
    /// Reads `key=value` or `key` (split at the first `=`); the key must be
    /// a label key and the value a label value, else the problem is named.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (key, value) = match text.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (text, None),
        };
        let mut errors = Vec::new();
        validation::check_label_key("label", key, &mut errors);
        if let Some(value) = value {
            validation::check_label_value("label", value, &mut errors);
        }
        match errors.into_iter().next() {
            Some(error) => Err(format!("`{text}`: {}", error.message)),
            None => Ok(Self {
                key: key.to_string(),
                value: value.map(str::to_string),
            }),
        }
    }

    /// Whether `labels` has this label.
    pub fn matches(&self, labels: &Labels) -> bool {
        match (labels.get(&self.key), &self.value) {
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

impl std::fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}={value}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(plan: Plan, quotas: Quotas) -> Tenant {
        let now = Utc::now();
        Tenant {
            id: "t1".into(),
            slug: "acme".into(),
            name: "Acme".into(),
            plan,
            status: TenantStatus::Active,
            quotas,
            accent_color: None,
            labels: Labels::new(),
            created_at: now,
            updated_at: now,
        }
    }

    fn to(plan: Plan) -> UpdateTenant {
        UpdateTenant {
            plan: Some(plan),
            ..Default::default()
        }
    }

    #[test]
    fn a_plan_change_moves_the_quotas_at_the_old_plans_defaults() {
        let team = on(Plan::Team, Plan::Team.default_quotas());
        assert_eq!(
            to(Plan::Enterprise).quotas_after(&team),
            Plan::Enterprise.default_quotas()
        );
        assert_eq!(
            to(Plan::Free).quotas_after(&team),
            Plan::Free.default_quotas()
        );
    }

    #[test]
    fn a_plan_change_keeps_quotas_set_by_hand_and_sets_those_it_names() {
        let mut quotas = Plan::Team.default_quotas();
        quotas.max_users = 800;
        let custom = on(Plan::Team, quotas);
        let mut change = to(Plan::Enterprise);
        change.quotas = Some(QuotasPatch {
            requests_per_minute: Some(700),
            ..Default::default()
        });
        let after = change.quotas_after(&custom);
        assert_eq!(after.max_users, 800, "set by hand: kept");
        assert_eq!(
            after.storage_gib,
            Plan::Enterprise.default_quotas().storage_gib,
            "at the team default: follows the plan"
        );
        assert_eq!(after.requests_per_minute, 700, "named: as given");
    }

    #[test]
    fn without_a_plan_change_only_named_quotas_change() {
        let team = on(Plan::Team, Plan::Team.default_quotas());
        let same_plan = to(Plan::Team);
        assert_eq!(same_plan.quotas_after(&team), team.quotas);
        let rename = UpdateTenant {
            name: Some("Acme Inc".into()),
            ..Default::default()
        };
        assert_eq!(rename.quotas_after(&team), team.quotas);
    }

    #[test]
    fn plans_are_ordered_smallest_first_and_each_has_defaults() {
        let mut sorted = Plan::ALL;
        sorted.sort();
        assert_eq!(sorted, Plan::ALL);
        let defaults = Plan::all_defaults();
        assert_eq!(defaults.len(), Plan::ALL.len());
        let json = serde_json::to_value(&defaults).expect("json");
        assert_eq!(json["team"]["max_users"], 50);
        assert_eq!(json["enterprise"]["requests_per_minute"], 60_000);
    }
}
