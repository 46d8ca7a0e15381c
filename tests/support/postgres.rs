//! A real PostgreSQL for a test: a fresh database in the cluster that
//! `OPSDECK_TEST_POSTGRES_URL` names (tests/run starts one), or else a cluster
//! of the test's own, started in a temp dir and stopped when dropped.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::free_port;

pub const URL_ENV: &str = "OPSDECK_TEST_POSTGRES_URL";

pub struct Postgres {
    /// URL of this test's own database.
    pub url: String,
    admin_url: String,
    dbname: String,
    cluster: Option<Cluster>,
}

struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
}

impl Postgres {
    /// A new, empty database for one test.
    pub fn database() -> Result<Self> {
        let (admin_url, cluster) = match std::env::var(URL_ENV) {
            Ok(url) if !url.is_empty() => (url, None),
            _ => {
                let (url, cluster) = Cluster::start()?;
                (url, Some(cluster))
            }
        };
        let dbname = format!("opsdeck_{}", uuid::Uuid::new_v4().simple());
        psql(&admin_url, &format!("CREATE DATABASE {dbname}"))?;
        let url = replace_db(&admin_url, &dbname);
        Ok(Self {
            url,
            admin_url,
            dbname,
            cluster,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.cluster.is_none() {
            let _ = psql(
                &self.admin_url,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.dbname),
            );
        }
    }
}

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

fn psql(url: &str, sql: &str) -> Result<()> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
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
fn server_bin() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("OPSDECK_PG_BIN") {
        return Ok(dir.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL server is not installed (apt-get install postgresql)")?
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
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Cluster {
    fn run(&self, tool: &str, args: &[&str]) -> Result<()> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .output()
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

    /// initdb + pg_ctl start on a free port; PostgreSQL refuses to run as
    /// root, so as root it runs as the `postgres` user.
    fn start() -> Result<(String, Self)> {
        let dir = tempfile::tempdir()?;
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()?;
            if !status.success() {
                bail!("cannot chown the cluster dir to postgres");
            }
        }
        let cluster = Self {
            bin: server_bin()?,
            dir,
            as_postgres,
        };
        let data = cluster.dir.path().join("data");
        let data = data.to_str().context("temp path is not UTF-8")?;
        let sock = cluster
            .dir
            .path()
            .to_str()
            .context("temp path is not UTF-8")?;
        cluster.run(
            "initdb",
            &["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
        )?;
        let port = free_port();
        let options = format!("-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off");
        let log = format!("{sock}/postgres.log");
        cluster.run(
            "pg_ctl",
            &["-D", data, "-o", &options, "-l", &log, "-w", "start"],
        )?;
        Ok((
            format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            cluster,
        ))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(data) = self.dir.path().join("data").to_str() {
            let _ = self.run("pg_ctl", &["-D", data, "-m", "immediate", "stop"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::replace_db;

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
    }
}
