//! A desktop notification server for one test (`notification_recorder.py`):
//! it owns `org.freedesktop.Notifications` on the test's D-Bus session bus
//! (the one `dbus-run-session` gives the tests), records every notification
//! it is sent, and can report a click on one. Stopped when dropped.
//!
//! It refuses to start when another program owns the name, so a test never
//! counts beside a real server. Two tests of one binary cannot both own the
//! name: keep the tests that use it in one test function.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::process::{output_blocking, Proc};

/// Debian's Python, which has the `dbus` and `gi` modules (a pyenv one may not).
const PYTHON: &str = "/usr/bin/python3";
/// The longest the server may take to own its name.
const START: Duration = Duration::from_secs(15);

/// A recording notification server on the session bus.
pub struct NotificationServer {
    proc: Proc,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl NotificationServer {
    pub fn start() -> Result<Self> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            bail!("no D-Bus session bus: run the tests inside `dbus-run-session` (tests/run does)");
        }
        let dir = tempfile::tempdir()?;
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/support/notification_recorder.py");
        let mut cmd = Command::new(PYTHON);
        cmd.arg("-u").arg(&script);
        let mut proc = Proc::spawn(cmd, "notifications", dir.path()).context(
            "start the notification recorder (apt-get install python3-dbus python3-gi, or scripts/setup --tests)",
        )?;
        proc.wait_for_line(START, |line| (line == "ready").then_some(()))?;
        Ok(Self {
            out: dir.path().join("notifications.out"),
            proc,
            _dir: dir,
        })
    }

    /// Every notification received so far, in order: `summary`, `body`,
    /// `urgency` (0 low, 1 normal, 2 critical), `actions`, `hints`, `id`.
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Reports that the user clicked notification `id`, as the desktop does.
    pub fn click(&self, id: u64) -> Result<()> {
        let mut cmd = Command::new("gdbus");
        cmd.args([
            "call",
            "--session",
            "--dest",
            "org.freedesktop.Notifications",
            "--object-path",
            "/org/freedesktop/Notifications",
            "--method",
            "dev.opsdeck.TestRecorder.Click",
            &id.to_string(),
        ]);
        let out = output_blocking(cmd, b"", Duration::from_secs(10))?;
        if !out.status.success() {
            bail!("click failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// What it wrote to stderr.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}
