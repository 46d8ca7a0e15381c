//! `/v1/rbac/…`: users, groups (and their members), service accounts,
//! roles, bindings and tokens. Each route is declared once, like the
//! tenants': its `#[utoipa::path]` and its line in `router()`.
//!
//! Guards beyond the declared permission: nobody hands on what they do not
//! hold (a custom role, a binding, a group membership or a token granting a
//! permission the caller lacks on that scope is 403), the last
//! platform-wide `platform-admin` binding stays (409), and bindings on a
//! tenant are managed by whoever holds `rbac.write` there, a tenant the
//! caller cannot see being 404 as everywhere.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::Json;
use opsdeck_api::rbac::{
    Binding, BindingList, BindingScope, CreateBinding, CreateGroup, CreateRole,
    CreateServiceAccount, CreateToken, CreateUser, CreatedToken, Effective, GrantPath, Group,
    GroupList, Holder, ListAccess, Me, Role, RoleList, ServiceAccount, ServiceAccountList, Subject,
    SubjectKind, TenantPermissions, Token, TokenList, UpdateRole, UpdateUser, User, UserList,
    UserStatus, WhoCan,
};
use opsdeck_api::validation::Validate;
use opsdeck_api::ErrorEnvelope;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{store, Grants, Visible};
use crate::access::{Declare as _, On};
use crate::audit::Change;
use crate::auth::{self, Principal};
use crate::db;
use crate::error::Error;
use crate::etag;
use crate::http::JsonBody;
use crate::mutation::Mutation;
use crate::roles::{Permission, Scope};
use crate::tenants::store::{self as tenants, TenantRef};
use crate::AppState;

/// The rbac routes and what each needs.
pub fn router() -> OpenApiRouter<AppState> {
    use Permission::{RbacRead, RbacWrite};
    OpenApiRouter::new()
        .routes(routes!(list_users).require(RbacRead, On::Platform))
        .routes(routes!(create_user).require(RbacWrite, On::Platform))
        .routes(routes!(update_user).require(RbacWrite, On::Platform))
        .routes(routes!(delete_user).require(RbacWrite, On::Platform))
        .routes(routes!(list_groups).require(RbacRead, On::Platform))
        .routes(routes!(create_group).require(RbacWrite, On::Platform))
        .routes(routes!(delete_group).require(RbacWrite, On::Platform))
        .routes(routes!(add_member).require(RbacWrite, On::Platform))
        .routes(routes!(remove_member).require(RbacWrite, On::Platform))
        .routes(routes!(list_service_accounts).require(RbacRead, On::Platform))
        .routes(routes!(create_service_account).require(RbacWrite, On::Platform))
        .routes(routes!(list_roles).require(RbacRead, On::EachTenant))
        .routes(routes!(create_role).require(RbacWrite, On::Platform))
        .routes(routes!(get_role).require(RbacRead, On::EachTenant))
        .routes(routes!(update_role).require(RbacWrite, On::Platform))
        .routes(routes!(delete_role).require(RbacWrite, On::Platform))
        .routes(routes!(list_bindings).require(RbacRead, On::EachTenant))
        .routes(routes!(create_binding).require(RbacWrite, On::EachTenant))
        .routes(routes!(delete_binding).require(RbacWrite, On::EachTenant))
        .routes(routes!(list_tokens).require(RbacRead, On::Platform))
        .routes(routes!(create_token).require(RbacWrite, On::Platform))
        .routes(routes!(revoke_token).require(RbacWrite, On::Platform))
        .routes(routes!(who_can).require(RbacRead, On::EachTenant))
        .routes(routes!(effective).require(RbacRead, On::EachTenant))
        .routes(routes!(me).authenticated())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// User id or email.
    user: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GroupPath {
    /// Group id or name.
    group: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// Group id or name.
    group: String,
    /// User id or email.
    user: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RolePath {
    /// Custom role name.
    role: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BindingPath {
    /// Binding id.
    binding: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// Token id or name.
    token: String,
}

fn check(body: &impl Validate) -> Result<(), Error> {
    let errors = body.field_errors();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(errors))
    }
}

fn path<T>(path: Result<Path<T>, PathRejection>) -> Result<T, Error> {
    path.map(|Path(p)| p)
        .map_err(|err| Error::invalid("path", format!("bad path parameter: {err}")))
}

fn not_found(kind: &'static str, name: &str) -> Error {
    Error::RbacNotFound {
        kind,
        name: name.to_string(),
    }
}

/// 403 naming the first permission of `needed` the caller does not hold
/// where `needed` holds it.
fn no_escalation(caller: &Grants, needed: &Grants) -> Result<(), Error> {
    match caller.first_missing(needed) {
        None => Ok(()),
        Some((permission, tenant)) => Err(Error::Escalation {
            permission,
            scope: tenant.map_or(Scope::Platform, Scope::Tenant),
        }),
    }
}

/// Lists users by email, a page at a time.
#[utoipa::path(get, path = "/v1/rbac/users", tag = "rbac", operation_id = "list_users",
    params(ListAccess),
    responses(
        (status = 200, body = UserList),
        (status = 422, description = "A bad limit, cursor or text, or an unknown parameter.", body = ErrorEnvelope)))]
pub async fn list_users(
    State(state): State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<UserList>, Error> {
    let page = access_page(query.as_deref())?;
    let mut conn = state.db.pool().acquire().await?;
    let (items, next_cursor) = paged(
        store::list_users(&mut conn, &page).await?,
        page.limit,
        |u| u.email.clone(),
    );
    Ok(Json(UserList { items, next_cursor }))
}

/// The page `limit`, `cursor` and `q` ask for, one row more than the
/// limit to know whether another page follows.
fn access_page(query: Option<&str>) -> Result<store::Page, Error> {
    let params = crate::http::QueryParams::parse(query, &["limit", "cursor", "q"])?;
    let text = params.get("q").map(str::to_string);
    if text
        .as_ref()
        .is_some_and(|q| q.chars().count() > opsdeck_api::rbac::TEXT_MAX)
    {
        return Err(Error::invalid(
            "q",
            format!(
                "must be at most {} characters long",
                opsdeck_api::rbac::TEXT_MAX
            ),
        ));
    }
    Ok(store::Page {
        after: params.cursor()?,
        text,
        limit: params.limit()? + 1,
    })
}

/// A page cut to its limit (`fetched` holds one row more when another
/// page follows), and the cursor to the next: the last row's key.
fn paged<T>(
    mut fetched: Vec<T>,
    fetched_limit: u32,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = fetched_limit.saturating_sub(1) as usize;
    if fetched.len() > limit {
        fetched.truncate(limit);
        let next = fetched
            .last()
            .map(|last| crate::http::encode_cursor(&key(last)));
        (fetched, next)
    } else {
        (fetched, None)
    }
}

/// Creates an active user.
#[utoipa::path(post, path = "/v1/rbac/users", tag = "rbac", operation_id = "create_user",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created.", body = User),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 409, description = "Another user has this email.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid.", body = ErrorEnvelope)))]
pub async fn create_user(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<Response, Error> {
    let body = body.normalized();
    check(&body)?;
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        email: body.email,
        display_name: body.display_name,
        status: UserStatus::Active,
        created_at: db::now(),
    };
    let mut tx = state.db.begin().await?;
    store::insert_user(&mut tx, &user).await?;
    let change = Change::new("user.create", format!("user:{}", user.email)).after(&user)?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&user))
        .await
}

/// Changes a user's display name or status; a disabled user's tokens are refused.
#[utoipa::path(patch, path = "/v1/rbac/users/{user}", tag = "rbac", operation_id = "update_user",
    params(UserPath),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "Changed.", body = User),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is unknown or invalid, or nothing is to change.", body = ErrorEnvelope)))]
pub async fn update_user(
    State(state): State<AppState>,
    mutation: Mutation,
    user: Result<Path<UserPath>, PathRejection>,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Result<Response, Error> {
    let UserPath { user } = path(user)?;
    let body = body.normalized();
    check(&body)?;
    let mut tx = state.db.begin().await?;
    let found = store::get_user(&mut tx, &user)
        .await?
        .ok_or_else(|| not_found("user", &user))?;
    let updated = store::update_user(
        &mut tx,
        &found.id,
        body.display_name.as_deref(),
        body.status,
    )
    .await?
    .ok_or_else(|| not_found("user", &user))?;
    let change = Change::new("user.update", format!("user:{}", updated.email))
        .before(&found)?
        .after(&updated)?;
    mutation
        .commit(tx, change, StatusCode::OK, Some(&updated))
        .await
}

/// Deletes a user with their tokens, group memberships and bindings, in one
/// transaction. Refused when it would remove the last platform-wide
/// `platform-admin` binding.
#[utoipa::path(delete, path = "/v1/rbac/users/{user}", tag = "rbac", operation_id = "delete_user",
    params(UserPath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 409, description = "The user holds the last platform-wide `platform-admin` binding.", body = ErrorEnvelope)))]
pub async fn delete_user(
    State(state): State<AppState>,
    mutation: Mutation,
    user: Result<Path<UserPath>, PathRejection>,
) -> Result<Response, Error> {
    let UserPath { user } = path(user)?;
    let mut tx = state.db.begin().await?;
    let found = store::get_user(&mut tx, &user)
        .await?
        .ok_or_else(|| not_found("user", &user))?;
    let subject = Subject {
        kind: SubjectKind::User,
        id: found.id.clone(),
    };
    let removed = store::delete_subject(&mut tx, state.db.kind(), &subject).await?;
    let change = Change::new("user.delete", format!("user:{}", found.email))
        .before(&serde_json::json!({ "user": found, "bindings": removed }))?;
    mutation
        .commit::<()>(tx, change, StatusCode::NO_CONTENT, None)
        .await
}

/// Deletes a group with its memberships and bindings (its members lose
/// what it granted them), in one transaction. Refused when it would remove
/// the last platform-wide `platform-admin` binding.
#[utoipa::path(delete, path = "/v1/rbac/groups/{group}", tag = "rbac", operation_id = "delete_group",
    params(GroupPath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such group.", body = ErrorEnvelope),
        (status = 409, description = "The group holds the last platform-wide `platform-admin` binding.", body = ErrorEnvelope)))]
pub async fn delete_group(
    State(state): State<AppState>,
    mutation: Mutation,
    group: Result<Path<GroupPath>, PathRejection>,
) -> Result<Response, Error> {
    let GroupPath { group } = path(group)?;
    let mut tx = state.db.begin().await?;
    let found = store::get_group(&mut tx, &group)
        .await?
        .ok_or_else(|| not_found("group", &group))?;
    let subject = Subject {
        kind: SubjectKind::Group,
        id: found.id.clone(),
    };
    let removed = store::delete_subject(&mut tx, state.db.kind(), &subject).await?;
    let change = Change::new("group.delete", format!("group:{}", found.name))
        .before(&serde_json::json!({ "group": found, "bindings": removed }))?;
    mutation
        .commit::<()>(tx, change, StatusCode::NO_CONTENT, None)
        .await
}

/// Lists groups by name, with their members, a page at a time.
#[utoipa::path(get, path = "/v1/rbac/groups", tag = "rbac", operation_id = "list_groups",
    params(ListAccess),
    responses(
        (status = 200, body = GroupList),
        (status = 422, description = "A bad limit, cursor or text, or an unknown parameter.", body = ErrorEnvelope)))]
pub async fn list_groups(
    State(state): State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<GroupList>, Error> {
    let page = access_page(query.as_deref())?;
    let mut conn = state.db.pool().acquire().await?;
    let (items, next_cursor) = paged(
        store::list_groups(&mut conn, &page).await?,
        page.limit,
        |g| g.name.clone(),
    );
    Ok(Json(GroupList { items, next_cursor }))
}

/// Creates an empty group.
#[utoipa::path(post, path = "/v1/rbac/groups", tag = "rbac", operation_id = "create_group",
    request_body = CreateGroup,
    responses(
        (status = 201, description = "Created.", body = Group),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 409, description = "Another group has this name.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid.", body = ErrorEnvelope)))]
pub async fn create_group(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<CreateGroup>,
) -> Result<Response, Error> {
    let body = CreateGroup {
        name: opsdeck_api::validation::normalize_name(&body.name),
        external_name: body
            .external_name
            .map(|n| opsdeck_api::validation::normalize_name(&n)),
    };
    check(&body)?;
    let group = Group {
        id: uuid::Uuid::now_v7().to_string(),
        name: body.name,
        external_name: body.external_name,
        members: Vec::new(),
        created_at: db::now(),
    };
    let mut tx = state.db.begin().await?;
    store::insert_group(&mut tx, &group).await?;
    let change = Change::new("group.create", format!("group:{}", group.name)).after(&group)?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&group))
        .await
}

/// The group and user of a membership route, and what the group's
/// bindings grant (which a new member gains).
async fn membership(
    conn: &mut sqlx::AnyConnection,
    member: MemberPath,
) -> Result<(Group, User), Error> {
    let group = store::get_group(&mut *conn, &member.group)
        .await?
        .ok_or_else(|| not_found("group", &member.group))?;
    let user = store::get_user(&mut *conn, &member.user)
        .await?
        .ok_or_else(|| not_found("user", &member.user))?;
    Ok((group, user))
}

/// Makes a user a member of a group; the caller must hold everything the
/// group's bindings grant, where they grant it.
#[utoipa::path(put, path = "/v1/rbac/groups/{group}/members/{user}", tag = "rbac", operation_id = "add_group_member",
    params(MemberPath),
    responses(
        (status = 200, description = "A member (already or now).", body = Group),
        (status = 403, description = "The group grants something the caller does not hold.", body = ErrorEnvelope),
        (status = 404, description = "No such group or user.", body = ErrorEnvelope)))]
pub async fn add_member(
    State(state): State<AppState>,
    mutation: Mutation,
    member: Result<Path<MemberPath>, PathRejection>,
) -> Result<Response, Error> {
    let member = path(member)?;
    let mut tx = state.db.begin().await?;
    let (group, user) = membership(&mut tx, member).await?;
    let subject = Subject {
        kind: SubjectKind::Group,
        id: group.id.clone(),
    };
    let granted = store::grants_of(&mut tx, &subject).await?;
    no_escalation(&mutation.principal.grants, &granted)?;
    store::set_member(&mut tx, &group.id, &user.id, true).await?;
    let before = group;
    let group = store::get_group(&mut tx, &before.id)
        .await?
        .ok_or_else(|| not_found("group", &before.id))?;
    let change = Change::new("group.add_member", format!("group:{}", group.name))
        .before(&before)?
        .after(&group)?;
    mutation
        .commit(tx, change, StatusCode::OK, Some(&group))
        .await
}

/// Removes a user from a group.
#[utoipa::path(delete, path = "/v1/rbac/groups/{group}/members/{user}", tag = "rbac", operation_id = "remove_group_member",
    params(MemberPath),
    responses(
        (status = 200, description = "Not a member (any more).", body = Group),
        (status = 404, description = "No such group or user.", body = ErrorEnvelope)))]
pub async fn remove_member(
    State(state): State<AppState>,
    mutation: Mutation,
    member: Result<Path<MemberPath>, PathRejection>,
) -> Result<Response, Error> {
    let member = path(member)?;
    let mut tx = state.db.begin().await?;
    let (group, user) = membership(&mut tx, member).await?;
    store::set_member(&mut tx, &group.id, &user.id, false).await?;
    let before = group;
    let group = store::get_group(&mut tx, &before.id)
        .await?
        .ok_or_else(|| not_found("group", &before.id))?;
    let change = Change::new("group.remove_member", format!("group:{}", group.name))
        .before(&before)?
        .after(&group)?;
    mutation
        .commit(tx, change, StatusCode::OK, Some(&group))
        .await
}

/// Lists service accounts by name.
#[utoipa::path(get, path = "/v1/rbac/service-accounts", tag = "rbac", operation_id = "list_service_accounts",
    responses((status = 200, body = ServiceAccountList)))]
pub async fn list_service_accounts(
    State(state): State<AppState>,
) -> Result<Json<ServiceAccountList>, Error> {
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(ServiceAccountList {
        items: store::list_service_accounts(&mut conn).await?,
        next_cursor: None,
    }))
}

/// Creates a service account, without bindings.
#[utoipa::path(post, path = "/v1/rbac/service-accounts", tag = "rbac", operation_id = "create_service_account",
    request_body = CreateServiceAccount,
    responses(
        (status = 201, description = "Created.", body = ServiceAccount),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 409, description = "Another service account has this name.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid.", body = ErrorEnvelope)))]
pub async fn create_service_account(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<CreateServiceAccount>,
) -> Result<Response, Error> {
    let body = CreateServiceAccount {
        name: opsdeck_api::validation::normalize_name(&body.name),
    };
    check(&body)?;
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let id = store::insert_service_account(&mut tx, &body.name, now).await?;
    let account = ServiceAccount {
        id,
        name: body.name,
        created_at: now,
    };
    let change = Change::new(
        "service_account.create",
        format!("service_account:{}", account.name),
    )
    .after(&account)?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&account))
        .await
}

/// Lists the built-in roles, then the custom ones.
#[utoipa::path(get, path = "/v1/rbac/roles", tag = "rbac", operation_id = "list_roles",
    responses((status = 200, body = RoleList)))]
pub async fn list_roles(State(state): State<AppState>) -> Result<Json<RoleList>, Error> {
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(RoleList {
        items: store::list_roles(&mut conn).await?,
        next_cursor: None,
    }))
}

/// Creates a custom role; the caller must hold each of its permissions on
/// the platform.
#[utoipa::path(post, path = "/v1/rbac/roles", tag = "rbac", operation_id = "create_role",
    request_body = CreateRole,
    responses(
        (status = 201, description = "Created.", body = Role),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 403, description = "The role grants a permission the caller does not hold on the platform.", body = ErrorEnvelope),
        (status = 409, description = "Another role has this name.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid (an unknown permission among them).", body = ErrorEnvelope)))]
pub async fn create_role(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<CreateRole>,
) -> Result<Response, Error> {
    check(&body)?;
    let mut needed = Grants::default();
    needed.add(None, body.permissions.iter().copied());
    no_escalation(&mutation.principal.grants, &needed)?;
    let mut permissions = body.permissions;
    permissions.sort();
    permissions.dedup();
    let role = Role {
        name: body.name,
        builtin: false,
        permissions,
    };
    let mut tx = state.db.begin().await?;
    store::insert_role(&mut tx, &role, db::now()).await?;
    let change = Change::new("role.create", format!("role:{}", role.name)).after(&role)?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&role))
        .await
}

/// Reads one role, built-in or custom; its `ETag` makes a later `PATCH`
/// conditional.
#[utoipa::path(get, path = "/v1/rbac/roles/{role}", tag = "rbac", operation_id = "get_role",
    params(RolePath),
    responses(
        (status = 200, body = Role, headers(("ETag" = String, description = "Send as `If-Match` with a `PATCH`."))),
        (status = 404, description = "No such role.", body = ErrorEnvelope)))]
pub async fn get_role(
    State(state): State<AppState>,
    role: Result<Path<RolePath>, PathRejection>,
) -> Result<Response, Error> {
    let RolePath { role } = path(role)?;
    let mut conn = state.db.pool().acquire().await?;
    let found = store::list_roles(&mut conn)
        .await?
        .into_iter()
        .find(|r| r.name == role)
        .ok_or_else(|| not_found("role", &role))?;
    let tag = etag::of(&found)?;
    Ok(etag::with(Json(found).into_response(), &tag))
}

/// Replaces a custom role's permissions; every subject bound to it gains
/// and loses them at once. The caller must hold each new one on the
/// platform. With `If-Match`, only if the role is still as it was read.
#[utoipa::path(patch, path = "/v1/rbac/roles/{role}", tag = "rbac", operation_id = "update_role",
    params(RolePath, ("If-Match" = Option<String>, Header, description = "The `ETag` of the role as read.")),
    request_body = UpdateRole,
    responses(
        (status = 200, description = "Changed.", body = Role, headers(("ETag" = String, description = "The role's new tag."))),
        (status = 412, description = "The role changed since it was read (`If-Match`).", body = ErrorEnvelope),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 403, description = "The role would grant a permission the caller does not hold on the platform.", body = ErrorEnvelope),
        (status = 404, description = "No such role.", body = ErrorEnvelope),
        (status = 409, description = "A built-in role.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid (an unknown permission among them).", body = ErrorEnvelope)))]
pub async fn update_role(
    State(state): State<AppState>,
    mutation: Mutation,
    role: Result<Path<RolePath>, PathRejection>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateRole>,
) -> Result<Response, Error> {
    let RolePath { role } = path(role)?;
    if role.parse::<opsdeck_api::rbac::BuiltinRole>().is_ok() {
        return Err(Error::BuiltinRoleReadOnly(role));
    }
    check(&body)?;
    let mut needed = Grants::default();
    needed.add(None, body.permissions.iter().copied());
    no_escalation(&mutation.principal.grants, &needed)?;
    let mut permissions = body.permissions;
    permissions.sort();
    permissions.dedup();
    let mut tx = state.db.begin().await?;
    let current = store::custom_role_for_update(&mut tx, state.db.kind(), &role)
        .await?
        .ok_or_else(|| not_found("role", &role))?;
    etag::check(&headers, &etag::of(&current)?)?;
    if !store::set_role_permissions(&mut tx, &role, &permissions).await? {
        return Err(not_found("role", &role));
    }
    let updated = Role {
        name: role,
        builtin: false,
        permissions,
    };
    let tag = etag::of(&updated)?;
    let change = Change::new("role.update", format!("role:{}", updated.name))
        .before(&current)?
        .after(&updated)?;
    let response = mutation
        .commit(tx, change, StatusCode::OK, Some(&updated))
        .await?;
    Ok(etag::with(response, &tag))
}

/// Deletes a custom role that nothing is bound to.
#[utoipa::path(delete, path = "/v1/rbac/roles/{role}", tag = "rbac", operation_id = "delete_role",
    params(RolePath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such role.", body = ErrorEnvelope),
        (status = 409, description = "A built-in role, or a role still bound.", body = ErrorEnvelope)))]
pub async fn delete_role(
    State(state): State<AppState>,
    mutation: Mutation,
    role: Result<Path<RolePath>, PathRejection>,
) -> Result<Response, Error> {
    let RolePath { role } = path(role)?;
    if role.parse::<opsdeck_api::rbac::BuiltinRole>().is_ok() {
        return Err(Error::BuiltinRoleReadOnly(role));
    }
    let mut tx = state.db.begin().await?;
    let permissions = store::role_permissions(&mut tx, &role).await?;
    if !store::delete_role(&mut tx, &role).await? {
        return Err(not_found("role", &role));
    }
    let change = Change::new("role.delete", format!("role:{role}")).before(&serde_json::json!({
        "name": role,
        "permissions": permissions,
    }))?;
    mutation
        .commit::<()>(tx, change, StatusCode::NO_CONTENT, None)
        .await
}

/// Whether `grants` show a binding: platform bindings to who holds
/// `permission` on the platform, a tenant's to who holds it there.
fn shows(grants: &Grants, binding: &Binding, permission: Permission) -> bool {
    match &binding.scope {
        BindingScope::Platform => grants.on_platform(permission),
        BindingScope::Tenant { tenant } => grants.on_tenant(tenant, permission),
    }
}

/// Lists the bindings the caller may see: on the platform with `rbac.read`
/// on the platform, on a tenant with `rbac.read` there.
#[utoipa::path(get, path = "/v1/rbac/bindings", tag = "rbac", operation_id = "list_bindings",
    params(ListAccess),
    responses(
        (status = 200, body = BindingList),
        (status = 422, description = "A bad limit or cursor, or an unknown parameter.", body = ErrorEnvelope)))]
pub async fn list_bindings(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<BindingList>, Error> {
    let params = crate::http::QueryParams::parse(query.as_deref(), &["limit", "cursor"])?;
    let limit = params.limit()? + 1;
    let after = params.cursor()?;
    // A tenant's administrators see its bindings, never the platform's.
    let within = match principal.grants.visible(Permission::RbacRead) {
        Visible::All => None,
        Visible::Only(ids) => Some(ids),
    };
    let mut conn = state.db.pool().acquire().await?;
    let fetched =
        store::list_bindings(&mut conn, after.as_deref(), within.as_deref(), limit).await?;
    let (items, next_cursor) = paged(fetched, limit, store::binding_key);
    Ok(Json(BindingList { items, next_cursor }))
}

/// The audit record of a change to a binding: about the binding, in its
/// tenant (whose admins then see it in their log) when it has one.
fn binding_change(action: &str, binding: &Binding) -> Change {
    let change = Change::new(action, format!("binding:{}", binding.id));
    match &binding.scope {
        BindingScope::Platform => change,
        BindingScope::Tenant { tenant } => change.tenant(tenant),
    }
}

/// Binds a role to a user, group or service account, on the platform or
/// on one tenant. The caller must hold `rbac.write` and every permission
/// of the role on that scope.
#[utoipa::path(post, path = "/v1/rbac/bindings", tag = "rbac", operation_id = "create_binding",
    request_body = CreateBinding,
    responses(
        (status = 201, description = "Created.", body = Binding),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 403, description = "The caller may not bind on this scope, or the role grants what the caller does not hold there.", body = ErrorEnvelope),
        (status = 404, description = "No such tenant (or one the caller cannot see).", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid: an unknown role or subject among them.", body = ErrorEnvelope)))]
pub async fn create_binding(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<CreateBinding>,
) -> Result<Response, Error> {
    check(&body)?;
    let grants = &mutation.principal.grants;
    let tenant = match &body.tenant {
        None => None,
        Some(named) => {
            let found = tenants::id_of(state.db.pool(), &TenantRef::parse(named))
                .await?
                .filter(|id| grants.sees_tenant(id))
                .ok_or_else(|| Error::TenantNotFound(named.clone()))?;
            Some(found)
        }
    };
    let scope = tenant.clone().map_or(Scope::Platform, Scope::Tenant);
    let may_bind = match &tenant {
        None => grants.on_platform(Permission::RbacWrite),
        Some(id) => grants.on_tenant(id, Permission::RbacWrite),
    };
    if !may_bind {
        return Err(Error::Forbidden {
            permission: Permission::RbacWrite,
            scope,
        });
    }
    let mut tx = state.db.begin().await?;
    let permissions = store::role_permissions(&mut tx, &body.role)
        .await?
        .ok_or_else(|| Error::invalid("role", format!("no role `{}`", body.role)))?;
    if !store::subject_exists(&mut tx, &body.subject).await? {
        return Err(Error::invalid(
            "subject.id",
            format!("no {} `{}`", body.subject.kind.as_str(), body.subject.id),
        ));
    }
    let mut needed = Grants::default();
    needed.add(tenant.as_deref(), permissions);
    no_escalation(grants, &needed)?;
    let now = db::now();
    let id =
        store::insert_binding(&mut tx, &body.subject, &body.role, tenant.as_deref(), now).await?;
    let binding = Binding {
        id,
        subject: body.subject,
        role: body.role,
        scope: match tenant {
            None => BindingScope::Platform,
            Some(tenant) => BindingScope::Tenant { tenant },
        },
        created_at: now,
    };
    let change = binding_change("binding.create", &binding).after(&binding)?;
    mutation
        .commit(tx, change, StatusCode::CREATED, Some(&binding))
        .await
}

/// Removes a binding; the caller must hold `rbac.write` on its scope. The
/// last platform-wide `platform-admin` binding cannot be removed.
#[utoipa::path(delete, path = "/v1/rbac/bindings/{binding}", tag = "rbac", operation_id = "delete_binding",
    params(BindingPath),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such binding (or one the caller cannot see).", body = ErrorEnvelope),
        (status = 409, description = "It is the last platform-wide `platform-admin` binding.", body = ErrorEnvelope)))]
pub async fn delete_binding(
    State(state): State<AppState>,
    mutation: Mutation,
    binding: Result<Path<BindingPath>, PathRejection>,
) -> Result<Response, Error> {
    let BindingPath { binding } = path(binding)?;
    let grants = &mutation.principal.grants;
    let mut tx = state.db.begin().await?;
    let found = store::get_binding(&mut tx, &binding)
        .await?
        .filter(|b| {
            shows(grants, b, Permission::RbacRead) || shows(grants, b, Permission::RbacWrite)
        })
        .ok_or_else(|| not_found("binding", &binding))?;
    if !shows(grants, &found, Permission::RbacWrite) {
        let scope = match &found.scope {
            BindingScope::Platform => Scope::Platform,
            BindingScope::Tenant { tenant } => Scope::Tenant(tenant.clone()),
        };
        return Err(Error::Forbidden {
            permission: Permission::RbacWrite,
            scope,
        });
    }
    let change = binding_change("binding.delete", &found).before(&found)?;
    store::delete_binding(&mut tx, state.db.kind(), &found).await?;
    mutation
        .commit::<()>(tx, change, StatusCode::NO_CONTENT, None)
        .await
}

/// Lists every token, newest first, without secrets.
#[utoipa::path(get, path = "/v1/rbac/tokens", tag = "rbac", operation_id = "list_tokens",
    responses((status = 200, body = TokenList)))]
pub async fn list_tokens(State(state): State<AppState>) -> Result<Json<TokenList>, Error> {
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(TokenList {
        items: store::list_tokens(&mut conn).await?,
        next_cursor: None,
    }))
}

/// Mints a token for a user or service account; the answer holds its
/// secret, the only time it is shown. The caller must hold everything the
/// owner holds, where the owner holds it.
#[utoipa::path(post, path = "/v1/rbac/tokens", tag = "rbac", operation_id = "create_token",
    request_body = CreateToken,
    responses(
        (status = 201, description = "Created; `secret` is the bearer token.", body = CreatedToken),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 403, description = "The owner holds a permission the caller does not.", body = ErrorEnvelope),
        (status = 409, description = "Another token has this name.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "A field is missing, unknown or invalid: an unknown owner, or an expiry in the past, among them.", body = ErrorEnvelope)))]
pub async fn create_token(
    State(state): State<AppState>,
    mutation: Mutation,
    JsonBody(body): JsonBody<CreateToken>,
) -> Result<Response, Error> {
    let body = CreateToken {
        name: opsdeck_api::validation::normalize_name(&body.name),
        ..body
    };
    check(&body)?;
    let now = db::now();
    if body.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::invalid("expires_at", "must be in the future"));
    }
    let mut tx = state.db.begin().await?;
    if !store::subject_exists(&mut tx, &body.owner).await? {
        return Err(Error::invalid(
            "owner.id",
            format!("no {} `{}`", body.owner.kind.as_str(), body.owner.id),
        ));
    }
    let owner_grants = store::grants_of(&mut tx, &body.owner).await?;
    no_escalation(&mutation.principal.grants, &owner_grants)?;
    let (id, secret) = auth::mint(&mut tx, &body.name, &body.owner, body.expires_at, now).await?;
    let created = CreatedToken {
        token: Token {
            id,
            name: body.name,
            owner: body.owner,
            created_at: now,
            expires_at: body.expires_at,
            revoked_at: None,
        },
        secret,
    };
    let change = Change::new("token.create", format!("token:{}", created.token.name))
        .after(&created.token)?;
    // The secret is not kept for a replay: an idempotent retry answers the
    // token without it (`secret` empty) rather than store it.
    let mut recorded = created.clone();
    recorded.secret = String::new();
    let response = mutation
        .commit(tx, change, StatusCode::CREATED, Some(&recorded))
        .await?;
    let (parts, _) = response.into_parts();
    let body = serde_json::to_vec(&created)?;
    Ok(Response::from_parts(parts, axum::body::Body::from(body)))
}

/// Revokes a token: from now on it is refused (401). Revoking it again
/// changes nothing.
#[utoipa::path(post, path = "/v1/rbac/tokens/{token}/revoke", tag = "rbac", operation_id = "revoke_token",
    params(TokenPath),
    responses(
        (status = 200, description = "Revoked (now or before).", body = Token),
        (status = 404, description = "No such token.", body = ErrorEnvelope)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    mutation: Mutation,
    token: Result<Path<TokenPath>, PathRejection>,
) -> Result<Response, Error> {
    let TokenPath { token } = path(token)?;
    let mut tx = state.db.begin().await?;
    let found = store::find_token(&mut tx, &token)
        .await?
        .ok_or_else(|| not_found("token", &token))?;
    let revoked = store::revoke_token(&mut tx, &found.id, db::now())
        .await?
        .ok_or_else(|| not_found("token", &token))?;
    let change = Change::new("token.revoke", format!("token:{}", revoked.name))
        .before(&found)?
        .after(&revoked)?;
    mutation
        .commit(tx, change, StatusCode::OK, Some(&revoked))
        .await
}

/// The tenant a query names, as an id: 404 when it does not exist or the
/// caller holds nothing there, 403 when it may not read access there.
async fn readable_tenant(state: &AppState, grants: &Grants, named: &str) -> Result<String, Error> {
    let id = tenants::id_of(state.db.pool(), &TenantRef::parse(named))
        .await?
        .filter(|id| grants.sees_tenant(id))
        .ok_or_else(|| Error::TenantNotFound(named.to_string()))?;
    if grants.on_tenant(&id, Permission::RbacRead) {
        Ok(id)
    } else {
        Err(Error::Forbidden {
            permission: Permission::RbacRead,
            scope: Scope::Tenant(named.to_string()),
        })
    }
}

/// The query of `who_can`, for its OpenAPI parameters; the handler reads
/// the query itself, refusing unknown parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct WhoCanQuery {
    /// The permission asked about, e.g. `tenants.write`.
    #[param(value_type = Permission)]
    permission: String,
    /// A tenant (id or slug): who holds the permission there, through the
    /// platform or the tenant. Absent: who holds it anywhere, which needs
    /// `rbac.read` on the platform.
    tenant: Option<String>,
}

/// Lists the users and service accounts that hold a permission, each with
/// every path that grants it (its own binding, or a group's it is a member
/// of, to a role granting the permission, on the platform or the tenant).
#[utoipa::path(get, path = "/v1/rbac/who-can", tag = "rbac", operation_id = "who_can",
    params(WhoCanQuery),
    responses(
        (status = 200, body = WhoCan),
        (status = 404, description = "No such tenant (or one the caller cannot see).", body = ErrorEnvelope),
        (status = 422, description = "A missing, unknown or bad query parameter: an unknown permission among them.", body = ErrorEnvelope)))]
pub async fn who_can(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<WhoCan>, Error> {
    let params = crate::http::QueryParams::parse(query.as_deref(), &["permission", "tenant"])?;
    let permission: Permission = params
        .get("permission")
        .ok_or_else(|| Error::invalid("permission", "is required"))?
        .parse()
        .map_err(|message: String| Error::invalid("permission", message))?;
    let grants = &principal.grants;
    let tenant = match params.get("tenant") {
        Some(named) => Some(readable_tenant(&state, grants, named).await?),
        None if grants.on_platform(Permission::RbacRead) => None,
        None => {
            return Err(Error::Forbidden {
                permission: Permission::RbacRead,
                scope: Scope::Platform,
            })
        }
    };
    let mut conn = state.db.pool().acquire().await?;
    let roles = store::roles_granting(&mut conn, permission).await?;
    let found = store::grants_of_roles(&mut conn, &roles, tenant.as_deref()).await?;
    let mut holders: Vec<Holder> = Vec::new();
    for grant in found {
        let (subject, group) = match (grant.binding.subject.kind, grant.member) {
            (SubjectKind::Group, Some(member)) => (
                Subject {
                    kind: SubjectKind::User,
                    id: member,
                },
                Some(grant.binding.subject.id.clone()),
            ),
            // A group without members reaches no one.
            (SubjectKind::Group, None) => continue,
            _ => (grant.binding.subject.clone(), None),
        };
        let path = GrantPath {
            group,
            binding: grant.binding.id,
            role: grant.binding.role,
            scope: grant.binding.scope,
        };
        match holders.iter_mut().find(|h| h.subject == subject) {
            Some(holder) => holder.paths.push(path),
            None => {
                let name = store::subject_name(&mut conn, &subject)
                    .await?
                    .unwrap_or_else(|| subject.id.clone());
                holders.push(Holder {
                    subject,
                    name,
                    paths: vec![path],
                });
            }
        }
    }
    holders.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(WhoCan {
        permission,
        tenant,
        holders,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SubjectPath {
    /// A user, group or service account: its id, or a user's email, or a
    /// group's or service account's name.
    subject: String,
}

/// Lists what a subject holds: on the platform, and on each tenant where
/// it holds more. A caller without `rbac.read` on the platform sees only
/// the tenants it holds `rbac.read` on, and nothing of the platform's.
#[utoipa::path(get, path = "/v1/rbac/subjects/{subject}/effective", tag = "rbac", operation_id = "effective_permissions",
    params(SubjectPath),
    responses(
        (status = 200, body = Effective),
        (status = 404, description = "No such subject.", body = ErrorEnvelope)))]
pub async fn effective(
    State(state): State<AppState>,
    principal: Principal,
    subject: Result<Path<SubjectPath>, PathRejection>,
) -> Result<Json<Effective>, Error> {
    let SubjectPath { subject } = path(subject)?;
    let mut conn = state.db.pool().acquire().await?;
    let found = store::find_subject(&mut conn, &subject)
        .await?
        .ok_or_else(|| not_found("subject", &subject))?;
    let held = store::grants_of(&mut conn, &found).await?;
    let caller = &principal.grants;
    let whole = caller.on_platform(Permission::RbacRead);
    let ids: Vec<String> = held
        .tenant_ids()
        .filter(|id| whole || caller.on_tenant(id, Permission::RbacRead))
        .map(str::to_string)
        .collect();
    let slugs = tenants::slugs_by_id(state.db.pool(), &ids).await?;
    let mut per_tenant: Vec<TenantPermissions> = slugs
        .into_iter()
        .map(|(id, slug)| TenantPermissions {
            permissions: held.tenant(&id).into_iter().collect(),
            tenant: id,
            slug,
        })
        .collect();
    per_tenant.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(Json(Effective {
        subject: found,
        platform: if whole {
            held.platform().iter().copied().collect()
        } else {
            Vec::new()
        },
        tenants: per_tenant,
    }))
}

/// Whom the request's token acts for, and what it holds: on the platform,
/// and on each tenant where it holds more. Any valid token may ask, so a
/// console can check what its own token may do before it tries.
#[utoipa::path(get, path = "/v1/rbac/me", tag = "rbac", operation_id = "me",
    responses((status = 200, body = Me)))]
pub async fn me(State(state): State<AppState>, principal: Principal) -> Result<Json<Me>, Error> {
    let held = &principal.grants;
    let ids: Vec<String> = held.tenant_ids().map(str::to_string).collect();
    let slugs = tenants::slugs_by_id(state.db.pool(), &ids).await?;
    let mut per_tenant: Vec<TenantPermissions> = slugs
        .into_iter()
        .map(|(id, slug)| TenantPermissions {
            permissions: held.tenant(&id).into_iter().collect(),
            tenant: id,
            slug,
        })
        .collect();
    per_tenant.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(Json(Me {
        subject: principal.owner.clone(),
        name: principal.name.clone(),
        token: principal.token_id.clone(),
        platform: held.platform().iter().copied().collect(),
        tenants: per_tenant,
    }))
}
