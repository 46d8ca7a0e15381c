//! The real `platform-admin` binary on loopback with a database of its own:
//! it binds `127.0.0.1:0` and prints the address it got, which is read back.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::postgres::Postgres;
use crate::process::{output_blocking, Proc};
use crate::{bin, blocking};

/// The longest the server may take to say where it listens.
const START: Duration = Duration::from_secs(30);
/// The longest one of its commands (token, seed) may run.
const COMMAND: Duration = Duration::from_secs(120);

/// Which database a platform-admin of a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A real platform-admin on a loopback port with its own database.
pub struct PlatformAdmin {
    pub url: String,
    pub database: String,
    pub dir: tempfile::TempDir,
    /// Given to `serve` after the database and address.
    serve_args: Vec<String>,
    proc: Option<Proc>,
    _postgres: Option<Postgres>,
}

impl PlatformAdmin {
    pub fn start(backend: Backend) -> Result<Self> {
        Self::start_with(backend, &[])
    }

    /// Started with more `serve` arguments (`--config`, `--job-lease`).
    pub fn start_with(backend: Backend, serve_args: &[&str]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let (database, postgres) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("admin.db").display()),
                None,
            ),
            Backend::Postgres => {
                let pg = Postgres::database()?;
                (pg.url.clone(), Some(pg))
            }
        };
        let mut admin = Self {
            url: String::new(),
            database,
            dir,
            serve_args: serve_args.iter().map(|a| a.to_string()).collect(),
            proc: None,
            _postgres: postgres,
        };
        admin.spawn("127.0.0.1:0")?;
        Ok(admin)
    }

    /// Another platform-admin process on this one's database, with the same
    /// `serve` arguments and a temp dir of its own: two servers sharing one
    /// job queue. The database stays this one's (dropped with it).
    pub fn beside(&self) -> Result<Self> {
        let mut other = Self {
            url: String::new(),
            database: self.database.clone(),
            dir: tempfile::tempdir()?,
            serve_args: self.serve_args.clone(),
            proc: None,
            _postgres: None,
        };
        other.spawn("127.0.0.1:0")?;
        Ok(other)
    }

    /// The server's process id while it runs (workers name themselves
    /// `pid-<id>/…` in the jobs they hold).
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().map(Proc::id)
    }

    fn spawn(&mut self, listen: &str) -> Result<()> {
        let mut cmd = Command::new(bin("platform-admin"));
        cmd.args(["serve", "--database", &self.database, "--listen", listen])
            .args(&self.serve_args);
        let mut proc = Proc::spawn(cmd, "platform-admin", self.dir.path())?;
        let url = blocking(|| {
            proc.wait_for_line(START, |line| {
                line.strip_prefix("listening on ")
                    .map(|url| url.trim().to_string())
            })
        })?;
        self.url = url;
        self.proc = Some(proc);
        Ok(())
    }

    /// What the server wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("platform-admin.log")).unwrap_or_default()
    }

    fn command(&self, args: &[&str]) -> Result<String> {
        self.command_within(args, COMMAND)
    }

    fn command_within(&self, args: &[&str], limit: Duration) -> Result<String> {
        let mut cmd = Command::new(bin("platform-admin"));
        cmd.args(args).args(["--database", &self.database]);
        let out = output_blocking(cmd, b"", limit)?;
        if !out.status.success() {
            bail!(
                "platform-admin {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8(out.stdout).context("platform-admin printed no UTF-8")
    }

    /// Creates an API token with `role` and returns it.
    pub fn token(&self, name: &str, role: &str) -> Result<String> {
        let printed = self.command(&["token", "create", "--name", name, "--role", role])?;
        let token = printed.trim().to_string();
        if token.is_empty() || token.contains(char::is_whitespace) {
            bail!("token create printed `{token}`, not one token");
        }
        Ok(token)
    }

    /// Loads the demo data set.
    pub fn seed_demo(&self) -> Result<()> {
        self.command(&["seed-demo"]).map(drop)
    }

    /// Loads the demo data set with `count` tenants in all: a large platform
    /// takes a few minutes rather than seconds.
    pub fn seed_demo_tenants(&self, count: u32) -> Result<()> {
        self.command_within(
            &["seed-demo", "--tenants", &count.to_string()],
            Duration::from_secs(600),
        )
        .map(drop)
    }

    /// Stops the server with SIGKILL, as a crash would (its database stays).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }

    /// Starts the server again on the same address and database (a test of
    /// a server coming back needs the address its clients know; should
    /// another program have taken it meanwhile, this fails rather than hand
    /// the test someone else's server).
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        let listen = self.url.trim_start_matches("http://").to_string();
        self.spawn(&listen)
    }
}
