//! What the server accepts as a slug and a name, and how it searches them:
//! the contract's normalisation and rules, the same on both databases.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Reply, Server};

fn slugs(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["slug"].as_str().expect("slug").to_string())
        .collect()
}

async fn create_raw(srv: &Server, slug: &str, name: &str) -> Reply {
    srv.send(
        Method::POST,
        "/v1/tenants",
        &json!({ "slug": slug, "name": name }),
    )
    .await
}

on_both_databases! {
    async fn slugs_shaped_like_uuids_are_refused_so_every_tenant_is_reachable_by_slug(srv) {
        for slug in ["a190f0e2-7c3b-7a6e-9b5d-1f2e3d4c5b6a", "abcdef0123456789abcdef0123456789"] {
            let reply = create_raw(srv, slug, "Looks like an id").await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.fields(), ["slug"], "{slug}");
        }
        assert!(srv.all_tenants().await.is_empty());
    }

    async fn names_without_a_visible_character_are_refused(srv) {
        for name in ["\u{200B}\u{200B}\u{200B}", "\u{2060}", " \u{3164} ", "\u{FEFF}"] {
            let reply = create_raw(srv, "acme", name).await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.fields(), ["name"], "{name:?}");
        }
        srv.create("acme", "Acme").await;
        let patch = srv.send(Method::PATCH, "/v1/tenants/acme", &json!({"name": "\u{200B}"})).await;
        patch.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(srv.get("/v1/tenants/acme").await.body["name"], "Acme");
    }

    async fn names_with_direction_controls_are_refused(srv) {
        for name in ["Acme\u{202E}exe.pdf", "\u{2067}Acme", "Acme\u{200F}", "Acme\u{061C}"] {
            let reply = create_raw(srv, "acme", name).await;
            reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.fields(), ["name"], "{name:?}");
        }
        assert!(srv.all_tenants().await.is_empty());
    }

    async fn names_are_stored_trimmed_and_in_nfc(srv) {
        let created = create_raw(srv, "acme", "  A\u{0308}cme  ").await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        assert_eq!(created.body["name"], "\u{00C4}cme");
        let patched = srv.send(Method::PATCH, "/v1/tenants/acme", &json!({"name": "\tO\u{0308}l  "})).await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
        assert_eq!(patched.body["name"], "\u{00D6}l");
        assert_eq!(srv.get("/v1/tenants/acme").await.body["name"], "\u{00D6}l");
    }

    async fn search_ignores_case_beyond_ascii(srv) {
        srv.create("acme", "äcme Straße").await;
        srv.create("omega", "ΩMEGA").await;
        srv.create("plain", "Plain").await;
        for (q, expected) in [
            ("ÄCME", vec!["acme"]),
            ("äcme", vec!["acme"]),
            // Decomposed input finds the composed name.
            ("A\u{0308}CME", vec!["acme"]),
            ("STRASSE", vec![]),
            ("STRAẞE", vec!["acme"]),
            ("ωmega", vec!["omega"]),
            ("PLAIN", vec!["plain"]),
        ] {
            let reply = srv.get(&format!("/v1/tenants?q={}", urlencode(q))).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            assert_eq!(slugs(&reply), expected, "q={q}");
        }
        // A renamed tenant is found by its new name only.
        srv.send(Method::PATCH, "/v1/tenants/omega", &json!({"name": "Élan"})).await;
        assert_eq!(slugs(&srv.get(&format!("/v1/tenants?q={}", urlencode("ÉLAN"))).await), ["omega"]);
        assert!(slugs(&srv.get(&format!("/v1/tenants?q={}", urlencode("ωmega"))).await).is_empty());
    }

    async fn rows_left_without_search_text_are_backfilled_at_start(srv) {
        srv.create("acme", "ÄCME Corp").await;
        // As a row left by an older server: no search text yet.
        sqlx::query("UPDATE tenants SET search_name = NULL")
            .execute(srv.db.pool()).await.expect("clear");
        platform_admin::tenants::store::backfill_search(&srv.db).await.expect("backfill");
        assert_eq!(slugs(&srv.get(&format!("/v1/tenants?q={}", urlencode("äcme"))).await), ["acme"]);
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
