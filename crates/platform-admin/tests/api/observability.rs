//! Request ids, metrics and health under a lost database.

use reqwest::StatusCode;

use crate::support::Reply;

on_both_databases! {
    async fn the_server_makes_every_request_id_and_echoes_the_clients_apart(srv) {
        let sent = Reply::of(
            srv.request(reqwest::Method::GET, "/v1/tenants/missing")
                .header("x-request-id", "trace-abc-123")
                .send()
                .await,
        )
        .await;
        let id = sent.header("x-request-id").expect("server id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        assert_eq!(sent.header("x-client-request-id"), Some("trace-abc-123"));
        sent.expect_error(StatusCode::NOT_FOUND, "not_found");

        let generated = srv.get("/v1/tenants").await;
        let id = generated.header("x-request-id").expect("generated id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        assert_eq!(generated.header("x-client-request-id"), None);

        // Ids that cannot be logged safely are not echoed at all.
        let long = "x".repeat(500);
        let dropped = Reply::of(
            srv.request(reqwest::Method::GET, "/v1/tenants").header("x-request-id", long.as_str()).send().await,
        )
        .await;
        assert_ne!(dropped.header("x-request-id"), Some(long.as_str()));
        assert_eq!(dropped.header("x-client-request-id"), None);
    }

    async fn a_client_request_id_never_becomes_the_audit_request_id(srv) {
        let victim = srv.create("acme", "Acme").await;
        let victim_id = victim.header("x-request-id").expect("id").to_string();
        let forged = Reply::of(
            srv.request(reqwest::Method::PATCH, "/v1/tenants/acme")
                .header("x-request-id", victim_id.as_str())
                .json(&serde_json::json!({"name": "Acme Inc"}))
                .send()
                .await,
        )
        .await;
        assert_eq!(forged.status, StatusCode::OK, "{}", forged.text);
        let own_id = forged.header("x-request-id").expect("id");
        assert_ne!(own_id, victim_id);
        let records = srv.all_audit().await;
        let ids: Vec<_> = records.iter().map(|r| r["request_id"].as_str().expect("id")).collect();
        assert_eq!(ids, [own_id, victim_id.as_str()]);
    }

    async fn metrics_count_requests_by_route_template(srv) {
        srv.create("acme", "Acme").await;
        srv.get("/v1/tenants/acme").await;
        srv.get("/v1/tenants/no-such-tenant").await;
        srv.get("/v1/nothing").await;
        let metrics = Reply::of(srv.client.get(srv.url("/metrics")).send().await).await;
        assert_eq!(metrics.status, StatusCode::OK);
        let text = &metrics.text;
        for line in [
            r#"http_requests_total{method="POST",route="/v1/tenants",status="201"} 1"#,
            r#"http_requests_total{method="GET",route="/v1/tenants/{tenant}",status="200"} 1"#,
            r#"http_requests_total{method="GET",route="/v1/tenants/{tenant}",status="404"} 1"#,
            r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
            r#"http_request_duration_seconds_count{method="GET",route="/v1/tenants/{tenant}"} 2"#,
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
        assert!(!text.contains("acme"), "raw paths leaked into labels:\n{text}");
        assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    }

    async fn health_is_503_when_the_database_is_gone(srv) {
        srv.db.close().await;
        let reply = Reply::of(srv.client.get(srv.url("/v1/health")).send().await).await;
        reply.expect_error(StatusCode::SERVICE_UNAVAILABLE, "internal");
        assert!(reply.body["message"].as_str().is_some_and(|m| m.contains("database")));
    }
}

/// A server whose configuration sets `fault_injection` (or not).
async fn with_faults(allowed: bool, test: &str) -> crate::support::Server {
    let config = platform_admin::config::Config::parse(&format!("fault_injection = {allowed}\n"))
        .expect("the test's configuration");
    crate::support::Server::configured(
        crate::support::TestDb::new(crate::support::Backend::Sqlite, test).await,
        config,
        None,
    )
    .await
}

#[tokio::test]
async fn a_drill_server_fails_requests_that_ask_and_counts_them_as_5xx() {
    let srv = with_faults(true, "fault_injection_on").await;
    let asked = |status: &'static str| {
        srv.client
            .get(srv.url("/v1/tenants"))
            .bearer_auth(&srv.admin)
            .header(platform_admin::FAULT_HEADER, status)
            .send()
    };
    let failed = Reply::of(asked("503").await).await;
    failed.expect_error(StatusCode::SERVICE_UNAVAILABLE, "internal");
    Reply::of(asked("500").await)
        .await
        .expect_error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    // Only server errors can be asked for.
    assert_eq!(Reply::of(asked("404").await).await.status, StatusCode::OK);
    assert_eq!(srv.get("/v1/tenants").await.status, StatusCode::OK);
    let metrics = Reply::of(srv.client.get(srv.url("/metrics")).send().await).await;
    assert!(
        metrics.text.contains(r#"status="503"} 1"#) && metrics.text.contains(r#"status="500"} 1"#),
        "{}",
        metrics.text
    );
}

#[tokio::test]
async fn a_server_not_set_for_drills_ignores_the_fault_header() {
    let srv = with_faults(false, "fault_injection_off").await;
    let reply = Reply::of(
        srv.client
            .get(srv.url("/v1/tenants"))
            .bearer_auth(&srv.admin)
            .header(platform_admin::FAULT_HEADER, "503")
            .send()
            .await,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}
