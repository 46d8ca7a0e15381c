//! Tenant commands: each runs on the window's open session of the profile.
//! Rows come back with what core allows on them.

use opsdeck_api::tenants::{CreateTenant, Quotas, Tenant, UpdateTenant};
use opsdeck_api::FieldError;
use opsdeck_core::{PageCursor, Preflight, TenantAction, TenantFilter, TenantRow, TenantsPage};
use tauri::State;

use super::{AppState, CmdResult};

/// One page of the tenants `filter` lets through, from where `cursor` (the
/// `next` of the page before) left off: the table asks for the next page as
/// it is scrolled near its end. Offline, core's last-seen list filtered and
/// marked stale.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn tenants_page(
    state: State<'_, AppState>,
    profile: Option<String>,
    filter: TenantFilter,
    cursor: Option<PageCursor>,
    limit: u32,
) -> CmdResult<TenantsPage> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.tenants().page(&filter, cursor.as_ref(), limit).await
        })
        .await
}

/// Every field error of a new tenant's draft, as core and the server judge
/// it: the form shows them all at once, before anything is sent.
#[tauri::command]
#[specta::specta]
pub fn tenant_check_create(body: CreateTenant) -> CmdResult<Vec<FieldError>> {
    Ok(opsdeck_core::tenants::check_create(&body))
}

/// [`tenant_check_create`] for an edit.
#[tauri::command]
#[specta::specta]
pub fn tenant_check_update(body: UpdateTenant) -> CmdResult<Vec<FieldError>> {
    Ok(opsdeck_core::tenants::check_update(&body))
}

/// The quotas `tenant` will have after `body`: the edit form shows where a
/// plan change takes them before it is saved.
#[tauri::command]
#[specta::specta]
pub fn tenant_quotas_after(tenant: Tenant, body: UpdateTenant) -> CmdResult<Quotas> {
    Ok(opsdeck_core::tenants::quotas_after(&tenant, &body))
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn tenant_create(
    state: State<'_, AppState>,
    profile: Option<String>,
    body: CreateTenant,
    idempotency_key: String,
) -> CmdResult<TenantRow> {
    state
        .with_session(profile.as_deref(), |s| async move {
            let tenants = s.tenants();
            let created = tenants.create(&body, Some(&idempotency_key)).await?;
            Ok(tenants.row(created))
        })
        .await
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn tenant_update(
    state: State<'_, AppState>,
    profile: Option<String>,
    tenant: String,
    body: UpdateTenant,
    confirmation: Option<String>,
    idempotency_key: String,
) -> CmdResult<TenantRow> {
    state
        .with_session(profile.as_deref(), |s| async move {
            let tenants = s.tenants();
            let updated = tenants
                .update(
                    &tenant,
                    &body,
                    confirmation.as_deref(),
                    Some(&idempotency_key),
                )
                .await?;
            Ok(tenants.row(updated))
        })
        .await
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn tenant_update_preflight(
    state: State<'_, AppState>,
    profile: Option<String>,
    tenant: String,
    body: UpdateTenant,
) -> CmdResult<Preflight> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.tenants().update_preflight(&tenant, &body).await
        })
        .await
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn tenant_preflight(
    state: State<'_, AppState>,
    profile: Option<String>,
    action: TenantAction,
    tenant: String,
) -> CmdResult<Preflight> {
    state
        .with_session(profile.as_deref(), |s| async move {
            s.tenants().preflight(action, &tenant).await
        })
        .await
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn tenant_action(
    state: State<'_, AppState>,
    profile: Option<String>,
    action: TenantAction,
    tenant: String,
    confirmation: Option<String>,
    idempotency_key: String,
    approval: Option<String>,
) -> CmdResult<Option<TenantRow>> {
    state
        .with_session(profile.as_deref(), |s| async move {
            let tenants = s.tenants();
            let result = tenants
                .act_approved(
                    action,
                    &tenant,
                    confirmation.as_deref(),
                    Some(&idempotency_key),
                    approval.as_deref(),
                )
                .await?;
            Ok(result.map(|t| tenants.row(t)))
        })
        .await
}
