//! A real Prometheus (Debian's `prometheus`) on loopback for one test: its
//! own temp dir for the config and the TSDB, a short scrape and evaluation
//! interval, stopped when dropped. Like Alertmanager it must be told its
//! port, so the port is picked and retried on a collision, and the listener
//! checked to be its own before the test trusts it. It always scrapes
//! itself (job `prometheus`); the test names the other jobs, rule files and
//! the Alertmanager it sends alerts to.
//!
//! [`Prometheus::query`] asks its HTTP API directly (to wait for a scrape
//! to land); [`promtool`] runs Prometheus's own checker.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::block_on;
use crate::port::{await_ready, retry_on_collision, Attempt};
use crate::process::{output_blocking, Proc};

/// The longest Prometheus may take to answer `/-/ready`.
const START: Duration = Duration::from_secs(30);
/// The longest one call to it, or one `promtool` run, may take.
const CALL: Duration = Duration::from_secs(30);

/// One scrape job: its name and its `host:port` targets (on loopback).
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub targets: Vec<String>,
}

impl Job {
    /// A job scraping the server at `url` (`http://127.0.0.1:<port>`).
    pub fn at(name: &str, url: &str) -> Self {
        let target = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Self {
            name: name.to_string(),
            targets: vec![target],
        }
    }
}

/// What a test's Prometheus scrapes, evaluates and alerts to.
#[derive(Debug, Clone)]
pub struct Config {
    /// Scrape jobs besides its own (job `prometheus`).
    pub jobs: Vec<Job>,
    /// Rule files, loaded as they are.
    pub rule_files: Vec<PathBuf>,
    /// Where firing alerts go (`http://127.0.0.1:<port>`).
    pub alertmanager: Option<String>,
    /// Scrape and evaluation interval: short, so a test sees data soon.
    pub interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            jobs: Vec::new(),
            rule_files: Vec::new(),
            alertmanager: None,
            interval: Duration::from_secs(1),
        }
    }
}

impl Config {
    /// The `prometheus.yml` for a server on `port`.
    fn yaml(&self, port: u16) -> String {
        let secs = self.interval.as_secs().max(1);
        let mut yaml = format!(
            "global:\n  scrape_interval: {secs}s\n  scrape_timeout: {secs}s\n  evaluation_interval: {secs}s\n"
        );
        if !self.rule_files.is_empty() {
            yaml.push_str("rule_files:\n");
            for file in &self.rule_files {
                yaml.push_str(&format!("  - {}\n", quoted(&file.display().to_string())));
            }
        }
        if let Some(am) = &self.alertmanager {
            let target = am.trim_start_matches("http://").trim_end_matches('/');
            yaml.push_str(&format!(
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [{}]\n",
                quoted(target)
            ));
        }
        yaml.push_str("scrape_configs:\n");
        let own = Job {
            name: "prometheus".into(),
            targets: vec![format!("127.0.0.1:{port}")],
        };
        for job in std::iter::once(&own).chain(&self.jobs) {
            let targets: Vec<String> = job.targets.iter().map(|t| quoted(t)).collect();
            yaml.push_str(&format!(
                "  - job_name: {}\n    static_configs:\n      - targets: [{}]\n",
                quoted(&job.name),
                targets.join(", ")
            ));
        }
        yaml
    }
}

/// `text` as a YAML double-quoted string.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A real Prometheus on a loopback port.
pub struct Prometheus {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    config: Config,
    proc: Option<Proc>,
    http: reqwest::Client,
}

impl Prometheus {
    pub fn start(config: Config) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(CALL)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let mut prom = Self {
            url: String::new(),
            port: 0,
            dir,
            config,
            proc: None,
            http,
        };
        let (port, proc) = retry_on_collision("prometheus", |port| prom.spawn(port))?;
        prom.port = port;
        prom.url = format!("http://127.0.0.1:{port}");
        prom.proc = Some(proc);
        Ok(prom)
    }

    fn spawn(&self, port: u16) -> Result<Attempt<(u16, Proc)>> {
        let config = self.dir.path().join("prometheus.yml");
        std::fs::write(&config, self.config.yaml(port))?;
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Alerts that fire before the Alertmanager is discovered are
            // dropped, and sent again only after this delay (1 min by
            // default): longer than a test waits.
            .arg(format!(
                "--rules.alert.resend-delay={}s",
                self.config.interval.as_secs().max(1)
            ))
            .arg("--log.level=warn");
        let proc = Proc::spawn(cmd, "prometheus", self.dir.path())
            .context("start Prometheus (apt-get install prometheus, or scripts/setup --tests)")?;
        await_ready(proc, port, "Prometheus", START, |port| self.ready(port))
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

    /// `GET <path>` on its HTTP API, as JSON.
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

    /// The result of the instant query `promql` now (`data.result`).
    pub fn query(&self, promql: &str) -> Result<serde_json::Value> {
        let (http, url) = (self.http.clone(), format!("{}/api/v1/query", self.url));
        let promql = promql.to_string();
        let answer: serde_json::Value = block_on(async move {
            let response = http
                .get(url)
                .query(&[("query", promql.as_str())])
                .send()
                .await
                .with_context(|| format!("query {promql}"))?;
            response
                .json::<serde_json::Value>()
                .await
                .with_context(|| format!("query {promql} as JSON"))
        })?;
        if answer["status"] != "success" {
            bail!("Prometheus refused the query: {answer}");
        }
        Ok(answer["data"]["result"].clone())
    }

    /// Waits until the instant query `promql` returns at least one series:
    /// a scrape or a rule's result has landed.
    pub fn wait_for(&self, promql: &str, timeout: Duration) -> Result<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.query(promql)?;
            if result.as_array().is_some_and(|r| !r.is_empty()) {
                return Ok(result);
            }
            if Instant::now() >= deadline {
                bail!(
                    "`{promql}` returned nothing within {timeout:?}; Prometheus's log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What it wrote to stderr.
    pub fn log(&self) -> String {
        self.proc.as_ref().map(Proc::log).unwrap_or_default()
    }

    /// Stops it (a test of Prometheus going down).
    pub fn stop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.kill();
        }
    }
}

/// A real `prometheus-node-exporter` on loopback, for the resource panels
/// (CPU, memory, disk of this machine); stopped when dropped.
pub struct NodeExporter {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    _dir: tempfile::TempDir,
    _proc: Proc,
}

impl NodeExporter {
    pub fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(CALL)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let (port, proc) = retry_on_collision("node-exporter", |port| {
            let mut cmd = Command::new("prometheus-node-exporter");
            cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn");
            let proc = Proc::spawn(cmd, "node-exporter", dir.path()).context(
                "start node-exporter (apt-get install prometheus-node-exporter, or scripts/setup --tests)",
            )?;
            await_ready(proc, port, "node-exporter", START, |port| {
                let http = http.clone();
                block_on(async move {
                    http.get(format!("http://127.0.0.1:{port}/metrics"))
                        .timeout(Duration::from_secs(2))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                })
            })
        })?;
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
            _proc: proc,
        })
    }
}

/// `promtool <args>`: its stdout and stderr together, and whether it
/// passed.
pub fn promtool(args: &[&str]) -> Result<(bool, String)> {
    let mut cmd = Command::new("promtool");
    cmd.args(args);
    let out = output_blocking(cmd, b"", CALL).context("run promtool (prometheus)")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_starts_scrapes_itself_and_stops_on_drop() {
        let prom = Prometheus::start(Config::default()).expect("a Prometheus");
        let up = prom
            .wait_for("up{job=\"prometheus\"} == 1", Duration::from_secs(20))
            .expect("it scraped itself");
        assert_eq!(up[0]["metric"]["job"], "prometheus", "{up}");
        let port = prom.port;
        drop(prom);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "still listening after drop"
        );
    }

    #[test]
    fn rule_files_and_the_alertmanager_are_in_its_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = dir.path().join("rules.yml");
        std::fs::write(
            &rules,
            "groups:\n  - name: probe\n    rules:\n      - alert: AlwaysFiring\n        expr: vector(1)\n",
        )
        .expect("write rules");
        let am = crate::Alertmanager::start().expect("an Alertmanager");
        let prom = Prometheus::start(Config {
            rule_files: vec![rules],
            alertmanager: Some(am.url.clone()),
            ..Config::default()
        })
        .expect("a Prometheus");
        prom.wait_for(
            "ALERTS{alertname=\"AlwaysFiring\"}",
            Duration::from_secs(20),
        )
        .expect("the rule fired");
        crate::wait_until(
            "the alert reached Alertmanager",
            Duration::from_secs(30),
            || {
                am.get_json("/api/v2/alerts")
                    .is_ok_and(|a| a.to_string().contains("AlwaysFiring"))
            },
        )
        .expect("delivered");
    }
}
