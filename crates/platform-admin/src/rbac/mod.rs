//! Access control on the server: what a token's owner holds (`Grants`),
//! resolved from its bindings (user → groups → bindings → roles →
//! permissions, per scope) by `store`, and checked by the authentication
//! layer (`auth`) against what each route declared (`access`).

pub mod routes;
pub mod store;

use std::collections::{BTreeMap, BTreeSet};

use crate::roles::Permission;

/// Every permission a subject holds, on the platform and per tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    platform: BTreeSet<Permission>,
    /// What is held on each tenant beyond the platform, by tenant id.
    tenants: BTreeMap<String, BTreeSet<Permission>>,
}

/// The tenants a list may show a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible {
    /// Held on the platform: every tenant.
    All,
    /// Only these tenants, by id.
    Only(Vec<String>),
}

impl Grants {
    /// Adds what a binding grants: on the platform (`tenant` None) or on one tenant.
    pub fn add(&mut self, tenant: Option<&str>, permissions: impl IntoIterator<Item = Permission>) {
        match tenant {
            None => self.platform.extend(permissions),
            Some(id) => self
                .tenants
                .entry(id.to_string())
                .or_default()
                .extend(permissions),
        }
    }

    pub fn on_platform(&self, permission: Permission) -> bool {
        self.platform.contains(&permission)
    }

    /// Held on the tenant, directly or through the platform.
    pub fn on_tenant(&self, tenant_id: &str, permission: Permission) -> bool {
        self.on_platform(permission)
            || self
                .tenants
                .get(tenant_id)
                .is_some_and(|t| t.contains(&permission))
    }

    /// Whether the subject may know the tenant exists: it holds something
    /// there (or on the platform). A tenant it cannot see is answered
    /// exactly like one that does not exist.
    pub fn sees_tenant(&self, tenant_id: &str) -> bool {
        !self.platform.is_empty() || self.tenants.get(tenant_id).is_some_and(|t| !t.is_empty())
    }

    /// Held on the platform or on at least one tenant.
    pub fn anywhere(&self, permission: Permission) -> bool {
        self.on_platform(permission) || self.tenants.values().any(|t| t.contains(&permission))
    }

    /// The tenants whose records a list of `permission` may show.
    pub fn visible(&self, permission: Permission) -> Visible {
        if self.on_platform(permission) {
            return Visible::All;
        }
        Visible::Only(
            self.tenants
                .iter()
                .filter(|(_, t)| t.contains(&permission))
                .map(|(id, _)| id.clone())
                .collect(),
        )
    }

    /// The first permission of `needed` these grants lack on the scope
    /// `needed` holds it on: what a caller may not hand on.
    pub fn first_missing(&self, needed: &Grants) -> Option<(Permission, Option<String>)> {
        if let Some(p) = needed.platform.iter().find(|p| !self.on_platform(**p)) {
            return Some((*p, None));
        }
        needed.tenants.iter().find_map(|(id, permissions)| {
            permissions
                .iter()
                .find(|p| !self.on_tenant(id, **p))
                .map(|p| (*p, Some(id.clone())))
        })
    }

    /// The tenants something is held on beyond the platform, by id.
    pub fn tenant_ids(&self) -> impl Iterator<Item = &str> {
        self.tenants
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(id, _)| id.as_str())
    }

    /// What is held on the platform.
    pub fn platform(&self) -> &BTreeSet<Permission> {
        &self.platform
    }

    /// What is held on one tenant, the platform's included.
    pub fn tenant(&self, tenant_id: &str) -> BTreeSet<Permission> {
        let mut all = self.platform.clone();
        if let Some(t) = self.tenants.get(tenant_id) {
            all.extend(t.iter().copied());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdeck_api::rbac::BuiltinRole;

    fn tenant_admin_of_a() -> Grants {
        let mut grants = Grants::default();
        grants.add(
            Some("id-a"),
            BuiltinRole::TenantAdmin.permissions().iter().copied(),
        );
        grants
    }

    #[test]
    fn a_tenant_binding_grants_on_that_tenant_only() {
        let grants = tenant_admin_of_a();
        assert!(grants.on_tenant("id-a", Permission::TenantsWrite));
        assert!(!grants.on_tenant("id-b", Permission::TenantsRead));
        assert!(!grants.on_platform(Permission::TenantsRead));
        assert!(grants.sees_tenant("id-a"));
        assert!(!grants.sees_tenant("id-b"));
        assert_eq!(
            grants.visible(Permission::TenantsRead),
            Visible::Only(vec!["id-a".into()])
        );
        assert_eq!(
            grants.visible(Permission::TenantsDelete),
            Visible::Only(vec![])
        );
    }

    #[test]
    fn nothing_can_be_handed_on_that_is_not_held_on_its_scope() {
        let caller = tenant_admin_of_a();
        let mut on_a = Grants::default();
        on_a.add(Some("id-a"), [Permission::TenantsWrite]);
        assert_eq!(caller.first_missing(&on_a), None);
        let mut on_b = Grants::default();
        on_b.add(Some("id-b"), [Permission::TenantsWrite]);
        assert_eq!(
            caller.first_missing(&on_b),
            Some((Permission::TenantsWrite, Some("id-b".into())))
        );
        let mut on_platform = Grants::default();
        on_platform.add(None, [Permission::TenantsRead]);
        assert_eq!(
            caller.first_missing(&on_platform),
            Some((Permission::TenantsRead, None))
        );
    }

    #[test]
    fn a_platform_binding_reaches_every_tenant() {
        let mut grants = Grants::default();
        grants.add(None, BuiltinRole::Viewer.permissions().iter().copied());
        assert!(grants.on_tenant("anything", Permission::TenantsRead));
        assert!(!grants.on_tenant("anything", Permission::TenantsWrite));
        assert!(grants.sees_tenant("anything"));
        assert_eq!(grants.visible(Permission::AuditRead), Visible::All);
    }
}
