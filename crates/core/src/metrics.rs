//! Queries of the profile's Prometheus (HTTP API v1): instant queries
//! (`/api/v1/query`) and range queries (`/api/v1/query_range`), whose step
//! is chosen from the range and the width the result is drawn at, never
//! asking for more than Prometheus's 11,000 points per series.
//!
//! The client trusts Prometheus no more than the admin client trusts its
//! server: the same time budget (a query's whole run, retries included, is a
//! read), no redirects, no token, and a cap on what it reads: an answer is
//! read up to [`MAX_QUERY_BYTES`] and given up on as soon as it shows more
//! than [`MAX_SERIES`] series, so a query that matches a hundred thousand
//! series is refused rather than read whole and held in memory. Prometheus's errors keep their meaning (a PromQL syntax
//! error names its line and column) and its warnings are passed on; every
//! label, warning and message is cleaned of terminal control.
//!
//! Dashboards, charts and downsampling are in [`crate::dashboards`]. Not
//! here yet: the offline copy.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{StatusCode, Url};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use tokio::time::Instant;

use crate::client::{read_capped, transport_error, RetryPolicy, Timeouts, MAX_ERROR_BYTES};
use crate::error::{Error, Result};
use crate::profiles::Tier;
use crate::sanitize;
use crate::session::Session;

/// Prometheus refuses a range query that would give more points than this
/// per series.
pub const MAX_POINTS_PER_SERIES: u64 = 11_000;
/// The most Opsdeck reads of one answer: a panel of a few dozen series at
/// 11,000 points each fits; a query matching everything does not.
pub const MAX_QUERY_BYTES: u64 = 32 * 1024 * 1024;
/// The most series Opsdeck takes from one query: more cannot be drawn or
/// read, and a query that matches more has lost a label matcher.
pub const MAX_SERIES: usize = 10_000;
/// The width a range is drawn at when the caller has no pixels to go by
/// (the CLI): about one point per pixel of a wide panel.
pub const DEFAULT_WIDTH_PX: u32 = 1_000;
/// The finest step Opsdeck asks for: no scrape is more frequent.
const MIN_STEP_SECS: u64 = 1;
/// Steps people read at a glance; a step between two is rounded up.
const NICE_STEPS: [u64; 18] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
    86_400,
];

/// What kind of result Prometheus gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultType {
    Vector,
    Matrix,
    Scalar,
    String,
}

/// One sample: when, and its value (`NaN` and infinities included, as
/// Prometheus has them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub at: DateTime<Utc>,
    #[serde(serialize_with = "number_or_name")]
    pub value: f64,
}

/// One series: its labels (`__name__` included when Prometheus keeps it)
/// and its points, oldest first. An instant query gives one point each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<Point>,
}

impl Series {
    pub fn last(&self) -> Option<f64> {
        self.points.last().map(|p| p.value)
    }

    /// The smallest value, `NaN`s left out.
    pub fn min(&self) -> Option<f64> {
        self.values().reduce(f64::min)
    }

    /// The largest value, `NaN`s left out.
    pub fn max(&self) -> Option<f64> {
        self.values().reduce(f64::max)
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.points.iter().map(|p| p.value).filter(|v| !v.is_nan())
    }
}

/// The range a range query covers, and the step it was asked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step_seconds: u64,
}

impl Span {
    /// The points per series this span gives.
    pub fn points(&self) -> u64 {
        let seconds = (self.end - self.start).num_seconds().max(0) as u64;
        seconds / self.step_seconds.max(1) + 1
    }
}

/// What a query of the profile's Prometheus found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryResult {
    pub profile: String,
    pub tier: Tier,
    pub query: String,
    pub result_type: ResultType,
    /// Every series, in Prometheus's order. A scalar is one series without
    /// labels.
    pub series: Vec<Series>,
    /// A string result's text.
    pub text: Option<String>,
    /// The range and step of a range query.
    pub span: Option<Span>,
    /// What Prometheus warned about (the result may be partial).
    pub warnings: Vec<String>,
    pub fetched_at: DateTime<Utc>,
}

/// A range query's range: its length, where it ends, and how wide it will
/// be drawn (or, instead, the step wanted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeSpec {
    pub length: Duration,
    /// Now when `None`.
    pub end: Option<DateTime<Utc>>,
    /// About one point per pixel.
    pub width_px: u32,
    /// A step of the caller's choosing; it must keep within
    /// [`MAX_POINTS_PER_SERIES`].
    pub step: Option<Duration>,
}

impl RangeSpec {
    /// The last `length`, drawn [`DEFAULT_WIDTH_PX`] wide.
    pub fn last(length: Duration) -> Self {
        Self {
            length,
            end: None,
            width_px: DEFAULT_WIDTH_PX,
            step: None,
        }
    }

    /// The range with its step, or why it cannot be asked.
    pub fn span(&self, now: DateTime<Utc>) -> Result<Span> {
        if self.length.as_secs() == 0 {
            return Err(Error::invalid("range", "must be at least 1s"));
        }
        let step = match self.step {
            None => choose_step(self.length, self.width_px),
            Some(step) => {
                let step = step.as_secs();
                if step == 0 {
                    return Err(Error::invalid("step", "must be at least 1s"));
                }
                let points = self.length.as_secs() / step + 1;
                if points > MAX_POINTS_PER_SERIES {
                    let least = self.length.as_secs().div_ceil(MAX_POINTS_PER_SERIES - 1);
                    return Err(Error::invalid(
                        "step",
                        format!(
                            "gives {points} points per series over {}; Prometheus takes at most {MAX_POINTS_PER_SERIES}: use a step of at least {}",
                            crate::alerts::human(self.length),
                            crate::alerts::human(Duration::from_secs(least))
                        ),
                    ));
                }
                step
            }
        };
        let end = self.end.unwrap_or(now);
        let length = chrono::Duration::from_std(self.length)
            .map_err(|_| Error::invalid("range", "too long"))?;
        Ok(Span {
            start: end - length,
            end,
            step_seconds: step,
        })
    }
}

/// The step for `length` drawn `width_px` wide: about one point per pixel,
/// rounded up to a step people read at a glance, never finer than a second
/// and never so fine that a series has more than
/// [`MAX_POINTS_PER_SERIES`] points.
pub fn choose_step(length: Duration, width_px: u32) -> u64 {
    let seconds = length.as_secs().max(1);
    let per_pixel = seconds.div_ceil(u64::from(width_px.max(1)));
    let within_limit = seconds.div_ceil(MAX_POINTS_PER_SERIES - 1);
    let wanted = per_pixel.max(within_limit).max(MIN_STEP_SECS);
    NICE_STEPS
        .iter()
        .copied()
        .find(|&nice| nice >= wanted)
        .unwrap_or_else(|| wanted.div_ceil(86_400) * 86_400)
}

/// Reads a range like `1h`, `30m`, `7d` (units d, h, m, s) for `field`.
pub fn parse_length(field: &str, text: &str) -> Result<Duration> {
    crate::alerts::parse_duration(text).map_err(|e| match e {
        Error::InvalidInput { message, .. } => Error::invalid(field, message),
        other => other,
    })
}

/// Finite values as JSON numbers; `NaN` and the infinities, which JSON
/// has no numbers for, as Prometheus writes them.
fn number_or_name<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else if value.is_nan() {
        serializer.serialize_str("NaN")
    } else if *value > 0.0 {
        serializer.serialize_str("+Inf")
    } else {
        serializer.serialize_str("-Inf")
    }
}

// The wire format of Prometheus's HTTP API v1.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    status: String,
    data: Option<WireData>,
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireData {
    result_type: ResultType,
    result: WireResult,
}

/// `result`: series (vector, matrix), or `[time, value]` (scalar, string).
#[derive(Default)]
struct WireResult {
    series: Vec<WireSeries>,
    pair: Vec<Element>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Element {
    Series(WireSeries),
    Time(f64),
    Text(String),
}

#[derive(Deserialize)]
struct WireSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: Option<(f64, String)>,
    values: Option<Vec<(f64, String)>>,
}

/// Said by the parser when a result holds more than [`MAX_SERIES`] series;
/// found again in serde's error to tell it from a malformed answer.
const TOO_MANY: &str = "opsdeck: more series than the cap";

impl<'de> Deserialize<'de> for WireResult {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Capped;
        impl<'de> Visitor<'de> for Capped {
            type Value = WireResult;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of series or a [time, value] pair")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WireResult, A::Error> {
                let mut result = WireResult::default();
                // One element at a time: the cap stops the parse before a
                // hundred thousand series are built.
                while let Some(element) = seq.next_element::<Element>()? {
                    match element {
                        Element::Series(series) => {
                            if result.series.len() >= MAX_SERIES {
                                return Err(de::Error::custom(TOO_MANY));
                            }
                            result.series.push(series);
                        }
                        other => {
                            if result.pair.len() >= 2 {
                                return Err(de::Error::custom("a pair of more than two"));
                            }
                            result.pair.push(other);
                        }
                    }
                }
                Ok(result)
            }
        }
        deserializer.deserialize_seq(Capped)
    }
}

fn clean(text: &str) -> String {
    sanitize::remote(text)
}

fn time(seconds: f64) -> DateTime<Utc> {
    let millis = (seconds * 1000.0).round() as i64;
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// Prometheus writes sample values as strings: `"1"`, `"NaN"`, `"+Inf"`.
fn value(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// A query's answer, turned into series with clean labels.
struct Answer {
    result_type: ResultType,
    series: Vec<Series>,
    text: Option<String>,
    warnings: Vec<String>,
}

fn answer(url: &Url, data: WireData, warnings: Vec<String>) -> Result<Answer> {
    let malformed = |message: &str| Error::MalformedResponse {
        url: url.to_string(),
        message: message.to_string(),
    };
    let point = |(at, v): &(f64, String)| -> Result<Point> {
        Ok(Point {
            at: time(*at),
            value: value(v).ok_or_else(|| malformed("a sample value is not a number"))?,
        })
    };
    let mut text = None;
    let series = match data.result_type {
        ResultType::Vector | ResultType::Matrix => data
            .result
            .series
            .into_iter()
            .map(|s| {
                let labels = s
                    .metric
                    .into_iter()
                    .map(|(k, v)| (clean(&k), clean(&v)))
                    .collect();
                let points = match (s.value, s.values) {
                    (Some(one), _) => vec![point(&one)?],
                    (None, Some(many)) => many.iter().map(point).collect::<Result<_>>()?,
                    // A native histogram: not drawn yet, kept as a series
                    // with no points so it is not silently missing.
                    (None, None) => Vec::new(),
                };
                Ok(Series { labels, points })
            })
            .collect::<Result<Vec<_>>>()?,
        ResultType::Scalar | ResultType::String => {
            let (at, raw) = match data.result.pair.as_slice() {
                [Element::Time(at), Element::Text(raw)] => (*at, raw.clone()),
                _ => return Err(malformed("a scalar is not a [time, value] pair")),
            };
            if data.result_type == ResultType::String {
                text = Some(clean(&raw));
                Vec::new()
            } else {
                vec![Series {
                    labels: BTreeMap::new(),
                    points: vec![point(&(at, raw))?],
                }]
            }
        }
    };
    Ok(Answer {
        result_type: data.result_type,
        series,
        text,
        warnings: warnings.iter().map(|w| clean(w)).collect(),
    })
}

/// One Prometheus: no token, no redirects, capped reads, bounded waits.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    base: Url,
    http: reqwest::Client,
    timeouts: Timeouts,
    retry: RetryPolicy,
}

impl PrometheusClient {
    pub fn new(base_url: &str, timeouts: Timeouts, retry: RetryPolicy) -> Result<Self> {
        let base = Url::parse(base_url).map_err(|e| {
            Error::invalid("prometheus_url", format!("`{base_url}` is not a URL ({e})"))
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
        })
    }

    /// The base URL, as the profile names it.
    pub fn url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    fn endpoint(&self, name: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1", name]);
        }
        url
    }

    /// `query` at `at` (now when `None`).
    async fn instant(&self, query: &str, at: Option<DateTime<Utc>>) -> Result<Answer> {
        let mut params = vec![("query", query.to_string())];
        if let Some(at) = at {
            params.push(("time", unix_time(at)));
        }
        self.call("query", params).await
    }

    async fn range(&self, query: &str, span: &Span) -> Result<Answer> {
        let params = vec![
            ("query", query.to_string()),
            ("start", unix_time(span.start)),
            ("end", unix_time(span.end)),
            ("step", span.step_seconds.to_string()),
        ];
        self.call("query_range", params).await
    }

    /// Asks within the read budget, retrying what did not reach Prometheus
    /// or what it could not take on just then; Prometheus is told the time
    /// left, so it gives up on a long query itself and says so.
    async fn call(&self, name: &str, mut params: Vec<(&'static str, String)>) -> Result<Answer> {
        let url = self.endpoint(name);
        let deadline = Instant::now() + self.timeouts.read_budget;
        params.push((
            "timeout",
            format!("{}ms", self.timeouts.read_budget.as_millis()),
        ));
        let mut retry = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let attempt = self.attempt(&url, &params);
            let result = tokio::time::timeout(self.timeouts.request.min(remaining), attempt)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout {
                        url: url.origin().ascii_serialization(),
                    })
                });
            let retryable = match &result {
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) => true,
                Err(Error::PrometheusRefused { status, .. }) => {
                    matches!(*status, 429 | 502 | 504)
                }
                _ => false,
            };
            if !retryable || retry + 1 >= self.retry.attempts {
                return result;
            }
            let delay = self.retry.delay(retry);
            if Instant::now() + delay >= deadline {
                return result;
            }
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn attempt(&self, url: &Url, params: &[(&'static str, String)]) -> Result<Answer> {
        let response = self
            .http
            .get(url.clone())
            .query(params)
            .send()
            .await
            .map_err(|e| transport_error(url, e))?;
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
        let bytes = if status.is_success() {
            read_counting_series(url, response).await?
        } else {
            read_capped(url, response, MAX_ERROR_BYTES).await?
        };
        let envelope: Envelope = match serde_json::from_slice(&bytes) {
            Ok(envelope) => envelope,
            Err(e) if e.to_string().contains(TOO_MANY) => {
                return Err(Error::TooManySeries {
                    url: url.to_string(),
                    limit: MAX_SERIES,
                })
            }
            Err(_) if !status.is_success() => {
                return Err(refused(url, status, None, &String::from_utf8_lossy(&bytes)))
            }
            Err(e) => {
                return Err(Error::MalformedResponse {
                    url: url.to_string(),
                    message: sanitize::remote(&e.to_string()),
                })
            }
        };
        if envelope.status != "success" || !status.is_success() {
            let message = envelope.error.unwrap_or_default();
            if envelope.error_type.as_deref() == Some("bad_data") {
                if let Some(syntax) = syntax_error(&message) {
                    return Err(syntax);
                }
            }
            return Err(refused(url, status, envelope.error_type, &message));
        }
        let data = envelope.data.ok_or_else(|| Error::MalformedResponse {
            url: url.to_string(),
            message: "a successful answer without data".into(),
        })?;
        answer(url, data, envelope.warnings)
    }
}

/// How each series of a result starts, as Prometheus writes it (compact
/// JSON): a label named `metric` has a string value, so only a series has
/// an object here.
const SERIES_START: &[u8] = b"\"metric\":{";

/// The body of a successful answer, read up to [`MAX_QUERY_BYTES`] and
/// given up on as soon as it has shown more than [`MAX_SERIES`] series: a
/// query that matched everything is refused without being read whole. (A
/// server that hides its series from this count with whitespace is still
/// held to the byte cap, and to the series cap when parsed.)
async fn read_counting_series(url: &Url, mut response: reqwest::Response) -> Result<Vec<u8>> {
    let status = response.status().as_u16();
    let too_large = || Error::ResponseTooLarge {
        url: url.to_string(),
        status,
        limit: MAX_QUERY_BYTES,
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_QUERY_BYTES)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    let mut series = 0;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(url, e))?
    {
        if (bytes.len() + chunk.len()) as u64 > MAX_QUERY_BYTES {
            return Err(too_large());
        }
        // Search from just before the new chunk, for a start split across
        // two chunks.
        let from = bytes.len().saturating_sub(SERIES_START.len() - 1);
        bytes.extend_from_slice(&chunk);
        series += count(&bytes[from..], SERIES_START);
        if series > MAX_SERIES {
            return Err(Error::TooManySeries {
                url: url.to_string(),
                limit: MAX_SERIES,
            });
        }
    }
    Ok(bytes)
}

/// How many times `needle` occurs in `haystack`.
fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn refused(url: &Url, status: StatusCode, error_type: Option<String>, message: &str) -> Error {
    let message: String = message.trim().chars().take(300).collect();
    Error::PrometheusRefused {
        url: url.to_string(),
        status: status.as_u16(),
        error_type: error_type.map(|t| clean(&t)),
        message: if message.is_empty() {
            format!("HTTP {status}")
        } else {
            clean(&message)
        },
    }
}

/// A PromQL parse error, as Prometheus words it: `invalid parameter
/// "query": 1:5: parse error: unexpected <EOF>` (its line and column), or,
/// from older servers, `parse error at char 5: ...`.
fn syntax_error(message: &str) -> Option<Error> {
    let text = message
        .split_once("\"query\": ")
        .map_or(message, |(_, rest)| rest);
    let (line, column, rest) = if let Some(rest) = text.strip_prefix("parse error at char ") {
        let (at, rest) = rest.split_once(':')?;
        (1, at.trim().parse().ok()?, rest)
    } else {
        let (line, rest) = text.split_once(':')?;
        let (column, rest) = rest.split_once(':')?;
        let rest = rest.trim_start().strip_prefix("parse error:")?;
        (line.trim().parse().ok()?, column.trim().parse().ok()?, rest)
    };
    Some(Error::QuerySyntax {
        line,
        column,
        message: clean(rest.trim()),
    })
}

impl Session {
    /// The metrics capability of this session's profile: queries of its
    /// Prometheus.
    pub fn metrics(&self) -> Result<Metrics<'_>> {
        match self.prometheus() {
            Some(client) => Ok(Metrics {
                session: self,
                client,
            }),
            None => Err(Error::NoPrometheus {
                profile: self.profile().name.clone(),
            }),
        }
    }
}

/// Queries of a session's profile's Prometheus.
pub struct Metrics<'s> {
    session: &'s Session,
    client: &'s PrometheusClient,
}

impl<'s> Metrics<'s> {
    /// The session whose Prometheus this is.
    pub(crate) fn session(&self) -> &'s Session {
        self.session
    }

    fn check(query: &str) -> Result<&str> {
        let query = query.trim();
        if query.is_empty() {
            return Err(Error::invalid("query", "give a PromQL expression"));
        }
        Ok(query)
    }

    fn result(&self, query: &str, answer: Answer, span: Option<Span>) -> QueryResult {
        let profile = self.session.profile();
        QueryResult {
            profile: profile.name.clone(),
            tier: profile.tier,
            query: query.to_string(),
            result_type: answer.result_type,
            series: answer.series,
            text: answer.text,
            span,
            warnings: answer.warnings,
            fetched_at: Utc::now(),
        }
    }

    /// `query` evaluated now.
    pub async fn instant(&self, query: &str) -> Result<QueryResult> {
        let query = Self::check(query)?;
        let answer = self.client.instant(query, None).await?;
        Ok(self.result(query, answer, None))
    }

    /// `query` over `range`, at the step the range and its width call for.
    pub async fn range(&self, query: &str, range: &RangeSpec) -> Result<QueryResult> {
        let query = Self::check(query)?;
        let span = range.span(Utc::now())?;
        let answer = self.client.range(query, &span).await?;
        Ok(self.result(query, answer, Some(span)))
    }
}

/// A time as Prometheus takes it: Unix seconds, with milliseconds when
/// there are any. Whole seconds alone would put "now" up to a second in the
/// past, before a sample scraped a moment ago.
fn unix_time(at: DateTime<Utc>) -> String {
    match at.timestamp_subsec_millis() {
        0 => at.timestamp().to_string(),
        millis => format!("{}.{millis:03}", at.timestamp()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::hostile::{Hostile, Reply};
    use crate::paths::Paths;
    use crate::profiles::ProfileSettings;
    use crate::secrets::{MemorySecrets, Token};
    use crate::Console;

    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn times_sent_to_prometheus_keep_their_milliseconds() {
        let whole = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        assert_eq!(unix_time(whole), "1700000000");
        let later = DateTime::from_timestamp(1_700_000_000, 7_000_000).expect("time");
        assert_eq!(unix_time(later), "1700000000.007");
    }

    #[test]
    fn the_step_is_about_a_pixel_and_never_beyond_the_points_limit() {
        assert_eq!(choose_step(HOUR, 1000), 5, "3.6 s a pixel, rounded up");
        assert_eq!(choose_step(HOUR, 3600), 1);
        assert_eq!(
            choose_step(Duration::from_secs(60), 1000),
            1,
            "not finer than 1s"
        );
        assert_eq!(choose_step(DAY, 1000), 120);
        // A very wide panel over a long range: the limit decides.
        for (length, width) in [
            (DAY * 30, 100_000),
            (DAY * 365, 1_000_000),
            (HOUR * 10, u32::MAX),
            (DAY * 3650, 1),
        ] {
            let step = choose_step(length, width);
            let points = length.as_secs() / step + 1;
            assert!(
                points <= MAX_POINTS_PER_SERIES,
                "{length:?} {width}: {points}"
            );
        }
        assert_eq!(choose_step(DAY * 3650, 1), 3650 * 86_400);
    }

    #[test]
    fn a_given_step_beyond_the_points_limit_is_refused_with_the_least_that_works() {
        let spec = RangeSpec {
            step: Some(Duration::from_secs(1)),
            ..RangeSpec::last(DAY)
        };
        let err = spec.span(Utc::now()).expect_err("86,401 points");
        let text = err.to_string();
        assert!(text.starts_with("step:"), "{text}");
        assert!(
            text.contains("at most 11000") && text.contains("8s"),
            "{text}"
        );
        let fine = RangeSpec {
            step: Some(Duration::from_secs(8)),
            ..RangeSpec::last(DAY)
        }
        .span(Utc::now())
        .expect("10,801 points");
        assert!(fine.points() <= MAX_POINTS_PER_SERIES);
        assert_eq!(fine.end - fine.start, chrono::Duration::days(1));
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let err = syntax_error("invalid parameter \"query\": 1:5: parse error: unexpected <EOF>")
            .expect("a syntax error");
        assert!(
            matches!(&err, Error::QuerySyntax { line: 1, column: 5, message } if message == "unexpected <EOF>"),
            "{err:?}"
        );
        let old = syntax_error("parse error at char 7: unexpected \"}\"").expect("old words");
        assert!(matches!(
            old,
            Error::QuerySyntax {
                line: 1,
                column: 7,
                ..
            }
        ));
        assert!(syntax_error("invalid parameter \"step\": zero or negative").is_none());
        let hostile = syntax_error("1:1: parse error: \u{1b}]0;pwned\u{7}bad").expect("parsed");
        assert!(!hostile.to_string().contains('\u{1b}'), "{hostile}");
    }

    #[test]
    fn every_result_type_is_read_and_cleaned() {
        let url = Url::parse("http://127.0.0.1:9/api/v1/query").expect("url");
        let parse = |body: &str| -> Answer {
            let envelope: Envelope = serde_json::from_str(body).expect("envelope");
            answer(&url, envelope.data.expect("data"), envelope.warnings).expect("answer")
        };
        let vector = parse(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"job":"api\u001b[31m","__name__":"up"},"value":[1700000000.5,"1"]},
                {"metric":{"job":"web"},"value":[1700000000.5,"NaN"]}]},
              "warnings":["partial \u001b[2Jresult"]}"#,
        );
        assert_eq!(vector.series.len(), 2);
        assert_eq!(vector.series[0].labels["job"], "api");
        assert_eq!(vector.series[0].last(), Some(1.0));
        assert!(vector.series[1].last().is_some_and(f64::is_nan));
        assert_eq!(vector.warnings, ["partial result"]);
        let matrix = parse(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{},"values":[[1,"3"],[2,"+Inf"],[3,"-1"]]}]}}"#,
        );
        assert_eq!(matrix.series[0].points.len(), 3);
        assert_eq!(matrix.series[0].min(), Some(-1.0));
        assert_eq!(matrix.series[0].max(), Some(f64::INFINITY));
        let json = serde_json::to_value(&matrix.series[0]).expect("json");
        assert_eq!(json["points"][1]["value"], "+Inf");
        let scalar =
            parse(r#"{"status":"success","data":{"resultType":"scalar","result":[5,"42"]}}"#);
        assert_eq!(scalar.series[0].last(), Some(42.0));
        let text =
            parse(r#"{"status":"success","data":{"resultType":"string","result":[5,"hi"]}}"#);
        assert_eq!(text.text.as_deref(), Some("hi"));
    }

    #[test]
    fn series_are_counted_across_chunks_and_labels_named_metric_are_not_series() {
        let body = br#"[{"metric":{"metric":"x"},"value":[1,"1"]},{"metric":{},"value":[1,"1"]}]"#;
        assert_eq!(count(body, SERIES_START), 2);
        // Split anywhere, counted as read: each start once.
        for split in 1..body.len() {
            let (a, b) = body.split_at(split);
            let mut seen = count(a, SERIES_START);
            let mut read = a.to_vec();
            let from = read.len().saturating_sub(SERIES_START.len() - 1);
            read.extend_from_slice(b);
            seen += count(&read[from..], SERIES_START);
            assert_eq!(seen, 2, "split at {split}");
        }
    }

    #[test]
    fn more_series_than_the_cap_stop_the_parse() {
        let one = r#"{"metric":{"i":"x"},"value":[1,"1"]}"#;
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            vec![one; MAX_SERIES + 1].join(",")
        );
        let err = serde_json::from_str::<Envelope>(&body)
            .err()
            .expect("refused");
        assert!(err.to_string().contains(TOO_MANY), "{err}");
    }

    /// A console whose current profile's Prometheus is `url`.
    async fn console(dir: &std::path::Path, url: &str) -> Console {
        let console = Console::open(Paths::under(dir), Arc::new(MemorySecrets::default()))
            .await
            .expect("console");
        let urls = ProfileSettings {
            prometheus_url: Some(url.to_string()),
            alertmanager_urls: None,
            read_only: None,
        };
        console
            .profile_add_with(
                "p",
                Tier::Dev,
                "http://127.0.0.1:1",
                &urls,
                Some(Token::new("admin-token").expect("token")),
                true,
            )
            .await
            .expect("profile");
        console
    }

    #[tokio::test]
    async fn a_range_query_asks_for_its_span_and_step_and_tells_prometheus_the_time_left() {
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        let server = Hostile::start(move |_| Reply::json(200, matrix)).expect("server");
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path(), &format!("{}/prom/", server.url)).await;
        let session = console.session(None).await.expect("session");
        let end = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let spec = RangeSpec {
            end: Some(end),
            ..RangeSpec::last(HOUR)
        };
        let result = tokio::time::timeout(
            Duration::from_secs(20),
            session
                .metrics()
                .expect("metrics")
                .range("sum(rate(x[5m])) by (job)", &spec),
        )
        .await
        .expect("in time")
        .expect("range");
        assert_eq!(result.result_type, ResultType::Matrix);
        let span = result.span.expect("span");
        assert_eq!((span.step_seconds, span.end), (5, end));
        let requests = server.requests();
        let asked = &requests[0];
        assert_eq!(asked.path(), "/prom/api/v1/query_range");
        assert_eq!(asked.query("start").as_deref(), Some("1699996400"));
        assert_eq!(asked.query("end").as_deref(), Some("1700000000"));
        assert_eq!(asked.query("step").as_deref(), Some("5"));
        assert_eq!(asked.query("timeout").as_deref(), Some("5000ms"));
        assert!(
            asked
                .query("query")
                .is_some_and(|q| q.contains("sum%28rate")),
            "{asked:?}"
        );
        assert!(
            asked.header("authorization").is_none(),
            "no token to Prometheus"
        );
    }

    #[tokio::test]
    async fn a_profile_without_prometheus_says_so_before_anything_is_sent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = Console::open(Paths::under(dir.path()), Arc::new(MemorySecrets::default()))
            .await
            .expect("console");
        console
            .profile_add(
                "bare",
                Tier::Dev,
                "http://127.0.0.1:1",
                Some(Token::new("t").expect("token")),
                true,
            )
            .await
            .expect("profile");
        let session = console.session(None).await.expect("session");
        let err = session.metrics().err().expect("no Prometheus");
        assert!(
            matches!(&err, Error::NoPrometheus { profile } if profile == "bare"),
            "{err:?}"
        );
        assert_eq!(err.code().as_str(), "no_prometheus");
    }
}
