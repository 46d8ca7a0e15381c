//! The real `opsdeck` CLI with a config dir of its own (the keyring is the
//! session's). Every run is killed, failing the test, when it overruns.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::bin;
use crate::platform_admin::PlatformAdmin;
use crate::process::{output, output_blocking};

/// The longest a run may take unless the test says otherwise.
const RUN_LIMIT: Duration = Duration::from_secs(120);

pub struct Cli {
    pub config_dir: tempfile::TempDir,
}

/// What a CLI run left behind.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(out: std::process::Output) -> Self {
        Self {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts success and returns self, showing the output otherwise.
    pub fn success(self) -> Self {
        assert!(
            self.ok,
            "opsdeck failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn failure(self) -> Self {
        assert!(
            !self.ok,
            "opsdeck should have failed:\nstdout:\n{}",
            self.stdout
        );
        self
    }
}

impl Cli {
    pub fn new() -> Result<Self> {
        Ok(Self {
            config_dir: tempfile::tempdir()?,
        })
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin("opsdeck"));
        cmd.env("OPSDECK_CONFIG_DIR", self.config_dir.path())
            .env_remove("OPSDECK_DATA_DIR")
            .env_remove("OPSDECK_PROFILE");
        cmd
    }

    fn args(&self, args: &[&str]) -> Command {
        let mut cmd = self.command();
        cmd.args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.run_within(args, stdin, RUN_LIMIT).0
    }

    /// Runs opsdeck, killing it and failing the test if it is still running
    /// after `limit`; returns what it left and how long it took.
    pub fn run_within(&self, args: &[&str], stdin: &str, limit: Duration) -> (Run, Duration) {
        let started = Instant::now();
        let out = output_blocking(self.args(args), stdin.as_bytes(), limit)
            .unwrap_or_else(|e| panic!("opsdeck {args:?}: {e:#}"));
        (Run::of(out), started.elapsed())
    }

    /// [`Self::run_with_stdin`] for async tests.
    pub async fn run_async(&self, args: &[&str], stdin: &str) -> Run {
        let out = output(self.args(args), stdin.as_bytes(), RUN_LIMIT)
            .await
            .unwrap_or_else(|e| panic!("opsdeck {args:?}: {e:#}"));
        Run::of(out)
    }

    /// Adds a profile for `admin` and logs in with `token`.
    pub fn connect(&self, profile: &str, tier: &str, admin: &PlatformAdmin, token: &str) {
        self.run(&[
            "profile",
            "add",
            profile,
            "--admin-url",
            &admin.url,
            "--tier",
            tier,
            "--use",
        ])
        .success();
        self.run_with_stdin(&["login", profile, "--token-stdin"], token)
            .success();
    }
}
