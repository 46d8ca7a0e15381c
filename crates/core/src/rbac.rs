//! Access control from the console: the client calls of every `/v1/rbac`
//! endpoint (users, groups and their members, service accounts, roles,
//! bindings, tokens, who-can, effective permissions), and the rules the CLI
//! and the window render the same way: how a subject is spelled
//! (`user:<email>`, `group:<name>`, `service:<name>`), how a grant path
//! reads, which removals need the target typed on production, and what a
//! change to a role or a binding would do to who holds what (the preview).
//! The server decides what is allowed; nothing here grants or refuses.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use opsdeck_api::rbac::{
    Binding, BindingScope, CreateBinding, CreateGroup, CreateRole, CreateServiceAccount,
    CreateToken, CreateUser, CreatedToken, Effective, Group, Me, Permission, Role, RoleList,
    ServiceAccount, ServiceAccountList, Subject, SubjectKind, Token, TokenList, UpdateRole,
    UpdateUser, User, WhoCan,
};
use opsdeck_api::validation::Validate;
use opsdeck_api::{ErrorCode, FieldError, MAX_PAGE_LIMIT};
use reqwest::Method;
use serde::Serialize;

use crate::client::{AdminClient, Pages, MAX_ITEM_BYTES, MAX_PAGE_BYTES};
use crate::error::{Error, Result};
use crate::profiles::Profile;
use crate::safety;
use crate::session::Session;
use crate::tenants::new_idempotency_key;

/// How a subject is written on a command line and shown everywhere.
pub const SUBJECT_SPELLING: &str = "user:<email>, group:<name> or service:<name>";

/// Most tenants whose slugs one listing looks up; beyond it, tenants are
/// shown by id rather than by one request each.
const MAX_SLUG_LOOKUPS: usize = 100;

/// A subject as a person names it: a user by email, a group or a service
/// account by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, specta::Type)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum SubjectRef {
    User(String),
    Group(String),
    Service(String),
}

impl SubjectRef {
    /// Reads `user:<email>`, `group:<name>` or `service:<name>`; `field`
    /// names what was being read in the error.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                field,
                format!("`{text}` is not a subject: write {SUBJECT_SPELLING}"),
            )
        };
        let (kind, name) = text.split_once(':').ok_or_else(bad)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        match kind {
            "user" => Ok(SubjectRef::User(name.to_lowercase())),
            "group" => Ok(SubjectRef::Group(name.to_string())),
            "service" => Ok(SubjectRef::Service(name.to_string())),
            _ => Err(bad()),
        }
    }

    /// The kind of subject the spelling names.
    pub fn kind(&self) -> SubjectKind {
        match self {
            SubjectRef::User(_) => SubjectKind::User,
            SubjectRef::Group(_) => SubjectKind::Group,
            SubjectRef::Service(_) => SubjectKind::ServiceAccount,
        }
    }

    /// The email or name after the kind.
    pub fn name(&self) -> &str {
        match self {
            SubjectRef::User(n) | SubjectRef::Group(n) | SubjectRef::Service(n) => n,
        }
    }
}

impl std::fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubjectRef::User(n) => write!(f, "user:{n}"),
            SubjectRef::Group(n) => write!(f, "group:{n}"),
            SubjectRef::Service(n) => write!(f, "service:{n}"),
        }
    }
}

/// Where a binding applies, as shown: the platform, or a tenant by slug
/// (by id when the slug could not be read).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScopeView {
    Platform,
    Tenant { tenant: String, slug: String },
}

impl std::fmt::Display for ScopeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScopeView::Platform => f.write_str("platform"),
            ScopeView::Tenant { slug, .. } => write!(f, "tenant {slug}"),
        }
    }
}

/// Every user, group and service account, to spell subjects by name and to
/// resolve names to ids.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub service_accounts: Vec<ServiceAccount>,
    /// Whether the lists could be read; a tenant's admin may not.
    pub readable: bool,
}

impl Directory {
    /// The subject `named` means, or an error for `field` saying there is none.
    pub fn resolve(&self, field: &str, named: &SubjectRef) -> Result<Subject> {
        let name = named.name();
        let id = match named {
            SubjectRef::User(email) => self
                .users
                .iter()
                .find(|u| u.email.eq_ignore_ascii_case(email) || u.id == *email)
                .map(|u| u.id.clone()),
            SubjectRef::Group(_) => self
                .groups
                .iter()
                .find(|g| g.name == name || g.id == name)
                .map(|g| g.id.clone()),
            SubjectRef::Service(_) => self
                .service_accounts
                .iter()
                .find(|s| s.name == name || s.id == name)
                .map(|s| s.id.clone()),
        };
        id.map(|id| Subject {
            kind: named.kind(),
            id,
        })
        .ok_or_else(|| no_such(field, named))
    }

    /// How `subject` is written: `user:<email>` and so on; by kind and id
    /// when it is not in the directory (removed meanwhile).
    pub fn spell(&self, subject: &Subject) -> String {
        let id = subject.id.as_str();
        let found = match subject.kind {
            SubjectKind::User => self
                .users
                .iter()
                .find(|u| u.id == id)
                .map(|u| SubjectRef::User(u.email.clone())),
            SubjectKind::Group => self
                .groups
                .iter()
                .find(|g| g.id == id)
                .map(|g| SubjectRef::Group(g.name.clone())),
            SubjectKind::ServiceAccount => self
                .service_accounts
                .iter()
                .find(|s| s.id == id)
                .map(|s| SubjectRef::Service(s.name.clone())),
        };
        match found {
            Some(named) => named.to_string(),
            None => format!("{}:{id}", subject.kind.as_str()),
        }
    }

    /// The users and service accounts a binding to `subject` reaches: the
    /// subject itself, or a group's members.
    fn holders(&self, subject: &Subject) -> Vec<Subject> {
        match subject.kind {
            SubjectKind::Group => self
                .groups
                .iter()
                .find(|g| g.id == subject.id)
                .map(|g| {
                    g.members
                        .iter()
                        .map(|id| Subject {
                            kind: SubjectKind::User,
                            id: id.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            _ => vec![subject.clone()],
        }
    }
}

fn no_such(field: &str, named: &SubjectRef) -> Error {
    let what = match named {
        SubjectRef::User(_) => "user",
        SubjectRef::Group(_) => "group",
        SubjectRef::Service(_) => "service account",
    };
    Error::invalid(field, format!("no {what} `{}`", named.name()))
}

/// Who-can as shown: subjects spelled, tenants by slug (from `scopes`).
fn who_can_view(
    directory: &Directory,
    scopes: &HashMap<String, String>,
    permission: Permission,
    tenant: Option<&str>,
    found: WhoCan,
) -> WhoCanView {
    let holders = found
        .holders
        .into_iter()
        .map(|h| HolderView {
            subject: directory.spell(&h.subject),
            paths: h
                .paths
                .into_iter()
                .map(|p| PathView {
                    group: p.group.map(|id| {
                        directory.spell(&Subject {
                            kind: SubjectKind::Group,
                            id,
                        })
                    }),
                    scope: view(scopes, &p.scope),
                    binding: p.binding,
                    role: p.role,
                })
                .collect(),
        })
        .collect();
    WhoCanView {
        permission,
        tenant: tenant.map(str::to_string),
        holders,
    }
}

/// A binding as listed: its subject spelled and its scope by slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BindingRow {
    pub id: String,
    pub subject: String,
    pub role: String,
    pub scope: ScopeView,
    pub created_at: DateTime<Utc>,
}

/// Which bindings a list shows; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindingFilter {
    pub subject: Option<SubjectRef>,
    pub role: Option<String>,
    /// A tenant's slug or id; `platform` for the platform-wide bindings.
    pub scope: Option<String>,
}

impl BindingFilter {
    /// Whether `row` passes every part of the filter that is given.
    pub fn matches(&self, row: &BindingRow) -> bool {
        let subject = self
            .subject
            .as_ref()
            .is_none_or(|s| s.to_string() == row.subject);
        let role = self.role.as_ref().is_none_or(|r| *r == row.role);
        let scope = self.scope.as_deref().is_none_or(|want| match &row.scope {
            ScopeView::Platform => want == "platform",
            ScopeView::Tenant { tenant, slug } => want == tenant || want == slug,
        });
        subject && role && scope
    }
}

/// A token as listed: its owner spelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TokenRow {
    #[serde(flatten)]
    pub token: Token,
    pub owner_name: String,
    /// Revoked or expired: the server refuses it.
    pub usable: bool,
}

/// One way a holder holds a permission, as read left to right:
/// holder → group → binding → role, on a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct PathView {
    /// The group the binding is made to, spelled; absent: the holder's own.
    pub group: Option<String>,
    pub binding: String,
    pub role: String,
    pub scope: ScopeView,
}

impl PathView {
    /// `group:sre → binding 0193… → role reader on tenant acme`.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        if let Some(group) = &self.group {
            text.push_str(&format!("{group} → "));
        }
        text.push_str(&format!(
            "binding {} → role {} on {}",
            self.binding, self.role, self.scope
        ));
        text
    }
}

/// A user or service account holding a permission, and every way it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct HolderView {
    pub subject: String,
    pub paths: Vec<PathView>,
}

/// Who holds a permission, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct WhoCanView {
    pub permission: Permission,
    /// The tenant asked about, as asked; absent: every scope.
    pub tenant: Option<String>,
    pub holders: Vec<HolderView>,
}

/// What a subject holds: on the platform and on each tenant where it holds more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct EffectiveView {
    pub subject: String,
    #[serde(flatten)]
    pub effective: Effective,
}

/// Whether a change gives or takes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Gains,
    Loses,
}

/// One holder gaining or losing one permission on one scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, specta::Type)]
pub struct AccessChange {
    pub holder: String,
    pub change: Direction,
    pub permission: Permission,
    pub scope: ScopeView,
}

impl std::fmt::Display for AccessChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (sign, verb) = match self.change {
            Direction::Gains => ('+', "gains"),
            Direction::Loses => ('-', "loses"),
        };
        write!(
            f,
            "{sign} {} {verb} {} on {}",
            self.holder, self.permission, self.scope
        )
    }
}

/// What a change to a role or a binding would do to effective permissions,
/// computed from who-can before and the change; nothing is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AccessDiff {
    /// The change itself, in one sentence.
    pub summary: String,
    pub changes: Vec<AccessChange>,
}

impl AccessDiff {
    /// The summary and one line per change: what the CLI prints.
    pub fn text(&self) -> String {
        let mut text = self.summary.clone();
        if self.changes.is_empty() {
            text.push_str("\nNobody gains or loses a permission.");
        }
        for change in &self.changes {
            text.push_str(&format!("\n  {change}"));
        }
        text
    }
}

/// A binding to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBinding {
    pub subject: SubjectRef,
    pub role: String,
    /// Tenant id or slug; absent: the platform.
    pub tenant: Option<String>,
}

/// Reads a token's lifetime the way every duration is read (`30d`, `12h`,
/// `1d12h`; at most 365 days), naming `field` when it is wrong.
pub fn parse_lifetime(field: &str, text: &str) -> Result<chrono::Duration> {
    let duration = crate::alerts::parse_duration(text).map_err(|e| match e {
        Error::InvalidInput { message, .. } => Error::invalid(field, message),
        other => other,
    })?;
    chrono::Duration::from_std(duration).map_err(|_| Error::invalid(field, "is too long"))
}

fn checked(errors: Vec<FieldError>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidFields { details: errors })
    }
}

fn key_or_new(key: Option<&str>) -> String {
    key.filter(|k| !k.trim().is_empty())
        .map(str::to_owned)
        .unwrap_or_else(new_idempotency_key)
}

/// A page of a paged access list.
#[derive(serde::Deserialize)]
struct Paged<T> {
    items: Vec<T>,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// The `/v1/rbac` calls, with the client's budgets, retries and caps.
impl AdminClient {
    /// Every item of the paged list `/v1/rbac/{list}` (matching `text`),
    /// following cursors within the client's page and item ceilings.
    async fn rbac_every<T: serde::de::DeserializeOwned>(
        &self,
        list: &str,
        text: Option<&str>,
    ) -> Result<Vec<T>> {
        let limit = MAX_PAGE_LIMIT.to_string();
        let mut pages = Pages::new(self.url(&["v1", "rbac", list]));
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("limit", limit.as_str())];
            if let Some(text) = text {
                query.push(("q", text));
            }
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.as_str()));
            }
            let page: Paged<T> = self.rbac_get(&[list], Some(&query), MAX_PAGE_BYTES).await?;
            items.extend(page.items);
            match pages.next(page.next_cursor, items.len())? {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }

    async fn rbac_get<T: serde::de::DeserializeOwned>(
        &self,
        segments: &[&str],
        query: Option<&Vec<(&str, &str)>>,
        limit: u64,
    ) -> Result<T> {
        let mut path = vec!["v1", "rbac"];
        path.extend_from_slice(segments);
        self.call(Method::GET, &path, query, None::<&()>, None, limit)
            .await
    }

    async fn rbac_send<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&impl Serialize>,
        key: &str,
    ) -> Result<T> {
        let mut path = vec!["v1", "rbac"];
        path.extend_from_slice(segments);
        self.call(method, &path, None::<&()>, body, Some(key), MAX_ITEM_BYTES)
            .await
    }

    async fn rbac_delete(&self, segments: &[&str], key: &str) -> Result<()> {
        let mut path = vec!["v1", "rbac"];
        path.extend_from_slice(segments);
        self.call_raw(
            Method::DELETE,
            &path,
            None::<&()>,
            None::<&()>,
            Some(key),
            MAX_ITEM_BYTES,
        )
        .await
        .map(drop)
    }
}

impl Session {
    /// Access control on this profile's server.
    pub fn rbac(&self) -> Rbac<'_> {
        Rbac { session: self }
    }
}

/// The access-control handle of a [`Session`].
pub struct Rbac<'s> {
    session: &'s Session,
}

impl Rbac<'_> {
    fn admin(&self) -> &AdminClient {
        self.session.admin()
    }

    /// Every user, by email, page after page.
    pub async fn users(&self) -> Result<Vec<User>> {
        self.admin().rbac_every::<User>("users", None).await
    }

    /// The users whose email contains `text`, by email: the server looks.
    pub async fn users_matching(&self, text: &str) -> Result<Vec<User>> {
        self.admin().rbac_every::<User>("users", Some(text)).await
    }

    /// One user by email or id.
    pub async fn user(&self, user: &str) -> Result<User> {
        // An email is looked for by the server; an id needs the whole list.
        let candidates = if user.contains('@') {
            self.users_matching(&user.to_lowercase()).await?
        } else {
            self.users().await?
        };
        candidates
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(user) || u.id == user)
            .ok_or_else(|| Error::invalid("user", format!("no user `{user}`")))
    }

    /// Creates a user; the draft is checked (every field error at once)
    /// before anything is sent.
    pub async fn create_user(&self, body: &CreateUser, key: Option<&str>) -> Result<User> {
        let body = body.clone().normalized();
        checked(body.field_errors())?;
        self.admin()
            .rbac_send(Method::POST, &["users"], Some(&body), &key_or_new(key))
            .await
    }

    /// Changes a user's display name or status (`disabled` refuses every
    /// token of theirs).
    pub async fn update_user(
        &self,
        user: &str,
        body: &UpdateUser,
        key: Option<&str>,
    ) -> Result<User> {
        let body = body.clone().normalized();
        checked(body.field_errors())?;
        self.admin()
            .rbac_send(
                Method::PATCH,
                &["users", user],
                Some(&body),
                &key_or_new(key),
            )
            .await
    }

    /// Every group, by name, with its members' ids, page after page.
    pub async fn groups(&self) -> Result<Vec<Group>> {
        self.admin().rbac_every::<Group>("groups", None).await
    }

    /// The groups whose name contains `text`, by name: the server looks.
    pub async fn groups_matching(&self, text: &str) -> Result<Vec<Group>> {
        self.admin().rbac_every::<Group>("groups", Some(text)).await
    }

    /// One group by name or id.
    pub async fn group(&self, group: &str) -> Result<Group> {
        self.groups()
            .await?
            .into_iter()
            .find(|g| g.name == group || g.id == group)
            .ok_or_else(|| Error::invalid("group", format!("no group `{group}`")))
    }

    /// Creates a group, optionally mapped to a directory group by name.
    pub async fn create_group(&self, body: &CreateGroup, key: Option<&str>) -> Result<Group> {
        checked(body.field_errors())?;
        self.admin()
            .rbac_send(Method::POST, &["groups"], Some(body), &key_or_new(key))
            .await
    }

    /// Makes `user` (email or id) a member of `group` (name or id).
    pub async fn add_member(&self, group: &str, user: &str, key: Option<&str>) -> Result<Group> {
        self.admin()
            .rbac_send(
                Method::PUT,
                &["groups", group, "members", user],
                None::<&()>,
                &key_or_new(key),
            )
            .await
    }

    /// Takes `user` out of `group`; on production, with the user's email typed.
    pub async fn remove_member(
        &self,
        group: &str,
        user: &str,
        confirmation: Option<&str>,
        key: Option<&str>,
    ) -> Result<Group> {
        safety::check_typed(
            self.session.profile(),
            "remove",
            user,
            "email",
            self.remove_member_summary(group, user),
            confirmation,
        )?;
        self.admin()
            .rbac_send(
                Method::DELETE,
                &["groups", group, "members", user],
                None::<&()>,
                &key_or_new(key),
            )
            .await
    }

    /// Every service account, by name.
    pub async fn service_accounts(&self) -> Result<Vec<ServiceAccount>> {
        let list: ServiceAccountList = self
            .admin()
            .rbac_get(&["service-accounts"], None, MAX_PAGE_BYTES)
            .await?;
        Ok(list.items)
    }

    /// Creates a service account: a non-person that holds tokens.
    pub async fn create_service_account(
        &self,
        body: &CreateServiceAccount,
        key: Option<&str>,
    ) -> Result<ServiceAccount> {
        checked(body.field_errors())?;
        self.admin()
            .rbac_send(
                Method::POST,
                &["service-accounts"],
                Some(body),
                &key_or_new(key),
            )
            .await
    }

    /// Users, groups and service accounts, read together. A caller who may
    /// not read them on the platform (a tenant's admin) gets an empty
    /// directory: subjects are then spelled by kind and id, and names are
    /// resolved one by one.
    pub async fn directory(&self) -> Result<Directory> {
        match tokio::try_join!(self.users(), self.groups(), self.service_accounts()) {
            Ok((users, groups, service_accounts)) => Ok(Directory {
                users,
                groups,
                service_accounts,
                readable: true,
            }),
            Err(e) if e.api_code() == Some(ErrorCode::Forbidden) => Ok(Directory::default()),
            Err(e) => Err(e),
        }
    }

    /// The subject `named` means: from the directory when it could be read,
    /// else from the server's lookup of one name.
    async fn resolve(
        &self,
        directory: &Directory,
        field: &str,
        named: &SubjectRef,
    ) -> Result<Subject> {
        if directory.readable {
            return directory.resolve(field, named);
        }
        // The effective-permissions route names the subject it found, and a
        // tenant's admin may ask it.
        let found: Result<Effective> = self
            .admin()
            .rbac_get(
                &["subjects", named.name(), "effective"],
                None,
                MAX_PAGE_BYTES,
            )
            .await;
        match found {
            Ok(found) if found.subject.kind == named.kind() => Ok(found.subject),
            Ok(_) => Err(no_such(field, named)),
            Err(e) if e.api_code() == Some(ErrorCode::NotFound) => Err(no_such(field, named)),
            Err(e) => Err(e),
        }
    }

    /// The built-in roles, then the custom ones, with what each grants.
    pub async fn roles(&self) -> Result<Vec<Role>> {
        let list: RoleList = self
            .admin()
            .rbac_get(&["roles"], None, MAX_PAGE_BYTES)
            .await?;
        Ok(list.items)
    }

    /// One role, built-in or custom, by name.
    pub async fn role(&self, role: &str) -> Result<Role> {
        self.roles()
            .await?
            .into_iter()
            .find(|r| r.name == role)
            .ok_or_else(|| Error::invalid("role", format!("no role `{role}`")))
    }

    /// Creates a custom role; the server refuses one granting what the
    /// caller does not hold on the platform.
    pub async fn create_role(&self, body: &CreateRole, key: Option<&str>) -> Result<Role> {
        checked(body.field_errors())?;
        self.admin()
            .rbac_send(Method::POST, &["roles"], Some(body), &key_or_new(key))
            .await
    }

    /// Replaces a custom role's permissions.
    pub async fn update_role(
        &self,
        role: &str,
        permissions: &[Permission],
        key: Option<&str>,
    ) -> Result<Role> {
        let body = UpdateRole {
            permissions: permissions.to_vec(),
        };
        checked(body.field_errors())?;
        self.admin()
            .rbac_send(
                Method::PATCH,
                &["roles", role],
                Some(&body),
                &key_or_new(key),
            )
            .await
    }

    /// Deletes a user with their tokens, memberships and bindings; on
    /// production, with the email typed.
    pub async fn delete_user(
        &self,
        user: &str,
        confirmation: Option<&str>,
        key: Option<&str>,
    ) -> Result<()> {
        self.delete_named(
            "users",
            user,
            "email",
            self.delete_user_summary(user),
            confirmation,
            key,
        )
        .await
    }

    /// What deleting `user` (by email) does, and what must be typed: shown
    /// before [`Self::delete_user`], under the same rule.
    pub fn delete_user_confirmation(&self, user: &str) -> Result<safety::TypedPreflight> {
        safety::typed_preflight(
            self.session.profile(),
            "delete",
            user,
            "email",
            self.delete_user_summary(user),
        )
    }

    fn delete_user_summary(&self, user: &str) -> String {
        format!(
            "Delete user {user} on {}: their tokens stop working and their bindings and group memberships go. This cannot be undone.",
            place(self.session.profile())
        )
    }

    /// Deletes a group with its memberships and bindings (its members lose
    /// what it granted); on production, with its name typed.
    pub async fn delete_group(
        &self,
        group: &str,
        confirmation: Option<&str>,
        key: Option<&str>,
    ) -> Result<()> {
        self.delete_named(
            "groups",
            group,
            "group name",
            self.delete_group_summary(group),
            confirmation,
            key,
        )
        .await
    }

    /// What deleting `group` (by name) does, and what must be typed: shown
    /// before [`Self::delete_group`], under the same rule.
    pub fn delete_group_confirmation(&self, group: &str) -> Result<safety::TypedPreflight> {
        safety::typed_preflight(
            self.session.profile(),
            "delete",
            group,
            "group name",
            self.delete_group_summary(group),
        )
    }

    fn delete_group_summary(&self, group: &str) -> String {
        format!(
            "Delete group {group} on {}: its members lose what its bindings grant. This cannot be undone.",
            place(self.session.profile())
        )
    }

    /// What taking `user` (by email) out of `group` does, and what must be
    /// typed: shown before [`Self::remove_member`], under the same rule.
    pub fn remove_member_confirmation(
        &self,
        group: &str,
        user: &str,
    ) -> Result<safety::TypedPreflight> {
        safety::typed_preflight(
            self.session.profile(),
            "remove",
            user,
            "email",
            self.remove_member_summary(group, user),
        )
    }

    fn remove_member_summary(&self, group: &str, user: &str) -> String {
        format!(
            "Remove {user} from group {group} on {}: they lose what the group's bindings grant.",
            place(self.session.profile())
        )
    }

    /// `DELETE /v1/rbac/{list}/{name}` after the rule of removals.
    async fn delete_named(
        &self,
        list: &str,
        name: &str,
        noun: &str,
        summary: String,
        confirmation: Option<&str>,
        key: Option<&str>,
    ) -> Result<()> {
        safety::check_typed(
            self.session.profile(),
            "delete",
            name,
            noun,
            summary,
            confirmation,
        )?;
        self.admin()
            .rbac_delete(&[list, name], &key_or_new(key))
            .await
    }

    /// Deletes a custom role; on production, with its name typed.
    pub async fn delete_role(
        &self,
        role: &str,
        confirmation: Option<&str>,
        key: Option<&str>,
    ) -> Result<()> {
        self.delete_named(
            "roles",
            role,
            "role name",
            format!(
                "Delete role {role} on {}. This cannot be undone.",
                place(self.session.profile())
            ),
            confirmation,
            key,
        )
        .await
    }

    /// The bindings the caller may see, oldest first, as the server has them.
    pub async fn bindings(&self) -> Result<Vec<Binding>> {
        self.admin().rbac_every::<Binding>("bindings", None).await
    }

    /// The bindings with their subjects spelled and tenants by slug.
    pub async fn binding_rows(&self) -> Result<Vec<BindingRow>> {
        let (bindings, directory) = tokio::try_join!(self.bindings(), self.directory())?;
        let scopes = self.scopes(bindings.iter().map(|b| &b.scope)).await;
        Ok(bindings
            .into_iter()
            .map(|b| BindingRow {
                subject: directory.spell(&b.subject),
                scope: view(&scopes, &b.scope),
                id: b.id,
                role: b.role,
                created_at: b.created_at,
            })
            .collect())
    }

    /// One binding by id, as listed.
    pub async fn binding(&self, binding: &str) -> Result<BindingRow> {
        self.binding_rows()
            .await?
            .into_iter()
            .find(|b| b.id == binding)
            .ok_or_else(|| Error::invalid("binding", format!("no binding `{binding}`")))
    }

    /// Binds a role to a subject on the platform or a tenant.
    pub async fn create_binding(&self, new: &NewBinding, key: Option<&str>) -> Result<Binding> {
        let directory = self.directory().await?;
        let body = CreateBinding {
            subject: self.resolve(&directory, "subject", &new.subject).await?,
            role: new.role.clone(),
            tenant: new.tenant.clone(),
        };
        checked(body.field_errors())?;
        self.admin()
            .rbac_send(Method::POST, &["bindings"], Some(&body), &key_or_new(key))
            .await
    }

    /// Removes a binding (by id); on production, with its id typed.
    pub async fn delete_binding(
        &self,
        binding: &str,
        confirmation: Option<&str>,
        key: Option<&str>,
    ) -> Result<()> {
        let summary = format!(
            "Remove binding {binding} on {}: its subject loses what the role grants there.",
            place(self.session.profile())
        );
        safety::check_typed(
            self.session.profile(),
            "remove",
            binding,
            "binding id",
            summary,
            confirmation,
        )?;
        self.admin()
            .rbac_delete(&["bindings", binding], &key_or_new(key))
            .await
    }

    /// Every token, newest first; never a secret.
    pub async fn tokens(&self) -> Result<Vec<Token>> {
        let list: TokenList = self
            .admin()
            .rbac_get(&["tokens"], None, MAX_PAGE_BYTES)
            .await?;
        Ok(list.items)
    }

    /// The tokens with their owners spelled.
    pub async fn token_rows(&self) -> Result<Vec<TokenRow>> {
        let (tokens, directory) = tokio::try_join!(self.tokens(), self.directory())?;
        let now = Utc::now();
        Ok(tokens
            .into_iter()
            .map(|token| TokenRow {
                owner_name: directory.spell(&token.owner),
                usable: token.revoked_at.is_none() && token.expires_at.is_none_or(|at| at > now),
                token,
            })
            .collect())
    }

    /// Mints a token for a user or a service account; the answer holds the
    /// secret, the only time it is shown.
    pub async fn create_token(
        &self,
        name: &str,
        owner: &SubjectRef,
        lifetime: Option<chrono::Duration>,
        key: Option<&str>,
    ) -> Result<CreatedToken> {
        if matches!(owner, SubjectRef::Group(_)) {
            return Err(Error::invalid(
                "owner",
                "a token belongs to a user or a service account, not a group",
            ));
        }
        let directory = self.directory().await?;
        let body = CreateToken {
            name: name.to_string(),
            owner: self.resolve(&directory, "owner", owner).await?,
            expires_at: lifetime.map(|d| Utc::now() + d),
        };
        checked(body.field_errors())?;
        self.admin()
            .rbac_send(Method::POST, &["tokens"], Some(&body), &key_or_new(key))
            .await
    }

    /// Revokes a token (by name or id); on production, with its name typed.
    pub async fn revoke_token(
        &self,
        token: &str,
        confirmation: Option<&str>,
        key: Option<&str>,
    ) -> Result<Token> {
        let summary = format!(
            "Revoke token {token} on {}: every request with it is refused from now on.",
            place(self.session.profile())
        );
        safety::check_typed(
            self.session.profile(),
            "revoke",
            token,
            "token name",
            summary,
            confirmation,
        )?;
        self.admin()
            .rbac_send(
                Method::POST,
                &["tokens", token, "revoke"],
                None::<&()>,
                &key_or_new(key),
            )
            .await
    }

    /// Who holds `permission`, on `tenant` (id or slug) or anywhere.
    pub async fn who_can_raw(
        &self,
        permission: Permission,
        tenant: Option<&str>,
    ) -> Result<WhoCan> {
        let mut query = vec![("permission", permission.as_str())];
        if let Some(tenant) = tenant {
            query.push(("tenant", tenant));
        }
        self.admin()
            .rbac_get(&["who-can"], Some(&query), MAX_PAGE_BYTES)
            .await
    }

    /// [`Self::who_can_raw`], with subjects spelled and tenants by slug.
    pub async fn who_can(
        &self,
        permission: Permission,
        tenant: Option<&str>,
    ) -> Result<WhoCanView> {
        let directory = self.directory().await?;
        let found = self.who_can_raw(permission, tenant).await?;
        let scopes = self.scopes_of(std::slice::from_ref(&found)).await;
        Ok(who_can_view(&directory, &scopes, permission, tenant, found))
    }

    /// Who holds each permission of the catalog on `tenant` (id or slug) or
    /// anywhere: the columns of a subjects × permissions matrix, with the
    /// directory read once and each tenant's slug looked up once.
    pub async fn matrix(&self, tenant: Option<&str>) -> Result<Vec<WhoCanView>> {
        let directory = self.directory().await?;
        let mut found = Vec::with_capacity(Permission::ALL.len());
        for permission in Permission::ALL {
            found.push(self.who_can_raw(permission, tenant).await?);
        }
        let scopes = self.scopes_of(&found).await;
        Ok(Permission::ALL
            .into_iter()
            .zip(found)
            .map(|(permission, found)| who_can_view(&directory, &scopes, permission, tenant, found))
            .collect())
    }

    /// The slugs of the tenants the answers' grant paths name.
    async fn scopes_of(&self, found: &[WhoCan]) -> HashMap<String, String> {
        // Collected first: a borrowing iterator held across the lookups
        // makes the future not `Send` (a closure over a lifetime).
        let held: Vec<BindingScope> = found
            .iter()
            .flat_map(|w| w.holders.iter())
            .flat_map(|h| h.paths.iter().map(|p| p.scope.clone()))
            .collect();
        self.scopes(held.iter()).await
    }

    /// Whom the session's own token acts for, and what it holds on the
    /// platform and per tenant. Any valid token may ask.
    pub async fn me(&self) -> Result<Me> {
        let mut me: Me = self.admin().rbac_get(&["me"], None, MAX_ITEM_BYTES).await?;
        me.name = crate::sanitize::remote(&me.name);
        for tenant in &mut me.tenants {
            tenant.slug = crate::sanitize::remote(&tenant.slug);
        }
        Ok(me)
    }

    /// What `subject` holds, on the platform and per tenant.
    pub async fn effective(&self, subject: &SubjectRef) -> Result<EffectiveView> {
        let directory = self.directory().await?;
        let found = self.resolve(&directory, "subject", subject).await?;
        let effective: Effective = self
            .admin()
            .rbac_get(&["subjects", &found.id, "effective"], None, MAX_PAGE_BYTES)
            .await?;
        Ok(EffectiveView {
            subject: subject.to_string(),
            effective,
        })
    }

    /// What creating a role would change: nothing until it is bound; the
    /// draft is checked as it would be before sending.
    pub fn preview_create_role(&self, body: &CreateRole) -> Result<AccessDiff> {
        checked(body.field_errors())?;
        let names: Vec<&str> = body.permissions.iter().map(|p| p.as_str()).collect();
        Ok(AccessDiff {
            summary: format!(
                "Create role {} granting {} on {}; nobody holds it until it is bound.",
                body.name,
                names.join(", "),
                place(self.session.profile())
            ),
            changes: Vec::new(),
        })
    }

    /// What creating the binding would change; nothing is applied.
    pub async fn preview_create_binding(&self, new: &NewBinding) -> Result<AccessDiff> {
        let directory = self.directory().await?;
        let subject = self.resolve(&directory, "subject", &new.subject).await?;
        let role = self.role(&new.role).await?;
        let scope = match &new.tenant {
            None => BindingScope::Platform,
            Some(tenant) => BindingScope::Tenant {
                tenant: self.admin().get_tenant(tenant).await?.id,
            },
        };
        let holders = directory.holders(&subject);
        let mut plan = Plan::default();
        for permission in &role.permissions {
            for holder in &holders {
                plan.add(*permission, holder.clone(), scope.clone());
            }
        }
        let summary = format!(
            "Bind role {} to {} on {} ({}).",
            role.name,
            new.subject,
            new.tenant
                .as_deref()
                .map_or("the platform".to_string(), |t| format!("tenant {t}")),
            place(self.session.profile())
        );
        self.diff(summary, plan, &directory, new.tenant.as_deref())
            .await
    }

    /// What removing the binding would change; nothing is applied.
    pub async fn preview_delete_binding(&self, binding: &str) -> Result<AccessDiff> {
        let (row, directory) = tokio::try_join!(self.binding(binding), self.directory())?;
        let role = self.role(&row.role).await?;
        let mut plan = Plan::default();
        for permission in &role.permissions {
            plan.remove_binding(*permission, row.id.clone());
        }
        let tenant = match &row.scope {
            ScopeView::Platform => None,
            ScopeView::Tenant { tenant, .. } => Some(tenant.as_str()),
        };
        let summary = format!(
            "Remove binding {} (role {} of {} on {}) on {}.",
            row.id,
            row.role,
            row.subject,
            row.scope,
            place(self.session.profile())
        );
        self.diff(summary, plan, &directory, tenant).await
    }

    /// What making `user` a member of `group` would change; nothing is applied.
    pub async fn preview_add_member(&self, group: &str, user: &str) -> Result<AccessDiff> {
        let (directory, bindings, roles) =
            tokio::try_join!(self.directory(), self.bindings(), self.roles())?;
        let member = self
            .resolve(&directory, "user", &SubjectRef::User(user.to_lowercase()))
            .await?;
        let group_id = self
            .resolve(&directory, "group", &SubjectRef::Group(group.to_string()))
            .await?
            .id;
        let mut plan = Plan::default();
        for binding in bindings
            .iter()
            .filter(|b| b.subject.kind == SubjectKind::Group && b.subject.id == group_id)
        {
            let granted = roles.iter().find(|r| r.name == binding.role);
            for permission in granted.into_iter().flat_map(|r| r.permissions.iter()) {
                plan.add(*permission, member.clone(), binding.scope.clone());
            }
        }
        let summary = format!(
            "Add user:{} to group:{group} on {}.",
            user.to_lowercase(),
            place(self.session.profile())
        );
        self.diff(summary, plan, &directory, None).await
    }

    /// What taking `user` out of `group` would change; nothing is applied.
    pub async fn preview_remove_member(&self, group: &str, user: &str) -> Result<AccessDiff> {
        let (directory, bindings, roles) =
            tokio::try_join!(self.directory(), self.bindings(), self.roles())?;
        let member = self
            .resolve(&directory, "user", &SubjectRef::User(user.to_lowercase()))
            .await?;
        let group_id = self
            .resolve(&directory, "group", &SubjectRef::Group(group.to_string()))
            .await?
            .id;
        let permissions: BTreeSet<Permission> = bindings
            .iter()
            .filter(|b| b.subject.kind == SubjectKind::Group && b.subject.id == group_id)
            .filter_map(|b| roles.iter().find(|r| r.name == b.role))
            .flat_map(|r| r.permissions.iter().copied())
            .collect();
        let plan = Plan {
            left: Some((member, group_id, permissions)),
            ..Plan::default()
        };
        let summary = format!(
            "Remove user:{} from group:{group} on {}.",
            user.to_lowercase(),
            place(self.session.profile())
        );
        self.diff(summary, plan, &directory, None).await
    }

    /// What giving a custom role these permissions would change, for every
    /// binding of the role; nothing is applied.
    pub async fn preview_update_role(
        &self,
        role: &str,
        permissions: &[Permission],
    ) -> Result<AccessDiff> {
        let current = self.role(role).await?;
        let old: BTreeSet<Permission> = current.permissions.iter().copied().collect();
        let new: BTreeSet<Permission> = permissions.iter().copied().collect();
        let directory = self.directory().await?;
        let bound: Vec<Binding> = self
            .bindings()
            .await?
            .into_iter()
            .filter(|b| b.role == role)
            .collect();
        let mut plan = Plan::default();
        for permission in old.difference(&new) {
            plan.remove_role(*permission, role.to_string());
        }
        for permission in new.difference(&old) {
            for binding in &bound {
                for holder in directory.holders(&binding.subject) {
                    plan.add(*permission, holder, binding.scope.clone());
                }
            }
        }
        let list = |set: &mut dyn Iterator<Item = &Permission>| {
            let names: Vec<&str> = set.map(|p| p.as_str()).collect();
            if names.is_empty() {
                "nothing".to_string()
            } else {
                names.join(", ")
            }
        };
        let summary = format!(
            "Change role {role} on {} ({} binding{}): adds {}; removes {}.",
            place(self.session.profile()),
            bound.len(),
            if bound.len() == 1 { "" } else { "s" },
            list(&mut new.difference(&old)),
            list(&mut old.difference(&new)),
        );
        self.diff(summary, plan, &directory, None).await
    }

    /// Tenant ids to slugs, for the scopes shown; a tenant that cannot be
    /// read, or one past the lookup limit, keeps its id.
    async fn scopes<'a>(
        &self,
        scopes: impl Iterator<Item = &'a BindingScope>,
    ) -> HashMap<String, String> {
        let ids: BTreeSet<&str> = scopes
            .filter_map(|s| match s {
                BindingScope::Platform => None,
                BindingScope::Tenant { tenant } => Some(tenant.as_str()),
            })
            .collect();
        let mut slugs = HashMap::new();
        for id in ids.into_iter().take(MAX_SLUG_LOOKUPS) {
            if let Ok(tenant) = self.admin().get_tenant(id).await {
                slugs.insert(id.to_string(), tenant.slug);
            }
        }
        slugs
    }

    /// Applies `plan` to who-can as it is now and lists who gains and who
    /// loses what, where.
    async fn diff(
        &self,
        summary: String,
        plan: Plan,
        directory: &Directory,
        tenant: Option<&str>,
    ) -> Result<AccessDiff> {
        let mut changes = Vec::new();
        for permission in plan.permissions() {
            let now = self.who_can_raw(permission, tenant).await?;
            let mut before: HashMap<Subject, Vec<Held>> = HashMap::new();
            for holder in now.holders {
                let paths = holder
                    .paths
                    .into_iter()
                    .map(|p| Held {
                        group: p.group,
                        binding: Some(p.binding),
                        role: Some(p.role),
                        scope: p.scope,
                    })
                    .collect();
                before.insert(holder.subject, paths);
            }
            let after = plan.apply(permission, &before);
            let holders: HashSet<&Subject> = before.keys().chain(after.keys()).collect();
            for holder in holders {
                let was = Coverage::of(before.get(holder));
                let will = Coverage::of(after.get(holder));
                for (scope, direction) in was.changes_to(&will) {
                    changes.push((directory.spell(holder), direction, permission, scope));
                }
            }
        }
        let scopes = self
            .scopes(
                changes
                    .iter()
                    .map(|(_, _, _, scope)| scope)
                    .collect::<Vec<_>>()
                    .into_iter(),
            )
            .await;
        let mut changes: Vec<AccessChange> = changes
            .into_iter()
            .map(|(holder, change, permission, scope)| AccessChange {
                holder,
                change,
                permission,
                scope: view(&scopes, &scope),
            })
            .collect();
        changes.sort();
        Ok(AccessDiff { summary, changes })
    }
}

fn place(profile: &Profile) -> String {
    format!("profile {} ({})", profile.name, profile.tier)
}

fn view(slugs: &HashMap<String, String>, scope: &BindingScope) -> ScopeView {
    match scope {
        BindingScope::Platform => ScopeView::Platform,
        BindingScope::Tenant { tenant } => ScopeView::Tenant {
            slug: slugs.get(tenant).cloned().unwrap_or_else(|| tenant.clone()),
            tenant: tenant.clone(),
        },
    }
}

/// One way a holder holds a permission: a binding (absent: one the change
/// would make) of a role on a scope.
#[derive(Debug, Clone)]
struct Held {
    binding: Option<String>,
    role: Option<String>,
    /// The group (id) the binding is made to, when not the holder's own.
    group: Option<String>,
    scope: BindingScope,
}

/// A change to grant paths, per permission: paths it takes away (through
/// one binding, or through one role) and paths it adds.
#[derive(Debug, Default)]
struct Plan {
    removed_bindings: BTreeMap<Permission, BTreeSet<String>>,
    removed_roles: BTreeMap<Permission, BTreeSet<String>>,
    added: BTreeMap<Permission, Vec<(Subject, BindingScope)>>,
    /// A member leaving a group: every path of theirs through it goes, for
    /// these permissions.
    left: Option<(Subject, String, BTreeSet<Permission>)>,
}

impl Plan {
    fn add(&mut self, permission: Permission, holder: Subject, scope: BindingScope) {
        self.added
            .entry(permission)
            .or_default()
            .push((holder, scope));
    }

    fn remove_binding(&mut self, permission: Permission, binding: String) {
        self.removed_bindings
            .entry(permission)
            .or_default()
            .insert(binding);
    }

    fn remove_role(&mut self, permission: Permission, role: String) {
        self.removed_roles
            .entry(permission)
            .or_default()
            .insert(role);
    }

    fn permissions(&self) -> BTreeSet<Permission> {
        self.removed_bindings
            .keys()
            .chain(self.removed_roles.keys())
            .chain(self.added.keys())
            .chain(self.left.iter().flat_map(|(_, _, p)| p.iter()))
            .copied()
            .collect()
    }

    /// The grant paths of `permission` after the change.
    fn apply(
        &self,
        permission: Permission,
        before: &HashMap<Subject, Vec<Held>>,
    ) -> HashMap<Subject, Vec<Held>> {
        let no = BTreeSet::new();
        let bindings = self.removed_bindings.get(&permission).unwrap_or(&no);
        let roles = self.removed_roles.get(&permission).unwrap_or(&no);
        let mut after: HashMap<Subject, Vec<Held>> = before
            .iter()
            .map(|(subject, paths)| {
                let leaves = self
                    .left
                    .as_ref()
                    .filter(|(member, _, _)| member == subject)
                    .map(|(_, group, _)| group);
                let kept = paths
                    .iter()
                    .filter(|p| {
                        let through_binding =
                            p.binding.as_ref().is_some_and(|b| bindings.contains(b));
                        let through_role = p.role.as_ref().is_some_and(|r| roles.contains(r));
                        let through_group = leaves.is_some() && p.group.as_ref() == leaves;
                        !(through_binding || through_role || through_group)
                    })
                    .cloned()
                    .collect();
                (subject.clone(), kept)
            })
            .collect();
        for (holder, scope) in self.added.get(&permission).into_iter().flatten() {
            after.entry(holder.clone()).or_default().push(Held {
                group: None,
                binding: None,
                role: None,
                scope: scope.clone(),
            });
        }
        after
    }
}

/// Where a holder holds a permission: on the platform (so everywhere),
/// and on which tenants by a binding of their own.
#[derive(Debug, Default, PartialEq, Eq)]
struct Coverage {
    platform: bool,
    tenants: BTreeSet<String>,
}

impl Coverage {
    fn of(paths: Option<&Vec<Held>>) -> Self {
        let mut coverage = Coverage::default();
        for held in paths.into_iter().flatten() {
            match &held.scope {
                BindingScope::Platform => coverage.platform = true,
                BindingScope::Tenant { tenant } => {
                    coverage.tenants.insert(tenant.clone());
                }
            }
        }
        coverage
    }

    /// The scopes on which holding changes from `self` to `after`: the
    /// platform when that changes; a tenant only where the platform grants
    /// it neither before nor after (otherwise the tenant did not change).
    fn changes_to(&self, after: &Coverage) -> Vec<(BindingScope, Direction)> {
        if self.platform != after.platform {
            let direction = if after.platform {
                Direction::Gains
            } else {
                Direction::Loses
            };
            return vec![(BindingScope::Platform, direction)];
        }
        if self.platform {
            return Vec::new();
        }
        let mut changes = Vec::new();
        for tenant in self.tenants.difference(&after.tenants) {
            changes.push((
                BindingScope::Tenant {
                    tenant: tenant.clone(),
                },
                Direction::Loses,
            ));
        }
        for tenant in after.tenants.difference(&self.tenants) {
            changes.push((
                BindingScope::Tenant {
                    tenant: tenant.clone(),
                },
                Direction::Gains,
            ));
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::Tier;

    #[test]
    fn subjects_are_spelled_with_their_kind_and_a_bare_name_is_refused() {
        assert_eq!(
            SubjectRef::parse("subject", "user:Ann@Example.com").expect("user"),
            SubjectRef::User("ann@example.com".into())
        );
        assert_eq!(
            SubjectRef::parse("subject", "group:sre").expect("group"),
            SubjectRef::Group("sre".into())
        );
        assert_eq!(
            SubjectRef::parse("subject", "service:ci")
                .expect("service")
                .to_string(),
            "service:ci"
        );
        for bad in ["ann@example.com", "team:sre", "user:", "group: "] {
            let e = SubjectRef::parse("subject", bad).expect_err(bad);
            assert!(e.to_string().contains(SUBJECT_SPELLING), "{e}");
        }
    }

    #[test]
    fn lifetimes_take_a_number_and_a_unit() {
        assert_eq!(
            parse_lifetime("expires_in", "30d").expect("30d"),
            chrono::Duration::days(30)
        );
        assert_eq!(
            parse_lifetime("expires_in", "12h").expect("12h"),
            chrono::Duration::hours(12)
        );
        assert_eq!(
            parse_lifetime("expires_in", "1d12h").expect("1d12h"),
            chrono::Duration::hours(36)
        );
        for bad in ["", "d", "30", "0d", "-1d", "30y", "2w", "400d"] {
            assert!(parse_lifetime("expires_in", bad).is_err(), "{bad}");
        }
    }

    fn user(id: &str) -> Subject {
        Subject {
            kind: SubjectKind::User,
            id: id.into(),
        }
    }

    fn on(tenant: &str) -> BindingScope {
        BindingScope::Tenant {
            tenant: tenant.into(),
        }
    }

    fn held(binding: &str, role: &str, scope: BindingScope) -> Held {
        Held {
            group: None,
            binding: Some(binding.into()),
            role: Some(role.into()),
            scope,
        }
    }

    #[test]
    fn removing_one_of_two_paths_changes_nothing_and_the_last_one_loses() {
        let mut before = HashMap::new();
        before.insert(
            user("a"),
            vec![
                held("b1", "reader", on("t1")),
                held("b2", "viewer", on("t1")),
            ],
        );
        before.insert(user("b"), vec![held("b1", "reader", on("t1"))]);
        let mut plan = Plan::default();
        plan.remove_binding(Permission::TenantsRead, "b1".into());
        let after = plan.apply(Permission::TenantsRead, &before);
        let a =
            Coverage::of(before.get(&user("a"))).changes_to(&Coverage::of(after.get(&user("a"))));
        assert!(a.is_empty(), "{a:?}");
        let b =
            Coverage::of(before.get(&user("b"))).changes_to(&Coverage::of(after.get(&user("b"))));
        assert_eq!(b, vec![(on("t1"), Direction::Loses)]);
    }

    #[test]
    fn a_tenant_grant_under_a_platform_grant_is_no_gain() {
        let mut before = HashMap::new();
        before.insert(
            user("a"),
            vec![held("b1", "viewer", BindingScope::Platform)],
        );
        let mut plan = Plan::default();
        plan.add(Permission::TenantsRead, user("a"), on("t1"));
        plan.add(Permission::TenantsRead, user("new"), BindingScope::Platform);
        let after = plan.apply(Permission::TenantsRead, &before);
        assert!(Coverage::of(before.get(&user("a")))
            .changes_to(&Coverage::of(after.get(&user("a"))))
            .is_empty());
        assert_eq!(
            Coverage::of(None).changes_to(&Coverage::of(after.get(&user("new")))),
            vec![(BindingScope::Platform, Direction::Gains)]
        );
    }

    #[test]
    fn removing_a_permission_from_a_role_removes_every_path_through_it() {
        let mut before = HashMap::new();
        before.insert(
            user("a"),
            vec![
                held("b1", "custom", on("t1")),
                held("b2", "custom", BindingScope::Platform),
            ],
        );
        let mut plan = Plan::default();
        plan.remove_role(Permission::TenantsWrite, "custom".into());
        let after = plan.apply(Permission::TenantsWrite, &before);
        assert_eq!(
            Coverage::of(before.get(&user("a"))).changes_to(&Coverage::of(after.get(&user("a")))),
            vec![(BindingScope::Platform, Direction::Loses)]
        );
    }

    #[test]
    fn leaving_a_group_keeps_what_the_members_own_bindings_grant() {
        let through = |group: &str, binding: &str, scope| Held {
            group: Some(group.into()),
            ..held(binding, "viewer", scope)
        };
        let mut before = HashMap::new();
        before.insert(
            user("a"),
            vec![
                through("g1", "b1", BindingScope::Platform),
                held("b2", "viewer", on("t1")),
            ],
        );
        before.insert(user("b"), vec![through("g1", "b1", BindingScope::Platform)]);
        let plan = Plan {
            left: Some((user("a"), "g1".into(), [Permission::AuditRead].into())),
            ..Plan::default()
        };
        let after = plan.apply(Permission::AuditRead, &before);
        assert_eq!(
            Coverage::of(before.get(&user("a"))).changes_to(&Coverage::of(after.get(&user("a")))),
            vec![(BindingScope::Platform, Direction::Loses)],
            "the platform goes; the tenant stays through the own binding"
        );
        assert_eq!(Coverage::of(after.get(&user("a"))).tenants.len(), 1);
        assert!(
            Coverage::of(before.get(&user("b")))
                .changes_to(&Coverage::of(after.get(&user("b"))))
                .is_empty(),
            "another member keeps it"
        );
    }

    #[test]
    fn removals_in_production_need_the_target_typed_exactly() {
        let profile = |tier| Profile::new("p", tier, "http://127.0.0.1:1").expect("profile");
        let prod = profile(Tier::Prod);
        let e = safety::check_typed(&prod, "delete", "reader", "role name", "s".into(), None)
            .expect_err("asks");
        assert!(matches!(e, Error::ConfirmationRequired { .. }));
        assert!(safety::check_typed(
            &prod,
            "delete",
            "reader",
            "role name",
            "s".into(),
            Some("reader")
        )
        .is_ok());
        let dev = profile(Tier::Dev);
        assert!(
            safety::check_typed(&dev, "delete", "reader", "role name", "s".into(), None).is_ok()
        );
        assert!(matches!(
            safety::check_typed(
                &dev,
                "delete",
                "reader",
                "role name",
                "s".into(),
                Some("Reader")
            ),
            Err(Error::ConfirmationMismatch { .. })
        ));
    }

    mod against_a_server {
        use std::sync::Arc;
        use std::time::Duration;

        use super::super::*;
        use crate::client::{RetryPolicy, Timeouts};
        use crate::hostile::{json_string, Hostile, Reply, Request};
        use crate::paths::Paths;
        use crate::profiles::Tier;
        use crate::secrets::{MemorySecrets, Token as Secret};
        use crate::Console;

        async fn session(dir: &std::path::Path, url: &str) -> Session {
            let once = RetryPolicy {
                attempts: 1,
                base: Duration::from_millis(1),
                cap: Duration::from_millis(2),
            };
            let console = Console::open(Paths::under(dir), Arc::new(MemorySecrets::default()))
                .await
                .expect("console")
                .with_network(Timeouts::default(), once);
            let token = Secret::new("t").expect("token");
            console
                .profile_add("p", Tier::Dev, url, Some(token), true)
                .await
                .expect("add");
            console.session(None).await.expect("session")
        }

        async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
            tokio::time::timeout(Duration::from_secs(60), fut)
                .await
                .expect("within 60 s")
        }

        #[tokio::test]
        async fn a_refusal_reaches_the_caller_with_its_code_and_without_terminal_control() {
            let server = Hostile::start(|_| {
                Reply::envelope(403, "forbidden", "no \u{1b}]0;owned\u{7}\u{1b}[31mway")
            })
            .expect("server");
            let dir = tempfile::tempdir().expect("tempdir");
            let session = session(dir.path(), &server.url).await;
            let err = within(
                session
                    .rbac()
                    .who_can(Permission::TenantsRead, Some("acme")),
            )
            .await
            .expect_err("refused");
            assert_eq!(
                err.code(),
                crate::Code::Server(ErrorCode::Forbidden),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(
                !message.contains('\u{1b}') && !message.contains('\u{7}'),
                "{message:?}"
            );
            assert!(message.contains("way"), "{message}");
            let asked = server
                .requests()
                .into_iter()
                .find(|r| r.path() == "/v1/rbac/who-can")
                .expect("who-can asked");
            assert_eq!(asked.query("permission").as_deref(), Some("tenants.read"));
            assert_eq!(asked.query("tenant").as_deref(), Some("acme"));
        }

        #[tokio::test]
        async fn an_endless_list_is_read_only_up_to_its_cap() {
            let server = Hostile::start(|_| Reply::Endless { total: 600 << 20 }).expect("server");
            let dir = tempfile::tempdir().expect("tempdir");
            let session = session(dir.path(), &server.url).await;
            let err = within(session.rbac().users()).await.expect_err("too large");
            assert!(
                matches!(err, Error::ResponseTooLarge { limit, .. } if limit == MAX_PAGE_BYTES),
                "{err:?}"
            );
        }

        #[tokio::test]
        async fn without_the_directory_a_name_is_resolved_by_the_server_and_the_binding_carries_a_key(
        ) {
            let server = Hostile::start(|r: &Request| match (r.method.as_str(), r.path()) {
                ("GET", "/v1/rbac/users" | "/v1/rbac/groups" | "/v1/rbac/service-accounts") => {
                    Reply::envelope(403, "forbidden", "needs rbac.read on the platform")
                }
                ("GET", "/v1/rbac/subjects/ann@example.com/effective") => Reply::json(
                    200,
                    r#"{"subject":{"kind":"user","id":"u1"},"platform":[],"tenants":[]}"#,
                ),
                ("POST", "/v1/rbac/bindings") => Reply::json(
                    201,
                    &format!(
                        r#"{{"id":"b1","subject":{{"kind":"user","id":"u1"}},"role":{},"scope":{{"kind":"tenant","tenant":"t1"}},"created_at":"2026-11-24T20:00:00Z"}}"#,
                        json_string("viewer")
                    ),
                ),
                _ => Reply::envelope(404, "not_found", "no such route"),
            })
            .expect("server");
            let dir = tempfile::tempdir().expect("tempdir");
            let session = session(dir.path(), &server.url).await;
            let new = NewBinding {
                subject: SubjectRef::parse("subject", "user:ann@example.com").expect("subject"),
                role: "viewer".into(),
                tenant: Some("acme".into()),
            };
            let made = within(session.rbac().create_binding(&new, None))
                .await
                .expect("bound");
            assert_eq!(made.subject.id, "u1");
            let posted = server
                .requests()
                .into_iter()
                .find(|r| r.method == "POST")
                .expect("posted");
            assert!(posted.header("idempotency-key").is_some(), "{posted:?}");

            // A group of that name does not exist: the lookup found a user.
            let group = NewBinding {
                subject: SubjectRef::Group("ann@example.com".into()),
                ..new
            };
            let err = within(session.rbac().create_binding(&group, None))
                .await
                .expect_err("no group");
            assert!(err.to_string().contains("no group"), "{err}");
        }
    }
}
