//! Maintenance windows of a profile's server: make one (the server silences
//! its alerts in Alertmanager for its span), list them, end one early.

use chrono::{DateTime, Utc};
use opsdeck_api::maintenance::{
    AlertMatcher, CreateMaintenance, MaintenancePage, MaintenanceWindow,
};
use serde::Serialize;

use crate::alerts::Matcher;
use crate::client::MAX_PAGE_BYTES;
use crate::error::{Error, Result};
use crate::sanitize;
use crate::session::Session;

impl Session {
    /// The maintenance windows of this session's server.
    pub fn maintenance(&self) -> Maintenance<'_> {
        Maintenance { session: self }
    }
}

/// The maintenance windows of a session's server.
pub struct Maintenance<'s> {
    session: &'s Session,
}

/// A window to make.
#[derive(Debug, Clone)]
pub struct NewWindow {
    /// Now when absent.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    pub matchers: Vec<Matcher>,
    pub reason: String,
    /// The caller when absent.
    pub owner: Option<String>,
}

impl NewWindow {
    /// A window from what a user typed: matchers as `name=value` (or `!=`,
    /// `=~`, `!~`), its end as a time or as a duration (`2h`) from its start.
    pub fn from_text(
        matchers: &[String],
        starts_at: Option<DateTime<Utc>>,
        ends_at: Option<DateTime<Utc>>,
        duration: Option<&str>,
        reason: String,
    ) -> Result<Self> {
        let matchers = matchers
            .iter()
            .map(|m| Matcher::parse(m))
            .collect::<Result<Vec<_>>>()?;
        let ends_at = match (ends_at, duration) {
            (Some(end), _) => end,
            (None, Some(duration)) => {
                let span = chrono::Duration::from_std(crate::alerts::parse_duration(duration)?)
                    .unwrap_or(chrono::Duration::MAX);
                starts_at.unwrap_or_else(Utc::now) + span
            }
            (None, None) => {
                return Err(crate::error::Error::InvalidInput {
                    field: "ends_at".into(),
                    message: "give an end or a duration".into(),
                })
            }
        };
        Ok(NewWindow {
            starts_at,
            ends_at,
            matchers,
            reason,
            owner: None,
        })
    }
}

/// The window's text cleaned of terminal control.
pub fn clean(mut window: MaintenanceWindow) -> MaintenanceWindow {
    for text in [
        &mut window.id,
        &mut window.owner,
        &mut window.reason,
        &mut window.created_by,
    ] {
        *text = sanitize::remote(text);
    }
    window.silence_id = window.silence_id.map(|s| sanitize::remote(&s));
    window.ended_by = window.ended_by.map(|s| sanitize::remote(&s));
    for m in &mut window.matchers {
        m.name = sanitize::remote(&m.name);
        m.value = sanitize::remote(&m.value);
    }
    window
}

/// The matchers as one line: `alertname="DiskFull", service=~"db.*"`.
pub fn scope(window: &MaintenanceWindow) -> String {
    window
        .matchers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Maintenance<'_> {
    /// Makes a window; the server creates its silence.
    pub async fn create(&self, window: &NewWindow) -> Result<MaintenanceWindow> {
        self.session.profile().writable()?;
        if window.matchers.is_empty() {
            return Err(Error::invalid(
                "matchers",
                "name at least one matcher (a window over every alert is refused)",
            ));
        }
        let body = CreateMaintenance {
            starts_at: window.starts_at,
            ends_at: window.ends_at,
            matchers: window
                .matchers
                .iter()
                .map(|m| AlertMatcher {
                    name: m.name.clone(),
                    value: m.value.clone(),
                    is_regex: m.is_regex,
                    is_equal: m.is_equal,
                })
                .collect(),
            owner: window.owner.clone(),
            reason: window.reason.clone(),
        };
        let key = uuid::Uuid::new_v4().to_string();
        let made: MaintenanceWindow = self
            .session
            .admin()
            .call(
                reqwest::Method::POST,
                &["v1", "maintenance"],
                None::<&()>,
                Some(&body),
                Some(&key),
                MAX_PAGE_BYTES,
            )
            .await?;
        Ok(clean(made))
    }

    /// One page, newest first.
    pub async fn list(
        &self,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<MaintenancePage> {
        #[derive(Serialize)]
        struct Query {
            #[serde(skip_serializing_if = "Option::is_none")]
            limit: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            cursor: Option<String>,
        }
        let mut page: MaintenancePage = self
            .session
            .admin()
            .call(
                reqwest::Method::GET,
                &["v1", "maintenance"],
                Some(&Query { limit, cursor }),
                None::<&()>,
                None,
                MAX_PAGE_BYTES,
            )
            .await?;
        page.items = page.items.into_iter().map(clean).collect();
        Ok(page)
    }

    /// Ends a window now; the server expires its silence.
    pub async fn end(&self, id: &str) -> Result<MaintenanceWindow> {
        self.session.profile().writable()?;
        let key = uuid::Uuid::new_v4().to_string();
        let ended: MaintenanceWindow = self
            .session
            .admin()
            .call(
                reqwest::Method::POST,
                &["v1", "maintenance", id, "end"],
                None::<&()>,
                None::<&()>,
                Some(&key),
                MAX_PAGE_BYTES,
            )
            .await?;
        Ok(clean(ended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_typed_with_a_duration_ends_that_long_after_its_start_and_one_without_an_end_is_refused(
    ) {
        let start = "2026-11-25T03:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("a time");
        let made = NewWindow::from_text(
            &["alertname=DiskFilling".to_string()],
            Some(start),
            None,
            Some("2h"),
            "disk swap".into(),
        )
        .expect("a window");
        assert_eq!(made.ends_at, start + chrono::Duration::hours(2));
        assert_eq!(made.matchers.len(), 1);
        let refused = NewWindow::from_text(
            &["alertname=DiskFilling".to_string()],
            None,
            None,
            None,
            "disk swap".into(),
        );
        assert!(matches!(refused, Err(Error::InvalidInput { .. })));
        assert!(
            NewWindow::from_text(&["no operator".into()], None, None, Some("1h"), "x".into())
                .is_err()
        );
    }
}
