//! The tenant lifecycle through the API.

use chrono::{DateTime, Timelike, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{self, Reply};

fn millisecond_precise(value: &Value) -> bool {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|t| t.with_timezone(&Utc))
        .is_some_and(|t| t.nanosecond() % 1_000_000 == 0)
}

on_both_databases! {
    async fn health_reports_the_database_without_a_token(srv) {
        let reply = support::Reply::of(srv.client.get(srv.url("/v1/health")).send().await).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["status"], "ok");
        let expected = match srv.db.kind() {
            platform_admin::DbKind::Sqlite => "sqlite",
            platform_admin::DbKind::Postgres => "postgres",
        };
        assert_eq!(reply.body["database"], expected);
        assert!(reply.body["version"].is_string());
    }

    async fn create_fills_plan_and_quotas_and_returns_201(srv) {
        let reply = srv.create("acme", "Acme Corp").await;
        let tenant = &reply.body;
        assert_eq!(tenant["slug"], "acme");
        assert_eq!(tenant["name"], "Acme Corp");
        assert_eq!(tenant["plan"], "team");
        assert_eq!(tenant["status"], "active");
        assert_eq!(tenant["quotas"], json!({"max_users": 50, "storage_gib": 50, "requests_per_minute": 600}));
        let id = tenant["id"].as_str().expect("id");
        let uuid = uuid::Uuid::parse_str(id).expect("uuid id");
        assert_eq!(uuid.get_version_num(), 7);
        assert!(millisecond_precise(&tenant["created_at"]), "{}", tenant["created_at"]);
        assert_eq!(tenant["created_at"], tenant["updated_at"]);

        let custom = srv
            .send(Method::POST, "/v1/tenants", &json!({
                "slug": "globex", "name": "Globex", "plan": "free",
                "quotas": {"max_users": 7}
            }))
            .await;
        assert_eq!(custom.status, StatusCode::CREATED, "{}", custom.text);
        assert_eq!(custom.body["plan"], "free");
        assert_eq!(custom.body["quotas"], json!({"max_users": 7, "storage_gib": 1, "requests_per_minute": 60}));
    }

    async fn tenants_are_found_by_id_and_by_slug(srv) {
        let created = srv.create("initech", "Initech").await.body;
        let id = created["id"].as_str().expect("id");
        let by_id = srv.get(&format!("/v1/tenants/{id}")).await;
        assert_eq!(by_id.status, StatusCode::OK);
        assert_eq!(by_id.body, created);
        let by_upper_id = srv.get(&format!("/v1/tenants/{}", id.to_uppercase())).await;
        assert_eq!(by_upper_id.body, created);
        let by_slug = srv.get("/v1/tenants/initech").await;
        assert_eq!(by_slug.body, created);
    }

    async fn list_is_ordered_by_slug_and_pages_with_cursors(srv) {
        for slug in ["delta", "alpha", "echo", "charlie", "bravo", "alpha-2"] {
            srv.create(slug, &slug.to_uppercase()).await;
        }
        let mut seen = Vec::new();
        let mut path = "/v1/tenants?limit=4".to_string();
        let mut pages = 0;
        loop {
            let reply = srv.get(&path).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            let items = reply.body["items"].as_array().expect("items");
            assert!(items.len() <= 4);
            seen.extend(items.iter().map(|t| t["slug"].as_str().expect("slug").to_string()));
            pages += 1;
            match reply.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/tenants?limit=4&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(pages, 2);
        assert_eq!(seen, ["alpha", "alpha-2", "bravo", "charlie", "delta", "echo"]);

        let default_page = srv.get("/v1/tenants").await;
        assert_eq!(default_page.body["items"].as_array().map(Vec::len), Some(6));
        assert!(default_page.body["next_cursor"].is_null());
    }

    async fn list_filters_by_text_and_status(srv) {
        srv.create("northwind", "Northwind Traders").await;
        srv.create("bluefin", "Bluefin Logistics").await;
        srv.create("tradewinds", "Tradewinds 50% Off").await;
        let suspended = srv.request(Method::POST, "/v1/tenants/bluefin/suspend").send().await;
        assert_eq!(suspended.expect("sent").status(), StatusCode::OK);

        let slugs = |reply: &support::Reply| -> Vec<String> {
            reply.body["items"].as_array().expect("items").iter()
                .map(|t| t["slug"].as_str().expect("slug").to_string()).collect()
        };
        // Case-insensitive, on the slug or the name.
        let trade = srv.get("/v1/tenants?q=TRADE").await;
        assert_eq!(slugs(&trade), ["northwind", "tradewinds"]);
        let logistics = srv.get("/v1/tenants?q=logistics").await;
        assert_eq!(slugs(&logistics), ["bluefin"]);
        // LIKE wildcards in the text match themselves only.
        let percent = srv.get("/v1/tenants?q=50%25").await;
        assert_eq!(slugs(&percent), ["tradewinds"]);
        let underscore = srv.get("/v1/tenants?q=_").await;
        assert!(slugs(&underscore).is_empty());

        let only_suspended = srv.get("/v1/tenants?status=suspended").await;
        assert_eq!(slugs(&only_suspended), ["bluefin"]);
        let active_trade = srv.get("/v1/tenants?status=active&q=w").await;
        assert_eq!(slugs(&active_trade), ["northwind", "tradewinds"]);
    }

    async fn search_takes_every_word_and_the_plan_and_follows_renames_and_deletes(srv) {
        srv.create("northwind", "Northwind Traders").await;
        srv.create("bluefin", "Bluefin Logistics").await;
        srv.create("tradewinds", "Tradewinds Shipping").await;
        let upgraded = srv
            .send(Method::PATCH, "/v1/tenants/bluefin", &json!({"plan": "enterprise"}))
            .await;
        assert_eq!(upgraded.status, StatusCode::OK, "{}", upgraded.text);
        let slugs = |reply: &support::Reply| -> Vec<String> {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            reply.body["items"].as_array().expect("items").iter()
                .map(|t| t["slug"].as_str().expect("slug").to_string()).collect()
        };
        // Every word, in the slug or the name, in any order.
        assert_eq!(slugs(&srv.get("/v1/tenants?q=traders%20NORTH").await), ["northwind"]);
        assert_eq!(slugs(&srv.get("/v1/tenants?q=wind").await), ["northwind", "tradewinds"]);
        assert!(slugs(&srv.get("/v1/tenants?q=wind%20logistics").await).is_empty());
        // Words of two characters are searched too, without the index.
        assert_eq!(slugs(&srv.get("/v1/tenants?q=fi").await), ["bluefin"]);
        assert_eq!(slugs(&srv.get("/v1/tenants?plan=enterprise").await), ["bluefin"]);
        assert_eq!(slugs(&srv.get("/v1/tenants?plan=team&q=wind").await), ["northwind", "tradewinds"]);
        let bad_plan = srv.get("/v1/tenants?plan=platinum").await;
        assert_eq!(bad_plan.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_plan.text);
        assert_eq!(bad_plan.body["details"][0]["field"], "plan");

        // The search index follows a rename and a delete.
        let renamed = srv
            .send(Method::PATCH, "/v1/tenants/tradewinds", &json!({"name": "Harbor Freight"}))
            .await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
        assert_eq!(slugs(&srv.get("/v1/tenants?q=freight").await), ["tradewinds"]);
        assert!(slugs(&srv.get("/v1/tenants?q=shipping").await).is_empty());
        let deleted = srv.request(Method::DELETE, "/v1/tenants/northwind").send().await;
        assert_eq!(deleted.expect("sent").status(), StatusCode::NO_CONTENT);
        assert!(slugs(&srv.get("/v1/tenants?q=traders").await).is_empty());
        srv.create("northwind", "Northwind Again").await;
        assert_eq!(slugs(&srv.get("/v1/tenants?q=again").await), ["northwind"]);
    }

    async fn patch_changes_only_the_named_fields(srv) {
        let created = srv.create("hooli", "Hooli").await.body;
        let reply = srv
            .send(Method::PATCH, "/v1/tenants/hooli", &json!({"quotas": {"storage_gib": 99}}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["quotas"], json!({"max_users": 50, "storage_gib": 99, "requests_per_minute": 600}));
        assert_eq!(reply.body["name"], "Hooli");
        assert_eq!(reply.body["created_at"], created["created_at"]);
        assert!(millisecond_precise(&reply.body["updated_at"]));

        let id = created["id"].as_str().expect("id");
        let renamed = srv
            .send(Method::PATCH, &format!("/v1/tenants/{id}"), &json!({"name": "Hooli XYZ", "plan": "enterprise"}))
            .await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
        assert_eq!(renamed.body["name"], "Hooli XYZ");
        assert_eq!(renamed.body["plan"], "enterprise");
        assert_eq!(renamed.body["quotas"]["storage_gib"], 99);
        assert_eq!(srv.get("/v1/tenants/hooli").await.body, renamed.body);
    }

    async fn a_plan_change_moves_default_quotas_and_keeps_those_set_by_hand(srv) {
        use opsdeck_api::tenants::{Plan, Tenant, UpdateTenant};
        srv.create("stark", "Stark").await;
        let custom = srv
            .send(Method::POST, "/v1/tenants", &json!({
                "slug": "wayne", "name": "Wayne", "plan": "team", "quotas": {"max_users": 800}
            }))
            .await;
        assert_eq!(custom.status, StatusCode::CREATED, "{}", custom.text);
        for (slug, change) in [
            ("stark", json!({"plan": "enterprise"})),
            ("wayne", json!({"plan": "enterprise", "quotas": {"requests_per_minute": 700}})),
            ("stark", json!({"plan": "free"})),
            ("stark", json!({"name": "Stark Industries"})),
        ] {
            let current: Tenant = serde_json::from_value(srv.get(&format!("/v1/tenants/{slug}")).await.body)
                .expect("a tenant");
            let body: UpdateTenant = serde_json::from_value(change.clone()).expect("a change");
            let reply = srv.send(Method::PATCH, &format!("/v1/tenants/{slug}"), &change).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            let after: Tenant = serde_json::from_value(reply.body).expect("a tenant");
            // The contract's rule, which clients show before sending.
            assert_eq!(after.quotas, body.quotas_after(&current), "{slug} {change}");
        }
        let stark = srv.get("/v1/tenants/stark").await.body;
        assert_eq!(stark["quotas"], serde_json::to_value(Plan::Free.default_quotas()).expect("json"));
        let wayne = srv.get("/v1/tenants/wayne").await.body;
        assert_eq!(
            wayne["quotas"],
            json!({"max_users": 800, "storage_gib": 5_000, "requests_per_minute": 700}),
            "set by hand and named: kept; at the team default: follows the plan"
        );
    }

    async fn suspend_and_resume_move_between_states_once(srv) {
        srv.create("umbrella", "Umbrella").await;
        let suspended = srv.send(Method::POST, "/v1/tenants/umbrella/suspend", &json!({})).await;
        assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.text);
        assert_eq!(suspended.body["status"], "suspended");

        let again = Reply::of(srv.request(Method::POST, "/v1/tenants/umbrella/suspend").send().await).await;
        again.expect_error(StatusCode::CONFLICT, "invalid_state");

        let resumed = Reply::of(srv.request(Method::POST, "/v1/tenants/umbrella/resume").send().await).await;
        assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.text);
        assert_eq!(resumed.body["status"], "active");

        let resumed_again = Reply::of(srv.request(Method::POST, "/v1/tenants/umbrella/resume").send().await).await;
        resumed_again.expect_error(StatusCode::CONFLICT, "invalid_state");

        let actions: Vec<_> = srv.all_audit().await.iter().map(|r| r["action"].clone()).collect();
        assert_eq!(actions, ["tenant.resume", "tenant.suspend", "tenant.create"]);
    }

    async fn delete_removes_the_tenant_and_frees_its_slug(srv) {
        srv.create("soylent", "Soylent").await;
        let deleted = Reply::of(srv.request(Method::DELETE, "/v1/tenants/soylent").send().await).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert!(deleted.text.is_empty());
        srv.get("/v1/tenants/soylent").await.expect_error(StatusCode::NOT_FOUND, "not_found");
        let again = Reply::of(srv.request(Method::DELETE, "/v1/tenants/soylent").send().await).await;
        again.expect_error(StatusCode::NOT_FOUND, "not_found");
        srv.create("soylent", "Soylent again").await;
    }

    async fn unknown_tenants_are_404_everywhere_and_change_nothing(srv) {
        srv.create("present", "Present").await;
        let before = srv.snapshot().await;
        let missing_id = uuid::Uuid::now_v7().to_string();
        for target in ["absent", missing_id.as_str()] {
            srv.get(&format!("/v1/tenants/{target}")).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            srv.send(Method::PATCH, &format!("/v1/tenants/{target}"), &json!({"name": "X"}))
                .await
                .expect_error(StatusCode::NOT_FOUND, "not_found");
            for (method, suffix) in [(Method::DELETE, ""), (Method::POST, "/suspend"), (Method::POST, "/resume")] {
                let reply = Reply::of(srv.request(method, &format!("/v1/tenants/{target}{suffix}")).send().await).await;
                reply.expect_error(StatusCode::NOT_FOUND, "not_found");
            }
        }
        assert_eq!(srv.snapshot().await, before);
    }
}
