//! Backups through the API against a real PostgreSQL whose WAL pgBackRest
//! archives (`opsdeck_tests::pgbackrest`): targets from the configuration
//! file, backup jobs run by the server's worker, one job per target,
//! idempotent starts, pgBackRest's own error on a broken target, a
//! repository whose disk fills up (said so, nothing half-done listed), and
//! a server killed mid-backup that never leaves the job running.

use std::time::Duration;

use opsdeck_tests::pgbackrest::PgBackRest;
use opsdeck_tests::{Backend, PlatformAdmin};
use platform_admin::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Reply, Server, TestDb};

/// What a small cluster's backup must beat, with room for a loaded machine.
const BACKUP_WITHIN: Duration = Duration::from_secs(180);

/// The lease of the tests' workers: short, so a takeover is seen quickly.
fn lease() -> chrono::Duration {
    chrono::Duration::seconds(3)
}

fn config(cluster: &PgBackRest, id: &str, stanza: &str) -> String {
    format!(
        "[[backup_targets]]\nid = \"{id}\"\nkind = \"postgresql\"\nstanza = \"{stanza}\"\n\
         pgbackrest_config = \"{}\"\n\
         database = \"postgres://postgres:not-shown@localhost/postgres?host={}\"\n",
        cluster.config.display(),
        cluster.socket_dir.display()
    )
}

async fn server(backend: Backend, test: &str, config_text: &str) -> Server {
    let config = Config::parse(config_text).expect("the test's configuration");
    Server::configured(TestDb::new(backend, test).await, config, Some(lease())).await
}

async fn cluster(stanza: &str) -> PgBackRest {
    PgBackRest::start(stanza)
        .await
        .unwrap_or_else(|e| panic!("a PostgreSQL archived by pgBackRest: {e:#}"))
}

async fn start_backup(srv: &Server, target: &str, kind: &str, key: Option<&str>) -> Reply {
    let mut request = srv
        .request(
            Method::POST,
            &format!("/v1/backup-targets/{target}/backups"),
        )
        .json(&json!({ "type": kind }));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    Reply::of(request.send().await).await
}

/// Polls the job until it is no longer queued or running.
async fn finished(base: &str, token: &str, id: &str) -> Value {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let deadline = tokio::time::Instant::now() + BACKUP_WITHIN;
    let mut last = Value::Null;
    while tokio::time::Instant::now() < deadline {
        if let Ok(response) = client
            .get(format!("{base}/v1/jobs/{id}"))
            .bearer_auth(token)
            .send()
            .await
        {
            if let Ok(job) = response.json::<Value>().await {
                if !matches!(job["state"].as_str(), Some("queued" | "running") | None) {
                    return job;
                }
                last = job;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("job {id} did not finish within {BACKUP_WITHIN:?}: {last:#}");
}

async fn targets_are_listed_without_credentials(backend: Backend) {
    let text = "[[backup_targets]]\nid = \"main-db\"\nkind = \"postgresql\"\nstanza = \"main\"\n\
                pgbackrest_config = \"/etc/pgbackrest/pgbackrest.conf\"\n\
                database = \"postgres://backup:s3cret-pass@127.0.0.1/postgres\"\n\
                description = \"the platform's database\"\n";
    let srv = server(backend, "targets_are_listed_without_credentials", text).await;
    let as_viewer = Reply::of(
        srv.client
            .get(srv.url("/v1/backup-targets"))
            .bearer_auth(&srv.viewer)
            .send()
            .await,
    )
    .await;
    assert_eq!(as_viewer.status, StatusCode::OK, "{}", as_viewer.text);
    assert_eq!(
        as_viewer.body,
        json!({ "items": [{ "id": "main-db", "kind": "postgresql", "stanza": "main",
                            "description": "the platform's database" }] })
    );
    assert!(!as_viewer.text.contains("s3cret"), "{}", as_viewer.text);
    // A viewer may look but not start one; an unknown target is 404.
    let refused = Reply::of(
        srv.client
            .post(srv.url("/v1/backup-targets/main-db/backups"))
            .bearer_auth(&srv.viewer)
            .json(&json!({ "type": "full" }))
            .send()
            .await,
    )
    .await;
    refused.expect_error(StatusCode::FORBIDDEN, "forbidden");
    start_backup(&srv, "nope", "full", None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    start_backup(&srv, "main-db", "weekly", None)
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn full_then_incremental_backups_succeed_once_per_key_and_one_at_a_time(backend: Backend) {
    let cluster = cluster("main").await;
    let srv = server(
        backend,
        "full_then_incremental_backups_succeed",
        &config(&cluster, "main-db", "main"),
    )
    .await;

    let first = start_backup(&srv, "main-db", "full", Some("full-1")).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let id = first.body["id"].as_str().expect("a job id").to_string();
    assert_eq!(first.body["state"], "queued");
    assert_eq!(first.body["actor"], "admin");
    assert_eq!(first.body["target"], "backup-target:main-db");

    // Sent again with its key: the same job, not a second one.
    let again = start_backup(&srv, "main-db", "full", Some("full-1")).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);
    assert_eq!(again.body["id"].as_str(), Some(id.as_str()));
    // Another start while it is queued or running: refused, naming it.
    let busy = start_backup(&srv, "main-db", "incr", Some("incr-early")).await;
    busy.expect_error(StatusCode::CONFLICT, "invalid_state");
    assert!(busy.text.contains(&id), "{}", busy.text);

    let full = finished(&srv.base, &srv.admin, &id).await;
    assert_eq!(full["state"], "succeeded", "{full:#}");
    assert_eq!(full["result"]["type"], "full", "{full:#}");
    assert_eq!(full["progress"]["percent"], 100.0, "{full:#}");
    assert!(full["started_at"].is_string() && full["finished_at"].is_string());
    let log = full["log"].as_array().expect("a log");
    assert!(
        log.iter().any(|l| l["line"]
            .as_str()
            .is_some_and(|t| t.contains("new backup label"))),
        "pgBackRest's lines are in the log: {full:#}"
    );
    let label = full["result"]["label"]
        .as_str()
        .expect("a label")
        .to_string();
    assert!(
        full["result"]["size"].as_u64().is_some_and(|s| s > 0),
        "{full:#}"
    );
    assert!(full["result"]["wal_start"].is_string(), "{full:#}");

    cluster
        .sql("CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 10000)")
        .await
        .expect("writes");
    let incr = start_backup(&srv, "main-db", "incr", Some("incr-1")).await;
    assert_eq!(incr.status, StatusCode::ACCEPTED, "{}", incr.text);
    let incr_id = incr.body["id"].as_str().expect("a job id").to_string();
    let incr = finished(&srv.base, &srv.admin, &incr_id).await;
    assert_eq!(incr["state"], "succeeded", "{incr:#}");
    assert_eq!(incr["result"]["type"], "incr", "{incr:#}");

    let info = cluster.info().await.expect("pgbackrest info");
    let listed: Vec<(&str, &str)> = info[0]["backup"]
        .as_array()
        .expect("backups")
        .iter()
        .filter_map(|b| Some((b["label"].as_str()?, b["type"].as_str()?)))
        .collect();
    assert_eq!(listed.first(), Some(&(label.as_str(), "full")), "{info:#}");
    assert_eq!(listed.get(1).map(|b| b.1), Some("incr"), "{info:#}");

    let page = srv.get("/v1/jobs").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let ids: Vec<&str> = page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![incr_id.as_str(), id.as_str()],
        "newest first, once each"
    );
    let audit = srv.all_audit().await;
    let starts = audit
        .iter()
        .filter(|r| r["action"] == "backup.create")
        .count();
    assert_eq!(starts, 2, "one audit record per started job: {audit:#?}");

    // Written after the last backup and archived: the newest restorable
    // point is that WAL, not the backup. A second later, so that points in
    // time exist between them (pgBackRest counts whole seconds).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    cluster
        .sql("INSERT INTO t VALUES (0); SELECT pg_switch_wal()")
        .await
        .expect("a write, archived");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let listed = loop {
        let listed = srv.get("/v1/backup-targets/main-db/backups").await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
        if listed.body["rpo"]["source"] == "wal_archive" {
            break listed.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the archived WAL never counted: {:#}",
            listed.body
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{listed:#}");
    assert_eq!(items[0]["label"].as_str(), Some(label.as_str()));
    assert_eq!(
        (items[0]["type"].as_str(), items[0]["status"].as_str()),
        (Some("full"), Some("ok"))
    );
    assert_eq!(items[1]["type"], "incr");
    assert_eq!(items[1]["prior"].as_str(), Some(label.as_str()));
    assert!(items[0]["wal_start"].is_string() && items[0]["repository_size"].as_u64() > Some(0));
    let rpo = &listed["rpo"];
    assert_eq!(rpo["objective_seconds"], 300, "{listed:#}");
    assert!(
        rpo["seconds"]
            .as_i64()
            .is_some_and(|s| (0..300).contains(&s)),
        "{listed:#}"
    );
    assert_eq!(rpo["over"], false, "{listed:#}");
    let window = &listed["restorable"];
    let at = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339")
    };
    assert_eq!(
        at(&window["from"]) - at(&items[0]["stopped_at"]),
        chrono::Duration::seconds(1),
        "points in time from the second after the oldest backup: {listed:#}"
    );
    assert_eq!(window["to"], rpo["newest_restorable_at"], "{listed:#}");
    assert!(listed["wal_max"].is_string() && listed.get("repository_error").is_none());
    assert!(!listed.to_string().contains("not-shown"), "{listed:#}");
}

async fn an_rpo_older_than_its_objective_and_an_unreadable_repository_are_flagged(
    backend: Backend,
) {
    let cluster = cluster("main").await;
    let text = format!(
        "{}rpo_objective_seconds = 1
{}",
        config(&cluster, "strict", "main"),
        config(&cluster, "gone", "no-such-stanza")
    );
    let srv = server(backend, "an_rpo_older_than_its_objective", &text).await;
    let started = start_backup(&srv, "strict", "full", None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let job = finished(
        &srv.base,
        &srv.admin,
        started.body["id"].as_str().expect("id"),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    // Nothing written since: the newest restorable point ages past 1 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let strict = loop {
        let strict = srv.get("/v1/backup-targets/strict/backups").await;
        assert_eq!(strict.status, StatusCode::OK, "{}", strict.text);
        assert_eq!(strict.body["rpo"]["objective_seconds"], 1);
        if strict.body["rpo"]["over"] == true {
            break strict;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never over its objective: {}",
            strict.text
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        strict.body["rpo"]["seconds"].as_i64() > Some(1),
        "{}",
        strict.text
    );
    let gone = srv.get("/v1/backup-targets/gone/backups").await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    assert_eq!(gone.body["items"], json!([]));
    assert_eq!(gone.body["rpo"]["over"], true);
    assert_eq!(gone.body["rpo"]["source"], "none");
    assert!(gone.body["repository_error"].is_string(), "{}", gone.text);
    srv.get("/v1/backup-targets/nope/backups")
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

async fn a_wrong_stanza_fails_the_job_with_pgbackrests_message(backend: Backend) {
    let cluster = cluster("main").await;
    let srv = server(
        backend,
        "a_wrong_stanza_fails_the_job",
        &config(&cluster, "broken", "no-such-stanza"),
    )
    .await;
    let started = start_backup(&srv, "broken", "full", None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let id = started.body["id"].as_str().expect("a job id");
    let job = finished(&srv.base, &srv.admin, id).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    let error = job["error"].as_str().expect("a reason");
    assert!(
        error.contains("pgbackrest backup failed") && error.contains("ERROR: ["),
        "pgBackRest's own words: {error}"
    );
    assert!(job.get("result").is_none(), "{job:#}");
    // The target is free again.
    let next = start_backup(&srv, "broken", "full", None).await;
    assert_eq!(next.status, StatusCode::ACCEPTED, "{}", next.text);
}

async fn a_server_killed_mid_backup_never_leaves_the_job_running(backend: Backend) {
    let cluster = cluster("main").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("platform-admin.toml");
    std::fs::write(&config_path, config(&cluster, "main-db", "main")).expect("config");
    let config_arg = config_path.display().to_string();
    let mut admin =
        PlatformAdmin::start_with(backend, &["--config", &config_arg, "--job-lease", "3"])
            .expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let started: Value = client
        .post(format!("{}/v1/backup-targets/main-db/backups", admin.url))
        .bearer_auth(&token)
        .json(&json!({ "type": "full" }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("a job");
    let id = started["id"].as_str().expect("a job id").to_string();
    // Killed once its worker took it up.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let job: Value = client
            .get(format!("{}/v1/jobs/{id}", admin.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("a job");
        if job["state"] == "running" {
            break;
        }
        assert!(job["state"] == "queued", "killed before it ended: {job:#}");
        assert!(tokio::time::Instant::now() < deadline, "never ran: {job:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    opsdeck_tests::blocking(|| admin.restart()).expect("restarted");
    let job = finished(&admin.url, &token, &id).await;
    match job["state"].as_str() {
        Some("succeeded") => assert!(job["result"]["label"].is_string(), "{job:#}"),
        Some("failed") => {
            let error = job["error"].as_str().unwrap_or_default();
            assert!(error.contains("stopped while this job ran"), "{job:#}");
            assert!(job["attempts"].as_u64() >= Some(2), "{job:#}");
        }
        _ => panic!("neither succeeded nor failed: {job:#}"),
    }
}

async fn a_full_repository_disk_fails_the_backup_in_pgbackrests_words_and_lists_nothing_half_done(
    backend: Backend,
) {
    // The repository on a small filesystem of its own, nearly filled, so
    // the backup runs out of room half way through copying.
    let fs = opsdeck_tests::blocking(|| {
        opsdeck_tests::small_disk::SmallDisk::tmpfs(48, opsdeck_tests::pgbackrest::OS_USER)
    })
    .expect("a tmpfs for the repository");
    let cluster = PgBackRest::start_with_repo("main", Some(&fs.path))
        .await
        .unwrap_or_else(|e| panic!("a PostgreSQL archived by pgBackRest: {e:#}"));
    // Data that does not compress away, so the backup needs its room.
    cluster
        .sql(
            "CREATE TABLE noise AS SELECT n, md5(n::text) || md5((n * 7)::text) AS h \
              FROM generate_series(1, 100000) n",
        )
        .await
        .expect("writes");
    // Its WAL archived first (`check` switches and waits), so that the disk
    // fills while the backup copies, not while the archiver pushes.
    cluster.pgbackrest(&["check"]).await.expect("WAL archived");
    let filler = opsdeck_tests::blocking(|| fs.fill("filler", 1536)).expect("filled");
    let srv = server(
        backend,
        "a_full_repository_disk_fails_the_backup",
        &config(&cluster, "main-db", "main"),
    )
    .await;
    let started = start_backup(&srv, "main-db", "full", None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let id = started.body["id"].as_str().expect("a job id").to_string();
    let job = finished(&srv.base, &srv.admin, &id).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("ERROR: [") && error.contains("unable to write"),
        "pgBackRest's words: {error}\n{}",
        logged(&job)
    );
    assert!(
        error.contains("the repository's disk is full: ")
            && error.contains(&fs.path.display().to_string()),
        "the job says the disk is full: {error}\n{}",
        logged(&job)
    );
    assert!(job.get("result").is_none(), "{job:#}");
    let listed = srv.get("/v1/backup-targets/main-db/backups").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(
        listed.body["items"],
        json!([]),
        "a half-written backup is not listed: {}",
        listed.text
    );
    assert!(listed.body["restorable"].is_null(), "{}", listed.text);
    assert_eq!(listed.body["rpo"]["over"], true, "{}", listed.text);

    // Room made again: the next backup runs to the end and is the one listed.
    std::fs::remove_file(&filler).expect("space freed");
    let next = start_backup(&srv, "main-db", "full", None).await;
    assert_eq!(next.status, StatusCode::ACCEPTED, "{}", next.text);
    let next_id = next.body["id"].as_str().expect("a job id");
    let job = finished(&srv.base, &srv.admin, next_id).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    let label = job["result"]["label"].as_str().expect("a label");
    let listed = srv.get("/v1/backup-targets/main-db/backups").await;
    let items = listed.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", listed.text);
    assert_eq!(
        (items[0]["label"].as_str(), items[0]["status"].as_str()),
        (Some(label), Some("ok"))
    );
    drop(srv);
    drop(cluster);
}

async fn a_repository_disk_full_before_the_backup_is_named_beside_pgbackrests_archive_timeout(
    backend: Backend,
) {
    // Full before the backup starts: the archiver cannot push WAL either,
    // and pgBackRest speaks only of WAL not archived in time.
    let fs = opsdeck_tests::blocking(|| {
        opsdeck_tests::small_disk::SmallDisk::tmpfs(32, opsdeck_tests::pgbackrest::OS_USER)
    })
    .expect("a tmpfs for the repository");
    let cluster = PgBackRest::start_with_repo("main", Some(&fs.path))
        .await
        .unwrap_or_else(|e| panic!("a PostgreSQL archived by pgBackRest: {e:#}"));
    // pgBackRest's own wait for WAL, shortened from 60 s.
    let mut conf = std::fs::read_to_string(&cluster.config).expect("pgBackRest's configuration");
    conf.push_str("archive-timeout=10\n");
    std::fs::write(&cluster.config, conf).expect("pgBackRest's configuration");
    let filler = opsdeck_tests::blocking(|| fs.fill("filler", 0)).expect("filled");
    let srv = server(
        backend,
        "a_repository_disk_full_before_the_backup",
        &config(&cluster, "main-db", "main"),
    )
    .await;
    let started = start_backup(&srv, "main-db", "full", None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let id = started.body["id"].as_str().expect("a job id").to_string();
    let job = finished(&srv.base, &srv.admin, &id).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("ERROR: [") && error.contains("the repository's disk is full: "),
        "pgBackRest's words and the full disk: {error}\n{}",
        logged(&job)
    );
    let listed = srv.get("/v1/backup-targets/main-db/backups").await;
    assert_eq!(listed.body["items"], json!([]), "{}", listed.text);
    std::fs::remove_file(&filler).expect("space freed");
    drop(srv);
    drop(cluster);
}

fn logged(job: &Value) -> String {
    job["log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["line"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn a_silent_pgbackrest_stops_with_its_killed_server_and_finishes_no_backup(backend: Backend) {
    let cluster = cluster("main").await;
    cluster
        .sql("CREATE TABLE big AS SELECT n, md5(n::text) AS h FROM generate_series(1, 1500000) n")
        .await
        .expect("writes");
    // pgBackRest with its output thrown away: a closed pipe cannot stop it
    // once its server is gone, only the server's own arrangement can.
    let dir = tempfile::tempdir().expect("temp dir");
    let quiet = dir.path().join("quiet-pgbackrest");
    std::fs::write(
        &quiet,
        "#!/bin/sh\ncase \" $* \" in\n  *\" backup \"*) exec pgbackrest \"$@\" >/dev/null 2>&1 ;;\n\
         esac\nexec pgbackrest \"$@\"\n",
    )
    .expect("script");
    for (path, mode) in [(dir.path(), 0o755), (quiet.as_path(), 0o755)] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .expect("permissions");
    }
    let config_path = dir.path().join("platform-admin.toml");
    let text = format!(
        "{}pgbackrest = \"{}\"\n",
        config(&cluster, "main-db", "main"),
        quiet.display()
    );
    std::fs::write(&config_path, text).expect("config");
    let config_arg = config_path.display().to_string();
    let mut admin =
        PlatformAdmin::start_with(backend, &["--config", &config_arg, "--job-lease", "3"])
            .expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let started: Value = client
        .post(format!("{}/v1/backup-targets/main-db/backups", admin.url))
        .bearer_auth(&token)
        .json(&json!({ "type": "full" }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("a job");
    assert!(started["id"].is_string(), "{started:#}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while pgbackrest_processes(&cluster).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "pgBackRest never ran: {}",
            admin.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    admin.stop();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = pgbackrest_processes(&cluster);
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pgBackRest runs on 20 s after its server was killed: {left:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let info = cluster.info().await.expect("pgbackrest info");
    assert_eq!(
        info[0]["backup"],
        json!([]),
        "a backup finished behind the job: {info:#}"
    );
}

/// Processes whose command line names this cluster's pgBackRest
/// configuration: what a stopped job must not leave behind.
fn pgbackrest_processes(cluster: &PgBackRest) -> Vec<String> {
    let needle = cluster.config.display().to_string();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        // The archiver pushes WAL with the same configuration; only a
        // backup is the job's.
        if cmdline.contains(&needle) && cmdline.contains(" backup") {
            found.push(cmdline);
        }
    }
    found
}

async fn a_running_backup_cancelled_stops_pgbackrest_and_ends_cancelled(backend: Backend) {
    let cluster = cluster("main").await;
    // Enough data that the backup is still copying when the cancel lands.
    cluster
        .sql("CREATE TABLE big AS SELECT n, md5(n::text) AS h FROM generate_series(1, 1500000) n")
        .await
        .expect("writes");
    let srv = server(
        backend,
        "a_running_backup_cancelled_stops_pgbackrest",
        &config(&cluster, "main-db", "main"),
    )
    .await;
    let started = start_backup(&srv, "main-db", "full", None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let id = started.body["id"].as_str().expect("a job id").to_string();
    let mut stream =
        crate::job_routes::SseReader::open(&srv, &format!("/v1/jobs/{id}/events"), None).await;
    // Cancelled as soon as the worker runs it.
    loop {
        let event = stream
            .next(Duration::from_secs(30))
            .await
            .expect("the job runs");
        assert_ne!(
            event.event, "end",
            "ended before it was cancelled: {event:?}"
        );
        if event.data["state"] == "running" {
            break;
        }
    }
    let asked = Reply::of(
        srv.request(Method::POST, &format!("/v1/jobs/{id}/cancel"))
            .send()
            .await,
    )
    .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text);
    let events = stream.until_end(Duration::from_secs(60)).await;
    let end = events.last().expect("end");
    assert_eq!(end.data["state"], "cancelled", "{events:#?}");
    assert!(
        end.data["error"]
            .as_str()
            .is_some_and(|e| e.contains("cancelled while backing up")),
        "{end:?}"
    );
    assert!(end.data.get("result").is_none(), "{end:?}");
    let left = pgbackrest_processes(&cluster);
    assert!(left.is_empty(), "pgBackRest still runs: {left:#?}");
    // Nothing half-done holds the target: the next backup runs to the end.
    let next = start_backup(&srv, "main-db", "full", None).await;
    assert_eq!(next.status, StatusCode::ACCEPTED, "{}", next.text);
    let next_id = next.body["id"].as_str().expect("a job id");
    let job = finished(&srv.base, &srv.admin, next_id).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
}

/// The largest file under `dir`, searched through its subdirectories.
fn largest_file(dir: &std::path::Path) -> Option<(u64, std::path::PathBuf)> {
    let mut best: Option<(u64, std::path::PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let found = if path.is_dir() {
            largest_file(&path)
        } else {
            entry.metadata().ok().map(|m| (m.len(), path))
        };
        if let Some(found) = found {
            if best.as_ref().is_none_or(|b| found.0 > b.0) {
                best = Some(found);
            }
        }
    }
    best
}

async fn verify(srv: &Server, target: &str, body: Value) -> Value {
    let started = Reply::of(
        srv.request(Method::POST, &format!("/v1/backup-targets/{target}/verify"))
            .json(&body)
            .send()
            .await,
    )
    .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    assert_eq!(started.body["kind"], "verify");
    finished(
        &srv.base,
        &srv.admin,
        started.body["id"].as_str().expect("id"),
    )
    .await
}

/// Runs `program` with `args` as the `postgres` OS user; panics with what
/// it said when it fails.
async fn as_postgres(program: &std::path::Path, args: &[&str]) {
    let out = tokio::process::Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
        .await
        .expect("runuser");
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn a_restore_test_a_killed_server_left_running_is_removed_by_the_next_verify(
    backend: Backend,
) {
    let cluster = cluster("main").await;
    let scratch = tempfile::tempdir().expect("scratch dir");
    let owner = std::process::Command::new("chown")
        .arg("postgres:postgres")
        .arg(scratch.path())
        .status()
        .expect("chown");
    assert!(owner.success());
    let text = format!(
        "{}scratch_dir = \"{}\"\n",
        config(&cluster, "main-db", "main"),
        scratch.path().display()
    );
    let srv = server(backend, "a_restore_test_a_killed_server_left", &text).await;
    let backup = full_backup(&srv, "main-db").await;
    assert_eq!(backup["state"], "succeeded", "{backup:#}");

    // What a server killed during a restore test leaves: the copy's
    // directory, named for a job that no longer runs, its server running
    // (pg_ctl starts it apart from platform-admin).
    let left = scratch
        .path()
        .join(format!("opsdeck-restore-test-{}", uuid::Uuid::now_v7()));
    let (data, sock) = (left.join("data"), left.join("sock"));
    std::fs::create_dir_all(&sock).expect("the copy's dirs");
    let chown = std::process::Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(&left)
        .status()
        .expect("chown");
    assert!(chown.success());
    let bin = opsdeck_tests::postgres::server_bin().expect("PostgreSQL's programs");
    let data_arg = data.display().to_string();
    as_postgres(
        &bin.join("initdb"),
        &["-D", &data_arg, "-U", "postgres", "--no-sync"],
    )
    .await;
    let options = format!(
        "-c listen_addresses='' -c unix_socket_directories='{}'",
        sock.display()
    );
    // A log file: the server must not hold the pipes this test reads.
    let log = left.join("postgres.log").display().to_string();
    as_postgres(
        &bin.join("pg_ctl"),
        &[
            "-D", &data_arg, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
        ],
    )
    .await;
    let pid: u32 = std::fs::read_to_string(data.join("postmaster.pid"))
        .expect("postmaster.pid")
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("the copy's pid");

    let verified = verify(&srv, "main-db", json!({})).await;
    assert_eq!(verified["state"], "succeeded", "{verified:#}");
    let said = verified["log"].to_string();
    assert!(
        said.contains("removed the restore test a stopped server left behind"),
        "{verified:#}"
    );
    assert!(!left.exists(), "the leftover directory is gone");
    // Stopped: gone, or a zombie its adoptive parent has not reaped yet
    // (pg_ctl's server is not this test's child).
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let running = state
        .rsplit_once(") ")
        .is_some_and(|(_, rest)| !rest.starts_with('Z'));
    assert!(!running, "the leftover copy's server is stopped: {state}");
}

async fn a_good_backup_verifies_and_a_corrupted_one_is_caught(backend: Backend) {
    let cluster = cluster("main").await;
    cluster
        .sql(
            "CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 5000); \
              CREATE SCHEMA app; CREATE TABLE app.\"Mixed Case\" (v text); \
              INSERT INTO app.\"Mixed Case\" VALUES ('a'), ('b')",
        )
        .await
        .expect("writes");
    let srv = server(
        backend,
        "a_good_backup_verifies",
        &config(&cluster, "main-db", "main"),
    )
    .await;
    let started = start_backup(&srv, "main-db", "full", None).await;
    let backup = finished(
        &srv.base,
        &srv.admin,
        started.body["id"].as_str().expect("id"),
    )
    .await;
    assert_eq!(backup["state"], "succeeded", "{backup:#}");
    let label = backup["result"]["label"]
        .as_str()
        .expect("label")
        .to_string();
    assert_eq!(
        backup["result"]["row_counts"],
        json!({ "app.Mixed Case": 2, "public.t": 5000 }),
        "{backup:#}"
    );
    assert!(backup["result"]["restore_point"].is_string(), "{backup:#}");
    // Written after the backup: not in what the restore test compares.
    cluster
        .sql("INSERT INTO t VALUES (0)")
        .await
        .expect("a later write");

    let good = verify(&srv, "main-db", json!({})).await;
    assert_eq!(good["state"], "succeeded", "{good:#}");
    assert_eq!(good["result"]["label"].as_str(), Some(label.as_str()));
    assert_eq!(good["result"]["compared"], true);
    let tables = good["result"]["tables"].as_array().expect("tables");
    assert!(
        tables.contains(&json!({ "table": "public.t", "source": 5000, "restored": 5000 })),
        "{good:#}"
    );
    let listed = srv.get("/v1/backup-targets/main-db/backups").await;
    assert_eq!(listed.body["items"][0]["verified"], true, "{}", listed.text);
    assert!(listed.body["items"][0]["verified_at"].is_string());
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("temp dir")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .contains(good["id"].as_str().expect("id"))
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "the scratch directory is gone: {leftovers:?}"
    );

    // Damage the largest file of the backup in the repository.
    let repo = cluster
        .config
        .with_file_name("repo")
        .join("backup")
        .join("main")
        .join(&label);
    let (size, file) = largest_file(&repo).expect("a file in the backup");
    let mut bytes = std::fs::read(&file).expect("read");
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..(middle + 64).min(size as usize)] {
        *b ^= 0xff;
    }
    std::fs::write(&file, bytes).expect("write");
    let caught = verify(&srv, "main-db", json!({ "set": label })).await;
    assert_eq!(caught["state"], "failed", "{caught:#}");
    let error = caught["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("pgbackrest verify found the repository damaged")
            && error.contains("invalid checksum"),
        "{caught:#}"
    );
    let listed = srv.get("/v1/backup-targets/main-db/backups").await;
    assert_eq!(
        listed.body["items"][0]["verified"], false,
        "{}",
        listed.text
    );

    let unknown = Reply::of(
        srv.request(Method::POST, "/v1/backup-targets/main-db/verify")
            .json(&json!({ "set": "../etc" }))
            .send()
            .await,
    )
    .await;
    unknown.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn a_point_in_time_restore_lands_between_two_writes(backend: Backend) {
    let cluster = cluster("main").await;
    cluster
        .sql("CREATE TABLE t (v text); INSERT INTO t VALUES ('before')")
        .await
        .expect("writes");
    let text = format!(
        "{}pg_data = \"{}\"\n",
        config(&cluster, "main-db", "main"),
        cluster.data.display()
    );
    let srv = server(backend, "a_point_in_time_restore", &text).await;
    let started = start_backup(&srv, "main-db", "full", None).await;
    let backup = finished(
        &srv.base,
        &srv.admin,
        started.body["id"].as_str().expect("id"),
    )
    .await;
    assert_eq!(backup["state"], "succeeded", "{backup:#}");

    cluster
        .sql("INSERT INTO t VALUES ('first')")
        .await
        .expect("first");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster
        .sql("INSERT INTO t VALUES ('second'); SELECT pg_switch_wal()")
        .await
        .expect("second, archived");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let listed = srv.get("/v1/backup-targets/main-db/backups").await;
        let newest = listed.body["rpo"]["newest_restorable_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if newest.is_some_and(|t| t > between + chrono::Duration::seconds(1)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never archived: {}",
            listed.text
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let restore = |body: Value| {
        let request = srv
            .request(Method::POST, "/v1/backup-targets/main-db/restore")
            .json(&body);
        async move { Reply::of(request.send().await).await }
    };
    let outside = restore(json!({ "to": "2000-01-01T00:00:00Z", "confirm": "main-db" })).await;
    outside.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        outside.text.contains("outside the restorable window"),
        "{}",
        outside.text
    );
    assert_eq!(outside.fields(), ["to"]);
    let unconfirmed = restore(json!({ "to": between, "confirm": "main" })).await;
    unconfirmed.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(unconfirmed.fields(), ["confirm"]);
    let as_runner = Reply::of(
        srv.client
            .post(srv.url("/v1/backup-targets/main-db/restore"))
            .bearer_auth(&srv.viewer)
            .json(&json!({ "confirm": "main-db" }))
            .send()
            .await,
    )
    .await;
    as_runner.expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert!(
        as_runner.text.contains("backups.restore"),
        "{}",
        as_runner.text
    );

    let queued = restore(json!({ "to": between, "confirm": "main-db" })).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    let job = finished(
        &srv.base,
        &srv.admin,
        queued.body["id"].as_str().expect("id"),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    let result = &job["result"];
    assert!(result["safety_backup"].is_string(), "{job:#}");
    let rto = result["rto_seconds"].as_f64().expect("an RTO");
    assert!(rto > 0.0 && rto < 600.0, "{job:#}");
    let rows = cluster
        .sql("SELECT string_agg(v, ',' ORDER BY v) AS rows FROM t")
        .await
        .expect("the restored table");
    assert!(rows.contains("before,first"), "{rows}");
    assert!(
        !rows.contains("second"),
        "restored to between the writes: {rows}"
    );
    // The restored server takes writes.
    cluster
        .sql("INSERT INTO t VALUES ('after')")
        .await
        .expect("a write");
}

/// The labels listed, and why retention keeps each.
async fn kept(srv: &Server, target: &str) -> Vec<(String, Value)> {
    let listed = srv
        .get(&format!("/v1/backup-targets/{target}/backups"))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| {
            (
                b["label"].as_str().expect("label").to_string(),
                b["kept_by"].clone(),
            )
        })
        .collect()
}

async fn full_backup(srv: &Server, target: &str) -> Value {
    let started = start_backup(srv, target, "full", None).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let job = finished(
        &srv.base,
        &srv.admin,
        started.body["id"].as_str().expect("id"),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    job
}

async fn retention_of_one_expires_old_full_backups_but_never_the_last_verified(backend: Backend) {
    let cluster = cluster("main").await;
    let text = format!(
        "{}[backup_targets.retention]\nfull = 1\nfull_type = \"count\"\nweekly_days = 0\n",
        config(&cluster, "main-db", "main")
    );
    let srv = server(backend, "retention_of_one_expires_old_full_backups", &text).await;
    let a = full_backup(&srv, "main-db").await;
    let a = a["result"]["label"].as_str().expect("label").to_string();
    let verified = verify(&srv, "main-db", json!({ "set": a })).await;
    assert_eq!(verified["state"], "succeeded", "{verified:#}");

    let b = full_backup(&srv, "main-db").await;
    assert_eq!(b["result"].get("expired"), None, "{b:#}");
    let b = b["result"]["label"].as_str().expect("label").to_string();
    assert_eq!(
        kept(&srv, "main-db").await,
        [
            (a.clone(), json!("last_verified")),
            (b.clone(), json!("retention"))
        ]
    );

    let c = full_backup(&srv, "main-db").await;
    assert_eq!(c["result"]["expired"], json!([b]), "{c:#}");
    let said = c["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|l| l["line"].as_str())
        .find(|l| l.starts_with("retention ("))
        .unwrap_or_else(|| panic!("a retention line: {c:#}"))
        .to_string();
    assert!(
        said.contains(&format!("expired {b}")) && said.contains(&format!("{a} (last verified)")),
        "{said}"
    );
    let c = c["result"]["label"].as_str().expect("label").to_string();
    assert_eq!(
        kept(&srv, "main-db").await,
        [
            (a.clone(), json!("last_verified")),
            (c.clone(), json!("retention"))
        ]
    );
    let info = cluster.info().await.expect("pgbackrest info");
    assert_eq!(
        info[0]["backup"].as_array().map(Vec::len),
        Some(2),
        "pgBackRest's own repository agrees: {info:#}"
    );

    // A second repository keeps its own backups under the same plan, its
    // own newest full and its own last verified one (none there).
    cluster
        .add_second_repo()
        .await
        .expect("a second repository");
    for _ in 0..2 {
        cluster
            .pgbackrest(&["--repo=2", "--type=full", "--start-fast", "backup"])
            .await
            .expect("a full backup into repo2");
    }
    let in_repo2 = |info: &Value| -> Vec<String> {
        info[0]["backup"]
            .as_array()
            .expect("backups")
            .iter()
            .filter(|b| b["database"]["repo-key"] == 2)
            .map(|b| b["label"].as_str().expect("label").to_string())
            .collect()
    };
    let repo2 = in_repo2(&cluster.info().await.expect("pgbackrest info"));
    assert_eq!(repo2.len(), 2, "{repo2:?}");
    let d = full_backup(&srv, "main-db").await;
    let mut expired: Vec<String> = serde_json::from_value(d["result"]["expired"].clone())
        .unwrap_or_else(|_| panic!("expired labels: {d:#}"));
    expired.sort();
    let mut wanted = vec![c.clone(), repo2[0].clone()];
    wanted.sort();
    assert_eq!(expired, wanted, "{d:#}");
    let d = d["result"]["label"].as_str().expect("label").to_string();
    let mut listed = kept(&srv, "main-db").await;
    listed.sort_by(|x, y| x.0.cmp(&y.0));
    let mut wanted = vec![
        (a, json!("last_verified")),
        (d, json!("retention")),
        (repo2[1].clone(), json!("retention")),
    ];
    wanted.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(listed, wanted);
    let info = cluster.info().await.expect("pgbackrest info");
    assert_eq!(in_repo2(&info), [repo2[1].clone()], "{info:#}");
}

async fn a_verification_is_queued_once_per_period_by_one_of_two_servers(backend: Backend) {
    use platform_admin::backups::schedule::sweep;
    let text = "[[backup_targets]]\nid = \"nightly\"\nkind = \"postgresql\"\nstanza = \"main\"\n\
                pgbackrest_config = \"/nonexistent/pgbackrest.conf\"\nverify_every = \"1h\"\n\
                [[backup_targets]]\nid = \"manual\"\nkind = \"postgresql\"\nstanza = \"main\"\n\
                pgbackrest_config = \"/nonexistent/pgbackrest.conf\"\n";
    let config = Config::parse(text).expect("the test's configuration");
    // No worker: the queued job stays queued until the test ends it.
    let srv = Server::configured(
        TestDb::new(backend, "a_verification_is_queued_once_per_period").await,
        config.clone(),
        None,
    )
    .await;
    let process = || async {
        let db = platform_admin::Db::connect(&srv.db_url())
            .await
            .expect("a second connection pool");
        platform_admin::AppState::with_config(db, config.clone())
    };
    let (one, two) = (process().await, process().await);
    let now = platform_admin::db::now();
    let at = |minutes: i64| now + chrono::Duration::minutes(minutes);

    let (a, b) = tokio::join!(sweep(&one, now), sweep(&two, now));
    let queued: Vec<String> = [a.expect("sweep one"), b.expect("sweep two")].concat();
    assert_eq!(
        queued.len(),
        1,
        "one of the two servers queues it: {queued:?}"
    );
    let jobs = srv.get("/v1/jobs").await;
    let verifies: Vec<&Value> = jobs.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|j| j["kind"] == "verify")
        .collect();
    assert_eq!(verifies.len(), 1, "{}", jobs.text);
    assert_eq!(verifies[0]["actor"], "scheduler");
    assert_eq!(verifies[0]["target"], "backup-target:nightly");
    let audit = srv.get("/v1/audit?target=backup-target:nightly").await;
    assert_eq!(
        audit.body["items"][0]["action"], "backup.verify",
        "{}",
        audit.text
    );
    assert_eq!(
        audit.body["items"][0]["actor"], "scheduler",
        "{}",
        audit.text
    );

    let targets = srv.get("/v1/backup-targets").await;
    let nightly = &targets.body["items"][0];
    assert_eq!(nightly["verify_every_seconds"], 3600, "{}", targets.text);
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(nightly["next_verification_at"].clone()).expect("a time");
    assert!(
        (next - at(60)).num_milliseconds().abs() <= 1,
        "{next} is the queued job's time plus the period, {}",
        at(60)
    );
    assert!(targets.body["items"][1]
        .get("next_verification_at")
        .is_none());

    // Due again, but its job is still queued: one job per target.
    assert!(sweep(&one, at(120)).await.expect("sweep").is_empty());
    let claimed = platform_admin::jobs::claim_next(&one.db, "test", lease(), now)
        .await
        .expect("claim")
        .expect("the queued verification");
    let mut tx = one.db.begin().await.expect("begin");
    platform_admin::jobs::fail(&mut tx, &claimed.claim, "ended by the test", now)
        .await
        .expect("fail");
    tx.commit().await.expect("commit");
    assert!(
        sweep(&two, at(59)).await.expect("sweep").is_empty(),
        "not before its period"
    );
    assert_eq!(sweep(&two, at(61)).await.expect("sweep").len(), 1);
}

macro_rules! both {
    ($($name:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

both!(
    targets_are_listed_without_credentials,
    full_then_incremental_backups_succeed_once_per_key_and_one_at_a_time,
    a_wrong_stanza_fails_the_job_with_pgbackrests_message,
    a_server_killed_mid_backup_never_leaves_the_job_running,
    a_silent_pgbackrest_stops_with_its_killed_server_and_finishes_no_backup,
    a_running_backup_cancelled_stops_pgbackrest_and_ends_cancelled,
    a_full_repository_disk_fails_the_backup_in_pgbackrests_words_and_lists_nothing_half_done,
    a_repository_disk_full_before_the_backup_is_named_beside_pgbackrests_archive_timeout,
    an_rpo_older_than_its_objective_and_an_unreadable_repository_are_flagged,
    a_good_backup_verifies_and_a_corrupted_one_is_caught,
    a_restore_test_a_killed_server_left_running_is_removed_by_the_next_verify,
    a_point_in_time_restore_lands_between_two_writes,
    retention_of_one_expires_old_full_backups_but_never_the_last_verified,
    a_verification_is_queued_once_per_period_by_one_of_two_servers
);
