//! `Idempotency-Key` on mutations, with Stripe's semantics: the first
//! request with a key runs; a retry with the same key, method, path and body
//! gets the stored response (and `idempotent-replayed: true`) with no second
//! effect; the same key with another request is refused (422); a retry while
//! the first is still running is refused (409). Keys are scoped to the token
//! and kept for 24 hours. 5xx responses are not kept, so a retry re-runs;
//! nor are refusals of the request's form (400, 415, 422), which happen
//! before anything runs, so a client may fix its request and keep its key.
//!
//! A successful mutation stores its response in the same transaction as its
//! effect (see `mutation`), so an effect never exists without its replay.
//!
//! Each claim has an owner (a random id per claim) and a short lease that
//! the owner renews while its request runs. A retry takes over a key whose
//! lease ran out (its process died), so a crash blocks a key for seconds,
//! not minutes. Completing a key checks that the claim is still the
//! caller's, in the transaction of the effect: an owner that was taken over
//! (stalled past its lease) has its effect rolled back instead of running a
//! request twice. This holds across several servers on one database.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use opsdeck_api::IDEMPOTENCY_KEY;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row as _};
use tracing::Instrument as _;

use crate::auth::Principal;
use crate::db::{self, Db};
use crate::error::{self, Error};
use crate::http::{read_body, RequestId};
use crate::AppState;

/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);

/// A claim whose lease was not renewed for this long belongs to a process
/// that died or stalled, so a retry may take it over.
pub const LEASE: Duration = Duration::seconds(10);

/// How often a running request renews its lease.
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// How long claims written before leases existed count as leased.
const LEGACY_LEASE: Duration = Duration::minutes(5);

/// Longest key accepted.
pub const KEY_MAX_LEN: usize = 255;

/// Set to `true` on a response that was replayed from an earlier request.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// A key this request holds while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub token_id: String,
    pub key: String,
    /// Random per claim: who may renew and complete it.
    pub owner: String,
}

impl Claim {
    fn new(token_id: &str, key: &str) -> Self {
        Self {
            token_id: token_id.to_string(),
            key: key.to_string(),
            owner: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// What an incoming key means for the request.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// First use: run the request.
    Claimed(Claim),
    /// Seen and finished: send this response again.
    Replay { status: u16, body: Vec<u8> },
    /// Seen with a different method, path or body.
    Reused,
    /// Seen and still running; its lease runs out at this time.
    InFlight { lease_expires_at: DateTime<Utc> },
}

/// Marks a response whose idempotency record was already written in the
/// mutation's own transaction.
#[derive(Debug, Clone, Copy)]
pub struct Recorded;

/// Fingerprint of what the key was first used for.
pub fn request_hash(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b"\n");
    hasher.update(path_and_query.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Claims `key` for this request, or says why it may not run.
pub async fn claim(
    db: &Db,
    token_id: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, Error> {
    let now_text = db::timestamp(now);
    let lease_text = db::timestamp(now + LEASE);
    let mut lease_expires_at = now + LEASE;
    // A few rounds: an expired row is removed, then claimed anew; a race
    // for an abandoned one is won by one request only.
    for _ in 0..3 {
        let claim = Claim::new(token_id, key);
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys \
             (token_id, idem_key, request_hash, created_at, expires_at, owner, lease_expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (token_id, idem_key) DO NOTHING",
        )
        .bind(token_id)
        .bind(key)
        .bind(request_hash)
        .bind(&now_text)
        .bind(db::timestamp(now + RETENTION))
        .bind(&claim.owner)
        .bind(&lease_text)
        .execute(db.pool())
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Outcome::Claimed(claim));
        }
        let row = sqlx::query(
            "SELECT request_hash, status, body, created_at, expires_at, owner, lease_expires_at \
             FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2",
        )
        .bind(token_id)
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
        let Some(row) = row else { continue };
        let expires_at: String = row.try_get("expires_at")?;
        if expires_at <= now_text {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2 AND expires_at = $3",
            )
            .bind(token_id)
            .bind(key)
            .bind(&expires_at)
            .execute(db.pool())
            .await?;
            continue;
        }
        let stored_hash: String = row.try_get("request_hash")?;
        if stored_hash != request_hash {
            return Ok(Outcome::Reused);
        }
        let status: Option<i64> = row.try_get("status")?;
        if let Some(status) = status {
            let status = u16::try_from(status)
                .map_err(|_| Error::Corrupt(format!("idempotent response status {status}")))?;
            let body: Option<String> = row.try_get("body")?;
            return Ok(Outcome::Replay {
                status,
                body: body.unwrap_or_default().into_bytes(),
            });
        }
        let owner: Option<String> = row.try_get("owner")?;
        let lease: Option<String> = row.try_get("lease_expires_at")?;
        let lease = match lease {
            Some(lease) => db::parse_timestamp(&lease)?,
            None => {
                let created_at: String = row.try_get("created_at")?;
                db::parse_timestamp(&created_at)? + LEGACY_LEASE
            }
        };
        if lease > now {
            return Ok(Outcome::InFlight {
                lease_expires_at: lease,
            });
        }
        lease_expires_at = lease;
        // Take it over only if it is still the abandoned claim just read: of
        // several retries racing here, one wins.
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET owner = $3, lease_expires_at = $4 \
             WHERE token_id = $1 AND idem_key = $2 AND status IS NULL AND COALESCE(owner, '') = $5",
        )
        .bind(token_id)
        .bind(key)
        .bind(&claim.owner)
        .bind(&lease_text)
        .bind(owner.as_deref().unwrap_or_default())
        .execute(db.pool())
        .await?;
        if taken.rows_affected() == 1 {
            tracing::warn!(
                key,
                previous_owner = owner.as_deref().unwrap_or("unknown"),
                "took over an idempotency key whose request stopped renewing its lease"
            );
            return Ok(Outcome::Claimed(claim));
        }
    }
    Ok(Outcome::InFlight { lease_expires_at })
}

/// Extends the lease of a claim still held; false when it was taken over.
pub async fn renew(db: &Db, claim: &Claim, now: DateTime<Utc>) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET lease_expires_at = $4 \
         WHERE token_id = $1 AND idem_key = $2 AND owner = $3 AND status IS NULL",
    )
    .bind(&claim.token_id)
    .bind(&claim.key)
    .bind(&claim.owner)
    .bind(db::timestamp(now + LEASE))
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the response of a claimed key; inside the mutation's transaction
/// when there is one. `ClaimLost` when the claim is no longer the caller's:
/// the caller must then roll its effect back.
pub async fn complete(
    conn: &mut AnyConnection,
    claim: &Claim,
    status: StatusCode,
    body: &[u8],
) -> Result<(), Error> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET status = $4, body = $5 \
         WHERE token_id = $1 AND idem_key = $2 AND owner = $3 AND status IS NULL",
    )
    .bind(&claim.token_id)
    .bind(&claim.key)
    .bind(&claim.owner)
    .bind(i64::from(status.as_u16()))
    .bind(String::from_utf8_lossy(body).into_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::ClaimLost)
    }
}

/// Gives a key back unanswered, so that a retry runs the request again.
pub async fn release(db: &Db, claim: &Claim) -> Result<(), Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys \
         WHERE token_id = $1 AND idem_key = $2 AND owner = $3 AND status IS NULL",
    )
    .bind(&claim.token_id)
    .bind(&claim.key)
    .bind(&claim.owner)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Forgets keys older than the retention; returns how many.
pub async fn purge_expired(db: &Db, now: DateTime<Utc>) -> Result<u64, Error> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
        .bind(db::timestamp(now))
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

fn is_mutation(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

fn parse_key(value: &HeaderValue) -> Result<String, Error> {
    let key = value.to_str().unwrap_or_default();
    if key.is_empty() || key.len() > KEY_MAX_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "Idempotency-Key",
            format!("must be 1 to {KEY_MAX_LEN} printable ASCII characters without spaces"),
        ));
    }
    Ok(key.to_string())
}

/// Layer inside authentication and the body limit, around every route.
pub async fn layer(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, Error> {
    if !is_mutation(req.method()) {
        return Ok(next.run(req).await);
    }
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(next.run(req).await);
    };
    let key = parse_key(value)?;
    let principal = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or(Error::Unauthorized)?;
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();

    let (parts, body) = req.into_parts();
    let body = read_body(body).await?;
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or_else(|| parts.uri.path());
    let hash = request_hash(parts.method.as_str(), target, &body);

    let claim = match self::claim(&state.db, &principal.token_id, &key, &hash, db::now()).await? {
        Outcome::Claimed(claim) => claim,
        Outcome::Replay { status, body } => return replay(status, body),
        Outcome::Reused => return Err(Error::IdempotencyKeyReused),
        Outcome::InFlight { lease_expires_at } => return Ok(in_flight(lease_expires_at)),
    };

    let mut req = Request::from_parts(parts, Body::from(body));
    req.extensions_mut().insert(claim.clone());
    // Run to the end even when the client goes away: a half-run request
    // would leave its key claimed and every retry refused until it expires.
    let db = state.db.clone();
    let settled_claim = claim.clone();
    let task = tokio::spawn(
        async move {
            let response = tokio::select! {
                response = next.run(req) => response,
                never = keep_leased(&db, &settled_claim) => match never {},
            };
            settle(&db, &settled_claim, response, &request_id).await
        }
        .instrument(tracing::Span::current()),
    );
    match task.await {
        Ok(response) => Ok(response),
        Err(err) => {
            if let Err(release_err) = release(&state.db, &claim).await {
                tracing::error!(error = %release_err, "cannot release an idempotency key");
            }
            Err(Error::Handler(err.to_string()))
        }
    }
}

/// Renews the claim's lease until dropped (when its request is done).
async fn keep_leased(db: &Db, claim: &Claim) -> std::convert::Infallible {
    let mut every = tokio::time::interval(RENEW_EVERY);
    every.tick().await;
    let mut held = true;
    loop {
        every.tick().await;
        if !held {
            continue;
        }
        match renew(db, claim, db::now()).await {
            Ok(true) => {}
            Ok(false) => {
                // Its completion will fail and roll the effect back.
                tracing::warn!(key = %claim.key, "idempotency key taken over while its request ran");
                held = false;
            }
            Err(err) => tracing::warn!(error = %err, "cannot renew an idempotency key's lease"),
        }
    }
}

/// 409 for a key whose request is still running, with when to try again.
fn in_flight(lease_expires_at: DateTime<Utc>) -> Response {
    let mut response = axum::response::IntoResponse::into_response(Error::IdempotencyKeyInFlight);
    let seconds = (lease_expires_at - Utc::now())
        .num_seconds()
        .clamp(1, LEASE.num_seconds());
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Whether a response not written by the mutation itself is kept for replay.
fn is_kept(status: StatusCode) -> bool {
    !status.is_server_error()
        && !matches!(
            status,
            StatusCode::BAD_REQUEST
                | StatusCode::UNSUPPORTED_MEDIA_TYPE
                | StatusCode::UNPROCESSABLE_ENTITY
        )
}

/// Keeps the response of a finished request for replay, unless it is not
/// to be kept (then the key is released) or the mutation already kept it.
async fn settle(db: &Db, claim: &Claim, response: Response, request_id: &str) -> Response {
    if response.extensions().get::<Recorded>().is_some() {
        return response;
    }
    if !is_kept(response.status()) {
        if let Err(err) = release(db, claim).await {
            tracing::error!(error = %err, "cannot release an idempotency key");
        }
        return response;
    }
    let response = error::finalize(response, request_id);
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(err) => {
            if let Err(err) = release(db, claim).await {
                tracing::error!(error = %err, "cannot release an idempotency key");
            }
            return axum::response::IntoResponse::into_response(Error::Handler(err.to_string()));
        }
    };
    let stored = async {
        let mut conn = db.pool().acquire().await?;
        complete(&mut conn, claim, parts.status, &body).await
    }
    .await;
    match stored {
        Ok(()) => {}
        // Nothing was changed; the request that took the key over answers.
        Err(Error::ClaimLost) => {
            tracing::warn!(key = %claim.key, "idempotency key taken over; response not kept");
        }
        // The key stays claimed; it is taken over once its lease runs out.
        Err(err) => tracing::error!(error = %err, "cannot store an idempotent response"),
    }
    Response::from_parts(parts, Body::from(body))
}

fn replay(status: u16, body: Vec<u8>) -> Result<Response, Error> {
    let status = StatusCode::from_u16(status)
        .map_err(|_| Error::Corrupt(format!("idempotent response status {status}")))?;
    let has_body = !body.is_empty();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if has_body {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_covers_method_path_and_body() {
        let base = request_hash("POST", "/v1/tenants", b"{}");
        assert_eq!(base, request_hash("POST", "/v1/tenants", b"{}"));
        assert_ne!(base, request_hash("PATCH", "/v1/tenants", b"{}"));
        assert_ne!(base, request_hash("POST", "/v1/tenants/x", b"{}"));
        assert_ne!(base, request_hash("POST", "/v1/tenants", b"{ }"));
    }

    #[test]
    fn only_results_of_running_are_kept() {
        for status in [StatusCode::NOT_FOUND, StatusCode::CONFLICT, StatusCode::OK] {
            assert!(is_kept(status), "{status}");
        }
        for status in [
            StatusCode::BAD_REQUEST,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            assert!(!is_kept(status), "{status}");
        }
    }

    #[test]
    fn keys_must_be_printable_and_short() {
        assert!(parse_key(&HeaderValue::from_static("order-42")).is_ok());
        assert!(parse_key(&HeaderValue::from_static("")).is_err());
        assert!(parse_key(&HeaderValue::from_static("a b")).is_err());
        let long = HeaderValue::from_str(&"k".repeat(KEY_MAX_LEN + 1)).expect("ascii");
        assert!(parse_key(&long).is_err());
    }
}
