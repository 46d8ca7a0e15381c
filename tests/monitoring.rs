//! The monitoring pipeline end to end, with real servers: a real Prometheus
//! scrapes a real platform-admin and evaluates an alert rule; when the
//! platform goes down the rule fires, the alert reaches a real Alertmanager,
//! and `opsdeck alerts list` and `opsdeck query` both see it. And the
//! sandbox's own error-rate rule fires when its traffic generator's error
//! share is raised.

use std::time::{Duration, Instant};

use opsdeck_tests::prometheus::{Config, Job};
use opsdeck_tests::{Alertmanager, Backend, Cli, PlatformAdmin, Proc, Prometheus};
use serde_json::Value;

/// The sandbox's ServiceDown rule without its minute of patience, so the
/// test does not wait a minute.
const RULES: &str = r#"groups:
  - name: test
    rules:
      - alert: ServiceDown
        expr: up{job="platform-admin"} == 0
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.job }} is down"
          description: "Prometheus could not scrape {{ $labels.job }}."
          playbook: service-down
"#;

#[test]
fn a_rule_fires_when_the_platform_goes_down_and_the_cli_sees_the_alert() {
    let mut admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let am = Alertmanager::start().expect("alertmanager");
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).expect("rules");
    let prom = Prometheus::start(Config {
        jobs: vec![Job::at("platform-admin", &admin.url)],
        rule_files: vec![rules],
        alertmanager: Some(am.url.clone()),
        ..Config::default()
    })
    .expect("prometheus");
    prom.wait_for("up{job=\"platform-admin\"} == 1", Duration::from_secs(30))
        .expect("scraped");

    let cli = Cli::new().expect("cli");
    cli.run(&[
        "profile",
        "add",
        "ops",
        "--admin-url",
        &admin.url,
        "--tier",
        "dev",
        "--prometheus-url",
        &prom.url,
        "--alertmanager-url",
        &am.url,
        "--use",
    ])
    .success();
    cli.run_with_stdin(&["login", "ops", "--token-stdin"], &token)
        .success();
    let quiet = cli.run(&["alerts", "list", "--json"]).success().json();
    assert_eq!(quiet["items"], serde_json::json!([]), "{quiet}");

    admin.stop();
    let alert = alert_named(&cli, "ServiceDown", Duration::from_secs(30), &|| prom.log());
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["job"], "platform-admin");
    assert_eq!(alert["annotations"]["summary"], "platform-admin is down");
    assert_eq!(alert["annotations"]["playbook"], "service-down");
    assert_eq!(alert["state"], "active");

    // The same, as Prometheus has it.
    let firing = cli
        .run(&["query", "ALERTS{alertstate=\"firing\"}", "--json"])
        .success()
        .json();
    assert_eq!(
        firing["series"][0]["labels"]["alertname"], "ServiceDown",
        "{firing}"
    );
    let up = cli
        .run(&["query", "up{job=\"platform-admin\"}", "--json"])
        .success()
        .json();
    assert_eq!(up["series"][0]["points"][0]["value"], 0.0, "{up}");
}

/// Polls `opsdeck alerts list` until an alert named `name` shows, for at
/// most `within`; the alert's JSON.
fn alert_named(cli: &Cli, name: &str, within: Duration, context: &dyn Fn() -> String) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let listed = cli.run(&["alerts", "list", "--json"]).success().json();
        let found = listed["items"]
            .as_array()
            .and_then(|all| all.iter().find(|a| a["labels"]["alertname"] == name))
            .cloned();
        if let Some(alert) = found {
            return alert;
        }
        assert!(
            Instant::now() < deadline,
            "no {name} alert within {within:?}: {listed}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(1000));
    }
}

#[test]
fn raising_the_traffic_error_share_fires_the_sandbox_error_rate_alert() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("platform-admin.toml");
    std::fs::write(&config, "fault_injection = true\n").expect("config");
    let admin = PlatformAdmin::start_with(
        Backend::Sqlite,
        &["--config", &config.display().to_string()],
    )
    .expect("platform-admin");
    let token = admin.token("traffic", "viewer").expect("token");
    let am = Alertmanager::start().expect("alertmanager");
    let prom = Prometheus::start(Config {
        jobs: vec![Job::at("platform-admin", &admin.url)],
        rule_files: vec![root.join("sandbox/monitoring/rules.yml")],
        alertmanager: Some(am.url.clone()),
        ..Config::default()
    })
    .expect("prometheus");
    prom.wait_for("up{job=\"platform-admin\"} == 1", Duration::from_secs(30))
        .expect("scraped");

    let mut traffic = std::process::Command::new(root.join("sandbox/traffic"));
    traffic
        .arg(&admin.url)
        .env("OPSDECK_TRAFFIC_TOKEN", &token)
        .env("OPSDECK_TRAFFIC_RATE", "20")
        .env("OPSDECK_TRAFFIC_ERRORS", "20");
    let _traffic = Proc::spawn(traffic, "traffic", dir.path()).expect("the traffic generator");

    let cli = Cli::new().expect("cli");
    cli.run(&[
        "profile",
        "add",
        "ops",
        "--admin-url",
        &admin.url,
        "--tier",
        "dev",
        "--alertmanager-url",
        &am.url,
        "--use",
    ])
    .success();
    cli.run_with_stdin(&["login", "ops", "--token-stdin"], &token)
        .success();
    // The rule looks at a minute of rates and holds for 30 s: about a minute.
    let alert = alert_named(&cli, "HighErrorRate", Duration::from_secs(150), &|| {
        prom.log()
    });
    assert_eq!(alert["labels"]["job"], "platform-admin", "{alert}");
    assert_eq!(
        alert["annotations"]["playbook"], "high-error-rate",
        "{alert}"
    );
    let ratio = prom
        .get_json("/api/v1/query?query=job:http_error_ratio:rate1m")
        .expect("the error ratio");
    let value: f64 = ratio["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!(value > 0.05, "the error ratio is {value}: {ratio}");
}
