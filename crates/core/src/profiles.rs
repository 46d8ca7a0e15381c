//! Profiles: a named platform environment (tier, admin API URL, later the
//! Prometheus and Alertmanager URLs) kept in `profiles.toml`. Tokens never
//! live here; they are in the OS keyring (see [`crate::secrets`]).

use std::io::Write;
use std::path::Path;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How careful the console must be with an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Dev,
    Staging,
    Prod,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Dev, Tier::Staging, Tier::Prod];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Dev => "dev",
            Tier::Staging => "staging",
            Tier::Prod => "prod",
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dev" => Ok(Tier::Dev),
            "staging" => Ok(Tier::Staging),
            "prod" => Ok(Tier::Prod),
            _ => Err(Error::invalid("tier", "must be dev, staging or prod")),
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Profile {
    pub name: String,
    pub tier: Tier,
    /// Base URL of the Platform Admin API, e.g. `https://admin.example.net`.
    pub admin_url: String,
    /// Prometheus HTTP API base URL, for dashboards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_url: Option<String>,
    /// Alertmanager API base URLs, for alerts and silences: one, or the
    /// members of an HA cluster (their alerts are merged). A hand-written
    /// file may give one as `alertmanager_url = "..."`.
    #[serde(
        default,
        alias = "alertmanager_url",
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub alertmanager_urls: Vec<String>,
    /// Core sends no change through a read-only profile, whatever its
    /// token allows: for looking at production without the means to touch it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// A string or a list of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(url) => vec![url],
        OneOrMany::Many(urls) => urls,
    })
}

/// The monitoring URLs of a profile, as `profile add` and `profile set`
/// take them: `None` leaves a URL as it is; an empty string (or an empty
/// list) clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSettings {
    pub prometheus_url: Option<String>,
    pub alertmanager_urls: Option<Vec<String>>,
    pub read_only: Option<bool>,
}

impl ProfileSettings {
    pub fn is_empty(&self) -> bool {
        self.prometheus_url.is_none()
            && self.alertmanager_urls.is_none()
            && self.read_only.is_none()
    }

    /// Checks every URL given with the admin URL's rules and sets them on
    /// `profile`. A duplicate Alertmanager is refused: the same server
    /// twice would look like an HA pair that is not one.
    pub fn apply(&self, profile: &mut Profile) -> Result<()> {
        if let Some(url) = &self.prometheus_url {
            profile.prometheus_url = if url.trim().is_empty() {
                None
            } else {
                Some(check_url("prometheus_url", url)?)
            };
        }
        if let Some(urls) = &self.alertmanager_urls {
            let mut checked: Vec<String> = Vec::with_capacity(urls.len());
            for url in urls.iter().filter(|u| !u.trim().is_empty()) {
                let url = check_url("alertmanager_urls", url)?;
                if checked.contains(&url) {
                    return Err(Error::invalid(
                        "alertmanager_urls",
                        format!("`{url}` is given twice"),
                    ));
                }
                checked.push(url);
            }
            profile.alertmanager_urls = checked;
        }
        if let Some(read_only) = self.read_only {
            profile.read_only = read_only;
        }
        Ok(())
    }
}

impl Profile {
    /// Refuses when the profile is read-only: what would change something
    /// asks this first, before any confirmation is asked for.
    pub fn writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::ReadOnlyProfile {
                profile: self.name.clone(),
            })
        } else {
            Ok(())
        }
    }

    /// Every URL of the profile with its field name: each one carries the
    /// token or other secrets, so each is checked the same way.
    pub fn urls(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("admin_url", Some(self.admin_url.as_str())),
            ("prometheus_url", self.prometheus_url.as_deref()),
        ]
        .into_iter()
        .filter_map(|(field, url)| url.map(|url| (field, url)))
        .chain(
            self.alertmanager_urls
                .iter()
                .map(|url| ("alertmanager_urls", url.as_str())),
        )
    }

    /// A profile whose fields have been checked.
    pub fn new(name: &str, tier: Tier, admin_url: &str) -> Result<Self> {
        check_name(name)?;
        let admin_url = check_url("admin_url", admin_url)?;
        Ok(Self {
            name: name.to_string(),
            tier,
            admin_url,
            prometheus_url: None,
            alertmanager_urls: Vec::new(),
            read_only: false,
        })
    }
}

/// A profile as the window lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ProfileEntry {
    pub name: String,
    pub tier: Tier,
    pub admin_url: String,
    pub prometheus_url: Option<String>,
    pub alertmanager_urls: Vec<String>,
    pub read_only: bool,
    /// Whether the keyring holds a token for it.
    pub has_token: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ProfileList {
    pub current: Option<String>,
    pub profiles: Vec<ProfileEntry>,
}

/// The contents of `profiles.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default, rename = "profile")]
    pub profiles: Vec<Profile>,
}

impl ProfilesFile {
    /// Reads the file; a missing file is an empty one. A broken file is an
    /// error naming the file and the line, and is left as it is.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let file: Self = toml::from_str(&text).map_err(|e| Error::ProfilesFile {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        // The file may have been written by hand: every rule `profile add`
        // applies holds for what is read, so a token never goes to a plain
        // http address because the check was skipped.
        for p in &file.profiles {
            let refused = |e: Error| Error::ProfilesFile {
                path: path.to_path_buf(),
                message: format!("profile `{}`: {e}", p.name),
            };
            check_name(&p.name).map_err(refused)?;
            for (field, url) in p.urls() {
                check_url(field, url).map_err(refused)?;
            }
        }
        crate::paths::tighten(path)?;
        Ok(file)
    }

    /// Writes the file atomically, readable by the owner only: a crash leaves
    /// the old file or the new one, and two processes saving at once each
    /// write a temp file of their own, so neither renames the other's half.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        crate::paths::private_dir(dir)?;
        let text = toml::to_string_pretty(self).map_err(|e| Error::ProfilesFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        // tempfile creates it 0600 under a random name in the same directory.
        let mut tmp = tempfile::Builder::new()
            .prefix(".profiles.toml.")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(io)?;
        tmp.write_all(text.as_bytes()).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        crate::paths::tighten(path)
    }

    pub fn get(&self, name: &str) -> Result<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::ProfileNotFound { name: name.into() })
    }

    pub fn add(&mut self, profile: Profile) -> Result<()> {
        if self.profiles.iter().any(|p| p.name == profile.name) {
            return Err(Error::ProfileExists { name: profile.name });
        }
        if self.current.is_none() {
            self.current = Some(profile.name.clone());
        }
        self.profiles.push(profile);
        Ok(())
    }

    pub fn remove(&mut self, name: &str) -> Result<Profile> {
        let index = self
            .profiles
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| Error::ProfileNotFound { name: name.into() })?;
        let removed = self.profiles.remove(index);
        // No other profile takes its place: a plain command after this must
        // not act on an environment nobody chose. It asks for a profile.
        if self.current.as_deref() == Some(name) {
            self.current = None;
        }
        Ok(removed)
    }

    pub fn set_current(&mut self, name: &str) -> Result<()> {
        self.get(name)?;
        self.current = Some(name.to_string());
        Ok(())
    }

    /// The named profile, or the current one.
    pub fn resolve(&self, name: Option<&str>) -> Result<&Profile> {
        match name.or(self.current.as_deref()) {
            Some(name) => self.get(name),
            None => Err(Error::NoCurrentProfile),
        }
    }
}

/// An exclusive OS lock on `profiles.toml.lock` beside the profiles file,
/// held for one read-modify-write: the CLI and the window (separate
/// processes) never save over each other's edit. Released when dropped, or
/// by the OS when the process dies, so a crash never leaves it stuck.
#[derive(Debug)]
pub struct ProfilesLock {
    _file: std::fs::File,
}

impl ProfilesLock {
    /// Waits for the lock. Blocking: async callers run it off their threads.
    pub fn acquire(profiles: &Path) -> Result<Self> {
        let dir = profiles.parent().unwrap_or(Path::new("."));
        crate::paths::private_dir(dir)?;
        let path = dir.join(format!(
            "{}.lock",
            profiles
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("profiles.toml")
        ));
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(io)?;
        file.lock().map_err(io)?;
        Ok(Self { _file: file })
    }
}

/// How a file looked when it was last read: a `stat`, no parsing. An
/// atomic save (a new file renamed over the old) changes the inode even
/// within the file system's timestamp granularity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    modified: Option<std::time::SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(meta),
        }
    }
}

/// The stamp of `path`; `None` when it cannot be read (a missing file).
pub(crate) fn stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path).ok().map(|meta| Stamp::of(&meta))
}

/// Tells when `profiles.toml` changed on disk: a profile added, removed or
/// edited by the CLI, by hand or by another window. It looks (a `stat`,
/// off the async threads) every `every`; the caller reads the file again.
#[derive(Debug)]
pub struct ProfilesWatch {
    path: std::path::PathBuf,
    seen: Option<Stamp>,
    every: std::time::Duration,
}

impl ProfilesWatch {
    /// Watches `path` from how it looks now.
    pub fn new(path: std::path::PathBuf, every: std::time::Duration) -> Self {
        Self {
            seen: stamp(&path),
            path,
            every,
        }
    }

    /// Waits until the file differs from when it was last seen (created,
    /// replaced, edited or deleted).
    pub async fn changed(&mut self) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = tokio::fs::metadata(&self.path)
                .await
                .ok()
                .map(|meta| Stamp::of(&meta));
            if now != self.seen {
                self.seen = now;
                return;
            }
        }
    }
}

fn check_name(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty() || name.len() > 64 || !ok_chars || name.starts_with(['-', '.']) {
        return Err(Error::invalid(
            "name",
            "use 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit",
        ));
    }
    Ok(())
}

/// An http(s) URL without credentials; plain http only to a loopback host,
/// because the token travels with every request.
pub fn check_url(field: &str, raw: &str) -> Result<String> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        let message = match e {
            // The parser's name for a missing scheme means nothing to people.
            url::ParseError::RelativeUrlWithoutBase => format!(
                "`{raw}` is not a full URL: write it with its scheme, like https://admin.example.net"
            ),
            other => format!("`{raw}` is not a URL ({other})"),
        };
        Error::invalid(field, message)
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            field,
            "must not contain credentials; the token goes to the keyring",
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::invalid(
                field,
                "must use https (plain http is allowed only to a loopback address)",
            ))
        }
        other => {
            return Err(Error::invalid(
                field,
                format!("must be an http(s) URL, not `{other}:`"),
            ))
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_and_saved_file_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p/profiles.toml");
        let mut file = ProfilesFile::load(&path).expect("load missing");
        assert!(file.profiles.is_empty());
        file.add(Profile::new("sandbox", Tier::Dev, "http://127.0.0.1:8080/").expect("profile"))
            .expect("add");
        file.save(&path).expect("save");
        let back = ProfilesFile::load(&path).expect("load");
        assert_eq!(back.current.as_deref(), Some("sandbox"));
        assert_eq!(back.profiles[0].admin_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn broken_file_names_file_and_line_and_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("profiles.toml");
        let text =
            "current = \"a\"\n[[profile]]\nname = \"a\"\ntier = \"prood\"\nadmin_url = \"x\"\n";
        std::fs::write(&path, text).expect("write");
        let err = ProfilesFile::load(&path).expect_err("must fail");
        let message = err.to_string();
        assert!(message.contains("profiles.toml"), "{message}");
        assert!(message.contains("line 4"), "{message}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_url("admin_url", "http://127.0.0.1:9000").is_ok());
        assert!(check_url("admin_url", "http://localhost:9000").is_ok());
        assert!(check_url("admin_url", "https://admin.example.net").is_ok());
        for bad in [
            "http://admin.example.net",
            "ftp://x",
            "not a url",
            "https://u:p@x.net",
        ] {
            assert!(check_url("admin_url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_hand_written_plain_http_url_to_a_remote_host_is_refused_on_reading() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("profiles.toml");
        for (field, url) in [
            ("admin_url", "http://admin.example.net"),
            ("prometheus_url", "http://prom.example.net:9090"),
            ("alertmanager_url", "https://u:p@am.example.net"),
        ] {
            let mut text = String::from(
                "current = \"a\"\n[[profile]]\nname = \"a\"\ntier = \"prod\"\nadmin_url = \"https://admin.example.net\"\n",
            );
            if field == "admin_url" {
                text = text.replace("https://admin.example.net", url);
            } else {
                text.push_str(&format!("{field} = \"{url}\"\n"));
            }
            std::fs::write(&path, &text).expect("write");
            let err = ProfilesFile::load(&path).expect_err(url);
            assert!(matches!(err, Error::ProfilesFile { .. }), "{err:?}");
            let message = err.to_string();
            assert!(message.contains("profiles.toml"), "{message}");
            assert!(message.contains("profile `a`"), "{message}");
            assert!(message.contains(field), "{message}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_written_owner_only_in_an_owner_only_dir_and_tightened_on_reading() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config/profiles.toml");
        let mut file = ProfilesFile::default();
        file.add(Profile::new("a", Tier::Dev, "http://127.0.0.1:1").expect("p"))
            .expect("add");
        file.save(&path).expect("save");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("config")), 0o700);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        ProfilesFile::load(&path).expect("load");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn concurrent_saves_never_clobber_each_others_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("profiles.toml");
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut file = ProfilesFile::default();
                    let profile =
                        Profile::new(&format!("p{i}"), Tier::Dev, "http://127.0.0.1:1").expect("p");
                    file.add(profile).expect("add");
                    for _ in 0..50 {
                        file.save(&path)?;
                    }
                    Ok::<_, Error>(())
                })
            })
            .collect();
        for w in writers {
            w.join()
                .expect("writer thread")
                .expect("every save succeeds");
        }
        let back = ProfilesFile::load(&path).expect("a whole file");
        assert_eq!(back.profiles.len(), 1);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .filter(|n| n != "profiles.toml")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn concurrent_edits_under_the_lock_never_lose_a_profile() {
        // Each writer opens the lock file itself, as another process would.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config/profiles.toml");
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for j in 0..10 {
                        let _lock = ProfilesLock::acquire(&path)?;
                        let mut file = ProfilesFile::load(&path)?;
                        let name = format!("p{i}-{j}");
                        file.add(Profile::new(&name, Tier::Dev, "http://127.0.0.1:1")?)?;
                        // Widen the window between read and write.
                        std::thread::yield_now();
                        file.save(&path)?;
                    }
                    Ok::<_, Error>(())
                })
            })
            .collect();
        for w in writers {
            w.join()
                .expect("writer thread")
                .expect("every edit succeeds");
        }
        let back = ProfilesFile::load(&path).expect("load");
        assert_eq!(back.profiles.len(), 80);
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_is_held_across_processes() {
        // A second process (flock(1)) cannot take the lock while we hold it,
        // and can once we let go.
        let flock = std::process::Command::new("flock")
            .arg("--version")
            .output();
        if flock.is_err() {
            eprintln!("flock(1) is not installed; skipped");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("profiles.toml");
        let lock_file = dir.path().join("profiles.toml.lock");
        let try_from_another_process = || {
            std::process::Command::new("flock")
                .args(["--nonblock", "--exclusive"])
                .arg(&lock_file)
                .arg("true")
                .status()
                .expect("run flock")
                .success()
        };
        let held = ProfilesLock::acquire(&path).expect("lock");
        assert!(!try_from_another_process(), "the lock keeps others out");
        drop(held);
        assert!(try_from_another_process(), "and is released when dropped");
    }

    #[test]
    fn removing_the_current_profile_leaves_none_current_rather_than_picking_another() {
        let mut file = ProfilesFile::default();
        for name in ["a", "b"] {
            file.add(Profile::new(name, Tier::Dev, "http://127.0.0.1:1").expect("p"))
                .expect("add");
        }
        file.remove("b").expect("remove another");
        assert_eq!(file.current.as_deref(), Some("a"));
        file.add(Profile::new("b", Tier::Dev, "http://127.0.0.1:1").expect("p"))
            .expect("add again");
        file.remove("a").expect("remove the current");
        assert_eq!(file.current, None);
        assert!(matches!(file.resolve(None), Err(Error::NoCurrentProfile)));
        assert!(matches!(
            file.remove("zz"),
            Err(Error::ProfileNotFound { .. })
        ));
    }

    #[test]
    fn bad_profile_names_are_rejected() {
        for bad in ["", "-x", "a b", "a/b"] {
            assert!(
                Profile::new(bad, Tier::Dev, "http://127.0.0.1:1").is_err(),
                "{bad:?}"
            );
        }
    }
}
