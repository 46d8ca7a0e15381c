//! Core's paged tenant reader against a real platform-admin (SQLite and
//! PostgreSQL): every filter the window sends pages through exactly the
//! tenants core's own rule selects, in the server's order; offline, the
//! first page is the last-seen list filtered by that rule and marked stale.

use std::sync::Arc;
use std::time::Duration;

use opsdeck_core::api::tenants::{Plan, TenantStatus};
use opsdeck_core::secrets::{MemorySecrets, Token};
use opsdeck_core::{Console, PageCursor, Paths, Session, TenantFilter, Tier};
use opsdeck_tests::{within, Backend, PlatformAdmin};

/// Odd, so that pages end anywhere in the list.
const LIMIT: u32 = 37;
/// Enough demo tenants for every filter to span several pages.
const TENANTS: u32 = 400;

/// A console on the files under `dir`, with `keyring`: two consoles on the
/// same of both are the window closed and opened again.
async fn open_console(dir: &std::path::Path, keyring: &Arc<MemorySecrets>) -> Console {
    Console::open(Paths::under(dir), keyring.clone())
        .await
        .expect("console")
}

/// Every page of `filter`, walked from the first; the slugs in order, and
/// the largest page seen.
async fn walk(session: &Session, filter: &TenantFilter) -> (Vec<String>, usize) {
    let mut slugs = Vec::new();
    let mut largest = 0;
    let mut cursor: Option<PageCursor> = None;
    for _ in 0..=TENANTS {
        let page = within(
            "a page of tenants",
            Duration::from_secs(20),
            session.tenants().page(filter, cursor.as_ref(), LIMIT),
        )
        .await
        .expect("in time")
        .expect("a page");
        assert!(page.stale.is_none(), "the server is up: {:?}", page.stale);
        largest = largest.max(page.tenants.len());
        slugs.extend(page.tenants.into_iter().map(|row| row.tenant.slug));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return (slugs, largest),
        }
    }
    panic!("more pages than tenants for {filter:?}");
}

fn filters() -> Vec<(&'static str, TenantFilter)> {
    let f = TenantFilter::default;
    vec![
        ("none", f()),
        (
            "search",
            TenantFilter {
                search: "ACME".into(),
                ..f()
            },
        ),
        (
            "two words",
            TenantFilter {
                search: "lab  north".into(),
                ..f()
            },
        ),
        (
            "plan",
            TenantFilter {
                plan: Some(Plan::Business),
                ..f()
            },
        ),
        (
            "status",
            TenantFilter {
                status: Some(TenantStatus::Suspended),
                ..f()
            },
        ),
        (
            "label pair",
            TenantFilter {
                labels: vec!["region=eu-west".into()],
                ..f()
            },
        ),
        (
            "label key and pair",
            TenantFilter {
                labels: vec!["team".into(), "env=prod".into()],
                ..f()
            },
        ),
        (
            "all at once",
            TenantFilter {
                status: Some(TenantStatus::Active),
                plan: Some(Plan::Team),
                labels: vec!["region=us-east".into()],
                search: "a".into(),
            },
        ),
    ]
}

async fn every_filter_pages_through_what_cores_rule_selects_and_offline_keeps_it(backend: Backend) {
    let mut admin = PlatformAdmin::start(backend).expect("platform-admin");
    admin.seed_demo_tenants(TENANTS).expect("demo tenants");
    let token = admin.token("pages", "viewer").expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let keyring = Arc::new(MemorySecrets::default());
    let console = open_console(dir.path(), &keyring).await;
    console
        .profile_add(
            "p",
            Tier::Dev,
            &admin.url,
            Some(Token::new(&token).expect("token")),
            true,
        )
        .await
        .expect("profile");
    let session = console.session(None).await.expect("session");

    // Core's rule over the whole list is what every walk must give.
    let everyone = session
        .tenants()
        .list(&TenantFilter::default())
        .await
        .expect("the whole list");
    assert_eq!(everyone.tenants.len(), TENANTS as usize);
    let fresh = console.session(None).await.expect("a fresh session");
    for (name, filter) in filters() {
        let want: Vec<String> = everyone
            .tenants
            .iter()
            .filter(|row| filter.matches(&row.tenant))
            .map(|row| row.tenant.slug.clone())
            .collect();
        assert!(!want.is_empty(), "filter `{name}` selects some demo tenant");
        let (got, largest) = walk(&fresh, &filter).await;
        assert_eq!(got, want, "filter `{name}`");
        assert!(
            largest <= LIMIT as usize,
            "filter `{name}`: a page of {largest}"
        );
    }
    // A filter core cannot read is said at `label`, before the server is asked.
    let unreadable = TenantFilter {
        labels: vec!["=prod".into()],
        ..TenantFilter::default()
    };
    let err = fresh
        .tenants()
        .page(&unreadable, None, LIMIT)
        .await
        .expect_err("an unreadable label filter");
    assert_eq!(err.code().as_str(), "invalid_input", "{err}");
    assert!(err.to_string().contains("label"), "{err}");

    // The server goes away: the first page is the list last seen, filtered
    // by core's rule, whole, stale; a later page is the offline error.
    admin.stop();
    let offline_first = |session: Session, filter: TenantFilter| async move {
        within(
            "an offline page",
            Duration::from_secs(30),
            session.tenants().page(&filter, None, LIMIT),
        )
        .await
        .expect("in time")
    };
    for (name, filter) in filters() {
        let want: Vec<String> = everyone
            .tenants
            .iter()
            .filter(|row| filter.matches(&row.tenant))
            .map(|row| row.tenant.slug.clone())
            .collect();
        let page = offline_first(fresh.clone(), filter.clone())
            .await
            .expect("the last-seen list");
        assert!(page.stale.is_some(), "filter `{name}` marked stale");
        assert_eq!(page.next, None);
        let got: Vec<String> = page.tenants.into_iter().map(|r| r.tenant.slug).collect();
        assert_eq!(got, want, "offline, filter `{name}`");
    }
    // What the walks saw was written to the cache: a window opened after
    // them (a new console on the same files) shows it too.
    let reopened = open_console(dir.path(), &keyring).await;
    let later = reopened.session(None).await.expect("session");
    let page = offline_first(later, TenantFilter::default())
        .await
        .expect("the cached list");
    assert_eq!(page.tenants.len(), TENANTS as usize);
    assert!(page.stale.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_filter_pages_through_what_cores_rule_selects_and_offline_keeps_it_on_sqlite() {
    every_filter_pages_through_what_cores_rule_selects_and_offline_keeps_it(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_filter_pages_through_what_cores_rule_selects_and_offline_keeps_it_on_postgres() {
    every_filter_pages_through_what_cores_rule_selects_and_offline_keeps_it(Backend::Postgres)
        .await;
}

/// Pages seen are merged into the last-seen list: a tenant deleted since
/// the list was cached goes from the offline view once a page covering its
/// slug has been read, and the tenants no page covered stay as they were.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_read_corrects_the_offline_view_of_the_slugs_it_covers() {
    let mut admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    admin.seed_demo_tenants(120).expect("demo tenants");
    let token = admin.token("pages", "admin").expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let keyring = Arc::new(MemorySecrets::default());
    let console = open_console(dir.path(), &keyring).await;
    console
        .profile_add(
            "p",
            Tier::Dev,
            &admin.url,
            Some(Token::new(&token).expect("token")),
            true,
        )
        .await
        .expect("profile");
    // The whole list, cached (as the CLI's `tenants list` leaves it).
    let all = console
        .session(None)
        .await
        .expect("session")
        .tenants()
        .list(&TenantFilter::default())
        .await
        .expect("list");
    let first = all.tenants[0].tenant.slug.clone();
    let last = all.tenants[all.tenants.len() - 1].tenant.slug.clone();
    // Both are deleted behind this console's back.
    let http = opsdeck_tests::Http::new(&admin.url, Some(&token));
    for slug in [&first, &last] {
        let key = format!("delete-{slug}");
        let gone = http.send(
            "DELETE",
            &format!("/v1/tenants/{slug}"),
            &[("idempotency-key", &key)],
            None,
        );
        assert!(gone.status < 300, "delete {slug}: {}", gone.status);
    }
    // A new window reads the first page only.
    let session = console.session(None).await.expect("session");
    let page = session
        .tenants()
        .page(&TenantFilter::default(), None, 50)
        .await
        .expect("first page");
    assert!(page.next.is_some());
    admin.stop();
    let offline = session
        .tenants()
        .page(&TenantFilter::default(), None, 50)
        .await
        .expect("offline page");
    let slugs: Vec<String> = offline.tenants.into_iter().map(|r| r.tenant.slug).collect();
    assert!(
        !slugs.contains(&first),
        "the first page said {first} is gone"
    );
    assert!(
        slugs.contains(&last),
        "no page covered {last}: still as seen"
    );
    assert_eq!(slugs.len(), all.tenants.len() - 1);
}
