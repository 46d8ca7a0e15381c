//! SQL of access control: service accounts, bindings and tokens, and the
//! resolution of a subject's grants from its bindings.

use chrono::{DateTime, Utc};
use opsdeck_api::rbac::{BuiltinRole, Subject, SubjectKind, Token};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::Grants;
use crate::db;
use crate::error::Error;
use crate::roles::Permission;

/// What a user or service account holds: its own bindings and, for a
/// user, those of every group it is a member of.
pub async fn grants_of(conn: &mut AnyConnection, subject: &Subject) -> Result<Grants, Error> {
    let rows = sqlx::query(
        "SELECT b.role, b.tenant_id, p.permission \
         FROM rbac_bindings b \
         LEFT JOIN rbac_role_permissions p ON p.role = b.role \
         WHERE (b.subject_kind = $1 AND b.subject_id = $2) \
            OR ($1 = 'user' AND b.subject_kind = 'group' AND b.subject_id IN \
                (SELECT group_id FROM rbac_group_members WHERE user_id = $2))",
    )
    .bind(subject.kind.as_str())
    .bind(subject.id.as_str())
    .fetch_all(conn)
    .await?;
    let mut grants = Grants::default();
    for row in &rows {
        let role: String = row.try_get("role")?;
        let tenant_id: Option<String> = row.try_get("tenant_id")?;
        let permission: Option<String> = row.try_get("permission")?;
        let tenant = tenant_id.as_deref();
        if let Ok(builtin) = role.parse::<BuiltinRole>() {
            grants.add(tenant, builtin.permissions().iter().copied());
        } else if let Some(permission) = permission {
            let permission: Permission = permission.parse().map_err(Error::Corrupt)?;
            grants.add(tenant, [permission]);
        }
    }
    Ok(grants)
}

/// Creates a service account; a taken name is `TokenNameTaken`, as the
/// bootstrap names the account after its token.
pub async fn insert_service_account(
    conn: &mut AnyConnection,
    name: &str,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let id = uuid::Uuid::now_v7().to_string();
    let result =
        sqlx::query("INSERT INTO rbac_service_accounts (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(name)
            .bind(db::timestamp(now))
            .execute(conn)
            .await;
    match result {
        Ok(_) => Ok(id),
        Err(err) if db::is_unique_violation(&err) => Err(Error::TokenNameTaken(name.to_string())),
        Err(err) => Err(err.into()),
    }
}

/// Binds `role` to `subject` on the platform (`tenant_id` None) or on one tenant.
pub async fn insert_binding(
    conn: &mut AnyConnection,
    subject: &Subject,
    role: &str,
    tenant_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO rbac_bindings (id, subject_kind, subject_id, role, tenant_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(subject.kind.as_str())
    .bind(subject.id.as_str())
    .bind(role)
    .bind(tenant_id)
    .bind(db::timestamp(now))
    .execute(conn)
    .await?;
    Ok(id)
}

/// Stores a token (its hash only) for a user or a service account.
pub async fn insert_token(
    conn: &mut AnyConnection,
    name: &str,
    owner: &Subject,
    token_hash: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let (user, service_account) = match owner.kind {
        SubjectKind::User => (Some(owner.id.as_str()), None),
        SubjectKind::ServiceAccount => (None, Some(owner.id.as_str())),
        SubjectKind::Group => {
            return Err(Error::invalid(
                "owner",
                "a token belongs to a user or a service account, not a group",
            ))
        }
    };
    let id = uuid::Uuid::now_v7().to_string();
    let result = sqlx::query(
        "INSERT INTO api_tokens (id, name, token_hash, created_at, user_id, service_account_id, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(name)
    .bind(token_hash)
    .bind(db::timestamp(now))
    .bind(user)
    .bind(service_account)
    .bind(expires_at.map(db::timestamp))
    .execute(conn)
    .await;
    match result {
        Ok(_) => Ok(id),
        Err(err) if db::is_unique_violation(&err) => Err(Error::TokenNameTaken(name.to_string())),
        Err(err) => Err(err.into()),
    }
}

/// Revokes a token by id; `None` when there is no such token, the token
/// (with its first revocation time) when it is or was already revoked.
pub async fn revoke_token(
    conn: &mut AnyConnection,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Token>, Error> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(db::timestamp(now))
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(token_from_row).transpose()
}

/// Every token, newest first; never a secret or its hash.
pub async fn list_tokens(conn: &mut AnyConnection) -> Result<Vec<Token>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC, id DESC"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(token_from_row).collect()
}

const TOKEN_COLUMNS: &str =
    "id, name, user_id, service_account_id, created_at, expires_at, revoked_at";

/// The user or service account a token row belongs to.
pub fn owner_of(row: &AnyRow) -> Result<Subject, Error> {
    let user: Option<String> = row.try_get("user_id")?;
    let service_account: Option<String> = row.try_get("service_account_id")?;
    match (user, service_account) {
        (Some(id), None) => Ok(Subject {
            kind: SubjectKind::User,
            id,
        }),
        (None, Some(id)) => Ok(Subject {
            kind: SubjectKind::ServiceAccount,
            id,
        }),
        _ => Err(Error::Corrupt(
            "a token belongs to neither or both of a user and a service account".into(),
        )),
    }
}

fn token_from_row(row: &AnyRow) -> Result<Token, Error> {
    let created_at: String = row.try_get("created_at")?;
    let expires_at: Option<String> = row.try_get("expires_at")?;
    let revoked_at: Option<String> = row.try_get("revoked_at")?;
    Ok(Token {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner: owner_of(row)?,
        created_at: db::parse_timestamp(&created_at)?,
        expires_at: expires_at.as_deref().map(db::parse_timestamp).transpose()?,
        revoked_at: revoked_at.as_deref().map(db::parse_timestamp).transpose()?,
    })
}
