//! `Idempotency-Key` on mutations.

use chrono::Utc;
use platform_admin::idempotency::{self, Outcome};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Reply, Server};

async fn post_with_key(srv: &Server, token: &str, path: &str, key: &str, body: &str) -> Reply {
    Reply::of(
        srv.client
            .post(srv.url(path))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await,
    )
    .await
}

async fn token_id(srv: &Server, token: &str) -> String {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    platform_admin::auth::authenticate(&srv.db, &headers)
        .await
        .expect("known token")
        .token_id
}

const ACME: &str = r#"{"slug": "acme", "name": "Acme"}"#;

on_both_databases! {
    async fn the_same_key_twice_creates_once_and_replays_the_response(srv) {
        let first = post_with_key(srv, &srv.admin, "/v1/tenants", "key-1", ACME).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
        assert_eq!(first.header("idempotent-replayed"), None);
        let second = post_with_key(srv, &srv.admin, "/v1/tenants", "key-1", ACME).await;
        assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
        assert_eq!(second.header("idempotent-replayed"), Some("true"));
        assert_eq!(second.text, first.text);
        assert_ne!(second.header("x-request-id"), first.header("x-request-id"));
        assert_eq!(srv.all_tenants().await.len(), 1);
        assert_eq!(srv.all_audit().await.len(), 1);
    }

    async fn the_same_key_with_another_request_is_422(srv) {
        post_with_key(srv, &srv.admin, "/v1/tenants", "key-1", ACME).await;
        let before = srv.snapshot().await;
        let other_body = post_with_key(srv, &srv.admin, "/v1/tenants", "key-1", r#"{"slug": "globex", "name": "Globex"}"#).await;
        other_body.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
        let other_path = post_with_key(srv, &srv.admin, "/v1/tenants/acme/suspend", "key-1", ACME).await;
        other_path.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
        assert_eq!(srv.snapshot().await, before);
    }

    async fn a_key_still_in_flight_is_409(srv) {
        let token = token_id(srv, &srv.admin).await;
        let hash = idempotency::request_hash("POST", "/v1/tenants", ACME.as_bytes());
        let claimed = idempotency::claim(&srv.db, &token, "busy", &hash, Utc::now()).await.expect("claim");
        assert!(matches!(claimed, Outcome::Claimed(_)), "{claimed:?}");
        let before = srv.snapshot().await;
        let reply = post_with_key(srv, &srv.admin, "/v1/tenants", "busy", ACME).await;
        reply.expect_error(StatusCode::CONFLICT, "idempotency_key_in_flight");
        assert_eq!(srv.snapshot().await, before);
    }

    async fn an_abandoned_claim_is_taken_over(srv) {
        let token = token_id(srv, &srv.admin).await;
        let hash = idempotency::request_hash("POST", "/v1/tenants", ACME.as_bytes());
        let long_ago = Utc::now() - idempotency::LEASE - chrono::Duration::seconds(1);
        idempotency::claim(&srv.db, &token, "stale", &hash, long_ago).await.expect("claim");
        let reply = post_with_key(srv, &srv.admin, "/v1/tenants", "stale", ACME).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    async fn expired_keys_are_forgotten(srv) {
        let token = token_id(srv, &srv.admin).await;
        let yesterday = Utc::now() - idempotency::RETENTION - chrono::Duration::minutes(1);
        let old_hash = idempotency::request_hash("POST", "/v1/tenants", b"{}");
        idempotency::claim(&srv.db, &token, "old", &old_hash, yesterday).await.expect("claim");
        // Another body under the same key: not a reuse once the key expired.
        let reply = post_with_key(srv, &srv.admin, "/v1/tenants", "old", ACME).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

        // A key with an hour left: the server's own purge, which runs on
        // the clock, leaves it; a purge an hour and a half later takes it
        // and nothing else (the key just used is a day from expiring).
        let hour_left = Utc::now() - idempotency::RETENTION + chrono::Duration::hours(1);
        idempotency::claim(&srv.db, &token, "older", &old_hash, hour_left).await.expect("claim");
        let later = Utc::now() + chrono::Duration::minutes(90);
        let purged = idempotency::purge_expired(&srv.db, later).await.expect("purge");
        assert_eq!(purged, 1);
    }

    async fn keys_are_scoped_to_the_token(srv) {
        let second_admin = platform_admin::auth::create_token(&srv.db, "second-admin", platform_admin::roles::Role::Admin)
            .await
            .expect("token");
        let first = post_with_key(srv, &srv.admin, "/v1/tenants", "shared", ACME).await;
        assert_eq!(first.status, StatusCode::CREATED);
        // Not a replay of the other token's request: it runs, and the slug is taken.
        let other = post_with_key(srv, &second_admin, "/v1/tenants", "shared", ACME).await;
        other.expect_error(StatusCode::CONFLICT, "slug_taken");
        assert_eq!(other.header("idempotent-replayed"), None);
    }

    async fn every_mutation_replays_without_a_second_effect(srv) {
        srv.create("acme", "Acme").await;
        let patch = |key: &'static str| {
            srv.request(Method::PATCH, "/v1/tenants/acme")
                .header("idempotency-key", key)
                .json(&json!({"quotas": {"max_users": 77}}))
        };
        let first = Reply::of(patch("p-1").send().await).await;
        let again = Reply::of(patch("p-1").send().await).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        assert_eq!(again.text, first.text);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));

        let suspend = post_with_key(srv, &srv.admin, "/v1/tenants/acme/suspend", "s-1", "").await;
        assert_eq!(suspend.status, StatusCode::OK, "{}", suspend.text);
        // A plain retry would be refused (already suspended); the keyed one replays.
        let suspend_again = post_with_key(srv, &srv.admin, "/v1/tenants/acme/suspend", "s-1", "").await;
        assert_eq!(suspend_again.status, StatusCode::OK, "{}", suspend_again.text);
        assert_eq!(suspend_again.text, suspend.text);

        let delete = || srv.request(Method::DELETE, "/v1/tenants/acme").header("idempotency-key", "d-1");
        let deleted = Reply::of(delete().send().await).await;
        let deleted_again = Reply::of(delete().send().await).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(deleted_again.status, StatusCode::NO_CONTENT);
        assert_eq!(deleted_again.header("idempotent-replayed"), Some("true"));

        let actions: Vec<_> = srv.all_audit().await.iter().map(|r| r["action"].clone()).collect();
        assert_eq!(actions, ["tenant.delete", "tenant.suspend", "tenant.update", "tenant.create"]);
    }

    async fn client_errors_are_replayed_too(srv) {
        srv.create("acme", "Acme").await;
        let first = post_with_key(srv, &srv.admin, "/v1/tenants", "dup", ACME).await;
        first.expect_error(StatusCode::CONFLICT, "slug_taken");
        let second = post_with_key(srv, &srv.admin, "/v1/tenants", "dup", ACME).await;
        assert_eq!(second.status, StatusCode::CONFLICT);
        assert_eq!(second.header("idempotent-replayed"), Some("true"));
        assert_eq!(second.text, first.text);
    }

    async fn a_refused_request_form_keeps_the_key_usable(srv) {
        let invalid = post_with_key(srv, &srv.admin, "/v1/tenants", "fix-me", r#"{"slug": "A", "name": "Acme"}"#).await;
        invalid.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let fixed = post_with_key(srv, &srv.admin, "/v1/tenants", "fix-me", ACME).await;
        assert_eq!(fixed.status, StatusCode::CREATED, "{}", fixed.text);
        assert_eq!(fixed.header("idempotent-replayed"), None);
    }

    async fn concurrent_requests_with_one_key_run_once(srv) {
        for round in 0..5 {
            let key = format!("race-{round}");
            let body = format!(r#"{{"slug": "race-{round}", "name": "Race"}}"#);
            let (a, b) = tokio::join!(
                post_with_key(srv, &srv.admin, "/v1/tenants", &key, &body),
                post_with_key(srv, &srv.admin, "/v1/tenants", &key, &body),
            );
            let (first, second) = if a.header("idempotent-replayed").is_some() || a.status == StatusCode::CONFLICT {
                (b, a)
            } else {
                (a, b)
            };
            assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
            if second.status == StatusCode::CONFLICT {
                second.expect_error(StatusCode::CONFLICT, "idempotency_key_in_flight");
            } else {
                assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
                assert_eq!(second.header("idempotent-replayed"), Some("true"));
                assert_eq!(second.text, first.text);
            }
        }
        assert_eq!(srv.all_tenants().await.len(), 5);
        assert_eq!(srv.all_audit().await.len(), 5);
    }

    async fn server_errors_are_not_kept_so_a_retry_runs_again(srv) {
        // Break the audit table so that the create fails inside its transaction.
        sqlx::query("ALTER TABLE audit_records RENAME TO audit_records_away")
            .execute(srv.db.pool()).await.expect("rename");
        let failed = post_with_key(srv, &srv.admin, "/v1/tenants", "retry-me", ACME).await;
        failed.expect_error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
        sqlx::query("ALTER TABLE audit_records_away RENAME TO audit_records")
            .execute(srv.db.pool()).await.expect("rename back");
        assert!(srv.all_tenants().await.is_empty(), "the failed create was rolled back");

        let retried = post_with_key(srv, &srv.admin, "/v1/tenants", "retry-me", ACME).await;
        assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text);
        assert_eq!(retried.header("idempotent-replayed"), None);
        assert_eq!(srv.all_audit().await.len(), 1);
    }

    async fn a_claim_left_by_a_dead_owner_is_taken_over_within_seconds(srv) {
        // A fresh claim whose owner never renews it: a process that died
        // right after claiming.
        let token = token_id(srv, &srv.admin).await;
        let hash = idempotency::request_hash("POST", "/v1/tenants", ACME.as_bytes());
        idempotency::claim(&srv.db, &token, "orphan", &hash, Utc::now()).await.expect("claim");
        let started = std::time::Instant::now();
        let first = post_with_key(srv, &srv.admin, "/v1/tenants", "orphan", ACME).await;
        first.expect_error(StatusCode::CONFLICT, "idempotency_key_in_flight");
        let retry_after: i64 = first.header("retry-after").expect("retry-after").parse().expect("seconds");
        assert!((1..=idempotency::LEASE.num_seconds()).contains(&retry_after), "{retry_after}");
        let deadline = started + std::time::Duration::from_secs(idempotency::LEASE.num_seconds() as u64 + 5);
        let done = loop {
            let reply = post_with_key(srv, &srv.admin, "/v1/tenants", "orphan", ACME).await;
            if reply.status != StatusCode::CONFLICT || std::time::Instant::now() > deadline {
                break reply;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        };
        assert_eq!(done.status, StatusCode::CREATED, "{}", done.text);
        assert_eq!(srv.all_tenants().await.len(), 1);
        assert_eq!(srv.all_audit().await.len(), 1);
    }

    async fn a_claim_taken_over_cannot_be_completed_by_its_old_owner(srv) {
        let token = token_id(srv, &srv.admin).await;
        let hash = idempotency::request_hash("POST", "/v1/tenants", ACME.as_bytes());
        let stalled_at = Utc::now() - idempotency::LEASE - chrono::Duration::seconds(1);
        let Outcome::Claimed(old) = idempotency::claim(&srv.db, &token, "slow", &hash, stalled_at).await.expect("claim") else {
            panic!("the first claim wins");
        };
        let Outcome::Claimed(new) = idempotency::claim(&srv.db, &token, "slow", &hash, Utc::now()).await.expect("claim") else {
            panic!("a claim past its lease is taken over");
        };
        assert_ne!(old.owner, new.owner);
        assert!(!idempotency::renew(&srv.db, &old, Utc::now()).await.expect("renew"));

        // The old owner finishes late: its effect goes with its completion.
        let tenant = platform_admin::seed::demo_tenant(0);
        let mut tx = srv.db.begin().await.expect("begin");
        platform_admin::tenants::store::insert(&mut tx, &tenant).await.expect("insert");
        let completed = idempotency::complete(&mut tx, &old, StatusCode::CREATED, b"{}").await;
        assert!(matches!(completed, Err(platform_admin::Error::ClaimLost)), "{completed:?}");
        drop(tx);
        assert!(srv.all_tenants().await.is_empty(), "the old owner's effect was rolled back");

        let mut tx = srv.db.begin().await.expect("begin");
        idempotency::complete(&mut tx, &new, StatusCode::CREATED, b"{}").await.expect("the new owner completes");
        tx.commit().await.expect("commit");
        let replay = post_with_key(srv, &srv.admin, "/v1/tenants", "slow", ACME).await;
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    }

    async fn invalid_keys_are_422(srv) {
        let long = "k".repeat(idempotency::KEY_MAX_LEN + 1);
        for key in ["", "has space", long.as_str()] {
            let reply = post_with_key(srv, &srv.admin, "/v1/tenants", key, ACME).await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.fields(), ["Idempotency-Key"]);
        }
        assert!(srv.all_tenants().await.is_empty());
    }
}

/// Holds PostgreSQL's lock on the tenants table, so that a mutation waits
/// mid-flight, holding its key, until the returned transaction ends.
async fn lock_tenants(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query("BEGIN")
        .execute(&mut conn)
        .await
        .expect("begin");
    sqlx::query("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE")
        .execute(&mut conn)
        .await
        .expect("lock");
    conn
}

/// Waits until the key is claimed (its request is in flight).
async fn wait_claimed(conn: &mut sqlx::PgConnection, key: &str) {
    use sqlx::Row as _;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM idempotency_keys WHERE idem_key = $1")
            .bind(key)
            .fetch_one(&mut *conn)
            .await
            .expect("count");
        if row.try_get::<i64, _>("n").expect("n") == 1 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the key was never claimed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A request killed with its server mid-flight (SIGKILL, its transaction
/// lost) is completed by the client's retry after a restart, within the
/// lease, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_killed_mid_flight_is_completed_by_a_retry_after_restart() {
    use crate::process::Served;
    use crate::support::{Backend, TestDb};
    let test = "a_request_killed_mid_flight_is_completed_by_a_retry_after_restart";
    let db = TestDb::new(Backend::Postgres, test).await;
    let mut served = Served::start(db, None, &[]).await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client");
    let create = |url: String, token: String| {
        let client = client.clone();
        async move {
            Reply::of(
                client
                    .post(url)
                    .bearer_auth(token)
                    .header("idempotency-key", "crash-1")
                    .header(CONTENT_TYPE, "application/json")
                    .body(ACME)
                    .send()
                    .await,
            )
            .await
        }
    };
    let mut lock = lock_tenants(&served.db.url).await;
    let in_flight = tokio::spawn({
        let request = create(served.url("/v1/tenants"), served.token.clone());
        async move {
            let _ = request.await;
        }
    });
    wait_claimed(&mut lock, "crash-1").await;
    served.child.kill().await.expect("SIGKILL");
    sqlx::query("ROLLBACK")
        .execute(&mut lock)
        .await
        .expect("unlock");
    let _ = in_flight.await;

    served.restart().await;
    let started = std::time::Instant::now();
    let deadline =
        started + std::time::Duration::from_secs(idempotency::LEASE.num_seconds() as u64 + 5);
    let done = loop {
        let reply = create(served.url("/v1/tenants"), served.token.clone()).await;
        if reply.status != StatusCode::CONFLICT || std::time::Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text);
    assert_eq!(done.body["slug"], "acme");
    let again = create(served.url("/v1/tenants"), served.token.clone()).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    use sqlx::Row as _;
    let db = platform_admin::Db::connect(&served.db.url)
        .await
        .expect("open");
    // The one tenant, and one record of its making (beside the bootstrap
    // token's).
    for table in ["tenants", "audit_records WHERE action <> 'token.create'"] {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(db.pool())
            .await
            .expect("count")
            .try_get("n")
            .expect("n");
        assert_eq!(n, 1, "{table}");
    }
    db.close().await;
}

/// A request that runs longer than the lease renews it, so a retry meanwhile
/// is told to wait instead of running the request a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_keeps_its_key_past_the_lease_and_runs_once() {
    use crate::support::{Backend, Server};
    let srv = Server::start(
        Backend::Postgres,
        "a_slow_request_keeps_its_key_past_the_lease_and_runs_once",
    )
    .await;
    let url = srv.db_url();
    let mut lock = lock_tenants(&url).await;
    let (first, retried) = tokio::join!(
        post_with_key(&srv, &srv.admin, "/v1/tenants", "slow-1", ACME),
        async {
            wait_claimed(&mut lock, "slow-1").await;
            let past_the_lease = idempotency::LEASE + chrono::Duration::seconds(2);
            tokio::time::sleep(past_the_lease.to_std().expect("positive")).await;
            let retried = post_with_key(&srv, &srv.admin, "/v1/tenants", "slow-1", ACME).await;
            sqlx::query("ROLLBACK")
                .execute(&mut lock)
                .await
                .expect("unlock");
            retried
        },
    );
    retried.expect_error(StatusCode::CONFLICT, "idempotency_key_in_flight");
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(srv.all_tenants().await.len(), 1);
    assert_eq!(srv.all_audit().await.len(), 1);
}
