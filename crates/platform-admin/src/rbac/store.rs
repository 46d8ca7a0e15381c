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

/// Creates a service account; its name is unique.
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
        Err(err) if db::is_unique_violation(&err) => Err(Error::NameTaken {
            kind: "service account",
            name: name.to_string(),
        }),
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
        Err(err) if db::is_unique_violation(&err) => Err(Error::NameTaken {
            kind: "token",
            name: name.to_string(),
        }),
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
    let row = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"
    ))
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

// Users, groups, service accounts, roles and bindings as the rbac routes
// read and change them. Each object is named in a path by its id or by its
// unique name (a user by email).

use opsdeck_api::rbac::{Binding, BindingScope, Group, Role, ServiceAccount, User, UserStatus};

fn taken<'a>(kind: &'static str, name: &'a str) -> impl FnOnce(sqlx::Error) -> Error + 'a {
    move |err| {
        if db::is_unique_violation(&err) {
            Error::NameTaken {
                kind,
                name: name.to_string(),
            }
        } else {
            err.into()
        }
    }
}

const USER_COLUMNS: &str = "id, email, display_name, status, created_at";

fn user_from_row(row: &AnyRow) -> Result<User, Error> {
    let status: String = row.try_get("status")?;
    let created_at: String = row.try_get("created_at")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        status: status.parse().map_err(Error::Corrupt)?,
        created_at: db::parse_timestamp(&created_at)?,
    })
}

pub async fn insert_user(conn: &mut AnyConnection, user: &User) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO rbac_users (id, email, display_name, status, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.id.as_str())
    .bind(user.email.as_str())
    .bind(user.display_name.as_str())
    .bind(user.status.as_str())
    .bind(db::timestamp(user.created_at))
    .execute(conn)
    .await
    .map_err(taken("user", &user.email))?;
    Ok(())
}

/// One page of an access list: after the cursor's key, matching the
/// text, at most `limit` rows.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The last key of the previous page.
    pub after: Option<String>,
    /// Part of the email (users) or the name (groups); ASCII letters in
    /// any case, as both databases lower-case them alike.
    pub text: Option<String>,
    pub limit: u32,
}

impl Page {
    /// `WHERE …` over the key column `key` and text column `text`, with
    /// its values to bind in order.
    fn conditions(&self, key: &str, text: &str) -> (String, Vec<String>) {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        if let Some(after) = &self.after {
            binds.push(after.clone());
            conditions.push(format!("{key} > ${}", binds.len()));
        }
        if let Some(q) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
        {
            binds.push(format!(
                "%{}%",
                crate::db::escape_like(&q.to_ascii_lowercase())
            ));
            conditions.push(format!("LOWER({text}) LIKE ${} ESCAPE '\\'", binds.len()));
        }
        let sql = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        (sql, binds)
    }
}

/// A page of users, by email.
pub async fn list_users(conn: &mut AnyConnection, page: &Page) -> Result<Vec<User>, Error> {
    let (filter, binds) = page.conditions("email", "email");
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM rbac_users{filter} ORDER BY email LIMIT ${}",
        binds.len() + 1
    );
    let mut query = sqlx::query(&sql);
    for value in &binds {
        query = query.bind(value.as_str());
    }
    let rows = query.bind(i64::from(page.limit)).fetch_all(conn).await?;
    rows.iter().map(user_from_row).collect()
}

/// A user by id or email.
pub async fn get_user(conn: &mut AnyConnection, user: &str) -> Result<Option<User>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM rbac_users WHERE id = $1 OR email = $2"
    ))
    .bind(user)
    .bind(user.to_lowercase())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn update_user(
    conn: &mut AnyConnection,
    id: &str,
    display_name: Option<&str>,
    status: Option<UserStatus>,
) -> Result<Option<User>, Error> {
    let row = sqlx::query(&format!(
        "UPDATE rbac_users SET display_name = COALESCE($2, display_name), status = COALESCE($3, status) \
         WHERE id = $1 RETURNING {USER_COLUMNS}"
    ))
    .bind(id)
    .bind(display_name)
    .bind(status.map(UserStatus::as_str))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn insert_group(conn: &mut AnyConnection, group: &Group) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO rbac_groups (id, name, external_name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(group.id.as_str())
    .bind(group.name.as_str())
    .bind(group.external_name.as_deref())
    .bind(db::timestamp(group.created_at))
    .execute(conn)
    .await
    .map_err(taken("group", &group.name))?;
    Ok(())
}

/// The group of this id or name, with its members' ids.
pub async fn get_group(conn: &mut AnyConnection, group: &str) -> Result<Option<Group>, Error> {
    let rows = sqlx::query(
        "SELECT id, name, external_name, created_at FROM rbac_groups WHERE id = $1 OR name = $1",
    )
    .bind(group)
    .fetch_all(&mut *conn)
    .await?;
    Ok(with_members(conn, &rows).await?.into_iter().next())
}

/// A page of groups, by name, each with its members' ids.
pub async fn list_groups(conn: &mut AnyConnection, page: &Page) -> Result<Vec<Group>, Error> {
    let (filter, binds) = page.conditions("name", "name");
    let sql = format!(
        "SELECT id, name, external_name, created_at FROM rbac_groups{filter} ORDER BY name LIMIT ${}",
        binds.len() + 1
    );
    let mut query = sqlx::query(&sql);
    for value in &binds {
        query = query.bind(value.as_str());
    }
    let rows = query
        .bind(i64::from(page.limit))
        .fetch_all(&mut *conn)
        .await?;
    with_members(conn, &rows).await
}

/// The groups of `rows`, with the members of those groups only.
async fn with_members(conn: &mut AnyConnection, rows: &[AnyRow]) -> Result<Vec<Group>, Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<_, _>>()?;
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT group_id, user_id FROM rbac_group_members WHERE group_id IN ({}) ORDER BY user_id",
        placeholders.join(", ")
    );
    let mut members = sqlx::query(&sql);
    for id in &ids {
        members = members.bind(id.as_str());
    }
    let mut members_of: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for member in members.fetch_all(&mut *conn).await? {
        members_of
            .entry(member.try_get("group_id")?)
            .or_default()
            .push(member.try_get("user_id")?);
    }
    let mut groups = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("id")?;
        let created_at: String = row.try_get("created_at")?;
        groups.push(Group {
            members: members_of.remove(&id).unwrap_or_default(),
            id,
            name: row.try_get("name")?,
            external_name: row.try_get("external_name")?,
            created_at: db::parse_timestamp(&created_at)?,
        });
    }
    Ok(groups)
}

/// Adds (`true`) or removes a member; true when something changed.
pub async fn set_member(
    conn: &mut AnyConnection,
    group: &str,
    user: &str,
    member: bool,
) -> Result<bool, Error> {
    let sql = if member {
        "INSERT INTO rbac_group_members (group_id, user_id) VALUES ($1, $2) \
         ON CONFLICT (group_id, user_id) DO NOTHING"
    } else {
        "DELETE FROM rbac_group_members WHERE group_id = $1 AND user_id = $2"
    };
    let done = sqlx::query(sql)
        .bind(group)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn list_service_accounts(conn: &mut AnyConnection) -> Result<Vec<ServiceAccount>, Error> {
    let rows = sqlx::query("SELECT id, name, created_at FROM rbac_service_accounts ORDER BY name")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            let created_at: String = row.try_get("created_at")?;
            Ok(ServiceAccount {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                created_at: db::parse_timestamp(&created_at)?,
            })
        })
        .collect()
}

/// Whether the subject exists.
pub async fn subject_exists(conn: &mut AnyConnection, subject: &Subject) -> Result<bool, Error> {
    let table = match subject.kind {
        SubjectKind::User => "rbac_users",
        SubjectKind::Group => "rbac_groups",
        SubjectKind::ServiceAccount => "rbac_service_accounts",
    };
    let row = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1"))
        .bind(subject.id.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// The built-in roles, then the custom ones by name.
pub async fn list_roles(conn: &mut AnyConnection) -> Result<Vec<Role>, Error> {
    let mut roles: Vec<Role> = BuiltinRole::ALL
        .into_iter()
        .map(|role| Role {
            name: role.as_str().to_string(),
            builtin: true,
            permissions: role.permissions().to_vec(),
        })
        .collect();
    let rows = sqlx::query(
        "SELECT r.name, p.permission FROM rbac_roles r \
         LEFT JOIN rbac_role_permissions p ON p.role = r.name ORDER BY r.name, p.permission",
    )
    .fetch_all(conn)
    .await?;
    let mut custom: Vec<Role> = Vec::new();
    for row in &rows {
        let name: String = row.try_get("name")?;
        let permission: Option<String> = row.try_get("permission")?;
        if custom.last().is_none_or(|r| r.name != name) {
            custom.push(Role {
                name,
                builtin: false,
                permissions: Vec::new(),
            });
        }
        if let (Some(role), Some(permission)) = (custom.last_mut(), permission) {
            role.permissions
                .push(permission.parse().map_err(Error::Corrupt)?);
        }
    }
    for role in &mut custom {
        role.permissions.sort();
    }
    roles.extend(custom);
    Ok(roles)
}

/// What a role grants; `None` when there is no such role.
pub async fn role_permissions(
    conn: &mut AnyConnection,
    role: &str,
) -> Result<Option<Vec<Permission>>, Error> {
    if let Ok(builtin) = role.parse::<BuiltinRole>() {
        return Ok(Some(builtin.permissions().to_vec()));
    }
    Ok(list_roles(conn)
        .await?
        .into_iter()
        .find(|r| r.name == role)
        .map(|r| r.permissions))
}

pub async fn insert_role(
    conn: &mut AnyConnection,
    role: &Role,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query("INSERT INTO rbac_roles (name, created_at) VALUES ($1, $2)")
        .bind(role.name.as_str())
        .bind(db::timestamp(now))
        .execute(&mut *conn)
        .await
        .map_err(taken("role", &role.name))?;
    for permission in &role.permissions {
        sqlx::query(
            "INSERT INTO rbac_role_permissions (role, permission) VALUES ($1, $2) \
             ON CONFLICT (role, permission) DO NOTHING",
        )
        .bind(role.name.as_str())
        .bind(permission.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A custom role, locked until the transaction ends on PostgreSQL (on
/// SQLite the write transaction holds the database), so that what an
/// `If-Match` is compared with cannot change before the update.
pub async fn custom_role_for_update(
    conn: &mut AnyConnection,
    kind: db::DbKind,
    role: &str,
) -> Result<Option<Role>, Error> {
    let lock = match kind {
        db::DbKind::Postgres => " FOR UPDATE",
        db::DbKind::Sqlite => "",
    };
    let exists = sqlx::query(&format!(
        "SELECT name FROM rbac_roles WHERE name = $1{lock}"
    ))
    .bind(role)
    .fetch_optional(&mut *conn)
    .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let rows = sqlx::query("SELECT permission FROM rbac_role_permissions WHERE role = $1")
        .bind(role)
        .fetch_all(conn)
        .await?;
    let mut permissions = rows
        .iter()
        .map(|row| {
            let name: String = row.try_get("permission")?;
            name.parse().map_err(Error::Corrupt)
        })
        .collect::<Result<Vec<Permission>, Error>>()?;
    permissions.sort();
    Ok(Some(Role {
        name: role.to_string(),
        builtin: false,
        permissions,
    }))
}

/// Replaces a custom role's permissions; false when there is no such role.
pub async fn set_role_permissions(
    conn: &mut AnyConnection,
    role: &str,
    permissions: &[Permission],
) -> Result<bool, Error> {
    let exists = sqlx::query("SELECT name FROM rbac_roles WHERE name = $1")
        .bind(role)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Ok(false);
    }
    sqlx::query("DELETE FROM rbac_role_permissions WHERE role = $1")
        .bind(role)
        .execute(&mut *conn)
        .await?;
    for permission in permissions {
        sqlx::query(
            "INSERT INTO rbac_role_permissions (role, permission) VALUES ($1, $2) \
             ON CONFLICT (role, permission) DO NOTHING",
        )
        .bind(role)
        .bind(permission.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// Deletes a custom role that no binding uses; false when there is none.
pub async fn delete_role(conn: &mut AnyConnection, role: &str) -> Result<bool, Error> {
    let used = sqlx::query("SELECT id FROM rbac_bindings WHERE role = $1 LIMIT 1")
        .bind(role)
        .fetch_optional(&mut *conn)
        .await?;
    if used.is_some() {
        return Err(Error::RoleInUse(role.to_string()));
    }
    let done = sqlx::query("DELETE FROM rbac_roles WHERE name = $1")
        .bind(role)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

const BINDING_COLUMNS: &str = "id, subject_kind, subject_id, role, tenant_id, created_at";

fn binding_from_row(row: &AnyRow) -> Result<Binding, Error> {
    let kind: String = row.try_get("subject_kind")?;
    let tenant: Option<String> = row.try_get("tenant_id")?;
    let created_at: String = row.try_get("created_at")?;
    Ok(Binding {
        id: row.try_get("id")?,
        subject: Subject {
            kind: kind.parse().map_err(Error::Corrupt)?,
            id: row.try_get("subject_id")?,
        },
        role: row.try_get("role")?,
        scope: match tenant {
            None => BindingScope::Platform,
            Some(tenant) => BindingScope::Tenant { tenant },
        },
        created_at: db::parse_timestamp(&created_at)?,
    })
}

/// A page of bindings, oldest first, after the cursor's key (`created_at`
/// and id, as [`binding_key`] makes it), on the tenants of `within` only
/// when given.
pub async fn list_bindings(
    conn: &mut AnyConnection,
    after: Option<&str>,
    within: Option<&[String]>,
    limit: u32,
) -> Result<Vec<Binding>, Error> {
    let mut conditions = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(after) = after {
        let (at, id) = after
            .split_once(' ')
            .ok_or_else(|| Error::invalid("cursor", "is not a cursor this server gave out"))?;
        binds.extend([at.to_string(), at.to_string(), id.to_string()]);
        conditions.push("(created_at > $1 OR (created_at = $2 AND id > $3))".to_string());
    }
    if let Some(within) = within {
        if within.is_empty() {
            return Ok(Vec::new());
        }
        let first = binds.len() + 1;
        binds.extend(within.iter().cloned());
        let placeholders: Vec<String> = (first..=binds.len()).map(|n| format!("${n}")).collect();
        conditions.push(format!("tenant_id IN ({})", placeholders.join(", ")));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {BINDING_COLUMNS} FROM rbac_bindings{filter} ORDER BY created_at, id LIMIT ${}",
        binds.len() + 1
    );
    let mut query = sqlx::query(&sql);
    for value in &binds {
        query = query.bind(value.as_str());
    }
    let rows = query.bind(i64::from(limit)).fetch_all(conn).await?;
    rows.iter().map(binding_from_row).collect()
}

/// The key a page of bindings continues after: its time and id (a stored
/// time has no space).
pub fn binding_key(binding: &Binding) -> String {
    format!("{} {}", db::timestamp(binding.created_at), binding.id)
}

pub async fn get_binding(conn: &mut AnyConnection, id: &str) -> Result<Option<Binding>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {BINDING_COLUMNS} FROM rbac_bindings WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(binding_from_row).transpose()
}

/// Deletes a binding, refusing to remove the last platform-wide
/// `platform-admin` one. The platform-admin bindings are locked first on
/// PostgreSQL, so two removals at once cannot both see another one left
/// (SQLite writers are serialised by `BEGIN IMMEDIATE`).
pub async fn delete_binding(
    conn: &mut AnyConnection,
    kind: db::DbKind,
    binding: &Binding,
) -> Result<(), Error> {
    let admin = BuiltinRole::PlatformAdmin.as_str();
    if binding.role == admin && binding.scope == BindingScope::Platform {
        let lock = match kind {
            db::DbKind::Postgres => " FOR UPDATE",
            db::DbKind::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "SELECT id FROM rbac_bindings WHERE role = $1 AND tenant_id IS NULL{lock}"
        ))
        .bind(admin)
        .fetch_all(&mut *conn)
        .await?;
        if rows.len() <= 1 {
            return Err(Error::LastPlatformAdmin);
        }
    }
    sqlx::query("DELETE FROM rbac_bindings WHERE id = $1")
        .bind(binding.id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a user or group: its bindings first (one by one, so the last
/// platform-wide `platform-admin` binding is refused as by
/// [`delete_binding`]), then the row, whose memberships and tokens go with
/// it. Returns the bindings removed.
pub async fn delete_subject(
    conn: &mut AnyConnection,
    kind: db::DbKind,
    subject: &Subject,
) -> Result<Vec<Binding>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {BINDING_COLUMNS} FROM rbac_bindings WHERE subject_kind = $1 AND subject_id = $2 \
         ORDER BY created_at, id"
    ))
    .bind(subject.kind.as_str())
    .bind(subject.id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let bindings: Vec<Binding> = rows
        .iter()
        .map(binding_from_row)
        .collect::<Result<_, _>>()?;
    for binding in &bindings {
        delete_binding(&mut *conn, kind, binding).await?;
    }
    let table = match subject.kind {
        SubjectKind::User => "rbac_users",
        SubjectKind::Group => "rbac_groups",
        SubjectKind::ServiceAccount => "rbac_service_accounts",
    };
    sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
        .bind(subject.id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(bindings)
}

/// A token by id or name.
pub async fn find_token(conn: &mut AnyConnection, token: &str) -> Result<Option<Token>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1 OR name = $1"
    ))
    .bind(token)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(token_from_row).transpose()
}

/// One binding that grants a permission, with the member it reaches when
/// it is a group's.
#[derive(Debug, Clone)]
pub struct Grant {
    pub binding: Binding,
    /// For a group's binding: one member user's id (one row per member).
    pub member: Option<String>,
}

/// The roles, built-in and custom, that grant `permission`.
pub async fn roles_granting(
    conn: &mut AnyConnection,
    permission: Permission,
) -> Result<Vec<String>, Error> {
    Ok(list_roles(conn)
        .await?
        .into_iter()
        .filter(|r| r.permissions.contains(&permission))
        .map(|r| r.name)
        .collect())
}

/// Every binding of one of `roles`, on the platform or on `tenant` (every
/// scope when `tenant` is `None`), a group's once per member.
pub async fn grants_of_roles(
    conn: &mut AnyConnection,
    roles: &[String],
    tenant: Option<&str>,
) -> Result<Vec<Grant>, Error> {
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    let mut n = 0;
    let mut placeholder = || {
        n += 1;
        format!("${n}")
    };
    let role_list: Vec<String> = roles.iter().map(|_| placeholder()).collect();
    let mut sql = format!(
        "SELECT b.id, b.subject_kind, b.subject_id, b.role, b.tenant_id, b.created_at, m.user_id \
         FROM rbac_bindings b \
         LEFT JOIN rbac_group_members m ON b.subject_kind = 'group' AND m.group_id = b.subject_id \
         WHERE b.role IN ({})",
        role_list.join(", ")
    );
    if tenant.is_some() {
        sql.push_str(&format!(
            " AND (b.tenant_id IS NULL OR b.tenant_id = {})",
            placeholder()
        ));
    }
    sql.push_str(" ORDER BY b.created_at, b.id");
    let mut query = sqlx::query(&sql);
    for role in roles {
        query = query.bind(role.as_str());
    }
    if let Some(tenant) = tenant {
        query = query.bind(tenant);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            Ok(Grant {
                binding: binding_from_row(row)?,
                member: row.try_get("user_id")?,
            })
        })
        .collect()
}

/// The display name of a user (email) or service account (name).
pub async fn subject_name(
    conn: &mut AnyConnection,
    subject: &Subject,
) -> Result<Option<String>, Error> {
    let sql = match subject.kind {
        SubjectKind::User => "SELECT email AS name FROM rbac_users WHERE id = $1",
        SubjectKind::Group => "SELECT name FROM rbac_groups WHERE id = $1",
        SubjectKind::ServiceAccount => "SELECT name FROM rbac_service_accounts WHERE id = $1",
    };
    let row = sqlx::query(sql)
        .bind(subject.id.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|row| row.try_get("name")).transpose()?)
}

/// A subject named by its id (in any of the three tables), a user's email,
/// or a group's or service account's name.
pub async fn find_subject(conn: &mut AnyConnection, named: &str) -> Result<Option<Subject>, Error> {
    for (kind, sql) in [
        (
            SubjectKind::User,
            "SELECT id FROM rbac_users WHERE id = $1 OR email = $2",
        ),
        (
            SubjectKind::ServiceAccount,
            "SELECT id FROM rbac_service_accounts WHERE id = $1 OR name = $1",
        ),
        (
            SubjectKind::Group,
            "SELECT id FROM rbac_groups WHERE id = $1 OR name = $1",
        ),
    ] {
        let mut query = sqlx::query(sql).bind(named);
        if kind == SubjectKind::User {
            query = query.bind(named.to_lowercase());
        }
        if let Some(row) = query.fetch_optional(&mut *conn).await? {
            return Ok(Some(Subject {
                kind,
                id: row.try_get("id")?,
            }));
        }
    }
    Ok(None)
}
