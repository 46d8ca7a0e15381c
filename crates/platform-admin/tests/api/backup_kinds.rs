//! Backups that are files on the server: a `pg_dump` of one database of the
//! test PostgreSQL and a Redis RDB snapshot of a real Redis (the harness's),
//! each checked by its tool when taken and again by a verify job, listed
//! without a restorable window, refused for restore; a dead server and a
//! damaged snapshot fail with the tool's own words.

use std::path::Path;
use std::time::Duration;

use opsdeck_tests::port::Refusing;
use opsdeck_tests::redis::{RedisSentinel, PASSWORD};
use opsdeck_tests::{blocking, Backend, Postgres};
use platform_admin::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use sqlx::Connection as _;

use crate::support::{Server, TestDb};

/// What a small dump or snapshot must beat, with room for a loaded machine.
const JOB_WITHIN: Duration = Duration::from_secs(120);

async fn server(backend: Backend, test: &str, config_text: &str) -> Server {
    let config = Config::parse(config_text).expect("the test's configuration");
    Server::configured(
        TestDb::new(backend, test).await,
        config,
        Some(chrono::Duration::seconds(3)),
    )
    .await
}

/// Polls the job until it is no longer queued or running.
async fn finished(srv: &Server, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + JOB_WITHIN;
    let mut last = Value::Null;
    while tokio::time::Instant::now() < deadline {
        let job = srv.get(&format!("/v1/jobs/{id}")).await;
        if !matches!(
            job.body["state"].as_str(),
            Some("queued" | "running") | None
        ) {
            return job.body;
        }
        last = job.body;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("job {id} did not finish within {JOB_WITHIN:?}: {last:#}");
}

async fn run(srv: &Server, target: &str, action: &str, body: Value) -> Value {
    let started = srv
        .send(
            Method::POST,
            &format!("/v1/backup-targets/{target}/{action}"),
            &body,
        )
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    finished(srv, started.body["id"].as_str().expect("id")).await
}

async fn backup(srv: &Server, target: &str) -> Value {
    run(srv, target, "backups", json!({ "type": "full" })).await
}

fn logged(job: &Value) -> String {
    job["log"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| l["line"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("the backup file");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The files in `dir`, by name.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn a_pg_dump_target_dumps_one_database_checks_it_and_never_offers_a_window(backend: Backend) {
    let source = Postgres::database_async()
        .await
        .unwrap_or_else(|e| panic!("a database in the test PostgreSQL: {e:#}"));
    let mut conn = sqlx::PgConnection::connect(&source.url)
        .await
        .expect("connect to the source");
    sqlx::query("CREATE TABLE tenant_rows (n int)")
        .execute(&mut conn)
        .await
        .expect("create");
    sqlx::query("INSERT INTO tenant_rows SELECT generate_series(1, 250)")
        .execute(&mut conn)
        .await
        .expect("insert");
    conn.close().await.expect("close");
    let dumps = tempfile::tempdir().expect("temp dir");
    let dead_dumps = tempfile::tempdir().expect("temp dir");
    let dead = Refusing::new().expect("a refusing port");
    let text = format!(
        "[[backup_targets]]\nid = \"acme-export\"\nkind = \"pg_dump\"\ndatabase = \"{}\"\n\
         backup_dir = \"{}\"\nverify_every = \"30d\"\n\
         [[backup_targets]]\nid = \"dead-export\"\nkind = \"pg_dump\"\n\
         database = \"postgres://postgres:not-shown-pw@127.0.0.1:{}/gone\"\nbackup_dir = \"{}\"\n",
        source.url,
        dumps.path().display(),
        dead.port,
        dead_dumps.path().display()
    );
    let srv = server(backend, "a_pg_dump_target_dumps_one_database", &text).await;

    let targets = srv.get("/v1/backup-targets").await;
    assert_eq!(
        targets.body["items"][0]["kind"], "pg_dump",
        "{}",
        targets.text
    );
    assert!(targets.body["items"][0].get("stanza").is_none());
    assert_eq!(
        targets.body["items"][0]["verify_every_seconds"],
        30 * 86_400
    );
    let incr = srv
        .send(
            Method::POST,
            "/v1/backup-targets/acme-export/backups",
            &json!({ "type": "incr" }),
        )
        .await;
    incr.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(incr.text.contains("only `full`"), "{}", incr.text);

    // What a job stopped mid-way left goes with the next one.
    std::fs::write(
        dumps.path().join("20200101-000000-000.dump.partial"),
        b"half",
    )
    .expect("a leftover");
    let job = backup(&srv, "acme-export").await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    let log = logged(&job);
    assert!(log.contains("pg_restore --list read"), "{log}");
    assert!(log.contains("20200101-000000-000.dump.partial"), "{log}");
    let label = job["result"]["label"].as_str().expect("label").to_string();
    let file = dumps.path().join(format!("{label}.dump"));
    assert_eq!(
        job["result"]["sha256"].as_str(),
        Some(sha256(&file).as_str())
    );
    assert_eq!(
        names(dumps.path()),
        [format!("{label}.dump"), format!("{label}.json")]
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file)
        .expect("the dump")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "a tenant's data is private");
    let dumped = std::fs::read(&file).expect("the dump");
    assert!(
        dumped.starts_with(b"PGDMP") && dumped.windows(11).any(|w| w == b"tenant_rows"),
        "a custom-format dump of the database"
    );

    let listed = srv.get("/v1/backup-targets/acme-export/backups").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["point_in_time"], false);
    assert!(listed.body.get("restorable").is_none(), "{}", listed.text);
    assert_eq!(listed.body["items"][0]["label"], label.as_str());
    assert_eq!(listed.body["items"][0]["verified"], true);
    assert_eq!(listed.body["items"][0]["sha256"], job["result"]["sha256"]);
    assert_eq!(listed.body["rpo"]["source"], "last_backup");

    let verified = run(&srv, "acme-export", "verify", json!({})).await;
    assert_eq!(verified["state"], "succeeded", "{verified:#}");
    let checked = verified["result"]["checked"].as_str().unwrap_or_default();
    assert!(
        checked.contains("pg_restore --list read") && checked.contains("as recorded"),
        "{verified:#}"
    );
    let restore = srv
        .send(
            Method::POST,
            "/v1/backup-targets/acme-export/restore",
            &json!({ "confirm": "acme-export" }),
        )
        .await;
    restore.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        restore.text.contains("restores only pgBackRest targets"),
        "{}",
        restore.text
    );

    let failed = backup(&srv, "dead-export").await;
    assert_eq!(failed["state"], "failed", "{failed:#}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("pg_dump failed") && error.contains(&dead.port.to_string()),
        "pg_dump's own words: {failed:#}"
    );
    assert!(!failed.to_string().contains("not-shown-pw"), "{failed:#}");
    assert!(
        names(dead_dumps.path()).is_empty(),
        "nothing half written is left"
    );
}

async fn a_redis_rdb_target_snapshots_and_a_damaged_snapshot_is_caught(backend: Backend) {
    let redis = blocking(|| RedisSentinel::start(Duration::from_secs(30)))
        .unwrap_or_else(|e| panic!("a real Redis: {e:#}"));
    let primary = redis.nodes[0].port;
    for n in 0..200 {
        redis
            .data(primary, &["SET", &format!("key:{n}"), &"v".repeat(64)])
            .await
            .expect("a write");
    }
    let snapshots = tempfile::tempdir().expect("temp dir");
    let dead = Refusing::new().expect("a refusing port");
    let text = format!(
        "[[backup_targets]]\nid = \"cache-snap\"\nkind = \"redis_rdb\"\naddress = \"127.0.0.1:{primary}\"\n\
         password = \"{PASSWORD}\"\nrdb_dir = \"{}\"\nbackup_dir = \"{}\"\n\
         [backup_targets.retention]\nfull = 2\nfull_type = \"count\"\nweekly_days = 0\n\
         [[backup_targets]]\nid = \"dead-cache\"\nkind = \"redis_rdb\"\naddress = \"127.0.0.1:{}\"\n\
         rdb_dir = \"{}\"\nbackup_dir = \"{}\"\n",
        redis.dir.path().join("redis-primary").display(),
        snapshots.path().display(),
        dead.port,
        redis.dir.path().join("redis-primary").display(),
        snapshots.path().join("dead").display(),
    );
    let srv = server(backend, "a_redis_rdb_target_snapshots", &text).await;
    let targets = srv.get("/v1/backup-targets").await;
    assert_eq!(
        targets.body["items"][0]["kind"], "redis_rdb",
        "{}",
        targets.text
    );
    assert!(!targets.text.contains(PASSWORD), "{}", targets.text);

    let first = backup(&srv, "cache-snap").await;
    assert_eq!(first["state"], "succeeded", "{first:#}");
    assert!(
        logged(&first).contains("redis-check-rdb: RDB looks OK"),
        "{first:#}"
    );
    // A second snapshot straight after: LASTSAVE counts whole seconds.
    let second = backup(&srv, "cache-snap").await;
    assert_eq!(second["state"], "succeeded", "{second:#}");
    let label = first["result"]["label"]
        .as_str()
        .expect("label")
        .to_string();
    let file = snapshots.path().join(format!("{label}.rdb"));
    assert_eq!(
        first["result"]["sha256"].as_str(),
        Some(sha256(&file).as_str())
    );
    let listed = srv.get("/v1/backup-targets/cache-snap/backups").await;
    assert_eq!(
        listed.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        listed.text
    );
    assert_eq!(listed.body["point_in_time"], false);

    // Damage the first snapshot's keys: its checksum no longer matches.
    let mut bytes = std::fs::read(&file).expect("read");
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&file, bytes).expect("write");
    let caught = run(&srv, "cache-snap", "verify", json!({ "set": label })).await;
    assert_eq!(caught["state"], "failed", "{caught:#}");
    let error = caught["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("redis-check-rdb found"), "{caught:#}");
    let listed = srv.get("/v1/backup-targets/cache-snap/backups").await;
    assert_eq!(
        listed.body["items"][0]["verified"], false,
        "{}",
        listed.text
    );
    assert_eq!(listed.body["items"][1]["verified"], true, "{}", listed.text);

    // Retention keeps two: the damaged first snapshot goes, file and all.
    let third = backup(&srv, "cache-snap").await;
    assert_eq!(third["state"], "succeeded", "{third:#}");
    assert_eq!(third["result"]["expired"], json!([label]), "{third:#}");
    assert!(!file.exists(), "{} is removed", file.display());
    let listed = srv.get("/v1/backup-targets/cache-snap/backups").await;
    let kept: Vec<&Value> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| &b["kept_by"])
        .collect();
    assert_eq!(
        kept,
        [&json!("retention"), &json!("retention")],
        "{}",
        listed.text
    );

    let failed = backup(&srv, "dead-cache").await;
    assert_eq!(failed["state"], "failed", "{failed:#}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(&format!("cannot reach Redis at 127.0.0.1:{}", dead.port)),
        "{failed:#}"
    );
}

async fn a_short_verify_every_gets_backups_verified_by_the_scheduler_on_its_own(backend: Backend) {
    let source = Postgres::database_async()
        .await
        .unwrap_or_else(|e| panic!("a database in the test PostgreSQL: {e:#}"));
    let dumps = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "[[backup_targets]]\nid = \"acme-export\"\nkind = \"pg_dump\"\ndatabase = \"{}\"\n\
         backup_dir = \"{}\"\nverify_every = \"2s\"\n",
        source.url,
        dumps.path().display(),
    );
    let srv = server(backend, "a_short_verify_every_gets_backups_verified", &text).await;
    let job = backup(&srv, "acme-export").await;
    assert_eq!(job["state"], "succeeded", "{job:#}");

    // The sweep `serve` runs, from a process of its own on the database.
    let db = platform_admin::Db::connect(&srv.db_url())
        .await
        .expect("a second connection pool");
    let state = platform_admin::AppState::with_config(
        db,
        Config::parse(&text).expect("the test's configuration"),
    );
    let sweep =
        platform_admin::backups::schedule::spawn(state).expect("a target sets verify_every");
    let deadline = tokio::time::Instant::now() + JOB_WITHIN;
    let verified = loop {
        let jobs = srv.get("/v1/jobs").await;
        let done: Vec<Value> = jobs.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|j| j["kind"] == "verify" && j["state"] == "succeeded")
            .cloned()
            .collect();
        if done.len() >= 2 || tokio::time::Instant::now() >= deadline {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    sweep.abort();
    assert!(
        verified.len() >= 2,
        "two scheduled verifications ran: {verified:#?}"
    );
    for job in &verified {
        assert_eq!(job["actor"], "scheduler", "{job:#}");
        assert!(
            job["result"]["checked"]
                .as_str()
                .is_some_and(|c| c.contains("as recorded")),
            "{job:#}"
        );
    }
    let targets = srv.get("/v1/backup-targets").await;
    assert!(
        targets.body["items"][0]["next_verification_at"].is_string(),
        "{}",
        targets.text
    );
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
    a_pg_dump_target_dumps_one_database_checks_it_and_never_offers_a_window,
    a_redis_rdb_target_snapshots_and_a_damaged_snapshot_is_caught,
    a_short_verify_every_gets_backups_verified_by_the_scheduler_on_its_own
);
