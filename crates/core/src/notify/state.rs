//! What the watcher already told the user, kept in a file per profile and
//! server in the data dir, so a restart repeats nothing. The file is
//! replaced whole (written beside it, then renamed), owner-only. One that
//! cannot be read is moved aside and reported; the watcher starts afresh,
//! which costs at most one summary of what fires.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{GroupNotice, Severity};
use crate::error::{Error, Result};
use crate::store::server_key;

/// The format of the file; another one is read as unreadable.
const VERSION: u32 = 1;

/// The groups told about and still firing, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notified {
    pub groups: BTreeMap<String, Shown>,
}

/// A group told about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    pub title: String,
    pub severity: Severity,
    /// Its firing alerts, as last seen.
    pub fingerprints: BTreeSet<String>,
    pub critical: usize,
    /// Its oldest alert.
    pub first: String,
    pub shown_at: DateTime<Utc>,
}

impl Shown {
    pub(crate) fn notice(&self, key: &str) -> GroupNotice {
        GroupNotice {
            key: key.to_string(),
            title: self.title.clone(),
            severity: self.severity,
            alerts: self.fingerprints.len(),
            summary: None,
            fingerprint: self.first.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    profile: String,
    servers: Vec<String>,
    saved_at: DateTime<Utc>,
    groups: BTreeMap<String, Shown>,
}

/// What [`StateFile::load`] found.
#[derive(Debug)]
pub struct Loaded {
    pub notified: Notified,
    /// Why the file was not used, when it existed and could not be read.
    pub broken: Option<String>,
}

/// The file of one profile and its Alertmanagers.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    profile: String,
    servers: Vec<String>,
}

impl StateFile {
    /// The file for `profile` watching `alertmanager_urls`, under
    /// `data_dir/notifications/`. Another set of servers is another file:
    /// what was told about one says nothing about the other.
    pub fn new(data_dir: &Path, profile: &str, alertmanager_urls: &[String]) -> Self {
        let mut servers: Vec<String> = alertmanager_urls.iter().map(|u| server_key(u)).collect();
        servers.sort();
        servers.dedup();
        let digest = Sha256::digest(servers.join("\n").as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            path: data_dir
                .join("notifications")
                .join(format!("{profile}-{hex}.json")),
            profile: profile.to_string(),
            servers,
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was told before: nothing when there is no file; a file that
    /// cannot be read is moved aside to `<name>.broken` and reported.
    pub fn load(&self) -> Loaded {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Loaded {
                    notified: Notified::default(),
                    broken: None,
                }
            }
            Err(e) => return self.broken(format!("cannot read it: {e}")),
        };
        match serde_json::from_slice::<OnDisk>(&bytes) {
            Ok(disk) if disk.version == VERSION => Loaded {
                notified: Notified {
                    groups: disk.groups,
                },
                broken: None,
            },
            Ok(disk) => self.broken(format!("it is of format {}, not {VERSION}", disk.version)),
            Err(e) => self.broken(format!("it is not what Opsdeck wrote: {e}")),
        }
    }

    fn broken(&self, why: String) -> Loaded {
        let mut aside = self.path.as_os_str().to_owned();
        aside.push(".broken");
        let message = match std::fs::rename(&self.path, &aside) {
            Ok(()) => format!(
                "{}: {why}; moved it to {} and started afresh",
                self.path.display(),
                Path::new(&aside).display()
            ),
            Err(e) => format!(
                "{}: {why}; started afresh (cannot move it aside: {e})",
                self.path.display()
            ),
        };
        tracing::warn!("{message}");
        Loaded {
            notified: Notified::default(),
            broken: Some(message),
        }
    }

    /// Replaces the file with `notified`: written to a temporary file in
    /// the same directory, flushed, then renamed over it, so a crash leaves
    /// the old file or the new one, never half of one.
    pub fn save(&self, notified: &Notified) -> Result<()> {
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        crate::paths::private_dir(dir)?;
        let disk = OnDisk {
            version: VERSION,
            profile: self.profile.clone(),
            servers: self.servers.clone(),
            saved_at: Utc::now(),
            groups: notified.groups.clone(),
        };
        let json = serde_json::to_vec(&disk).map_err(|e| io(std::io::Error::other(e)))?;
        // tempfile creates it 0600.
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        file.write_all(&json).map_err(io)?;
        file.as_file().sync_all().map_err(io)?;
        file.persist(&self.path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(title: &str) -> Shown {
        Shown {
            title: title.into(),
            severity: Severity::Critical,
            fingerprints: ["f1".to_string()].into(),
            critical: 1,
            first: "f1".into(),
            shown_at: Utc::now(),
        }
    }

    #[test]
    fn what_was_told_survives_a_restart_in_an_owner_only_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile::new(dir.path(), "prod", &["http://127.0.0.1:9093/".into()]);
        let empty = file.load();
        assert!(empty.broken.is_none() && empty.notified.groups.is_empty());
        let mut notified = Notified::default();
        notified
            .groups
            .insert("{alertname=\"A\"}".into(), shown("A"));
        file.save(&notified).expect("save");
        notified
            .groups
            .insert("{alertname=\"B\"}".into(), shown("B"));
        file.save(&notified).expect("save again");

        let again = StateFile::new(dir.path(), "prod", &["http://127.0.0.1:9093".into()]);
        assert_eq!(again.path(), file.path(), "one server, two spellings");
        let loaded = again.load();
        assert!(loaded.broken.is_none());
        assert_eq!(loaded.notified, notified);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(file.path().parent().expect("dir"))
            .expect("list")
            .count();
        assert_eq!(leftovers, 1, "temporary files left behind");
    }

    #[test]
    fn each_profile_and_server_has_its_own_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = StateFile::new(dir.path(), "prod", &["http://127.0.0.1:1".into()]);
        let b = StateFile::new(dir.path(), "prod", &["http://127.0.0.1:2".into()]);
        let c = StateFile::new(dir.path(), "staging", &["http://127.0.0.1:1".into()]);
        let pair = StateFile::new(
            dir.path(),
            "prod",
            &["http://127.0.0.1:2".into(), "http://127.0.0.1:1".into()],
        );
        let same_pair = StateFile::new(
            dir.path(),
            "prod",
            &["http://127.0.0.1:1".into(), "http://127.0.0.1:2".into()],
        );
        assert_ne!(a.path(), b.path());
        assert_ne!(a.path(), c.path());
        assert_ne!(a.path(), pair.path());
        assert_eq!(pair.path(), same_pair.path());
    }

    #[test]
    fn a_broken_file_is_reported_moved_aside_and_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile::new(dir.path(), "prod", &["http://127.0.0.1:1".into()]);
        std::fs::create_dir_all(file.path().parent().expect("dir")).expect("mkdir");
        for garbage in [&b"{not json"[..], br#"{"version":99,"profile":"p","servers":[],"saved_at":"2026-01-01T00:00:00Z","groups":{}}"#] {
            std::fs::write(file.path(), garbage).expect("write garbage");
            let loaded = file.load();
            let why = loaded.broken.expect("reported");
            assert!(why.contains("started afresh"), "{why}");
            assert!(loaded.notified.groups.is_empty());
            assert!(!file.path().exists());
        }
        let mut aside = file.path().as_os_str().to_owned();
        aside.push(".broken");
        assert!(Path::new(&aside).exists());
        file.save(&Notified::default()).expect("replaced");
        assert!(file.load().broken.is_none());
    }
}
