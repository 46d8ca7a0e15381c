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
        let long_ago = Utc::now() - idempotency::ABANDONED_AFTER - chrono::Duration::seconds(1);
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

        idempotency::claim(&srv.db, &token, "older", &old_hash, yesterday).await.expect("claim");
        let purged = idempotency::purge_expired(&srv.db, Utc::now()).await.expect("purge");
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
