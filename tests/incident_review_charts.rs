//! `opsdeck incident export` draws a chart of each linked alert's metric
//! over the incident window: a real Prometheus fires an alert from a rule
//! into a real Alertmanager, whose `generatorURL` gives the expression; an
//! alert posted to Alertmanager by hand has none and falls back to
//! `ALERTS{alertname=...}`. The charts are PNGs next to the Markdown,
//! linked from it.

use std::time::Duration;

use opsdeck_tests::prometheus::{self, Prometheus};
use opsdeck_tests::{wait_until, Alertmanager, Backend, Cli, PlatformAdmin};
use serde_json::{json, Value};

const RULES: &str = r#"groups:
  - name: review
    rules:
      - alert: ScrapesAreUp
        expr: up{job="prometheus"} > 0
        labels: { severity: critical }
"#;

/// The first bytes of every PNG file.
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn the_review_links_a_png_chart_of_each_linked_alerts_expression(backend: Backend) {
    let am = Alertmanager::start().expect("Alertmanager");
    let rules = am.dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).expect("rules");
    let prom = Prometheus::start(prometheus::Config {
        rule_files: vec![rules],
        alertmanager: Some(am.url.clone()),
        interval: Duration::from_secs(1),
        ..prometheus::Config::default()
    })
    .expect("Prometheus");
    let config = am.dir.path().join("platform-admin.toml");
    std::fs::write(
        &config,
        format!(
            "[monitoring]\nprometheus_url = \"{}\"\nalertmanager_url = \"{}\"\n",
            prom.url, am.url
        ),
    )
    .expect("config");
    let config = config.to_string_lossy().into_owned();
    let admin = PlatformAdmin::start_with(backend, &["--config", &config]).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
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

    // One alert from the rule, with its generatorURL; one by hand, without.
    am.post_alerts(&json!([{
        "labels": {"alertname": "PostedByHand", "service": "db"},
    }]))
    .expect("alert posted");
    let mut alerts = Value::Null;
    wait_until(
        "both alerts in Alertmanager",
        Duration::from_secs(60),
        || {
            alerts = cli.run(&["alerts", "list", "--json"]).success().json();
            alerts["items"].as_array().map_or(0, Vec::len) >= 2
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}: {alerts:#}\n{}", prom.log()));
    let fingerprint = |name: &str| -> String {
        alerts["items"]
            .as_array()
            .and_then(|items| items.iter().find(|a| a["labels"]["alertname"] == name))
            .and_then(|a| a["fingerprint"].as_str())
            .unwrap_or_else(|| panic!("no alert {name}: {alerts:#}"))
            .to_string()
    };

    let opened = cli
        .run(&[
            "incident",
            "open",
            "--title",
            "Scrapes",
            "--severity",
            "P2",
            "--json",
        ])
        .success()
        .json();
    let id = opened["incident"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    for name in ["ScrapesAreUp", "PostedByHand"] {
        cli.run(&["incident", "link-alert", &id, &fingerprint(name)])
            .success();
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("review.md");
    let file_arg = file.to_string_lossy().into_owned();
    let exported = cli
        .run(&["incident", "export", &id, "--out", &file_arg, "--json"])
        .success()
        .json();
    assert_eq!(
        exported["charts"].as_array().map(Vec::len),
        Some(2),
        "{exported:#}"
    );
    let md = std::fs::read_to_string(&file).expect("the review");
    for n in [1, 2] {
        let png = dir.path().join(format!("review-{n}.png"));
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(bytes.starts_with(PNG_MAGIC), "{} is no PNG", png.display());
        assert!(bytes.len() > 1000, "{} is nearly empty", png.display());
        assert!(md.contains(&format!("(review-{n}.png)")), "{md}");
    }
    // The rule's own expression, and the fallback for the posted alert.
    assert!(md.contains(r#"`up{job="prometheus"} > 0`"#), "{md}");
    assert!(md.contains(r#"`ALERTS{alertname="PostedByHand"}`"#), "{md}");
    // The durations stay as they were.
    assert!(md.contains("| Time to acknowledge |"), "{md}");
}

#[test]
fn the_review_links_a_png_chart_of_each_linked_alerts_expression_on_sqlite() {
    the_review_links_a_png_chart_of_each_linked_alerts_expression(Backend::Sqlite);
}

#[test]
fn the_review_links_a_png_chart_of_each_linked_alerts_expression_on_postgres() {
    the_review_links_a_png_chart_of_each_linked_alerts_expression(Backend::Postgres);
}
