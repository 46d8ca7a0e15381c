//! The little of Alertmanager's API v2 the server needs: create a silence,
//! expire one. Every call has a timeout and follows no redirect.

use std::time::Duration;

use chrono::{DateTime, Utc};
use opsdeck_api::maintenance::AlertMatcher;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Error;

/// The longest one call may take.
const CALL: Duration = Duration::from_secs(10);

/// The configured Alertmanager.
#[derive(Debug, Clone)]
pub struct Alertmanager {
    base: url::Url,
    http: reqwest::Client,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Matcher<'a> {
    name: &'a str,
    value: &'a str,
    is_regex: bool,
    is_equal: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewSilence<'a> {
    matchers: Vec<Matcher<'a>>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    created_by: &'a str,
    comment: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

impl Alertmanager {
    /// The one `[monitoring] alertmanager_url` names.
    pub fn configured(config: &Config) -> Result<Self, Error> {
        let base = config
            .monitoring
            .alertmanager_url
            .clone()
            .ok_or(Error::MonitoringNotConfigured("alertmanager_url"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(CALL)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| failed(&base, e.to_string()))?;
        Ok(Self { base, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    /// Creates a silence; its id.
    pub async fn create_silence(
        &self,
        matchers: &[AlertMatcher],
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        created_by: &str,
        comment: &str,
    ) -> Result<String, Error> {
        let body = NewSilence {
            matchers: matchers
                .iter()
                .map(|m| Matcher {
                    name: &m.name,
                    value: &m.value,
                    is_regex: m.is_regex,
                    is_equal: m.is_equal,
                })
                .collect(),
            starts_at,
            ends_at,
            created_by,
            comment,
        };
        let response = self
            .http
            .post(self.url("/api/v2/silences"))
            .json(&body)
            .send()
            .await
            .map_err(|e| failed(&self.base, e.to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| failed(&self.base, e.to_string()))?;
        if !status.is_success() {
            return Err(failed(
                &self.base,
                format!("it refused the silence ({status}): {}", excerpt(&bytes)),
            ));
        }
        let created: Created = serde_json::from_slice(&bytes)
            .map_err(|e| failed(&self.base, format!("its answer is not a silence id: {e}")))?;
        Ok(created.silence_id)
    }

    /// Expires a silence; one already expired or gone is fine.
    pub async fn expire_silence(&self, id: &str) -> Result<(), Error> {
        let mut url = url::Url::parse(&self.url("/api/v2/silence/"))
            .map_err(|e| failed(&self.base, e.to_string()))?;
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(id);
        }
        let response = self
            .http
            .delete(url)
            .send()
            .await
            .map_err(|e| failed(&self.base, e.to_string()))?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        let bytes = response.bytes().await.unwrap_or_default();
        // Alertmanager answers 500 "silence … already expired" for one that is.
        if String::from_utf8_lossy(&bytes).contains("already expired") {
            return Ok(());
        }
        Err(failed(
            &self.base,
            format!(
                "it did not expire silence {id} ({status}): {}",
                excerpt(&bytes)
            ),
        ))
    }
}

fn failed(base: &url::Url, message: String) -> Error {
    Error::Alertmanager {
        url: base.to_string(),
        message,
    }
}

fn excerpt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
}
