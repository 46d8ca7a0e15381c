//! Access commands: users, groups, roles and bindings as listed; what the
//! profile's token holds (`me`); the subjects × permissions matrix of a
//! scope; and the role and binding changes, each with core's preview of
//! who gains and who loses what before it is applied.

use opsdeck_api::rbac::{Binding, Group, Me, Permission, Role, User};
use opsdeck_core::rbac::{AccessDiff, BindingRow, NewBinding, SubjectRef, WhoCanView};
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
