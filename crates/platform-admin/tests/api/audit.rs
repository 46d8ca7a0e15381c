//! The audit log: one record per change, in the change's transaction.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::Reply;

on_both_databases! {
    async fn every_mutation_writes_one_record_with_actor_target_and_request_id(srv) {
        let mut request_ids = Vec::new();
        let create = srv.create("acme", "Acme").await;
        request_ids.push(create.header("x-request-id").expect("id").to_string());
        for (method, path, body) in [
            (Method::PATCH, "/v1/tenants/acme", Some(json!({"name": "Acme Inc"}))),
            (Method::POST, "/v1/tenants/acme/suspend", None),
            (Method::POST, "/v1/tenants/acme/resume", None),
            (Method::DELETE, "/v1/tenants/acme", None),
        ] {
            let mut request = srv.request(method, path);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let reply = Reply::of(request.send().await).await;
            assert!(reply.status.is_success(), "{path}: {}", reply.text);
            request_ids.push(reply.header("x-request-id").expect("id").to_string());
        }
        let records = srv.all_audit().await;
        let actions: Vec<_> = records.iter().map(|r| r["action"].as_str().expect("action")).collect();
        assert_eq!(actions, ["tenant.delete", "tenant.resume", "tenant.suspend", "tenant.update", "tenant.create"]);
        request_ids.reverse();
        for (record, request_id) in records.iter().zip(&request_ids) {
            assert_eq!(record["actor"], "admin");
            assert_eq!(record["target"], "tenant:acme");
            assert_eq!(record["request_id"], request_id.as_str());
            assert!(record["at"].is_string());
            assert!(uuid::Uuid::parse_str(record["id"].as_str().expect("id")).is_ok());
        }
    }

    async fn audit_filters_by_target_and_pages_newest_first(srv) {
        for slug in ["alpha", "bravo", "charlie"] {
            srv.create(slug, slug).await;
        }
        for _ in 0..2 {
            srv.send(Method::PATCH, "/v1/tenants/bravo", &json!({"name": "B"})).await;
        }
        let bravo = srv.get("/v1/audit?target=tenant:bravo").await;
        let actions: Vec<_> = bravo.body["items"].as_array().expect("items").iter()
            .map(|r| r["action"].as_str().expect("action").to_string()).collect();
        assert_eq!(actions, ["tenant.update", "tenant.update", "tenant.create"]);

        let mut seen = Vec::new();
        let mut path = "/v1/audit?limit=2".to_string();
        loop {
            let page = srv.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            let items = page.body["items"].as_array().expect("items");
            assert!(items.len() <= 2);
            seen.extend(items.iter().map(|r| r["id"].as_str().expect("id").to_string()));
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/audit?limit=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 5);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(seen, sorted, "newest first");
        let nobody = srv.get("/v1/audit?target=tenant:nobody").await;
        assert_eq!(nobody.body["items"], json!([]));
        assert!(nobody.body["next_cursor"].is_null());
    }

    async fn a_mutation_that_fails_writes_no_record(srv) {
        srv.create("acme", "Acme").await;
        let records = srv.all_audit().await.len();
        let taken = srv.send(Method::POST, "/v1/tenants", &json!({"slug": "acme", "name": "Again"})).await;
        taken.expect_error(StatusCode::CONFLICT, "slug_taken");
        let state = Reply::of(srv.request(Method::POST, "/v1/tenants/acme/resume").send().await).await;
        state.expect_error(StatusCode::CONFLICT, "invalid_state");
        assert_eq!(srv.all_audit().await.len(), records);
    }
}
