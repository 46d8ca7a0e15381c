//! The `platform-admin` binary: token creation, demo seeding and serving.

use std::process::{Command, Stdio};
use std::time::Duration;

use platform_admin::Db;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::time::timeout;

use crate::support::{Backend, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_platform-admin");

/// The longest one command of the binary may take.
const LIMIT: Duration = Duration::from_secs(60);

async fn run(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    opsdeck_tests::process::output(cmd, b"", LIMIT)
        .await
        .unwrap_or_else(|e| panic!("platform-admin {args:?}: {e:#}"))
}

/// The route table printed is the one the server enforces.
#[tokio::test]
async fn routes_prints_every_route_with_its_permission() {
    let out = run(&["routes"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    for expected in [
        "GET\t/v1/health\t-\tpublic",
        "GET\t/v1/rbac/me\t-\tauthenticated",
        "GET\t/v1/tenants\ttenants.read\teach_tenant",
        "DELETE\t/v1/tenants/{tenant}\ttenants.delete\ttenant",
        "POST\t/v1/rbac/bindings\trbac.write\teach_tenant",
        "POST\t/v1/rbac/tokens\trbac.write\tplatform",
    ] {
        assert!(
            lines.contains(&expected),
            "{expected} missing from:\n{stdout}"
        );
    }
    let access =
        platform_admin::access::Access::from_document(&platform_admin::openapi::document());
    assert_eq!(lines.len(), access.rules().count());
}

async fn count(db: &Db, table: &str) -> i64 {
    use sqlx::Row as _;
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(db.pool())
        .await
        .expect("count")
        .try_get("n")
        .expect("n")
}

async fn token_create_prints_only_the_token(backend: Backend) {
    let test_db = TestDb::new(backend, "token_create_prints_only_the_token").await;
    let out = run(&[
        "token",
        "create",
        "--database",
        &test_db.url,
        "--name",
        "ci",
        "--role",
        "viewer",
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let token = stdout.strip_suffix('\n').expect("one line");
    assert!(!token.contains('\n'));
    let secret = token.strip_prefix("opd_").expect("opd_ prefix");
    assert_eq!(secret.len(), 43, "{token}");
    assert!(secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    // The bootstrap is a service account of the token's name, bound to
    // `viewer` on the platform.
    {
        use sqlx::Row as _;
        let db = Db::connect(&test_db.url).await.expect("open");
        let row = sqlx::query(
            "SELECT s.name, b.role, b.tenant_id FROM api_tokens t \
             JOIN rbac_service_accounts s ON s.id = t.service_account_id \
             JOIN rbac_bindings b ON b.subject_kind = 'service_account' AND b.subject_id = s.id",
        )
        .fetch_one(db.pool())
        .await
        .expect("one token, account and binding");
        assert_eq!(row.try_get::<String, _>("name").expect("name"), "ci");
        assert_eq!(row.try_get::<String, _>("role").expect("role"), "viewer");
        assert_eq!(
            row.try_get::<Option<String>, _>("tenant_id")
                .expect("scope"),
            None
        );
        // And its making is audited, in the chain like every change.
        let record = sqlx::query("SELECT actor, action, target FROM audit_records")
            .fetch_one(db.pool())
            .await
            .expect("one audit record");
        assert_eq!(
            record.try_get::<String, _>("action").expect("action"),
            "token.create"
        );
        assert_eq!(
            record.try_get::<String, _>("target").expect("target"),
            "token:ci"
        );
        assert_eq!(
            record.try_get::<String, _>("actor").expect("actor"),
            platform_admin::auth::BOOTSTRAP_ACTOR
        );
        db.close().await;
        let verified = run(&["audit", "verify", "--database", &test_db.url]).await;
        assert!(
            verified.status.success(),
            "{}",
            String::from_utf8_lossy(&verified.stderr)
        );
    }

    let again = run(&[
        "token",
        "create",
        "--database",
        &test_db.url,
        "--name",
        "ci",
        "--role",
        "admin",
    ])
    .await;
    assert!(!again.status.success(), "a second token named `ci`");
    assert!(again.stdout.is_empty());
    let bad_role = run(&[
        "token",
        "create",
        "--database",
        &test_db.url,
        "--name",
        "x",
        "--role",
        "owner",
    ])
    .await;
    assert!(!bad_role.status.success());
}

async fn seed_demo_is_deterministic_and_idempotent(backend: Backend) {
    let test_db = TestDb::new(backend, "seed_demo_is_deterministic_and_idempotent").await;
    for _ in 0..2 {
        let out = run(&["seed-demo", "--database", &test_db.url, "--count", "60"]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let db = Db::connect(&test_db.url).await.expect("open");
    assert_eq!(count(&db, "tenants").await, 60);
    let suspended = platform_admin::tenants::store::list(
        &db,
        &platform_admin::tenants::store::ListFilter {
            status: Some(opsdeck_api::tenants::TenantStatus::Suspended),
            limit: 200,
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert!(!suspended.is_empty() && suspended.len() < 60);
    let records = count(&db, "audit_records").await;
    assert_eq!(records, 60 + suspended.len() as i64);
    let first = platform_admin::seed::demo_tenant(0);
    let stored = platform_admin::tenants::store::get(
        db.pool(),
        &platform_admin::tenants::store::TenantRef::Slug(first.slug.clone()),
    )
    .await
    .expect("get")
    .expect("seeded");
    assert_eq!(
        (stored.name, stored.plan, stored.quotas),
        (first.name, first.plan, first.quotas)
    );
    assert_eq!(
        (stored.accent_color, stored.labels),
        (first.accent_color, first.labels)
    );
    assert!(count(&db, "tenants WHERE accent_color IS NOT NULL").await > 0);
    db.close().await;
}

async fn seed_demo_loads_a_large_platform_once_and_search_finds_in_it(backend: Backend) {
    let test_db = TestDb::new(backend, "seed_demo_loads_a_large_platform_once").await;
    let args = [
        "seed-demo",
        "--database",
        &test_db.url,
        "--tenants",
        "700",
        "--users",
        "120",
        "--bindings",
        "900",
    ];
    let first = run(&args).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        said.contains("120 users, 3 groups, 120 group members, 900 bindings inserted"),
        "{said}"
    );
    let again = run(&args).await;
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        said.contains("0 users, 0 groups, 0 group members, 0 bindings inserted"),
        "{said}"
    );
    assert!(
        said.contains("0 demo tenants inserted (700 were already there)"),
        "{said}"
    );

    let db = Db::connect(&test_db.url).await.expect("open");
    assert_eq!(count(&db, "tenants").await, 700);
    assert_eq!(count(&db, "rbac_users").await, 120);
    assert_eq!(count(&db, "rbac_bindings").await, 900);
    // Every tenant's labels, once, whichever run inserted it.
    let labels: usize = (0..700)
        .map(|i| platform_admin::seed::demo_branding(i).1.len())
        .sum();
    assert_eq!(count(&db, "tenant_labels").await, labels as i64);
    let in_eu = platform_admin::tenants::store::list(
        &db,
        &platform_admin::tenants::store::ListFilter {
            labels: vec![
                opsdeck_api::tenants::LabelSelector::parse("region=eu-west").expect("filter")
            ],
            limit: 200,
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(in_eu.len(), 200, "a third of 700 is more than a page");
    assert!(in_eu.iter().all(|t| t.labels["region"] == "eu-west"));
    // Numbered names past the demo set, found through the search index.
    let found = platform_admin::tenants::store::list(
        &db,
        &platform_admin::tenants::store::ListFilter {
            text: Some("Kestrel LABS 2".into()),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .expect("list");
    let slugs: Vec<&str> = found.iter().map(|t| t.slug.as_str()).collect();
    assert!(slugs.contains(&"kestrel-labs-2"), "{slugs:?}");
    assert!(
        slugs.iter().all(|s| s.starts_with("kestrel-labs")),
        "{slugs:?}"
    );
    // Every binding points at a tenant of the set or at the platform.
    let dangling = count(
        &db,
        "rbac_bindings b WHERE b.tenant_id IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM tenants t WHERE t.id = b.tenant_id)",
    )
    .await;
    assert_eq!(dangling, 0);
    db.close().await;
}

async fn serve_prints_its_address_and_stops_on_sigterm(backend: Backend) {
    let test_db = TestDb::new(backend, "serve_prints_its_address_and_stops_on_sigterm").await;
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "--log-format",
            "json",
            "serve",
            "--database",
            &test_db.url,
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    // Read alongside, so a chatty log cannot fill the pipe and stall the server.
    let log = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut lines = BufReader::new(stdout).lines();
    let first = timeout(LIMIT, lines.next_line())
        .await
        .expect("the address within the limit")
        .expect("utf-8")
        .expect("a line");
    let url = first
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let health = client
        .get(format!("{url}/v1/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    let request_id = health.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_string();

    let pid = child.id().expect("running").to_string();
    let mut term = Command::new("kill");
    term.args(["-TERM", &pid]);
    let term = opsdeck_tests::process::output(term, b"", LIMIT)
        .await
        .expect("kill");
    assert!(term.status.success());
    let status = timeout(Duration::from_secs(15), child.wait())
        .await
        .map(|waited| waited.expect("wait"));
    assert!(
        status.as_ref().is_ok_and(|s| s.success()),
        "exit after SIGTERM: {status:?}"
    );
    let rest = timeout(LIMIT, lines.next_line())
        .await
        .expect("stdout closed");
    assert!(
        matches!(rest, Ok(None)),
        "nothing but the address on stdout: {rest:?}"
    );

    let stderr = timeout(LIMIT, log)
        .await
        .expect("stderr closed")
        .expect("stderr reader");
    let request_line = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["span"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no JSON log line of the request in:\n{stderr}"));
    assert_eq!(request_line["fields"]["status"], 200);
    assert_eq!(request_line["span"]["route"], "/v1/health");
    assert_eq!(request_line["span"]["method"], "GET");
    assert!(request_line["fields"]["latency_ms"].is_number());
}

mod sqlite {
    use super::*;

    #[tokio::test]
    async fn a_missing_database_file_is_created_in_wal_mode() {
        use sqlx::Row as _;
        let test_db = TestDb::new(Backend::Sqlite, "wal").await;
        let db = Db::connect(&test_db.url).await.expect("create and migrate");
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(db.pool())
            .await
            .expect("pragma")
            .try_get(0)
            .expect("mode");
        assert_eq!(mode, "wal");
        assert_eq!(count(&db, "tenants").await, 0);
        db.close().await;
    }

    fn mode(path: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[tokio::test]
    async fn the_database_file_and_its_wal_are_private_to_the_owner() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("admin.db");
        let db = Db::connect(&format!("sqlite://{}", file.display()))
            .await
            .expect("create and migrate");
        platform_admin::auth::create_token(&db, "ci", platform_admin::roles::Role::Admin)
            .await
            .expect("a write, so the WAL exists");
        for name in ["admin.db", "admin.db-wal", "admin.db-shm"] {
            assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
        }
        db.close().await;
    }

    #[tokio::test]
    async fn a_database_file_readable_by_others_is_made_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("admin.db");
        let url = format!("sqlite://{}", file.display());
        // Found looser, as another program or an old version left them: a
        // zero-length database and WAL are what SQLite takes for new ones,
        // and no connection of the test's own is open to change them.
        std::fs::write(&file, b"").expect("database file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let wal = dir.path().join("admin.db-wal");
        std::fs::write(&wal, b"").expect("wal");
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let db = Db::connect(&url).await.expect("reopen");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&wal), 0o600);
        db.close().await;
    }

    #[tokio::test]
    async fn token_create_prints_only_the_token() {
        super::token_create_prints_only_the_token(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn seed_demo_is_deterministic_and_idempotent() {
        super::seed_demo_is_deterministic_and_idempotent(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn seed_demo_loads_a_large_platform_once_and_search_finds_in_it() {
        super::seed_demo_loads_a_large_platform_once_and_search_finds_in_it(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn serve_prints_its_address_and_stops_on_sigterm() {
        super::serve_prints_its_address_and_stops_on_sigterm(Backend::Sqlite).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn token_create_prints_only_the_token() {
        super::token_create_prints_only_the_token(Backend::Postgres).await;
    }

    #[tokio::test]
    async fn seed_demo_is_deterministic_and_idempotent() {
        super::seed_demo_is_deterministic_and_idempotent(Backend::Postgres).await;
    }

    #[tokio::test]
    async fn seed_demo_loads_a_large_platform_once_and_search_finds_in_it() {
        super::seed_demo_loads_a_large_platform_once_and_search_finds_in_it(Backend::Postgres)
            .await;
    }

    #[tokio::test]
    async fn serve_prints_its_address_and_stops_on_sigterm() {
        super::serve_prints_its_address_and_stops_on_sigterm(Backend::Postgres).await;
    }
}
