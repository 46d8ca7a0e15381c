//! Tenants as the console sees them: the live list from the server, or the
//! last one seen on that same server, marked stale with its age, when it is
//! unreachable. Which tenants a search finds ([`TenantFilter`]) and what can
//! be done to each ([`AllowedAction`]) are decided here, for the CLI and the
//! window alike. Mutations carry an idempotency key so a retry never acts
//! twice, and pass core's safety check first.
//!
//! Reached through a [`Session`]: `session.tenants().list(&filter)` for the
//! whole list (the CLI), `session.tenants().page(&filter, cursor, limit)`
//! for one page of it at a time (the window, which scrolls through it).

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

use opsdeck_api::tenants::{
    CreateTenant, LabelSelector, Labels, ListTenants, Plan, Quotas, Tenant, TenantStatus,
    UpdateTenant,
};
use opsdeck_api::validation::{search_text, Validate as _};
use opsdeck_api::FieldError;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::profiles::{Profile, Tier};
use crate::progress::Reporter;
use crate::safety::{self, Preflight, TenantAction, TenantOperation};
use crate::session::Session;
use crate::store::server_key;

/// Why the list shown is not live, and how old it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Stale {
    /// The error that kept the live list away, for people.
    pub reason: String,
    #[specta(type = i32)]
    pub age_seconds: i64,
}

/// Which tenants to show. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct TenantFilter {
    pub status: Option<TenantStatus>,
    pub plan: Option<Plan>,
    /// Words separated by spaces: a tenant matches when every word is found
    /// in its slug or its name, ignoring case (`corp acme` finds Acme Corp).
    #[serde(default)]
    pub search: String,
    /// Labels a tenant must all have, each `key=value` (that value, exactly)
    /// or `key` (any value); see [`TenantFilter::label_selectors`].
    #[serde(default)]
    pub labels: Vec<String>,
}

impl TenantFilter {
    /// Whether the filter lets every tenant through.
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.plan.is_none()
            && self.search.trim().is_empty()
            && self.labels.is_empty()
    }

    /// The label filters, read by the contract's rule (the server's); every
    /// one that is not `key=value` or `key` is a field error at `label`.
    pub fn label_selectors(&self) -> Result<Vec<LabelSelector>> {
        let mut selectors = Vec::new();
        let mut details = Vec::new();
        for text in &self.labels {
            match LabelSelector::parse(text) {
                Ok(selector) => selectors.push(selector),
                Err(message) => details.push(FieldError::new("label", message)),
            }
        }
        if details.is_empty() {
            Ok(selectors)
        } else {
            Err(Error::InvalidFields { details })
        }
    }

    /// A matcher for many tenants: the search is split and lowercased once.
    /// A label filter that cannot be read matches nothing (see
    /// [`Self::label_selectors`], which lists and searches check first).
    pub fn matcher(&self) -> impl Fn(&Tenant) -> bool + '_ {
        let words: Vec<String> = self.search.split_whitespace().map(search_text).collect();
        let selectors: Vec<Option<LabelSelector>> = self
            .labels
            .iter()
            .map(|text| LabelSelector::parse(text).ok())
            .collect();
        move |t: &Tenant| {
            if self.status.is_some_and(|s| t.status != s) || self.plan.is_some_and(|p| t.plan != p)
            {
                return false;
            }
            if !selectors
                .iter()
                .all(|s| s.as_ref().is_some_and(|s| s.matches(&t.labels)))
            {
                return false;
            }
            if words.is_empty() {
                return true;
            }
            // The contract's folding (lower case, NFC), as the server searches.
            let (slug, name) = (search_text(&t.slug), search_text(&t.name));
            words
                .iter()
                .all(|w| slug.contains(w.as_str()) || name.contains(w.as_str()))
        }
    }

    pub fn matches(&self, tenant: &Tenant) -> bool {
        self.matcher()(tenant)
    }
}

/// When the slug must be typed to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum SlugConfirmation {
    Never,
    Always,
    /// Only for a change that lowers a quota or the plan (the preflight says).
    WhenLowering,
}

/// Something that can be done to a tenant, as the row offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct AllowedAction {
    /// `update` is the edit form; the others are lifecycle actions.
    pub operation: TenantOperation,
    /// Whether it takes something away from the tenant's users.
    pub destructive: bool,
    /// Whether this profile will ask for the slug before doing it.
    pub confirm: SlugConfirmation,
}

/// What can be done to `tenant` on a profile of `tier`, in the order the
/// row shows it: edit, suspend or resume, delete.
pub fn allowed_actions(tier: Tier, tenant: &Tenant) -> Vec<AllowedAction> {
    let prod = tier == Tier::Prod;
    let lifecycle = |action: TenantAction| AllowedAction {
        operation: action.into(),
        destructive: action.is_destructive(),
        confirm: if prod && action.is_destructive() {
            SlugConfirmation::Always
        } else {
            SlugConfirmation::Never
        },
    };
    vec![
        AllowedAction {
            operation: TenantOperation::Update,
            destructive: false,
            confirm: if prod {
                SlugConfirmation::WhenLowering
            } else {
                SlugConfirmation::Never
            },
        },
        lifecycle(match tenant.status {
            TenantStatus::Active => TenantAction::Suspend,
            TenantStatus::Suspended => TenantAction::Resume,
        }),
        lifecycle(TenantAction::Delete),
    ]
}

/// A tenant with what can be done to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TenantRow {
    #[serde(flatten)]
    pub tenant: Tenant,
    pub actions: Vec<AllowedAction>,
}

impl TenantRow {
    /// The row as `profile` offers it: a read-only profile offers nothing.
    pub fn new(profile: &Profile, tenant: Tenant) -> Self {
        let actions = if profile.read_only {
            Vec::new()
        } else {
            allowed_actions(profile.tier, &tenant)
        };
        Self { tenant, actions }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TenantsView {
    pub profile: String,
    pub tier: Tier,
    /// The profile sends no change: nothing is offered that would.
    pub read_only: bool,
    pub tenants: Vec<TenantRow>,
    pub fetched_at: DateTime<Utc>,
    /// Set when the server was unreachable and this is the cached list.
    pub stale: Option<Stale>,
}

impl TenantsView {
    fn new(session: &Session, tenants: Vec<Tenant>, fetched_at: DateTime<Utc>) -> Self {
        let profile = session.profile();
        Self {
            profile: profile.name.clone(),
            tier: profile.tier,
            read_only: profile.read_only,
            tenants: tenants
                .into_iter()
                .map(|t| TenantRow::new(profile, t))
                .collect(),
            fetched_at,
            stale: None,
        }
    }

    /// Keeps the tenants `filter` lets through, in order.
    pub fn retain(&mut self, filter: &TenantFilter) {
        if filter.is_empty() {
            return;
        }
        let matches = filter.matcher();
        self.tenants.retain(|row| matches(&row.tenant));
    }
}

/// The most tenants one page holds: the server's own limit.
pub const PAGE_MAX: u32 = 200;

/// Where the next page of a tenant list starts. Opaque to callers: they
/// hand back the one a page gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct PageCursor {
    /// The server's cursor.
    server: String,
    /// The slug of the last tenant of the page before: the page that
    /// follows covers the slugs after it.
    after: String,
}

/// One page of a tenant list, as the window scrolls through it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct TenantsPage {
    pub profile: String,
    pub tier: Tier,
    /// The profile sends no change: nothing is offered that would.
    pub read_only: bool,
    pub tenants: Vec<TenantRow>,
    /// Hand back to [`Tenants::page`] for the page that follows; absent on
    /// the last page.
    pub next: Option<PageCursor>,
    pub fetched_at: DateTime<Utc>,
    /// Set when the server was unreachable: the page is then every tenant
    /// of the last-seen list the filter lets through, in one page.
    pub stale: Option<Stale>,
}

/// The tenants a session has seen of its server, ordered by slug, and when
/// the server last answered with some of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LastSeen {
    tenants: Vec<Tenant>,
    fetched_at: DateTime<Utc>,
    /// Pages merged since the list was last written to the cache.
    unsaved_pages: u32,
}

/// How many pages are merged in memory between two writes of the cache:
/// the cache is one document, and writing a hundred thousand tenants after
/// every page of two hundred would cost more than the pages themselves.
const PAGES_PER_SAVE: u32 = 25;

impl LastSeen {
    /// Puts `page`, a page of the list `filter` selects, into the list: the
    /// page is the whole truth about the slugs it covers (after `after`, up
    /// to its last tenant, or to the end when it is the last page), so the
    /// tenants of that span the filter lets through and the page does not
    /// hold are gone, or no longer match. Slugs are compared byte by byte,
    /// the order the contract lists them in.
    fn merge(
        &mut self,
        filter: &TenantFilter,
        after: Option<&str>,
        page: &[Tenant],
        last_page: bool,
    ) {
        let until = if last_page {
            None
        } else {
            page.last().map(|t| t.slug.as_str())
        };
        let covered =
            |slug: &str| after.is_none_or(|a| slug > a) && until.is_none_or(|u| slug <= u);
        let on_page: BTreeSet<&str> = page.iter().map(|t| t.slug.as_str()).collect();
        let matches = filter.matcher();
        self.tenants
            .retain(|t| !(on_page.contains(t.slug.as_str()) || (covered(&t.slug) && matches(t))));
        self.tenants.extend(page.iter().cloned());
        self.tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
    }
}

/// Every field error of a tenant draft, judged as the server will judge it
/// (normalised first): the window shows them all at their fields as the
/// user types, and `create` refuses with all of them before sending.
pub fn check_create(body: &CreateTenant) -> Vec<FieldError> {
    body.clone().normalized().field_errors()
}

/// [`check_create`] for an update.
pub fn check_update(body: &UpdateTenant) -> Vec<FieldError> {
    body.clone().normalized().field_errors()
}

fn checked<T>(errors: Vec<FieldError>, body: T) -> Result<T> {
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(Error::InvalidFields { details: errors })
    }
}

/// The quotas `current` will have after `body`: quotas the change names are
/// set; when the plan changes, a quota still at the old plan's default
/// follows it to the new plan's, and one set by hand is kept. The contract's
/// rule, which the server applies; the CLI's help, the window's form and the
/// update preflight all show its outcome.
pub fn quotas_after(current: &Tenant, body: &UpdateTenant) -> Quotas {
    body.quotas_after(current)
}

/// Label changes made relative to the tenant as read: the CLI's `--label`
/// and `--remove-label`. Core reads the tenant, computes the whole new map
/// ([`LabelEdit::apply`]) and sends it with the read's `If-Match`, so a
/// label changed by someone else in between is not silently dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelEdit {
    /// Labels to add, or to give a new value.
    pub set: BTreeMap<String, String>,
    /// Keys to remove; one the tenant does not have is no change.
    pub remove: BTreeSet<String>,
}

impl LabelEdit {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// `current` with this edit made: removals first, then the labels set.
    pub fn apply(&self, current: &Labels) -> Labels {
        let mut labels: Labels = current
            .iter()
            .filter(|(key, _)| !self.remove.contains(*key))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.extend(self.set.iter().map(|(k, v)| (k.clone(), v.clone())));
        labels
    }

    /// Reads `key=value` texts (split at the first `=`); one without `=` is
    /// a field error at `label`.
    pub fn parse_set(texts: &[String]) -> Result<BTreeMap<String, String>> {
        let mut set = BTreeMap::new();
        let mut details = Vec::new();
        for text in texts {
            match text.split_once('=') {
                Some((key, value)) => {
                    set.insert(key.to_string(), value.to_string());
                }
                None => details.push(FieldError::new(
                    "label",
                    format!("`{text}`: give a label as key=value"),
                )),
            }
        }
        if details.is_empty() {
            Ok(set)
        } else {
            Err(Error::InvalidFields { details })
        }
    }
}

/// A fresh idempotency key, for callers that have none of their own.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Session {
    /// The tenants capability of this session's profile.
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants { session: self }
    }
}

/// The tenants of a session's profile.
pub struct Tenants<'s> {
    session: &'s Session,
}

impl Tenants<'_> {
    /// The live tenant list, cached for the profile's server; or, when the
    /// server cannot be reached, the list last seen on that same server,
    /// marked stale. Errors the server sends are not hidden. The whole list
    /// becomes the session's last-seen one; `filter` picks what is returned.
    pub async fn list(&self, filter: &TenantFilter) -> Result<TenantsView> {
        self.list_reporting(filter, &Reporter::none()).await
    }

    /// [`Self::list`], reporting the pages fetched as they arrive.
    pub async fn list_reporting(
        &self,
        filter: &TenantFilter,
        reporter: &Reporter,
    ) -> Result<TenantsView> {
        let session = self.session;
        let profile = session.profile();
        let server = server_key(&profile.admin_url);
        filter.label_selectors()?;
        if !filter.is_empty() {
            return self.search_reporting(filter, reporter).await;
        }
        let mut view = match session.admin().all_tenants_reporting(reporter).await {
            Ok(tenants) => {
                let now = Utc::now();
                if let Err(e) = session.store().save_tenants(&server, &tenants, now).await {
                    tracing::warn!(profile = %profile.name, error = %e, "cannot cache the tenant list");
                }
                *session.last_tenants() = Some(LastSeen {
                    tenants: tenants.clone(),
                    fetched_at: now,
                    unsaved_pages: 0,
                });
                TenantsView::new(session, tenants, now)
            }
            Err(e) if e.is_offline() => self.cached(e).await?,
            Err(e) => return Err(e),
        };
        view.retain(filter);
        Ok(view)
    }

    /// The tenants `filter` lets through, found by the server: only the
    /// pages of the matches travel. Offline, the list last seen on the
    /// server is filtered here with the same rule, and marked stale. The
    /// last-seen list and the cache are left as they are.
    async fn search_reporting(
        &self,
        filter: &TenantFilter,
        reporter: &Reporter,
    ) -> Result<TenantsView> {
        let session = self.session;
        let query = ListTenants {
            q: Some(filter.search.trim().to_string()).filter(|q| !q.is_empty()),
            status: filter.status,
            plan: filter.plan,
            label: filter.labels.clone(),
            ..ListTenants::default()
        };
        match session.admin().tenants_where(query, reporter).await {
            Ok(tenants) => Ok(TenantsView::new(session, tenants, Utc::now())),
            Err(e) if e.is_offline() => {
                let mut view = self.cached(e).await?;
                view.retain(filter);
                Ok(view)
            }
            Err(e) => Err(e),
        }
    }

    /// The list last seen on the profile's server (by this session, or
    /// else as cached), marked stale by `offline` (what kept the live list
    /// away); `offline` itself when nothing was seen.
    async fn cached(&self, offline: Error) -> Result<TenantsView> {
        let seen = self.session.last_tenants().clone();
        let (tenants, fetched_at) = match seen {
            Some(seen) => (seen.tenants, seen.fetched_at),
            None => {
                let server = server_key(&self.session.profile().admin_url);
                match self.session.store().load_tenants(&server).await {
                    Ok(Some(cached)) => (cached.tenants, cached.fetched_at),
                    _ => return Err(offline),
                }
            }
        };
        Ok(TenantsView {
            stale: Some(Stale {
                reason: offline.to_string(),
                age_seconds: (Utc::now() - fetched_at).num_seconds().max(0),
            }),
            ..TenantsView::new(self.session, tenants, fetched_at)
        })
    }

    /// One page of the tenants `filter` lets through, `limit` of them at
    /// most ([`PAGE_MAX`] at most), from where `cursor` (the `next` of the
    /// page before) left off, or from the start. The server filters and
    /// pages; nothing else travels.
    ///
    /// Every page seen is merged into the session's last-seen list (see
    /// `LastSeen::merge`: the page replaces what was known of the slugs it
    /// covers) rather than the first page replacing it: the offline view
    /// then keeps everything the user scrolled through, not only the top of
    /// the list, and a page of a filtered list corrects the tenants it
    /// covers without forgetting the others. The cache is written from it
    /// every few pages and when a list reaches its end; its age is when the
    /// server last answered.
    ///
    /// When the server cannot be reached, the first page is every tenant of
    /// the last-seen list `filter` lets through (core's same rule), marked
    /// stale with its age, with no next page; a later page is the offline
    /// error, since the rows already shown came from the server and the
    /// cache cannot say where its cursor stands.
    pub async fn page(
        &self,
        filter: &TenantFilter,
        cursor: Option<&PageCursor>,
        limit: u32,
    ) -> Result<TenantsPage> {
        filter.label_selectors()?;
        let session = self.session;
        let query = ListTenants {
            limit: Some(limit.clamp(1, PAGE_MAX)),
            cursor: cursor.map(|c| c.server.clone()),
            q: Some(filter.search.trim().to_string()).filter(|q| !q.is_empty()),
            status: filter.status,
            plan: filter.plan,
            label: filter.labels.clone(),
        };
        let page = match session.admin().list_tenants(&query).await {
            Ok(page) => page,
            Err(e) if e.is_offline() && cursor.is_none() => {
                let mut view = self.cached(e).await?;
                view.retain(filter);
                return Ok(TenantsPage {
                    profile: view.profile,
                    tier: view.tier,
                    read_only: view.read_only,
                    tenants: view.tenants,
                    next: None,
                    fetched_at: view.fetched_at,
                    stale: view.stale,
                });
            }
            Err(e) => return Err(e),
        };
        let now = Utc::now();
        let last_page = page.next_cursor.is_none();
        self.merge_seen(filter, cursor, &page.items, last_page, now)
            .await;
        let next = page.next_cursor.and_then(|server| {
            page.items.last().map(|t| PageCursor {
                server,
                after: t.slug.clone(),
            })
        });
        let profile = session.profile();
        Ok(TenantsPage {
            profile: profile.name.clone(),
            tier: profile.tier,
            read_only: profile.read_only,
            tenants: page
                .items
                .into_iter()
                .map(|t| TenantRow::new(profile, t))
                .collect(),
            next,
            fetched_at: now,
            stale: None,
        })
    }

    /// Merges a page into the last-seen list (starting it from the cache
    /// when the session has none yet), and writes the cache when enough
    /// pages have gone unsaved or the list reached its end.
    async fn merge_seen(
        &self,
        filter: &TenantFilter,
        cursor: Option<&PageCursor>,
        items: &[Tenant],
        last_page: bool,
        now: DateTime<Utc>,
    ) {
        let profile = self.session.profile();
        let server = server_key(&profile.admin_url);
        let has_seen = self.session.last_tenants().is_some();
        let from_cache = if has_seen {
            None
        } else {
            match self.session.store().load_tenants(&server).await {
                Ok(cached) => cached,
                Err(e) => {
                    tracing::warn!(profile = %profile.name, error = %e, "cannot read the cached tenant list");
                    None
                }
            }
        };
        let to_save = {
            let mut seen = self.session.last_tenants();
            let seen = seen.get_or_insert_with(|| LastSeen {
                tenants: from_cache.map(|c| c.tenants).unwrap_or_default(),
                fetched_at: now,
                unsaved_pages: 0,
            });
            seen.merge(filter, cursor.map(|c| c.after.as_str()), items, last_page);
            seen.fetched_at = now;
            seen.unsaved_pages += 1;
            if last_page || seen.unsaved_pages >= PAGES_PER_SAVE {
                seen.unsaved_pages = 0;
                Some(seen.tenants.clone())
            } else {
                None
            }
        };
        if let Some(tenants) = to_save {
            if let Err(e) = self
                .session
                .store()
                .save_tenants(&server, &tenants, now)
                .await
            {
                tracing::warn!(profile = %profile.name, error = %e, "cannot cache the tenant list");
            }
        }
    }

    /// `tenant` with what this profile allows to be done to it.
    pub fn row(&self, tenant: Tenant) -> TenantRow {
        TenantRow::new(self.session.profile(), tenant)
    }

    pub async fn get(&self, tenant: &str) -> Result<Tenant> {
        self.session.admin().get_tenant(tenant).await
    }

    pub async fn create(
        &self,
        body: &CreateTenant,
        idempotency_key: Option<&str>,
    ) -> Result<Tenant> {
        // Sent as the contract normalises it: what the server judges and
        // stores is what was sent.
        let body = checked(check_create(body), body.clone().normalized())?;
        let key = key_or_new(idempotency_key);
        let tenant = self.session.admin().create_tenant(&body, &key).await?;
        self.remember(&tenant.slug, Some(&tenant)).await;
        Ok(tenant)
    }

    /// What `body` would change on the tenant, field by field, from its
    /// current state on the server, and whether the slug must be typed.
    pub async fn update_preflight(&self, tenant: &str, body: &UpdateTenant) -> Result<Preflight> {
        let body = checked(check_update(body), body.clone().normalized())?;
        let current = self.session.admin().get_tenant(tenant).await?;
        Ok(safety::update_preflight(
            self.session.profile(),
            &current,
            &body,
        ))
    }

    /// Changes a tenant's name, plan, quotas, accent colour or labels. In
    /// production a change that lowers a quota or the plan needs
    /// `confirmation` equal to the tenant's slug; core checks it, so no
    /// caller can skip it. The change is sent with the `ETag` of the tenant
    /// as read: if it changed since, the server refuses (412) and nothing
    /// is overwritten.
    pub async fn update(
        &self,
        tenant: &str,
        body: &UpdateTenant,
        confirmation: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Tenant> {
        self.update_editing(
            tenant,
            body,
            &LabelEdit::default(),
            confirmation,
            idempotency_key,
        )
        .await
    }

    /// [`Self::update`], the labels changed by `labels` from the tenant as
    /// read (the whole new map is sent; `body.labels` must then be unset).
    pub async fn update_editing(
        &self,
        tenant: &str,
        body: &UpdateTenant,
        labels: &LabelEdit,
        confirmation: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Tenant> {
        if !labels.is_empty() && body.labels.is_some() {
            return Err(Error::invalid(
                "labels",
                "give either the whole label map or changes to it, not both",
            ));
        }
        let client = self.session.admin();
        let mut body = if labels.is_empty() {
            checked(check_update(body), body.clone().normalized())?
        } else {
            body.clone().normalized()
        };
        let (current, etag) = client.get_tenant_tagged(tenant).await?;
        if !labels.is_empty() {
            body.labels = Some(labels.apply(&current.labels));
            body = checked(check_update(&body), body)?;
        }
        let preflight = safety::update_preflight(self.session.profile(), &current, &body);
        self.session.profile().writable()?;
        safety::check_confirmation(&preflight, confirmation)?;
        let key = key_or_new(idempotency_key);
        // The id just read, as for lifecycle actions: the confirmation was
        // given for this tenant, not for whichever holds the slug later.
        let updated = client
            .with_if_match(etag.as_deref())
            .update_tenant(&current.id, &body, &key)
            .await?;
        self.remember(&updated.slug, Some(&updated)).await;
        Ok(updated)
    }

    /// What `action` would do, from the tenant's current state on the server.
    pub async fn preflight(&self, action: TenantAction, tenant: &str) -> Result<Preflight> {
        let current = self.session.admin().get_tenant(tenant).await?;
        Ok(safety::preflight(self.session.profile(), action, &current))
    }

    /// Suspends, resumes or deletes a tenant. In production a destructive
    /// action needs `confirmation` equal to the tenant's slug; core checks it,
    /// so no caller can skip it. Returns the tenant, or `None` once deleted.
    pub async fn act(
        &self,
        action: TenantAction,
        tenant: &str,
        confirmation: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Option<Tenant>> {
        self.act_approved(action, tenant, confirmation, idempotency_key, None)
            .await
    }

    /// [`Self::act`] using the granted approval `approval` (the server's
    /// two-person rule asks one of a deletion; see `Session::approvals`).
    pub async fn act_approved(
        &self,
        action: TenantAction,
        tenant: &str,
        confirmation: Option<&str>,
        idempotency_key: Option<&str>,
        approval: Option<&str>,
    ) -> Result<Option<Tenant>> {
        let client = self.session.admin().with_approval(approval);
        let current = client.get_tenant(tenant).await?;
        let preflight = safety::preflight(self.session.profile(), action, &current);
        self.session.profile().writable()?;
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
        self.remember(&current.slug, result.as_ref()).await;
        Ok(result)
    }

    /// Puts a changed tenant into the cached list and the session's own, so
    /// a search right after a change sees it.
    async fn remember(&self, slug: &str, tenant: Option<&Tenant>) {
        let profile = self.session.profile();
        if let Some(seen) = self.session.last_tenants().as_mut() {
            seen.tenants.retain(|t| t.slug != slug);
            if let Some(t) = tenant {
                let at = seen.tenants.partition_point(|s| s.slug < t.slug);
                seen.tenants.insert(at, t.clone());
            }
        }
        let server = server_key(&profile.admin_url);
        if let Err(e) = self
            .session
            .store()
            .patch_tenant(&server, slug, tenant)
            .await
        {
            tracing::warn!(profile = %profile.name, error = %e, "cannot update the cached tenant list");
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
    use crate::console::Console;
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
            accent_color: None,
            labels: Default::default(),
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

    /// The tenants list of `profile` through a fresh session, unfiltered.
    async fn list(console: &Console, profile: Option<&str>) -> Result<TenantsView> {
        console
            .session(profile)
            .await?
            .tenants()
            .list(&TenantFilter::default())
            .await
    }

    fn slugs_matching(filter: &TenantFilter, tenants: &[Tenant]) -> Vec<String> {
        tenants
            .iter()
            .filter(|t| filter.matches(t))
            .map(|t| t.slug.clone())
            .collect()
    }

    fn search(text: &str) -> TenantFilter {
        TenantFilter {
            search: text.into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_word_of_the_search_must_be_in_the_slug_or_the_name_ignoring_case() {
        let mut acme = tenant("acme");
        acme.name = "Acme Corp".into();
        let mut initech = tenant("initech");
        initech.name = "Initech Software".into();
        let mut globex = tenant("globex");
        globex.status = TenantStatus::Suspended;
        globex.plan = Plan::Enterprise;
        let all = [acme, globex, initech];
        assert_eq!(slugs_matching(&search("corp acme"), &all), ["acme"]);
        assert_eq!(slugs_matching(&search("GLOB"), &all), ["globex"]);
        assert_eq!(slugs_matching(&search("software"), &all), ["initech"]);
        assert!(slugs_matching(&search("acme globex"), &all).is_empty());
        assert_eq!(slugs_matching(&search("   "), &all).len(), 3);
        let active_with_c = TenantFilter {
            status: Some(TenantStatus::Active),
            ..search("c")
        };
        assert_eq!(slugs_matching(&active_with_c, &all), ["acme", "initech"]);
        let enterprise = TenantFilter {
            plan: Some(Plan::Enterprise),
            ..Default::default()
        };
        assert_eq!(slugs_matching(&enterprise, &all), ["globex"]);
    }

    fn with_labels(slug: &str, labels: &[(&str, &str)]) -> Tenant {
        let mut t = tenant(slug);
        t.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        t
    }

    fn labelled(labels: &[&str]) -> TenantFilter {
        TenantFilter {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn label_filters_match_the_pair_or_the_key_and_all_must_match() {
        let all = [
            with_labels("alpha", &[("env", "prod"), ("team", "payments")]),
            with_labels("bravo", &[("env", "prod")]),
            with_labels("charlie", &[("env", "50%_off")]),
            tenant("delta"),
        ];
        assert_eq!(
            slugs_matching(&labelled(&["env=prod"]), &all),
            ["alpha", "bravo"]
        );
        assert_eq!(slugs_matching(&labelled(&["team"]), &all), ["alpha"]);
        assert_eq!(
            slugs_matching(&labelled(&["env", "team=payments"]), &all),
            ["alpha"]
        );
        assert_eq!(
            slugs_matching(&labelled(&["env=50%_off"]), &all),
            ["charlie"]
        );
        assert!(slugs_matching(&labelled(&["env=50%"]), &all).is_empty());
        assert!(!labelled(&["env"]).is_empty());
        // Unreadable: refused by name before a list, and matches nothing.
        let bad = labelled(&["Env=prod", "env"]);
        assert!(slugs_matching(&bad, &all).is_empty());
        match bad.label_selectors() {
            Err(Error::InvalidFields { details }) => {
                assert_eq!(details.len(), 1, "{details:?}");
                assert_eq!(details[0].field, "label");
            }
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn a_label_edit_removes_then_sets_from_the_labels_read() {
        let current = with_labels("acme", &[("env", "prod"), ("team", "a"), ("old", "x")]).labels;
        let edit = LabelEdit {
            set: LabelEdit::parse_set(&["team=b".into(), "new=1=2".into()]).expect("pairs"),
            remove: ["old".to_string(), "absent".to_string()].into(),
        };
        let after = edit.apply(&current);
        let pairs: Vec<(&str, &str)> = after
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(pairs, [("env", "prod"), ("new", "1=2"), ("team", "b")]);
        assert!(LabelEdit::default().is_empty());
        assert!(LabelEdit::parse_set(&["novalue".into()]).is_err());
    }

    #[test]
    fn a_list_cached_before_labels_existed_reads_as_unlabelled() {
        let old = r#"[{"id":"1","slug":"acme","name":"Acme","plan":"team","status":"active",
            "quotas":{"max_users":1,"storage_gib":1,"requests_per_minute":1},
            "created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}]"#;
        let tenants: Vec<Tenant> = serde_json::from_str(old).expect("old cache");
        assert_eq!(tenants[0].accent_color, None);
        assert!(tenants[0].labels.is_empty());
    }

    #[test]
    fn a_draft_gets_every_field_error_at_once_judged_as_normalised() {
        let draft = CreateTenant {
            accent_color: None,
            labels: None,
            slug: "Not Valid".into(),
            name: "   ".into(),
            plan: None,
            quotas: Some(opsdeck_api::tenants::QuotasPatch {
                max_users: Some(0),
                ..Default::default()
            }),
        };
        let fields: Vec<String> = check_create(&draft).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["slug", "slug", "name", "quotas.max_users"]);
        // Trimmed as the server trims it: no error for surrounding spaces.
        let good = CreateTenant {
            accent_color: None,
            labels: None,
            slug: "acme".into(),
            name: "  Acme  ".into(),
            plan: None,
            quotas: None,
        };
        assert!(check_create(&good).is_empty());
        assert_eq!(check_update(&UpdateTenant::default()).len(), 1);
    }

    #[tokio::test]
    async fn an_invalid_draft_is_refused_with_every_field_before_anything_is_sent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let token = Token::new("t").expect("token");
        // Nothing listens there: an error other than core's own would mean
        // the draft was sent.
        console
            .profile_add("p", Tier::Dev, &dead_url(), Some(token), true)
            .await
            .expect("add");
        let session = console.session(None).await.expect("session");
        let draft = CreateTenant {
            accent_color: None,
            labels: None,
            slug: "x".into(),
            name: "".into(),
            plan: None,
            quotas: None,
        };
        let err = session
            .tenants()
            .create(&draft, None)
            .await
            .expect_err("refused");
        assert_eq!(err.code().as_str(), "invalid_input", "{err}");
        let report = crate::ErrorReport::from(&err);
        let fields: Vec<&str> = report.details.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["slug", "name"]);
        assert!(!report.message.contains('`'), "{}", report.message);
    }

    #[test]
    fn the_filter_crosses_ipc_with_an_absent_search_meaning_everything() {
        let filter: TenantFilter =
            serde_json::from_str(r#"{"status":"suspended","plan":null}"#).expect("parse");
        assert_eq!(filter.status, Some(TenantStatus::Suspended));
        assert!(filter.search.is_empty());
    }

    #[test]
    fn rows_offer_edit_then_suspend_or_resume_then_delete_with_prod_asking_the_slug() {
        let ops = |actions: &[AllowedAction]| -> Vec<TenantOperation> {
            actions.iter().map(|a| a.operation).collect()
        };
        let active = tenant("acme");
        let mut suspended = tenant("globex");
        suspended.status = TenantStatus::Suspended;

        let dev = allowed_actions(Tier::Dev, &active);
        assert_eq!(
            ops(&dev),
            [
                TenantOperation::Update,
                TenantOperation::Suspend,
                TenantOperation::Delete
            ]
        );
        assert!(dev.iter().all(|a| a.confirm == SlugConfirmation::Never));
        assert_eq!(
            dev.iter().map(|a| a.destructive).collect::<Vec<_>>(),
            [false, true, true]
        );

        let prod = allowed_actions(Tier::Prod, &suspended);
        assert_eq!(
            ops(&prod),
            [
                TenantOperation::Update,
                TenantOperation::Resume,
                TenantOperation::Delete
            ]
        );
        assert_eq!(
            prod.iter().map(|a| a.confirm).collect::<Vec<_>>(),
            [
                SlugConfirmation::WhenLowering,
                SlugConfirmation::Never,
                SlugConfirmation::Always
            ]
        );
        // The rule the rows show is the one core enforces.
        for action in [TenantAction::Suspend, TenantAction::Delete] {
            let p = crate::profiles::Profile::new("p", Tier::Prod, "http://127.0.0.1:1")
                .expect("profile");
            assert!(safety::preflight(&p, action, &active)
                .confirm_text
                .is_some());
        }
    }

    #[test]
    fn a_row_serialises_as_the_tenant_with_its_actions() {
        let dev = Profile::new("p", Tier::Dev, "http://127.0.0.1:1").expect("profile");
        let row = TenantRow::new(&dev, tenant("acme"));
        let json = serde_json::to_value(&row).expect("json");
        assert_eq!(json["slug"], "acme");
        assert_eq!(json["actions"][0]["operation"], "update");
        assert_eq!(json["actions"][1]["destructive"], true);
    }

    #[test]
    fn a_read_only_profile_offers_no_action_on_any_row() {
        let mut prod = Profile::new("p", Tier::Prod, "http://127.0.0.1:1").expect("profile");
        prod.read_only = true;
        assert!(TenantRow::new(&prod, tenant("acme")).actions.is_empty());
    }

    #[test]
    fn filtering_ignores_case_beyond_ascii_as_the_server_does() {
        let mut acme = tenant("zz-1");
        acme.name = "\u{00E4}cme".into();
        let filter = TenantFilter {
            search: "A\u{0308}CME".into(),
            ..TenantFilter::default()
        };
        assert!(filter.matches(&acme));
        assert!(!filter.matches(&tenant("globex")));
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
        let err = list(&console, None).await.expect_err("offline");
        assert_eq!(err.code().as_str(), "unreachable");
    }

    #[tokio::test]
    async fn unreachable_server_shows_the_cached_list_marked_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let token = Token::new("t").expect("token");
        let url = dead_url();
        console
            .profile_add("p", Tier::Prod, &url, Some(token), true)
            .await
            .expect("add");
        let fetched = Utc::now() - chrono::Duration::minutes(5);
        console
            .store
            .save_tenants(
                &server_key(&url),
                &[tenant("acme"), tenant("globex")],
                fetched,
            )
            .await
            .expect("seed cache");
        let view = list(&console, Some("p")).await.expect("stale view");
        let stale = view.stale.expect("marked stale");
        assert!(stale.age_seconds >= 299, "{}", stale.age_seconds);
        assert!(stale.reason.contains("cannot reach"), "{}", stale.reason);
        assert_eq!(view.tenants.len(), 2);
        assert_eq!(view.tier, Tier::Prod);
    }

    #[tokio::test]
    async fn an_offline_first_page_is_the_last_seen_list_filtered_and_stale_and_a_later_one_fails()
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let url = dead_url();
        console
            .profile_add(
                "p",
                Tier::Dev,
                &url,
                Some(Token::new("t").expect("t")),
                true,
            )
            .await
            .expect("add");
        let mut suspended = tenant("globex");
        suspended.status = TenantStatus::Suspended;
        let fetched = Utc::now() - chrono::Duration::minutes(5);
        console
            .store
            .save_tenants(
                &server_key(&url),
                &[tenant("acme"), suspended, tenant("initech")],
                fetched,
            )
            .await
            .expect("seed cache");
        let session = console.session(Some("p")).await.expect("session");
        let filter = TenantFilter {
            status: Some(TenantStatus::Active),
            ..Default::default()
        };
        let page = session
            .tenants()
            .page(&filter, None, 1)
            .await
            .expect("stale page");
        let slugs: Vec<_> = page
            .tenants
            .iter()
            .map(|r| r.tenant.slug.as_str())
            .collect();
        assert_eq!(slugs, ["acme", "initech"], "every match, past the limit");
        assert_eq!(page.next, None);
        let stale = page.stale.expect("marked stale");
        assert!(stale.age_seconds >= 299, "{}", stale.age_seconds);
        let cursor = PageCursor {
            server: "opaque".into(),
            after: "acme".into(),
        };
        let err = session
            .tenants()
            .page(&filter, Some(&cursor), 1)
            .await
            .expect_err("no later page offline");
        assert!(err.is_offline(), "{err:?}");
    }

    fn seen(slugs: &[&str]) -> LastSeen {
        LastSeen {
            tenants: slugs.iter().map(|s| tenant(s)).collect(),
            fetched_at: Utc::now(),
            unsaved_pages: 0,
        }
    }

    fn seen_slugs(seen: &LastSeen) -> Vec<&str> {
        seen.tenants.iter().map(|t| t.slug.as_str()).collect()
    }

    #[test]
    fn a_page_replaces_what_was_seen_of_the_slugs_it_covers_and_keeps_the_rest() {
        let all = TenantFilter::default();
        let mut list = seen(&["a", "b", "c", "d", "e"]);
        // The page after `a` up to `d`: `b` is gone, `bb` is new.
        list.merge(
            &all,
            Some("a"),
            &[tenant("bb"), tenant("c"), tenant("d")],
            false,
        );
        assert_eq!(seen_slugs(&list), ["a", "bb", "c", "d", "e"]);
        // The last page covers everything after its cursor.
        list.merge(&all, Some("c"), &[tenant("d")], true);
        assert_eq!(seen_slugs(&list), ["a", "bb", "c", "d"]);
    }

    #[test]
    fn a_filtered_page_forgets_only_the_matches_it_no_longer_holds() {
        let mut list = seen(&["a", "b", "c"]);
        list.tenants[1].status = TenantStatus::Suspended;
        let suspended = TenantFilter {
            status: Some(TenantStatus::Suspended),
            ..Default::default()
        };
        // No suspended tenant any more: `b` was resumed or deleted; `a` and
        // `c`, never selected, stay as they were seen.
        list.merge(&suspended, None, &[], true);
        assert_eq!(seen_slugs(&list), ["a", "c"]);
        // A tenant on the page replaces its old self wherever it was.
        let mut moved = tenant("c");
        moved.status = TenantStatus::Suspended;
        list.merge(&suspended, None, &[moved], true);
        assert_eq!(list.tenants[1].status, TenantStatus::Suspended);
        assert_eq!(seen_slugs(&list), ["a", "c"]);
    }

    #[tokio::test]
    async fn profile_without_token_says_how_to_log_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        console
            .profile_add("p", Tier::Dev, &dead_url(), None, true)
            .await
            .expect("add");
        let err = list(&console, None).await.expect_err("no token");
        assert_eq!(
            err.remedy(),
            Some(crate::error::Remedy::SignIn {
                profile: "p".into()
            })
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
            .save_tenants(&server_key(&url), &[tenant("acme")], Utc::now())
            .await
            .expect("cache");
        console.profile_remove("p").await.expect("remove");
        assert!(console
            .store
            .load_tenants(&server_key(&url))
            .await
            .expect("load")
            .is_none());
        console
            .profile_add("p", Tier::Dev, &url, None, true)
            .await
            .expect("re-add");
        assert!(!console.profile_list().await.expect("list").profiles[0].has_token);
    }

    /// The error of listing tenants of `profile`, which must not be a stale view.
    async fn no_stale_view(console: &Console, profile: &str) -> crate::Error {
        match list(console, Some(profile)).await {
            Ok(view) => panic!("another server's cache shown: {view:?}"),
            Err(e) => e,
        }
    }

    #[tokio::test]
    async fn a_readded_profile_never_shows_the_old_servers_tenants() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let (old, new) = (dead_url(), dead_url());
        let token = Token::new("t").expect("token");
        console
            .profile_add("p", Tier::Prod, &old, Some(token.clone()), true)
            .await
            .expect("add");
        console
            .store
            .save_tenants(&server_key(&old), &[tenant("acme")], Utc::now())
            .await
            .expect("cache");
        console.profile_remove("p").await.expect("remove");
        console
            .profile_add("p", Tier::Prod, &new, Some(token), true)
            .await
            .expect("re-add for another server");
        assert_eq!(
            no_stale_view(&console, "p").await.code().as_str(),
            "unreachable"
        );
    }

    #[tokio::test]
    async fn a_profile_whose_url_changed_never_shows_the_old_servers_tenants() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let (old, new) = (dead_url(), dead_url());
        let token = Token::new("t").expect("token");
        console
            .profile_add("p", Tier::Prod, &old, Some(token.clone()), true)
            .await
            .expect("add");
        console
            .store
            .save_tenants(&server_key(&old), &[tenant("acme")], Utc::now())
            .await
            .expect("cache");
        assert!(
            list(&console, Some("p")).await.is_ok(),
            "stale view of its own server"
        );
        // Edited by hand, as people do: the file is the profile's truth.
        let file = console.paths().profiles_file();
        let text = std::fs::read_to_string(&file).expect("read profiles");
        std::fs::write(&file, text.replace(&old, &new)).expect("write profiles");
        console
            .login("p", token)
            .await
            .expect("log in to the new server");
        assert_eq!(
            no_stale_view(&console, "p").await.code().as_str(),
            "unreachable"
        );
    }

    #[tokio::test]
    async fn removing_a_profile_keeps_the_cache_another_profile_shares() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let url = dead_url();
        let token = Token::new("t").expect("token");
        for name in ["a", "b"] {
            console
                .profile_add(name, Tier::Dev, &url, Some(token.clone()), true)
                .await
                .expect("add");
        }
        console
            .store
            .save_tenants(&server_key(&url), &[tenant("acme")], Utc::now())
            .await
            .expect("cache");
        console.profile_remove("a").await.expect("remove");
        let view = list(&console, Some("b")).await.expect("stale view");
        assert_eq!(view.tenants.len(), 1);
        console.profile_remove("b").await.expect("remove");
        assert!(console
            .store
            .load_tenants(&server_key(&url))
            .await
            .expect("load")
            .is_none());
    }

    #[tokio::test]
    async fn removing_a_profile_fails_loudly_when_its_cache_cannot_be_cleared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let token = Token::new("t").expect("token");
        console
            .profile_add("p", Tier::Dev, &dead_url(), Some(token), true)
            .await
            .expect("add");
        console.store.break_for_test().await;
        let err = console.profile_remove("p").await.expect_err("must fail");
        assert_eq!(err.code().as_str(), "store", "{err}");
        let list = console.profile_list().await.expect("list");
        assert_eq!(list.profiles.len(), 1, "the profile stays");
        assert!(list.profiles[0].has_token, "and so does its token");
    }

    #[tokio::test]
    async fn removing_a_profile_drops_the_cache_of_servers_no_profile_points_at() {
        let dir = tempfile::tempdir().expect("tempdir");
        let console = console(dir.path()).await;
        let (old, new) = (dead_url(), dead_url());
        console
            .profile_add("p", Tier::Dev, &old, None, true)
            .await
            .expect("add");
        console
            .profile_add("q", Tier::Dev, &dead_url(), None, false)
            .await
            .expect("add");
        console
            .store
            .save_tenants(&server_key(&old), &[tenant("acme")], Utc::now())
            .await
            .expect("cache");
        let file = console.paths().profiles_file();
        let text = std::fs::read_to_string(&file).expect("read profiles");
        std::fs::write(&file, text.replace(&old, &new)).expect("write profiles");
        console.profile_remove("q").await.expect("remove");
        assert!(console
            .store
            .load_tenants(&server_key(&old))
            .await
            .expect("load")
            .is_none());
    }
}
