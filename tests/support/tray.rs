//! A tray for one test (`tray_watcher.py`): it owns
//! `org.kde.StatusNotifierWatcher` on the test's D-Bus session bus, as a
//! desktop's panel does, so an app's tray icon registers with it; the test
//! then reads the icon's label from the bus. Stopped when dropped.
//!
//! Like the notification recorder, two tests of one binary cannot both own
//! the name.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::process::{output_blocking, Proc};

const PYTHON: &str = "/usr/bin/python3";
const START: Duration = Duration::from_secs(15);

/// A StatusNotifierWatcher on the session bus.
pub struct Tray {
    _proc: Proc,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tray {
    pub fn start() -> Result<Self> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            bail!("no D-Bus session bus: run the tests inside `dbus-run-session` (tests/run does)");
        }
        let dir = tempfile::tempdir()?;
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/tray_watcher.py");
        let mut cmd = Command::new(PYTHON);
        cmd.arg("-u").arg(&script);
        let mut proc = Proc::spawn(cmd, "tray", dir.path()).context(
            "start the tray watcher (apt-get install python3-dbus python3-gi, or scripts/setup --tests)",
        )?;
        proc.wait_for_line(START, |line| (line == "ready").then_some(()))?;
        Ok(Self {
            out: dir.path().join("tray.out"),
            _proc: proc,
            _dir: dir,
        })
    }

    /// The labels of every icon registered so far (an icon without one
    /// reads as empty).
    pub fn labels(&self) -> Vec<String> {
        let registered: Vec<Value> = std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        registered
            .iter()
            .filter_map(|item| {
                let sender = item["sender"].as_str()?;
                let service = item["service"].as_str()?;
                let (dest, path) = if service.starts_with('/') {
                    (sender, service)
                } else {
                    (service, "/StatusNotifierItem")
                };
                label(dest, path).ok()
            })
            .collect()
    }
}

/// The ayatana label of the item at `dest` `path`, as the panel reads it.
fn label(dest: &str, path: &str) -> Result<String> {
    let mut cmd = Command::new("gdbus");
    cmd.args([
        "call",
        "--session",
        "--dest",
        dest,
        "--object-path",
        path,
        "--method",
        "org.freedesktop.DBus.Properties.Get",
        "org.kde.StatusNotifierItem",
        "XAyatanaLabel",
    ]);
    let out = output_blocking(cmd, b"", Duration::from_secs(10))?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr));
    }
    // gdbus prints a GVariant tuple: (<'3'>,)
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .trim()
        .trim_start_matches("(<'")
        .trim_end_matches("'>,)")
        .to_string())
}
