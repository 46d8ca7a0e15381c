//! `opsdeck playbook run|status|tick|approve|retry` against a real
//! platform-admin whose `[monitoring]` names a real Prometheus and a real
//! Alertmanager, on SQLite and on PostgreSQL: every step kind, a check
//! that fails and goes to a later step, an approval refused to the one who
//! started the run and given by a second person holding the role; and a
//! platform-admin killed (SIGKILL) while a run's backup step runs against a
//! real pgBackRest stanza, whose run goes on at that step after the restart
//! without the backup being sent twice.

use std::time::{Duration, Instant};

use opsdeck_tests::alertmanager::Alertmanager;
use opsdeck_tests::pgbackrest::PgBackRest;
use opsdeck_tests::prometheus::{self, Prometheus};
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
    every_step_kind_runs_with_a_failure_branch_and_an_approval_only_a_second_person_may_give,
    a_run_whose_server_is_killed_mid_backup_goes_on_at_that_step_without_a_second_backup,
);

/// The longest a run may take to reach what a test waits for.
const WITHIN: Duration = Duration::from_secs(90);

/// Reads the run with `opsdeck playbook status` until `done` holds.
async fn until(cli: &Cli, run: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WITHIN;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let status = cli
            .run_async(&["--json", "playbook", "status", run], "")
            .await
            .success()
            .json();
        if done(&status) {
            return status;
        }
        last = status;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("run {run} did not become {what} within {WITHIN:?}: {last:#}");
}

fn step<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id}: {run:#}"))
}

const EVERY_KIND: &str = r#"version: 1
id: drill
title: Every step kind
severity: P3
inputs:
  tenant: { type: tenant }
steps:
  - id: announce
    note: "Drilling ${inputs.tenant}"
  - id: look
    manual:
      instructions: Look at the dashboard
      checklist: [Dashboard seen]
  - id: prometheus-up
    check:
      query: 'up{job="prometheus"}'
      condition: "== 1"
  - id: too-many
    check:
      query: 'count(up)'
      condition: "> 5"
    on_failure: { goto: settled }
  - id: never
    note: this step is passed over
  - id: settled
    wait_until:
      query: 'count(up{job="prometheus"})'
      condition: ">= 1"
      interval: 1s
      timeout: 30s
  - id: approve
    approval: { role: incident-commander, reason: The tenant is suspended }
  - id: suspend
    action:
      name: tenant.suspend
      args: { tenant: "${inputs.tenant}" }
  - id: quiet
    action:
      name: silence.create
      args:
        matchers: ['alertname="PlaybookDrill"']
        duration: 1h
        comment: drill
"#;

async fn every_step_kind_runs_with_a_failure_branch_and_an_approval_only_a_second_person_may_give(
    backend: Backend,
) {
    let (prom, am) = blocking(|| {
        let prom = Prometheus::start(prometheus::Config {
            jobs: Vec::new(),
            rule_files: Vec::new(),
            alertmanager: None,
            interval: Duration::from_secs(1),
        })
        .expect("Prometheus");
        prom.wait_for(r#"up{job="prometheus"}"#, Duration::from_secs(30))
            .expect("Prometheus scraped itself");
        let am = Alertmanager::start().expect("Alertmanager");
        (prom, am)
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("platform-admin.toml");
    std::fs::write(
        &config,
        format!(
            "[monitoring]\nprometheus_url = \"{}\"\nalertmanager_url = \"{}\"\n",
            prom.url, am.url
        ),
    )
    .expect("config");
    let playbook = dir.path().join("drill.yaml");
    std::fs::write(&playbook, EVERY_KIND).expect("playbook");
    let config_arg = config.display().to_string();
    let (_admin, cli) = blocking(move || {
        let admin =
            PlatformAdmin::start_with(backend, &["--config", &config_arg]).expect("platform-admin");
        let token = admin.token("ops", "admin").expect("token");
        let cli = Cli::new().expect("cli");
        cli.connect("plat", "dev", &admin, &token);
        cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
            .success();
        // A second person: a service account bound to incident-commander.
        cli.second_person(&admin, "commander", "incident-commander");
        (admin, cli)
    });

    // Started and followed until it waits on someone: the manual step.
    let playbook_arg = playbook.display().to_string();
    let run = cli
        .run_async(
            &[
                "--json",
                "playbook",
                "run",
                &playbook_arg,
                "--input",
                "tenant=acme",
                "--wait",
            ],
            "",
        )
        .await
        .success()
        .json();
    let id = run["id"].as_str().expect("an id").to_string();
    assert_eq!(run["state"], "waiting", "{run:#}");
    assert_eq!(run["waiting"]["step"], "look", "{run:#}");
    assert_eq!(step(&run, "announce")["state"], "succeeded");

    let people = cli
        .run_async(&["playbook", "status", &id], "")
        .await
        .success();
    assert!(
        people.stderr.contains("Dashboard seen"),
        "{}",
        people.stderr
    );
    cli.run_async(
        &["--json", "playbook", "tick", &id, "--item", "0", "--done"],
        "",
    )
    .await
    .success();

    // The checks ran against Prometheus; the failing one went to `settled`.
    let run = until(&cli, &id, "waiting for its approval", |r| {
        r["waiting"]["step"] == "approve"
    })
    .await;
    let up = step(&run, "prometheus-up");
    assert_eq!(up["state"], "succeeded", "{run:#}");
    assert_eq!(up["live"]["value"], 1.0, "{up:#}");
    let too_many = step(&run, "too-many");
    assert_eq!(too_many["state"], "failed", "{run:#}");
    assert!(too_many["live"]["value"].as_f64().is_some(), "{too_many:#}");
    assert_eq!(step(&run, "never")["state"], "skipped", "{run:#}");
    assert_eq!(step(&run, "settled")["state"], "succeeded", "{run:#}");
    assert!(
        run["waiting"]["following"][0]
            .as_str()
            .is_some_and(|s| s.contains("acme")),
        "the approver sees what follows: {run:#}"
    );

    // Not the one who started it; the second person, holding the role, may.
    let status = cli
        .run_async(&["playbook", "status", &id], "")
        .await
        .success();
    assert!(
        status.stderr.contains("not you:") && status.stderr.contains("started this run"),
        "the starter is told it cannot approve: {}",
        status.stderr
    );
    let refused = cli
        .run_async(&["--json", "playbook", "approve", &id], "")
        .await
        .failure();
    let error: Value = serde_json::from_str(&refused.stderr).expect("a JSON error");
    assert_eq!(error["code"], "forbidden", "{error:#}");
    let approved = cli
        .run_async(
            &["--json", "-p", "commander", "playbook", "approve", &id],
            "",
        )
        .await
        .success()
        .json();
    assert_eq!(
        approved["approvals"][0]["approver"], "commander",
        "{approved:#}"
    );

    let run = until(&cli, &id, "ended", |r| {
        matches!(r["state"].as_str(), Some("succeeded" | "failed"))
    })
    .await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    let tenant = cli
        .run_async(&["--json", "tenants", "get", "acme"], "")
        .await
        .success()
        .json();
    assert_eq!(tenant["status"], "suspended", "{tenant:#}");
    let marker = format!("opsdeck-run:{id}:quiet");
    let silences = blocking(|| am.get_json("/api/v2/silences")).expect("silences");
    let made: Vec<&Value> = silences
        .as_array()
        .expect("a list")
        .iter()
        .filter(|s| s["comment"].as_str().is_some_and(|c| c.contains(&marker)))
        .collect();
    assert_eq!(made.len(), 1, "{silences:#}");
    assert_eq!(made[0]["matchers"][0]["value"], "PlaybookDrill");
    let actors: Vec<(&str, &str)> = run["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or(""),
                e["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for wanted in [
        ("started", "ops"),
        ("step_done", "ops"),
        ("approved", "commander"),
    ] {
        assert!(actors.contains(&wanted), "{wanted:?} in {actors:?}");
    }
}

fn target(cluster: &PgBackRest) -> String {
    format!(
        "[[backup_targets]]\nid = \"main-db\"\nkind = \"postgresql\"\nstanza = \"{}\"\n\
         pgbackrest_config = \"{}\"\n\
         database = \"postgres://postgres@localhost/postgres?host={}\"\n",
        cluster.stanza,
        cluster.config.display(),
        cluster.socket_dir.display(),
    )
}

const BACKUP: &str = r#"version: 1
id: backup-drill
title: Back up
severity: P4
steps:
  - id: before
    note: backing up
  - id: backup
    action:
      name: backup.create
      args: { target: main-db, type: full }
  - id: after
    note: backed up
"#;

/// The backup jobs the server knows, by id.
async fn backup_jobs(cli: &Cli) -> Vec<String> {
    let jobs = cli
        .run_async(&["--json", "jobs", "list"], "")
        .await
        .success()
        .json();
    jobs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|j| j["kind"] == "backup")
        .filter_map(|j| j["id"].as_str().map(str::to_string))
        .collect()
}

async fn a_run_whose_server_is_killed_mid_backup_goes_on_at_that_step_without_a_second_backup(
    backend: Backend,
) {
    let cluster = PgBackRest::start("main")
        .await
        .unwrap_or_else(|e| panic!("a PostgreSQL archived by pgBackRest: {e:#}"));
    // Enough data that the backup is still running when the server dies.
    cluster
        .sql("CREATE TABLE filler AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 200000) g")
        .await
        .expect("data to back up");
    let config = cluster.config.with_file_name("platform-admin.toml");
    std::fs::write(&config, target(&cluster)).expect("config");
    let playbook = cluster.config.with_file_name("backup.yaml");
    std::fs::write(&playbook, BACKUP).expect("playbook");
    let config_arg = config.display().to_string();
    let (mut admin, cli) = blocking(move || {
        let admin =
            PlatformAdmin::start_with(backend, &["--config", &config_arg, "--job-lease", "3"])
                .expect("platform-admin");
        let token = admin.token("ops", "admin").expect("token");
        let cli = Cli::new().expect("cli");
        cli.connect("plat", "dev", &admin, &token);
        (admin, cli)
    });
    let playbook_arg = playbook.display().to_string();
    let run = cli
        .run_async(&["--json", "playbook", "run", &playbook_arg], "")
        .await
        .success()
        .json();
    let id = run["id"].as_str().expect("an id").to_string();

    // The backup step's job is running: the server dies.
    let run = until(&cli, &id, "backing up", |r| {
        step(r, "backup")["job"].is_string()
    })
    .await;
    let job = step(&run, "backup")["job"]
        .as_str()
        .expect("a job")
        .to_string();
    let deadline = Instant::now() + WITHIN;
    loop {
        let shown = cli
            .run_async(&["--json", "jobs", "show", &job], "")
            .await
            .success()
            .json();
        if shown["state"] == "running" {
            break;
        }
        assert_eq!(
            shown["state"], "queued",
            "the backup ended before the kill: {shown:#}"
        );
        assert!(
            Instant::now() < deadline,
            "the backup never started: {shown:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    blocking(|| {
        admin.stop();
        admin.restart().expect("platform-admin again");
    });

    // Taken up again at the backup step, following the job it had sent:
    // pgBackRest's interrupted backup is not claimed done, so the step
    // fails, and nothing was sent a second time.
    let run = until(&cli, &id, "ended", |r| {
        matches!(r["state"].as_str(), Some("succeeded" | "failed"))
    })
    .await;
    assert_eq!(run["state"], "failed", "{run:#}");
    assert_eq!(run["current_step"], "backup", "{run:#}");
    let backup = step(&run, "backup");
    assert_eq!(backup["job"].as_str(), Some(job.as_str()), "{backup:#}");
    assert_eq!(backup["attempt"], 1, "{backup:#}");
    assert_eq!(
        backup_jobs(&cli).await,
        std::slice::from_ref(&job),
        "one backup job only"
    );
    assert_eq!(
        step(&run, "before")["attempt"],
        1,
        "the note ran once: {run:#}"
    );

    // pgBackRest was started in a process group of its own and may outlive
    // the server that started it: its backup lock is waited out first.
    let deadline = Instant::now() + WITHIN;
    loop {
        let info = cluster.info().await.expect("pgbackrest info");
        if info[0]["status"]["lock"]["backup"]["held"] != true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pgBackRest still holds its lock: {info:#}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Retried by someone allowed to: a new attempt, its own job, to the end.
    cli.run_async(&["--json", "playbook", "retry", &id], "")
        .await
        .success();
    let run = until(&cli, &id, "ended again", |r| {
        matches!(r["state"].as_str(), Some("succeeded" | "failed"))
    })
    .await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    let backup = step(&run, "backup");
    assert_eq!(backup["attempt"], 2, "{backup:#}");
    let jobs = backup_jobs(&cli).await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(backup["job"].as_str(), Some(jobs[0].as_str()), "{backup:#}");
    let kinds: Vec<&str> = run["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"retried"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "action_sent").count(),
        2,
        "one send per attempt: {kinds:?}"
    );
    let info = cluster.info().await.expect("pgbackrest info");
    let label = backup["result"]["result"]["label"]
        .as_str()
        .expect("the backup's label");
    assert!(
        info[0]["backup"]
            .as_array()
            .is_some_and(|all| all.iter().any(|b| b["label"] == label)),
        "the retried step's backup is in the repository: {info:#}"
    );
}
