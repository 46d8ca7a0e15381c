//! `opsdeck clusters list|show|switchover|failover` against a real
//! platform-admin whose configuration declares a real Redis primary and
//! replica under three real Sentinels: the topology drawn as text, the
//! preflight shown before a start, production asking for the cluster id,
//! and the switchover really happening; and the same commands on
//! PostgreSQL under a real Patroni.

use std::time::{Duration, Instant};

use opsdeck_tests::patroni::{NodeSpec, Patroni};
use opsdeck_tests::redis::RedisSentinel;
use opsdeck_tests::{Backend, Cli, Http, PlatformAdmin};
use serde_json::Value;

/// The longest a switchover on loopback may take, with room for a loaded machine.
const JOB_WITHIN: Duration = Duration::from_secs(60);

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $scenario() { super::$scenario(opsdeck_tests::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $scenario() { super::$scenario(opsdeck_tests::Backend::Postgres) })*
        }
    };
}

on_both_backends!(a_switchover_from_the_cli_shows_its_preflight_and_moves_the_master);

// One backend: the job's store is what the Redis scenario covers on both.
#[test]
fn a_patroni_switchover_from_the_cli_shows_the_topology_and_moves_the_leader() {
    patroni_switchover(Backend::Sqlite)
}

fn patroni_switchover(backend: Backend) {
    let set = Patroni::start(&[NodeSpec::new("pg-a"), NodeSpec::new("pg-b")])
        .expect("PostgreSQL under Patroni");
    let config = set.dir.path().join("platform-admin.toml");
    std::fs::write(&config, set.cluster_config("db")).expect("write the configuration");
    let config = config.to_string_lossy().into_owned();
    let admin = PlatformAdmin::start_with(backend, &["--config", &config]).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);

    let listed = cli.run(&["--json", "clusters", "list"]).success().json();
    assert_eq!(listed[0]["id"], "db", "{listed:#}");
    assert_eq!(listed[0]["kind"], "patroni", "{listed:#}");

    // The leader and the replica, with the lag Patroni measures and the
    // timeline; the superuser's password never shown.
    let drawn = cli.run(&["clusters", "show", "db"]).success();
    let lines: Vec<&str> = drawn.stdout.lines().collect();
    assert!(lines[1].contains("primary pg-a"), "{}", drawn.stdout);
    assert!(
        lines[2].contains("replica pg-b")
            && lines[2].contains("lag ")
            && drawn.stdout.contains("timeline 1"),
        "{}",
        drawn.stdout
    );
    assert!(!drawn.stdout.contains(opsdeck_tests::patroni::PASSWORD));

    // A switchover with --wait follows the job to the new leader's first
    // write and prints how it ended.
    let job = cli
        .run(&["--json", "clusters", "switchover", "db", "--wait"])
        .success()
        .json();
    assert_eq!(job["kind"], "cluster.switchover", "{job:#}");
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["result"]["new_primary"], "pg-b", "{job:#}");
    assert!(
        job["result"]["rto_seconds"]
            .as_f64()
            .is_some_and(|s| s > 0.0),
        "{job:#}"
    );
    // The topology (Patroni's own `/cluster`) shows it, the old leader back
    // as a replica on the new timeline.
    let deadline = Instant::now() + JOB_WITHIN;
    loop {
        let shown = cli
            .run(&["--json", "clusters", "show", "db"])
            .success()
            .json();
        let back = shown["members"].as_array().is_some_and(|members| {
            members
                .iter()
                .any(|m| m["name"] == "pg-a" && m["role"] == "replica" && m["timeline"] == 2)
        });
        if shown["primary"] == "pg-b" && back {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the topology never showed the switchover: {shown:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn finished(http: &Http, id: &str) -> Value {
    let deadline = Instant::now() + JOB_WITHIN;
    loop {
        let job = http.get(&format!("/v1/jobs/{id}")).json();
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} did not finish: {job:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn a_switchover_from_the_cli_shows_its_preflight_and_moves_the_master(backend: Backend) {
    let set = RedisSentinel::start(Duration::from_millis(1000)).expect("Redis under Sentinel");
    let config = set.dir.path().join("platform-admin.toml");
    std::fs::write(&config, set.cluster_config("cache")).expect("write the configuration");
    let config = config.to_string_lossy().into_owned();
    let admin = PlatformAdmin::start_with(backend, &["--config", &config]).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);
    cli.connect("live", "prod", &admin, &token);
    let http = Http::new(&admin.url, Some(&token));
    let (primary, replica) = (set.nodes[0].address(), set.nodes[1].address());

    let listed = cli.run(&["--json", "clusters", "list"]).success().json();
    assert_eq!(listed[0]["id"], "cache", "{listed:#}");
    assert_eq!(listed[0]["kind"], "redis_sentinel", "{listed:#}");

    let drawn = cli
        .run(&["-p", "plat", "clusters", "show", "cache"])
        .success();
    let lines: Vec<&str> = drawn.stdout.lines().collect();
    assert!(
        lines[1].contains(&format!("primary {primary}")),
        "{}",
        drawn.stdout
    );
    assert!(
        lines[2].contains(&format!("replica {replica}")) && lines[2].contains("lag "),
        "{}",
        drawn.stdout
    );
    assert!(!drawn.stdout.contains(opsdeck_tests::redis::PASSWORD));
    let shown = cli
        .run(&["--json", "-p", "plat", "clusters", "show", "cache"])
        .success()
        .json();
    assert_eq!(shown["primary"], primary.as_str(), "{shown:#}");

    // The primary is no candidate: the flag is named.
    let refused = cli
        .run(&[
            "-p",
            "plat",
            "clusters",
            "switchover",
            "cache",
            "--candidate",
            &primary,
        ])
        .failure();
    assert!(
        refused.stderr.contains("--candidate") && refused.stderr.contains("is the primary"),
        "{}",
        refused.stderr
    );
    let unforced = cli
        .run(&["-p", "plat", "clusters", "failover", "cache", "--force"])
        .failure();
    assert_eq!(
        unforced.code,
        Some(2),
        "--force needs --reason: {}",
        unforced.stderr
    );

    // Production asks for the cluster id; without it nothing is queued.
    let unconfirmed = cli
        .run(&["--json", "-p", "live", "clusters", "switchover", "cache"])
        .failure();
    assert!(
        unconfirmed.stderr.contains("confirmation_required"),
        "{}",
        unconfirmed.stderr
    );
    assert_eq!(http.get("/v1/jobs").json()["items"], serde_json::json!([]));

    let started = cli
        .run(&[
            "-p",
            "live",
            "clusters",
            "switchover",
            "cache",
            "--confirm",
            "cache",
        ])
        .success();
    assert!(
        started
            .stderr
            .contains(&format!("candidate {replica}: eligible")),
        "the preflight is shown: {}",
        started.stderr
    );
    let id = started.stdout.trim().to_string();
    let job = finished(&http, &id);
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["kind"], "cluster.switchover", "{job:#}");
    assert_eq!(job["result"]["new_primary"], replica.as_str(), "{job:#}");
    assert!(
        job["result"]["rto_seconds"]
            .as_f64()
            .is_some_and(|s| s > 0.0),
        "{job:#}"
    );
    // The job ended on the new master's first write; the Sentinels may say
    // so a moment later (a view mid-failover still names the old one), so
    // the topology is read until it agrees, within a bound.
    let deadline = Instant::now() + JOB_WITHIN;
    loop {
        let now = cli
            .run(&["--json", "-p", "plat", "clusters", "show", "cache"])
            .success()
            .json();
        if now["primary"] == replica.as_str() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the topology never named the new primary: {now:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Once Sentinel has turned the old primary into a healthy replica, a
    // forced failover from JSON output carries its preflight and job.
    let deadline = Instant::now() + JOB_WITHIN;
    loop {
        let seen = cli
            .run(&["--json", "-p", "plat", "clusters", "show", "cache"])
            .success()
            .json();
        let back = seen["members"].as_array().is_some_and(|members| {
            members.iter().any(|m| {
                m["name"] == primary.as_str() && m["role"] == "replica" && m["health"] == "healthy"
            })
        });
        if back {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the old primary never came back as a replica: {seen:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A forced failover with --wait follows the job to its end and prints
    // it as it ended.
    let job = cli
        .run(&[
            "--json", "-p", "plat", "clusters", "failover", "cache", "--force", "--reason",
            "drill", "--wait",
        ])
        .success()
        .json();
    assert_eq!(job["kind"], "cluster.failover", "{job:#}");
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["result"]["new_primary"], primary.as_str(), "{job:#}");
}
