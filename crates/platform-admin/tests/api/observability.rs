//! Request ids, metrics and health under a lost database.

use reqwest::StatusCode;

use crate::support::Reply;

on_both_databases! {
    async fn request_ids_are_echoed_or_generated(srv) {
        let echoed = Reply::of(
            srv.request(reqwest::Method::GET, "/v1/tenants/missing")
                .header("x-request-id", "trace-abc-123")
                .send()
                .await,
        )
        .await;
        assert_eq!(echoed.header("x-request-id"), Some("trace-abc-123"));
        echoed.expect_error(StatusCode::NOT_FOUND, "not_found");

        let generated = srv.get("/v1/tenants").await;
        let id = generated.header("x-request-id").expect("generated id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

        // Ids that cannot be logged safely are replaced, not echoed.
        let long = "x".repeat(500);
        let replaced = Reply::of(
            srv.request(reqwest::Method::GET, "/v1/tenants").header("x-request-id", long.as_str()).send().await,
        )
        .await;
        assert_ne!(replaced.header("x-request-id"), Some(long.as_str()));
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
