//! Tenants as the console sees them: the live list from the server, or the
//! last one it saw, marked stale with its age, when the server is unreachable.
//! Mutations carry an idempotency key so a retry never acts twice.

use chrono::{DateTime, Utc};
use opsdeck_api::tenants::{CreateTenant, Tenant, TenantStatus, UpdateTenant};
use opsdeck_api::validation::search_text;
use serde::Serialize;
use ts_rs::TS;

use crate::console::Console;
use crate::error::Result;
use crate::profiles::Tier;
use crate::safety::{self, Preflight, TenantAction};

/// Why the list shown is not live, and how old it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Stale {
    /// The error that kept the live list away, for people.
    pub reason: String,
    #[ts(type = "number")]
    pub age_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct TenantsView {
    pub profile: String,
    pub tier: Tier,
    pub tenants: Vec<Tenant>,
    pub fetched_at: DateTime<Utc>,
    /// Set when the server was unreachable and this is the cached list.
    pub stale: Option<Stale>,
}

impl TenantsView {
    /// Keeps the tenants with `status` (if given) whose slug or name contains
    /// `search` (if given, ignoring case as the server does: `search_text`).
    pub fn retain_matching(&mut self, status: Option<TenantStatus>, search: Option<&str>) {
        let needle = search.map(search_text).filter(|n| !n.is_empty());
        self.tenants.retain(|t| {
            status.is_none_or(|s| t.status == s)
                && needle
                    .as_deref()
                    .is_none_or(|n| t.slug.contains(n) || search_text(&t.name).contains(n))
        });
    }
}

/// A fresh idempotency key, for callers that have none of their own.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Console {
    /// The live tenant list, cached; or, when the server cannot be reached,
    /// the cached one marked stale. Errors the server sends are not hidden.
    pub async fn tenants_list(&self, profile: Option<&str>) -> Result<TenantsView> {
        let (profile, client) = self.client(profile).await?;
        match client.all_tenants().await {
            Ok(tenants) => {
                let now = Utc::now();
                if let Err(e) = self.store.save_tenants(&profile.name, &tenants, now).await {
                    tracing::warn!(profile = %profile.name, error = %e, "cannot cache the tenant list");
                }
                Ok(TenantsView {
                    profile: profile.name,
                    tier: profile.tier,
                    tenants,
                    fetched_at: now,
                    stale: None,
                })
            }
            Err(e) if e.is_offline() => match self.store.load_tenants(&profile.name).await {
                Ok(Some(cached)) => Ok(TenantsView {
                    profile: profile.name,
                    tier: profile.tier,
                    tenants: cached.tenants,
                    fetched_at: cached.fetched_at,
                    stale: Some(Stale {
                        reason: e.to_string(),
                        age_seconds: (Utc::now() - cached.fetched_at).num_seconds().max(0),
                    }),
                }),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    pub async fn tenant_get(&self, profile: Option<&str>, tenant: &str) -> Result<Tenant> {
        let (_, client) = self.client(profile).await?;
        client.get_tenant(tenant).await
    }

    pub async fn tenant_create(
        &self,
        profile: Option<&str>,
        body: &CreateTenant,
        idempotency_key: Option<&str>,
    ) -> Result<Tenant> {
        // Sent as the contract normalises it: what the server judges and
        // stores is what was sent.
        let body = body.clone().normalized();
        let (profile, client) = self.client(profile).await?;
        let key = key_or_new(idempotency_key);
        let tenant = client.create_tenant(&body, &key).await?;
        self.remember(&profile.name, &tenant.slug, Some(&tenant))
            .await;
        Ok(tenant)
    }

    pub async fn tenant_update(
        &self,
        profile: Option<&str>,
        tenant: &str,
        body: &UpdateTenant,
        idempotency_key: Option<&str>,
    ) -> Result<Tenant> {
        let body = body.clone().normalized();
        let (profile, client) = self.client(profile).await?;
        let key = key_or_new(idempotency_key);
        let updated = client.update_tenant(tenant, &body, &key).await?;
        self.remember(&profile.name, &updated.slug, Some(&updated))
            .await;
        Ok(updated)
    }

    /// What `action` would do, from the tenant's current state on the server.
    pub async fn tenant_preflight(
        &self,
        profile: Option<&str>,
        action: TenantAction,
        tenant: &str,
    ) -> Result<Preflight> {
        let (profile, client) = self.client(profile).await?;
        let current = client.get_tenant(tenant).await?;
        Ok(safety::preflight(&profile, action, &current))
    }

    /// Suspends, resumes or deletes a tenant. In production a destructive
    /// action needs `confirmation` equal to the tenant's slug; core checks it,
    /// so no caller can skip it. Returns the tenant, or `None` once deleted.
    pub async fn tenant_action(
        &self,
        profile: Option<&str>,
        action: TenantAction,
        tenant: &str,
        confirmation: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Option<Tenant>> {
        let (profile, client) = self.client(profile).await?;
        let current = client.get_tenant(tenant).await?;
        let preflight = safety::preflight(&profile, action, &current);
        safety::check_confirmation(&preflight, confirmation)?;
        let key = key_or_new(idempotency_key);
        // Act on the id just read: a slug typed for one tenant must not reach
        // another that took the name in between.
        let result = match action {
            TenantAction::Suspend => Some(client.suspend_tenant(&current.id, &key).await?),
            TenantAction::Resume => Some(client.resume_tenant(&current.id, &key).await?),
            TenantAction::Delete => {
                client.delete_tenant(&current.id, &key).await?;
                None
            }
        };
        self.remember(&profile.name, &current.slug, result.as_ref())
            .await;
        Ok(result)
    }

    async fn remember(&self, profile: &str, slug: &str, tenant: Option<&Tenant>) {
        if let Err(e) = self.store.patch_tenant(profile, slug, tenant).await {
            tracing::warn!(profile, error = %e, "cannot update the cached tenant list");
        }
    }
}

fn key_or_new(key: Option<&str>) -> String {
    key.filter(|k| !k.trim().is_empty())
        .map(str::to_owned)
        .unwrap_or_else(new_idempotency_key)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::client::{RetryPolicy, Timeouts};
    use crate::paths::Paths;
    use crate::secrets::{MemorySecrets, Token};
    use opsdeck_api::tenants::Plan;

    /// A loopback port with nothing listening on it.
    fn dead_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    }

    async fn console(dir: &std::path::Path) -> Console {
        let fast = RetryPolicy {
            attempts: 2,
            base: std::time::Duration::from_millis(1),
            cap: std::time::Duration::from_millis(2),
        };
        Console::open(Paths::under(dir), Arc::new(MemorySecrets::default()))
            .await
            .expect("console")
            .with_network(Timeouts::default(), fast)
    }

    fn tenant(slug: &str) -> Tenant {
        let now = Utc::now();
        Tenant {
            id: format!("id-{slug}"),
            slug: slug.into(),
            name: slug.to_uppercase(),
            plan: Plan::Free,
            status: TenantStatus::Active,
            quotas: Plan::Free.default_quotas(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn filtering_matches_status_and_slug_or_name_ignoring_case() {
        let mut suspended = tenant("globex");
        suspended.status = TenantStatus::Suspended;
        let mut view = TenantsView {
            profile: "p".into(),
            tier: Tier::Dev,
            tenants: vec![tenant("acme"), suspended, tenant("initech")],
            fetched_at: Utc::now(),
            stale: None,
        };
        let mut by_name = view.clone();
        by_name.retain_matching(None, Some("GLOB"));
        assert_eq!(by_name.tenants.len(), 1);
        view.retain_matching(Some(TenantStatus::Active), Some("c"));
        let slugs: Vec<_> = view.tenants.iter().map(|t| t.slug.as_str()).collect();
        assert_eq!(slugs, ["acme", "initech"]);
    }

    #[test]
    fn filtering_ignores_case_beyond_ascii_as_the_server_does() {
        let mut acme = tenant("acme");
        acme.name = "\u{00E4}cme".into();
        let mut view = TenantsView {
            profile: "p".into(),
            tier: Tier::Dev,
            tenants: vec![acme, tenant("globex")],
            fetched_at: Utc::now(),
            stale: None,
        };
        view.retain_matching(None, Some("A\u{0308}CME"));
        assert_eq!(view.tenants.len(), 1);
    }

    #[tokio::test]
    async fn unreachable_server_without_cache_is_an_offline_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let token = Token::new("t").expect("token");
        console
            .profile_add("p", Tier::Dev, &dead_url(), Some(token), true)
            .await
            .expect("add");
        let err = console.tenants_list(None).await.expect_err("offline");
        assert_eq!(err.code(), "unreachable");
    }

    #[tokio::test]
    async fn unreachable_server_shows_the_cached_list_marked_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let token = Token::new("t").expect("token");
        console
            .profile_add("p", Tier::Prod, &dead_url(), Some(token), true)
            .await
            .expect("add");
        let fetched = Utc::now() - chrono::Duration::minutes(5);
        console
            .store
            .save_tenants("p", &[tenant("acme"), tenant("globex")], fetched)
            .await
            .expect("seed cache");
        let view = console.tenants_list(Some("p")).await.expect("stale view");
        let stale = view.stale.expect("marked stale");
        assert!(stale.age_seconds >= 299, "{}", stale.age_seconds);
        assert!(stale.reason.contains("cannot reach"), "{}", stale.reason);
        assert_eq!(view.tenants.len(), 2);
        assert_eq!(view.tier, Tier::Prod);
    }

    #[tokio::test]
    async fn profile_without_token_says_how_to_log_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        console
            .profile_add("p", Tier::Dev, &dead_url(), None, true)
            .await
            .expect("add");
        let err = console.tenants_list(None).await.expect_err("no token");
        assert!(
            err.to_string().contains("opsdeck login p --token-stdin"),
            "{err}"
        );
        let list = console.profile_list().await.expect("list");
        assert!(!list.profiles[0].has_token);
    }

    #[tokio::test]
    async fn removing_a_profile_forgets_token_and_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let url = dead_url();
        let token = Token::new("t").expect("token");
        console
            .profile_add("p", Tier::Dev, &url, Some(token), true)
            .await
            .expect("add");
        console
            .store
            .save_tenants("p", &[tenant("acme")], Utc::now())
            .await
            .expect("cache");
        console.profile_remove("p").await.expect("remove");
        assert!(console
            .store
            .load_tenants("p")
            .await
            .expect("load")
            .is_none());
        console
            .profile_add("p", Tier::Dev, &url, None, true)
            .await
            .expect("re-add");
        assert!(!console.profile_list().await.expect("list").profiles[0].has_token);
    }
}
