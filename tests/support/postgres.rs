//! A real PostgreSQL database for one test: a fresh database in the cluster
//! that `OPSDECK_TEST_POSTGRES_URL` names (tests/run starts one for the
//! whole run), or else in a cluster of the test's own, started in a temp dir
//! and stopped when dropped. A test that asks for PostgreSQL and cannot get
//! it fails, naming what is missing: it never passes without the database.
//!
//! The test's own cluster listens on a Unix socket in its temp dir and on no
//! TCP port: PostgreSQL cannot bind port 0 and report the port it got, and a
//! socket in a directory of the test's own cannot collide with anyone's.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::process::output;

pub const URL_ENV: &str = "OPSDECK_TEST_POSTGRES_URL";

/// The longest one administrative statement or tool run may take.
const LIMIT: Duration = Duration::from_secs(60);

/// A database of one test, dropped with it.
pub struct Postgres {
    /// URL of this test's own database.
    pub url: String,
    admin_url: String,
    dbname: String,
    // Dropped after the database (fields drop in order).
    _cluster: Option<Cluster>,
}

impl Postgres {
    /// A new, empty database for one test (from an async test).
    pub async fn database_async() -> Result<Self> {
        let shared = std::env::var(URL_ENV).ok().filter(|url| !url.is_empty());
        Self::create(shared, server_bin).await
    }

    /// A database in the `shared` cluster, or else in one of the test's own
    /// run from the server binaries `server_bin` finds.
    async fn create(
        shared: Option<String>,
        server_bin: impl FnOnce() -> Result<PathBuf>,
    ) -> Result<Self> {
        let (admin_url, cluster) = match shared {
            Some(url) => (url, None),
            None => {
                let cluster = Cluster::start(server_bin).await.with_context(|| {
                    format!(
                        "this test needs PostgreSQL: set {URL_ENV} to a server it may create \
                         databases in, or install the PostgreSQL server so the test starts its own"
                    )
                })?;
                (cluster.url("postgres"), Some(cluster))
            }
        };
        let dbname = format!("opsdeck_{}", uuid::Uuid::new_v4().simple());
        psql(&admin_url, &format!("CREATE DATABASE {dbname}"))
            .await
            .with_context(|| format!("create a test database on {admin_url}"))?;
        Ok(Self {
            url: replace_db(&admin_url, &dbname),
            admin_url,
            dbname,
            _cluster: cluster,
        })
    }

    /// A new, empty database for one test (from a sync test).
    pub fn database() -> Result<Self> {
        crate::block_on(Self::database_async())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A test's own cluster goes whole; only a shared one needs cleaning.
        if self._cluster.is_none() {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.dbname);
            if let Err(e) = crate::block_on(psql(&self.admin_url, &sql)) {
                eprintln!("could not drop test database {}: {e:#}", self.dbname);
            }
        }
    }
}

/// `url` with its database name replaced by `db`, query kept.
fn replace_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rsplit_once('/') {
        Some((host, _)) if host.contains("://") && !host.ends_with('/') => format!("{host}/{db}"),
        _ => format!("{base}/{db}"),
    };
    match query {
        Some(q) => format!("{base}?{q}"),
        None => base,
    }
}

async fn psql(url: &str, sql: &str) -> Result<()> {
    let mut cmd = Command::new("psql");
    cmd.args([url, "-X", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10");
    let out = output(cmd, b"", LIMIT)
        .await
        .context("run psql (install postgresql-client)")?;
    if !out.status.success() {
        bail!(
            "psql `{sql}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The newest installed PostgreSQL server's bin dir.
pub fn server_bin() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("OPSDECK_PG_BIN") {
        return Ok(dir.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("the PostgreSQL server is not installed (apt-get install postgresql)")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|ids| ids.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

/// A cluster of one test, on a Unix socket in its temp dir only.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
}

impl Cluster {
    async fn run(&self, tool: &str, args: &[&str]) -> Result<()> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args);
        let out = output(cmd, b"", LIMIT)
            .await
            .with_context(|| format!("run {tool}"))?;
        if !out.status.success() {
            bail!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    fn socket_dir(&self) -> Result<&str> {
        self.dir.path().to_str().context("temp path is not UTF-8")
    }

    /// URL of database `db` over the cluster's socket.
    fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@localhost/{db}?host={}",
            self.dir.path().display()
        )
    }

    /// initdb + pg_ctl start; PostgreSQL refuses to run as root, so as root
    /// it runs as the `postgres` user.
    async fn start(server_bin: impl FnOnce() -> Result<PathBuf>) -> Result<Self> {
        let bin = server_bin()?;
        let dir = tempfile::tempdir()?;
        let as_postgres = is_root();
        if as_postgres {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres:postgres"]).arg(dir.path());
            let out = output(chown, b"", LIMIT).await?;
            if !out.status.success() {
                bail!("cannot chown the cluster dir to postgres");
            }
        }
        let cluster = Self {
            bin,
            dir,
            as_postgres,
        };
        let sock = cluster.socket_dir()?;
        let data = format!("{sock}/data");
        cluster
            .run(
                "initdb",
                &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
            )
            .await?;
        let options = format!("-k {sock} -c listen_addresses='' -c fsync=off");
        let log = format!("{sock}/postgres.log");
        cluster
            .run(
                "pg_ctl",
                &[
                    "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
                ],
            )
            .await
            .with_context(|| std::fs::read_to_string(&log).unwrap_or_default())?;
        Ok(cluster)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Ok(sock) = self.socket_dir() {
            let data = format!("{sock}/data");
            let _ = crate::block_on(self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::Refusing;

    #[test]
    fn database_name_is_swapped_in_the_url() {
        assert_eq!(
            replace_db("postgres://u@127.0.0.1:5/postgres", "x"),
            "postgres://u@127.0.0.1:5/x"
        );
        assert_eq!(
            replace_db("postgres://u@127.0.0.1:5/postgres?sslmode=disable", "x"),
            "postgres://u@127.0.0.1:5/x?sslmode=disable"
        );
        assert_eq!(
            replace_db("postgres://postgres@localhost/postgres?host=/tmp/a", "x"),
            "postgres://postgres@localhost/x?host=/tmp/a"
        );
    }

    #[tokio::test]
    async fn a_private_cluster_serves_databases_on_its_socket_only() {
        let cluster = Cluster::start(server_bin)
            .await
            .expect("a cluster of this test");
        psql(&cluster.url("postgres"), "CREATE DATABASE probe")
            .await
            .expect("create over the socket");
        psql(&cluster.url("probe"), "SELECT 1")
            .await
            .expect("use it");
        let conf = std::fs::read_to_string(cluster.dir.path().join("data/postmaster.pid"))
            .expect("postmaster.pid");
        // Line 6 of postmaster.pid is the listen address: none for TCP.
        let listen = conf.lines().nth(5).unwrap_or_default();
        assert!(listen.trim().is_empty(), "listens on `{listen}`");
    }

    #[tokio::test]
    async fn without_a_server_the_test_fails_naming_the_variable() {
        let missing = Postgres::create(None, || bail!("no PostgreSQL server here")).await;
        let message = format!("{:#}", missing.err().expect("no database"));
        assert!(message.contains(URL_ENV), "{message}");
        assert!(message.contains("no PostgreSQL server here"), "{message}");
        let unreachable = Refusing::new().expect("a refusing port");
        let url = format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            unreachable.port
        );
        let refused = Postgres::create(Some(url), server_bin).await;
        assert!(refused.is_err(), "a database on a server that is not there");
    }
}
