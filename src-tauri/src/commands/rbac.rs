//! Access commands: users, groups, roles and bindings as listed; what the
//! profile's token holds (`me`); the subjects × permissions matrix of a
//! scope; users and groups created, edited and deleted (what a removal
//! must have typed is core's typed preflight); and the role and binding
//! changes, each with core's preview of who gains and who loses what
//! before it is applied.

use opsdeck_api::rbac::{
    Binding, CreateGroup, CreateUser, Group, Me, Permission, Role, UpdateUser, User,
};
use opsdeck_core::rbac::{AccessDiff, BindingRow, NewBinding, SubjectRef, WhoCanView};
use opsdeck_core::safety::TypedPreflight;
use tauri::State;

use super::{AppState, CmdResult};

/// Whom the profile's token acts for and what it holds, platform and per tenant.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_me(state: State<'_, AppState>, profile: Option<String>) -> CmdResult<Me> {
    state
        .with_session(profile.as_deref(), |s| async move { s.rbac().me().await })
        .await
}

/// Every user, by email.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_users(
    state: State<'_, AppState>,
    profile: Option<String>,
) -> CmdResult<Vec<User>> {
    state
        .with_session(
            profile.as_deref(),
            |s| async move { s.rbac().users().await },
        )
        .await
}

/// Every group with its members' ids.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_groups(
    state: State<'_, AppState>,
    profile: Option<String>,
) -> CmdResult<Vec<Group>> {
    state
        .with_session(
            profile.as_deref(),
            |s| async move { s.rbac().groups().await },
        )
        .await
}

/// The built-in roles, then the custom ones, with what each grants.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_roles(
    state: State<'_, AppState>,
    profile: Option<String>,
) -> CmdResult<Vec<Role>> {
    state
        .with_session(
            profile.as_deref(),
            |s| async move { s.rbac().roles().await },
        )
        .await
}

/// The bindings, subjects spelled and tenants by slug.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_bindings(
    state: State<'_, AppState>,
    profile: Option<String>,
) -> CmdResult<Vec<BindingRow>> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().binding_rows().await
        })
        .await
}

/// Who holds each permission of the catalog on `tenant` (id or slug), or
/// anywhere without one, with every grant path.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_matrix(
    state: State<'_, AppState>,
    profile: Option<String>,
    tenant: Option<String>,
) -> CmdResult<Vec<WhoCanView>> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().matrix(tenant.as_deref()).await
        })
        .await
}

/// What giving the custom role these permissions would change; nothing is applied.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_role_preview(
    state: State<'_, AppState>,
    profile: Option<String>,
    role: String,
    permissions: Vec<Permission>,
) -> CmdResult<AccessDiff> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().preview_update_role(&role, &permissions).await
        })
        .await
}

/// Replaces the custom role's permissions.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_role_update(
    state: State<'_, AppState>,
    profile: Option<String>,
    role: String,
    permissions: Vec<Permission>,
) -> CmdResult<Role> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().update_role(&role, &permissions, None).await
        })
        .await
}

fn new_binding(subject: &str, role: String, tenant: Option<String>) -> CmdResult<NewBinding> {
    Ok(NewBinding {
        subject: SubjectRef::parse("subject", subject)?,
        role,
        tenant: tenant.filter(|t| !t.trim().is_empty()),
    })
}

/// What binding `role` to `subject` (`user:<email>`, `group:<name>`,
/// `service:<name>`) on `tenant` or the platform would change.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_binding_preview_create(
    state: State<'_, AppState>,
    profile: Option<String>,
    subject: String,
    role: String,
    tenant: Option<String>,
) -> CmdResult<AccessDiff> {
    let new = new_binding(&subject, role, tenant)?;
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().preview_create_binding(&new).await
        })
        .await
}

/// Binds `role` to `subject` on `tenant` or the platform.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_binding_create(
    state: State<'_, AppState>,
    profile: Option<String>,
    subject: String,
    role: String,
    tenant: Option<String>,
) -> CmdResult<Binding> {
    let new = new_binding(&subject, role, tenant)?;
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().create_binding(&new, None).await
        })
        .await
}

/// What removing the binding would change.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_binding_preview_delete(
    state: State<'_, AppState>,
    profile: Option<String>,
    binding: String,
) -> CmdResult<AccessDiff> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().preview_delete_binding(&binding).await
        })
        .await
}

/// Removes the binding; on production, with its id typed as `confirmation`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_binding_delete(
    state: State<'_, AppState>,
    profile: Option<String>,
    binding: String,
    confirmation: Option<String>,
) -> CmdResult<()> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac()
                .delete_binding(&binding, confirmation.as_deref(), None)
                .await
        })
        .await
}

/// The users whose email contains `text`: the server looks.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_users_matching(
    state: State<'_, AppState>,
    profile: Option<String>,
    text: String,
) -> CmdResult<Vec<User>> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().users_matching(&text).await
        })
        .await
}

/// Creates a user; every field error of the draft comes back at once.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_user_create(
    state: State<'_, AppState>,
    profile: Option<String>,
    body: CreateUser,
    idempotency_key: String,
) -> CmdResult<User> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().create_user(&body, Some(&idempotency_key)).await
        })
        .await
}

/// Changes a user's display name or status (a disabled user's tokens are refused).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_user_update(
    state: State<'_, AppState>,
    profile: Option<String>,
    user: String,
    body: UpdateUser,
    idempotency_key: String,
) -> CmdResult<User> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac()
                .update_user(&user, &body, Some(&idempotency_key))
                .await
        })
        .await
}

/// What deleting the user does, and what must be typed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_user_delete_confirmation(
    state: State<'_, AppState>,
    profile: Option<String>,
    user: String,
) -> CmdResult<TypedPreflight> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().delete_user_confirmation(&user)
        })
        .await
}

/// Deletes the user; on production, with the email typed as `confirmation`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_user_delete(
    state: State<'_, AppState>,
    profile: Option<String>,
    user: String,
    confirmation: Option<String>,
    idempotency_key: String,
) -> CmdResult<()> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac()
                .delete_user(&user, confirmation.as_deref(), Some(&idempotency_key))
                .await
        })
        .await
}

/// Creates a group, optionally mapped to a directory group by name.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_group_create(
    state: State<'_, AppState>,
    profile: Option<String>,
    body: CreateGroup,
    idempotency_key: String,
) -> CmdResult<Group> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().create_group(&body, Some(&idempotency_key)).await
        })
        .await
}

/// Makes `user` (email or id) a member of `group` (name or id).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_group_add_member(
    state: State<'_, AppState>,
    profile: Option<String>,
    group: String,
    user: String,
    idempotency_key: String,
) -> CmdResult<Group> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac()
                .add_member(&group, &user, Some(&idempotency_key))
                .await
        })
        .await
}

/// What taking `user` out of `group` does, and what must be typed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_group_remove_member_confirmation(
    state: State<'_, AppState>,
    profile: Option<String>,
    group: String,
    user: String,
) -> CmdResult<TypedPreflight> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().remove_member_confirmation(&group, &user)
        })
        .await
}

/// Takes `user` out of `group`; on production, with the email typed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_group_remove_member(
    state: State<'_, AppState>,
    profile: Option<String>,
    group: String,
    user: String,
    confirmation: Option<String>,
    idempotency_key: String,
) -> CmdResult<Group> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac()
                .remove_member(
                    &group,
                    &user,
                    confirmation.as_deref(),
                    Some(&idempotency_key),
                )
                .await
        })
        .await
}

/// What deleting the group does, and what must be typed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_group_delete_confirmation(
    state: State<'_, AppState>,
    profile: Option<String>,
    group: String,
) -> CmdResult<TypedPreflight> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac().delete_group_confirmation(&group)
        })
        .await
}

/// Deletes the group; on production, with its name typed as `confirmation`.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn rbac_group_delete(
    state: State<'_, AppState>,
    profile: Option<String>,
    group: String,
    confirmation: Option<String>,
    idempotency_key: String,
) -> CmdResult<()> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.rbac()
                .delete_group(&group, confirmation.as_deref(), Some(&idempotency_key))
                .await
        })
        .await
}
