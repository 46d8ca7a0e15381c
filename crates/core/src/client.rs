//! Client of the Platform Admin API v1: bearer auth, a time budget per call,
//! retries with full-jitter backoff for calls that are safe to repeat (reads,
//! and mutations that carry an `Idempotency-Key`), and typed errors that keep
//! the server's envelope. It trusts the server with nothing it could use to
//! hurt the console: redirects are not followed (the token would go along),
//! every response is read only up to a size set by what it should hold, a
//! list stops when its cursors go round or it never ends, and remote text is
//! cleaned of terminal control before anyone sees it.

use std::collections::HashSet;
use std::time::Duration;

use opsdeck_api::audit::{AuditPage, AuditQuery};
use opsdeck_api::backups::{
    BackupList, BackupTargetList, CreateBackup, RestoreBackup, VerifyBackup,
};
use opsdeck_api::health::Health;
use opsdeck_api::jobs::{Job, JobPage};
use opsdeck_api::tenants::{CreateTenant, ListTenants, Tenant, TenantPage, UpdateTenant};
use opsdeck_api::{ErrorCode, ErrorEnvelope, FieldError, IDEMPOTENCY_KEY, MAX_PAGE_LIMIT};
use rand::Rng;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::progress::{Progress, Reporter};
use crate::sanitize;
use crate::secrets::Token;

/// The most Opsdeck reads of an error body: an envelope is a few hundred bytes.
pub const MAX_ERROR_BYTES: u64 = 64 * 1024;
/// The most Opsdeck reads of one object (a tenant, the health report).
pub const MAX_ITEM_BYTES: u64 = 1024 * 1024;
/// The most Opsdeck reads of one job with its log.
pub const MAX_JOB_BYTES: u64 = 16 * 1024 * 1024;
/// The most Opsdeck reads of one page of a list (at most 200 items).
pub const MAX_PAGE_BYTES: u64 = 8 * 1024 * 1024;
/// The most pages one list follows before it gives up.
pub const MAX_LIST_PAGES: usize = 1_000;
/// The most items one list collects before it gives up.
pub const MAX_LIST_ITEMS: usize = 100_000;

/// How hard to try before giving up.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(3),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random wait in `[0, min(cap, base·2^n))`.
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.cap);
        let millis = ceiling.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(0..millis))
    }
}

/// How long the console waits for a server. Core owns the defaults, so the
/// CLI and the window wait the same: a person waiting on a read has the stale
/// list in front of them within [`Timeouts::read_budget`], whatever the
/// server does; a mutation may take longer, because giving up on it early
/// leaves the user unsure whether it happened.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Opening the connection (TCP and TLS), per attempt.
    pub connect: Duration,
    /// One attempt, from sending the request to the last byte of the answer.
    pub request: Duration,
    /// A read (GET, HEAD) in all: every attempt and every wait between them.
    pub read_budget: Duration,
    /// A mutation in all: every attempt and every wait between them.
    pub write_budget: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(30),
            read_budget: Duration::from_secs(5),
            write_budget: Duration::from_secs(60),
        }
    }
}

/// How long an idle connection is kept for the next call.
const IDLE_CONNECTION: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct AdminClient {
    base: Url,
    token: Token,
    http: reqwest::Client,
    retry: RetryPolicy,
    timeouts: Timeouts,
    /// The profile the token belongs to, named when the server refuses it.
    profile: Option<String>,
    /// Set for a read-only profile: only reads leave this client.
    read_only: bool,
    /// Sent as `Opsdeck-Approval` with every request: the approval a
    /// destructive request uses (the two-person rule).
    approval: Option<String>,
    /// Sent as `If-Match`: the `ETag` of the resource as it was read, so a
    /// change made in between is refused (412) rather than overwritten.
    if_match: Option<String>,
}

impl AdminClient {
    pub fn new(base_url: &str, token: Token) -> Result<Self> {
        Self::with_options(base_url, token, Timeouts::default(), RetryPolicy::default())
    }

    pub fn with_options(
        base_url: &str,
        token: Token,
        timeouts: Timeouts,
        retry: RetryPolicy,
    ) -> Result<Self> {
        let base = Url::parse(base_url)
            .map_err(|e| Error::invalid("admin_url", format!("`{base_url}` is not a URL ({e})")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            // A redirect would carry the bearer token to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            // Servers close idle connections (platform-admin after its 5 s
            // header timeout); giving them up sooner avoids sending on one
            // that is being closed.
            .pool_idle_timeout(IDLE_CONNECTION)
            .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::HttpClient {
                message: e.to_string(),
            })?;
        Ok(Self {
            base,
            token,
            http,
            retry,
            timeouts,
            profile: None,
            read_only: false,
            approval: None,
            if_match: None,
        })
    }

    /// Names the profile whose token this is, so that a refused token is
    /// reported as that profile's (with the remedy to sign in again).
    pub fn for_profile(mut self, profile: &str) -> Self {
        self.profile = Some(profile.to_string());
        self
    }

    /// Lets only reads through: every other method fails before it is
    /// sent, so no capability can change anything through a read-only
    /// profile, those added later included.
    /// This client, sending `approval` as `Opsdeck-Approval` (the
    /// two-person rule) when given.
    pub fn with_approval(&self, approval: Option<&str>) -> std::borrow::Cow<'_, AdminClient> {
        match approval.map(str::trim).filter(|a| !a.is_empty()) {
            None => std::borrow::Cow::Borrowed(self),
            Some(approval) => {
                let mut client = self.clone();
                client.approval = Some(approval.to_string());
                std::borrow::Cow::Owned(client)
            }
        }
    }

    /// This client, sending `etag` as `If-Match` when given.
    pub fn with_if_match(&self, etag: Option<&str>) -> std::borrow::Cow<'_, AdminClient> {
        match etag {
            None => std::borrow::Cow::Borrowed(self),
            Some(etag) => {
                let mut client = self.clone();
                client.if_match = Some(etag.to_string());
                std::borrow::Cow::Owned(client)
            }
        }
    }

    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    pub async fn health(&self) -> Result<Health> {
        self.call(
            Method::GET,
            &["v1", "health"],
            None::<&()>,
            None::<&()>,
            None,
            MAX_ITEM_BYTES,
        )
        .await
    }

    pub async fn list_tenants(&self, query: &ListTenants) -> Result<TenantPage> {
        self.call(
            Method::GET,
            &["v1", "tenants"],
            // Pairs, so that each `label` is a parameter of its own.
            Some(&query.query_pairs()),
            None::<&()>,
            None,
            MAX_PAGE_BYTES,
        )
        .await
    }

    /// Every tenant, following cursors page by page; a server whose cursors
    /// go round, or whose list never ends, gets an error instead of a wait
    /// that never ends and memory that keeps growing.
    pub async fn all_tenants(&self) -> Result<Vec<Tenant>> {
        self.all_tenants_reporting(&Reporter::none()).await
    }

    /// [`Self::all_tenants`], reporting each page as it arrives: at a
    /// hundred thousand tenants the list takes hundreds of pages.
    pub async fn all_tenants_reporting(&self, reporter: &Reporter) -> Result<Vec<Tenant>> {
        self.tenants_where(
            ListTenants {
                limit: Some(MAX_PAGE_LIMIT),
                ..Default::default()
            },
            reporter,
        )
        .await
    }

    /// Every tenant `query` selects (its search, status and plan), the
    /// server doing the filtering: a search of a hundred thousand tenants
    /// fetches the pages of its matches only.
    pub async fn tenants_where(
        &self,
        mut query: ListTenants,
        reporter: &Reporter,
    ) -> Result<Vec<Tenant>> {
        query.limit = Some(MAX_PAGE_LIMIT);
        let mut pages = Pages::new(self.url(&["v1", "tenants"]));
        let mut tenants = Vec::new();
        loop {
            let page = self.list_tenants(&query).await?;
            tenants.extend(page.items);
            reporter.report(Progress::new(
                "fetching tenants",
                tenants.len() as u64,
                None,
                "tenants",
            ));
            match pages.next(page.next_cursor, tenants.len())? {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(tenants),
            }
        }
    }

    pub async fn get_tenant(&self, tenant: &str) -> Result<Tenant> {
        Ok(self.get_tenant_tagged(tenant).await?.0)
    }

    /// The tenant and its `ETag` (absent from a server that sends none), to
    /// send back as `If-Match` with a change made from what was read.
    pub async fn get_tenant_tagged(&self, tenant: &str) -> Result<(Tenant, Option<String>)> {
        let (url, bytes, etag) = self
            .call_tagged(
                Method::GET,
                &["v1", "tenants", tenant],
                None::<&()>,
                None::<&()>,
                None,
                MAX_ITEM_BYTES,
            )
            .await?;
        Ok((parse_json(&url, &bytes)?, etag))
    }

    pub async fn create_tenant(&self, body: &CreateTenant, key: &str) -> Result<Tenant> {
        self.call(
            Method::POST,
            &["v1", "tenants"],
            None::<&()>,
            Some(body),
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
    }

    pub async fn update_tenant(
        &self,
        tenant: &str,
        body: &UpdateTenant,
        key: &str,
    ) -> Result<Tenant> {
        self.call(
            Method::PATCH,
            &["v1", "tenants", tenant],
            None::<&()>,
            Some(body),
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
    }

    pub async fn suspend_tenant(&self, tenant: &str, key: &str) -> Result<Tenant> {
        self.call(
            Method::POST,
            &["v1", "tenants", tenant, "suspend"],
            None::<&()>,
            None::<&()>,
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
    }

    pub async fn resume_tenant(&self, tenant: &str, key: &str) -> Result<Tenant> {
        self.call(
            Method::POST,
            &["v1", "tenants", tenant, "resume"],
            None::<&()>,
            None::<&()>,
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
    }

    pub async fn delete_tenant(&self, tenant: &str, key: &str) -> Result<()> {
        self.call_raw(
            Method::DELETE,
            &["v1", "tenants", tenant],
            None::<&()>,
            None::<&()>,
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
        .map(|_| ())
    }

    pub async fn list_jobs(&self, limit: Option<u32>, cursor: Option<String>) -> Result<JobPage> {
        #[derive(Serialize)]
        struct Query {
            #[serde(skip_serializing_if = "Option::is_none")]
            limit: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            cursor: Option<String>,
        }
        self.call(
            Method::GET,
            &["v1", "jobs"],
            Some(&Query { limit, cursor }),
            None::<&()>,
            None,
            MAX_PAGE_BYTES,
        )
        .await
    }

    pub async fn get_job(&self, job: &str) -> Result<Job> {
        self.call(
            Method::GET,
            &["v1", "jobs", job],
            None::<&()>,
            None::<&()>,
            None,
            MAX_JOB_BYTES,
        )
        .await
    }

    pub async fn cancel_job(&self, job: &str, key: &str) -> Result<Job> {
        self.call(
            Method::POST,
            &["v1", "jobs", job, "cancel"],
            None::<&()>,
            None::<&()>,
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
    }

    pub async fn backup_targets(&self) -> Result<BackupTargetList> {
        self.call(
            Method::GET,
            &["v1", "backup-targets"],
            None::<&()>,
            None::<&()>,
            None,
            MAX_PAGE_BYTES,
        )
        .await
    }

    pub async fn backups(&self, target: &str) -> Result<BackupList> {
        self.call(
            Method::GET,
            &["v1", "backup-targets", target, "backups"],
            None::<&()>,
            None::<&()>,
            None,
            MAX_PAGE_BYTES,
        )
        .await
    }

    pub async fn create_backup(&self, target: &str, body: &CreateBackup, key: &str) -> Result<Job> {
        self.call(
            Method::POST,
            &["v1", "backup-targets", target, "backups"],
            None::<&()>,
            Some(body),
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
    }

    pub async fn verify_backup(&self, target: &str, body: &VerifyBackup, key: &str) -> Result<Job> {
        self.call(
            Method::POST,
            &["v1", "backup-targets", target, "verify"],
            None::<&()>,
            Some(body),
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
    }

    pub async fn restore_backup(
        &self,
        target: &str,
        body: &RestoreBackup,
        key: &str,
    ) -> Result<Job> {
        self.call(
            Method::POST,
            &["v1", "backup-targets", target, "restore"],
            None::<&()>,
            Some(body),
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
    }

    /// Opens the event stream of a job (`GET /v1/jobs/{job}/events`),
    /// resuming after `last_event_id`: the response, to be read a chunk at
    /// a time. Not retried: the caller falls back to polling instead. The
    /// stream is given up after `lifetime` at the latest (the caller then
    /// resumes it).
    pub(crate) async fn job_events(
        &self,
        job: &str,
        last_event_id: Option<u64>,
        lifetime: Duration,
    ) -> Result<reqwest::Response> {
        let url = self.url(&["v1", "jobs", job, "events"]);
        let mut request = self
            .http
            .get(url.clone())
            .bearer_auth(self.token.expose())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .timeout(lifetime);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = tokio::time::timeout(self.timeouts.request, request.send())
            .await
            .map_err(|_| Error::Timeout {
                url: url.origin().ascii_serialization(),
            })?
            .map_err(|e| transport_error(&url, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(self.refusal(&url, response).await)
    }

    /// The error of a response that is not a success.
    async fn refusal(&self, url: &Url, response: reqwest::Response) -> Error {
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| sanitize::remote(&String::from_utf8_lossy(v.as_bytes())));
            return Error::Redirected {
                url: url.to_string(),
                status: status.as_u16(),
                location,
            };
        }
        let bytes = match read_capped(url, response, MAX_ERROR_BYTES).await {
            Ok(bytes) => bytes,
            Err(e) => return e,
        };
        let envelope = envelope_of(status, &bytes);
        match &self.profile {
            Some(profile) if status == StatusCode::UNAUTHORIZED => Error::TokenRejected {
                profile: profile.clone(),
                envelope,
            },
            _ => Error::Api {
                status: status.as_u16(),
                envelope,
            },
        }
    }

    pub async fn audit(&self, query: &AuditQuery) -> Result<AuditPage> {
        self.call(
            Method::GET,
            &["v1", "audit"],
            Some(query),
            None::<&()>,
            None,
            MAX_PAGE_BYTES,
        )
        .await
    }

    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&impl Serialize>,
        body: Option<&impl Serialize>,
        key: Option<&str>,
        limit: u64,
    ) -> Result<T> {
        let (url, bytes) = self
            .call_raw(method, segments, query, body, key, limit)
            .await?;
        parse_json(&url, &bytes)
    }

    /// One logical call: retried when it is safe to repeat and the failure is
    /// one a retry can cure, all of it within the call's time budget.
    pub(crate) async fn call_raw(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&impl Serialize>,
        body: Option<&impl Serialize>,
        key: Option<&str>,
        limit: u64,
    ) -> Result<(Url, Vec<u8>)> {
        let (url, bytes, _) = self
            .call_tagged(method, segments, query, body, key, limit)
            .await?;
        Ok((url, bytes))
    }

    /// [`Self::call_raw`], with the response's `ETag` when it has one.
    async fn call_tagged(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&impl Serialize>,
        body: Option<&impl Serialize>,
        key: Option<&str>,
        limit: u64,
    ) -> Result<(Url, Vec<u8>, Option<String>)> {
        if self.read_only && !matches!(method, Method::GET | Method::HEAD) {
            return Err(Error::ReadOnlyProfile {
                profile: self.profile.clone().unwrap_or_default(),
            });
        }
        let url = self.url(segments);
        let repeatable = key.is_some()
            || matches!(
                method,
                Method::GET | Method::HEAD | Method::PUT | Method::DELETE
            );
        let budget = if matches!(method, Method::GET | Method::HEAD) {
            self.timeouts.read_budget
        } else {
            self.timeouts.write_budget
        };
        let deadline = Instant::now() + budget;
        let mut retry = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let attempt = self.attempt(&method, &url, query, body, key, limit);
            let result = tokio::time::timeout(self.timeouts.request.min(remaining), attempt)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout {
                        url: url.origin().ascii_serialization(),
                    })
                });
            let retryable = match &result {
                Ok(_) => false,
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) => true,
                Err(Error::Api { status, envelope }) => {
                    matches!(*status, 429 | 502 | 503 | 504)
                        || envelope.code == ErrorCode::IdempotencyKeyInFlight
                }
                Err(_) => false,
            };
            if !(retryable && repeatable) || retry + 1 >= self.retry.attempts {
                return result.map(|(bytes, etag)| (url, bytes, etag));
            }
            let delay = self.retry.delay(retry);
            if Instant::now() + delay >= deadline {
                tracing::debug!(%url, retry, ?budget, "time budget spent; not retrying");
                return result.map(|(bytes, etag)| (url, bytes, etag));
            }
            tracing::debug!(%url, retry, ?delay, "retrying");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        query: Option<&impl Serialize>,
        body: Option<&impl Serialize>,
        key: Option<&str>,
        limit: u64,
    ) -> Result<(Vec<u8>, Option<String>)> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(self.token.expose());
        if let Some(query) = query {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        if let Some(approval) = &self.approval {
            request = request.header(opsdeck_api::approvals::APPROVAL_HEADER, approval);
        }
        if let Some(etag) = &self.if_match {
            request = request.header(reqwest::header::IF_MATCH, etag);
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
        // Only a tag of visible ASCII is kept: it is sent back as a header.
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 200)
            .map(str::to_string);
        let bytes = read_capped(url, response, limit).await?;
        if status.is_success() {
            return Ok((bytes, etag));
        }
        let envelope = envelope_of(status, &bytes);
        match &self.profile {
            Some(profile) if status == StatusCode::UNAUTHORIZED => Err(Error::TokenRejected {
                profile: profile.clone(),
                envelope,
            }),
            _ => Err(Error::Api {
                status: status.as_u16(),
                envelope,
            }),
        }
    }
}

fn parse_json<T: DeserializeOwned>(url: &Url, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::MalformedResponse {
        url: url.to_string(),
        // serde quotes what it could not take, and that came from the server.
        message: sanitize::remote(&e.to_string()),
    })
}

/// The body of `response`, read as it arrives and given up on as soon as it
/// is larger than `limit`: a server cannot make the console hold more.
pub(crate) async fn read_capped(
    url: &Url,
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>> {
    let status = response.status().as_u16();
    let too_large = || Error::ResponseTooLarge {
        url: url.to_string(),
        status,
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(url, e))?
    {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Where a list is in its pages: the cursors seen, and how far it has gone.
pub(crate) struct Pages {
    url: Url,
    seen: HashSet<String>,
    pages: usize,
}

impl Pages {
    pub(crate) fn new(url: Url) -> Self {
        Self {
            url,
            seen: HashSet::new(),
            pages: 0,
        }
    }

    /// The cursor to fetch next after a page, `None` when the list is done;
    /// an error when the cursor was seen before or the list is past its
    /// ceilings.
    pub(crate) fn next(&mut self, cursor: Option<String>, items: usize) -> Result<Option<String>> {
        self.pages += 1;
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        if self.seen.contains(&cursor) {
            let shown: String = cursor.chars().take(80).collect();
            return Err(Error::CursorRepeated {
                url: self.url.to_string(),
                cursor: sanitize::remote(&shown),
            });
        }
        if self.pages >= MAX_LIST_PAGES || items >= MAX_LIST_ITEMS {
            return Err(Error::ListTooLong {
                url: self.url.to_string(),
                pages: self.pages,
                items,
            });
        }
        self.seen.insert(cursor.clone());
        Ok(Some(cursor))
    }
}

/// A transport failure in the user's terms: the server's address and the
/// root cause ("Connection refused"), not reqwest's chain of wrappers.
pub(crate) fn transport_error(url: &Url, e: reqwest::Error) -> Error {
    let server = url.origin().ascii_serialization();
    if e.is_timeout() {
        return Error::Timeout { url: server };
    }
    let mut root: &dyn std::error::Error = &e;
    while let Some(source) = root.source() {
        root = source;
    }
    Error::Unreachable {
        url: server,
        message: sanitize::remote(&root.to_string()),
    }
}

/// The server's envelope, or one made up from the status when a proxy or a
/// broken server sent something else; either way with its text cleaned of
/// terminal control, since it is shown as it is.
fn envelope_of(status: StatusCode, bytes: &[u8]) -> ErrorEnvelope {
    let envelope = serde_json::from_slice(bytes).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(bytes);
        let snippet: String = text.trim().chars().take(200).collect();
        let code = match status {
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            s if s.is_server_error() => ErrorCode::Internal,
            _ => ErrorCode::Unknown,
        };
        ErrorEnvelope {
            code,
            message: if snippet.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {snippet}")
            },
            details: Vec::new(),
            request_id: None,
        }
    });
    ErrorEnvelope {
        code: envelope.code,
        message: sanitize::remote(&envelope.message),
        details: envelope
            .details
            .iter()
            .map(|d| FieldError::new(sanitize::remote(&d.field), sanitize::remote(&d.message)))
            .collect(),
        request_id: envelope.request_id.as_deref().map(sanitize::remote),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(800),
        };
        for n in 0..10 {
            let ceiling = Duration::from_millis(100 * 2u64.pow(n)).min(Duration::from_millis(800));
            assert!(policy.delay(n) < ceiling, "retry {n}");
        }
    }

    #[test]
    fn a_non_json_error_body_becomes_an_envelope() {
        let env = envelope_of(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(env.code, ErrorCode::Internal);
        assert!(env.message.contains("502"), "{}", env.message);
    }

    use crate::hostile::{json_string, Hostile, Reply};

    fn client(url: &str) -> AdminClient {
        AdminClient::new(url, Token::new("secret-token").expect("token")).expect("client")
    }

    /// Bounds a call that, unfixed, would run for minutes or for ever.
    async fn within<T>(limit: Duration, call: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(limit, call)
            .await
            .unwrap_or_else(|_| panic!("still running after {limit:?}"))
    }

    fn page(cursor: Option<&str>) -> String {
        match cursor {
            Some(c) => format!("{{\"items\":[],\"next_cursor\":{}}}", json_string(c)),
            None => "{\"items\":[]}".to_string(),
        }
    }

    #[tokio::test]
    async fn a_tenant_read_gives_its_etag_and_a_change_made_from_it_sends_it_as_if_match() {
        let tenant = r#"{"id":"t1","slug":"acme","name":"Acme","plan":"team","status":"active",
            "quotas":{"max_users":1,"storage_gib":1,"requests_per_minute":1},
            "accent_color":null,"labels":{"env":"prod"},
            "created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}"#;
        let server = Hostile::start(move |_| {
            Reply::with(
                200,
                &[("content-type", "application/json"), ("etag", "\"v1\"")],
                tenant,
            )
        })
        .expect("server");
        let admin = client(&server.url);
        let (read, etag) = within(Duration::from_secs(20), admin.get_tenant_tagged("acme"))
            .await
            .expect("read");
        assert_eq!(etag.as_deref(), Some("\"v1\""));
        assert_eq!(read.labels.get("env").map(String::as_str), Some("prod"));
        let change = UpdateTenant {
            labels: Some(Default::default()),
            ..Default::default()
        };
        within(
            Duration::from_secs(20),
            admin
                .with_if_match(etag.as_deref())
                .update_tenant("t1", &change, "key-1"),
        )
        .await
        .expect("update");
        within(Duration::from_secs(20), admin.get_tenant("acme"))
            .await
            .expect("read again");
        let requests = server.requests();
        let sent: Vec<(&str, Option<&str>)> = requests
            .iter()
            .map(|r| (r.method.as_str(), r.header("if-match")))
            .collect();
        assert_eq!(
            sent,
            [("GET", None), ("PATCH", Some("\"v1\"")), ("GET", None)],
            "only the change made from the read carries its tag"
        );
    }

    #[tokio::test]
    async fn each_label_filter_of_a_list_is_a_query_parameter_of_its_own() {
        let server = Hostile::start(|_| Reply::json(200, &page(None))).expect("server");
        let query = ListTenants {
            q: Some("acme corp".into()),
            label: vec!["env=prod".into(), "note=50% \"off\"".into(), "team".into()],
            ..Default::default()
        };
        within(
            Duration::from_secs(20),
            client(&server.url).list_tenants(&query),
        )
        .await
        .expect("list");
        let target = server.requests()[0].target.clone();
        let (_, sent) = target.split_once('?').expect("a query");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(sent.as_bytes())
            .into_owned()
            .collect();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("q", "acme corp"),
                ("label", "env=prod"),
                ("label", "note=50% \"off\""),
                ("label", "team")
            ]
        );
    }

    #[tokio::test]
    async fn redirects_are_not_followed_with_the_token() {
        let elsewhere = Hostile::start(|_| Reply::json(200, "{}")).expect("server");
        let target = format!("{}/v1/tenants/acme", elsewhere.url);
        let location = target.clone();
        let redirecting = Hostile::start(move |_| Reply::redirect(307, &location)).expect("server");
        let err = within(
            Duration::from_secs(20),
            client(&redirecting.url).get_tenant("acme"),
        )
        .await
        .expect_err("a redirect is an error");
        match &err {
            Error::Redirected {
                status, location, ..
            } => {
                assert_eq!(*status, 307);
                assert_eq!(location.as_deref(), Some(target.as_str()));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains(&target), "{err}");
        assert!(!err.is_offline());
        assert!(
            elsewhere.requests().is_empty(),
            "the redirect was followed: {:?}",
            elsewhere.requests()
        );
    }

    #[tokio::test]
    async fn a_body_declared_larger_than_its_cap_is_refused_unread() {
        let server = Hostile::start(|_| {
            Reply::Raw(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 629145600\r\n\r\n{".to_vec(),
            )
        })
        .expect("server");
        let err = within(
            Duration::from_secs(20),
            client(&server.url).get_tenant("acme"),
        )
        .await
        .expect_err("too large");
        assert!(
            matches!(err, Error::ResponseTooLarge { limit, status: 200, .. } if limit == MAX_ITEM_BYTES),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("/v1/tenants/acme"), "{message}");
        assert!(message.contains("1 MiB"), "{message}");
    }

    #[tokio::test]
    async fn an_endless_body_is_read_only_up_to_its_cap() {
        let server = Hostile::start(|_| Reply::Endless { total: 600 << 20 }).expect("server");
        let err = within(
            Duration::from_secs(60),
            client(&server.url).list_tenants(&ListTenants::default()),
        )
        .await
        .expect_err("too large");
        assert!(
            matches!(err, Error::ResponseTooLarge { limit, .. } if limit == MAX_PAGE_BYTES),
            "{err:?}"
        );
        // What the kernel buffers on both sides comes on top of the cap.
        let sent = server.body_bytes_sent();
        assert!(
            sent < MAX_PAGE_BYTES + (32 << 20),
            "{sent} bytes were taken"
        );
    }

    #[tokio::test]
    async fn an_error_body_is_capped_smaller_than_a_page() {
        let server =
            Hostile::start(|_| Reply::with(502, &[], vec![b'x'; 100 * 1024])).expect("server");
        let err = within(
            Duration::from_secs(20),
            client(&server.url).create_tenant(
                &CreateTenant {
                    accent_color: None,
                    labels: None,
                    slug: "acme".into(),
                    name: "Acme".into(),
                    plan: None,
                    quotas: None,
                },
                "key",
            ),
        )
        .await
        .expect_err("too large");
        assert!(
            matches!(err, Error::ResponseTooLarge { limit, status: 502, .. } if limit == MAX_ERROR_BYTES),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn cursors_that_go_round_end_the_list_with_an_error() {
        let server = Hostile::start(|r| {
            let next = match r.query("cursor").as_deref() {
                None => "A",
                Some("A") => "B",
                _ => "A",
            };
            Reply::json(200, &page(Some(next)))
        })
        .expect("server");
        let err = within(Duration::from_secs(30), client(&server.url).all_tenants())
            .await
            .expect_err("a cycle is an error");
        assert!(
            matches!(&err, Error::CursorRepeated { cursor, .. } if cursor == "A"),
            "{err:?}"
        );
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn a_list_that_never_ends_stops_at_its_page_ceiling() {
        let server = Hostile::start(|r| {
            let n: u64 = r.query("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
            Reply::json(200, &page(Some(&(n + 1).to_string())))
        })
        .expect("server");
        let err = within(Duration::from_secs(120), client(&server.url).all_tenants())
            .await
            .expect_err("a list without end is an error");
        assert!(
            matches!(err, Error::ListTooLong { pages, .. } if pages == MAX_LIST_PAGES),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_list_that_ends_is_read_whole_reporting_each_page_as_it_arrives() {
        let server = Hostile::start(|r| {
            let body = match r.query("cursor").as_deref() {
                None => page(Some("A")),
                Some("A") => page(Some("B")),
                _ => page(None),
            };
            Reply::json(200, &body)
        })
        .expect("server");
        let (reporter, mut events) = Reporter::channel();
        within(
            Duration::from_secs(20),
            client(&server.url).all_tenants_reporting(&reporter),
        )
        .await
        .expect("three pages");
        assert_eq!(server.requests().len(), 3);
        drop(reporter);
        let mut seen = 0;
        while let Some(event) = events.recv().await {
            assert_eq!(event.phase, "fetching tenants");
            seen += 1;
        }
        assert_eq!(seen, 3, "one event per page");
    }

    #[tokio::test]
    async fn a_hung_server_costs_a_read_no_more_than_its_budget() {
        let server = Hostile::start(|_| Reply::Hang).expect("server");
        let budget = Timeouts::default().read_budget;
        let started = std::time::Instant::now();
        let err = within(
            Duration::from_secs(30),
            client(&server.url).get_tenant("acme"),
        )
        .await
        .expect_err("no answer");
        let took = started.elapsed();
        assert!(err.is_offline(), "{err:?}");
        assert!(took < budget + Duration::from_secs(1), "took {took:?}");
        assert!(
            budget <= Duration::from_secs(10),
            "{budget:?} is not interactive"
        );
    }

    #[tokio::test]
    async fn server_text_is_cleaned_of_terminal_control() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\u{9b}1m\r";
        let message = hostile.to_string();
        let server = Hostile::start(move |r| match r.path() {
            "/v1/tenants/envelope" => Reply::json(
                400,
                &format!(
                    "{{\"code\":\"validation_failed\",\"message\":{m},\"details\":[{{\"field\":{m},\"message\":{m}}}],\"request_id\":{m}}}",
                    m = json_string(&message)
                ),
            ),
            "/v1/tenants/proxy" => Reply::with(502, &[], message.as_bytes()),
            "/v1/tenants/redirect" => Reply::redirect(302, "/x\u{1b}[31m"),
            // serde quotes an unknown variant in its error.
            _ => Reply::json(200, &format!("{{\"plan\":{}}}", json_string(&message))),
        })
        .expect("server");
        let client = client(&server.url);
        for tenant in ["envelope", "proxy", "redirect", "malformed"] {
            let err = within(Duration::from_secs(20), client.get_tenant(tenant))
                .await
                .expect_err(tenant);
            let report = crate::ErrorReport::from(&err);
            let shown = format!("{err}\n{}\n{:?}", report.message, report.details);
            assert!(
                !shown
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "{tenant}: {shown:?}"
            );
            if tenant != "redirect" {
                assert!(shown.contains("red"), "{tenant}: {shown:?}");
            }
        }
    }

    #[test]
    fn path_segments_are_escaped() {
        let client = AdminClient::new("http://127.0.0.1:1/base/", Token::new("t").expect("t"))
            .expect("client");
        let url = client.url(&["v1", "tenants", "a/b c"]);
        assert_eq!(url.as_str(), "http://127.0.0.1:1/base/v1/tenants/a%2Fb%20c");
    }
}
