//! A PostgreSQL cluster whose WAL pgBackRest archives, for backup tests:
//! initdb'd as the `postgres` OS user in a temp dir, listening only on a
//! Unix socket in that dir (nothing to collide with), `archive_mode=on`
//! with `archive_command` pushing to a repository in the same dir, and the
//! stanza created. Stopped (immediate) when dropped, even when a test fails.
//!
//! Needs root (to act as `postgres` through `runuser`), the PostgreSQL
//! server and Debian's `pgbackrest` (`scripts/setup --tests`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::postgres::server_bin;
use crate::process::output;

/// The longest initdb, a start, a stop or one pgBackRest command may take.
const LIMIT: Duration = Duration::from_secs(120);

/// The OS user the cluster and pgBackRest run as.
pub const OS_USER: &str = "postgres";

/// The port in the socket's name; the socket dir is the test's own.
const PORT: &str = "5432";

pub struct PgBackRest {
    pub stanza: String,
    /// pgBackRest's configuration file.
    pub config: PathBuf,
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

async fn as_postgres(program: &Path, args: &[&str]) -> Result<std::process::Output> {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", OS_USER, "--"]).arg(program).args(args);
    output(cmd, b"", LIMIT)
        .await
        .with_context(|| format!("run {} as {OS_USER}", program.display()))
}

async fn checked(program: &Path, args: &[&str]) -> Result<String> {
    let out = as_postgres(program, args).await?;
    if !out.status.success() {
        bail!(
            "{} {} failed ({}): {}{}",
            program.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl PgBackRest {
    /// Starts the cluster and creates `stanza`.
    pub async fn start(stanza: &str) -> Result<PgBackRest> {
        Self::start_with_repo(stanza, None).await
    }

    /// Starts the cluster with its pgBackRest repository in `repo` (a dir
    /// the `postgres` user owns, a small filesystem for instance), else in
    /// the cluster's temp dir, and creates `stanza`.
    pub async fn start_with_repo(stanza: &str, repo: Option<&Path>) -> Result<PgBackRest> {
        let bin = server_bin()?;
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        let data = root.join("data");
        let socket_dir = root.join("sock");
        for sub in ["repo", "log", "lock", "spool", "sock"] {
            std::fs::create_dir(root.join(sub))?;
        }
        let config = root.join("pgbackrest.conf");
        std::fs::write(
            &config,
            format!(
                "[global]\nrepo1-path={repo}\nrepo1-retention-full=4\nlog-path={log}\n\
                 lock-path={lock}\nspool-path={spool}\nlog-level-file=off\n\n\
                 [{stanza}]\npg1-path={data}\npg1-socket-path={sock}\npg1-port={PORT}\n",
                repo = repo
                    .map_or_else(|| root.join("repo"), Path::to_path_buf)
                    .display(),
                log = root.join("log").display(),
                lock = root.join("lock").display(),
                spool = root.join("spool").display(),
                data = data.display(),
                sock = socket_dir.display(),
            ),
        )?;
        // The temp dir is root's and private: the cluster's user needs it.
        let mut chown = Command::new("chown");
        chown
            .arg("-R")
            .arg(format!("{OS_USER}:{OS_USER}"))
            .arg(&root);
        let out = output(chown, b"", LIMIT).await?;
        if !out.status.success() {
            bail!(
                "chown {}: {}",
                root.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let initdb = bin.join("initdb");
        let data_arg = data.display().to_string();
        checked(
            &initdb,
            &[
                "-D",
                &data_arg,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        )
        .await?;
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf"))?;
        conf.push_str(&format!(
            "\nlisten_addresses = ''\nport = {PORT}\nunix_socket_directories = '{sock}'\n\
             wal_level = replica\narchive_mode = on\narchive_timeout = 60\n\
             archive_command = 'pgbackrest --config={config} --stanza={stanza} archive-push %p'\n\
             fsync = off\n",
            sock = socket_dir.display(),
            config = config.display(),
        ));
        std::fs::write(data.join("postgresql.conf"), conf)?;
        let cluster = PgBackRest {
            stanza: stanza.to_string(),
            config,
            data,
            socket_dir,
            bin,
            dir,
        };
        let log = cluster.dir.path().join("log").join("postgres.log");
        let log_arg = log.display().to_string();
        checked(
            &cluster.bin.join("pg_ctl"),
            &["-D", &data_arg, "-l", &log_arg, "-w", "-t", "60", "start"],
        )
        .await?;
        cluster.pgbackrest(&["stanza-create"]).await?;
        Ok(cluster)
    }

    /// Adds a second repository (`repo2`, in the cluster's temp dir) and
    /// creates the stanza there; WAL is archived to both from then on.
    pub async fn add_second_repo(&self) -> Result<()> {
        let repo = self.dir.path().join("repo2");
        std::fs::create_dir(&repo)?;
        let mut chown = Command::new("chown");
        chown.arg(format!("{OS_USER}:{OS_USER}")).arg(&repo);
        let out = output(chown, b"", LIMIT).await?;
        if !out.status.success() {
            bail!(
                "chown {}: {}",
                repo.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let text = std::fs::read_to_string(&self.config)?;
        let text = text.replacen(
            "[global]\n",
            &format!("[global]\nrepo2-path={}\n", repo.display()),
            1,
        );
        std::fs::write(&self.config, text)?;
        self.pgbackrest(&["stanza-create"]).await.map(drop)
    }

    /// Runs pgBackRest on this cluster's stanza; its stdout.
    pub async fn pgbackrest(&self, args: &[&str]) -> Result<String> {
        let config = format!("--config={}", self.config.display());
        let stanza = format!("--stanza={}", self.stanza);
        let mut all = vec![config.as_str(), stanza.as_str()];
        all.extend_from_slice(args);
        checked(Path::new("pgbackrest"), &all).await
    }

    /// `pgbackrest info --output=json`, parsed.
    pub async fn info(&self) -> Result<Value> {
        let text = self.pgbackrest(&["info", "--output=json"]).await?;
        serde_json::from_str(&text).context("pgbackrest info printed no JSON")
    }

    /// Runs SQL in the `postgres` database.
    pub async fn sql(&self, sql: &str) -> Result<String> {
        let sock = self.socket_dir.display().to_string();
        checked(
            &self.bin.join("psql"),
            &[
                "-X",
                "-q",
                "-h",
                &sock,
                "-p",
                PORT,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
        )
        .await
    }
}

impl Drop for PgBackRest {
    fn drop(&mut self) {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", OS_USER, "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "-t", "30", "stop"]);
        let _ = crate::process::output_blocking(cmd, b"", LIMIT);
    }
}
