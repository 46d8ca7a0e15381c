//! API tokens: minting them (shown once, stored only as a SHA-256 hash),
//! and the layer that turns `Authorization: Bearer …` into a `Principal`
//! with the grants of its owner's bindings (`rbac`), and refuses what the
//! route's declared permission (`access`) does not allow on its scope. A
//! tenant the principal holds nothing on answers 404, exactly like a
//! tenant that does not exist.

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

use chrono::{DateTime, Utc};
use opsdeck_api::rbac::{Subject, SubjectKind};

use crate::access::{Access, Lookup, On, Requirement, Rule, TENANT_PARAM};
use crate::db::{self, Db};
use crate::error::Error;
use crate::rbac::{store as rbac_store, Grants};
use crate::roles::{Role, Scope};
use crate::tenants::store::TenantRef;

/// Every token starts with this, so leaked ones are easy to find by scanners.
pub const TOKEN_PREFIX: &str = "opd_";

/// Longest token name, also the longest actor in the audit log.
pub const NAME_MAX: usize = 100;

/// Who is making the request: the token that authenticated it, the user
/// or service account it acts for, and what that one holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    /// Recorded as the actor of every change the token makes: the service
    /// account's name for its tokens, the user's email for a user's.
    pub name: String,
    pub owner: Subject,
    pub grants: Grants,
}

/// The bootstrap: a service account named `name`, bound on the platform to
/// `platform-admin` (`Role::Admin`) or `viewer`, and a token of the same
/// name for it. Returns the token itself: the only time it is ever seen.
pub async fn create_token(db: &Db, name: &str, role: Role) -> Result<String, Error> {
    let mut tx = db.begin().await?;
    let (_, token) = token_in(&mut tx, name, role, db::now()).await?;
    tx.commit().await?;
    Ok(token)
}

/// [`create_token`] as `platform-admin token create` does it: a bootstrap
/// token is as powerful as any, so its making is in the audit log like
/// every other change, in the same transaction, with the command line as
/// its actor.
pub async fn bootstrap_token(db: &Db, name: &str, role: Role) -> Result<String, Error> {
    let now = db::now();
    let mut tx = db.begin().await?;
    let (id, token) = token_in(&mut tx, name, role, now).await?;
    let after = serde_json::json!({
        "id": id,
        "name": name,
        "role": role.builtin().as_str(),
        "scope": "platform",
    })
    .to_string();
    let target = format!("token:{name}");
    crate::audit::store::insert(
        &mut tx,
        &crate::audit::store::NewRecord {
            id: uuid::Uuid::now_v7(),
            at: now,
            actor: BOOTSTRAP_ACTOR,
            action: "token.create",
            target: &target,
            tenant_id: None,
            before: None,
            after: Some(&after),
            request_id: BOOTSTRAP_ACTOR,
            idempotency_key: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The actor of changes made with `platform-admin token create` on the
/// server's own command line.
pub const BOOTSTRAP_ACTOR: &str = "platform-admin token create";

/// A service account of `name`, bound to `role` on the platform, and a
/// token of it: (token id, token).
async fn token_in(
    tx: &mut sqlx::AnyConnection,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(String, String), Error> {
    check_token_name(name)?;
    let account = rbac_store::insert_service_account(&mut *tx, name, now).await?;
    let owner = Subject {
        kind: SubjectKind::ServiceAccount,
        id: account,
    };
    rbac_store::insert_binding(&mut *tx, &owner, role.builtin().as_str(), None, now).await?;
    mint(tx, name, &owner, None, now).await
}

/// Mints a token for a user or service account, acting with its
/// bindings; returns its id and the token itself.
pub async fn mint(
    conn: &mut sqlx::AnyConnection,
    name: &str,
    owner: &Subject,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(String, String), Error> {
    check_token_name(name)?;
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let id =
        rbac_store::insert_token(conn, name, owner, &hash_token(&token), expires_at, now).await?;
    Ok((id, token))
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

/// The principal of a request's bearer token. A revoked or expired token,
/// or one of a disabled user, is refused like an unknown one (401), with
/// the reason in the message.
pub async fn authenticate(db: &Db, headers: &HeaderMap) -> Result<Principal, Error> {
    let token = bearer_token(headers).ok_or(Error::Unauthorized)?;
    let mut conn = db.pool().acquire().await?;
    // The lookup is by hash, so timing reveals nothing about stored tokens.
    let row = sqlx::query(
        "SELECT t.id, t.name, t.user_id, t.service_account_id, t.expires_at, t.revoked_at, \
         u.email, u.status, a.name AS account_name \
         FROM api_tokens t LEFT JOIN rbac_users u ON u.id = t.user_id \
         LEFT JOIN rbac_service_accounts a ON a.id = t.service_account_id \
         WHERE t.token_hash = $1",
    )
    .bind(hash_token(token))
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::Unauthorized)?;
    let revoked_at: Option<String> = row.try_get("revoked_at")?;
    if revoked_at.is_some() {
        return Err(Error::TokenRefused("the token was revoked"));
    }
    let expires_at: Option<String> = row.try_get("expires_at")?;
    if let Some(expires_at) = expires_at {
        if db::parse_timestamp(&expires_at)? <= db::now() {
            return Err(Error::TokenRefused("the token has expired"));
        }
    }
    let status: Option<String> = row.try_get("status")?;
    if status.as_deref() == Some("disabled") {
        return Err(Error::TokenRefused("the token's user is disabled"));
    }
    let owner = rbac_store::owner_of(&row)?;
    let email: Option<String> = row.try_get("email")?;
    let account: Option<String> = row.try_get("account_name")?;
    let name = match email.or(account) {
        Some(name) => name,
        None => row.try_get("name")?,
    };
    let grants = rbac_store::grants_of(&mut conn, &owner).await?;
    Ok(Principal {
        token_id: row.try_get("id")?,
        name,
        owner,
        grants,
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
/// public routes, answers 401 without a known, live token, passes routes
/// that need only a token, answers 403 when the
/// token's bindings do not grant the route's permission on its scope, and
/// 404 for a tenant they grant nothing on. A
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
        Lookup::Rule(Rule::Authenticated) => None,
        Lookup::Rule(Rule::Require(requirement)) => Some(requirement),
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
    if let Some(requirement) = requirement {
        check(&gate.db, &principal.grants, &mut parts, requirement).await?;
    }
    let mut req = Request::from_parts(parts, body);
    if let Some(action) = gate.access.two_person(req.method(), &route) {
        req.extensions_mut()
            .insert(crate::approvals::Declared(action));
    }
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

/// Whether `grants` allow the requirement on the request's scope: 403
/// when not, and 404 for a tenant the principal may not see, exactly as
/// for one that does not exist.
async fn check(
    db: &Db,
    grants: &Grants,
    parts: &mut Parts,
    requirement: Requirement,
) -> Result<(), Error> {
    let Requirement { permission, on } = requirement;
    let forbidden = |scope| Error::Forbidden { permission, scope };
    match on {
        On::Platform if grants.on_platform(permission) => Ok(()),
        On::Platform => Err(forbidden(Scope::Platform)),
        // The handler lists only what the grants show.
        On::EachTenant if grants.anywhere(permission) => Ok(()),
        On::EachTenant => Err(forbidden(Scope::Platform)),
        On::Tenant => {
            let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, &())
                .await
                .map_err(|err| {
                    Error::invalid("tenant", format!("bad tenant in the path: {err}"))
                })?;
            let segment = params.get(TENANT_PARAM).ok_or_else(|| Error::Undeclared {
                method: parts.method.to_string(),
                route: format!("{} (without {{{TENANT_PARAM}}})", parts.uri.path()),
            })?;
            // Held on the platform, the tenant needs no looking up: the
            // handler answers for one that does not exist (or replays a
            // keyed request that deleted it).
            if grants.on_platform(permission) {
                return Ok(());
            }
            let tenant = TenantRef::parse(segment);
            let Some(id) = crate::tenants::store::id_of(db.pool(), &tenant).await? else {
                return Err(Error::TenantNotFound(tenant.to_string()));
            };
            if grants.on_tenant(&id, permission) {
                Ok(())
            } else if grants.sees_tenant(&id) {
                Err(forbidden(Scope::Tenant(segment.clone())))
            } else {
                Err(Error::TenantNotFound(tenant.to_string()))
            }
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
