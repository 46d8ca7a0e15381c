//! Alerts and silences from the profile's Alertmanagers (API v2): one
//! Alertmanager or the members of an HA cluster. Alerts are merged and
//! deduplicated by fingerprint, silences by id; a member that is down is
//! named and the others still answer; all down is an error.
//!
//! The client trusts an Alertmanager no more than the admin client trusts
//! its server: the same time budgets, response caps, no redirects, remote
//! text cleaned of terminal control. No token is ever sent to it. Muting
//! alerts on production (a new silence) and re-enabling paging there (an
//! expired silence) both need the target typed, like other production cuts.
//!
//! Notifications of alerts are [`crate::notify`]'s. Not here yet:
//! acknowledgements.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::client::{read_capped, transport_error, RetryPolicy, Timeouts, MAX_ERROR_BYTES};
use crate::error::{Error, Result};
use crate::profiles::{Profile, Tier};
use crate::safety;
use crate::sanitize;
use crate::session::Session;

/// The most Opsdeck reads of an alert list or of alert groups: measured,
/// 10,000 alerts are about 4.2 MB of JSON.
pub const MAX_ALERTS_BYTES: u64 = 64 * 1024 * 1024;
/// The most Opsdeck reads of a silence list.
pub const MAX_SILENCES_BYTES: u64 = 16 * 1024 * 1024;
/// The most Opsdeck reads of one answer about one silence.
pub const MAX_SILENCE_BYTES: u64 = 1024 * 1024;
/// The longest silence Opsdeck makes: a longer one is a muted alert
/// forgotten, not a maintenance window.
pub const MAX_SILENCE: Duration = Duration::from_secs(365 * 24 * 3600);

/// How an alert stands in Alertmanager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Active,
    /// Silenced or inhibited: it fires but pages nobody.
    Suppressed,
    Unprocessed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Active => "active",
            AlertState::Suppressed => "suppressed",
            AlertState::Unprocessed => "unprocessed",
        }
    }
}

/// What an alert does for people, in the words the CLI and the window show:
/// a suppressed alert is silenced when a silence mutes it, else inhibited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Silenced,
    Inhibited,
    Unprocessed,
}

impl AlertStatus {
    pub fn of(state: AlertState, silenced_by: &[String]) -> Self {
        match state {
            AlertState::Active => AlertStatus::Firing,
            AlertState::Suppressed if !silenced_by.is_empty() => AlertStatus::Silenced,
            AlertState::Suppressed => AlertStatus::Inhibited,
            AlertState::Unprocessed => AlertStatus::Unprocessed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Silenced => "silenced",
            AlertStatus::Inhibited => "inhibited",
            AlertStatus::Unprocessed => "unprocessed",
        }
    }
}

/// One alert, merged over the profile's Alertmanagers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Alert {
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    /// `state` in words: firing, silenced, inhibited.
    pub status: AlertStatus,
    /// Ids of the silences that mute it.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts that inhibit it.
    pub inhibited_by: Vec<String>,
    pub receivers: Vec<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub generator_url: Option<String>,
    /// Who said they are on it, when a live acknowledgement names the
    /// alert; the other operators of the Alertmanagers see it too.
    pub acknowledged: Option<Acknowledgement>,
}

/// "I am on it": kept apart from silences (it mutes nothing), shared
/// through the Alertmanagers as a silence that matches no alert: its
/// matchers name the alert's fingerprint under [`ACK_LABEL`], a label no
/// alert carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Acknowledgement {
    pub by: String,
    pub at: DateTime<Utc>,
    pub comment: String,
    /// The record's id (a silence id): expiring it withdraws the
    /// acknowledgement.
    pub id: String,
    pub until: DateTime<Utc>,
}

/// The label an acknowledgement's record matches on: the acknowledged
/// alert's fingerprint. No alert carries it, so the record mutes nothing.
pub const ACK_LABEL: &str = "opsdeck_acknowledged";

/// What an acknowledgement's comment starts with, for people reading the
/// silences in other tools.
const ACK_PREFIX: &str = "Acknowledged in Opsdeck (mutes nothing): ";

/// What the comment of a silence that ends when its alerts resolve starts
/// with: Alertmanager ends silences only at a time, so Opsdeck's watchers
/// expire these once no alert they match is left.
const UNTIL_RESOLVED: &str = "Until resolved: ";

impl Silence {
    /// Whether it ends when the alerts it matches resolve.
    pub fn until_resolved(&self) -> bool {
        self.comment.starts_with(UNTIL_RESOLVED)
    }

    /// The acknowledgement this record is, when it is one and is live.
    pub fn acknowledgement(&self) -> Option<(String, Acknowledgement)> {
        if self.state != SilenceState::Active {
            return None;
        }
        let fingerprint = self
            .matchers
            .iter()
            .find(|m| m.name == ACK_LABEL && m.is_equal && !m.is_regex)?;
        Some((
            fingerprint.value.clone(),
            Acknowledgement {
                by: self.created_by.clone(),
                at: self.starts_at,
                comment: self
                    .comment
                    .strip_prefix(ACK_PREFIX)
                    .unwrap_or(&self.comment)
                    .to_string(),
                id: self.id.clone(),
                until: self.ends_at,
            },
        ))
    }
}

impl Alert {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }

    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.annotations.get(name).map(String::as_str)
    }
}

/// Alerts that share their grouping labels, as Alertmanager routes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AlertGroup {
    pub labels: BTreeMap<String, String>,
    pub receiver: String,
    pub alerts: Vec<Alert>,
}

/// An Alertmanager of the profile that did not answer, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Unreachable {
    pub url: String,
    pub message: String,
}

/// What a read from the profile's Alertmanagers found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Merged<T> {
    pub profile: String,
    pub tier: Tier,
    pub items: Vec<T>,
    /// The Alertmanagers that answered.
    pub answered: Vec<String>,
    /// Those that did not (the others still answered).
    pub unreachable: Vec<Unreachable>,
    pub fetched_at: DateTime<Utc>,
}

/// A label matcher, as Alertmanager takes them: `name=value`, `name!=value`,
/// `name=~regex`, `name!~regex`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    pub is_equal: bool,
}

impl Matcher {
    /// Reads `name=value` (or `!=`, `=~`, `!~`); the value may be quoted.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |message: String| Error::invalid("matchers", message);
        let at = text
            .find(['=', '!'])
            .ok_or_else(|| invalid(format!("`{text}` is not label=value")))?;
        let name = text[..at].trim();
        let rest = &text[at..];
        let (is_equal, is_regex, value) = if let Some(v) = rest.strip_prefix("=~") {
            (true, true, v)
        } else if let Some(v) = rest.strip_prefix("!~") {
            (false, true, v)
        } else if let Some(v) = rest.strip_prefix("!=") {
            (false, false, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (true, false, v)
        } else {
            return Err(invalid(format!("`{text}` is not label=value")));
        };
        let valid_name = name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if name.is_empty() || !valid_name {
            return Err(invalid(format!(
                "`{name}` is not a label name (letters, digits and `_`, not starting with a digit)"
            )));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Ok(Self {
            name: name.to_string(),
            value: value.to_string(),
            is_regex,
            is_equal,
        })
    }

    /// Whether `labels` satisfy it, as Alertmanager decides: a missing
    /// label has the empty value, and a regex must match the whole value.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> Result<bool> {
        let value = labels.get(&self.name).map_or("", String::as_str);
        let hit = if self.is_regex {
            regex::Regex::new(&format!("^(?:{})$", self.value))
                .map_err(|e| {
                    Error::invalid(
                        "matchers",
                        format!("`{}` is not a regular expression: {e}", self.value),
                    )
                })?
                .is_match(value)
        } else {
            value == self.value
        };
        Ok(hit == self.is_equal)
    }

    fn operator(&self) -> &'static str {
        match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        }
    }
}

impl std::fmt::Display for Matcher {
    /// As Alertmanager's `filter` parameter takes it: `name="value"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let escaped = self.value.replace('\\', "\\\\").replace('"', "\\\"");
        write!(f, "{}{}\"{}\"", self.name, self.operator(), escaped)
    }
}

/// Which alerts to list. Every state is listed by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct AlertFilter {
    pub active: bool,
    pub silenced: bool,
    pub inhibited: bool,
    /// Only alerts whose labels match every one of these.
    pub matchers: Vec<Matcher>,
}

impl Default for AlertFilter {
    fn default() -> Self {
        Self {
            active: true,
            silenced: true,
            inhibited: true,
            matchers: Vec::new(),
        }
    }
}

impl AlertFilter {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![
            ("active", self.active.to_string()),
            ("silenced", self.silenced.to_string()),
            ("inhibited", self.inhibited.to_string()),
        ];
        query.extend(self.matchers.iter().map(|m| ("filter", m.to_string())));
        query
    }
}

/// How a silence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    Active,
    Pending,
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
            SilenceState::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub state: SilenceState,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub duration: Duration,
    pub comment: String,
    /// Who asks, as Alertmanager records it.
    pub created_by: String,
}

/// How many of `alerts` fire (neither silenced nor inhibited) and match
/// every one of `matchers`: what a silence of them would mute now.
pub fn count_firing(alerts: &[Alert], matchers: &[Matcher]) -> Result<usize> {
    let mut count = 0;
    for alert in alerts.iter().filter(|a| a.state == AlertState::Active) {
        count += usize::from(matches_all(matchers, &alert.labels)?);
    }
    Ok(count)
}

/// Whether `labels` match every one of `matchers`, as a silence's do.
pub fn matches_all(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> Result<bool> {
    for m in matchers {
        if !m.matches(labels)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Who makes a silence, as Alertmanager records it: the OS user, marked as
/// coming from Opsdeck.
pub fn created_by() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .map(|user| format!("{user} (opsdeck)"))
        .unwrap_or_else(|| "opsdeck".to_string())
}

/// What a silence or an expiry will do, shown before it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SilencePreflight {
    /// What it acts on: the alert's name (or the matchers), or the silence id.
    pub target: String,
    /// What `target` is, in words: "alert name", "silence id".
    pub noun: String,
    /// One paragraph for people: what will happen, where.
    pub summary: String,
    /// Text the user must type to go on; set only in production.
    pub confirm_text: Option<String>,
    /// For a silence, the firing alerts its matchers match now.
    pub firing: u32,
}

/// Reads `2h`, `30m`, `1h30m`, `1d`, `90s` (units d, h, m, s).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let invalid = || {
        Error::invalid(
            "duration",
            format!("`{text}` is not a duration like 2h, 30m or 1h30m"),
        )
    };
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
        let n: u64 = number.parse().map_err(|_| invalid())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(invalid)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(invalid());
    }
    let duration = Duration::from_secs(total);
    if duration > MAX_SILENCE {
        return Err(Error::invalid("duration", "must be at most 365 days"));
    }
    Ok(duration)
}

// The wire format of Alertmanager's API v2 (camelCase).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlert {
    fingerprint: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    status: WireAlertStatus,
    #[serde(default)]
    receivers: Vec<WireReceiver>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlertStatus {
    state: AlertState,
    #[serde(default)]
    silenced_by: Vec<String>,
    #[serde(default)]
    inhibited_by: Vec<String>,
}

#[derive(Deserialize)]
struct WireReceiver {
    name: String,
}

#[derive(Deserialize)]
struct WireGroup {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    receiver: WireReceiver,
    #[serde(default)]
    alerts: Vec<WireAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMatcher {
    name: String,
    value: String,
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSilence {
    id: String,
    matchers: Vec<WireMatcher>,
    status: WireSilenceStatus,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
struct WireSilenceStatus {
    state: SilenceState,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostSilence<'a> {
    matchers: Vec<PostMatcher<'a>>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    created_by: &'a str,
    comment: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostMatcher<'a> {
    name: &'a str,
    value: &'a str,
    is_regex: bool,
    is_equal: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SilenceCreated {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

fn clean(text: &str) -> String {
    sanitize::remote(text)
}

fn clean_map(map: BTreeMap<String, String>) -> BTreeMap<String, String> {
    // Labels are nearly always plain: the map is kept, not rebuilt.
    if map
        .iter()
        .all(|(k, v)| sanitize::is_plain(k) && sanitize::is_plain(v))
    {
        return map;
    }
    map.into_iter()
        .map(|(k, v)| (clean(&k), clean(&v)))
        .collect()
}

impl From<WireAlert> for Alert {
    fn from(w: WireAlert) -> Self {
        let silenced_by: Vec<String> = w
            .status
            .silenced_by
            .into_iter()
            .map(sanitize::remote_owned)
            .collect();
        Self {
            fingerprint: sanitize::remote_owned(w.fingerprint),
            labels: clean_map(w.labels),
            annotations: clean_map(w.annotations),
            state: w.status.state,
            status: AlertStatus::of(w.status.state, &silenced_by),
            silenced_by,
            inhibited_by: w
                .status
                .inhibited_by
                .into_iter()
                .map(sanitize::remote_owned)
                .collect(),
            receivers: w
                .receivers
                .into_iter()
                .map(|r| sanitize::remote_owned(r.name))
                .collect(),
            starts_at: w.starts_at,
            ends_at: w.ends_at,
            updated_at: w.updated_at,
            generator_url: w.generator_url.as_deref().map(clean),
            acknowledged: None,
        }
    }
}

impl From<WireSilence> for Silence {
    fn from(w: WireSilence) -> Self {
        Self {
            id: clean(&w.id),
            matchers: w
                .matchers
                .into_iter()
                .map(|m| Matcher {
                    name: clean(&m.name),
                    value: clean(&m.value),
                    is_regex: m.is_regex,
                    is_equal: m.is_equal,
                })
                .collect(),
            state: w.status.state,
            starts_at: w.starts_at,
            ends_at: w.ends_at,
            updated_at: w.updated_at,
            created_by: clean(&w.created_by),
            comment: clean(&w.comment),
        }
    }
}

/// One Alertmanager: no token, no redirects, capped reads, bounded waits.
#[derive(Debug, Clone)]
pub struct AlertmanagerClient {
    base: Url,
    http: reqwest::Client,
    timeouts: Timeouts,
    retry: RetryPolicy,
    /// The profile's name when it is read-only: then only reads are sent.
    read_only: Option<String>,
}

impl AlertmanagerClient {
    pub fn new(base_url: &str, timeouts: Timeouts, retry: RetryPolicy) -> Result<Self> {
        let base = Url::parse(base_url).map_err(|e| {
            Error::invalid(
                "alertmanager_urls",
                format!("`{base_url}` is not a URL ({e})"),
            )
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::HttpClient {
                message: e.to_string(),
            })?;
        Ok(Self {
            base,
            http,
            timeouts,
            retry,
            read_only: None,
        })
    }

    /// Sends only reads, as for the read-only profile `profile`: creating
    /// or expiring a silence fails before anything is sent.
    pub fn read_only_for(mut self, profile: &str) -> Self {
        self.read_only = Some(profile.to_string());
        self
    }

    /// The base URL, as the profile names it.
    pub fn url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v2"]).extend(segments);
        }
        url
    }

    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        let wire: Vec<WireAlert> = self
            .call(
                Method::GET,
                &["alerts"],
                &filter.query(),
                None::<&()>,
                MAX_ALERTS_BYTES,
            )
            .await?;
        Ok(wire.into_iter().map(Alert::from).collect())
    }

    pub async fn groups(&self, filter: &AlertFilter) -> Result<Vec<AlertGroup>> {
        let wire: Vec<WireGroup> = self
            .call(
                Method::GET,
                &["alerts", "groups"],
                &filter.query(),
                None::<&()>,
                MAX_ALERTS_BYTES,
            )
            .await?;
        Ok(wire
            .into_iter()
            .map(|g| AlertGroup {
                labels: clean_map(g.labels),
                receiver: clean(&g.receiver.name),
                alerts: g.alerts.into_iter().map(Alert::from).collect(),
            })
            .collect())
    }

    pub async fn silences(&self) -> Result<Vec<Silence>> {
        let wire: Vec<WireSilence> = self
            .call(
                Method::GET,
                &["silences"],
                &[],
                None::<&()>,
                MAX_SILENCES_BYTES,
            )
            .await?;
        Ok(wire.into_iter().map(Silence::from).collect())
    }

    /// Creates the silence; returns its id.
    pub async fn create_silence(&self, silence: &NewSilence) -> Result<String> {
        let now = Utc::now();
        let ends_at = now
            + chrono::Duration::from_std(silence.duration)
                .map_err(|_| Error::invalid("duration", "too long"))?;
        let body = PostSilence {
            matchers: silence
                .matchers
                .iter()
                .map(|m| PostMatcher {
                    name: &m.name,
                    value: &m.value,
                    is_regex: m.is_regex,
                    is_equal: m.is_equal,
                })
                .collect(),
            starts_at: now,
            ends_at,
            created_by: &silence.created_by,
            comment: &silence.comment,
        };
        let created: SilenceCreated = self
            .call(
                Method::POST,
                &["silences"],
                &[],
                Some(&body),
                MAX_SILENCE_BYTES,
            )
            .await?;
        Ok(clean(&created.silence_id))
    }

    pub async fn expire_silence(&self, id: &str) -> Result<()> {
        self.call_raw(
            Method::DELETE,
            &["silence", id],
            &[],
            None::<&()>,
            MAX_SILENCE_BYTES,
        )
        .await
        .map(drop)
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&impl Serialize>,
        limit: u64,
    ) -> Result<T> {
        let (url, bytes) = self.call_raw(method, segments, query, body, limit).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::MalformedResponse {
            url: url.to_string(),
            message: sanitize::remote(&e.to_string()),
        })
    }

    /// Reads and deletes are retried within the read (or write) budget;
    /// creating a silence is not repeated, it would make two.
    async fn call_raw(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&impl Serialize>,
        limit: u64,
    ) -> Result<(Url, Vec<u8>)> {
        if let (Some(profile), false) = (&self.read_only, method == Method::GET) {
            return Err(Error::ReadOnlyProfile {
                profile: profile.clone(),
            });
        }
        let url = self.endpoint(segments);
        let repeatable = matches!(method, Method::GET | Method::DELETE);
        let budget = if method == Method::GET {
            self.timeouts.read_budget
        } else {
            self.timeouts.write_budget
        };
        let deadline = Instant::now() + budget;
        let mut retry = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let attempt = self.attempt(&method, &url, query, body, limit);
            let result = tokio::time::timeout(self.timeouts.request.min(remaining), attempt)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout {
                        url: url.origin().ascii_serialization(),
                    })
                });
            let retryable = match &result {
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) => true,
                Err(Error::AlertmanagerRefused { status, .. }) => {
                    matches!(*status, 429 | 502 | 503 | 504)
                }
                _ => false,
            };
            if !(retryable && repeatable) || retry + 1 >= self.retry.attempts {
                return result.map(|bytes| (url, bytes));
            }
            let delay = self.retry.delay(retry);
            if Instant::now() + delay >= deadline {
                return result.map(|bytes| (url, bytes));
            }
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        query: &[(&str, String)],
        body: Option<&impl Serialize>,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let mut request = self.http.request(method.clone(), url.clone());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| transport_error(url, e))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| sanitize::remote(&String::from_utf8_lossy(v.as_bytes())));
            return Err(Error::Redirected {
                url: url.to_string(),
                status: status.as_u16(),
                location,
            });
        }
        let limit = if status.is_success() {
            limit
        } else {
            MAX_ERROR_BYTES
        };
        let bytes = read_capped(url, response, limit).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        Err(Error::AlertmanagerRefused {
            url: url.to_string(),
            status: status.as_u16(),
            message: refusal(status, &bytes),
        })
    }
}

/// What Alertmanager said when it refused: a JSON string, an object with a
/// `message`, or plain text; cleaned and cut short.
fn refusal(status: StatusCode, bytes: &[u8]) -> String {
    #[derive(Deserialize)]
    struct WithMessage {
        message: String,
    }
    let text = serde_json::from_slice::<String>(bytes)
        .ok()
        .or_else(|| {
            serde_json::from_slice::<WithMessage>(bytes)
                .ok()
                .map(|m| m.message)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned());
    let text: String = text.trim().chars().take(300).collect();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        sanitize::remote(&text)
    }
}

impl Session {
    /// The alerts capability of this session's profile.
    pub fn alerts(&self) -> Result<Alerts<'_>> {
        let profile = self.profile();
        if profile.alertmanager_urls.is_empty() {
            return Err(Error::NoAlertmanager {
                profile: profile.name.clone(),
            });
        }
        Ok(Alerts { session: self })
    }
}

/// The alerts and silences of a session's profile, over all its
/// Alertmanagers.
pub struct Alerts<'s> {
    session: &'s Session,
}

/// What was asked of every Alertmanager: the answers, and who failed.
struct Fanned<T> {
    answers: Vec<(String, T)>,
    unreachable: Vec<Unreachable>,
}

impl<'s> Alerts<'s> {
    fn profile(&self) -> &Profile {
        self.session.profile()
    }

    fn clients(&self) -> &[AlertmanagerClient] {
        self.session.alertmanagers()
    }

    /// Asks every Alertmanager at once; an error when none answered (the
    /// first refusal when one refused, else every unreachable one named).
    async fn each<T, F, Fut>(&self, ask: F) -> Result<Fanned<T>>
    where
        F: Fn(AlertmanagerClient) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        // All at once: one member that hangs costs its own budget, not the
        // sum of everyone's.
        let mut calls = tokio::task::JoinSet::new();
        for (index, client) in self.clients().iter().enumerate() {
            let url = client.url();
            let call = ask(client.clone());
            calls.spawn(async move { (index, url, call.await) });
        }
        let mut results = Vec::with_capacity(self.clients().len());
        while let Some(joined) = calls.join_next().await {
            match joined {
                Ok(result) => results.push(result),
                Err(e) => {
                    return Err(Error::HttpClient {
                        message: format!("an Alertmanager call failed: {e}"),
                    })
                }
            }
        }
        // In the profile's order, so the first member's answer is merged first.
        results.sort_by_key(|(index, _, _)| *index);
        let results = results.into_iter().map(|(_, url, result)| (url, result));
        let mut answers = Vec::new();
        let mut unreachable = Vec::new();
        let mut refused = None;
        let mut offline = 0;
        for (url, result) in results {
            match result {
                Ok(answer) => answers.push((url, answer)),
                Err(e) if e.is_offline() => {
                    offline += 1;
                    unreachable.push(Unreachable {
                        url,
                        message: e.to_string(),
                    })
                }
                Err(e) => {
                    // An Alertmanager that answers nonsense is as good as
                    // down for the merge, but its error is the one to show
                    // when nothing else answered.
                    unreachable.push(Unreachable {
                        url,
                        message: e.to_string(),
                    });
                    refused.get_or_insert(e);
                }
            }
        }
        if answers.is_empty() {
            // Every one answered, with something Opsdeck refuses: that is
            // the error, not "unreachable".
            if let (Some(e), 0) = (refused, offline) {
                return Err(e);
            }
            return Err(Error::AlertmanagersUnreachable {
                profile: self.profile().name.clone(),
                failures: unreachable.into_iter().map(|u| u.message).collect(),
            });
        }
        // The caller names them from the merged view; a log line too would
        // say it twice.
        for u in &unreachable {
            tracing::debug!(url = %u.url, error = %u.message, "an Alertmanager did not answer");
        }
        Ok(Fanned {
            answers,
            unreachable,
        })
    }

    fn merged<T>(
        &self,
        items: Vec<T>,
        answered: Vec<String>,
        unreachable: Vec<Unreachable>,
    ) -> Merged<T> {
        Merged {
            profile: self.profile().name.clone(),
            tier: self.profile().tier,
            items,
            answered,
            unreachable,
            fetched_at: Utc::now(),
        }
    }

    /// Alerts of every Alertmanager, deduplicated by fingerprint (the
    /// latest update wins), ordered by alertname, then start.
    pub async fn list(&self, filter: &AlertFilter) -> Result<Merged<Alert>> {
        let (fanned, silences) = tokio::join!(
            self.each(|c| {
                let filter = filter.clone();
                async move { c.alerts(&filter).await }
            }),
            self.silences()
        );
        let fanned = fanned?;
        // Acknowledgements are a courtesy on top of the alerts: without the
        // silences the alerts still show, unacknowledged.
        let acks: HashMap<String, Acknowledgement> = silences
            .map(|s| {
                s.items
                    .iter()
                    .filter_map(Silence::acknowledgement)
                    .collect()
            })
            .unwrap_or_default();
        let answered: Vec<String> = fanned.answers.iter().map(|(url, _)| url.clone()).collect();
        let mut alerts: Vec<Alert> = if fanned.answers.len() == 1 {
            // One Alertmanager lists each fingerprint once: nothing to merge.
            fanned
                .answers
                .into_iter()
                .flat_map(|(_, alerts)| alerts)
                .collect()
        } else {
            let mut by_fingerprint: HashMap<String, Alert> = HashMap::new();
            for alert in fanned.answers.into_iter().flat_map(|(_, alerts)| alerts) {
                merge_alert(&mut by_fingerprint, alert);
            }
            by_fingerprint.into_values().collect()
        };
        for alert in &mut alerts {
            alert.acknowledged = acks.get(&alert.fingerprint).cloned();
        }
        // The key is read once per alert, not per comparison.
        alerts.sort_by_cached_key(|a| {
            (
                a.label("alertname").map(str::to_string),
                a.starts_at,
                a.fingerprint.clone(),
            )
        });
        Ok(self.merged(alerts, answered, fanned.unreachable))
    }

    /// Alert groups of every Alertmanager, merged by receiver and grouping
    /// labels, their alerts deduplicated by fingerprint.
    pub async fn groups(&self, filter: &AlertFilter) -> Result<Merged<AlertGroup>> {
        let fanned = self
            .each(|c| {
                let filter = filter.clone();
                async move { c.groups(&filter).await }
            })
            .await?;
        type Key = (String, BTreeMap<String, String>);
        let mut groups: BTreeMap<Key, HashMap<String, Alert>> = BTreeMap::new();
        let mut answered = Vec::new();
        for (url, list) in fanned.answers {
            answered.push(url);
            for group in list {
                let alerts = groups.entry((group.receiver, group.labels)).or_default();
                for alert in group.alerts {
                    merge_alert(alerts, alert);
                }
            }
        }
        let items = groups
            .into_iter()
            .map(|((receiver, labels), alerts)| {
                let mut alerts: Vec<Alert> = alerts.into_values().collect();
                alerts.sort_by(|a, b| {
                    (a.starts_at, &a.fingerprint).cmp(&(b.starts_at, &b.fingerprint))
                });
                AlertGroup {
                    labels,
                    receiver,
                    alerts,
                }
            })
            .collect();
        Ok(self.merged(items, answered, fanned.unreachable))
    }

    /// Silences of every Alertmanager, deduplicated by id (the latest
    /// update wins), newest first.
    pub async fn silences(&self) -> Result<Merged<Silence>> {
        let fanned = self.each(|c| async move { c.silences().await }).await?;
        let mut by_id: HashMap<String, Silence> = HashMap::new();
        let mut answered = Vec::new();
        for (url, silences) in fanned.answers {
            answered.push(url);
            for silence in silences {
                match by_id.get(&silence.id) {
                    Some(seen) if seen.updated_at >= silence.updated_at => {}
                    _ => {
                        by_id.insert(silence.id.clone(), silence);
                    }
                }
            }
        }
        let mut silences: Vec<Silence> = by_id.into_values().collect();
        silences.sort_by(|a, b| b.starts_at.cmp(&a.starts_at).then_with(|| a.id.cmp(&b.id)));
        Ok(self.merged(silences, answered, fanned.unreachable))
    }

    /// What must be typed to mute alerts with `matchers` on production: the
    /// alert's name when the silence names one, else the matchers as
    /// written.
    pub fn silence_target(matchers: &[Matcher]) -> String {
        matchers
            .iter()
            .find(|m| m.name == "alertname" && m.is_equal && !m.is_regex)
            .map(|m| m.value.clone())
            .unwrap_or_else(|| {
                matchers
                    .iter()
                    .map(Matcher::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })
    }

    fn silence_summary(&self, matchers: &[Matcher], duration: Duration) -> String {
        let matchers = matchers
            .iter()
            .map(Matcher::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "Mute every alert matching {{{matchers}}} for {} on {}: nobody is paged for them until the silence ends.",
            human(duration),
            place(self.profile())
        )
    }

    fn expire_summary(&self, id: &str) -> String {
        format!(
            "Expire silence {id} on {}: the alerts it mutes page again at once.",
            place(self.profile())
        )
    }

    fn confirm_text(&self, target: &str) -> Option<String> {
        (self.profile().tier == crate::Tier::Prod).then(|| target.to_string())
    }

    /// What a silence of `matchers` for `duration` will do, how many firing
    /// alerts it would mute now, and what production asks to be typed.
    pub async fn silence_preflight(
        &self,
        matchers: &[Matcher],
        duration: Duration,
    ) -> Result<SilencePreflight> {
        if matchers.is_empty() {
            return Err(Error::invalid("matchers", "give at least one matcher"));
        }
        // A bad regex is the user's to fix before anything is asked.
        for m in matchers.iter().filter(|m| m.is_regex) {
            m.matches(&BTreeMap::new())?;
        }
        let alerts = self.list(&AlertFilter::default()).await?;
        let firing = count_firing(&alerts.items, matchers)?;
        let target = Self::silence_target(matchers);
        Ok(SilencePreflight {
            confirm_text: self.confirm_text(&target),
            target,
            noun: "alert name".into(),
            summary: self.silence_summary(matchers, duration),
            firing: u32::try_from(firing).unwrap_or(u32::MAX),
        })
    }

    /// What expiring silence `id` will do, and what production asks to be
    /// typed.
    pub fn expire_preflight(&self, id: &str) -> SilencePreflight {
        let id = id.trim();
        SilencePreflight {
            target: id.to_string(),
            noun: "silence id".into(),
            summary: self.expire_summary(id),
            confirm_text: self.confirm_text(id),
            firing: 0,
        }
    }

    /// Creates a silence on the first Alertmanager that takes it (the
    /// members of a cluster share it among themselves) and returns its id.
    /// On production it mutes paging, so `confirmation` must be the
    /// [`Self::silence_target`].
    pub async fn silence(
        &self,
        silence: &NewSilence,
        confirmation: Option<&str>,
    ) -> Result<String> {
        if silence.matchers.is_empty() {
            return Err(Error::invalid("matchers", "give at least one matcher"));
        }
        if silence.comment.trim().is_empty() {
            return Err(Error::invalid("comment", "say why the alerts are muted"));
        }
        if silence.duration.is_zero() || silence.duration > MAX_SILENCE {
            return Err(Error::invalid(
                "duration",
                "must be between 1s and 365 days",
            ));
        }
        let target = Self::silence_target(&silence.matchers);
        safety::check_typed(
            self.profile(),
            "silence",
            &target,
            "alert name",
            self.silence_summary(&silence.matchers, silence.duration),
            confirmation,
        )?;
        self.create(silence).await
    }

    /// [`Self::silence`], ended by a watcher ([`Self::end_resolved`]) once
    /// none of the alerts it matches is left; `silence.duration` bounds it
    /// in case no watcher runs.
    pub async fn silence_until_resolved(
        &self,
        silence: &NewSilence,
        confirmation: Option<&str>,
    ) -> Result<String> {
        let mut marked = silence.clone();
        marked.comment = format!("{UNTIL_RESOLVED}{}", silence.comment.trim());
        self.silence(&marked, confirmation).await
    }

    /// Expires the live silences made to end when their alerts resolve
    /// and whose alerts are all gone (resolved): they would mute nothing
    /// but the next alert of the same name. Nothing on a read-only
    /// profile. Returns the ids expired.
    pub async fn end_resolved(&self) -> Result<Vec<String>> {
        if self.profile().read_only {
            return Ok(Vec::new());
        }
        let silences = self.silences().await?;
        let waiting: Vec<&Silence> = silences
            .items
            .iter()
            .filter(|s| s.state == SilenceState::Active && s.until_resolved())
            .collect();
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        let everything = AlertFilter {
            active: true,
            silenced: true,
            inhibited: true,
            matchers: Vec::new(),
        };
        let alerts = self.list(&everything).await?;
        let mut ended = Vec::new();
        for silence in waiting {
            let mut left = false;
            for alert in &alerts.items {
                if matches_all(&silence.matchers, &alert.labels)? {
                    left = true;
                    break;
                }
            }
            if !left {
                self.expire_everywhere(&silence.id).await?;
                ended.push(silence.id.clone());
            }
        }
        Ok(ended)
    }

    /// Creates `silence` on the first Alertmanager that takes it (the
    /// members of a cluster share it among themselves); its id.
    async fn create(&self, silence: &NewSilence) -> Result<String> {
        let mut down = Vec::new();
        for client in self.clients() {
            match client.create_silence(silence).await {
                Ok(id) => return Ok(id),
                Err(e) if e.is_offline() => down.push(e.to_string()),
                Err(e) => return Err(e),
            }
        }
        Err(self.all_down(down))
    }

    /// Acknowledges the firing alert of `fingerprint` for `hold`, as the
    /// person at this computer (what the other operators see; it mutes
    /// nothing, so production asks for no confirmation). Returns the
    /// record's id.
    pub async fn acknowledge(
        &self,
        fingerprint: &str,
        comment: &str,
        hold: Duration,
    ) -> Result<String> {
        self.profile().writable()?;
        let fingerprint = fingerprint.trim();
        if fingerprint.is_empty() || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(
                "alert",
                format!(
                    "`{fingerprint}` is not an alert's fingerprint (as `alerts list` shows it)"
                ),
            ));
        }
        if hold.is_zero() || hold > MAX_SILENCE {
            return Err(Error::invalid(
                "duration",
                "must be between 1s and 365 days",
            ));
        }
        let listed = self.list(&AlertFilter::default()).await?;
        let Some(alert) = listed.items.iter().find(|a| a.fingerprint == fingerprint) else {
            return Err(Error::invalid(
                "alert",
                format!(
                    "no alert `{fingerprint}` is firing on profile {}",
                    self.profile().name
                ),
            ));
        };
        let mut matchers = vec![Matcher {
            name: ACK_LABEL.into(),
            value: fingerprint.to_string(),
            is_regex: false,
            is_equal: true,
        }];
        // The alert's name too, so the record reads well in other tools.
        if let Some(name) = alert.label("alertname") {
            matchers.insert(
                0,
                Matcher {
                    name: "alertname".into(),
                    value: name.to_string(),
                    is_regex: false,
                    is_equal: true,
                },
            );
        }
        let record = NewSilence {
            matchers,
            duration: hold,
            comment: format!("{ACK_PREFIX}{}", comment.trim()),
            created_by: created_by(),
        };
        self.create(&record).await
    }

    /// Withdraws the acknowledgement `id` (as [`Acknowledgement::id`]).
    /// It muted nothing, so production asks for no confirmation; a silence
    /// that is not an acknowledgement is refused.
    pub async fn withdraw(&self, id: &str) -> Result<()> {
        self.profile().writable()?;
        let id = id.trim();
        let listed = self.silences().await?;
        match listed.items.iter().find(|s| s.id == id) {
            Some(s) if s.acknowledgement().is_some() => self.expire_everywhere(id).await,
            Some(_) => Err(Error::invalid(
                "acknowledgement",
                format!("`{id}` is a silence, not an acknowledgement: expire it as a silence"),
            )),
            None => Err(Error::SilenceNotFound {
                id: id.to_string(),
                profile: self.profile().name.clone(),
            }),
        }
    }

    /// Expires a silence on the Alertmanagers that know it. On production
    /// it re-enables paging, so `confirmation` must be the silence's id.
    pub async fn expire(&self, id: &str, confirmation: Option<&str>) -> Result<()> {
        let id = id.trim();
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(Error::invalid(
                "silence",
                format!("`{id}` is not a silence id (a UUID, as `alerts silences` lists them)"),
            ));
        }
        safety::check_typed(
            self.profile(),
            "expire",
            id,
            "silence id",
            self.expire_summary(id),
            confirmation,
        )?;
        self.expire_everywhere(id).await
    }

    /// Expires silence `id` on every Alertmanager that knows it.
    async fn expire_everywhere(&self, id: &str) -> Result<()> {
        let mut expired = false;
        let mut down = Vec::new();
        for client in self.clients() {
            match client.expire_silence(id).await {
                Ok(()) => expired = true,
                Err(e) if e.is_offline() => down.push(e.to_string()),
                // Not known there (0.25 answers 500 "silence not found";
                // an expired one is expired again with 200).
                Err(Error::AlertmanagerRefused {
                    status, message, ..
                }) if status == 404 || message.contains("not found") => {}
                Err(e) if expired => {
                    tracing::warn!(error = %e, "a member of the cluster refused to expire the silence");
                }
                Err(e) => return Err(e),
            }
        }
        if expired {
            return Ok(());
        }
        if down.is_empty() {
            return Err(Error::SilenceNotFound {
                id: id.to_string(),
                profile: self.profile().name.clone(),
            });
        }
        // Those that answered do not know it; one that did not answer might:
        // "not found" is not a safe thing to say.
        Err(self.all_down(down))
    }

    fn all_down(&self, failures: Vec<String>) -> Error {
        Error::AlertmanagersUnreachable {
            profile: self.profile().name.clone(),
            failures,
        }
    }
}

fn merge_alert(into: &mut HashMap<String, Alert>, alert: Alert) {
    match into.get(&alert.fingerprint) {
        Some(seen) if seen.updated_at >= alert.updated_at => {}
        _ => {
            into.insert(alert.fingerprint.clone(), alert);
        }
    }
}

fn place(profile: &Profile) -> String {
    format!("profile {} ({})", profile.name, profile.tier)
}

/// `2h`, `1h30m`, `45s` for people.
pub fn human(duration: Duration) -> String {
    let mut s = duration.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= size {
            out.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(state: AlertState, labels: &[(&str, &str)]) -> Alert {
        let now = Utc::now();
        Alert {
            fingerprint: format!("{labels:?}"),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            state,
            status: AlertStatus::of(state, &[]),
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
            receivers: Vec::new(),
            starts_at: now,
            ends_at: now,
            updated_at: now,
            generator_url: None,
            acknowledged: None,
        }
    }

    #[test]
    fn matchers_count_the_firing_alerts_as_alertmanager_matches_them() {
        let alerts = [
            labelled(
                AlertState::Active,
                &[("alertname", "DiskFilling"), ("instance", "db-1")],
            ),
            labelled(
                AlertState::Active,
                &[("alertname", "DiskFilling"), ("instance", "db-12")],
            ),
            labelled(AlertState::Active, &[("alertname", "HighErrorRate")]),
            labelled(
                AlertState::Suppressed,
                &[("alertname", "DiskFilling"), ("instance", "db-1")],
            ),
        ];
        let count = |text: &[&str]| {
            let matchers: Vec<Matcher> = text
                .iter()
                .map(|t| Matcher::parse(t).expect("matcher"))
                .collect();
            count_firing(&alerts, &matchers).expect("count")
        };
        assert_eq!(
            count(&["alertname=DiskFilling"]),
            2,
            "the silenced one is not firing"
        );
        assert_eq!(count(&["alertname=DiskFilling", "instance=db-1"]), 1);
        // A regex matches the whole value, not a part of it.
        assert_eq!(count(&["instance=~db-1"]), 1);
        assert_eq!(count(&["instance=~\"db-1.*\""]), 2);
        // A missing label is empty: `!=` keeps, `=""` matches it.
        assert_eq!(count(&["instance!=db-1"]), 2);
        assert_eq!(count(&["instance=\"\""]), 1);
        assert_eq!(count(&["alertname!~Disk.*"]), 1);
        let bad = Matcher::parse("instance=~(db").expect("parsed");
        assert!(
            count_firing(&alerts, &[bad]).is_err(),
            "a broken regex is refused"
        );
    }

    #[test]
    fn a_suppressed_alert_is_silenced_only_when_a_silence_mutes_it() {
        let silence = vec!["s-1".to_string()];
        assert_eq!(
            AlertStatus::of(AlertState::Active, &[]),
            AlertStatus::Firing
        );
        assert_eq!(
            AlertStatus::of(AlertState::Suppressed, &silence),
            AlertStatus::Silenced
        );
        assert_eq!(
            AlertStatus::of(AlertState::Suppressed, &[]),
            AlertStatus::Inhibited
        );
        assert_eq!(AlertStatus::Silenced.as_str(), "silenced");
    }

    #[test]
    fn matchers_read_every_operator_and_refuse_bad_names() {
        let m = Matcher::parse("alertname=HighErrorRate").expect("eq");
        assert!(m.is_equal && !m.is_regex);
        assert_eq!(m.to_string(), "alertname=\"HighErrorRate\"");
        let m = Matcher::parse("job!~\"api|web\"").expect("nre");
        assert!(!m.is_equal && m.is_regex);
        assert_eq!(m.value, "api|web");
        assert!(Matcher::parse("severity!=info").is_ok_and(|m| !m.is_equal && !m.is_regex));
        for bad in ["noequals", "=x", "1abc=x", "a-b=x"] {
            assert!(Matcher::parse(bad).is_err(), "{bad}");
        }
        let quoted = Matcher::parse("summary=say \"hi\"").expect("quote in value");
        assert_eq!(quoted.to_string(), "summary=\"say \\\"hi\\\"\"");
    }

    #[test]
    fn durations_read_units_and_refuse_nonsense() {
        assert_eq!(parse_duration("2h").ok(), Some(Duration::from_secs(7200)));
        assert_eq!(
            parse_duration("1h30m").ok(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(parse_duration("1d").ok(), Some(Duration::from_secs(86_400)));
        for bad in ["", "0m", "2", "h", "2x", "400d", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(human(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn the_silence_target_is_the_alert_name_or_the_matchers() {
        let named = [
            Matcher::parse("alertname=Disk").expect("m"),
            Matcher::parse("job=api").expect("m"),
        ];
        assert_eq!(Alerts::silence_target(&named), "Disk");
        let unnamed = [Matcher::parse("job=api").expect("m")];
        assert_eq!(Alerts::silence_target(&unnamed), "job=\"api\"");
    }

    #[test]
    fn a_refusal_is_read_from_a_string_an_object_or_text() {
        assert_eq!(
            refusal(StatusCode::BAD_REQUEST, b"\"bad matcher\""),
            "bad matcher"
        );
        assert_eq!(
            refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                br#"{"code":601,"message":"not a uuid"}"#
            ),
            "not a uuid"
        );
        assert_eq!(
            refusal(StatusCode::BAD_GATEWAY, b""),
            "HTTP 502 Bad Gateway"
        );
        assert!(!refusal(StatusCode::BAD_REQUEST, b"\x1b[31mred").contains('\u{1b}'));
    }
}
