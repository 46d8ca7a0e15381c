//! Access control: the permission catalog, the built-in roles and what each
//! grants, and the subjects (users, groups, service accounts) that bindings
//! give roles to, on the whole platform or on one tenant.
//!
//! The permission names and built-in role names are part of the API: they
//! appear in the OpenAPI document (`x-permission`), in 403 envelopes and in
//! stored bindings and custom roles, so a name never changes once released.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::validation::{self, Validate};
use crate::FieldError;

/// One thing a request may need its caller to be allowed, named
/// `capability.verb`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    specta::Type,
)]
pub enum Permission {
    /// List and read tenants.
    #[serde(rename = "tenants.read")]
    TenantsRead,
    /// Create, change, suspend and resume tenants.
    #[serde(rename = "tenants.write")]
    TenantsWrite,
    /// Delete tenants.
    #[serde(rename = "tenants.delete")]
    TenantsDelete,
    /// Read users, groups, roles, bindings and tokens.
    #[serde(rename = "rbac.read")]
    RbacRead,
    /// Change users, groups, roles, bindings and tokens.
    #[serde(rename = "rbac.write")]
    RbacWrite,
    /// Read the audit log.
    #[serde(rename = "audit.read")]
    AuditRead,
    /// List backups.
    #[serde(rename = "backups.read")]
    BackupsRead,
    /// Take a backup.
    #[serde(rename = "backups.run")]
    BackupsRun,
    /// Restore a backup over live data.
    #[serde(rename = "backups.restore")]
    BackupsRestore,
    /// Read clusters and their health.
    #[serde(rename = "clusters.read")]
    ClustersRead,
    /// Fail a cluster over to its replica.
    #[serde(rename = "clusters.failover")]
    ClustersFailover,
    /// Read alerts.
    #[serde(rename = "alerts.read")]
    AlertsRead,
    /// Silence alerts.
    #[serde(rename = "alerts.silence")]
    AlertsSilence,
    /// Read playbook runs: their steps, events and approvals.
    #[serde(rename = "playbooks.read")]
    PlaybooksRead,
    /// Run playbooks.
    #[serde(rename = "playbooks.run")]
    PlaybooksRun,
    /// Read incidents, their timelines and targets.
    #[serde(rename = "incidents.read")]
    IncidentsRead,
    /// Open, update and close incidents.
    #[serde(rename = "incidents.write")]
    IncidentsWrite,
    /// See requests for a second person's approval; granting one also needs
    /// the role the server's two-person rule names.
    #[serde(rename = "approvals.read")]
    ApprovalsRead,
}

impl Permission {
    /// The catalog, in the order it is shown.
    pub const ALL: [Permission; 18] = [
        Permission::TenantsRead,
        Permission::TenantsWrite,
        Permission::TenantsDelete,
        Permission::RbacRead,
        Permission::RbacWrite,
        Permission::AuditRead,
        Permission::BackupsRead,
        Permission::BackupsRun,
        Permission::BackupsRestore,
        Permission::ClustersRead,
        Permission::ClustersFailover,
        Permission::AlertsRead,
        Permission::AlertsSilence,
        Permission::PlaybooksRead,
        Permission::PlaybooksRun,
        Permission::IncidentsRead,
        Permission::IncidentsWrite,
        Permission::ApprovalsRead,
    ];

    /// The stable name: `capability.verb`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::TenantsRead => "tenants.read",
            Permission::TenantsWrite => "tenants.write",
            Permission::TenantsDelete => "tenants.delete",
            Permission::RbacRead => "rbac.read",
            Permission::RbacWrite => "rbac.write",
            Permission::AuditRead => "audit.read",
            Permission::BackupsRead => "backups.read",
            Permission::BackupsRun => "backups.run",
            Permission::BackupsRestore => "backups.restore",
            Permission::ClustersRead => "clusters.read",
            Permission::ClustersFailover => "clusters.failover",
            Permission::AlertsRead => "alerts.read",
            Permission::AlertsSilence => "alerts.silence",
            Permission::PlaybooksRead => "playbooks.read",
            Permission::PlaybooksRun => "playbooks.run",
            Permission::IncidentsRead => "incidents.read",
            Permission::IncidentsWrite => "incidents.write",
            Permission::ApprovalsRead => "approvals.read",
        }
    }

    /// Whether the permission only reads (`*.read`).
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

/// The roles every server has. They cannot be changed or deleted; custom
/// roles take names of their own.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(rename_all = "kebab-case")]
pub enum BuiltinRole {
    /// Everything, everywhere it is bound.
    PlatformAdmin,
    /// Runs the platform day to day: tenants, backups, clusters, alerts,
    /// playbooks and incidents, but neither access control nor deletion.
    Operator,
    /// Leads an incident: reads what it needs, silences alerts, runs
    /// playbooks, writes the incident.
    IncidentCommander,
    /// Administers the tenants it is bound to, their access included.
    TenantAdmin,
    /// Reads everything, changes nothing.
    Viewer,
}

use Permission as P;

/// What each built-in role grants, wherever it is bound. The one table of
/// it: the server resolves bindings with it and the tests are generated
/// from it.
pub const BUILTIN_ROLES: [(BuiltinRole, &[Permission]); 5] = [
    (BuiltinRole::PlatformAdmin, &Permission::ALL),
    (
        BuiltinRole::Operator,
        &[
            P::TenantsRead,
            P::TenantsWrite,
            P::AuditRead,
            P::BackupsRead,
            P::BackupsRun,
            P::BackupsRestore,
            P::ClustersRead,
            P::ClustersFailover,
            P::AlertsRead,
            P::AlertsSilence,
            P::PlaybooksRead,
            P::PlaybooksRun,
            P::IncidentsRead,
            P::IncidentsWrite,
            P::ApprovalsRead,
        ],
    ),
    (
        BuiltinRole::IncidentCommander,
        &[
            P::TenantsRead,
            P::AuditRead,
            P::BackupsRead,
            P::ClustersRead,
            P::AlertsRead,
            P::AlertsSilence,
            P::PlaybooksRead,
            P::PlaybooksRun,
            P::IncidentsRead,
            P::IncidentsWrite,
            P::ApprovalsRead,
        ],
    ),
    (
        BuiltinRole::TenantAdmin,
        &[
            P::TenantsRead,
            P::TenantsWrite,
            P::RbacRead,
            P::RbacWrite,
            P::AuditRead,
            P::BackupsRead,
            P::BackupsRun,
            P::AlertsRead,
        ],
    ),
    (
        BuiltinRole::Viewer,
        &[
            P::TenantsRead,
            P::RbacRead,
            P::AuditRead,
            P::BackupsRead,
            P::ClustersRead,
            P::AlertsRead,
            P::IncidentsRead,
            P::PlaybooksRead,
            P::ApprovalsRead,
        ],
    ),
];

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 5] = [
        BuiltinRole::PlatformAdmin,
        BuiltinRole::Operator,
        BuiltinRole::IncidentCommander,
        BuiltinRole::TenantAdmin,
        BuiltinRole::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BuiltinRole::PlatformAdmin => "platform-admin",
            BuiltinRole::Operator => "operator",
            BuiltinRole::IncidentCommander => "incident-commander",
            BuiltinRole::TenantAdmin => "tenant-admin",
            BuiltinRole::Viewer => "viewer",
        }
    }

    /// What the role grants, from `BUILTIN_ROLES`.
    pub fn permissions(self) -> &'static [Permission] {
        BUILTIN_ROLES
            .iter()
            .find(|(role, _)| *role == self)
            .map(|(_, permissions)| *permissions)
            .unwrap_or(&[])
    }

    pub fn grants(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

impl std::str::FromStr for BuiltinRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BuiltinRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a built-in role"))
    }
}

impl std::fmt::Display for BuiltinRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of subject a binding or a token belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 3] = [
        SubjectKind::User,
        SubjectKind::Group,
        SubjectKind::ServiceAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::Group => "group",
            SubjectKind::ServiceAccount => "service_account",
        }
    }
}

impl std::str::FromStr for SubjectKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SubjectKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown subject kind `{s}` (expected user, group or service_account)")
            })
    }
}

/// Who a binding gives a role to, or who a token acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub kind: SubjectKind,
    /// The user's, group's or service account's id.
    pub id: String,
}

/// Whether a user may sign in and use their tokens.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    /// Every token of the user is refused (401) until it is active again.
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
}

impl std::str::FromStr for UserStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(UserStatus::Active),
            "disabled" => Ok(UserStatus::Disabled),
            _ => Err(format!(
                "unknown user status `{s}` (expected active or disabled)"
            )),
        }
    }
}

/// A person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
}

/// Users gathered to be given roles together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Group {
    pub id: String,
    pub name: String,
    /// The group's name in a directory (OIDC or LDAP) that sign-in maps to it.
    pub external_name: Option<String>,
    /// Ids of the member users.
    pub members: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A non-person that holds tokens: a CI job, a bot, a bootstrap token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct ServiceAccount {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Where a binding applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum BindingScope {
    /// Every tenant and the platform itself.
    Platform,
    /// One tenant, by id.
    Tenant { tenant: String },
}

/// A subject holds a role on a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Binding {
    pub id: String,
    pub subject: Subject,
    /// A built-in role's name or a custom role's.
    pub role: String,
    pub scope: BindingScope,
    pub created_at: DateTime<Utc>,
}

/// An API token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Token {
    pub id: String,
    pub name: String,
    /// The user or service account it acts for, with its bindings.
    pub owner: Subject,
    pub created_at: DateTime<Utc>,
    /// After this the token is refused (401).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked token is refused (401).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A role as listed: built-in or custom, with what it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Role {
    pub name: String,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
    pub permissions: Vec<Permission>,
}

/// Body of `POST /v1/rbac/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub display_name: String,
}

/// Body of `PATCH /v1/rbac/users/{user}`: what to change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub status: Option<UserStatus>,
}

/// Body of `POST /v1/rbac/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub external_name: Option<String>,
}

/// Body of `POST /v1/rbac/service-accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccount {
    pub name: String,
}

/// Body of `POST /v1/rbac/roles`: a custom role. Nobody can create a role
/// granting a permission they do not hold on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    /// Lowercase letters, digits and hyphens, not a built-in role's name.
    pub name: String,
    pub permissions: Vec<Permission>,
}

/// Body of `PATCH /v1/rbac/roles/{role}`: the custom role's new set of
/// permissions, replacing the old; the caller must hold each on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct UpdateRole {
    pub permissions: Vec<Permission>,
}

impl Validate for UpdateRole {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.permissions.is_empty() {
            errors.push(FieldError::new(
                "permissions",
                "must name at least one permission",
            ));
        }
        errors
    }
}

/// Body of `POST /v1/rbac/bindings`. Nobody can bind a role granting a
/// permission they do not hold on the binding's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateBinding {
    pub subject: Subject,
    pub role: String,
    /// The tenant (id or slug) the binding is on; absent: the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub tenant: Option<String>,
}

/// Body of `POST /v1/rbac/tokens`. Nobody can mint a token for an owner
/// holding a permission they do not hold themselves on the same scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// A user or a service account.
    pub owner: Subject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Answer of `POST /v1/rbac/tokens`: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: Token,
    /// The bearer token itself; only its hash is stored.
    pub secret: String,
}

/// How a holder comes to hold a permission: a binding of a role, made to
/// the holder itself or to a group the holder is a member of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct GrantPath {
    /// The group the binding is made to, when it is not the holder's own.
    pub group: Option<String>,
    /// The binding's id.
    pub binding: String,
    pub role: String,
    pub scope: BindingScope,
}

/// A user or service account holding a permission, and every way it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Holder {
    pub subject: Subject,
    /// The user's email or the service account's name.
    pub name: String,
    pub paths: Vec<GrantPath>,
}

/// Answer of `GET /v1/rbac/who-can`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct WhoCan {
    pub permission: Permission,
    /// The tenant asked about (its id); absent: every scope.
    pub tenant: Option<String>,
    /// By name.
    pub holders: Vec<Holder>,
}

/// What a subject holds on one tenant, the platform's grants included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct TenantPermissions {
    /// The tenant's id.
    pub tenant: String,
    pub slug: String,
    pub permissions: Vec<Permission>,
}

/// Answer of `GET /v1/rbac/subjects/{subject}/effective`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Effective {
    pub subject: Subject,
    /// Held on the platform, so on every tenant too.
    pub platform: Vec<Permission>,
    /// The tenants it holds more on than on the platform, by slug.
    pub tenants: Vec<TenantPermissions>,
}

/// Answer of `GET /v1/rbac/me`: whom the request's token acts for, and
/// what it holds. Any valid token may ask, whatever it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
pub struct Me {
    /// The user or service account the token acts for.
    pub subject: Subject,
    /// The user's email or the service account's name: the actor the
    /// audit log records for the token's changes.
    pub name: String,
    /// The token's id.
    pub token: String,
    /// Held on the platform, so on every tenant too.
    pub platform: Vec<Permission>,
    /// The tenants it holds more on than on the platform, by slug, each
    /// with everything held there (the platform's included).
    pub tenants: Vec<TenantPermissions>,
}

macro_rules! list {
    ($($(#[$doc:meta])* $list:ident of $item:ty;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, specta::Type)]
        pub struct $list {
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; absent on the last
            /// page and on lists that are not paged.
            #[serde(default)]
            pub next_cursor: Option<String>,
        }
    )*};
}

list! {
    /// A page of users, by email.
    UserList of User;
    /// A page of groups, by name, each with its members.
    GroupList of Group;
    /// Every service account, by name.
    ServiceAccountList of ServiceAccount;
    /// The built-in roles, then the custom ones by name.
    RoleList of Role;
    /// A page of the bindings the caller may see, oldest first.
    BindingList of Binding;
    /// Every token, newest first; never a secret.
    TokenList of Token;
}

/// Query of the paged access lists (`GET /v1/rbac/users`, `/groups`,
/// `/bindings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListAccess {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Users: part of the email; groups: part of the name (ASCII letters
    /// in any case). Not taken by bindings.
    pub q: Option<String>,
}

/// Longest email, display name or token name.
pub const TEXT_MAX: usize = 200;

/// Role and service account names look like slugs.
pub fn check_role_name(field: &str, name: &str, errors: &mut Vec<FieldError>) {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid {
        errors.push(FieldError::new(
            field,
            "must be 1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen",
        ));
    } else if name.parse::<BuiltinRole>().is_ok() {
        errors.push(FieldError::new(
            field,
            format!("`{name}` is a built-in role"),
        ));
    }
}

fn check_email(field: &str, email: &str, errors: &mut Vec<FieldError>) {
    let valid = email.len() <= TEXT_MAX
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        errors.push(FieldError::new(field, "must be an email address"));
    }
}

impl CreateUser {
    /// The body as the server stores it: the email lower-cased, the name
    /// normalised.
    pub fn normalized(mut self) -> Self {
        self.email = self.email.trim().to_lowercase();
        self.display_name = validation::normalize_name(&self.display_name);
        self
    }
}

impl Validate for CreateUser {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_email("email", &self.email, &mut errors);
        validation::check_name("display_name", &self.display_name, &mut errors);
        errors
    }
}

impl UpdateUser {
    pub fn normalized(mut self) -> Self {
        self.display_name = self.display_name.map(|n| validation::normalize_name(&n));
        self
    }
}

impl Validate for UpdateUser {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(name) = &self.display_name {
            validation::check_name("display_name", name, &mut errors);
        }
        if self.display_name.is_none() && self.status.is_none() {
            errors.push(FieldError::new("", "nothing to change"));
        }
        errors
    }
}

impl Validate for CreateGroup {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        validation::check_name("name", &self.name, &mut errors);
        if let Some(external) = &self.external_name {
            validation::check_name("external_name", external, &mut errors);
        }
        errors
    }
}

impl Validate for CreateServiceAccount {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        validation::check_name("name", &self.name, &mut errors);
        errors
    }
}

impl Validate for CreateRole {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_role_name("name", &self.name, &mut errors);
        if self.permissions.is_empty() {
            errors.push(FieldError::new(
                "permissions",
                "must name at least one permission",
            ));
        }
        errors
    }
}

impl Validate for CreateBinding {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.subject.id.trim().is_empty() {
            errors.push(FieldError::new("subject.id", "must not be empty"));
        }
        if self.role.trim().is_empty() {
            errors.push(FieldError::new("role", "must not be empty"));
        }
        if self.tenant.as_deref().is_some_and(|t| t.trim().is_empty()) {
            errors.push(FieldError::new("tenant", "must not be empty"));
        }
        errors
    }
}

impl Validate for CreateToken {
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        validation::check_name("name", &self.name, &mut errors);
        if self.owner.kind == SubjectKind::Group {
            errors.push(FieldError::new(
                "owner.kind",
                "a token belongs to a user or a service account, not a group",
            ));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_are_stable_and_round_trip() {
        for permission in Permission::ALL {
            let json = serde_json::to_string(&permission).expect("serialize");
            assert_eq!(json, format!("\"{}\"", permission.as_str()));
            assert_eq!(permission.as_str().parse::<Permission>(), Ok(permission));
        }
        assert_eq!(Permission::ALL[0].as_str(), "tenants.read");
        assert!("tenants.destroy".parse::<Permission>().is_err());
    }

    #[test]
    fn every_builtin_role_has_one_row_and_platform_admin_has_everything() {
        for role in BuiltinRole::ALL {
            let rows = BUILTIN_ROLES.iter().filter(|(r, _)| *r == role).count();
            assert_eq!(rows, 1, "{role}");
            assert_eq!(role.as_str().parse::<BuiltinRole>(), Ok(role));
        }
        for permission in Permission::ALL {
            assert!(
                BuiltinRole::PlatformAdmin.grants(permission),
                "{permission}"
            );
        }
    }

    #[test]
    fn the_viewer_only_reads() {
        assert!(BuiltinRole::Viewer
            .permissions()
            .iter()
            .all(|p| p.is_read()));
        assert!(!BuiltinRole::TenantAdmin.grants(Permission::TenantsDelete));
    }
}
