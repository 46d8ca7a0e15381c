//! platform-admin's configuration file (`--config <file>`, TOML): what the
//! platform team declares and the API only reads, such as backup targets
//! and clusters.
//! Credentials named here stay on the server; the API shows ids and names.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use std::time::Duration;

use opsdeck_api::backups::{BackupTarget, BackupTargetKind};
use opsdeck_api::clusters::{ClusterKind, ClusterSummary};
use opsdeck_api::incidents::{Severity, TargetKind};
use serde::Deserialize;

use crate::error::Error;

/// The recovery point objective of a target that sets none: the
/// platform's plans promise 5 minutes.
pub const DEFAULT_RPO_SECONDS: u64 = 300;

/// The whole file; every section may be left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Answers a request that carries `x-opsdeck-fault: <5xx status>` with
    /// that status, before anything else: for drills and the sandbox's
    /// traffic, so the error-rate alert can be made to fire. Off unless set.
    #[serde(default)]
    pub fault_injection: bool,
    #[serde(default)]
    pub backup_targets: Vec<TargetConfig>,
    #[serde(default)]
    pub clusters: Vec<ClusterConfig>,
    /// `[incidents]`: targets per severity and the escalation list.
    #[serde(default)]
    pub incidents: IncidentsConfig,
    /// `[monitoring]`: the platform's Prometheus (playbook checks) and
    /// Alertmanager (maintenance windows, playbook silences).
    #[serde(default)]
    pub monitoring: MonitoringConfig,
    /// `[two_person_rule]`: whether destructive actions need a second
    /// person's approval outside maintenance windows.
    #[serde(default)]
    pub two_person_rule: TwoPersonConfig,
}

/// The role an approver holds unless the file names another.
pub const DEFAULT_APPROVER_ROLE: &str = "platform-admin";

/// How long a request for approval stays open, and a grant usable, unless
/// the file says otherwise: 30 minutes.
pub const DEFAULT_APPROVAL_EXPIRY: Duration = Duration::from_secs(30 * 60);

/// `[two_person_rule]`: outside a maintenance window, a destructive action
/// (restore, failover, switchover, tenant delete) needs an approval granted
/// by a second person holding `role`. Off unless `enabled`: the platform
/// team turns it on for production.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwoPersonConfig {
    #[serde(default)]
    pub enabled: bool,
    /// The role an approver must hold in a binding on the platform;
    /// `platform-admin` unless set.
    #[serde(default)]
    pub role: Option<String>,
    /// How long after it is asked for an approval can be granted and used;
    /// 30m unless set.
    #[serde(default)]
    pub expires_after: Option<Span>,
}

impl TwoPersonConfig {
    pub fn role(&self) -> &str {
        self.role.as_deref().unwrap_or(DEFAULT_APPROVER_ROLE)
    }

    pub fn expires_after(&self) -> Duration {
        self.expires_after.map_or(DEFAULT_APPROVAL_EXPIRY, |s| s.0)
    }
}

/// `[monitoring]`: the platform's Prometheus (instant queries of playbook
/// `check` and `wait_until` steps) and Alertmanager (silences a playbook
/// creates). Either may be left out; a step that needs it then fails,
/// saying so.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringConfig {
    #[serde(default)]
    pub prometheus_url: Option<url::Url>,
    #[serde(default)]
    pub alertmanager_url: Option<url::Url>,
}

/// `[incidents]`: how fast incidents must be acknowledged, mitigated and
/// resolved, and who an unacknowledged P1 or P2 goes to next.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentsConfig {
    /// Users (emails), in the order an unacknowledged incident is handed
    /// on; the last one keeps getting it.
    #[serde(default)]
    pub escalation: Vec<String>,
    /// How often the escalation sweep looks; 30s unless set.
    #[serde(default)]
    pub sweep_every: Option<Span>,
    /// Per severity (`[incidents.targets.P1]`); what a severity leaves out
    /// keeps its default.
    #[serde(default)]
    pub targets: std::collections::BTreeMap<Severity, TargetsConfig>,
}

/// `[incidents.targets.P1]`: `acknowledge = "5m"`, `mitigate = "30m"`,
/// `resolve = "4h"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsConfig {
    pub acknowledge: Option<Span>,
    pub mitigate: Option<Span>,
    pub resolve: Option<Span>,
}

/// The three targets of a severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub acknowledge: Duration,
    pub mitigate: Duration,
    pub resolve: Duration,
}

impl Targets {
    pub fn of(&self, kind: TargetKind) -> Duration {
        match kind {
            TargetKind::Acknowledge => self.acknowledge,
            TargetKind::Mitigate => self.mitigate,
            TargetKind::Resolve => self.resolve,
        }
    }
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// The targets a platform gets unless it sets its own.
pub fn default_targets(severity: Severity) -> Targets {
    let (ack, mitigate, resolve) = match severity {
        Severity::P1 => (5 * MINUTE, 30 * MINUTE, 4 * HOUR),
        Severity::P2 => (15 * MINUTE, HOUR, 8 * HOUR),
        Severity::P3 => (HOUR, 8 * HOUR, 3 * DAY),
        Severity::P4 => (4 * HOUR, DAY, 7 * DAY),
    };
    Targets {
        acknowledge: Duration::from_secs(ack),
        mitigate: Duration::from_secs(mitigate),
        resolve: Duration::from_secs(resolve),
    }
}

impl IncidentsConfig {
    pub fn targets(&self, severity: Severity) -> Targets {
        let default = default_targets(severity);
        match self.targets.get(&severity) {
            None => default,
            Some(set) => Targets {
                acknowledge: set.acknowledge.map_or(default.acknowledge, |s| s.0),
                mitigate: set.mitigate.map_or(default.mitigate, |s| s.0),
                resolve: set.resolve.map_or(default.resolve, |s| s.0),
            },
        }
    }

    pub fn sweep_every(&self) -> Duration {
        self.sweep_every.map_or(Duration::from_secs(30), |s| s.0)
    }
}

/// A duration written `90s`, `5m`, `4h`, `1d` or `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_span(&text)
            .map(Span)
            .map_err(serde::de::Error::custom)
    }
}

/// Reads `90s`, `5m`, `4h`, `1d`, `1h30m`; never zero.
pub fn parse_span(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration like 90s, 5m, 4h or 1h30m");
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => DAY,
            'h' => HOUR,
            'm' => MINUTE,
            's' => 1,
            _ => return Err(invalid()),
        };
        let n: u64 = number.parse().map_err(|_| invalid())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(invalid)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

/// One `[[clusters]]`: a replicated data store whose failovers the
/// console runs. (Unknown fields are refused by the manager's part, which
/// sees every field this part does not take.)
#[derive(Debug, Clone, Deserialize)]
pub struct ClusterConfig {
    /// Lowercase letters, digits and `-`; used in paths.
    pub id: String,
    #[serde(flatten)]
    pub manager: Manager,
    #[serde(default)]
    pub description: Option<String>,
    /// Largest replication lag, in bytes, of a candidate that passes the
    /// preflight unforced; 1 MiB unless set.
    #[serde(default)]
    pub max_lag_bytes: Option<u64>,
    /// Largest lag in seconds, where it is known; 10 unless set.
    #[serde(default)]
    pub max_lag_seconds: Option<f64>,
    /// How long a job waits for the new primary to be reported and take a
    /// write; 60 s unless set.
    #[serde(default)]
    pub failover_timeout_seconds: Option<u64>,
}

/// What manages the cluster, by `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Manager {
    RedisSentinel(SentinelConfig),
    Patroni(PatroniConfig),
}

/// `kind = "redis-sentinel"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelConfig {
    /// `host:port` of each Sentinel.
    pub sentinels: Vec<String>,
    /// The master name the Sentinels monitor.
    pub master_name: String,
    /// The Redis servers' password (`requirepass`), if they need one.
    #[serde(default)]
    pub password: Option<String>,
    /// The Sentinels' own password, if they need one.
    #[serde(default)]
    pub sentinel_password: Option<String>,
}

/// `kind = "patroni"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatroniConfig {
    /// The base URL of each member's REST API (`http://10.0.0.5:8008`).
    pub patroni: Vec<String>,
    /// Patroni's `scope`, as the console names the cluster.
    #[serde(default)]
    pub scope: Option<String>,
    /// The libpq URL of the post-check write, `{host}` and `{port}` filled
    /// with the new leader's (may hold a password).
    pub database: String,
    /// Credentials for Patroni's REST API (`restapi.authentication`).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

impl ClusterConfig {
    /// What the API shows of it.
    pub fn public(&self) -> ClusterSummary {
        ClusterSummary {
            id: self.id.clone(),
            kind: self.kind(),
            name: self.name().to_string(),
            description: self.description.clone(),
        }
    }

    pub fn kind(&self) -> ClusterKind {
        match self.manager {
            Manager::RedisSentinel(_) => ClusterKind::RedisSentinel,
            Manager::Patroni(_) => ClusterKind::Patroni,
        }
    }

    /// Sentinel's master name, Patroni's scope (the id when none is set).
    pub fn name(&self) -> &str {
        match &self.manager {
            Manager::RedisSentinel(s) => &s.master_name,
            Manager::Patroni(p) => p.scope.as_deref().unwrap_or(&self.id),
        }
    }

    pub fn max_lag_bytes(&self) -> u64 {
        self.max_lag_bytes.unwrap_or(1024 * 1024)
    }

    pub fn max_lag_seconds(&self) -> f64 {
        self.max_lag_seconds.unwrap_or(10.0)
    }

    pub fn failover_timeout(&self) -> Duration {
        Duration::from_secs(self.failover_timeout_seconds.unwrap_or(60))
    }
}

/// One `[[backup_targets]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Lowercase letters, digits and `-`; used in paths.
    pub id: String,
    pub kind: BackupTargetKind,
    /// pgBackRest's stanza (`postgresql`).
    #[serde(default)]
    pub stanza: Option<String>,
    /// pgBackRest's configuration file (`--config`; `postgresql`).
    #[serde(default)]
    pub pgbackrest_config: Option<PathBuf>,
    /// The database (a libpq URL; may hold a password): for checks of a
    /// `postgresql` target, what a `pg_dump` target dumps.
    #[serde(default)]
    pub database: Option<String>,
    /// `pg_dump`: the database to dump, when not the URL's own.
    #[serde(default)]
    pub dump_database: Option<String>,
    /// `pg_dump` and `redis_rdb`: the directory on the server their backup
    /// files (and a `.json` manifest beside each) are kept in.
    #[serde(default)]
    pub backup_dir: Option<PathBuf>,
    /// `redis_rdb`: the Redis server, `host:port`.
    #[serde(default)]
    pub address: Option<String>,
    /// `redis_rdb`: its password (`requirepass`), if it needs one.
    #[serde(default)]
    pub password: Option<String>,
    /// `redis_rdb`: the Redis server's `dir`, where `BGSAVE` writes.
    #[serde(default)]
    pub rdb_dir: Option<PathBuf>,
    /// `redis_rdb`: its `dbfilename`; `dump.rdb` unless set.
    #[serde(default)]
    pub rdb_filename: Option<String>,
    /// `redis_rdb`: the `redis-check-rdb` program; on the `PATH` unless set.
    #[serde(default)]
    pub redis_check_rdb: Option<PathBuf>,
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
    /// The `[[clusters]]` id of the Patroni cluster whose leader this
    /// target backs up, instead of `pg_data`: a restore pauses Patroni,
    /// restores the leader's data directory (PostgreSQL says where it is)
    /// and has Patroni rebuild the replicas from it.
    #[serde(default)]
    pub cluster: Option<String>,
    /// `[backup_targets.retention]`: what `pgbackrest expire` keeps after
    /// each backup; the plan's (daily full backups kept a week, weekly ones
    /// a month) unless set.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// How often a verification (repository check and restore test) is
    /// queued on its own (`30d`): when the last verify job of the target,
    /// whoever started it, is older than this. Never unless set.
    #[serde(default)]
    pub verify_every: Option<Span>,
}

/// How full backups are counted for retention, as pgBackRest's
/// `repo-retention-full-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionType {
    /// `full` is a number of days.
    #[default]
    Time,
    /// `full` is a number of full backups.
    Count,
}

/// `[backup_targets.retention]`: `full = 7`, `full_type = "time"`,
/// `weekly_days = 30`. The newest backup whose verification passed is
/// kept whatever these say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Full backups kept: days (`time`) or backups (`count`); at least 1.
    #[serde(default = "default_full")]
    pub full: u32,
    #[serde(default)]
    pub full_type: RetentionType,
    /// For this many days, the newest full backup of each week is kept too
    /// (ISO weeks, UTC); 0 keeps none beyond `full`.
    #[serde(default = "default_weekly_days")]
    pub weekly_days: u32,
}

fn default_full() -> u32 {
    7
}

fn default_weekly_days() -> u32 {
    30
}

impl Default for RetentionConfig {
    fn default() -> RetentionConfig {
        RetentionConfig {
            full: default_full(),
            full_type: RetentionType::Time,
            weekly_days: default_weekly_days(),
        }
    }
}

impl TargetConfig {
    /// What the API shows of it.
    pub fn public(&self) -> BackupTarget {
        BackupTarget {
            id: self.id.clone(),
            kind: self.kind,
            stanza: self.stanza.clone(),
            description: self.description.clone(),
            verify_every_seconds: self.verify_every.map(|s| s.0.as_secs()),
            next_verification_at: None,
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

    /// pgBackRest's stanza (`Config::parse` made sure a `postgresql`
    /// target has one).
    pub fn stanza(&self) -> &str {
        self.stanza.as_deref().unwrap_or_default()
    }

    /// pgBackRest's configuration file (checked like the stanza).
    pub fn pgbackrest_config(&self) -> &Path {
        self.pgbackrest_config
            .as_deref()
            .unwrap_or_else(|| Path::new(""))
    }

    /// The RDB file `BGSAVE` writes.
    pub fn rdb_file(&self) -> PathBuf {
        self.rdb_dir
            .clone()
            .unwrap_or_default()
            .join(self.rdb_filename.as_deref().unwrap_or("dump.rdb"))
    }

    pub fn redis_check_rdb(&self) -> &Path {
        self.redis_check_rdb
            .as_deref()
            .unwrap_or_else(|| Path::new("redis-check-rdb"))
    }

    /// Why a restore of it cannot be run from here; `None` when it can:
    /// the server it restores is named, as a Patroni cluster or as a data
    /// directory with the database its first write is timed on.
    pub fn unrestorable(&self) -> Option<String> {
        if self.kind != BackupTargetKind::Postgresql {
            return Some(format!(
                "`{}` is a {} target: its backups are files on the server, restored by hand (pg_restore, or the RDB file in Redis's dir); this server restores only pgBackRest targets",
                self.id,
                self.kind.as_str()
            ));
        }
        if self.cluster.is_some() || (self.pg_data.is_some() && self.database.is_some()) {
            return None;
        }
        Some(format!(
            "`{}` cannot be restored from here: the configuration file names neither the Patroni cluster it backs up (cluster) nor its pg_data and database",
            self.id
        ))
    }

    /// What a target of its kind must set and must not, in words: `None`
    /// when it is well declared.
    fn misdeclared(&self) -> Option<String> {
        let set = |name: &'static str, present: bool| present.then_some(name);
        let pgbackrest = [
            set("stanza", self.stanza.is_some()),
            set("pgbackrest_config", self.pgbackrest_config.is_some()),
            set("pgbackrest", self.pgbackrest.is_some()),
            set("run_as", self.run_as.is_some()),
            set("scratch_dir", self.scratch_dir.is_some()),
            set("pg_data", self.pg_data.is_some()),
            set("cluster", self.cluster.is_some()),
        ];
        let dump = [set("dump_database", self.dump_database.is_some())];
        let files = [set("backup_dir", self.backup_dir.is_some())];
        let redis = [
            set("address", self.address.is_some()),
            set("password", self.password.is_some()),
            set("rdb_dir", self.rdb_dir.is_some()),
            set("rdb_filename", self.rdb_filename.is_some()),
            set("redis_check_rdb", self.redis_check_rdb.is_some()),
        ];
        let (required, foreign): (Vec<(&str, bool)>, Vec<Option<&str>>) = match self.kind {
            BackupTargetKind::Postgresql => (
                vec![
                    (
                        "stanza",
                        self.stanza.as_deref().is_some_and(|s| !s.trim().is_empty()),
                    ),
                    ("pgbackrest_config", self.pgbackrest_config.is_some()),
                ],
                [&dump[..], &files[..], &redis[..]].concat(),
            ),
            BackupTargetKind::PgDump => (
                vec![
                    ("database", self.database.is_some()),
                    ("backup_dir", self.backup_dir.is_some()),
                ],
                [&pgbackrest[..], &redis[..]].concat(),
            ),
            BackupTargetKind::RedisRdb => (
                vec![
                    ("address", self.address.is_some()),
                    ("rdb_dir", self.rdb_dir.is_some()),
                    ("backup_dir", self.backup_dir.is_some()),
                ],
                [
                    &pgbackrest[..],
                    &dump[..],
                    &[
                        set("database", self.database.is_some()),
                        set("pg_bin", self.pg_bin.is_some()),
                    ][..],
                ]
                .concat(),
            ),
        };
        let kind = self.kind.as_str();
        let missing: Vec<&str> = required
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Some(format!(
                "backup target `{}` (kind `{kind}`) needs {}",
                self.id,
                missing.join(", ")
            ));
        }
        let foreign: Vec<&str> = foreign.into_iter().flatten().collect();
        if !foreign.is_empty() {
            return Some(format!(
                "backup target `{}` (kind `{kind}`) does not take {}",
                self.id,
                foreign.join(", ")
            ));
        }
        if let Some(address) = &self.address {
            if crate::clusters::split_host_port(address).is_none() {
                return Some(format!(
                    "backup target `{}`: address `{address}` is not host:port",
                    self.id
                ));
            }
        }
        None
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
            if !well_formed(&target.id) {
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
            if let Some(why) = target.misdeclared() {
                return Err(why);
            }
            if let Some(id) = &target.cluster {
                match config.clusters.iter().find(|c| &c.id == id) {
                    Some(c) if matches!(c.manager, Manager::Patroni(_)) => {}
                    Some(_) => {
                        return Err(format!(
                            "backup target `{}`: cluster `{id}` is not a Patroni cluster",
                            target.id
                        ))
                    }
                    None => {
                        return Err(format!(
                            "backup target `{}`: no [[clusters]] has the id `{id}`",
                            target.id
                        ))
                    }
                }
                if target.pg_data.is_some() {
                    return Err(format!(
                        "backup target `{}`: set pg_data or cluster, not both (a Patroni cluster's leader says where its data is)",
                        target.id
                    ));
                }
            }
            if target.retention.full == 0 {
                return Err(format!(
                    "backup target `{}`: retention.full must be at least 1 (the newest full backup is always kept)",
                    target.id
                ));
            }
        }
        let mut seen = HashSet::new();
        for cluster in &config.clusters {
            if !well_formed(&cluster.id) {
                return Err(format!(
                    "cluster id `{}` must be 1 to 63 lowercase letters, digits or `-`",
                    cluster.id
                ));
            }
            if !seen.insert(cluster.id.as_str()) {
                return Err(format!("cluster id `{}` is declared twice", cluster.id));
            }
            let sources = match &cluster.manager {
                Manager::RedisSentinel(s) => {
                    if s.master_name.trim().is_empty() {
                        return Err(format!("cluster `{}` has an empty master_name", cluster.id));
                    }
                    for address in &s.sentinels {
                        if crate::clusters::split_host_port(address).is_none() {
                            return Err(format!(
                                "cluster `{}`: sentinel `{address}` is not host:port",
                                cluster.id
                            ));
                        }
                    }
                    s.sentinels.len()
                }
                Manager::Patroni(p) => {
                    for url in &p.patroni {
                        if !(url.starts_with("http://") || url.starts_with("https://")) {
                            return Err(format!(
                                "cluster `{}`: Patroni API `{url}` is not an http(s) URL",
                                cluster.id
                            ));
                        }
                    }
                    p.patroni.len()
                }
            };
            if sources == 0 {
                return Err(format!(
                    "cluster `{}` names no sentinels or Patroni APIs",
                    cluster.id
                ));
            }
        }
        if let Some(role) = &config.two_person_rule.role {
            if role.trim().is_empty() || role.trim() != role || role.len() > 63 {
                return Err(format!(
                    "[two_person_rule] role `{role}` must be a role's name: 1 to 63 characters, no surrounding spaces"
                ));
            }
        }
        if config.two_person_rule.expires_after() > Duration::from_secs(7 * DAY) {
            return Err(
                "[two_person_rule] expires_after must be at most 7d: an approval is for the change at hand"
                    .to_string(),
            );
        }
        Ok(config)
    }

    pub fn cluster(&self, id: &str) -> Option<&ClusterConfig> {
        self.clusters.iter().find(|c| c.id == id)
    }

    pub fn backup_target(&self, id: &str) -> Option<&TargetConfig> {
        self.backup_targets.iter().find(|t| t.id == id)
    }
}

/// Lowercase letters, digits and `-`, 1 to 63 of them.
fn well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
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
    fn each_backup_kind_needs_its_own_fields_and_refuses_the_others() {
        let config = Config::parse(
            r#"
            [[backup_targets]]
            id = "acme-export"
            kind = "pg_dump"
            database = "postgres://backup:secret@127.0.0.1/postgres"
            dump_database = "acme"
            backup_dir = "/var/backups/acme"
            verify_every = "30d"

            [[backup_targets]]
            id = "cache"
            kind = "redis_rdb"
            address = "127.0.0.1:6379"
            password = "redis-secret"
            rdb_dir = "/var/lib/redis"
            backup_dir = "/var/backups/cache"

            [backup_targets.retention]
            full = 3
            full_type = "count"
            "#,
        )
        .expect("parses");
        let dump = config.backup_target("acme-export").expect("declared");
        assert_eq!(dump.retention, RetentionConfig::default());
        assert_eq!(
            dump.verify_every,
            Some(Span(Duration::from_secs(30 * 86_400)))
        );
        let cache = config.backup_target("cache").expect("declared");
        assert_eq!(cache.rdb_file(), Path::new("/var/lib/redis/dump.rdb"));
        assert_eq!(
            (
                cache.retention.full,
                cache.retention.full_type,
                cache.retention.weekly_days
            ),
            (3, RetentionType::Count, 30)
        );
        for target in &config.backup_targets {
            let shown = serde_json::to_string(&target.public()).expect("json");
            assert!(
                !shown.contains("secret") && !shown.contains("stanza"),
                "{shown}"
            );
        }
        let head = |kind: &str| format!("[[backup_targets]]\nid = \"t\"\nkind = \"{kind}\"\n");
        let err = Config::parse(&format!(
            "{}database = \"postgres://h/d\"\n",
            head("pg_dump")
        ))
        .expect_err("no backup_dir");
        assert_eq!(err, "backup target `t` (kind `pg_dump`) needs backup_dir");
        let err = Config::parse(&format!(
            "{}address = \"127.0.0.1:6379\"\nrdb_dir = \"/r\"\nbackup_dir = \"/b\"\nstanza = \"main\"\n",
            head("redis_rdb")
        ))
        .expect_err("a pgBackRest field");
        assert_eq!(
            err,
            "backup target `t` (kind `redis_rdb`) does not take stanza"
        );
        let err = Config::parse(&format!(
            "{}address = \"nohost\"\nrdb_dir = \"/r\"\nbackup_dir = \"/b\"\n",
            head("redis_rdb")
        ))
        .expect_err("not host:port");
        assert!(err.contains("not host:port"), "{err}");
        let err = Config::parse(&format!("{}stanza = \"main\"\n", head("postgresql")))
            .expect_err("no pgBackRest configuration");
        assert_eq!(
            err,
            "backup target `t` (kind `postgresql`) needs pgbackrest_config"
        );
        let err = Config::parse(&format!(
            "{}stanza = \"s\"\npgbackrest_config = \"/c\"\n[backup_targets.retention]\nfull = 0\n",
            head("postgresql")
        ))
        .expect_err("nothing kept");
        assert!(err.contains("at least 1"), "{err}");
    }

    #[test]
    fn a_target_restores_through_its_patroni_cluster_or_its_data_directory() {
        let target = "[[backup_targets]]\nid = \"db\"\nkind = \"postgresql\"\nstanza = \"s\"\npgbackrest_config = \"/c\"\n";
        let patroni = "[[clusters]]\nid = \"pg\"\nkind = \"patroni\"\npatroni = [\"http://127.0.0.1:8008\"]\ndatabase = \"postgres://{host}:{port}/postgres\"\n";
        let sentinel = "[[clusters]]\nid = \"cache\"\nkind = \"redis-sentinel\"\nsentinels = [\"127.0.0.1:26379\"]\nmaster_name = \"m\"\n";
        let config =
            Config::parse(&format!("{target}cluster = \"pg\"\n{patroni}")).expect("parses");
        assert_eq!(
            config
                .backup_target("db")
                .and_then(TargetConfig::unrestorable),
            None
        );

        let alone = Config::parse(target).expect("parses");
        let why = alone
            .backup_target("db")
            .and_then(TargetConfig::unrestorable)
            .expect("refused");
        assert!(why.contains("neither the Patroni cluster"), "{why}");
        let with_data = Config::parse(&format!(
            "{target}pg_data = \"/d\"\ndatabase = \"postgres://h/postgres\"\n"
        ))
        .expect("parses");
        assert_eq!(
            with_data
                .backup_target("db")
                .and_then(TargetConfig::unrestorable),
            None
        );

        for (text, said) in [
            (
                format!("{target}cluster = \"nope\"\n{patroni}"),
                "no [[clusters]] has the id `nope`",
            ),
            (
                format!("{target}cluster = \"cache\"\n{sentinel}"),
                "is not a Patroni cluster",
            ),
            (
                format!("{target}cluster = \"pg\"\npg_data = \"/d\"\n{patroni}"),
                "not both",
            ),
        ] {
            let err = Config::parse(&text).expect_err("refused");
            assert!(err.contains(said), "{err}");
        }
    }

    #[test]
    fn incident_targets_default_per_severity_and_take_overrides() {
        let config = Config::parse(
            r#"
            [monitoring]
            alertmanager_url = "http://127.0.0.1:9093"

            [incidents]
            escalation = ["ann@example.test", "bob@example.test"]
            sweep_every = "2s"

            [incidents.targets.P1]
            acknowledge = "1m30s"
            "#,
        )
        .expect("parses");
        let p1 = config.incidents.targets(Severity::P1);
        assert_eq!(p1.acknowledge, Duration::from_secs(90));
        assert_eq!(p1.mitigate, Duration::from_secs(30 * 60));
        assert_eq!(
            config.incidents.targets(Severity::P4),
            default_targets(Severity::P4)
        );
        assert_eq!(config.incidents.sweep_every(), Duration::from_secs(2));
        assert_eq!(
            config.monitoring.alertmanager_url.map(|u| u.to_string()),
            Some("http://127.0.0.1:9093/".to_string())
        );
        let err = Config::parse("[incidents.targets.P1]\nacknowledge = \"soon\"\n")
            .expect_err("not a duration");
        assert!(err.contains("not a duration"), "{err}");
        let err = Config::parse("[incidents.targets.P9]\nacknowledge = \"1m\"\n")
            .expect_err("no such severity");
        assert!(err.contains("P9"), "{err}");
    }

    #[test]
    fn the_two_person_rule_is_off_by_default_and_read_with_its_defaults() {
        let config = Config::parse("").expect("parses");
        assert!(!config.two_person_rule.enabled);
        assert_eq!(config.two_person_rule.role(), "platform-admin");
        assert_eq!(
            config.two_person_rule.expires_after(),
            Duration::from_secs(1800)
        );
        let config = Config::parse(
            "[two_person_rule]\nenabled = true\nrole = \"approver\"\nexpires_after = \"10m\"\n",
        )
        .expect("parses");
        assert!(config.two_person_rule.enabled);
        assert_eq!(config.two_person_rule.role(), "approver");
        assert_eq!(
            config.two_person_rule.expires_after(),
            Duration::from_secs(600)
        );
        let err = Config::parse("[two_person_rule]\nrole = \" \"\n").expect_err("blank role");
        assert!(err.contains("role"), "{err}");
        let err =
            Config::parse("[two_person_rule]\nexpires_after = \"30d\"\n").expect_err("too long");
        assert!(err.contains("at most 7d"), "{err}");
        let err = Config::parse("[two_person_rule]\nenable = true\n").expect_err("misspelt");
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn duplicate_and_malformed_ids_are_refused() {
        let twice = "[[backup_targets]]\nid = \"a\"\nkind = \"postgresql\"\nstanza = \"s\"\npgbackrest_config = \"/c\"\n";
        let err = Config::parse(&format!("{twice}{twice}")).expect_err("twice");
        assert!(err.contains("declared twice"), "{err}");
        let err = Config::parse(&twice.replace("\"a\"", "\"A/b\"")).expect_err("malformed");
        assert!(err.contains("lowercase"), "{err}");
        let err =
            Config::parse("[[backup_targets]]\nid = \"a\"\npasswd = 1\n").expect_err("unknown");
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn clusters_are_read_by_kind_and_shown_without_credentials() {
        let config = Config::parse(
            r#"
            [[clusters]]
            id = "cache"
            kind = "redis-sentinel"
            sentinels = ["127.0.0.1:26379", "127.0.0.1:26380"]
            master_name = "main"
            password = "redis-secret"

            [[clusters]]
            id = "db"
            kind = "patroni"
            patroni = ["http://127.0.0.1:8008"]
            database = "postgres://postgres:pg-secret@{host}:{port}/postgres"
            max_lag_bytes = 4096
            "#,
        )
        .expect("parses");
        let cache = config.cluster("cache").expect("declared");
        assert_eq!(cache.kind(), ClusterKind::RedisSentinel);
        assert_eq!(cache.name(), "main");
        let db = config.cluster("db").expect("declared");
        assert_eq!((db.name(), db.max_lag_bytes()), ("db", 4096));
        for cluster in &config.clusters {
            let shown = serde_json::to_string(&cluster.public()).expect("json");
            assert!(!shown.contains("secret"), "{shown}");
        }
        let err = Config::parse(
            "[[clusters]]\nid = \"c\"\nkind = \"redis-sentinel\"\nsentinels = [\"nohost\"]\nmaster_name = \"m\"\n",
        )
        .expect_err("not host:port");
        assert!(err.contains("host:port"), "{err}");
        let err = Config::parse("[[clusters]]\nid = \"c\"\nkind = \"mysql\"\n")
            .expect_err("unknown kind");
        assert!(err.contains("unknown variant"), "{err}");
        let err = Config::parse(
            "[[clusters]]\nid = \"c\"\nkind = \"redis-sentinel\"\nsentinels = [\"h:1\"]\nmaster_name = \"m\"\npasword = \"x\"\n",
        )
        .expect_err("a misspelt field");
        assert!(err.contains("unknown field"), "{err}");
    }
}
