//! The monitoring pipeline end to end, with real servers: a real Prometheus
//! scrapes a real platform-admin and evaluates an alert rule; when the
//! platform goes down the rule fires, the alert reaches a real Alertmanager,
//! and `opsdeck alerts list` and `opsdeck query` both see it.

use std::time::{Duration, Instant};

use opsdeck_tests::prometheus::{Config, Job};
use opsdeck_tests::{Alertmanager, Backend, Cli, PlatformAdmin, Prometheus};
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
    let fired = Instant::now();
    let deadline = fired + Duration::from_secs(30);
    let alert: Value = loop {
        let listed = cli.run(&["alerts", "list", "--json"]).success().json();
        let found = listed["items"]
            .as_array()
            .and_then(|all| {
                all.iter()
                    .find(|a| a["labels"]["alertname"] == "ServiceDown")
            })
            .cloned();
        if let Some(alert) = found {
            break alert;
        }
        assert!(
            Instant::now() < deadline,
            "no ServiceDown alert within 30 s: {listed}\nPrometheus: {}",
            prom.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
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
