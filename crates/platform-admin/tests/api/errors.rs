//! Bad input: every failure is an error envelope, and changes nothing.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{self, Reply};

async fn post_raw(
    srv: &support::Server,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> Reply {
    let mut request = srv.request(Method::POST, path).body(body.to_string());
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    Reply::of(request.send().await).await
}

on_both_databases! {
    async fn malformed_json_is_400_and_changes_nothing(srv) {
        srv.create("acme", "Acme").await;
        let before = srv.snapshot().await;
        for body in ["{", "", "{\"slug\": \"x\",}", "not json", "{\"slug\":\"ok-slug\",\"name\":\"A\"} trailing"] {
            let reply = post_raw(srv, "/v1/tenants", Some("application/json"), body).await;
            reply.expect_error(StatusCode::BAD_REQUEST, "malformed_json");
            let patch = Reply::of(
                srv.request(Method::PATCH, "/v1/tenants/acme")
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.to_string())
                    .send()
                    .await,
            )
            .await;
            patch.expect_error(StatusCode::BAD_REQUEST, "malformed_json");
        }
        assert_eq!(srv.snapshot().await, before);
    }

    async fn a_body_without_json_content_type_is_415(srv) {
        let before = srv.snapshot().await;
        let body = r#"{"slug": "acme", "name": "Acme"}"#;
        for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
            let reply = post_raw(srv, "/v1/tenants", content_type, body).await;
            reply.expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        }
        let charset = post_raw(srv, "/v1/tenants", Some("application/json; charset=utf-8"), body).await;
        assert_eq!(charset.status, StatusCode::CREATED, "{}", charset.text);
        let after = srv.snapshot().await;
        assert_eq!(after.0.len(), before.0.len() + 1);
    }

    async fn invalid_fields_are_422_naming_each_field(srv) {
        srv.create("acme", "Acme").await;
        let before = srv.snapshot().await;
        let cases = [
            (json!({"slug": "AB", "name": "X"}), vec!["slug"]),
            (json!({"slug": "1acme", "name": "X"}), vec!["slug"]),
            (json!({"slug": "acme-", "name": "X"}), vec!["slug"]),
            (json!({"slug": "good-slug", "name": "   "}), vec!["name"]),
            (json!({"slug": "good-slug", "name": "x".repeat(201)}), vec!["name"]),
            (json!({"slug": "good-slug", "name": "X", "quotas": {"max_users": 0, "requests_per_minute": 10_000_001}}),
                vec!["quotas.max_users", "quotas.requests_per_minute"]),
            (json!({"slug": "x", "name": ""}), vec!["slug", "name"]),
        ];
        for (body, fields) in cases {
            let reply = srv.send(Method::POST, "/v1/tenants", &body).await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            let mut named = reply.fields();
            named.dedup();
            assert_eq!(named, fields, "{body}");
        }
        for (body, field) in [
            (json!({"name": "\u{0007}bell"}), "name"),
            (json!({"quotas": {"storage_gib": -1}}), "quotas.storage_gib"),
            (json!({}), ""),
        ] {
            let reply = srv.send(Method::PATCH, "/v1/tenants/acme", &body).await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.fields(), [field], "{body}");
        }
        assert_eq!(srv.snapshot().await, before);
    }

    async fn a_422_carries_every_field_error_at_once_in_plain_words(srv) {
        let before = srv.snapshot().await;
        let body = json!({
            "slug": "Not Valid", "name": "  ",
            "quotas": {"max_users": 0, "storage_gib": 5, "requests_per_minute": -3}
        });
        let reply = srv.send(Method::POST, "/v1/tenants", &body).await;
        reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(
            reply.fields(),
            ["slug", "slug", "name", "quotas.max_users", "quotas.requests_per_minute"],
            "{}",
            reply.text
        );
        let message = reply.body["message"].as_str().unwrap_or_default();
        for part in ["slug may contain only", "name must not be empty", "quotas.requests_per_minute must be"] {
            assert!(message.contains(part), "{message}");
        }
        assert!(!message.contains('`'), "{message}");
        assert_eq!(srv.snapshot().await, before);
    }

    async fn unknown_fields_and_wrong_types_are_422_naming_the_field(srv) {
        srv.create("acme", "Acme").await;
        let before = srv.snapshot().await;
        let cases = [
            (json!({"slug": "good-slug", "name": "X", "colour": "red"}), "colour"),
            (json!({"slug": 42, "name": "X"}), "slug"),
            (json!({"name": "X"}), "slug"),
            (json!({"slug": "good-slug", "name": "X", "plan": "gold"}), "plan"),
            (json!({"slug": "good-slug", "name": "X", "quotas": {"max_users": "many"}}), "quotas.max_users"),
            (json!({"slug": "good-slug", "name": "X", "quotas": {"seats": 3}}), "quotas.seats"),
            (json!({"slug": "good-slug", "name": "X", "status": "suspended"}), "status"),
            (json!(["slug"]), ""),
        ];
        for (body, field) in cases {
            let reply = srv.send(Method::POST, "/v1/tenants", &body).await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.fields(), [field], "{body}");
        }
        let patch = srv.send(Method::PATCH, "/v1/tenants/acme", &json!({"slug": "renamed"})).await;
        patch.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(patch.fields(), ["slug"]);
        assert_eq!(srv.snapshot().await, before);
    }

    async fn a_taken_slug_is_409(srv) {
        srv.create("acme", "Acme").await;
        let before = srv.snapshot().await;
        let reply = srv.send(Method::POST, "/v1/tenants", &json!({"slug": "acme", "name": "Other"})).await;
        reply.expect_error(StatusCode::CONFLICT, "slug_taken");
        assert_eq!(srv.snapshot().await, before);
    }

    async fn concurrent_creates_of_one_slug_give_one_201_and_one_409(srv) {
        for round in 0..5 {
            let slug = format!("race-{round}");
            let body = json!({"slug": slug, "name": "Race"});
            let (a, b) = tokio::join!(
                srv.send(Method::POST, "/v1/tenants", &body),
                srv.send(Method::POST, "/v1/tenants", &body),
            );
            let mut statuses = [a.status, b.status];
            statuses.sort();
            assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "{} / {}", a.text, b.text);
            let loser = if a.status == StatusCode::CONFLICT { &a } else { &b };
            loser.expect_error(StatusCode::CONFLICT, "slug_taken");
        }
        assert_eq!(srv.all_tenants().await.len(), 5);
        assert_eq!(srv.all_audit().await.len(), 5);
    }

    async fn a_body_over_the_limit_is_413_and_changes_nothing(srv) {
        let before = srv.snapshot().await;
        let name = "x".repeat(opsdeck_api::MAX_BODY_BYTES);
        let reply = srv.send(Method::POST, "/v1/tenants", &json!({"slug": "huge", "name": name})).await;
        reply.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

        // Chunked, so that no Content-Length announces the size up front.
        let addr = srv.base.trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        let chunk = "x".repeat(16 * 1024);
        let mut request = format!(
            "POST /v1/tenants HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            srv.admin
        );
        for _ in 0..5 {
            request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
        }
        request.push_str("0\r\n\r\n");
        // The server may answer and close before it has read everything.
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            stream.write_all(request.as_bytes()),
        )
        .await;
        let mut response = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            stream.read_to_end(&mut response),
        )
        .await;
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 413"), "{response}");
        assert!(response.contains("\"code\":\"payload_too_large\""), "{response}");

        // A huge announced size is refused before a byte of it is read.
        let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        let request = format!(
            "POST /v1/tenants HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n{{",
            srv.admin
        );
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            stream.write_all(request.as_bytes()),
        )
        .await
        .expect("written in time")
        .expect("write");
        let mut response = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            stream.read_to_end(&mut response),
        )
        .await;
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 413"), "{response}");

        assert_eq!(srv.snapshot().await, before);
    }

    async fn bad_query_parameters_are_422_naming_the_parameter(srv) {
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=ten", "limit"),
            ("limit=-3", "limit"),
            ("status=deleted", "status"),
            ("cursor=%2A%2A%2A", "cursor"),
            ("colour=red", "colour"),
            ("limit=5&limit=6", "limit"),
        ] {
            let reply = srv.get(&format!("/v1/tenants?{query}")).await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.fields(), [field], "{query}");
        }
        for (query, field) in [("limit=0", "limit"), ("cursor=!", "cursor"), ("who=admin", "who"), ("since=monday", "since")] {
            let reply = srv.get(&format!("/v1/audit?{query}")).await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.fields(), [field], "{query}");
        }
        let max = srv.get("/v1/tenants?limit=200").await;
        assert_eq!(max.status, StatusCode::OK);
    }

    async fn unknown_routes_and_methods_get_envelopes(srv) {
        srv.get("/v1/nothing-here").await.expect_error(StatusCode::NOT_FOUND, "not_found");
        srv.get("/").await.expect_error(StatusCode::NOT_FOUND, "not_found");
        let no_token = Reply::of(srv.client.get(srv.url("/v2/tenants")).send().await).await;
        no_token.expect_error(StatusCode::NOT_FOUND, "not_found");

        let put = Reply::of(srv.request(Method::PUT, "/v1/tenants").send().await).await;
        put.expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        let delete_health = Reply::of(srv.client.delete(srv.url("/v1/health")).send().await).await;
        delete_health.expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        let get_suspend = srv.get("/v1/tenants/acme/suspend").await;
        get_suspend.expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    }
}
