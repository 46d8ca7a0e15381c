//! The built-in playbooks run to success through the CLI against real
//! servers, as they would against the sandbox: `redis-primary-failure`
//! fails a real Redis under Sentinel over, and `restore-from-backup`
//! verifies and restores a real PostgreSQL archived by pgBackRest; their
//! checks ask a real Prometheus that scrapes the real platform-admin, their
//! approvals are given by a second person holding the named role.
//! `postgres-failover` and `dr-exercise` run on PostgreSQL under Patroni
//! whose members archive to pgBackRest, as the sandbox's do: the exercise
//! fails the cluster over, restores its leader to a point in time and has
//! Patroni rebuild the replicas.

use std::path::Path;
use std::time::{Duration, Instant};

use opsdeck_tests::alertmanager::Alertmanager;
use opsdeck_tests::patroni::{NodeSpec, Patroni};
use opsdeck_tests::pgbackrest::PgBackRest;
use opsdeck_tests::prometheus::{self, NodeExporter, Prometheus};
use opsdeck_tests::redis::RedisSentinel;
use opsdeck_tests::small_disk::SmallDisk;
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

// One backend for these: the run's store is what the two above cover on
// both; they are about the playbooks and the servers they act on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_error_rate_silences_the_alert_and_succeeds_once_the_errors_stop() {
    high_error_rate(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_filling_up_backs_up_and_succeeds_once_space_is_freed() {
    disk_filling_up(Backend::Sqlite).await
}

// One backend: the run's store is what the two above cover on both; this
// one is about Patroni and pgBackRest, and a Patroni set is slow to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failover_then_the_dr_exercise_fail_over_restore_the_leader_and_rebuild_the_replicas(
) {
    postgres_failover_then_dr_exercise(Backend::Postgres).await
}

/// The longest a run may take to reach what a test waits for.
const WITHIN: Duration = Duration::from_secs(180);

/// A platform-admin started with `sections` as its configuration, a real
/// Prometheus scraping it (job `platform-admin`, as the built-ins' default
/// input), and the server restarted with `[monitoring]` naming that
/// Prometheus: the server's address is only known once it runs.
struct Platform {
    admin: PlatformAdmin,
    prometheus: Prometheus,
    cli: Cli,
}

/// What a platform's monitoring has besides Prometheus scraping it.
#[derive(Default)]
struct Watch {
    /// More scrape jobs.
    jobs: Vec<prometheus::Job>,
    /// The sandbox's rules (their recording rules are what the built-ins
    /// query).
    sandbox_rules: bool,
    /// The Alertmanager silences go to.
    alertmanager: Option<String>,
}

fn platform(backend: Backend, config: &Path, sections: &str, approver_role: &str) -> Platform {
    watched_platform(backend, config, sections, approver_role, Watch::default())
}

fn watched_platform(
    backend: Backend,
    config: &Path,
    sections: &str,
    approver_role: &str,
    watch: Watch,
) -> Platform {
    std::fs::write(config, sections).expect("config");
    let config_arg = config.display().to_string();
    let mut admin =
        PlatformAdmin::start_with(backend, &["--config", &config_arg]).expect("platform-admin");
    let mut jobs = vec![prometheus::Job::at("platform-admin", &admin.url)];
    jobs.extend(watch.jobs);
    let rule_files = if watch.sandbox_rules {
        vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox/monitoring/rules.yml")]
    } else {
        Vec::new()
    };
    let prom = Prometheus::start(prometheus::Config {
        jobs,
        rule_files,
        interval: Duration::from_secs(1),
        ..prometheus::Config::default()
    })
    .expect("Prometheus");
    let alertmanager = watch
        .alertmanager
        .map(|url| format!("alertmanager_url = \"{url}\"\n"))
        .unwrap_or_default();
    std::fs::write(
        config,
        format!(
            "{sections}\n[monitoring]\nprometheus_url = \"{}\"\n{alertmanager}",
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
        prometheus: prom,
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
    drive_as(cli, admin, run, "approver").await
}

/// `drive`, approving with the profile `approver`.
async fn drive_as(cli: &Cli, admin: &PlatformAdmin, run: &str, approver: &str) -> Value {
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
                cli.run_async(&["--json", "-p", approver, "playbook", "approve", run], "")
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

    let id = start_run(cli, &["redis-primary-failure"]).await;
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
    let id = start_run(
        cli,
        &[
            "restore-from-backup",
            "--input",
            "target=main-db",
            "--input",
            "to_time=now-1s",
            "--incident",
            &incident,
        ],
    )
    .await;
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

/// Starts a run with `opsdeck playbook run <args>`; its id.
async fn start_run(cli: &Cli, args: &[&str]) -> String {
    let mut line = vec!["--json", "playbook", "run"];
    line.extend_from_slice(args);
    let run = cli.run_async(&line, "").await.success().json();
    run["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a run's id: {run:#}"))
        .to_string()
}

/// Waits until the run's step `id` has ended.
async fn until_step_ends(cli: &Cli, run: &str, id: &str) -> Value {
    let deadline = Instant::now() + WITHIN;
    loop {
        let status = cli
            .run_async(&["--json", "playbook", "status", run], "")
            .await
            .success()
            .json();
        let state = step(&status, id)["state"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if matches!(state.as_str(), "succeeded" | "failed" | "skipped") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "step {id} did not end: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn high_error_rate(backend: Backend) {
    let am = Alertmanager::start().expect("Alertmanager");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("platform-admin.toml");
    let watch = Watch {
        alertmanager: Some(am.url.clone()),
        ..Watch::default()
    };
    let platform = blocking(move || {
        watched_platform(
            backend,
            &config,
            "fault_injection = true\n",
            "incident-commander",
            watch,
        )
    });
    let (admin, cli) = (&platform.admin, &platform.cli);
    let token = blocking(|| admin.token("traffic", "viewer")).expect("a token");

    // Traffic on the platform, half of it failing (the sandbox's fault
    // header) until the cause is undone.
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let traffic = {
        let (url, failing) = (admin.url.clone(), failing.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                for i in 0..10 {
                    let mut request = http
                        .get(format!("{url}/v1/tenants?limit=1"))
                        .bearer_auth(&token);
                    if i % 2 == 0 && failing.load(std::sync::atomic::Ordering::SeqCst) {
                        request = request.header("x-opsdeck-fault", "503");
                    }
                    let _ = request.send().await;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let ratio = r#"(sum(rate(http_requests_total{job="platform-admin",status=~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{job="platform-admin"}[1m]))"#;
    blocking(|| {
        platform
            .prometheus
            .wait_for(&format!("{ratio} > 0.05"), Duration::from_secs(60))
    })
    .expect("Prometheus sees the errors");

    let id = start_run(cli, &["high-error-rate", "--input", "max_error_rate=0.05"]).await;
    let checked = until_step_ends(cli, &id, "still-failing").await;
    assert_eq!(
        step(&checked, "still-failing")["state"],
        "succeeded",
        "{checked:#}"
    );
    // The cause undone: only good requests from here, which bring the
    // share under the threshold before the errors leave the window.
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let run = drive(cli, admin, &id).await;
    traffic.abort();
    assert_eq!(run["state"], "succeeded", "{run:#}");
    for done in [
        "silence",
        "triage",
        "mitigate",
        "errors-recovered",
        "recovered",
    ] {
        assert_eq!(step(&run, done)["state"], "succeeded", "{done}: {run:#}");
    }
    // The silence is in Alertmanager, as its own amtool sees it.
    let silences = blocking(|| am.amtool_json(&["silence", "query", "-o", "json"]))
        .expect("amtool silence query");
    let matchers = silences.to_string();
    assert!(
        matchers.contains("HighErrorRate") && matchers.contains("platform-admin"),
        "{silences:#}"
    );
}

async fn disk_filling_up(backend: Backend) {
    // A real disk node-exporter reports (its usage rules leave tmpfs out),
    // nearly full; and a backup target for the playbook's fresh backup.
    let disk = blocking(|| SmallDisk::ext4(16, "root")).expect("a small ext4 disk");
    let filler = disk.fill("old-logs", 512).expect("the disk filled");
    let node = blocking(NodeExporter::start).expect("node-exporter");
    let cluster = PgBackRest::start("main")
        .await
        .unwrap_or_else(|e| panic!("a PostgreSQL archived by pgBackRest: {e:#}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("platform-admin.toml");
    let sections = format!(
        "[[backup_targets]]\nid = \"main-db\"\nkind = \"postgresql\"\nstanza = \"{}\"\n\
         pgbackrest_config = \"{}\"\n",
        cluster.stanza,
        cluster.config.display(),
    );
    let watch = Watch {
        jobs: vec![prometheus::Job::at("node", &node.url)],
        sandbox_rules: true,
        ..Watch::default()
    };
    let platform = blocking(move || {
        watched_platform(backend, &config, &sections, "incident-commander", watch)
    });
    let (admin, cli) = (&platform.admin, &platform.cli);
    let mountpoint = disk.path.display().to_string();
    let used = format!(r#"instance_mountpoint:disk_used:ratio{{mountpoint="{mountpoint}"}}"#);
    blocking(|| {
        platform
            .prometheus
            .wait_for(&format!("{used} > 0.9"), Duration::from_secs(60))
    })
    .expect("Prometheus sees the disk nearly full");

    let input = format!("mountpoint={mountpoint}");
    let id = start_run(
        cli,
        &[
            "disk-filling-up",
            "--input",
            &input,
            "--input",
            "target=main-db",
        ],
    )
    .await;
    let checked = until_step_ends(cli, &id, "still-full").await;
    assert_eq!(
        step(&checked, "still-full")["state"],
        "succeeded",
        "{checked:#}"
    );
    // What the person does at "free space": the old logs go.
    std::fs::remove_file(&filler).expect("the old logs removed");
    let run = drive(cli, admin, &id).await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    for done in [
        "find-growth",
        "free-space",
        "fresh-backup",
        "usage-down",
        "resolved",
    ] {
        assert_eq!(step(&run, done)["state"], "succeeded", "{done}: {run:#}");
    }
    let backup = job_of(cli, &run, "fresh-backup").await;
    assert_eq!(backup["state"], "succeeded", "{backup:#}");
}

async fn postgres_failover_then_dr_exercise(backend: Backend) {
    let set =
        blocking(|| Patroni::start_archived(&[NodeSpec::new("pg-a"), NodeSpec::new("pg-b")], "db"))
            .unwrap_or_else(|e| panic!("PostgreSQL under Patroni archived by pgBackRest: {e:#}"));
    set.sql("pg-a", "CREATE TABLE kept (n int); INSERT INTO kept VALUES (1); CREATE TABLE writes (at timestamptz)")
        .await
        .expect("data to back up");
    let (stanza, pgbr_config) = set.archive.clone().expect("archived");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("platform-admin.toml");
    let sections = format!(
        "{}\n[[backup_targets]]\nid = \"db\"\nkind = \"postgresql\"\nstanza = \"{stanza}\"\n\
         pgbackrest_config = \"{}\"\ncluster = \"db\"\n",
        set.cluster_config("db"),
        pgbr_config.display()
    );
    let platform = blocking(move || platform(backend, &config, &sections, "incident-commander"));
    let (admin, cli) = (&platform.admin, &platform.cli);
    // The exercise's approver: a platform admin other than the starter.
    cli.second_person(admin, "admin2", "platform-admin");
    let backup = cli
        .run_async(
            &[
                "--json", "backups", "create", "db", "--type", "full", "--wait",
            ],
            "",
        )
        .await
        .success()
        .json();
    assert_eq!(backup["state"], "succeeded", "{backup:#}");

    // Writes go on throughout, through whichever member leads: a point in
    // time needs a commit after it, and the RPO is measured on them.
    let writes = || async {
        loop {
            for node in ["pg-a", "pg-b"] {
                let _ = set.sql(node, "INSERT INTO writes VALUES (now())").await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };

    let leader = set.leader().await.expect("a leader");
    let id = start_run(cli, &["postgres-failover", "--input", "max_error_rate=1"]).await;
    let run = tokio::select! {
        run = drive(cli, admin, &id) => run,
        () = writes() => unreachable!("the writes never end"),
    };
    assert_eq!(run["state"], "succeeded", "{run:#}");
    for done in ["approve", "failover", "platform-answers", "fresh-backup"] {
        assert_eq!(step(&run, done)["state"], "succeeded", "{done}: {run:#}");
    }
    let failed_over = set.leader().await.expect("a leader");
    assert_ne!(leader, failed_over, "the leader moved");
    let fresh = job_of(cli, &run, "fresh-backup").await;
    assert_eq!(
        fresh["state"], "succeeded",
        "a backup of the new leader: {fresh:#}"
    );
    // The RPO is read from the new leader's archiver, not from the member
    // that led before (a replica now, which archives nothing).
    let list = cli
        .run_async(&["--json", "backups", "list", "db"], "")
        .await
        .success()
        .json();
    assert_eq!(list["rpo"]["source"], "wal_archive", "{list:#}");
    assert_eq!(list["rpo"]["over"], false, "{list:#}");

    // As an operator would, the exercise starts once the set has settled:
    // the console sees the old leader streaming from the new one, its lag
    // under the limit (until then no replica may be promoted, and the
    // exercise's failover is not forced).
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let shown = cli
            .run_async(&["--json", "clusters", "show", "db"], "")
            .await
            .success()
            .json();
        let members = shown["members"].as_array().cloned().unwrap_or_default();
        if members.len() == 2 && members.iter().all(|m| m["health"] == "healthy") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the set never settled after the failover: {shown:#}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let id = start_run(cli, &["dr-exercise", "--input", "restore_to=now-1s"]).await;
    let run = tokio::select! {
        run = drive_as(cli, admin, &id, "admin2") => run,
        () = writes() => unreachable!("the writes never end"),
    };
    assert_eq!(run["state"], "succeeded", "{run:#}");
    for done in [
        "restore-point",
        "failover",
        "restore",
        "answers-after-restore",
        "verify",
    ] {
        assert_eq!(step(&run, done)["state"], "succeeded", "{done}: {run:#}");
    }
    let restore = job_of(cli, &run, "restore").await;
    assert_eq!(restore["state"], "succeeded", "{restore:#}");
    let log = restore["log"].to_string();
    for said in [
        "pausing Patroni",
        "Patroni resumed",
        "every replica streams",
    ] {
        assert!(log.contains(said), "{said}: {restore:#}");
    }

    // Every member runs again, the replica on the restored leader's
    // timeline, and the backed-up row is there.
    let cluster = set
        .wait_for("the restored leader and a streaming replica", |c| {
            let members = c["members"].as_array().cloned().unwrap_or_default();
            let leader = members.iter().find(|m| m["role"] == "leader");
            members.len() == 2
                && members
                    .iter()
                    .all(|m| m["state"] == "running" || m["state"] == "streaming")
                && leader.is_some_and(|l| members.iter().all(|m| m["timeline"] == l["timeline"]))
        })
        .await
        .expect("the cluster after the restore");
    assert!(
        !cluster["pause"].as_bool().unwrap_or(false),
        "Patroni is resumed: {cluster:#}"
    );
    let now_leader = set.leader().await.expect("a leader");
    let kept = set
        .sql(&now_leader, "SELECT count(*) FROM kept")
        .await
        .expect("the restored leader answers");
    assert_eq!(kept, "1", "the backed-up row is back");

    // The report: the failover's RTO and the restore's RPO against the
    // plan's targets.
    let recovery = &run["recovery"];
    assert_eq!(recovery["rto"]["target_seconds"], 1800, "{run:#}");
    assert_eq!(recovery["rto"]["met"], true, "{run:#}");
    assert_eq!(recovery["rpo"]["step"], "restore", "{run:#}");
    assert_eq!(recovery["rpo"]["target_seconds"], 300, "{run:#}");
    assert_eq!(recovery["rpo"]["met"], true, "{run:#}");
}
