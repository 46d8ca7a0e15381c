//! The permission catalog and the built-in roles are the contract's
//! (`opsdeck_api::rbac`); what a request may do is resolved from its
//! token's bindings (`rbac`). This module keeps the two roles the bootstrap
//! command line (`platform-admin token create --role admin|viewer`) mints
//! tokens with, and the scope a permission is checked on, as messages name it.

pub use opsdeck_api::rbac::{BuiltinRole, Permission};

/// What a bootstrap token is for: a service account of the token's name,
/// bound on the platform to a built-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Bound to `platform-admin`: every permission, everywhere.
    Admin,
    /// Bound to `viewer`: every `*.read` permission, everywhere.
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

    /// The built-in role the token's service account is bound to.
    pub fn builtin(self) -> BuiltinRole {
        match self {
            Role::Admin => BuiltinRole::PlatformAdmin,
            Role::Viewer => BuiltinRole::Viewer,
        }
    }

    /// Whether a token of this role may use `permission` on `scope`: its
    /// binding is on the platform, so on every scope alike.
    pub fn allows(self, permission: Permission, _scope: &Scope) -> bool {
        self.builtin().grants(permission)
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
    fn bootstrap_roles_are_bound_to_platform_admin_and_viewer() {
        assert_eq!(Role::Admin.builtin(), BuiltinRole::PlatformAdmin);
        assert_eq!(Role::Viewer.builtin(), BuiltinRole::Viewer);
        for permission in Permission::ALL {
            assert!(
                Role::Admin.allows(permission, &Scope::Platform),
                "{permission}"
            );
            assert_eq!(
                Role::Viewer.allows(permission, &Scope::Tenant("acme".into())),
                permission.is_read(),
                "{permission}"
            );
        }
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("owner".parse::<Role>().is_err());
    }
}
