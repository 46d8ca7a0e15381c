//! Where Opsdeck keeps its files: the profiles file in the config dir and the
//! local store in the data dir. Both can be moved with environment variables,
//! which is how tests and the sandbox keep to their own temp dirs. The files
//! are the user's alone: created `0600` in `0700` directories, and tightened
//! when found looser.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Overrides the config dir (profiles.toml).
pub const CONFIG_DIR_ENV: &str = "OPSDECK_CONFIG_DIR";
/// Overrides the data dir (the local SQLite store).
pub const DATA_DIR_ENV: &str = "OPSDECK_DATA_DIR";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl Paths {
    /// The platform's directories, or the ones the environment names. With only
    /// `OPSDECK_CONFIG_DIR` set, the data dir follows it, so one variable is
    /// enough to keep a whole installation apart.
    pub fn from_env() -> Result<Self> {
        let config = std::env::var_os(CONFIG_DIR_ENV).map(PathBuf::from);
        let data = std::env::var_os(DATA_DIR_ENV).map(PathBuf::from);
        match (config, data) {
            (Some(config_dir), Some(data_dir)) => Ok(Self {
                config_dir,
                data_dir,
            }),
            (Some(config_dir), None) => Ok(Self {
                data_dir: config_dir.join("data"),
                config_dir,
            }),
            (config, data) => {
                let dirs = directories::ProjectDirs::from("dev", "Opsdeck", "opsdeck")
                    .ok_or(Error::NoHomeDir)?;
                Ok(Self {
                    config_dir: config.unwrap_or_else(|| dirs.config_dir().to_path_buf()),
                    data_dir: data.unwrap_or_else(|| dirs.data_dir().to_path_buf()),
                })
            }
        }
    }

    /// Both directories under one root; for tests.
    pub fn under(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
        }
    }

    pub fn profiles_file(&self) -> PathBuf {
        self.config_dir.join("profiles.toml")
    }

    pub fn store_file(&self) -> PathBuf {
        self.data_dir.join("opsdeck.db")
    }
}

/// Creates `dir` and its missing parents readable by the owner only (`0700`).
/// A directory that exists is left as it is: it may be one the user named
/// and shares (`OPSDECK_CONFIG_DIR=/srv/ops`); the files in it are private.
pub fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates `path` empty and owner-only (`0600`) when it is missing, and
/// takes group and other permissions away when it exists with them.
pub fn private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    tighten(path)
}

/// Takes group and other permissions away from `path` if it has any; a
/// missing file is nothing to tighten.
pub fn tighten(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let metadata = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::info!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "tightening to owner only");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
                .map_err(io)?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Prepares the local store's file: its directory created `0700`, the
/// file `0600`, and a file or SQLite companion (`-wal`, `-shm`) left looser
/// by an older version tightened.
pub fn private_store(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    private_file(path)?;
    for suffix in ["-wal", "-shm"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        tighten(Path::new(&companion))?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn new_dirs_and_files_are_the_owners_alone() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a/b");
        private_dir(&dir).expect("dir");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        let file = dir.join("f");
        private_file(&file).expect("file");
        assert_eq!(mode(&file), 0o600);
    }

    #[tokio::test]
    async fn the_local_store_is_created_owner_only_and_tightened_when_looser() {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().join("data/opsdeck.db");
        let store = crate::store::Store::open(&path).await.expect("store");
        store
            .save_tenants("p", &[], chrono::Utc::now())
            .await
            .expect("write");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&root.path().join("data")), 0o700);
        for suffix in ["-wal", "-shm"] {
            let companion = root.path().join(format!("data/opsdeck.db{suffix}"));
            if companion.exists() {
                assert_eq!(mode(&companion), 0o600, "{suffix}");
            }
        }
        drop(store);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        crate::store::Store::open(&path).await.expect("reopen");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_looser_file_is_tightened_and_keeps_its_content() {
        let root = tempfile::tempdir().expect("tempdir");
        let file = root.path().join("f");
        std::fs::write(&file, "keep").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).expect("chmod");
        private_file(&file).expect("tighten");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "keep");
    }
}
