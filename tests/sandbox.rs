//! The sandbox scripts the README starts with: `sandbox/up` brings up a real
//! platform with demo data, its monitoring (Prometheus, Alertmanager,
//! node-exporter) and a working `sandbox` profile, twice without harm;
//! `sandbox/down` stops it; its data stores (PostgreSQL under Patroni,
//! archived by pgBackRest, and Redis under Sentinel) show in the CLI as
//! clusters and a backup target. And the platform's alert rules it ships, as
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
/// Alertmanager, node-exporter, and the data stores' (etcd's two, two
/// PostgreSQL, two Patroni APIs, two Redis, three Sentinels).
#[derive(Debug, Clone, Copy)]
struct Ports {
    admin: u16,
    prometheus: u16,
    alertmanager: u16,
    node: u16,
    stores: [u16; 11],
}

impl Ports {
    /// `admin` and more ports nobody listened on a moment ago.
    fn around(admin: u16) -> Self {
        let listeners: Vec<std::net::TcpListener> = (0..14)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        let port = |i: usize| listeners[i].local_addr().expect("addr").port();
        Self {
            admin,
            prometheus: port(0),
            alertmanager: port(1),
            node: port(2),
            stores: std::array::from_fn(|i| port(3 + i)),
        }
    }

    /// Every port `up` may have served.
    fn all(&self) -> Vec<u16> {
        let mut all = vec![self.admin, self.prometheus, self.alertmanager, self.node];
        all.extend(self.stores);
        all
    }
}

/// The variables that set the data stores' ports, in `Ports::stores` order
/// (the Sentinels' three go in one).
const STORE_PORT_VARS: [&str; 8] = [
    "OPSDECK_SANDBOX_ETCD_PORT",
    "OPSDECK_SANDBOX_ETCD_PEER_PORT",
    "OPSDECK_SANDBOX_POSTGRES_PORT",
    "OPSDECK_SANDBOX_POSTGRES_REPLICA_PORT",
    "OPSDECK_SANDBOX_PATRONI_PORT",
    "OPSDECK_SANDBOX_PATRONI_REPLICA_PORT",
    "OPSDECK_SANDBOX_REDIS_PORT",
    "OPSDECK_SANDBOX_REDIS_REPLICA_PORT",
];

fn monitoring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sandbox")
        .join("monitoring")
}

fn script(name: &str, cli: &Cli, state: &Path, ports: Ports) -> std::process::Output {
    script_with(name, cli, state, ports, true)
}

/// Runs a sandbox script; `stores` false leaves the data stores out.
fn script_with(
    name: &str,
    cli: &Cli,
    state: &Path,
    ports: Ports,
    stores: bool,
) -> std::process::Output {
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
        .env("OPSDECK_TRAFFIC_ERRORS", "30")
        .env("OPSDECK_SANDBOX_STORES", if stores { "1" } else { "0" })
        .env(
            "OPSDECK_SANDBOX_SENTINEL_PORTS",
            format!(
                "{},{},{}",
                ports.stores[8], ports.stores[9], ports.stores[10]
            ),
        );
    for (var, port) in STORE_PORT_VARS.iter().zip(ports.stores) {
        cmd.env(var, port.to_string());
    }
    // `up` may build the binaries first.
    output_blocking(cmd, b"", Duration::from_secs(600)).expect("run sandbox script")
}

/// The first `up`, on ports the script is told: should another program
/// take one first, the script says so and other ports are tried.
fn first_up(cli: &Cli, state: &Path, stores: bool) -> Ports {
    retry_on_collision("sandbox/up", |port| {
        let ports = Ports::around(port);
        let up = script_with("up", cli, state, ports, stores);
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
fn sandbox_up_serves_demo_tenants_and_its_data_stores_to_the_sandbox_profile_and_down_stops_everything(
) {
    let cli = Cli::new().expect("cli");
    let state = tempfile::tempdir().expect("state dir");
    let port = first_up(&cli, state.path(), true);
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
        data_stores_are_shown(&cli);
    }
    let suspended = cli
        .run(&["--json", "tenants", "list", "--status", "suspended"])
        .success()
        .json();
    assert!(!suspended["tenants"].as_array().expect("tenants").is_empty());

    let started = started_pids(state.path());
    assert!(started.len() >= 11, "pid files: {started:?}");
    let down = script("down", &cli, state.path(), port);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let alive: Vec<&(String, u32)> = started
        .iter()
        .filter(|(_, pid)| Path::new(&format!("/proc/{pid}")).exists() && !zombie(*pid))
        .collect();
    assert!(alive.is_empty(), "still running after down: {alive:?}");
    let left = mentioning(state.path());
    assert!(left.is_empty(), "processes of the sandbox left: {left:?}");
    for p in port.all() {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", p)).is_err(),
            "port {p} still served after down"
        );
    }
    let after = cli.run(&["--json", "tenants", "list"]).stale().json();
    assert!(
        after["stale"].is_object(),
        "server stopped: the list is stale"
    );
    let query = cli.run(&["query", "up", "--json"]).failure();
    assert!(query.stderr.contains("unreachable"), "{}", query.stderr);
}

/// The clusters and the backup target `sandbox/up` declared, as the CLI
/// shows them: each cluster with a primary and a replica, the target with
/// its RPO measured.
fn data_stores_are_shown(cli: &Cli) {
    let listed = cli.run(&["--json", "clusters", "list"]).success().json();
    let ids: BTreeSet<&str> = listed
        .as_array()
        .expect("clusters")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, BTreeSet::from(["cache", "db"]), "{listed:#}");
    for id in ["db", "cache"] {
        // Right after `up`, a Sentinel may not have seen the replica's
        // link come up yet: give it a few seconds.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let shown = cli
                .run(&["--json", "clusters", "show", id])
                .success()
                .json();
            let roles: Vec<&str> = shown["members"]
                .as_array()
                .expect("members")
                .iter()
                .filter_map(|m| m["role"].as_str())
                .collect();
            if shown["primary"].is_string() && roles == ["primary", "replica"] {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{id}: a primary and a replica: {shown:#}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    let targets = cli.run(&["--json", "backups", "targets"]).success().json();
    let db = &targets[0];
    assert_eq!(db["id"], "db", "{targets:#}");
    let rpo = db["rpo"]["seconds"].as_i64();
    assert!(
        rpo.is_some_and(|s| (0..300).contains(&s)),
        "an RPO within the objective: {targets:#}"
    );
    let table = cli.run(&["backups", "targets"]).success();
    assert!(table.stdout.contains(" / 300 s"), "{}", table.stdout);
}

/// Each pid file of the state dir (NAME.pid) and the stores' postmasters
/// (line 1 of postmaster.pid), with their processes' children.
fn started_pids(state: &Path) -> Vec<(String, u32)> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(state)
        .expect("state dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pid"))
        .map(|p| (p.display().to_string(), p))
        .collect();
    for node in ["pg-a", "pg-b"] {
        let file = state
            .join("stores")
            .join(node)
            .join("data")
            .join("postmaster.pid");
        files.push((format!("{node} postmaster"), file));
    }
    let mut pids = Vec::new();
    for (name, file) in files {
        let Some(pid) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
        else {
            continue;
        };
        pids.push((name.clone(), pid));
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            pids.push((format!("{name} child"), child));
        }
    }
    pids
}

/// Whether the process has exited and waits only to be reaped.
fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Live processes whose command line names `dir`.
fn mentioning(dir: &Path) -> Vec<(u32, String)> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.contains(&needle) && !zombie(pid) {
            found.push((pid, line));
        }
    }
    found
}

#[test]
fn sandbox_up_gives_the_profile_a_prometheus_scraping_the_platform_and_an_alertmanager() {
    let cli = Cli::new().expect("cli");
    let state = tempfile::tempdir().expect("state dir");
    // The data stores are the first test's; this one is about monitoring.
    let ports = first_up(&cli, state.path(), false);
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
