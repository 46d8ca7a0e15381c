//! The built-in playbooks run to success through the CLI against real
//! servers, as they would against the sandbox: `redis-primary-failure`
//! fails a real Redis under Sentinel over, and `restore-from-backup`
//! verifies and restores a real PostgreSQL archived by pgBackRest; their
//! checks ask a real Prometheus that scrapes the real platform-admin, their
//! approvals are given by a second person holding the named role.

use std::path::Path;
use std::time::{Duration, Instant};

use opsdeck_tests::pgbackrest::PgBackRest;
use opsdeck_tests::prometheus::{self, Prometheus};
use opsdeck_tests::redis::RedisSentinel;
use opsdeck_tests::{blocking, Backend, Cli, PlatformAdmin};
use serde_json::Value;

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
              async fn $scenario() { super::$scenario(opsdeck_tests::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
              async fn $scenario() { super::$scenario(opsdeck_tests::Backend::Postgres).await })*
        }
    };
}

on_both_backends!(
    redis_primary_failure_fails_the_primary_over_and_succeeds_once_the_error_rate_is_low,
    restore_from_backup_verifies_restores_and_succeeds_once_the_platform_answers,
);

/// The longest a run may take to reach what a test waits for.
const WITHIN: Duration = Duration::from_secs(180);

/// A platform-admin started with `sections` as its configuration, a real
/// Prometheus scraping it (job `platform-admin`, as the built-ins' default
/// input), and the server restarted with `[monitoring]` naming that
/// Prometheus: the server's address is only known once it runs.
struct Platform {
    admin: PlatformAdmin,
    _prometheus: Prometheus,
    cli: Cli,
}

fn platform(backend: Backend, config: &Path, sections: &str, approver_role: &str) -> Platform {
    std::fs::write(config, sections).expect("config");
    let config_arg = config.display().to_string();
    let mut admin =
        PlatformAdmin::start_with(backend, &["--config", &config_arg]).expect("platform-admin");
    let prom = Prometheus::start(prometheus::Config {
        jobs: vec![prometheus::Job::at("platform-admin", &admin.url)],
        interval: Duration::from_secs(1),
        ..prometheus::Config::default()
    })
    .expect("Prometheus");
    std::fs::write(
        config,
        format!(
            "{sections}\n[monitoring]\nprometheus_url = \"{}\"\n",
            prom.url
        ),
    )
    .expect("config with monitoring");
    admin.restart().expect("platform-admin with monitoring");
    prom.wait_for(r#"up{job="platform-admin"} == 1"#, Duration::from_secs(30))
        .expect("Prometheus scraped platform-admin");

    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);
    // The second person the approval step asks for.
    cli.second_person(&admin, "approver", approver_role);
    Platform {
        admin,
        _prometheus: prom,
        cli,
    }
}

fn step<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id}: {run:#}"))
}

/// Follows the run with `opsdeck playbook status`, doing what a person
/// would: ticking every item of a manual step, approving as the second
/// person; until it ends. Returns the ended run.
async fn drive(cli: &Cli, admin: &PlatformAdmin, run: &str) -> Value {
    let deadline = Instant::now() + WITHIN;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let status = cli
            .run_async(&["--json", "playbook", "status", run], "")
            .await
            .success()
            .json();
        if matches!(
            status["state"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            return status;
        }
        if status["state"] == "waiting" {
            let current = status["waiting"]["step"].as_str().unwrap_or_default();
            let waiting = step(&status, current);
            if waiting["kind"] == "approval" || status["waiting"]["kind"] == "approval" {
                cli.run_async(
                    &["--json", "-p", "approver", "playbook", "approve", run],
                    "",
                )
                .await
                .success();
            } else {
                let items = waiting["checklist"].as_array().map_or(0, Vec::len);
                let mut tick = vec!["--json", "playbook", "tick", run];
                let numbers: Vec<String> = (0..items).map(|i| i.to_string()).collect();
                for number in &numbers {
                    tick.extend(["--item", number.as_str()]);
                }
                tick.push("--done");
                cli.run_async(&tick, "").await.success();
            }
        }
        last = status;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!(
        "run {run} did not end within {WITHIN:?}: {last:#}\nplatform-admin: {}",
        admin.log()
    );
}

/// The job a run's action step sent, as `opsdeck jobs show` has it.
async fn job_of(cli: &Cli, run: &Value, id: &str) -> Value {
    let job = step(run, id)["job"]
        .as_str()
        .unwrap_or_else(|| panic!("step {id} sent no job: {run:#}"))
        .to_string();
    cli.run_async(&["--json", "jobs", "show", &job], "")
        .await
        .success()
        .json()
}

async fn redis_primary_failure_fails_the_primary_over_and_succeeds_once_the_error_rate_is_low(
    backend: Backend,
) {
    let set = blocking(|| RedisSentinel::start(Duration::from_millis(1000)))
        .expect("Redis under Sentinel");
    let before = set.master().await.expect("the primary");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("platform-admin.toml");
    let sections = set.cluster_config("cache");
    let platform = blocking(move || platform(backend, &config, &sections, "incident-commander"));
    let (admin, cli) = (&platform.admin, &platform.cli);

    let run = cli
        .run_async(&["--json", "playbook", "run", "redis-primary-failure"], "")
        .await
        .success()
        .json();
    let id = run["id"].as_str().expect("an id").to_string();
    let run = drive(cli, admin, &id).await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    for done in [
        "confirm-down",
        "approve",
        "failover",
        "errors-recovered",
        "done",
    ] {
        assert_eq!(step(&run, done)["state"], "succeeded", "{done}: {run:#}");
    }
    let failover = job_of(cli, &run, "failover").await;
    assert_eq!(failover["state"], "succeeded", "{failover:#}");
    assert!(
        failover["result"]["rto_seconds"].as_f64() > Some(0.0),
        "{failover:#}"
    );
    let after = set.master().await.expect("the new primary");
    assert_ne!(before, after, "the primary moved");
    // The achieved RTO, from the failover job, against the 30 min target.
    let rto = &run["recovery"]["rto"];
    assert_eq!(rto["step"], "failover", "{run:#}");
    assert_eq!(rto["seconds"], failover["result"]["rto_seconds"], "{run:#}");
    assert_eq!(rto["target_seconds"], 1800, "{run:#}");
    assert_eq!(rto["met"], true, "{run:#}");
}

async fn restore_from_backup_verifies_restores_and_succeeds_once_the_platform_answers(
    backend: Backend,
) {
    let cluster = PgBackRest::start("main")
        .await
        .unwrap_or_else(|e| panic!("a PostgreSQL archived by pgBackRest: {e:#}"));
    cluster
        .sql("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1); CREATE TABLE writes (at timestamptz)")
        .await
        .expect("data to back up");
    let config = cluster.config.with_file_name("platform-admin.toml");
    let sections = format!(
        "[[backup_targets]]\nid = \"main-db\"\nkind = \"postgresql\"\nstanza = \"{}\"\n\
         pgbackrest_config = \"{}\"\n\
         database = \"postgres://postgres@localhost/postgres?host={}\"\n\
         pg_data = \"{}\"\n",
        cluster.stanza,
        cluster.config.display(),
        cluster.socket_dir.display(),
        cluster.data.display()
    );
    let platform = blocking(move || platform(backend, &config, &sections, "platform-admin"));
    let (admin, cli) = (&platform.admin, &platform.cli);
    let backup = cli
        .run_async(
            &[
                "--json", "backups", "create", "main-db", "--type", "full", "--wait",
            ],
            "",
        )
        .await
        .success()
        .json();
    assert_eq!(backup["state"], "succeeded", "{backup:#}");
    // pgBackRest restores to a time only from a backup that stopped before
    // its whole second: `now-1s` must be two seconds past the backup.
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let incident = cli
        .run_async(
            &[
                "--json",
                "incident",
                "open",
                "--title",
                "Rows lost",
                "--severity",
                "P2",
            ],
            "",
        )
        .await
        .success()
        .json();
    let incident = incident["incident"]["id"]
        .as_str()
        .or_else(|| incident["id"].as_str())
        .expect("an incident id")
        .to_string();
    let run = cli
        .run_async(
            &[
                "--json",
                "playbook",
                "run",
                "restore-from-backup",
                "--input",
                "target=main-db",
                "--input",
                "to_time=now-1s",
                "--incident",
                &incident,
            ],
            "",
        )
        .await
        .success()
        .json();
    let id = run["id"].as_str().expect("an id").to_string();
    // Writes go on throughout, as on a live platform: recovery to a point
    // in time stops at the first commit after it, so one must follow it.
    let writer = async {
        loop {
            let _ = cluster.sql("INSERT INTO writes VALUES (now())").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let run = tokio::select! {
        run = drive(cli, admin, &id) => run,
        () = writer => unreachable!("the writes never end"),
    };
    assert_eq!(run["state"], "succeeded", "{run:#}");
    for done in [
        "verify",
        "approve",
        "restore",
        "platform-answers",
        "check-data",
    ] {
        assert_eq!(step(&run, done)["state"], "succeeded", "{done}: {run:#}");
    }
    let restore = job_of(cli, &run, "restore").await;
    assert_eq!(restore["state"], "succeeded", "{restore:#}");
    assert!(
        restore["result"]["safety_backup"].is_string(),
        "{restore:#}"
    );
    let kept = cluster
        .sql("SELECT count(*) FROM kept")
        .await
        .expect("the restored target answers");
    assert!(
        kept.lines().any(|l| l.trim() == "1"),
        "the backed-up row is back: {kept}"
    );

    // The achieved RPO, from the restored point to the restore's start,
    // against the 5 min target; and the same in the incident's review.
    let rpo = &run["recovery"]["rpo"];
    assert_eq!(rpo["step"], "restore", "{run:#}");
    let lost = rpo["seconds"].as_f64().expect("seconds");
    assert!((1.0..60.0).contains(&lost), "{run:#}");
    assert_eq!(rpo["target_seconds"], 300, "{run:#}");
    assert_eq!(rpo["met"], true, "{run:#}");
    let review = tempfile::tempdir().expect("temp dir");
    let file = review.path().join("review.md");
    let file_arg = file.display().to_string();
    cli.run_async(&["incident", "export", &incident, "--out", &file_arg], "")
        .await
        .success();
    let md = std::fs::read_to_string(&file).expect("the review");
    let row = md
        .lines()
        .find(|l| l.contains("| RPO |"))
        .unwrap_or_else(|| panic!("no RPO row in the review:\n{md}"));
    assert!(row.contains("| 5m |") && row.contains("| met |"), "{row}");
}
