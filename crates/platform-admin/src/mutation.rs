//! What every mutation shares: its actor, its audit record and its
//! idempotency record, committed in the one transaction of its effect.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::db;
use crate::error::Error;
use crate::http::RequestId;
use crate::idempotency::{self, Claim, Recorded};

/// Extracted by every mutating handler.
#[derive(Debug, Clone)]
pub struct Mutation {
    pub principal: Principal,
    pub request_id: String,
    claim: Option<Claim>,
}

impl<S: Send + Sync> FromRequestParts<S> for Mutation {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        Ok(Mutation {
            principal,
            request_id,
            claim: parts.extensions.get::<Claim>().cloned(),
        })
    }
}

impl Mutation {
    /// Appends the audit record of `change` to the chain and, under an
    /// idempotency key, records the response, then commits the effect with both.
    pub async fn commit<T: Serialize>(
        self,
        mut tx: Transaction<'static, Any>,
        change: Change,
        status: StatusCode,
        body: Option<&T>,
    ) -> Result<Response, Error> {
        let body = match body {
            Some(body) => serde_json::to_vec(body)?,
            None => Vec::new(),
        };
        let (before, after) = change.changed_fields();
        let before = before.map(|v| serde_json::to_string(&v)).transpose()?;
        let after = after.map(|v| serde_json::to_string(&v)).transpose()?;
        let record = audit::store::NewRecord {
            id: uuid::Uuid::now_v7(),
            at: db::now(),
            actor: &self.principal.name,
            action: &change.action,
            target: &change.target,
            tenant_id: change.tenant_id.as_deref(),
            before: before.as_deref(),
            after: after.as_deref(),
            request_id: &self.request_id,
            idempotency_key: self.claim.as_ref().map(|claim| claim.key.as_str()),
        };
        audit::store::insert(&mut tx, &record).await?;
        crate::incidents::tell_open_incidents(
            &mut tx,
            &self.principal.name,
            &change.action,
            &change.target,
            &self.request_id,
        )
        .await?;
        if let Some(claim) = &self.claim {
            idempotency::complete(&mut tx, claim, status, &body).await?;
        }
        tx.commit().await?;

        let has_body = !body.is_empty();
        let mut response = Response::new(axum::body::Body::from(body));
        *response.status_mut() = status;
        if has_body {
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        if self.claim.is_some() {
            response.extensions_mut().insert(Recorded);
        }
        Ok(response)
    }
}
