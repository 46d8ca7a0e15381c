//! What every mutation shares: its actor, its audit record and its
//! idempotency record, committed in the one transaction of its effect;
//! and, on a route that declares the two-person rule, the rule's check
//! and the use of its approval in that same transaction.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::approvals::{self, Declared};
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
    two_person: Option<TwoPerson>,
}

/// The two-person rule of the route, and what the handler said its
/// request covers.
#[derive(Debug, Clone)]
struct TwoPerson {
    action: opsdeck_api::approvals::ApprovalAction,
    rule: crate::config::TwoPersonConfig,
    /// The `Opsdeck-Approval` header.
    approval: Option<String>,
    /// The target and body, once the handler said them (`covers`).
    covers: Option<(String, serde_json::Value)>,
}

impl FromRequestParts<crate::AppState> for Mutation {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let two_person = parts
            .extensions
            .get::<Declared>()
            .map(|Declared(action)| TwoPerson {
                action: *action,
                rule: state.config.two_person_rule.clone(),
                approval: parts
                    .headers
                    .get(opsdeck_api::approvals::APPROVAL_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                covers: None,
            });
        Ok(Mutation {
            principal,
            request_id,
            claim: parts.extensions.get::<Claim>().cloned(),
            two_person,
        })
    }
}

impl Mutation {
    /// Says what a request of a two-person route does: the target and the
    /// body its approval must cover. `commit` refuses to commit the
    /// mutation of such a route without it; on other routes it does nothing.
    pub fn covers(&mut self, target: &str, body: &impl Serialize) -> Result<(), Error> {
        if let Some(two_person) = &mut self.two_person {
            two_person.covers = Some((target.to_string(), serde_json::to_value(body)?));
        }
        Ok(())
    }

    /// Appends the audit record of `change` to the chain and, under an
    /// idempotency key, records the response, then commits the effect with both.
    pub async fn commit<T: Serialize>(
        self,
        mut tx: Transaction<'static, Any>,
        change: Change,
        status: StatusCode,
        body: Option<&T>,
    ) -> Result<Response, Error> {
        if let Some(two_person) = &self.two_person {
            let Some((target, covered)) = &two_person.covers else {
                return Err(Error::Handler(format!(
                    "the route declares the two-person rule for {}, but its handler did not say what the request covers",
                    two_person.action
                )));
            };
            approvals::enforce(
                &mut tx,
                &two_person.rule,
                approvals::Check {
                    action: two_person.action,
                    target,
                    body: covered,
                    approval: two_person.approval.as_deref(),
                    principal: &self.principal,
                    request_id: &self.request_id,
                },
            )
            .await?;
        }
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
