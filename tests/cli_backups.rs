//! `opsdeck backups targets|list|create` and `opsdeck jobs
//! list|show|watch|cancel` against a real platform-admin backing up a real
//! PostgreSQL with pgBackRest (its WAL archived by `archive-push`), on
//! SQLite and on PostgreSQL; and a watch whose event stream breaks, which
//! falls back to polling.

use std::time::Duration;

use opsdeck_tests::hostile::{Hostile, Reply, Request};
use opsdeck_tests::pgbackrest::PgBackRest;
use opsdeck_tests::{blocking, Backend, Cli, PlatformAdmin};
use serde_json::{json, Value};

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
    backups_are_taken_listed_with_their_rpo_and_their_jobs_followed_and_cancelled,
    dump_and_snapshot_targets_show_their_kind_and_dumps_list_without_a_window,
);

async fn dump_and_snapshot_targets_show_their_kind_and_dumps_list_without_a_window(
    backend: Backend,
) {
    let source = opsdeck_tests::Postgres::database_async()
        .await
        .unwrap_or_else(|e| panic!("a database in the test PostgreSQL: {e:#}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("platform-admin.toml");
    let text = format!(
        "[[backup_targets]]\nid = \"acme-export\"\nkind = \"pg_dump\"\ndatabase = \"{}\"\n\
         backup_dir = \"{}\"\nverify_every = \"30d\"\n\
         [[backup_targets]]\nid = \"cache-snap\"\nkind = \"redis_rdb\"\naddress = \"127.0.0.1:1\"\n\
         rdb_dir = \"{}\"\nbackup_dir = \"{}\"\n",
        source.url,
        dir.path().join("dumps").display(),
        dir.path().join("redis").display(),
        dir.path().join("snapshots").display(),
    );
    std::fs::write(&config, text).expect("config");
    let config_arg = config.display().to_string();
    let (_admin, cli) = blocking(move || {
        let admin =
            PlatformAdmin::start_with(backend, &["--config", &config_arg]).expect("platform-admin");
        let token = admin.token("ops", "admin").expect("token");
        let cli = Cli::new().expect("cli");
        cli.connect("plat", "dev", &admin, &token);
        (admin, cli)
    });

    let table = cli.run_async(&["backups", "targets"], "").await.success();
    for shown in [
        "acme-export",
        "pg_dump",
        "cache-snap",
        "redis_rdb",
        "NEXT VERIFY",
    ] {
        assert!(table.stdout.contains(shown), "{shown}: {}", table.stdout);
    }
    let dumped = cli
        .run_async(
            &["--json", "backups", "create", "acme-export", "--wait"],
            "",
        )
        .await
        .success()
        .json();
    assert_eq!(dumped["state"], "succeeded", "{dumped:#}");
    assert!(dumped["result"]["sha256"].is_string(), "{dumped:#}");
    let label = dumped["result"]["label"].as_str().expect("a label");
    let listed = cli
        .run_async(&["backups", "list", "acme-export"], "")
        .await
        .success();
    assert!(listed.stdout.contains(label), "{}", listed.stdout);
    assert!(
        listed.stdout.contains("yes"),
        "verified when taken: {}",
        listed.stdout
    );
    assert!(
        listed.stderr.contains("no point-in-time restore"),
        "{}",
        listed.stderr
    );
    assert!(
        !listed.stderr.contains("restorable from"),
        "{}",
        listed.stderr
    );
    let refused = cli
        .run_async(
            &[
                "--json",
                "backups",
                "create",
                "acme-export",
                "--type",
                "incr",
            ],
            "",
        )
        .await
        .failure();
    let error: Value = serde_json::from_str(&refused.stderr).expect("a JSON error");
    assert_eq!(error["code"], "validation_failed", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("only `full`")),
        "{error:#}"
    );
}

fn target(cluster: &PgBackRest, id: &str, stanza: &str) -> String {
    format!(
        "[[backup_targets]]\nid = \"{id}\"\nkind = \"postgresql\"\nstanza = \"{stanza}\"\n\
         pgbackrest_config = \"{}\"\n\
         database = \"postgres://postgres@localhost/postgres?host={}\"\n\
         pg_data = \"{}\"\n",
        cluster.config.display(),
        cluster.socket_dir.display(),
        cluster.data.display()
    )
}

async fn setup(backend: Backend) -> (PgBackRest, PlatformAdmin, Cli) {
    let cluster = PgBackRest::start("main")
        .await
        .unwrap_or_else(|e| panic!("a PostgreSQL archived by pgBackRest: {e:#}"));
    // Beside pgBackRest's own configuration, in the cluster's temp dir.
    let config = cluster.config.with_file_name("platform-admin.toml");
    let text = format!(
        "{}{}",
        target(&cluster, "main-db", "main"),
        target(&cluster, "broken", "no-such-stanza")
    );
    std::fs::write(&config, text).expect("config");
    let config_arg = config.display().to_string();
    let (admin, cli) = blocking(move || {
        let admin =
            PlatformAdmin::start_with(backend, &["--config", &config_arg]).expect("platform-admin");
        let token = admin.token("ops", "admin").expect("token");
        let cli = Cli::new().expect("cli");
        cli.connect("plat", "dev", &admin, &token);
        (admin, cli)
    });
    (cluster, admin, cli)
}

async fn backups_are_taken_listed_with_their_rpo_and_their_jobs_followed_and_cancelled(
    backend: Backend,
) {
    let (cluster, _admin, cli) = setup(backend).await;

    let targets = cli
        .run_async(&["--json", "backups", "targets"], "")
        .await
        .success()
        .json();
    let ids: Vec<&str> = targets
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, ["main-db", "broken"]);

    // A full backup, waited for: the job as it ended, on stdout.
    let full = cli
        .run_async(
            &[
                "--json", "backups", "create", "main-db", "--type", "full", "--wait",
            ],
            "",
        )
        .await
        .success()
        .json();
    assert_eq!(full["state"], "succeeded", "{full:#}");
    assert_eq!(full["result"]["type"], "full", "{full:#}");
    let label = full["result"]["label"]
        .as_str()
        .expect("a label")
        .to_string();
    let full_id = full["id"].as_str().expect("an id").to_string();

    // Points in time are restorable from the second after the backup's.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    cluster
        .sql("CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 1000); SELECT pg_switch_wal()")
        .await
        .expect("writes, archived");
    // `archive-push` runs after the switch returns: the window opens once
    // PostgreSQL's archiver reports the segment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let listed = cli
            .run_async(&["--json", "backups", "list", "main-db"], "")
            .await
            .success()
            .json();
        if listed["restorable"].is_object() || tokio::time::Instant::now() >= deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed:#}");
    assert_eq!(items[0]["label"].as_str(), Some(label.as_str()));
    assert_eq!(listed["rpo"]["objective_seconds"], 300);
    assert_eq!(listed["rpo"]["over"], false, "{listed:#}");
    assert!(
        listed["rpo"]["seconds"].as_i64().is_some_and(|s| s < 300),
        "{listed:#}"
    );
    assert!(listed["restorable"]["from"].is_string(), "{listed:#}");
    let people = cli
        .run_async(&["backups", "list", "main-db"], "")
        .await
        .success();
    assert!(people.stdout.contains(&label), "{}", people.stdout);
    assert!(people.stdout.contains("full"), "{}", people.stdout);
    assert!(people.stderr.contains("RPO:"), "{}", people.stderr);
    assert!(
        people.stderr.contains("objective 300 s"),
        "{}",
        people.stderr
    );

    // Verified: the repository, then a restore test of the full backup.
    let verified = cli
        .run_async(
            &[
                "--json", "backups", "verify", "main-db", "--set", &label, "--wait",
            ],
            "",
        )
        .await
        .success()
        .json();
    assert_eq!(verified["state"], "succeeded", "{verified:#}");
    assert_eq!(verified["result"]["label"].as_str(), Some(label.as_str()));
    assert_eq!(verified["result"]["compared"], true, "{verified:#}");
    let listed = cli
        .run_async(&["--json", "backups", "list", "main-db"], "")
        .await
        .success()
        .json();
    assert_eq!(listed["items"][0]["verified"], true, "{listed:#}");
    let verify_id = verified["id"].as_str().expect("an id").to_string();

    // Started without waiting, then watched: its log as it comes, then the job.
    let incr = cli
        .run_async(
            &["--json", "backups", "create", "main-db", "--type", "incr"],
            "",
        )
        .await
        .success()
        .json();
    assert_eq!(incr["state"], "queued", "{incr:#}");
    let incr_id = incr["id"].as_str().expect("an id").to_string();
    let watched = cli
        .run_async(&["jobs", "watch", &incr_id], "")
        .await
        .success();
    assert!(
        watched.stdout.contains("new backup label"),
        "pgBackRest's log, as it came: {}",
        watched.stdout
    );
    assert!(watched.stdout.contains("succeeded"), "{}", watched.stdout);

    let jobs = cli
        .run_async(&["--json", "jobs", "list"], "")
        .await
        .success()
        .json();
    let listed_ids: Vec<&str> = jobs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert_eq!(
        listed_ids,
        [incr_id.as_str(), verify_id.as_str(), full_id.as_str()]
    );
    let shown = cli
        .run_async(&["--json", "jobs", "show", &full_id], "")
        .await
        .success()
        .json();
    assert!(
        shown["log"].as_array().is_some_and(|l| !l.is_empty()),
        "{shown:#}"
    );
    let table = cli.run_async(&["jobs", "list"], "").await.success();
    assert!(table.stdout.contains(&incr_id), "{}", table.stdout);

    // An ended job cannot be cancelled.
    let refused = cli
        .run_async(&["--json", "jobs", "cancel", &full_id], "")
        .await
        .failure();
    assert_eq!(refused.code, Some(1));
    let error: Value = serde_json::from_str(&refused.stderr).expect("a JSON error");
    assert_eq!(error["code"], "invalid_state", "{error:#}");
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);

    // A backup that fails: --wait exits 1 and says why.
    let failed = cli
        .run_async(&["--json", "backups", "create", "broken", "--wait"], "")
        .await
        .failure();
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    let error: Value = serde_json::from_str(&failed.stderr).expect("a JSON error");
    assert_eq!(error["code"], "job_failed", "{error:#}");
    assert_eq!(failed.json()["state"], "failed");

    // Cancelled while it runs (or still queued): cancel --wait succeeds,
    // and a watch of it then exits 1, the job cancelled.
    let started = cli
        .run_async(
            &["--json", "backups", "create", "main-db", "--type", "full"],
            "",
        )
        .await
        .success()
        .json();
    let id = started["id"].as_str().expect("an id").to_string();
    let cancelled = cli
        .run_async(&["--json", "jobs", "cancel", &id, "--wait"], "")
        .await
        .success()
        .json();
    assert_eq!(cancelled["state"], "cancelled", "{cancelled:#}");
    let watch = cli
        .run_async(&["--json", "jobs", "watch", &id], "")
        .await
        .failure();
    let error: Value = serde_json::from_str(&watch.stderr).expect("a JSON error");
    assert_eq!(error["code"], "job_cancelled", "{error:#}");

    // Restores: a time outside the window and a mistyped target are
    // refused before anything is done; the newest point is restored, with
    // its RTO, and the target takes writes again.
    let outside = cli
        .run_async(
            &[
                "--json",
                "backups",
                "restore",
                "main-db",
                "--to",
                "2000-01-01T00:00:00Z",
            ],
            "",
        )
        .await
        .failure();
    let error: Value = serde_json::from_str(&outside.stderr).expect("a JSON error");
    assert_eq!(error["code"], "validation_failed", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("outside the restorable window")),
        "{error:#}"
    );
    let mistyped = cli
        .run_async(
            &[
                "--json",
                "backups",
                "restore",
                "main-db",
                "--confirm",
                "main",
            ],
            "",
        )
        .await
        .failure();
    let error: Value = serde_json::from_str(&mistyped.stderr).expect("a JSON error");
    assert_eq!(error["code"], "confirmation_mismatch", "{error:#}");
    let restored = cli
        .run_async(&["--json", "backups", "restore", "main-db", "--wait"], "")
        .await
        .success()
        .json();
    assert_eq!(restored["state"], "succeeded", "{restored:#}");
    assert!(
        restored["result"]["rto_seconds"].as_f64() > Some(0.0),
        "{restored:#}"
    );
    let rows = cluster
        .sql("INSERT INTO t VALUES (0); SELECT count(*) FROM t")
        .await
        .expect("the restored target takes writes");
    assert!(rows.contains("1001"), "every row written before: {rows}");
}

fn job(state: &str, log: &[&str]) -> String {
    let log: Vec<Value> = log
        .iter()
        .enumerate()
        .map(|(i, line)| json!({ "seq": i + 1, "at": "2026-11-24T10:00:00Z", "line": line }))
        .collect();
    json!({
        "id": "j-1", "kind": "backup", "target": "backup-target:main-db", "state": state,
        "progress": { "phase": "backing up", "percent": 50.0 },
        "request": { "type": "full" }, "attempts": 1,
        "created_at": "2026-11-24T10:00:00Z", "updated_at": "2026-11-24T10:00:00Z",
        "log": log,
    })
    .to_string()
}

/// The stream sends one line and breaks off mid-event; reopened, it is
/// refused with a 502: the watch polls the job instead, hands on the lines
/// it had not (each once) and ends with the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_whose_stream_breaks_falls_back_to_polling_and_shows_each_line_once() {
    let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = polls.clone();
    let server = Hostile::start(move |r: &Request| match r.path() {
        "/v1/tenants" => Reply::json(200, r#"{"items":[]}"#),
        "/v1/jobs/j-1/events" if r.header("last-event-id").is_none() => {
            let body = format!(
                "event: log\nid: 1\ndata: {}\n\nevent: job\nid: 1\ndata: {{\"broken",
                json!({ "seq": 1, "at": "2026-11-24T10:00:00Z", "line": "first" })
            );
            Reply::Raw(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{body}"
                )
                .into_bytes(),
            )
        }
        "/v1/jobs/j-1/events" => Reply::envelope(502, "internal", "bad gateway"),
        "/v1/jobs/j-1" => {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n == 0 {
                Reply::json(200, &job("running", &["first", "second"]))
            } else {
                Reply::json(200, &job("succeeded", &["first", "second", "third"]))
            }
        }
        _ => Reply::envelope(404, "not_found", "no such route"),
    })
    .expect("server");
    let cli = Cli::new().expect("cli");
    let url = server.url.clone();
    let run = blocking(move || {
        cli.run(&[
            "profile",
            "add",
            "h",
            "--admin-url",
            &url,
            "--tier",
            "dev",
            "--use",
        ])
        .success();
        cli.run_with_stdin(&["login", "h", "--token-stdin"], "a-token")
            .success();
        cli.run_within(&["jobs", "watch", "j-1"], "", Duration::from_secs(60))
    });
    let (watched, took) = run;
    let watched = watched.success();
    let lines: Vec<&str> = watched
        .stdout
        .lines()
        .filter(|l| ["first", "second", "third"].contains(l))
        .collect();
    assert_eq!(lines, ["first", "second", "third"], "{}", watched.stdout);
    assert!(watched.stdout.contains("succeeded"), "{}", watched.stdout);
    assert!(polls.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let resumed = server
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/v1/jobs/j-1/events")
        .filter_map(|r| r.header("last-event-id").map(str::to_string))
        .collect::<Vec<_>>();
    assert!(
        resumed.iter().all(|id| id == "1" || id == "2"),
        "resumed after the lines it had: {resumed:?}"
    );
}
