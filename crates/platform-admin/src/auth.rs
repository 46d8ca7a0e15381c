//! API tokens: minting them (shown once, stored only as a SHA-256 hash),
//! and the layer that turns `Authorization: Bearer …` into a `Principal`
//! and refuses what the route's declared permission (`access`) does not
//! allow its role (`roles`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use sqlx::Row as _;

use crate::access::{Access, Lookup, On, Requirement, Rule, TENANT_PARAM};
use crate::db::{self, Db};
use crate::error::Error;
use crate::roles::{Role, Scope};

/// Every token starts with this, so leaked ones are easy to find by scanners.
pub const TOKEN_PREFIX: &str = "opd_";

/// Longest token name, also the longest actor in the audit log.
pub const NAME_MAX: usize = 100;

/// Who is making the request: the token that authenticated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    /// Recorded as the actor of every change the token makes.
    pub name: String,
    pub role: Role,
}

/// Mints a token, stores its hash and returns the token itself: the only
/// time it is ever seen.
pub async fn create_token(db: &Db, name: &str, role: Role) -> Result<String, Error> {
    check_token_name(name)?;
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let result = sqlx::query(
        "INSERT INTO api_tokens (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(name)
    .bind(role.as_str())
    .bind(hash_token(&token))
    .bind(db::timestamp(db::now()))
    .execute(db.pool())
    .await;
    match result {
        Ok(_) => Ok(token),
        Err(err) if db::is_unique_violation(&err) => Err(Error::TokenNameTaken(name.to_string())),
        Err(err) => Err(err.into()),
    }
}

fn check_token_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        Err(Error::invalid("name", "must not be empty"))
    } else if name.chars().count() > NAME_MAX {
        Err(Error::invalid(
            "name",
            format!("must be at most {NAME_MAX} characters long"),
        ))
    } else if name.chars().any(char::is_control) {
        Err(Error::invalid(
            "name",
            "must not contain control characters",
        ))
    } else {
        Ok(())
    }
}

/// What is stored instead of the token: lowercase hex SHA-256.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The principal of a request's bearer token.
pub async fn authenticate(db: &Db, headers: &HeaderMap) -> Result<Principal, Error> {
    let token = bearer_token(headers).ok_or(Error::Unauthorized)?;
    // The lookup is by hash, so timing reveals nothing about stored tokens.
    let row = sqlx::query("SELECT id, name, role FROM api_tokens WHERE token_hash = $1")
        .bind(hash_token(token))
        .fetch_optional(db.pool())
        .await?
        .ok_or(Error::Unauthorized)?;
    let role: String = row.try_get("role")?;
    Ok(Principal {
        token_id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: role.parse().map_err(Error::Corrupt)?,
    })
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What the authentication layer needs: the tokens, and what each route
/// declared.
#[derive(Debug, Clone)]
pub struct Gate {
    db: Db,
    access: Arc<Access>,
}

impl Gate {
    pub fn new(db: Db, access: Access) -> Self {
        Self {
            db,
            access: Arc::new(access),
        }
    }
}

/// Layer on every route, outside the body limit and idempotency: passes
/// public routes, answers 401 without a known token and 403 when the
/// token's role does not grant the route's permission on its scope. A
/// route that declared nothing is refused (500, a bug), and a method the
/// route does not declare gets 405, so nothing undeclared is ever served.
pub async fn layer(State(gate): State<Gate>, req: Request, next: Next) -> Result<Response, Error> {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let requirement = match gate.access.lookup(req.method(), &route) {
        Lookup::Rule(Rule::Public) => return Ok(next.run(req).await),
        Lookup::Rule(Rule::Require(requirement)) => requirement,
        Lookup::OtherMethods(allow) => return Err(Error::MethodNotAllowed { allow }),
        Lookup::Undeclared => {
            return Err(Error::Undeclared {
                method: req.method().to_string(),
                route,
            })
        }
    };
    let principal = authenticate(&gate.db, req.headers()).await?;
    tracing::Span::current().record("actor", principal.name.as_str());
    let (mut parts, body) = req.into_parts();
    let scope = scope_of(&mut parts, requirement).await?;
    if !principal.role.allows(requirement.permission, &scope) {
        return Err(Error::Forbidden {
            role: principal.role,
            permission: requirement.permission,
            scope,
        });
    }
    let mut req = Request::from_parts(parts, body);
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

/// The scope a request's permission is checked on.
async fn scope_of(parts: &mut Parts, requirement: Requirement) -> Result<Scope, Error> {
    match requirement.on {
        On::Platform => Ok(Scope::Platform),
        On::Tenant => {
            let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, &())
                .await
                .map_err(|err| {
                    Error::invalid("tenant", format!("bad tenant in the path: {err}"))
                })?;
            params
                .get(TENANT_PARAM)
                .map(|tenant| Scope::Tenant(tenant.clone()))
                .ok_or_else(|| Error::Undeclared {
                    method: parts.method.to_string(),
                    route: format!("{} (without {{{TENANT_PARAM}}})", parts.uri.path()),
                })
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(Error::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        for (value, expected) in [
            ("Bearer opd_x", Some("opd_x")),
            ("bearer  opd_x ", Some("opd_x")),
            ("Basic b3BkX3g=", None),
            ("Bearer ", None),
            ("opd_x", None),
        ] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer_token(&headers), expected, "{value}");
        }
    }

    #[test]
    fn token_names_are_checked() {
        assert!(check_token_name("ci-bot").is_ok());
        assert!(check_token_name(" ").is_err());
        assert!(check_token_name("a\nb").is_err());
        assert!(check_token_name(&"x".repeat(NAME_MAX + 1)).is_err());
    }
}
