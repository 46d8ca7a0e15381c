//! Tenant commands.

use opsdeck_api::tenants::{CreateTenant, Tenant, UpdateTenant};
use opsdeck_core::{Preflight, TenantAction, TenantsView};
use tauri::State;

use super::{AppState, CmdResult};

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn tenants_list(
    state: State<'_, AppState>,
    profile: Option<String>,
) -> CmdResult<TenantsView> {
    Ok(state.console()?.tenants_list(profile.as_deref()).await?)
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err(Debug))]
pub async fn tenant_create(
    state: State<'_, AppState>,
    profile: Option<String>,
    body: CreateTenant,
    idempotency_key: String,
) -> CmdResult<Tenant> {
    Ok(state
        .console()?
        .tenant_create(profile.as_deref(), &body, Some(&idempotency_key))
        .await?)
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
) -> CmdResult<Tenant> {
    Ok(state
        .console()?
        .tenant_update(
            profile.as_deref(),
            &tenant,
            &body,
            confirmation.as_deref(),
            Some(&idempotency_key),
        )
        .await?)
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
    Ok(state
        .console()?
        .tenant_update_preflight(profile.as_deref(), &tenant, &body)
        .await?)
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
    Ok(state
        .console()?
        .tenant_preflight(profile.as_deref(), action, &tenant)
        .await?)
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
) -> CmdResult<Option<Tenant>> {
    Ok(state
        .console()?
        .tenant_action(
            profile.as_deref(),
            action,
            &tenant,
            confirmation.as_deref(),
            Some(&idempotency_key),
        )
        .await?)
}
