//! `opsdeck alerts` against real Alertmanagers started on loopback: alerts
//! posted to them as Prometheus posts them, silences checked with
//! Alertmanager's own `amtool`, an HA pair with members down, a hostile
//! server, and ten thousand alerts.

use std::time::{Duration, Instant};

use opsdeck_tests::hostile::{Hostile, Reply};
use opsdeck_tests::port::Refusing;
use opsdeck_tests::{wait_until, Alertmanager, Cli};
use serde_json::{json, Value};

/// A CLI with a profile `ops` of `tier` naming `alertmanagers`; its admin
/// API is a port that refuses (alerts never need it), and its token is
/// stored unverified.
struct Setup {
    cli: Cli,
    _admin: Refusing,
}

fn setup(tier: &str, alertmanagers: &[&str]) -> Setup {
    let cli = Cli::new().expect("cli");
    let admin = Refusing::new().expect("a refusing admin port");
    let admin_url = admin.url();
    let mut add = vec![
        "profile",
        "add",
        "ops",
        "--admin-url",
        &admin_url,
        "--tier",
        tier,
        "--use",
    ];
    for url in alertmanagers {
        add.extend(["--alertmanager-url", url]);
    }
    cli.run(&add).success();
    cli.run_with_stdin(&["login", "ops", "--token-stdin"], "secret-admin-token")
        .success();
    Setup { cli, _admin: admin }
}

fn alert(name: &str, severity: &str, summary: &str) -> Value {
    json!({
        "labels": {"alertname": name, "severity": severity, "job": "api"},
        "annotations": {"summary": summary, "playbook": "https://runbooks.example.net/x"},
    })
}

fn names(listed: &Value) -> Vec<String> {
    listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            a["labels"]["alertname"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn posted_alerts_show_in_the_list_with_their_labels() {
    let am = Alertmanager::start().expect("alertmanager");
    am.post_alerts(&json!([
        alert("HighErrorRate", "critical", "5% of requests fail"),
        alert("DiskFilling", "warning", "disk 85% full"),
    ]))
    .expect("post");
    let s = setup("dev", &[&am.url]);

    let listed = s.cli.run(&["alerts", "list", "--json"]).success().json();
    assert_eq!(names(&listed), ["DiskFilling", "HighErrorRate"], "{listed}");
    let high = &listed["items"][1];
    assert_eq!(high["labels"]["severity"], "critical");
    assert_eq!(high["labels"]["job"], "api");
    assert_eq!(high["annotations"]["summary"], "5% of requests fail");
    assert_eq!(high["state"], "active");
    assert_eq!(listed["profile"], "ops");
    assert_eq!(listed["unreachable"], json!([]));

    let critical = s
        .cli
        .run(&["alerts", "list", "--filter", "severity=critical", "--json"])
        .success()
        .json();
    assert_eq!(names(&critical), ["HighErrorRate"]);

    let table = s
        .cli
        .run_with_env(&["alerts", "list"], "", &[("COLUMNS", "200")])
        .success();
    let header = table.stdout.lines().next().unwrap_or_default();
    for column in ["ALERTNAME", "SEVERITY", "STATE", "SINCE", "SUMMARY"] {
        assert!(header.contains(column), "{header}");
    }
    let row = table
        .stdout
        .lines()
        .find(|l| l.contains("HighErrorRate"))
        .unwrap_or_else(|| panic!("no row:\n{}", table.stdout));
    for cell in ["critical", "firing", "5% of requests fail"] {
        assert!(row.contains(cell), "{row}");
    }
    let narrow = s
        .cli
        .run_with_env(&["alerts", "list"], "", &[("COLUMNS", "40")])
        .success();
    assert!(
        narrow.stdout.lines().all(|l| l.chars().count() <= 40),
        "{}",
        narrow.stdout
    );

    let bad = s
        .cli
        .run(&["alerts", "list", "--filter", "not a matcher", "--json"])
        .failure();
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stdout.is_empty());
}

#[test]
fn a_silence_made_by_opsdeck_mutes_the_alert_as_amtool_sees_it_and_expire_unmutes_it() {
    let am = Alertmanager::start().expect("alertmanager");
    am.post_alerts(&json!([
        alert("HighErrorRate", "critical", "failing"),
        alert("DiskFilling", "warning", "filling"),
    ]))
    .expect("post");
    let s = setup("dev", &[&am.url]);

    let made = s
        .cli
        .run(&[
            "alerts",
            "silence",
            "--matcher",
            "alertname=HighErrorRate",
            "--duration",
            "2h",
            "--comment",
            "deploying the fix",
        ])
        .success();
    let id = made.stdout.trim().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "not an id: {id}");

    let silences = am
        .amtool_json(&["silence", "query", "-o", "json"])
        .expect("amtool silence query");
    let silence = silences
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("amtool does not see {id}: {silences}"));
    assert_eq!(silence["comment"], "deploying the fix");
    assert_eq!(silence["matchers"][0]["name"], "alertname");
    assert_eq!(silence["matchers"][0]["value"], "HighErrorRate");
    let ends = chrono::DateTime::parse_from_rfc3339(silence["endsAt"].as_str().unwrap_or(""))
        .expect("endsAt");
    let left = ends.signed_duration_since(chrono::Utc::now()).num_minutes();
    assert!((115..=120).contains(&left), "ends in {left} min");

    let active = |am: &Alertmanager| {
        let alerts = am
            .amtool_json(&["alert", "query", "-o", "json"])
            .expect("amtool alert query");
        let mut names: Vec<String> = alerts
            .as_array()
            .expect("alerts")
            .iter()
            .map(|a| {
                a["labels"]["alertname"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        active(&am),
        ["DiskFilling"],
        "the silenced alert still pages"
    );

    let listed = s.cli.run(&["alerts", "list", "--json"]).success().json();
    let high = listed["items"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|a| a["labels"]["alertname"] == "HighErrorRate")
        })
        .cloned()
        .expect("still listed");
    assert_eq!(high["state"], "suppressed");
    assert_eq!(high["silenced_by"], json!([id]));
    let table = s.cli.run(&["alerts", "list"]).success();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.contains("HighErrorRate") && l.contains("silenced")),
        "{}",
        table.stdout
    );

    let ours = s
        .cli
        .run(&["alerts", "silences", "--json"])
        .success()
        .json();
    assert_eq!(ours["items"][0]["id"], id.as_str(), "{ours}");
    assert_eq!(ours["items"][0]["state"], "active");

    s.cli.run(&["alerts", "expire", &id]).success();
    let left = am
        .amtool_json(&["silence", "query", "-o", "json"])
        .expect("amtool silence query");
    assert_eq!(left, json!([]), "amtool still sees an active silence");
    wait_until("the alert to page again", Duration::from_secs(10), || {
        active(&am) == ["DiskFilling", "HighErrorRate"]
    })
    .expect("unmuted");
    let after = s
        .cli
        .run(&["alerts", "silences", "--json"])
        .success()
        .json();
    assert_eq!(after["items"], json!([]), "expired silences are hidden");
    let all = s
        .cli
        .run(&["alerts", "silences", "--all", "--json"])
        .success()
        .json();
    assert_eq!(all["items"][0]["state"], "expired");

    let missing = s
        .cli
        .run(&[
            "alerts",
            "expire",
            "11111111-2222-4333-8444-555555555555",
            "--json",
        ])
        .failure();
    let report: Value = serde_json::from_str(missing.stderr.trim()).expect("JSON error");
    assert_eq!(report["code"], "silence_not_found", "{report}");

    let unknown = s
        .cli
        .run(&["alerts", "expire", "not-an-id", "--json"])
        .failure();
    let report: Value = serde_json::from_str(unknown.stderr.trim()).expect("JSON error");
    assert_eq!(report["code"], "invalid_input");
    assert!(unknown.stdout.is_empty());
}

#[test]
fn on_prod_silencing_and_expiring_need_the_target_typed() {
    let am = Alertmanager::start().expect("alertmanager");
    am.post_alerts(&json!([alert("HighErrorRate", "critical", "failing")]))
        .expect("post");
    let s = setup("prod", &[&am.url]);
    let silence = [
        "alerts",
        "silence",
        "--matcher",
        "alertname=HighErrorRate",
        "--duration",
        "30m",
        "--comment",
        "known",
    ];

    let refused = s.cli.run(&silence).failure();
    assert!(
        refused.stderr.contains("needs the alert name typed"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--confirm"), "{}", refused.stderr);
    let mut json_args = silence.to_vec();
    json_args.push("--json");
    let report: Value =
        serde_json::from_str(s.cli.run(&json_args).failure().stderr.trim()).expect("JSON");
    assert_eq!(report["code"], "confirmation_required");
    assert_eq!(
        report["remedy"],
        json!({"kind": "confirm", "target": "HighErrorRate"})
    );
    let mut wrong = silence.to_vec();
    wrong.extend(["--confirm", "DiskFilling"]);
    s.cli.run(&wrong).failure();
    let none = am
        .amtool_json(&["silence", "query", "-o", "json"])
        .expect("query");
    assert_eq!(none, json!([]), "a refused silence was made");

    let mut confirmed = silence.to_vec();
    confirmed.extend(["--confirm", "HighErrorRate"]);
    let id = s.cli.run(&confirmed).success().stdout.trim().to_string();

    let expire = s.cli.run(&["alerts", "expire", &id]).failure();
    assert!(
        expire.stderr.contains("needs the silence id typed"),
        "{}",
        expire.stderr
    );
    let still = am
        .amtool_json(&["silence", "query", "-o", "json"])
        .expect("query");
    assert_eq!(still[0]["id"], id.as_str(), "expired without confirmation");
    s.cli
        .run(&["alerts", "expire", &id, "--confirm", &id])
        .success();
    let gone = am
        .amtool_json(&["silence", "query", "-o", "json"])
        .expect("query");
    assert_eq!(gone, json!([]));
}

#[test]
fn an_ha_pair_is_merged_by_fingerprint_and_lists_with_one_member_down() {
    let mut a = Alertmanager::start().expect("a");
    let mut b = Alertmanager::start().expect("b");
    // Prometheus sends every alert to every member.
    let both = json!([alert("HighErrorRate", "critical", "failing")]);
    a.post_alerts(&both).expect("post a");
    b.post_alerts(&both).expect("post b");
    a.post_alerts(&json!([alert("OnlyOnA", "warning", "a")]))
        .expect("post a");
    b.post_alerts(&json!([alert("OnlyOnB", "warning", "b")]))
        .expect("post b");
    let s = setup("dev", &[&a.url, &b.url]);

    let listed = s.cli.run(&["alerts", "list", "--json"]).success().json();
    assert_eq!(
        names(&listed),
        ["HighErrorRate", "OnlyOnA", "OnlyOnB"],
        "{listed}"
    );
    assert_eq!(listed["answered"], json!([a.url, b.url]));

    a.stop();
    let (run, took) = s
        .cli
        .run_within(&["alerts", "list", "--json"], "", Duration::from_secs(60));
    let listed = run.success().json();
    assert_eq!(names(&listed), ["HighErrorRate", "OnlyOnB"]);
    assert_eq!(listed["unreachable"][0]["url"], a.url.as_str(), "{listed}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let plain = s.cli.run(&["alerts", "list"]).success();
    assert!(
        plain.stderr.contains(&a.url) && plain.stderr.contains("did not answer"),
        "{}",
        plain.stderr
    );

    // A silence goes to the member that answers.
    let id = s
        .cli
        .run(&[
            "alerts",
            "silence",
            "--matcher",
            "alertname=OnlyOnB",
            "--duration",
            "1h",
            "--comment",
            "a is down",
        ])
        .success()
        .stdout
        .trim()
        .to_string();
    let on_b = b
        .amtool_json(&["silence", "query", "-o", "json"])
        .expect("amtool on b");
    assert_eq!(on_b[0]["id"], id.as_str(), "{on_b}");
    let silences = s
        .cli
        .run(&["alerts", "silences", "--json"])
        .success()
        .json();
    assert_eq!(silences["items"][0]["id"], id.as_str());
    assert_eq!(silences["unreachable"][0]["url"], a.url.as_str());

    b.stop();
    let no_silence = s
        .cli
        .run(&[
            "alerts",
            "silence",
            "--matcher",
            "alertname=X",
            "--duration",
            "1h",
            "--comment",
            "c",
        ])
        .failure();
    assert!(
        no_silence
            .stderr
            .contains("no Alertmanager of profile ops answered"),
        "{}",
        no_silence.stderr
    );
    let down = s.cli.run(&["alerts", "list"]).failure();
    assert!(
        down.stderr
            .contains("no Alertmanager of profile ops answered"),
        "{}",
        down.stderr
    );
    assert!(
        down.stderr.contains(&a.url) && down.stderr.contains(&b.url),
        "{}",
        down.stderr
    );
    let report: Value = serde_json::from_str(
        s.cli
            .run(&["alerts", "list", "--json"])
            .failure()
            .stderr
            .trim(),
    )
    .expect("JSON error");
    assert_eq!(report["code"], "unreachable");
    assert_eq!(report["remedy"], json!({"kind": "retry"}));
}

#[test]
fn a_hostile_alertmanager_gets_a_clear_error_within_the_read_budget() {
    let hostile = Hostile::start(|request| match request.path() {
        "/garbage/api/v2/alerts" => Reply::json(200, "<html>not alerts</html>"),
        "/huge/api/v2/alerts" => Reply::Endless {
            total: 512 * 1024 * 1024,
        },
        "/hang/api/v2/alerts" => Reply::Hang,
        "/moved/api/v2/alerts" => Reply::redirect(302, "http://127.0.0.1:9/steal"),
        "/escapes/api/v2/alerts" => Reply::json(
            200,
            r#"[{"fingerprint":"f1","labels":{"alertname":"Evil\u001b[2J\u001b]0;pwned\u0007"},"annotations":{"summary":"\u001b[31mred"},"status":{"state":"active","silencedBy":[],"inhibitedBy":[]},"receivers":[],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}]"#,
        ),
        _ => Reply::json(404, "\"no\""),
    })
    .expect("hostile server");
    let budget = Duration::from_secs(15);
    for (path, code, words) in [
        ("garbage", "malformed_response", "cannot read"),
        ("huge", "response_too_large", "larger than"),
        ("hang", "unreachable", "did not answer in time"),
        ("moved", "redirected", "does not follow redirects"),
    ] {
        let url = format!("{}/{path}", hostile.url);
        let s = setup("dev", &[&url]);
        let (run, took) = s
            .cli
            .run_within(&["alerts", "list"], "", Duration::from_secs(60));
        let run = run.failure();
        assert!(run.stderr.contains(words), "{path}: {}", run.stderr);
        assert!(took < budget, "{path} took {took:?}");
        let (json_run, _) =
            s.cli
                .run_within(&["alerts", "list", "--json"], "", Duration::from_secs(60));
        let report: Value = serde_json::from_str(json_run.failure().stderr.trim())
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e})"));
        assert_eq!(report["code"], code, "{path}: {report}");
    }
    let s = setup("dev", &[&format!("{}/escapes", hostile.url)]);
    let table = s.cli.run(&["alerts", "list"]).success();
    assert!(!table.stdout.contains('\u{1b}'), "{:?}", table.stdout);
    assert!(table.stdout.contains("Evil"), "{}", table.stdout);
    let listed = s.cli.run(&["alerts", "list", "--json"]).success().json();
    assert!(!listed.to_string().contains('\u{1b}'));

    let requests = hostile.requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.header("authorization").is_none()),
        "a token went to the Alertmanager"
    );
    assert!(
        requests.iter().all(|r| !r.target.contains("steal")),
        "the redirect was followed"
    );
}

#[test]
fn ten_thousand_alerts_list_correctly() {
    let am = Alertmanager::start().expect("alertmanager");
    for batch in 0..10 {
        let alerts: Vec<Value> = (0..1000)
            .map(|i| {
                let n = batch * 1000 + i;
                json!({
                    "labels": {"alertname": format!("Storm{:05}", n), "severity": if n % 10 == 0 { "critical" } else { "warning" }, "instance": format!("node-{n}")},
                    "annotations": {"summary": format!("alert number {n}")},
                })
            })
            .collect();
        am.post_alerts(&Value::Array(alerts)).expect("post a batch");
    }
    let s = setup("dev", &[&am.url]);
    let started = Instant::now();
    let listed = s.cli.run(&["alerts", "list", "--json"]).success().json();
    let took = started.elapsed();
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 10_000);
    let mut fingerprints: Vec<&str> = items
        .iter()
        .map(|a| a["fingerprint"].as_str().unwrap_or_default())
        .collect();
    fingerprints.sort();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), 10_000);
    assert_eq!(items[0]["labels"]["alertname"], "Storm00000");
    assert_eq!(items[9999]["labels"]["alertname"], "Storm09999");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let critical = s
        .cli
        .run(&["alerts", "list", "--filter", "severity=critical", "--json"])
        .success()
        .json();
    assert_eq!(critical["items"].as_array().map(Vec::len), Some(1000));
    let table = s.cli.run(&["alerts", "list"]).success();
    assert_eq!(
        table.stdout.lines().count(),
        10_001,
        "header and one row each"
    );
}

#[test]
fn profiles_name_several_alertmanagers_with_the_admin_urls_rules() {
    let cli = Cli::new().expect("cli");
    cli.run(&[
        "profile",
        "add",
        "ops",
        "--admin-url",
        "https://admin.example.net",
        "--tier",
        "prod",
        "--alertmanager-url",
        "https://am-1.example.net",
        "--alertmanager-url",
        "https://am-2.example.net/",
        "--prometheus-url",
        "https://prom.example.net",
    ])
    .success();
    let list = cli.run(&["profile", "list", "--json"]).success().json();
    let p = &list["profiles"][0];
    assert_eq!(
        p["alertmanager_urls"],
        json!(["https://am-1.example.net", "https://am-2.example.net"])
    );
    assert_eq!(p["prometheus_url"], "https://prom.example.net");

    for (flag, bad) in [
        ("--alertmanager-url", "http://am.example.net"),
        ("--alertmanager-url", "https://u:p@am.example.net"),
        ("--prometheus-url", "ftp://prom.example.net"),
    ] {
        let refused = cli.run(&["profile", "set", "ops", flag, bad]).failure();
        assert!(
            refused.stderr.contains(flag),
            "{flag} {bad}: {}",
            refused.stderr
        );
    }
    let twice = cli
        .run(&[
            "profile",
            "set",
            "ops",
            "--alertmanager-url",
            "https://am.example.net",
            "--alertmanager-url",
            "https://am.example.net/",
        ])
        .failure();
    assert!(twice.stderr.contains("given twice"), "{}", twice.stderr);

    cli.run(&[
        "profile",
        "set",
        "ops",
        "--alertmanager-url",
        "http://127.0.0.1:9093",
    ])
    .success();
    let list = cli.run(&["profile", "list", "--json"]).success().json();
    assert_eq!(
        list["profiles"][0]["alertmanager_urls"],
        json!(["http://127.0.0.1:9093"])
    );
    assert_eq!(
        list["profiles"][0]["prometheus_url"], "https://prom.example.net",
        "a URL not given stays"
    );
    let nothing = cli.run(&["profile", "set", "ops"]).failure();
    assert!(
        nothing.stderr.contains("nothing to set"),
        "{}",
        nothing.stderr
    );

    // Written by hand, a remote plain-http Alertmanager is refused on reading.
    let file = cli.config_dir.path().join("profiles.toml");
    let text = std::fs::read_to_string(&file).expect("profiles.toml");
    std::fs::write(
        &file,
        text.replace("http://127.0.0.1:9093", "http://am.example.net"),
    )
    .expect("edit");
    let broken = cli.run(&["profile", "list"]).failure();
    assert!(
        broken.stderr.contains("alertmanager_urls"),
        "{}",
        broken.stderr
    );

    let none = Cli::new().expect("cli");
    let admin = Refusing::new().expect("port");
    none.run(&[
        "profile",
        "add",
        "bare",
        "--admin-url",
        &admin.url(),
        "--tier",
        "dev",
    ])
    .success();
    none.run_with_stdin(&["login", "bare", "--token-stdin"], "t")
        .success();
    let no_am = none.run(&["alerts", "list"]).failure();
    assert!(
        no_am.stderr.contains("names no Alertmanager"),
        "{}",
        no_am.stderr
    );
    assert!(
        no_am
            .stderr
            .contains("opsdeck profile set bare --alertmanager-url"),
        "{}",
        no_am.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_groups_of_an_ha_pair_merge_by_receiver_and_labels() {
    use opsdeck_core::secrets::{MemorySecrets, Token};
    use opsdeck_core::{AlertFilter, Console, Paths, ProfileSettings, Tier};

    let (a, b) = opsdeck_tests::blocking(|| {
        (
            Alertmanager::start().expect("a"),
            Alertmanager::start().expect("b"),
        )
    });
    let both = json!([
        alert("HighErrorRate", "critical", "failing"),
        alert("DiskFilling", "warning", "filling"),
    ]);
    opsdeck_tests::blocking(|| {
        a.post_alerts(&both).expect("post a");
        b.post_alerts(&both).expect("post b");
        b.post_alerts(&json!([alert("OnlyOnB", "info", "b")]))
            .expect("post b");
    });
    let dir = tempfile::tempdir().expect("dir");
    let console = Console::open(
        Paths::under(dir.path()),
        std::sync::Arc::new(MemorySecrets::default()),
    )
    .await
    .expect("console");
    let urls = ProfileSettings {
        prometheus_url: None,
        alertmanager_urls: Some(vec![a.url.clone(), b.url.clone()]),
        read_only: None,
    };
    console
        .profile_add_with(
            "ops",
            Tier::Dev,
            "http://127.0.0.1:9",
            &urls,
            Some(Token::new("t").expect("token")),
            true,
        )
        .await
        .expect("profile");
    let session = console.session(None).await.expect("session");
    let groups = opsdeck_tests::within("alert groups", Duration::from_secs(30), async {
        session
            .alerts()
            .expect("alerts")
            .groups(&AlertFilter::default())
            .await
    })
    .await
    .expect("in time")
    .expect("groups");
    // The default route groups nothing by label: one group of every alert,
    // each alert once though both members hold it.
    assert_eq!(groups.items.len(), 1, "{groups:?}");
    let mut names: Vec<&str> = groups.items[0]
        .alerts
        .iter()
        .filter_map(|alert| alert.label("alertname"))
        .collect();
    names.sort();
    assert_eq!(names, ["DiskFilling", "HighErrorRate", "OnlyOnB"]);
    assert_eq!(groups.items[0].receiver, "nowhere");
    assert_eq!(groups.answered, [a.url.clone(), b.url.clone()]);
}

#[test]
fn an_acknowledgement_is_seen_by_every_operator_and_mutes_nothing() {
    let am = Alertmanager::start().expect("alertmanager");
    am.post_alerts(&json!([alert("HighErrorRate", "critical", "failing")]))
        .expect("post");
    // Two operators, on production, sharing the Alertmanager.
    let ann = setup("prod", &[&am.url]);
    let bob = setup("prod", &[&am.url]);
    let listed = ann.cli.run(&["alerts", "list", "--json"]).success().json();
    let fingerprint = listed["items"][0]["fingerprint"]
        .as_str()
        .expect("a fingerprint")
        .to_string();
    assert_eq!(listed["items"][0]["acknowledged"], Value::Null);

    // It mutes nothing, so production asks for nothing typed.
    let made = ann
        .cli
        .run(&[
            "alerts",
            "ack",
            &fingerprint,
            "--comment",
            "rolling back",
            "--for",
            "2h",
        ])
        .success();
    let id = made.stdout.trim().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "not an id: {id}");

    let seen = bob.cli.run(&["alerts", "list", "--json"]).success().json();
    let ack = &seen["items"][0]["acknowledged"];
    assert_eq!(ack["comment"], "rolling back", "{seen}");
    assert_eq!(ack["id"], id.as_str(), "{seen}");
    assert!(ack["by"].as_str().is_some_and(|b| !b.is_empty()), "{seen}");
    assert_eq!(seen["items"][0]["state"], "active", "still firing: {seen}");
    let paging = am
        .amtool_json(&["alert", "query", "-o", "json"])
        .expect("amtool alert query");
    assert_eq!(
        paging.as_array().map(Vec::len),
        Some(1),
        "Alertmanager still routes it: {paging}"
    );
    let table = bob.cli.run(&["alerts", "list"]).success();
    assert!(
        table.stdout.contains("ACKNOWLEDGED") && table.stdout.contains(" ago"),
        "{}",
        table.stdout
    );

    // Only an acknowledgement can be withdrawn this way.
    let silence = ann
        .cli
        .run(&[
            "alerts",
            "silence",
            "--matcher",
            "alertname=Other",
            "--duration",
            "1h",
            "--comment",
            "c",
            "--confirm",
            "Other",
        ])
        .success();
    let refused = bob
        .cli
        .run(&["alerts", "unack", silence.stdout.trim()])
        .failure();
    assert!(
        refused.stderr.contains("not an acknowledgement"),
        "{}",
        refused.stderr
    );
    bob.cli.run(&["alerts", "unack", &id]).success();
    let after = ann.cli.run(&["alerts", "list", "--json"]).success().json();
    assert_eq!(after["items"][0]["acknowledged"], Value::Null, "{after}");

    let bad = ann
        .cli
        .run(&["alerts", "ack", "not-a-fingerprint"])
        .failure();
    assert!(bad.stderr.contains("fingerprint"), "{}", bad.stderr);
}

#[test]
fn a_silence_until_resolved_ends_when_its_alerts_resolve_and_not_before() {
    let am = Alertmanager::start().expect("alertmanager");
    am.post_alerts(&json!([
        alert("DiskFilling", "warning", "filling"),
        alert("HighErrorRate", "critical", "failing"),
    ]))
    .expect("post");
    let s = setup("dev", &[&am.url]);
    let mut ids = Vec::new();
    for name in ["DiskFilling", "HighErrorRate"] {
        let made = s
            .cli
            .run(&[
                "alerts",
                "silence",
                "--matcher",
                &format!("alertname={name}"),
                "--until-resolved",
                "--comment",
                "replacing the disks",
            ])
            .success();
        ids.push(made.stdout.trim().to_string());
    }
    let state_of = |id: &str| -> String {
        let silences = am
            .amtool_json(&["silence", "query", "--expired", "-o", "json"])
            .expect("amtool silence query --expired");
        let active = am
            .amtool_json(&["silence", "query", "-o", "json"])
            .expect("amtool silence query");
        let all: Vec<&Value> = active
            .as_array()
            .into_iter()
            .chain(silences.as_array())
            .flatten()
            .collect();
        all.iter()
            .find(|s| s["id"] == id)
            .map(|s| {
                s["status"]["state"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .unwrap_or_default()
    };
    assert_eq!(state_of(&ids[0]), "active");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = s.cli.command();
    cmd.args(["--json", "alerts", "watch", "--interval", "1s"]);
    let _watch = opsdeck_tests::Proc::spawn(cmd, "watch", dir.path()).expect("the watch");
    // While both fire, both silences stand.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(state_of(&ids[0]), "active");

    let mut resolved = alert("DiskFilling", "warning", "filling");
    resolved["endsAt"] = json!((chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339());
    am.post_alerts(&json!([resolved])).expect("resolve");
    wait_until(
        "the resolved alert's silence to end",
        Duration::from_secs(30),
        || state_of(&ids[0]) == "expired",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        state_of(&ids[1]),
        "active",
        "the silence of the alert that still fires stands"
    );
}
