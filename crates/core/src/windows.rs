//! Which profile each window of the desktop app is on. A window keeps its
//! own choice, in the local store under the window's label, apart from the
//! CLI's current profile in `profiles.toml`: switching the window never
//! changes what a plain `opsdeck` command acts on, and the CLI choosing a
//! profile never moves the window. It does not own the profiles themselves
//! ([`crate::profiles`]) nor what a window shows of them.

use std::time::Duration;

use serde::Serialize;

use crate::console::Console;
use crate::error::Result;
use crate::profiles::{ProfileEntry, ProfileList, ProfilesWatch, Tier};

/// The profiles as one window sees them: the window's own profile, not the
/// CLI's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct WindowProfiles {
    /// The profile the window is on; `None` when it must ask the user.
    pub current: Option<String>,
    pub profiles: Vec<ProfileEntry>,
    /// The profile the window was on that is no longer there (removed by
    /// the CLI, say), when this is the first look since it went: `current`
    /// is then the fallback, or `None`.
    pub gone: Option<String>,
}

impl Console {
    /// The profiles with the one the window labelled `window` is on: the
    /// one it chose last. The first time, or when that profile is gone, the
    /// window falls back to the CLI's current profile unless it is a
    /// production one, else to the first profile that is not production,
    /// else to none: a window never lands on production by itself. The
    /// fallback is kept as the window's choice, so a profile that went is
    /// reported once.
    pub async fn window_profiles(&self, window: &str) -> Result<WindowProfiles> {
        let list = self.profile_list().await?;
        // The choice is worth little next to showing the window at all.
        let saved = self.store.window_profile(window).await.unwrap_or_else(|e| {
            tracing::warn!(window, error = %e, "cannot read the window's profile; falling back");
            None
        });
        let (current, gone) = choose(saved.as_deref(), &list);
        if current != saved {
            if let Err(e) = self
                .store
                .set_window_profile(window, current.as_deref())
                .await
            {
                tracing::warn!(window, error = %e, "cannot keep the window's profile");
            }
        }
        Ok(WindowProfiles {
            current,
            profiles: list.profiles,
            gone,
        })
    }

    /// Puts the window labelled `window` on the profile `name`; the CLI's
    /// current profile stays as it is.
    pub async fn window_use(&self, window: &str, name: &str) -> Result<()> {
        self.load()?.get(name)?;
        self.store.set_window_profile(window, Some(name)).await
    }

    /// Watches `profiles.toml` for changes made outside the caller (the CLI,
    /// an editor), looking every `every`.
    pub fn watch_profiles(&self, every: Duration) -> ProfilesWatch {
        ProfilesWatch::new(self.paths().profiles_file(), every)
    }
}

/// The window's profile and the one it was on that went, if any: see
/// [`Console::window_profiles`].
fn choose(saved: Option<&str>, list: &ProfileList) -> (Option<String>, Option<String>) {
    let exists = |name: &str| list.profiles.iter().any(|p| p.name == name);
    if let Some(name) = saved.filter(|name| exists(name)) {
        return (Some(name.to_string()), None);
    }
    let not_prod = |p: &&ProfileEntry| p.tier != Tier::Prod;
    let fallback = list
        .current
        .as_deref()
        .and_then(|name| list.profiles.iter().find(|p| p.name == name))
        .filter(not_prod)
        .or_else(|| list.profiles.iter().find(not_prod))
        .map(|p| p.name.clone());
    (fallback, saved.map(str::to_string))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::Error;
    use crate::hostile::{Hostile, Reply};
    use crate::paths::Paths;
    use crate::secrets::{MemorySecrets, SecretStore, Token};
    use crate::LoginCheck;

    const WINDOW: &str = "main";

    async fn console(dir: &std::path::Path) -> (Console, Arc<MemorySecrets>) {
        let keyring = Arc::new(MemorySecrets::default());
        let console = Console::open(Paths::under(dir), keyring.clone())
            .await
            .expect("console");
        (console, keyring)
    }

    async fn add(console: &Console, name: &str, tier: Tier) {
        console
            .profile_add(name, tier, "http://127.0.0.1:1", None, false)
            .await
            .expect("add");
    }

    async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .expect("within 20 s")
    }

    #[tokio::test]
    async fn the_window_and_the_cli_keep_their_own_profile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (console, _) = console(dir.path()).await;
        add(&console, "sandbox", Tier::Dev).await;
        add(&console, "prod-eu", Tier::Prod).await;

        // The window follows the CLI the first time.
        let seen = console.window_profiles(WINDOW).await.expect("list");
        assert_eq!(seen.current.as_deref(), Some("sandbox"));

        console.window_use(WINDOW, "prod-eu").await.expect("window");
        assert_eq!(
            console.profile(None).expect("cli's").name,
            "sandbox",
            "the window moved the CLI"
        );
        add(&console, "staging", Tier::Staging).await;
        console.profile_use("staging").await.expect("cli");
        // A console opened afresh stands for the window after a restart.
        let (again, _) = self::console(dir.path()).await;
        let seen = again.window_profiles(WINDOW).await.expect("list");
        assert_eq!(
            seen.current.as_deref(),
            Some("prod-eu"),
            "the CLI moved the window"
        );
        assert_eq!(seen.gone, None);
        assert_eq!(
            again
                .window_profiles("other")
                .await
                .expect("list")
                .current
                .as_deref(),
            Some("staging"),
            "another window has a choice of its own"
        );
        assert!(matches!(
            console.window_use(WINDOW, "nope").await,
            Err(Error::ProfileNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn a_window_whose_profile_went_is_told_once_and_never_lands_on_production_by_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (console, _) = console(dir.path()).await;
        add(&console, "prod-us", Tier::Prod).await;
        add(&console, "prod-eu", Tier::Prod).await;
        add(&console, "staging", Tier::Staging).await;
        console.window_use(WINDOW, "prod-eu").await.expect("window");

        // The CLI is on production: the window does not follow it there.
        console.profile_remove("prod-eu").await.expect("remove");
        let seen = console.window_profiles(WINDOW).await.expect("list");
        assert_eq!(seen.gone.as_deref(), Some("prod-eu"));
        assert_eq!(seen.current.as_deref(), Some("staging"));
        let again = console.window_profiles(WINDOW).await.expect("list");
        assert_eq!(
            (again.current.as_deref(), again.gone),
            (Some("staging"), None)
        );

        // Nothing but production left: the window asks.
        console.profile_remove("staging").await.expect("remove");
        let seen = console.window_profiles(WINDOW).await.expect("list");
        assert_eq!(seen.gone.as_deref(), Some("staging"));
        assert_eq!(seen.current, None);
    }

    #[tokio::test]
    async fn a_token_the_server_refuses_adds_nothing() {
        let server = Hostile::start(|_| Reply::envelope(401, "unauthorized", "unknown token"))
            .expect("server");
        let dir = tempfile::tempdir().expect("tempdir");
        let (console, keyring) = console(dir.path()).await;
        let token = Token::new("wrong").expect("token");
        let err = within(console.profile_add_checked("ops", Tier::Dev, &server.url, token))
            .await
            .expect_err("refused");
        match &err {
            Error::InvalidInput { field, message } => {
                assert_eq!(field, "token");
                assert!(message.contains("unknown token"), "{message}");
                assert!(message.contains("nothing was saved"), "{message}");
            }
            other => panic!("not an error at the token field: {other:?}"),
        }
        assert!(console
            .profile_list()
            .await
            .expect("list")
            .profiles
            .is_empty());
        let profile = crate::Profile::new("ops", Tier::Dev, &server.url).expect("profile");
        assert!(keyring
            .get(&crate::secrets::account(&profile))
            .expect("keyring")
            .is_none());
    }

    #[tokio::test]
    async fn an_unreachable_server_keeps_the_profile_with_its_token_unverified() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (console, _) = console(dir.path()).await;
        // Nothing listens on port 1 of loopback: refused at once.
        let added = within(console.profile_add_checked(
            "ops",
            Tier::Dev,
            "http://127.0.0.1:1",
            Token::new("t").expect("token"),
        ))
        .await
        .expect("added");
        assert_eq!(added.check, LoginCheck::Unverified);
        assert!(added.entry.has_token);
        let list = console.profile_list().await.expect("list");
        assert_eq!(list.profiles.len(), 1);
        assert!(list.profiles[0].has_token);
    }

    #[tokio::test]
    async fn a_token_the_server_takes_is_verified_and_the_clis_profile_stays() {
        let server = Hostile::start(|_| Reply::json(200, r#"{"items":[],"next_cursor":null}"#))
            .expect("server");
        let dir = tempfile::tempdir().expect("tempdir");
        let (console, _) = console(dir.path()).await;
        add(&console, "sandbox", Tier::Dev).await;
        let added = within(console.profile_add_checked(
            "ops",
            Tier::Staging,
            &server.url,
            Token::new("t").expect("token"),
        ))
        .await
        .expect("added");
        assert_eq!(added.check, LoginCheck::Verified);
        assert_eq!(console.profile(None).expect("current").name, "sandbox");
        let again = console
            .profile_add_checked("ops", Tier::Dev, &server.url, Token::new("t").expect("t"))
            .await
            .expect_err("the name is taken");
        assert!(matches!(again, Error::ProfileExists { .. }), "{again:?}");
    }

    #[tokio::test]
    async fn the_watch_sees_a_profile_another_process_adds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (window, _) = console(dir.path()).await;
        let mut watch = window.watch_profiles(Duration::from_millis(20));
        let (cli, _) = console(dir.path()).await;
        add(&cli, "sandbox", Tier::Dev).await;
        within(watch.changed()).await;
        add(&cli, "staging", Tier::Staging).await;
        within(watch.changed()).await;
        let quiet = tokio::time::timeout(Duration::from_millis(200), watch.changed()).await;
        assert!(quiet.is_err(), "a change was reported with none made");
    }
}
