//! What a token may do: the catalog of permissions (stable names, the same
//! in the OpenAPI document, in 403 envelopes and, later, in stored custom
//! roles), the scopes a permission is checked on, and what each role grants
//! on a scope. Which route needs which permission is declared on the route
//! (`access`).
//!
//! Two fixed roles today, both platform-wide. Custom roles and bindings of a
//! role to one tenant arrive as new rows behind `Role::grants`, which is why
//! it already takes the scope.

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Every permission, everywhere.
    Admin,
    /// Every `*.read` permission, everywhere.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Admin, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// The permissions this role grants on `scope`.
    pub fn grants(self, _scope: &Scope) -> Vec<Permission> {
        // Both roles are bound to the whole platform, so the scope narrows
        // nothing yet; a binding to one tenant will.
        match self {
            Role::Admin => Permission::ALL.to_vec(),
            Role::Viewer => Permission::ALL
                .into_iter()
                .filter(|p| p.is_read())
                .collect(),
        }
    }

    pub fn allows(self, permission: Permission, scope: &Scope) -> bool {
        self.grants(scope).contains(&permission)
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}` (expected admin or viewer)"))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a request may need its token to be allowed. The names
/// (`as_str`) are part of the API: they appear in the OpenAPI document
/// (`x-permission`) and in 403 envelopes, and will be stored in custom
/// roles, so a name never changes once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// List and read tenants.
    TenantsRead,
    /// Create, change, suspend and resume tenants.
    TenantsWrite,
    /// Delete tenants.
    TenantsDelete,
    /// Read the audit log.
    AuditRead,
}

impl Permission {
    pub const ALL: [Permission; 4] = [
        Permission::TenantsRead,
        Permission::TenantsWrite,
        Permission::TenantsDelete,
        Permission::AuditRead,
    ];

    /// The stable name: `capability.verb`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::TenantsRead => "tenants.read",
            Permission::TenantsWrite => "tenants.write",
            Permission::TenantsDelete => "tenants.delete",
            Permission::AuditRead => "audit.read",
        }
    }

    /// Whether the permission only reads (`*.read`), which the viewer role grants.
    pub fn is_read(self) -> bool {
        self.as_str().ends_with(".read")
    }
}

impl std::str::FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown permission `{s}`"))
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a permission is checked: on the whole platform, or on one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Platform,
    /// The tenant as the request names it (id or slug).
    Tenant(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Platform => f.write_str("the platform"),
            Scope::Tenant(tenant) => write!(f, "tenant `{tenant}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_has_every_read_permission_and_nothing_else() {
        for scope in [Scope::Platform, Scope::Tenant("acme".into())] {
            let granted = Role::Viewer.grants(&scope);
            assert_eq!(
                granted,
                [Permission::TenantsRead, Permission::AuditRead],
                "{scope}"
            );
            assert!(!Role::Viewer.allows(Permission::TenantsWrite, &scope));
            assert!(!Role::Viewer.allows(Permission::TenantsDelete, &scope));
        }
    }

    #[test]
    fn admin_has_every_permission_on_every_scope() {
        for scope in [Scope::Platform, Scope::Tenant("acme".into())] {
            for permission in Permission::ALL {
                assert!(Role::Admin.allows(permission, &scope), "{permission}");
            }
        }
    }

    #[test]
    fn permission_names_are_stable_and_round_trip() {
        let names: Vec<_> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "tenants.read",
                "tenants.write",
                "tenants.delete",
                "audit.read"
            ]
        );
        for permission in Permission::ALL {
            assert_eq!(permission.as_str().parse::<Permission>(), Ok(permission));
        }
        assert!("tenants.destroy".parse::<Permission>().is_err());
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("owner".parse::<Role>().is_err());
    }
}
