//! Maintenance windows as the API shows them: a time span, the alerts it
//! covers (Alertmanager matchers), its owner and reason, and the silence
//! the server keeps in Alertmanager for it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::validation::{check_name, normalize_name, Validate};
use crate::FieldError;

/// Most matchers one window may have.
pub const MATCHERS_MAX: usize = 32;

/// Longest window, in days.
pub const WINDOW_MAX_DAYS: i64 = 31;

/// A label matcher, as Alertmanager takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct AlertMatcher {
    pub name: String,
    pub value: String,
    /// `value` is a regular expression that must match the whole label.
    #[serde(default)]
    pub is_regex: bool,
    /// `false` makes it `!=` (or `!~`).
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl std::fmt::Display for AlertMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        };
        write!(f, "{}{op}\"{}\"", self.name, self.value)
    }
}

/// Body of `POST /v1/maintenance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateMaintenance {
    /// When it starts; now when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    /// The alerts it covers: those every matcher matches.
    pub matchers: Vec<AlertMatcher>,
    /// Who is responsible (a user's email); the caller when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Why: shown in the silence's comment and the timelines.
    pub reason: String,
}

impl CreateMaintenance {
    pub fn normalized(mut self) -> Self {
        self.reason = normalize_name(&self.reason);
        self.owner = self
            .owner
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty());
        self
    }

    /// Every rule broken, `now` standing for an absent start.
    pub fn errors_at(&self, now: DateTime<Utc>) -> Vec<FieldError> {
        let mut errors = self.field_errors();
        let starts = self.starts_at.unwrap_or(now);
        if self.ends_at <= starts {
            errors.push(FieldError::new("ends_at", "must be after the start"));
        } else if self.ends_at <= now {
            errors.push(FieldError::new("ends_at", "must be in the future"));
        } else if self.ends_at - starts > chrono::Duration::days(WINDOW_MAX_DAYS) {
            errors.push(FieldError::new(
                "ends_at",
                format!("a window may last at most {WINDOW_MAX_DAYS} days"),
            ));
        }
        errors
    }
}

impl Validate for CreateMaintenance {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_name("reason", &self.reason, &mut errors);
        if let Some(owner) = &self.owner {
            check_name("owner", owner, &mut errors);
        }
        if self.matchers.is_empty() {
            errors.push(FieldError::new(
                "matchers",
                "must name at least one matcher (a window over every alert is refused)",
            ));
        }
        if self.matchers.len() > MATCHERS_MAX {
            errors.push(FieldError::new(
                "matchers",
                format!("must have at most {MATCHERS_MAX} matchers"),
            ));
        }
        for (i, m) in self.matchers.iter().enumerate() {
            let valid_name = !m.name.is_empty()
                && m.name.chars().enumerate().all(|(i, c)| {
                    c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                });
            if !valid_name {
                errors.push(FieldError::new(
                    format!("matchers[{i}].name"),
                    "must be a label name (letters, digits and `_`, not starting with a digit)",
                ));
            }
            if m.value.len() > 1000 {
                errors.push(FieldError::new(
                    format!("matchers[{i}].value"),
                    "must be at most 1000 bytes",
                ));
            }
        }
        errors
    }
}

/// Where a window is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum MaintenanceStatus {
    Scheduled,
    Active,
    Ended,
}

impl MaintenanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceStatus::Scheduled => "scheduled",
            MaintenanceStatus::Active => "active",
            MaintenanceStatus::Ended => "ended",
        }
    }
}

/// A maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct MaintenanceWindow {
    /// UUID v7.
    pub id: String,
    pub starts_at: DateTime<Utc>,
    /// When it ends, or ended when it was ended early.
    pub ends_at: DateTime<Utc>,
    pub matchers: Vec<AlertMatcher>,
    pub owner: String,
    pub reason: String,
    /// Computed from the server's clock.
    pub status: MaintenanceStatus,
    /// The Alertmanager silence that mutes its alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Set when it was ended before its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
}

/// One page of windows, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct MaintenancePage {
    pub items: Vec<MaintenanceWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Query of `GET /v1/maintenance`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMaintenance {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}
