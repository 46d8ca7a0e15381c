//! Tenant branding (accent colour) and labels through the API: stored and
//! read back sorted, replaced whole by a `PATCH` under its `ETag`, filtered
//! on by `label` (literally, within the caller's tenants, across pages),
//! and refused with a field error when oversized or malformed.

use opsdeck_api::rbac::BuiltinRole;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::rbac::account;
use crate::support::{Reply, Server};

/// `GET /v1/tenants` with these query pairs (encoded by the client), as `token`.
async fn list_as(srv: &Server, token: &str, query: &[(&str, &str)]) -> Reply {
    let request = srv
        .client
        .get(srv.url("/v1/tenants"))
        .bearer_auth(token)
        .query(query);
    Reply::of(request.send().await).await
}

async fn list(srv: &Server, query: &[(&str, &str)]) -> Reply {
    list_as(srv, &srv.admin, query).await
}

fn slugs(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["slug"].as_str().expect("slug").to_string())
        .collect()
}

async fn create_with(srv: &Server, body: Value) -> Reply {
    let reply = srv.send(Method::POST, "/v1/tenants", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{body}: {}", reply.text);
    reply
}

async fn labelled(srv: &Server, slug: &str, labels: Value) -> Reply {
    create_with(srv, json!({"slug": slug, "name": slug, "labels": labels})).await
}

async fn patch_if(srv: &Server, slug: &str, etag: &str, body: &Value) -> Reply {
    let request = srv
        .request(Method::PATCH, &format!("/v1/tenants/{slug}"))
        .header("if-match", etag)
        .json(body);
    Reply::of(request.send().await).await
}

fn etag(reply: &Reply) -> String {
    reply.header("etag").expect("an ETag").to_string()
}

on_both_databases! {
    async fn create_takes_labels_and_an_accent_colour_and_reads_them_back_sorted(srv) {
        let created = create_with(srv, json!({
            "slug": "acme", "name": "Acme",
            "accent_color": "#0A7CFF",
            "labels": {"team": "payments", "env": "prod", "region": "eu-west", "empty": ""},
        })).await;
        assert_eq!(created.body["accent_color"], "#0a7cff", "stored in lowercase");
        let keys: Vec<&String> = created.body["labels"].as_object().expect("labels").keys().collect();
        // serde_json's map keeps the order of the text it read.
        assert_eq!(keys, ["empty", "env", "region", "team"], "{}", created.text);
        let at = |key: &str| created.text.find(&format!("\"{key}\":")).expect(key);
        assert!(at("empty") < at("env") && at("region") < at("team"), "{}", created.text);

        let read = srv.get("/v1/tenants/acme").await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        assert_eq!(read.body["labels"], created.body["labels"]);
        assert_eq!(read.body["accent_color"], "#0a7cff");

        let plain = srv.create("plain", "Plain").await;
        assert_eq!(plain.body["accent_color"], Value::Null);
        assert_eq!(plain.body["labels"], json!({}), "always an object");
        let listed = list(srv, &[]).await;
        assert_eq!(listed.body["items"][0]["labels"]["team"], "payments");
        assert_eq!(listed.body["items"][1]["labels"], json!({}));
    }

    async fn patch_replaces_the_labels_whole_changes_the_etag_and_is_audited(srv) {
        labelled(srv, "acme", json!({"env": "prod", "team": "payments"})).await;
        let read = srv.get("/v1/tenants/acme").await;
        let first = etag(&read);

        let replaced = patch_if(srv, "acme", &first, &json!({"labels": {"env": "staging", "tier": "gold"}})).await;
        assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
        assert_eq!(replaced.body["labels"], json!({"env": "staging", "tier": "gold"}), "team is gone");
        let second = etag(&replaced);
        assert_ne!(second, first);
        assert_eq!(etag(&srv.get("/v1/tenants/acme").await), second);

        // The tag read before the change no longer matches: nothing changes.
        let stale = patch_if(srv, "acme", &first, &json!({"labels": {}})).await;
        stale.expect_error(StatusCode::PRECONDITION_FAILED, "precondition_failed");
        assert_eq!(srv.get("/v1/tenants/acme").await.body["labels"]["tier"], "gold");

        let colored = patch_if(srv, "acme", &second, &json!({"accent_color": "#30a46c"})).await;
        assert_eq!(colored.status, StatusCode::OK, "{}", colored.text);
        assert_eq!(colored.body["labels"]["tier"], "gold", "labels not named are kept");
        let third = etag(&colored);
        assert_ne!(third, second);
        let cleared = patch_if(srv, "acme", &third, &json!({"accent_color": null, "labels": {}})).await;
        assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text);
        assert_eq!(cleared.body["accent_color"], Value::Null);
        assert_eq!(cleared.body["labels"], json!({}));
        assert_ne!(etag(&cleared), third);

        let updates: Vec<Value> = srv.all_audit().await.into_iter()
            .filter(|r| r["action"] == "tenant.update").collect();
        assert_eq!(updates.len(), 3, "{updates:?}");
        // Newest first: the clearing, the colour, the labels.
        assert_eq!(updates[0]["before"]["accent_color"], "#30a46c");
        assert_eq!(updates[0]["after"]["accent_color"], Value::Null);
        assert_eq!(updates[0]["after"]["labels"], json!({}));
        assert_eq!(updates[2]["before"]["labels"], json!({"env": "prod", "team": "payments"}));
        assert_eq!(updates[2]["after"]["labels"], json!({"env": "staging", "tier": "gold"}));
    }

    async fn label_filters_match_a_pair_or_a_key_and_combine_with_every_other_filter(srv) {
        labelled(srv, "alpha", json!({"env": "prod", "team": "payments"})).await;
        labelled(srv, "bravo", json!({"env": "prod"})).await;
        labelled(srv, "charlie", json!({"env": "staging", "team": "payments"})).await;
        srv.create("delta", "Delta").await;
        let upgraded = srv.send(Method::PATCH, "/v1/tenants/bravo", &json!({"plan": "enterprise"})).await;
        assert_eq!(upgraded.status, StatusCode::OK, "{}", upgraded.text);
        let suspended = srv.request(Method::POST, "/v1/tenants/alpha/suspend").send().await;
        assert_eq!(suspended.expect("sent").status(), StatusCode::OK);

        assert_eq!(slugs(&list(srv, &[("label", "env=prod")]).await), ["alpha", "bravo"]);
        assert_eq!(slugs(&list(srv, &[("label", "team")]).await), ["alpha", "charlie"]);
        assert_eq!(slugs(&list(srv, &[("label", "env")]).await), ["alpha", "bravo", "charlie"]);
        assert!(slugs(&list(srv, &[("label", "env=pro")]).await).is_empty(), "a value matches whole");
        assert!(slugs(&list(srv, &[("label", "env=PROD")]).await).is_empty(), "and exactly");
        // Several filters: every one must match.
        assert_eq!(slugs(&list(srv, &[("label", "env=prod"), ("label", "team")]).await), ["alpha"]);
        assert_eq!(slugs(&list(srv, &[("label", "team=payments"), ("label", "env=staging")]).await), ["charlie"]);
        assert!(slugs(&list(srv, &[("label", "env=prod"), ("label", "env=staging")]).await).is_empty());
        // With the search, the plan and the status.
        assert_eq!(slugs(&list(srv, &[("label", "env=prod"), ("q", "brav")]).await), ["bravo"]);
        assert_eq!(slugs(&list(srv, &[("label", "team"), ("q", "ch")]).await), ["charlie"]);
        assert_eq!(slugs(&list(srv, &[("label", "env"), ("plan", "enterprise")]).await), ["bravo"]);
        assert_eq!(slugs(&list(srv, &[("label", "team"), ("status", "active")]).await), ["charlie"]);
        assert_eq!(slugs(&list(srv, &[("label", "env=prod"), ("status", "suspended")]).await), ["alpha"]);
        // A label of a deleted tenant finds nothing, and its rows are gone.
        let deleted = srv.request(Method::DELETE, "/v1/tenants/charlie").send().await;
        assert_eq!(deleted.expect("sent").status(), StatusCode::NO_CONTENT);
        assert!(slugs(&list(srv, &[("label", "env=staging")]).await).is_empty());
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenant_labels")
            .fetch_one(srv.db.pool()).await.expect("count");
        assert_eq!(left, 3, "alpha's two and bravo's one");
    }

    async fn a_tenant_admin_filtering_by_a_label_only_another_tenant_has_gets_nothing(srv) {
        labelled(srv, "alpha", json!({"env": "prod"})).await;
        labelled(srv, "beta", json!({"env": "prod", "secret": "merger"})).await;
        let (_, token) = account(srv, "alpha-admin", BuiltinRole::TenantAdmin, Some("alpha")).await;

        for query in [
            vec![("label", "secret")],
            vec![("label", "secret=merger")],
            vec![("label", "secret"), ("limit", "1")],
            vec![("label", "env=prod"), ("label", "secret")],
        ] {
            let reply = list_as(srv, &token, &query).await;
            assert_eq!(reply.status, StatusCode::OK, "{query:?}: {}", reply.text);
            assert_eq!(reply.body["items"], json!([]), "{query:?}");
            assert!(reply.body["next_cursor"].is_null(), "no page hints at more: {query:?}");
        }
        assert_eq!(slugs(&list_as(srv, &token, &[("label", "env=prod")]).await), ["alpha"]);
        assert_eq!(slugs(&list(srv, &[("label", "env=prod")]).await), ["alpha", "beta"]);
    }

    async fn more_than_32_labels_are_refused_at_the_labels_field_and_change_nothing(srv) {
        labelled(srv, "acme", json!({"env": "prod"})).await;
        let many: serde_json::Map<String, Value> =
            (0..33).map(|i| (format!("k{i:02}"), json!("v"))).collect();
        let before = srv.snapshot().await;

        let create = srv.send(Method::POST, "/v1/tenants",
            &json!({"slug": "many", "name": "Many", "labels": many})).await;
        create.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(create.fields(), ["labels"], "{}", create.text);
        let patch = srv.send(Method::PATCH, "/v1/tenants/acme", &json!({"labels": many})).await;
        patch.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(patch.fields(), ["labels"], "{}", patch.text);

        // A bad key or value is named by its key.
        let bad = srv.send(Method::PATCH, "/v1/tenants/acme",
            &json!({"labels": {"Env": "prod", "ok": "tab\there"}})).await;
        bad.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let mut fields = bad.fields();
        fields.dedup();
        assert_eq!(fields, ["labels.Env", "labels.ok"], "{}", bad.text);
        let not_text = srv.send(Method::PATCH, "/v1/tenants/acme", &json!({"labels": {"env": 5}})).await;
        not_text.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

        assert_eq!(srv.snapshot().await, before, "nothing changed");
        let exactly: serde_json::Map<String, Value> =
            (0..32).map(|i| (format!("k{i:02}"), json!("v"))).collect();
        let most = srv.send(Method::PATCH, "/v1/tenants/acme", &json!({"labels": exactly})).await;
        assert_eq!(most.status, StatusCode::OK, "32 are allowed: {}", most.text);
    }

    async fn a_bad_accent_colour_is_refused_at_its_field_and_changes_nothing(srv) {
        srv.create("acme", "Acme").await;
        let before = srv.snapshot().await;
        for color in ["red", "#0a7cf", "0a7cff", "#0a7cfg", "#0a7cff00", ""] {
            let create = srv.send(Method::POST, "/v1/tenants",
                &json!({"slug": "brand", "name": "Brand", "accent_color": color})).await;
            create.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(create.fields(), ["accent_color"], "{color:?}: {}", create.text);
            let patch = srv.send(Method::PATCH, "/v1/tenants/acme", &json!({"accent_color": color})).await;
            patch.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(patch.fields(), ["accent_color"], "{color:?}: {}", patch.text);
        }
        assert_eq!(srv.snapshot().await, before, "nothing changed");
    }

    async fn a_label_filter_full_of_quotes_percent_underscores_and_backslashes_matches_literally(srv) {
        let odd = r#"it's "50%" _off_ \o/"#;
        labelled(srv, "literal", json!({"note": odd})).await;
        // Each of these would match `odd` if the value were a LIKE pattern
        // or spliced into the SQL.
        labelled(srv, "lookalike", json!({"note": r#"it's "50X" XoffX \o/"#})).await;
        labelled(srv, "quoted", json!({"note": "it''s"})).await;
        labelled(srv, "other", json!({"other": odd})).await;

        assert_eq!(slugs(&list(srv, &[("label", &format!("note={odd}"))]).await), ["literal"]);
        for pattern in ["note=%", "note=_", "note=it's%", r"note=\", "note=' OR '1'='1", "note=it''s%"] {
            let found = slugs(&list(srv, &[("label", pattern)]).await);
            assert!(found.is_empty(), "{pattern:?} found {found:?}");
        }
        assert_eq!(slugs(&list(srv, &[("label", "note=it''s")]).await), ["quoted"]);
        assert_eq!(slugs(&list(srv, &[("label", "note")]).await), ["literal", "lookalike", "quoted"]);
        assert_eq!(srv.all_tenants().await.len(), 4, "nothing changed");
    }

    async fn bad_label_filters_are_refused_naming_the_label_parameter(srv) {
        labelled(srv, "acme", json!({"env": "prod"})).await;
        for bad in ["Env=prod", "=prod", "e\"nv", "env%", "env=tab\there", &format!("env={}", "v".repeat(64))] {
            let reply = list(srv, &[("label", bad)]).await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.fields(), ["label"], "{bad:?}: {}", reply.text);
        }
        let too_many: Vec<(&str, String)> = (0..33).map(|i| ("label", format!("k{i}"))).collect();
        let too_many: Vec<(&str, &str)> = too_many.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = list(srv, &too_many).await;
        reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(reply.fields(), ["label"], "{}", reply.text);
        // Other parameters still may not repeat.
        let twice = list(srv, &[("plan", "team"), ("plan", "free")]).await;
        twice.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }

    async fn paging_through_a_label_filtered_list_returns_each_tenant_once(srv) {
        let mut expected = Vec::new();
        for i in 0..23 {
            let slug = format!("tenant-{i:02}");
            let labels = if i % 3 == 0 { json!({"env": "dev"}) } else { json!({"env": "prod", "n": i.to_string()}) };
            labelled(srv, &slug, labels).await;
            if i % 3 != 0 {
                expected.push(slug);
            }
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..20 {
            let mut query = vec![("label", "env=prod"), ("label", "n"), ("limit", "4")];
            if let Some(c) = &cursor {
                query.push(("cursor", c.as_str()));
            }
            let page = list(srv, &query).await;
            let page_slugs = slugs(&page);
            assert!(page_slugs.len() <= 4);
            for item in page.body["items"].as_array().expect("items") {
                assert_eq!(item["labels"]["env"], "prod", "{item}");
            }
            seen.extend(page_slugs);
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, expected, "each once, in slug order");
    }
}
