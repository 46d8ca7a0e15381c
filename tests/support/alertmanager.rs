//! A real Alertmanager (Debian's `prometheus-alertmanager`) on loopback for
//! one test: its own temp dir for config and storage, cluster listening off
//! (it never gossips with another one), stopped when dropped. It must be
//! told its port, so the port is picked and retried on a collision, and the
//! listener checked to be its own before the test trusts it.
//!
//! [`Alertmanager::post_alerts`] fires alerts the way Prometheus does
//! (`POST /api/v2/alerts`); [`amtool`] asks Alertmanager's own CLI.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::block_on;
use crate::port::{await_ready, retry_on_collision, Attempt};
use crate::process::{output_blocking, Proc};

/// The Debian package's name for the server binary.
const BINARY: &str = "prometheus-alertmanager";
/// The longest Alertmanager may take to answer `/-/ready`.
const START: Duration = Duration::from_secs(30);
/// The longest one call to it, or one `amtool` run, may take.
const CALL: Duration = Duration::from_secs(30);

/// One receiver that sends nowhere: the tests look at alerts and silences,
/// not at notifications.
const CONFIG: &str = "route:\n  receiver: nowhere\n  group_wait: 1s\n  group_interval: 1s\nreceivers:\n  - name: nowhere\n";

/// A real Alertmanager on a loopback port.
pub struct Alertmanager {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    proc: Option<Proc>,
    http: reqwest::Client,
}

impl Alertmanager {
    pub fn start() -> Result<Self> {
        Self::start_with_config(CONFIG)
    }

    /// One whose route groups alerts by `labels` (Alertmanager's default,
    /// no labels, puts every alert in one group).
    pub fn start_grouped_by(labels: &[&str]) -> Result<Self> {
        let labels = labels
            .iter()
            .map(|l| format!("'{l}'"))
            .collect::<Vec<_>>()
            .join(", ");
        Self::start_with_config(&CONFIG.replacen(
            "route:\n",
            &format!("route:\n  group_by: [{labels}]\n"),
            1,
        ))
    }

    /// One started with `config` as its `alertmanager.yml`.
    pub fn start_with_config(config: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("alertmanager.yml"), config)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(CALL)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let mut am = Self {
            url: String::new(),
            port: 0,
            dir,
            proc: None,
            http,
        };
        let (port, proc) = retry_on_collision("alertmanager", |port| am.spawn(port))?;
        am.port = port;
        am.url = format!("http://127.0.0.1:{port}");
        am.proc = Some(proc);
        Ok(am)
    }

    fn spawn(&self, port: u16) -> Result<Attempt<(u16, Proc)>> {
        let mut cmd = Command::new(BINARY);
        cmd.arg(format!(
            "--config.file={}",
            self.dir.path().join("alertmanager.yml").display()
        ))
        .arg(format!(
            "--storage.path={}",
            self.dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // Empty: no cluster listener, so two of a test never gossip and a
        // stranger on the default cluster port is never joined.
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn");
        let proc = Proc::spawn(cmd, "alertmanager", self.dir.path())
            .context("start Alertmanager (apt-get install prometheus-alertmanager, or scripts/setup --tests)")?;
        await_ready(proc, port, "Alertmanager", START, |port| self.ready(port))
    }

    fn ready(&self, port: u16) -> bool {
        let http = self.http.clone();
        block_on(async move {
            http.get(format!("http://127.0.0.1:{port}/-/ready"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
    }

    /// Fires `alerts` (Alertmanager's posted-alert objects: `labels`,
    /// `annotations`, optional `startsAt`/`endsAt`), as Prometheus does.
    pub fn post_alerts(&self, alerts: &serde_json::Value) -> Result<()> {
        let (http, url) = (self.http.clone(), format!("{}/api/v2/alerts", self.url));
        block_on(async move {
            let response = http
                .post(url)
                .json(alerts)
                .send()
                .await
                .context("post alerts")?;
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                bail!("Alertmanager refused the alerts ({status}): {body}");
            }
            Ok(())
        })
    }

    /// `GET <path>` on the API, as JSON.
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        let (http, url) = (self.http.clone(), format!("{}{path}", self.url));
        block_on(async move {
            let response = http
                .get(url)
                .send()
                .await
                .with_context(|| format!("GET {path}"))?;
            let status = response.status();
            if !status.is_success() {
                bail!("GET {path} answered {status}");
            }
            response
                .json()
                .await
                .with_context(|| format!("GET {path} as JSON"))
        })
    }

    /// Runs Alertmanager's own `amtool` against this server with `args`
    /// (e.g. `silence query -o json`) and returns its stdout as JSON.
    pub fn amtool_json(&self, args: &[&str]) -> Result<serde_json::Value> {
        let out = amtool(&self.url, args)?;
        serde_json::from_str(&out).with_context(|| format!("amtool {args:?} printed `{out}`"))
    }

    /// What it wrote to stderr.
    pub fn log(&self) -> String {
        self.proc.as_ref().map(Proc::log).unwrap_or_default()
    }

    /// Stops it (a test of an Alertmanager going down).
    pub fn stop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.kill();
        }
    }
}

/// `amtool --alertmanager.url=<url> <args>`, its stdout; fails with its
/// stderr when it fails.
pub fn amtool(url: &str, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new("amtool");
    cmd.arg(format!("--alertmanager.url={url}")).args(args);
    let out = output_blocking(cmd, b"", CALL).context("run amtool (prometheus-alertmanager)")?;
    if !out.status.success() {
        bail!(
            "amtool {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).context("amtool printed no UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertmanager_starts_takes_alerts_and_stops_on_drop() {
        let am = Alertmanager::start().expect("an Alertmanager");
        am.post_alerts(&serde_json::json!([
            {"labels": {"alertname": "HarnessProbe", "severity": "info"}}
        ]))
        .expect("post");
        let alerts = am.get_json("/api/v2/alerts").expect("alerts");
        assert_eq!(alerts[0]["labels"]["alertname"], "HarnessProbe", "{alerts}");
        let port = am.port;
        drop(am);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "still listening after drop"
        );
    }

    #[test]
    fn two_alertmanagers_run_side_by_side_without_a_cluster() {
        let (a, b) = (
            Alertmanager::start().expect("a"),
            Alertmanager::start().expect("b"),
        );
        assert_ne!(a.port, b.port);
        a.post_alerts(&serde_json::json!([{"labels": {"alertname": "OnlyOnA"}}]))
            .expect("post");
        let on_b = b.get_json("/api/v2/alerts").expect("alerts of b");
        assert_eq!(on_b, serde_json::json!([]), "b heard of a's alert");
        let status = b.get_json("/api/v2/status").expect("status");
        assert_eq!(status["cluster"]["status"], "disabled", "{status}");
    }
}
