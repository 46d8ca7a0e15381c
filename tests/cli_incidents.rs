//! `opsdeck incident` and `opsdeck maintenance` through the real binaries:
//! a real platform-admin (SQLite and PostgreSQL) whose configuration names
//! a real Alertmanager on loopback, and the CLI with a profile of both.

use std::time::Duration;

use opsdeck_tests::{wait_until, Alertmanager, Backend, Cli, PlatformAdmin};
use serde_json::{json, Value};

struct Setup {
    am: Alertmanager,
    admin: PlatformAdmin,
    cli: Cli,
}

/// A platform-admin naming `am` in `[monitoring]`, and a CLI profile `ops`
/// of both, signed in with an admin token.
fn setup(backend: Backend, extra_config: &str) -> Setup {
    let am = Alertmanager::start().expect("alertmanager");
    let config = am.dir.path().join("platform-admin.toml");
    std::fs::write(
        &config,
        format!(
            "[monitoring]\nalertmanager_url = \"{}\"\n{extra_config}",
            am.url
        ),
    )
    .expect("write the configuration");
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
        "--alertmanager-url",
        &am.url,
        "--use",
    ])
    .success();
    cli.run_with_stdin(&["login", "ops", "--token-stdin"], &token)
        .success();
    Setup { am, admin, cli }
}

fn fire(am: &Alertmanager, name: &str) {
    am.post_alerts(&json!([{
        "labels": {"alertname": name, "service": "db"},
        "annotations": {"summary": format!("{name} fires")},
    }]))
    .expect("alert posted");
}

/// Alertmanager's state of the alert of `name`: active or suppressed.
fn alert_state(am: &Alertmanager, name: &str) -> Option<String> {
    let alerts = am.get_json("/api/v2/alerts").ok()?;
    alerts
        .as_array()?
        .iter()
        .find(|a| a["labels"]["alertname"] == name)
        .and_then(|a| a["status"]["state"].as_str().map(str::to_string))
}

fn kinds(detail: &Value) -> Vec<String> {
    detail["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn an_incident_is_run_from_the_cli_and_its_review_exported(backend: Backend) {
    let s = setup(backend, "");
    fire(&s.am, "HighErrorRate");
    let alerts = s.cli.run(&["alerts", "list", "--json"]).success().json();
    let fingerprint = alerts["items"][0]["fingerprint"]
        .as_str()
        .expect("a fingerprint")
        .to_string();

    let opened = s
        .cli
        .run(&[
            "incident",
            "open",
            "--title",
            "Checkout errors",
            "--severity",
            "P1",
            "--json",
        ])
        .success()
        .json();
    let id = opened["incident"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    assert_eq!(opened["incident"]["commander"], "ops");
    assert_eq!(opened["targets"][0]["state"], "running", "{opened:#}");
    s.cli.run(&["incident", "ack", &id]).success();
    s.cli
        .run(&["incident", "note", &id, "rolled back release 42"])
        .success();
    let linked = s
        .cli
        .run(&["incident", "link-alert", &id, &fingerprint, "--json"])
        .success()
        .json();
    assert_eq!(
        linked["alerts"][0]["alertname"], "HighErrorRate",
        "{linked:#}"
    );
    assert_eq!(linked["alerts"][0]["labels"]["service"], "db");
    let missing = s
        .cli
        .run(&["incident", "link-alert", &id, "ffffffffffffffff"])
        .failure();
    assert!(
        missing.stderr.contains("ffffffffffffffff"),
        "{}",
        missing.stderr
    );
    s.cli.run(&["incident", "mitigate", &id]).success();
    s.cli.run(&["incident", "resolve", &id]).success();
    let twice = s.cli.run(&["incident", "resolve", &id, "--json"]).failure();
    let error: Value = serde_json::from_str(&twice.stderr).expect("a JSON error");
    assert_eq!(error["code"], "invalid_state", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("resolved already")),
        "{error:#}"
    );

    let shown = s
        .cli
        .run(&["incident", "show", &id, "--json"])
        .success()
        .json();
    assert_eq!(
        kinds(&shown),
        [
            "opened",
            "acknowledged",
            "note",
            "alert_linked",
            "mitigated",
            "resolved"
        ]
    );
    let states: Vec<&str> = shown["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t["state"].as_str())
        .collect();
    assert_eq!(states, ["met", "met", "met"]);
    let people = s.cli.run(&["incident", "show", &id]).success();
    for expected in [
        "Checkout errors",
        "acknowledge",
        "met",
        "rolled back release 42",
        "HighErrorRate",
    ] {
        assert!(
            people.stdout.contains(expected),
            "missing `{expected}`:\n{}",
            people.stdout
        );
    }
    let note_at = people
        .stdout
        .find("rolled back release 42")
        .expect("the note");
    let resolved_at = people
        .stdout
        .rfind("Resolved by ops")
        .expect("the resolution");
    assert!(
        note_at < resolved_at,
        "the timeline is in order:\n{}",
        people.stdout
    );

    let listed = s
        .cli
        .run(&["incident", "list", "--status", "resolved", "--json"])
        .success()
        .json();
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let open = s
        .cli
        .run(&["incident", "list", "--status", "open", "--json"])
        .success()
        .json();
    assert_eq!(open["items"].as_array().map(Vec::len), Some(0));

    let file = s.admin.dir.path().join("review.md");
    let file_arg = file.to_string_lossy().into_owned();
    s.cli
        .run(&["incident", "export", &id, "--out", &file_arg])
        .success();
    let review = std::fs::read_to_string(&file).expect("the review");
    for expected in [
        "# P1 incident: Checkout errors",
        "## Summary",
        "| Time to detect |",
        "| Time to acknowledge |",
        "| Time to mitigate |",
        "| Time to resolve |",
        "## Timeline",
        "rolled back release 42",
        "## Actions and their results",
        "| HighErrorRate |",
        "## Charts of the linked alerts' metrics",
        // The profile names no Prometheus: each linked alert says so.
        "could not be drawn",
    ] {
        assert!(
            review.contains(expected),
            "missing `{expected}` in:\n{review}"
        );
    }
}

#[test]
fn an_incident_is_run_from_the_cli_and_its_review_exported_on_sqlite() {
    an_incident_is_run_from_the_cli_and_its_review_exported(Backend::Sqlite);
}

#[test]
fn an_incident_is_run_from_the_cli_and_its_review_exported_on_postgres() {
    an_incident_is_run_from_the_cli_and_its_review_exported(Backend::Postgres);
}

fn a_maintenance_window_silences_its_alert_until_it_is_ended(backend: Backend) {
    let s = setup(backend, "");
    fire(&s.am, "DiskFilling");
    fire(&s.am, "Unrelated");
    wait_until("the alert fires", Duration::from_secs(20), || {
        alert_state(&s.am, "DiskFilling").as_deref() == Some("active")
    })
    .expect("active");
    let incident = s
        .cli
        .run(&[
            "incident",
            "open",
            "--title",
            "Disk",
            "--severity",
            "P3",
            "--json",
        ])
        .success()
        .json();
    let incident = incident["incident"]["id"]
        .as_str()
        .expect("an id")
        .to_string();

    let made = s
        .cli
        .run(&[
            "maintenance",
            "create",
            "--duration",
            "2h",
            "--matcher",
            "alertname=DiskFilling",
            "--reason",
            "resize the volume",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(made["status"], "active", "{made:#}");
    let window = made["id"].as_str().expect("an id").to_string();
    let silence = made["silence_id"].as_str().expect("a silence").to_string();
    wait_until("the alert is silenced", Duration::from_secs(20), || {
        alert_state(&s.am, "DiskFilling").as_deref() == Some("suppressed")
    })
    .expect("silenced during the window");
    assert_eq!(alert_state(&s.am, "Unrelated").as_deref(), Some("active"));
    let listed = s
        .cli
        .run(&["maintenance", "list", "--json"])
        .success()
        .json();
    assert_eq!(listed["items"][0]["id"], window.as_str());
    let people = s.cli.run(&["maintenance", "list"]).success();
    assert!(
        people.stdout.contains("resize the volume") && people.stdout.contains("active"),
        "{}",
        people.stdout
    );

    s.cli.run(&["maintenance", "end", &window]).success();
    wait_until("the alert is active again", Duration::from_secs(20), || {
        alert_state(&s.am, "DiskFilling").as_deref() == Some("active")
    })
    .expect("active after the end");
    let expired =
        s.am.get_json(&format!("/api/v2/silence/{silence}"))
            .expect("the silence");
    assert_eq!(expired["status"]["state"], "expired", "{expired:#}");
    let again = s.cli.run(&["maintenance", "end", &window]).failure();
    assert!(again.stderr.contains("ended already"), "{}", again.stderr);
    let refused = s
        .cli
        .run(&[
            "maintenance",
            "create",
            "--duration",
            "1h",
            "--matcher",
            "9x=1",
            "--reason",
            "bad",
        ])
        .failure();
    assert!(refused.stderr.contains("--matcher"), "{}", refused.stderr);

    let shown = s
        .cli
        .run(&["incident", "show", &incident, "--json"])
        .success()
        .json();
    assert_eq!(
        kinds(&shown),
        ["opened", "maintenance_started", "maintenance_ended"]
    );
}

#[test]
fn a_maintenance_window_silences_its_alert_until_it_is_ended_on_sqlite() {
    a_maintenance_window_silences_its_alert_until_it_is_ended(Backend::Sqlite);
}

#[test]
fn a_maintenance_window_silences_its_alert_until_it_is_ended_on_postgres() {
    a_maintenance_window_silences_its_alert_until_it_is_ended(Backend::Postgres);
}

fn a_run_started_for_an_incident_is_on_its_timeline_and_listed_by_incident_show(backend: Backend) {
    let s = setup(backend, "");
    let opened = s
        .cli
        .run(&[
            "incident",
            "open",
            "--title",
            "Slow checkout",
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
    let file = s.am.dir.path().join("tell.yaml");
    std::fs::write(
        &file,
        "version: 1\nid: tell\ntitle: Tell the incident\nseverity: P2\nsteps:\n  - id: hello\n    note: looking at checkout\n",
    )
    .expect("write the playbook");
    let file = file.to_string_lossy().into_owned();
    s.cli
        .run(&["playbook", "run", &file, "--incident", &id, "--wait"])
        .success();

    let detail = s
        .cli
        .run(&["incident", "show", &id, "--json"])
        .success()
        .json();
    assert_eq!(detail["runs"][0]["playbook"], "tell", "{detail:#}");
    assert_eq!(detail["runs"][0]["state"], "succeeded", "{detail:#}");
    assert_eq!(
        kinds(&detail),
        ["opened", "run_started", "run_note", "run_succeeded"],
        "{detail:#}"
    );
    let shown = s.cli.run(&["incident", "show", &id]).success();
    assert!(
        shown.stdout.contains("Tell the incident") && shown.stdout.contains("succeeded"),
        "{}",
        shown.stdout
    );

    s.cli.run(&["incident", "mitigate", &id]).success();
    s.cli.run(&["incident", "resolve", &id]).success();
    let refused = s
        .cli
        .run(&["playbook", "run", &file, "--incident", &id])
        .failure();
    assert!(refused.stderr.contains("is resolved"), "{}", refused.stderr);
}

#[test]
fn a_run_started_for_an_incident_is_on_its_timeline_and_listed_by_incident_show_on_sqlite() {
    a_run_started_for_an_incident_is_on_its_timeline_and_listed_by_incident_show(Backend::Sqlite);
}

#[test]
fn a_run_started_for_an_incident_is_on_its_timeline_and_listed_by_incident_show_on_postgres() {
    a_run_started_for_an_incident_is_on_its_timeline_and_listed_by_incident_show(Backend::Postgres);
}
