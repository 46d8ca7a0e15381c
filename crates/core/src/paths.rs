//! Where Opsdeck keeps its files: the profiles file in the config dir and the
//! local store in the data dir. Both can be moved with environment variables,
//! which is how tests and the sandbox keep to their own temp dirs.

use std::path::PathBuf;

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
