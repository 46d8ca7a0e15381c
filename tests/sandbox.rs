//! The sandbox scripts the README starts with: `sandbox/up` brings up a real
//! platform with demo data, its monitoring (Prometheus, Alertmanager,
//! node-exporter) and a working `sandbox` profile, twice without harm;
//! `sandbox/down` stops it. And the platform's alert rules it ships, as
//! Prometheus's own `promtool` and a real Prometheus read them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use opsdeck_tests::port::{retry_on_collision, Attempt};
use opsdeck_tests::process::output_blocking;
use opsdeck_tests::prometheus::{promtool, Config};
use opsdeck_tests::{Cli, Prometheus};

/// The loopback ports of one sandbox: platform-admin, Prometheus,
/// Alertmanager, node-exporter.
#[derive(Debug, Clone, Copy)]
struct Ports {
    admin: u16,
    prometheus: u16,
    alertmanager: u16,
    node: u16,
}

impl Ports {
    /// `admin` and three more ports nobody listened on a moment ago.
    fn around(admin: u16) -> Self {
        let listeners: Vec<std::net::TcpListener> = (0..3)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        let port = |i: usize| listeners[i].local_addr().expect("addr").port();
        Self {
            admin,
            prometheus: port(0),
            alertmanager: port(1),
            node: port(2),
        }
    }
}

fn monitoring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sandbox")
        .join("monitoring")
}

fn script(name: &str, cli: &Cli, state: &Path, ports: Ports) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("sandbox").join(name))
        .env("OPSDECK_CONFIG_DIR", cli.config_dir.path())
        .env("OPSDECK_SANDBOX_DIR", state)
        .env("OPSDECK_SANDBOX_PORT", ports.admin.to_string())
        .env(
            "OPSDECK_SANDBOX_PROMETHEUS_PORT",
            ports.prometheus.to_string(),
        )
        .env(
            "OPSDECK_SANDBOX_ALERTMANAGER_PORT",
            ports.alertmanager.to_string(),
        )
        .env("OPSDECK_SANDBOX_NODE_EXPORTER_PORT", ports.node.to_string())
        // Traffic brisk and failing often, so a test sees both soon.
        .env("OPSDECK_TRAFFIC_RATE", "20")
        .env("OPSDECK_TRAFFIC_ERRORS", "30");
    // `up` may build the binaries first.
    output_blocking(cmd, b"", Duration::from_secs(600)).expect("run sandbox script")
}

/// The first `up`, on ports the script is told: should another program
/// take one first, the script says so and other ports are tried.
fn first_up(cli: &Cli, state: &Path) -> Ports {
    retry_on_collision("sandbox/up", |port| {
        let ports = Ports::around(port);
        let up = script("up", cli, state, ports);
        let said = String::from_utf8_lossy(&up.stderr);
        Ok(if up.status.success() {
            Attempt::Up(ports)
        } else if said.contains("is taken") || said.contains("in use") {
            Attempt::Collision(said.into_owned())
        } else {
            panic!("sandbox/up failed:\n{said}")
        })
    })
    .expect("sandbox/up on free ports")
}

/// Runs `sandbox/down` when the test ends, pass or fail.
struct Down<'a>(&'a Cli, &'a Path, Ports);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = script("down", self.0, self.1, self.2);
    }
}

#[test]
fn sandbox_up_serves_demo_tenants_to_the_sandbox_profile_and_down_stops_it() {
    let cli = Cli::new().expect("cli");
    let state = tempfile::tempdir().expect("state dir");
    let port = first_up(&cli, state.path());
    let _down = Down(&cli, state.path(), port);

    let mut count = 0;
    for round in 0..2 {
        if round > 0 {
            let up = script("up", &cli, state.path(), port);
            assert!(
                up.status.success(),
                "sandbox/up (round {round}) failed:\n{}",
                String::from_utf8_lossy(&up.stderr)
            );
        }
        let view = cli.run(&["--json", "tenants", "list"]).success().json();
        assert_eq!(view["profile"], "sandbox");
        assert_eq!(view["tier"], "dev");
        let tenants = view["tenants"].as_array().expect("tenants").len();
        assert!(tenants >= 50, "demo data has {tenants} tenants");
        if round == 1 {
            assert_eq!(tenants, count, "a second `up` adds no tenants");
        }
        count = tenants;
    }
    let suspended = cli
        .run(&["--json", "tenants", "list", "--status", "suspended"])
        .success()
        .json();
    assert!(!suspended["tenants"].as_array().expect("tenants").is_empty());

    let down = script("down", &cli, state.path(), port);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let after = cli.run(&["--json", "tenants", "list"]).stale().json();
    assert!(
        after["stale"].is_object(),
        "server stopped: the list is stale"
    );
    let query = cli.run(&["query", "up", "--json"]).failure();
    assert!(query.stderr.contains("unreachable"), "{}", query.stderr);
}

#[test]
fn sandbox_up_gives_the_profile_a_prometheus_scraping_the_platform_and_an_alertmanager() {
    let cli = Cli::new().expect("cli");
    let state = tempfile::tempdir().expect("state dir");
    let ports = first_up(&cli, state.path());
    let _down = Down(&cli, state.path(), ports);

    let profiles = cli.run(&["profile", "list", "--json"]).success().json();
    let sandbox = profiles["profiles"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "sandbox"))
        .cloned()
        .unwrap_or_else(|| panic!("no sandbox profile: {profiles}"));
    let prom_url = format!("http://127.0.0.1:{}", ports.prometheus);
    let am_url = format!("http://127.0.0.1:{}", ports.alertmanager);
    assert_eq!(sandbox["prometheus_url"], prom_url.as_str(), "{sandbox}");
    assert_eq!(
        sandbox["alertmanager_urls"],
        serde_json::json!([am_url]),
        "{sandbox}"
    );

    // Every job scraped and up, asked through the profile (the first
    // scrape of each lands within one 5 s interval).
    let wanted: BTreeSet<&str> = ["platform-admin", "prometheus", "node"].into();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = BTreeSet::new();
    while Instant::now() < deadline {
        let result = cli.run(&["query", "up == 1", "--json"]).success().json();
        seen = result["series"]
            .as_array()
            .expect("series")
            .iter()
            .filter_map(|s| s["labels"]["job"].as_str().map(str::to_string))
            .collect();
        if wanted.iter().all(|job| seen.contains(*job)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        wanted.iter().all(|job| seen.contains(*job)),
        "jobs up: {seen:?}"
    );

    // Prometheus loaded the platform's rules and knows its Alertmanager.
    let http = opsdeck_tests::Http::new(&prom_url, None);
    let rules = http.get("/api/v1/rules").json();
    assert!(
        rules.to_string().contains("HighErrorRate"),
        "rules not loaded: {rules}"
    );
    let managers = http.get("/api/v1/alertmanagers").json();
    assert!(
        managers
            .to_string()
            .contains(&format!("127.0.0.1:{}", ports.alertmanager)),
        "{managers}"
    );
    let alerts = cli.run(&["alerts", "list", "--json"]).success().json();
    assert_eq!(alerts["answered"], serde_json::json!([am_url]), "{alerts}");

    // The traffic generator's requests, answered and refused, as scraped.
    let wanted: BTreeSet<&str> = ["200", "401", "404"].into();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut statuses = BTreeSet::new();
    while Instant::now() < deadline {
        let result = cli
            .run(&[
                "query",
                "sum by (status) (http_requests_total{route!=\"/metrics\"})",
                "--json",
            ])
            .success()
            .json();
        statuses = result["series"]
            .as_array()
            .expect("series")
            .iter()
            .filter_map(|s| s["labels"]["status"].as_str().map(str::to_string))
            .collect();
        if wanted.iter().all(|s| statuses.contains(*s)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        wanted.iter().all(|s| statuses.contains(*s)),
        "statuses served: {statuses:?}"
    );

    let down = script("down", &cli, state.path(), ports);
    let said = String::from_utf8_lossy(&down.stdout);
    for name in [
        "prometheus",
        "alertmanager",
        "node-exporter",
        "platform-admin",
    ] {
        assert!(said.contains(&format!("{name} stopped")), "{said}");
    }
    for port in [ports.prometheus, ports.alertmanager, ports.node] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still served after down"
        );
    }
}

#[test]
fn promtool_accepts_the_sandbox_rules_and_their_unit_tests_pass() {
    let rules = monitoring().join("rules.yml");
    let (ok, said) = promtool(&["check", "rules", &rules.display().to_string()]).expect("promtool");
    assert!(ok, "{said}");
    assert!(said.contains("SUCCESS"), "{said}");
    let tests = monitoring().join("rules_test.yml");
    let (ok, said) = promtool(&["test", "rules", &tests.display().to_string()]).expect("promtool");
    assert!(ok, "{said}");

    // And promtool is not a rubber stamp: a broken rule is refused.
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: rate(up[5m]\n",
    )
    .expect("write");
    let (ok, said) =
        promtool(&["check", "rules", &broken.display().to_string()]).expect("promtool");
    assert!(!ok, "{said}");
}

#[test]
fn every_sandbox_alert_has_a_warning_and_a_critical_with_its_annotations() {
    let prom = Prometheus::start(Config {
        rule_files: vec![monitoring().join("rules.yml")],
        ..Config::default()
    })
    .expect("prometheus");
    let rules = prom.get_json("/api/v1/rules?type=alert").expect("rules");
    let mut severities: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for group in rules["data"]["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            let name = rule["name"].as_str().expect("name").to_string();
            // `unknown` until its first evaluation; `err` when it cannot run.
            assert_ne!(rule["health"], "err", "{rule}");
            for annotation in ["summary", "description", "playbook"] {
                let text = rule["annotations"][annotation].as_str().unwrap_or_default();
                assert!(
                    !text.trim().is_empty(),
                    "{name} has no {annotation}: {rule}"
                );
            }
            let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
            severities
                .entry(name)
                .or_default()
                .insert(severity.to_string());
        }
    }
    let both: BTreeSet<String> = ["critical".to_string(), "warning".to_string()].into();
    // The platform's alert table: service down, error rate, response
    // time, CPU, memory, disk.
    for alert in [
        "HighErrorRate",
        "SlowResponses",
        "HighCpu",
        "HighMemory",
        "DiskFilling",
    ] {
        assert_eq!(
            severities.get(alert),
            Some(&both),
            "{alert}: {severities:?}"
        );
    }
    assert_eq!(
        severities
            .get("ServiceDown")
            .map(|s| s.contains("critical")),
        Some(true)
    );
    assert_eq!(
        severities
            .get("ServiceScrapesFailing")
            .map(|s| s.contains("warning")),
        Some(true)
    );
    for (name, set) in &severities {
        assert!(set.is_subset(&both), "{name}: {set:?}");
    }
}
