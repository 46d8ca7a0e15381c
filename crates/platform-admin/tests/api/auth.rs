//! Bearer tokens and roles.

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::Reply;

on_both_databases! {
    async fn requests_without_a_known_token_are_401(srv) {
        srv.create("acme", "Acme").await;
        let before = srv.snapshot().await;
        for authorization in [None, Some("Bearer opd_not-a-real-token"), Some("Basic YWRtaW46YWRtaW4="), Some("Bearer")] {
            for (method, path) in [
                (Method::GET, "/v1/tenants"),
                (Method::GET, "/v1/tenants/acme"),
                (Method::GET, "/v1/audit"),
                (Method::POST, "/v1/tenants"),
                (Method::PATCH, "/v1/tenants/acme"),
                (Method::DELETE, "/v1/tenants/acme"),
                (Method::POST, "/v1/tenants/acme/suspend"),
            ] {
                let mut request = srv.client.request(method.clone(), srv.url(path))
                    .json(&json!({"slug": "other", "name": "Other"}));
                if let Some(value) = authorization {
                    request = request.header(AUTHORIZATION, value);
                }
                let reply = Reply::of(request.send().await).await;
                reply.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
                assert_eq!(reply.header(WWW_AUTHENTICATE.as_str()), Some("Bearer"), "{method} {path}");
            }
        }
        assert_eq!(srv.snapshot().await, before);
    }

    async fn a_viewer_reads_but_every_mutation_is_403(srv) {
        srv.create("acme", "Acme").await;
        let before = srv.snapshot().await;
        let as_viewer = |method: Method, path: &str| {
            srv.client.request(method, srv.url(path)).bearer_auth(&srv.viewer)
        };
        for path in ["/v1/tenants", "/v1/tenants/acme", "/v1/audit"] {
            let reply = Reply::of(as_viewer(Method::GET, path).send().await).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        }
        for (method, path, body) in [
            (Method::POST, "/v1/tenants", json!({"slug": "viewer-made", "name": "V"})),
            (Method::PATCH, "/v1/tenants/acme", json!({"name": "Renamed"})),
            (Method::DELETE, "/v1/tenants/acme", json!(null)),
            (Method::POST, "/v1/tenants/acme/suspend", json!(null)),
            (Method::POST, "/v1/tenants/acme/resume", json!(null)),
        ] {
            let reply = Reply::of(
                as_viewer(method.clone(), path)
                    .header("idempotency-key", format!("viewer-{method}-{path}"))
                    .json(&body)
                    .send()
                    .await,
            )
            .await;
            reply.expect_error(StatusCode::FORBIDDEN, "forbidden");
        }
        // Refused before the body is even read: bad JSON is still 403.
        let garbage = Reply::of(
            as_viewer(Method::POST, "/v1/tenants")
                .header("content-type", "application/json")
                .body("{")
                .send()
                .await,
        )
        .await;
        garbage.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(srv.snapshot().await, before);
    }

    async fn health_and_metrics_need_no_token(srv) {
        let health = Reply::of(srv.client.get(srv.url("/v1/health")).send().await).await;
        assert_eq!(health.status, StatusCode::OK);
        let metrics = Reply::of(srv.client.get(srv.url("/metrics")).send().await).await;
        assert_eq!(metrics.status, StatusCode::OK);
    }

    async fn tokens_are_stored_only_as_hashes(srv) {
        use sqlx::Row as _;
        let rows = sqlx::query("SELECT token_hash FROM api_tokens ORDER BY name")
            .fetch_all(srv.db.pool())
            .await
            .expect("tokens");
        let hashes: Vec<String> = rows.iter().map(|r| r.try_get("token_hash").expect("hash")).collect();
        assert_eq!(hashes.len(), 2);
        for (hash, token) in hashes.iter().zip([&srv.admin, &srv.viewer]) {
            assert!(token.starts_with("opd_"));
            assert_ne!(hash, token);
            assert_eq!(hash, &platform_admin::auth::hash_token(token));
        }
    }
}
