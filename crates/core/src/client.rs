//! Client of the Platform Admin API v1: bearer auth, timeouts, retries with
//! full-jitter backoff for calls that are safe to repeat (reads, and
//! mutations that carry an `Idempotency-Key`), and typed errors that keep the
//! server's envelope.

use std::time::Duration;

use opsdeck_api::audit::{AuditPage, AuditQuery};
use opsdeck_api::health::Health;
use opsdeck_api::tenants::{CreateTenant, ListTenants, Tenant, TenantPage, UpdateTenant};
use opsdeck_api::{ErrorCode, ErrorEnvelope, IDEMPOTENCY_KEY, MAX_PAGE_LIMIT};
use rand::Rng;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::secrets::Token;

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
    fn delay(&self, retry: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.cap);
        let millis = ceiling.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(0..millis))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AdminClient {
    base: Url,
    token: Token,
    http: reqwest::Client,
    retry: RetryPolicy,
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
            .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Unreachable {
                url: base_url.into(),
                message: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(Self {
            base,
            token,
            http,
            retry,
        })
    }

    pub async fn health(&self) -> Result<Health> {
        self.call(
            Method::GET,
            &["v1", "health"],
            None::<&()>,
            None::<&()>,
            None,
        )
        .await
    }

    pub async fn list_tenants(&self, query: &ListTenants) -> Result<TenantPage> {
        self.call(
            Method::GET,
            &["v1", "tenants"],
            Some(query),
            None::<&()>,
            None,
        )
        .await
    }

    /// Every tenant, following cursors page by page.
    pub async fn all_tenants(&self) -> Result<Vec<Tenant>> {
        let mut query = ListTenants {
            limit: Some(MAX_PAGE_LIMIT),
            ..Default::default()
        };
        let mut tenants = Vec::new();
        loop {
            let page = self.list_tenants(&query).await?;
            tenants.extend(page.items);
            match page.next_cursor {
                Some(cursor) if query.cursor.as_deref() != Some(cursor.as_str()) => {
                    query.cursor = Some(cursor)
                }
                _ => return Ok(tenants),
            }
        }
    }

    pub async fn get_tenant(&self, tenant: &str) -> Result<Tenant> {
        self.call(
            Method::GET,
            &["v1", "tenants", tenant],
            None::<&()>,
            None::<&()>,
            None,
        )
        .await
    }

    pub async fn create_tenant(&self, body: &CreateTenant, key: &str) -> Result<Tenant> {
        self.call(
            Method::POST,
            &["v1", "tenants"],
            None::<&()>,
            Some(body),
            Some(key),
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
        )
        .await
        .map(|_| ())
    }

    pub async fn audit(&self, query: &AuditQuery) -> Result<AuditPage> {
        self.call(
            Method::GET,
            &["v1", "audit"],
            Some(query),
            None::<&()>,
            None,
        )
        .await
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&impl Serialize>,
        body: Option<&impl Serialize>,
        key: Option<&str>,
    ) -> Result<T> {
        let (url, bytes) = self.call_raw(method, segments, query, body, key).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::MalformedResponse {
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    /// One logical call: retried when it is safe to repeat and the failure is
    /// one a retry can cure.
    async fn call_raw(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&impl Serialize>,
        body: Option<&impl Serialize>,
        key: Option<&str>,
    ) -> Result<(Url, Vec<u8>)> {
        let url = self.url(segments);
        let repeatable = key.is_some()
            || matches!(
                method,
                Method::GET | Method::HEAD | Method::PUT | Method::DELETE
            );
        let mut retry = 0;
        loop {
            let result = self.attempt(&method, &url, query, body, key).await;
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
                return result.map(|bytes| (url, bytes));
            }
            let delay = self.retry.delay(retry);
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
    ) -> Result<Vec<u8>> {
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
        let response = request.send().await.map_err(|e| transport_error(url, e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport_error(url, e))?
            .to_vec();
        if status.is_success() {
            return Ok(bytes);
        }
        Err(Error::Api {
            status: status.as_u16(),
            envelope: envelope_of(status, &bytes),
        })
    }
}

/// A transport failure in the user's terms: the server's address and the
/// root cause ("Connection refused"), not reqwest's chain of wrappers.
fn transport_error(url: &Url, e: reqwest::Error) -> Error {
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
        message: root.to_string(),
    }
}

/// The server's envelope, or one made up from the status when a proxy or a
/// broken server sent something else.
fn envelope_of(status: StatusCode, bytes: &[u8]) -> ErrorEnvelope {
    serde_json::from_slice(bytes).unwrap_or_else(|_| {
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
    })
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

    #[test]
    fn path_segments_are_escaped() {
        let client = AdminClient::new("http://127.0.0.1:1/base/", Token::new("t").expect("t"))
            .expect("client");
        let url = client.url(&["v1", "tenants", "a/b c"]);
        assert_eq!(url.as_str(), "http://127.0.0.1:1/base/v1/tenants/a%2Fb%20c");
    }
}
