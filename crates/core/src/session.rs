//! [`Session`]: one profile opened for work. It holds the resolved profile,
//! its clients (the admin API, its Prometheus and Alertmanagers) and the
//! token read from the keyring once, so a run of actions does not re-read
//! `profiles.toml` or ask the keyring over D-Bus each time.
//!
//! Capabilities hang a handle on it (`session.tenants().list(&filter)`):
//! each capability's module owns its handle type and its methods keep short
//! names (`list`, `get`, `update`), instead of `Session` growing one prefixed
//! method per operation of every capability. A session is cheap to clone.
//!
//! [`Sessions`] keeps sessions open for a long-lived caller (the window): one
//! per profile, opened lazily, dropped when the profile's entry in
//! `profiles.toml` changes or goes, when the caller edits it, or when the
//! server refuses the token (it may have been replaced by another process).

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};

use crate::alerts::AlertmanagerClient;
use crate::client::AdminClient;
use crate::console::Console;
use crate::error::{Error, Result};
use crate::metrics::PrometheusClient;
use crate::profiles::{stamp, Profile, ProfilesFile, Stamp};
use crate::store::Store;
use crate::tenants::LastSeen;

/// One profile opened: its settings, its clients and its token.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    profile: Profile,
    admin: AdminClient,
    /// One client per Alertmanager the profile names (none, one, or the
    /// members of an HA cluster).
    alertmanagers: Vec<AlertmanagerClient>,
    /// The client of the profile's Prometheus, when it names one.
    prometheus: Option<PrometheusClient>,
    store: Store,
    /// The tenants this session has seen of its server, the pages merged
    /// in as they arrive (see [`crate::tenants::Tenants::page`]).
    tenants: SyncMutex<Option<LastSeen>>,
}

impl Session {
    pub(crate) fn new(
        profile: Profile,
        admin: AdminClient,
        alertmanagers: Vec<AlertmanagerClient>,
        prometheus: Option<PrometheusClient>,
        store: Store,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                profile,
                admin,
                alertmanagers,
                prometheus,
                store,
                tenants: SyncMutex::new(None),
            }),
        }
    }

    /// The profile as it was when the session was opened.
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    pub(crate) fn admin(&self) -> &AdminClient {
        &self.inner.admin
    }

    pub(crate) fn alertmanagers(&self) -> &[AlertmanagerClient] {
        &self.inner.alertmanagers
    }

    pub(crate) fn prometheus(&self) -> Option<&PrometheusClient> {
        self.inner.prometheus.as_ref()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn last_tenants(&self) -> std::sync::MutexGuard<'_, Option<LastSeen>> {
        // A panic while holding it left a list, not a broken invariant.
        self.inner
            .tenants
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("profile", &self.inner.profile.name)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Cache {
    stamp: Option<Stamp>,
    current: Option<String>,
    open: HashMap<String, Session>,
}

/// Sessions kept open for a window, one per profile.
#[derive(Clone, Default)]
pub struct Sessions {
    cache: Arc<tokio::sync::Mutex<Cache>>,
}

impl Sessions {
    pub fn new() -> Self {
        Self::default()
    }

    /// The open session of `profile` (or of the current profile), opening it
    /// if needed. `profiles.toml` is only read again when it changed on disk
    /// (a `stat` per call); then every session whose profile changed or went
    /// is dropped, so a new URL or tier is never acted on with the old one.
    pub async fn get(&self, console: &Console, profile: Option<&str>) -> Result<Session> {
        let path = console.paths().profiles_file();
        let mut cache = self.cache.lock().await;
        let now = stamp(&path);
        if now.is_none() || now != cache.stamp {
            let file = ProfilesFile::load(&path)?;
            cache
                .open
                .retain(|name, session| file.get(name).is_ok_and(|p| p == session.profile()));
            cache.current = file.current.clone();
            cache.stamp = now;
        }
        let name = match profile.or(cache.current.as_deref()) {
            Some(name) => name.to_string(),
            None => return Err(Error::NoCurrentProfile),
        };
        if let Some(session) = cache.open.get(&name) {
            return Ok(session.clone());
        }
        let session = console.session(Some(&name)).await?;
        cache.open.insert(name, session.clone());
        Ok(session)
    }

    /// Drops the session of `profile`, as after its token was replaced or
    /// the profile removed; the next call opens it afresh.
    pub async fn forget(&self, profile: &str) {
        let mut cache = self.cache.lock().await;
        cache.open.remove(profile);
        // The caller edited the file: read it again on the next call, even
        // if the edit landed within the file system's timestamp granularity.
        cache.stamp = None;
    }

    /// Runs `f` on the session of `profile`; when the server refuses the
    /// token, drops the session, so a token replaced by another process (the
    /// CLI's `login`) is read again on the next call.
    pub async fn with<T, F, Fut>(&self, console: &Console, profile: Option<&str>, f: F) -> Result<T>
    where
        F: FnOnce(Session) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let session = self.get(console, profile).await?;
        let name = session.profile().name.clone();
        let result = f(session).await;
        if let Err(e) = &result {
            if matches!(e, Error::TokenRejected { .. }) {
                self.forget(&name).await;
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::client::{RetryPolicy, Timeouts};
    use crate::hostile::{Hostile, Reply};
    use crate::paths::Paths;
    use crate::profiles::Tier;
    use crate::secrets::{MemorySecrets, SecretStore, Token};
    use crate::tenants::TenantFilter;

    /// The memory keyring, counting the reads: each one is a D-Bus round trip
    /// with the OS keyring.
    #[derive(Default)]
    struct CountingKeyring {
        inner: MemorySecrets,
        reads: AtomicUsize,
    }

    impl SecretStore for CountingKeyring {
        fn get(&self, account: &str) -> Result<Option<Token>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.get(account)
        }
        fn set(&self, account: &str, token: &Token) -> Result<()> {
            self.inner.set(account, token)
        }
        fn delete(&self, account: &str) -> Result<()> {
            self.inner.delete(account)
        }
    }

    async fn console(dir: &std::path::Path) -> (Console, Arc<CountingKeyring>) {
        let keyring = Arc::new(CountingKeyring::default());
        let fast = RetryPolicy {
            attempts: 1,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        };
        let console = Console::open(Paths::under(dir), keyring.clone())
            .await
            .expect("console")
            .with_network(Timeouts::default(), fast);
        (console, keyring)
    }

    const EMPTY_PAGE: &str = r#"{"items":[],"next_cursor":null}"#;

    async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .expect("within 20 s")
    }

    #[tokio::test]
    async fn a_window_reads_the_token_once_for_many_actions() {
        let server = Hostile::start(|_| Reply::json(200, EMPTY_PAGE)).expect("server");
        let dir = tempfile::tempdir().expect("tempdir");
        let (console, keyring) = console(dir.path()).await;
        let token = Token::new("t").expect("token");
        console
            .profile_add("p", Tier::Dev, &server.url, Some(token), true)
            .await
            .expect("add");
        let sessions = Sessions::new();
        for _ in 0..3 {
            let session = sessions.get(&console, None).await.expect("session");
            within(session.tenants().list(&TenantFilter::default()))
                .await
                .expect("list");
        }
        assert_eq!(keyring.reads.load(Ordering::SeqCst), 1);
        assert_eq!(
            server.requests().len(),
            3,
            "each list still asks the server"
        );
    }

    #[tokio::test]
    async fn a_session_is_opened_again_when_its_profile_changes_on_disk_or_is_forgotten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (console, keyring) = console(dir.path()).await;
        let token = Token::new("t").expect("token");
        for name in ["p", "q"] {
            console
                .profile_add(
                    name,
                    Tier::Dev,
                    "http://127.0.0.1:1",
                    Some(token.clone()),
                    false,
                )
                .await
                .expect("add");
        }
        let sessions = Sessions::new();
        sessions.get(&console, Some("p")).await.expect("p");
        sessions.get(&console, Some("q")).await.expect("q");
        assert_eq!(keyring.reads.load(Ordering::SeqCst), 2);

        // Edited by another process: p becomes production, q stays as it was.
        let file = console.paths().profiles_file();
        let text = std::fs::read_to_string(&file).expect("read");
        let edited = text.replacen("tier = \"dev\"", "tier = \"prod\"", 1);
        assert_ne!(edited, text);
        std::fs::write(&file, edited).expect("write");
        let p = sessions.get(&console, Some("p")).await.expect("p again");
        assert_eq!(p.profile().tier, Tier::Prod);
        sessions.get(&console, Some("q")).await.expect("q again");
        assert_eq!(keyring.reads.load(Ordering::SeqCst), 3, "only p reopened");

        sessions.forget("q").await;
        sessions.get(&console, Some("q")).await.expect("q reopened");
        assert_eq!(keyring.reads.load(Ordering::SeqCst), 4);

        console.profile_remove("q").await.expect("remove");
        let err = sessions
            .get(&console, Some("q"))
            .await
            .expect_err("a removed profile has no session");
        assert!(matches!(err, Error::ProfileNotFound { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_refused_token_drops_the_session_so_a_replaced_one_is_read_again() {
        let server = Hostile::start(|req| {
            if req.header("authorization") == Some("Bearer new") {
                Reply::json(200, EMPTY_PAGE)
            } else {
                Reply::envelope(401, "unauthorized", "bad token")
            }
        })
        .expect("server");
        let dir = tempfile::tempdir().expect("tempdir");
        let (console, keyring) = console(dir.path()).await;
        console
            .profile_add(
                "p",
                Tier::Dev,
                &server.url,
                Some(Token::new("old").expect("t")),
                true,
            )
            .await
            .expect("add");
        let sessions = Sessions::new();
        let list = |sessions: Sessions, console: Console| async move {
            sessions
                .with(&console, None, |s| async move {
                    s.tenants().list(&TenantFilter::default()).await
                })
                .await
        };
        let err = within(list(sessions.clone(), console.clone()))
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::TokenRejected { .. }), "{err:?}");
        // Another process (the CLI's login) stores a new token.
        let account = crate::secrets::account(&console.profile(Some("p")).expect("p"));
        keyring
            .set(&account, &Token::new("new").expect("t"))
            .expect("set");
        within(list(sessions, console))
            .await
            .expect("new token used");
        assert_eq!(keyring.reads.load(Ordering::SeqCst), 2);
    }
}
