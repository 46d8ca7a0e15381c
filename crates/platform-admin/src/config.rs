//! platform-admin's configuration file (`--config <file>`, TOML): what the
//! platform team declares and the API only reads, such as backup targets.
//! Credentials named here stay on the server; the API shows ids and names.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use opsdeck_api::backups::{BackupTarget, BackupTargetKind};
use serde::Deserialize;

use crate::error::Error;

/// The recovery point objective of a target that sets none: the
/// platform's plans promise 5 minutes.
pub const DEFAULT_RPO_SECONDS: u64 = 300;

/// The whole file; every section may be left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub backup_targets: Vec<TargetConfig>,
}

/// One `[[backup_targets]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Lowercase letters, digits and `-`; used in paths.
    pub id: String,
    pub kind: BackupTargetKind,
    /// pgBackRest's stanza.
    pub stanza: String,
    /// pgBackRest's configuration file (`--config`).
    pub pgbackrest_config: PathBuf,
    /// The database, for checks (a libpq URL; may hold a password).
    #[serde(default)]
    pub database: Option<String>,
    /// The OS user pgBackRest runs as when platform-admin runs as root
    /// (through `runuser`); `postgres` unless set.
    #[serde(default)]
    pub run_as: Option<String>,
    /// The pgBackRest program; `pgbackrest` on the `PATH` unless set.
    #[serde(default)]
    pub pgbackrest: Option<PathBuf>,
    #[serde(default)]
    pub description: Option<String>,
    /// The recovery point objective, in seconds: a target whose newest
    /// restorable point is older than this is flagged. 300 unless set.
    #[serde(default)]
    pub rpo_objective_seconds: Option<u64>,
    /// PostgreSQL's programs (`pg_ctl`) for restore tests; the newest
    /// `/usr/lib/postgresql/*/bin` unless set.
    #[serde(default)]
    pub pg_bin: Option<PathBuf>,
    /// Where restore tests make their scratch data directories; the
    /// system's temp dir unless set. Needs room for a whole copy.
    #[serde(default)]
    pub scratch_dir: Option<PathBuf>,
    /// The target's data directory, as `pg_ctl -D` starts it (it holds
    /// `postgresql.conf`): a restore stops the server, restores into it
    /// and starts it again. Without it the target cannot be restored.
    #[serde(default)]
    pub pg_data: Option<PathBuf>,
}

impl TargetConfig {
    /// What the API shows of it.
    pub fn public(&self) -> BackupTarget {
        BackupTarget {
            id: self.id.clone(),
            kind: self.kind,
            stanza: self.stanza.clone(),
            description: self.description.clone(),
        }
    }

    pub fn rpo_objective_seconds(&self) -> u64 {
        self.rpo_objective_seconds.unwrap_or(DEFAULT_RPO_SECONDS)
    }

    pub fn run_as(&self) -> &str {
        self.run_as.as_deref().unwrap_or("postgres")
    }

    pub fn program(&self) -> &Path {
        self.pgbackrest
            .as_deref()
            .unwrap_or_else(|| Path::new("pgbackrest"))
    }
}

impl Config {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|err| Error::Config {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
        Config::parse(&text).map_err(|message| Error::Config {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses and checks the file's text: ids well-formed and unique.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|err| err.to_string())?;
        let mut seen = HashSet::new();
        for target in &config.backup_targets {
            let well_formed = !target.id.is_empty()
                && target.id.len() <= 63
                && target
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !well_formed {
                return Err(format!(
                    "backup target id `{}` must be 1 to 63 lowercase letters, digits or `-`",
                    target.id
                ));
            }
            if !seen.insert(target.id.as_str()) {
                return Err(format!(
                    "backup target id `{}` is declared twice",
                    target.id
                ));
            }
            if target.stanza.trim().is_empty() {
                return Err(format!("backup target `{}` has an empty stanza", target.id));
            }
        }
        Ok(config)
    }

    pub fn backup_target(&self, id: &str) -> Option<&TargetConfig> {
        self.backup_targets.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_read_with_its_defaults() {
        let config = Config::parse(
            r#"
            [[backup_targets]]
            id = "main-db"
            kind = "postgresql"
            stanza = "main"
            pgbackrest_config = "/etc/pgbackrest/pgbackrest.conf"
            database = "postgres://backup:secret@127.0.0.1/postgres"
            "#,
        )
        .expect("parses");
        let target = config.backup_target("main-db").expect("declared");
        assert_eq!(target.run_as(), "postgres");
        assert_eq!(target.program(), Path::new("pgbackrest"));
        let shown = serde_json::to_string(&target.public()).expect("json");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn duplicate_and_malformed_ids_are_refused() {
        let twice = "[[backup_targets]]\nid = \"a\"\nkind = \"postgresql\"\nstanza = \"s\"\npgbackrest_config = \"/c\"\n";
        let err = Config::parse(&format!("{twice}{twice}")).expect_err("twice");
        assert!(err.contains("declared twice"), "{err}");
        let err = Config::parse(&twice.replace("\"a\"", "\"A/b\"")).expect_err("malformed");
        assert!(err.contains("lowercase"), "{err}");
        let err =
            Config::parse("[[backup_targets]]\nid = \"a\"\npassword = 1\n").expect_err("unknown");
        assert!(err.contains("unknown field"), "{err}");
    }
}
