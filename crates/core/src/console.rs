//! [`Console`]: one installation of Opsdeck (its files, keyring and store),
//! the entry point the CLI and the desktop shell call. Its capabilities live
//! in their own modules (`profiles` here, `tenants.rs`, ...).

use std::sync::Arc;

use crate::alerts::AlertmanagerClient;
use crate::client::{AdminClient, RetryPolicy, Timeouts};
use crate::error::{Error, Result};
use crate::metrics::PrometheusClient;
use crate::paths::Paths;
use crate::profiles::{
    Profile, ProfileEntry, ProfileList, ProfileSettings, ProfilesFile, ProfilesLock, Tier,
};
use crate::secrets::{self, OsKeyring, SharedSecrets, Token};
use crate::session::Session;
use crate::store::{server_key, Store};

#[derive(Clone)]
pub struct Console {
    paths: Paths,
    secrets: SharedSecrets,
    pub(crate) store: Store,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
}

/// Outcome of storing a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum LoginCheck {
    /// The server accepted the token.
    Verified,
    /// The server could not be reached; the token is stored unverified.
    Unverified,
}

/// A profile added with its token, and whether the server checked the token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
pub struct ProfileAdded {
    pub entry: ProfileEntry,
    pub check: LoginCheck,
}

impl Console {
    /// The installation the environment points at, with the OS keyring.
    pub async fn open_default() -> Result<Self> {
        Self::open(Paths::from_env()?, Arc::new(OsKeyring)).await
    }

    pub async fn open(paths: Paths, secrets: SharedSecrets) -> Result<Self> {
        let store = Store::at(&paths.store_file());
        Ok(Self {
            paths,
            secrets,
            store,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        })
    }

    /// Shorter timeouts and fewer retries, e.g. for a UI that must answer fast.
    pub fn with_network(mut self, timeouts: Timeouts, retry: RetryPolicy) -> Self {
        self.timeouts = timeouts;
        self.retry = retry;
        self
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub(crate) fn load(&self) -> Result<ProfilesFile> {
        ProfilesFile::load(&self.paths.profiles_file())
    }

    /// Takes the OS lock on profiles.toml (see [`ProfilesLock`]) off the async
    /// threads: another process may hold it for a moment.
    async fn lock_profiles(&self) -> Result<ProfilesLock> {
        let path = self.paths.profiles_file();
        tokio::task::spawn_blocking(move || ProfilesLock::acquire(&path))
            .await
            .map_err(|e| Error::Io {
                path: self.paths.profiles_file(),
                source: std::io::Error::other(e.to_string()),
            })?
    }

    /// Runs a keyring call off the async threads: Secret Service is blocking D-Bus.
    pub(crate) async fn keyring<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn secrets::SecretStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let secrets = self.secrets.clone();
        tokio::task::spawn_blocking(move || f(secrets.as_ref()))
            .await
            .map_err(|e| Error::Keyring {
                message: format!("keyring call failed: {e}"),
            })?
    }

    pub async fn profile_list(&self) -> Result<ProfileList> {
        let file = self.load()?;
        let mut profiles = Vec::with_capacity(file.profiles.len());
        for p in file.profiles {
            let account = secrets::account(&p);
            let has_token = match self.keyring(move |s| s.get(&account)).await {
                Ok(token) => token.is_some(),
                Err(e) => {
                    tracing::warn!(profile = %p.name, error = %e, "cannot read the keyring");
                    false
                }
            };
            profiles.push(entry(p, has_token));
        }
        Ok(ProfileList {
            current: file.current,
            profiles,
        })
    }

    pub fn profile(&self, name: Option<&str>) -> Result<Profile> {
        self.load()?.resolve(name).cloned()
    }

    /// Adds a profile; with a token, stores it in the keyring first, so a
    /// profile is never saved pointing at a token that was not kept.
    pub async fn profile_add(
        &self,
        name: &str,
        tier: Tier,
        admin_url: &str,
        token: Option<Token>,
        make_current: bool,
    ) -> Result<ProfileEntry> {
        self.profile_add_with(
            name,
            tier,
            admin_url,
            &ProfileSettings::default(),
            token,
            make_current,
        )
        .await
    }

    /// [`Self::profile_add`] with the profile's Prometheus and Alertmanager
    /// URLs, checked with the admin URL's rules.
    pub async fn profile_add_with(
        &self,
        name: &str,
        tier: Tier,
        admin_url: &str,
        urls: &ProfileSettings,
        token: Option<Token>,
        make_current: bool,
    ) -> Result<ProfileEntry> {
        let mut profile = Profile::new(name, tier, admin_url)?;
        urls.apply(&mut profile)?;
        let _guard = self.lock_profiles().await?;
        let mut file = self.load()?;
        if file.get(name).is_ok() {
            return Err(Error::ProfileExists { name: name.into() });
        }
        let has_token = token.is_some();
        let account = secrets::account(&profile);
        if let Some(token) = token {
            let account = account.clone();
            self.keyring(move |s| s.set(&account, &token)).await?;
        }
        file.add(profile.clone())?;
        if make_current {
            file.set_current(name)?;
        }
        if let Err(e) = file.save(&self.paths.profiles_file()) {
            if has_token {
                let _ = self.keyring(move |s| s.delete(&account)).await;
            }
            return Err(e);
        }
        Ok(entry(profile, has_token))
    }

    /// Sets (or, given empty, clears) a profile's Prometheus and
    /// Alertmanager URLs; what is not given stays as it is. The admin URL
    /// and the token are not touched.
    pub async fn profile_set(&self, name: &str, urls: &ProfileSettings) -> Result<ProfileEntry> {
        let _guard = self.lock_profiles().await?;
        let mut file = self.load()?;
        let mut profile = file.get(name)?.clone();
        urls.apply(&mut profile)?;
        if let Some(slot) = file.profiles.iter_mut().find(|p| p.name == name) {
            *slot = profile.clone();
        }
        file.save(&self.paths.profiles_file())?;
        let account = secrets::account(&profile);
        let has_token = match self.keyring(move |s| s.get(&account)).await {
            Ok(token) => token.is_some(),
            Err(e) => {
                tracing::warn!(profile = %name, error = %e, "cannot read the keyring");
                false
            }
        };
        Ok(entry(profile, has_token))
    }

    pub async fn profile_use(&self, name: &str) -> Result<()> {
        let _guard = self.lock_profiles().await?;
        let mut file = self.load()?;
        file.set_current(name)?;
        file.save(&self.paths.profiles_file())
    }

    /// Removes a profile with its token and the cached state of its server,
    /// kept while another profile still points at that server (the cache of
    /// any server no profile points at any more, say after a URL was edited,
    /// goes too). The cache goes first: if it cannot be cleared, the profile
    /// stays and the error says why, rather than leaving a server's data behind.
    pub async fn profile_remove(&self, name: &str) -> Result<()> {
        let _guard = self.lock_profiles().await?;
        let mut file = self.load()?;
        let removed = file.remove(name)?;
        let still_used: Vec<String> = file
            .profiles
            .iter()
            .map(|p| server_key(&p.admin_url))
            .collect();
        self.store.retain_servers(&still_used).await?;
        let account = secrets::account(&removed);
        self.keyring(move |s| s.delete(&account)).await?;
        file.save(&self.paths.profiles_file())
    }

    /// Checks `token` against the server and keeps it in the keyring. A token
    /// the server refuses is not kept.
    pub async fn login(&self, name: &str, token: Token) -> Result<LoginCheck> {
        let profile = self.profile(Some(name))?;
        let check = self.check_token(&profile, token.clone()).await?;
        let account = secrets::account(&profile);
        self.keyring(move |s| s.set(&account, &token)).await?;
        Ok(check)
    }

    /// Adds a profile with its token, as `login` checks it: the server
    /// checks the token first, and a token it refuses leaves nothing behind
    /// (no profile, no keyring entry; the error is at the `token` field). An
    /// unreachable server cannot check it: the profile and the token are
    /// kept, and the answer says the token is unverified. The CLI's current
    /// profile is not changed (but for the first profile, which becomes it).
    pub async fn profile_add_checked(
        &self,
        name: &str,
        tier: Tier,
        admin_url: &str,
        token: Token,
    ) -> Result<ProfileAdded> {
        let profile = Profile::new(name, tier, admin_url)?;
        // Said before the server is asked: a name in use is the first thing
        // to fix, whatever the token.
        if self.load()?.get(name).is_ok() {
            return Err(Error::ProfileExists { name: name.into() });
        }
        let check = match self.check_token(&profile, token.clone()).await {
            Ok(check) => check,
            Err(Error::TokenRejected { envelope, .. }) => {
                return Err(Error::invalid(
                    "token",
                    format!(
                        "{} refused this token ({}); nothing was saved",
                        profile.admin_url, envelope.message
                    ),
                ))
            }
            Err(e) => return Err(e),
        };
        let entry = self
            .profile_add(name, tier, admin_url, Some(token), false)
            .await?;
        Ok(ProfileAdded { entry, check })
    }

    /// Asks the server something every token may read, with `token`.
    async fn check_token(&self, profile: &Profile, token: Token) -> Result<LoginCheck> {
        let client = self.client_with(profile, token)?;
        match client
            .list_tenants(&opsdeck_api::tenants::ListTenants {
                limit: Some(1),
                ..Default::default()
            })
            .await
        {
            Ok(_) => Ok(LoginCheck::Verified),
            Err(e) if e.is_offline() => Ok(LoginCheck::Unverified),
            Err(e) => Err(e),
        }
    }

    fn client_with(&self, profile: &Profile, token: Token) -> Result<AdminClient> {
        Ok(
            AdminClient::with_options(&profile.admin_url, token, self.timeouts, self.retry)?
                .for_profile(&profile.name)
                .read_only(profile.read_only),
        )
    }

    /// Opens the profile (named, or current) for work: reads profiles.toml
    /// and the token from the keyring once, for every call made through the
    /// session. The CLI opens one per run; the window keeps them in
    /// [`crate::session::Sessions`].
    pub async fn session(&self, name: Option<&str>) -> Result<Session> {
        let profile = self.profile(name)?;
        let account = secrets::account(&profile);
        let token = self
            .keyring(move |s| s.get(&account))
            .await?
            .ok_or_else(|| Error::NoToken {
                profile: profile.name.clone(),
            })?;
        let client = self.client_with(&profile, token)?;
        let alertmanagers = profile
            .alertmanager_urls
            .iter()
            .map(|url| {
                let client = AlertmanagerClient::new(url, self.timeouts, self.retry)?;
                Ok(if profile.read_only {
                    client.read_only_for(&profile.name)
                } else {
                    client
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let prometheus = profile
            .prometheus_url
            .as_deref()
            .map(|url| PrometheusClient::new(url, self.timeouts, self.retry))
            .transpose()?;
        Ok(Session::new(
            profile,
            client,
            alertmanagers,
            prometheus,
            self.store.clone(),
        ))
    }
}

fn entry(p: Profile, has_token: bool) -> ProfileEntry {
    ProfileEntry {
        name: p.name,
        tier: p.tier,
        admin_url: p.admin_url,
        prometheus_url: p.prometheus_url,
        alertmanager_urls: p.alertmanager_urls,
        read_only: p.read_only,
        has_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecrets;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_consoles_adding_profiles_at_once_keep_every_profile() {
        // Two consoles over one directory stand for the CLI and the window:
        // no state is shared between them but the files.
        let dir = tempfile::tempdir().expect("tempdir");
        let open = || Console::open(Paths::under(dir.path()), Arc::new(MemorySecrets::default()));
        let (a, b) = (open().await.expect("a"), open().await.expect("b"));
        let add = |console: Console, prefix: &'static str| async move {
            for i in 0..15 {
                console
                    .profile_add(
                        &format!("{prefix}{i}"),
                        Tier::Dev,
                        "http://127.0.0.1:1",
                        None,
                        false,
                    )
                    .await?;
            }
            Ok::<_, Error>(())
        };
        let (ra, rb) = tokio::join!(tokio::spawn(add(a.clone(), "a")), tokio::spawn(add(b, "b")));
        ra.expect("task a").expect("adds of a");
        rb.expect("task b").expect("adds of b");
        let list = a.profile_list().await.expect("list");
        assert_eq!(list.profiles.len(), 30);
    }
}
