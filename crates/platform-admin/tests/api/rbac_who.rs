//! Who can do what: `who-can` resolving groups and every binding scope,
//! and a subject's effective permissions per scope, each as far as the
//! caller may see.

use opsdeck_api::rbac::BuiltinRole;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::rbac::{account, as_token};
use crate::rbac_routes::{created, user};
use crate::support::{Reply, Server};

/// Alpha and beta, Ada (tenant-admin of alpha through the group `sre`, and
/// viewer of beta directly), Bob (in `sre` too), a service account `ci`
/// (operator on the platform), and a tenant-admin of alpha to ask.
async fn who_can_world(srv: &Server) -> (String, String, String) {
    srv.create("alpha", "Alpha").await;
    srv.create("beta", "Beta").await;
    let ada = user(srv, "ada@example.test").await;
    let bob = user(srv, "bob@example.test").await;
    let group = created(
        srv.send(
            Method::POST,
            "/v1/rbac/groups",
            &json!({"name": "sre", "external_name": "cn=sre"}),
        )
        .await,
        "group",
    )
    .await;
    let group_id = group["id"].as_str().expect("id").to_string();
    for member in ["ada@example.test", "bob@example.test"] {
        let added = srv
            .send(
                Method::PUT,
                &format!("/v1/rbac/groups/sre/members/{member}"),
                &Value::Null,
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    }
    for body in [
        json!({"subject": {"kind": "group", "id": group_id}, "role": "tenant-admin", "tenant": "alpha"}),
        json!({"subject": {"kind": "user", "id": ada}, "role": "viewer", "tenant": "beta"}),
    ] {
        created(
            srv.send(Method::POST, "/v1/rbac/bindings", &body).await,
            "binding",
        )
        .await;
    }
    let ci = created(
        srv.send(
            Method::POST,
            "/v1/rbac/service-accounts",
            &json!({"name": "ci"}),
        )
        .await,
        "account",
    )
    .await;
    created(
        srv.send(
            Method::POST,
            "/v1/rbac/bindings",
            &json!({"subject": {"kind": "service_account", "id": ci["id"]}, "role": "operator"}),
        )
        .await,
        "binding",
    )
    .await;
    let _ = bob;
    (ada, group_id, ci["id"].as_str().expect("id").to_string())
}

fn holder<'a>(reply: &'a Value, name: &str) -> Option<&'a Value> {
    reply["holders"]
        .as_array()?
        .iter()
        .find(|h| h["name"] == name)
}

on_both_databases! {
    async fn who_can_resolves_groups_and_every_binding_scope(srv) {
        let (ada, group_id, _) = who_can_world(srv).await;
        let on_alpha = srv.get("/v1/rbac/who-can?permission=tenants.write&tenant=alpha").await;
        assert_eq!(on_alpha.status, StatusCode::OK, "{}", on_alpha.text);
        let names: Vec<&str> = on_alpha.body["holders"].as_array().expect("holders").iter()
            .filter_map(|h| h["name"].as_str()).collect();
        // By name: Ada and Bob (through sre), the bootstrap admin (platform-admin), ci (operator); not the viewer.
        assert_eq!(names, ["ada@example.test", "admin", "bob@example.test", "ci"], "{}", on_alpha.text);
        let ada_paths = &holder(&on_alpha.body, "ada@example.test").expect("ada")["paths"];
        assert_eq!(ada_paths.as_array().map(Vec::len), Some(1), "{ada_paths}");
        assert_eq!(ada_paths[0]["group"], group_id.as_str());
        assert_eq!(ada_paths[0]["role"], "tenant-admin");
        assert_eq!(ada_paths[0]["scope"]["kind"], "tenant");
        assert_eq!(holder(&on_alpha.body, "ci").expect("ci")["paths"][0]["scope"], json!({"kind": "platform"}));

        // On beta Ada only reads; nobody of sre writes there.
        let on_beta = srv.get("/v1/rbac/who-can?permission=tenants.write&tenant=beta").await;
        assert!(holder(&on_beta.body, "ada@example.test").is_none(), "{}", on_beta.text);
        assert!(holder(&on_beta.body, "bob@example.test").is_none());
        let reads_beta = srv.get("/v1/rbac/who-can?permission=tenants.read&tenant=beta").await;
        let ada_reads = holder(&reads_beta.body, "ada@example.test").expect("ada reads beta");
        assert_eq!(ada_reads["paths"][0]["group"], Value::Null);
        assert_eq!(ada_reads["paths"][0]["role"], "viewer");
        // Without a tenant: every scope, each path naming its own.
        let anywhere = srv.get("/v1/rbac/who-can?permission=tenants.read").await;
        let ada_anywhere = holder(&anywhere.body, "ada@example.test").expect("ada");
        assert_eq!(ada_anywhere["paths"].as_array().map(Vec::len), Some(2), "{ada_anywhere}");

        // A custom role counts like a built-in one.
        created(srv.send(Method::POST, "/v1/rbac/roles", &json!({"name": "deleter", "permissions": ["tenants.delete"]})).await, "role").await;
        created(srv.send(Method::POST, "/v1/rbac/bindings", &json!({"subject": {"kind": "user", "id": ada}, "role": "deleter", "tenant": "beta"})).await, "binding").await;
        let deleters = srv.get("/v1/rbac/who-can?permission=tenants.delete&tenant=beta").await;
        assert_eq!(holder(&deleters.body, "ada@example.test").expect("ada")["paths"][0]["role"], "deleter");

        for bad in ["/v1/rbac/who-can", "/v1/rbac/who-can?permission=tenants.destroy", "/v1/rbac/who-can?permission=tenants.read&role=x"] {
            srv.get(bad).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        srv.get("/v1/rbac/who-can?permission=tenants.read&tenant=nope").await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }

    async fn a_tenant_admin_asks_who_can_only_about_its_tenant(srv) {
        who_can_world(srv).await;
        let (_, token) = account(srv, "alpha-ta", BuiltinRole::TenantAdmin, Some("alpha")).await;
        let own = as_token(srv, &token, Method::GET, "/v1/rbac/who-can?permission=tenants.read&tenant=alpha", None).await;
        assert_eq!(own.status, StatusCode::OK, "{}", own.text);
        let beta = as_token(srv, &token, Method::GET, "/v1/rbac/who-can?permission=tenants.read&tenant=beta", None).await;
        beta.expect_error(StatusCode::NOT_FOUND, "not_found");
        as_token(srv, &token, Method::GET, "/v1/rbac/who-can?permission=tenants.read", None).await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
        // Ada's permissions, as far as alpha goes.
        let ada = as_token(srv, &token, Method::GET, "/v1/rbac/subjects/ada@example.test/effective", None).await;
        assert_eq!(ada.status, StatusCode::OK, "{}", ada.text);
        assert_eq!(ada.body["platform"], json!([]));
        let slugs: Vec<&str> = ada.body["tenants"].as_array().expect("tenants").iter().filter_map(|t| t["slug"].as_str()).collect();
        assert_eq!(slugs, ["alpha"]);
    }

    async fn effective_permissions_are_listed_per_scope(srv) {
        let (_, _, ci) = who_can_world(srv).await;
        let ada = srv.get("/v1/rbac/subjects/ada@example.test/effective").await;
        assert_eq!(ada.status, StatusCode::OK, "{}", ada.text);
        assert_eq!(ada.body["subject"]["kind"], "user");
        assert_eq!(ada.body["platform"], json!([]));
        let tenants = ada.body["tenants"].as_array().expect("tenants");
        assert_eq!(tenants.len(), 2, "{}", ada.text);
        assert_eq!(tenants[0]["slug"], "alpha");
        let alpha: Vec<&str> = tenants[0]["permissions"].as_array().expect("permissions").iter().filter_map(Value::as_str).collect();
        let want: Vec<&str> = BuiltinRole::TenantAdmin.permissions().iter().map(|p| p.as_str()).collect();
        let mut alpha_sorted = alpha.clone();
        alpha_sorted.sort_unstable();
        let mut want_sorted = want.clone();
        want_sorted.sort_unstable();
        assert_eq!(alpha_sorted, want_sorted);
        assert_eq!(tenants[1]["slug"], "beta");
        assert!(tenants[1]["permissions"].as_array().expect("p").iter().all(|p| p.as_str().is_some_and(|p| p.ends_with(".read"))));

        let by_id = srv.get(&format!("/v1/rbac/subjects/{ci}/effective")).await;
        assert_eq!(by_id.body["subject"], json!({"kind": "service_account", "id": ci}));
        assert_eq!(by_id.body["platform"].as_array().map(Vec::len), Some(BuiltinRole::Operator.permissions().len()));
        assert_eq!(by_id.body["tenants"], json!([]));
        srv.get("/v1/rbac/subjects/nobody@example.test/effective").await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }

    async fn any_valid_token_reads_its_own_subject_and_permissions_and_no_one_elses(srv) {
        let (ada, _, _) = who_can_world(srv).await;
        let subject = opsdeck_api::rbac::Subject { kind: opsdeck_api::rbac::SubjectKind::User, id: ada.clone() };
        let token = crate::rbac::token_of(srv, &subject, "ada-laptop", None).await;
        let me = as_token(srv, &token, Method::GET, "/v1/rbac/me", None).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_eq!(me.body["subject"], json!({"kind": "user", "id": ada}));
        assert_eq!(me.body["name"], "ada@example.test");
        assert_eq!(me.body["platform"], json!([]));
        let slugs: Vec<&str> = me.body["tenants"].as_array().expect("tenants").iter()
            .filter_map(|t| t["slug"].as_str()).collect();
        assert_eq!(slugs, ["alpha", "beta"], "{}", me.text);
        assert!(me.body["tenants"][0]["permissions"].as_array().expect("p").iter().any(|p| p == "tenants.write"));
        assert!(!me.body["tenants"][1]["permissions"].as_array().expect("p").iter().any(|p| p == "tenants.write"));

        // Holding nothing at all is no reason to be refused: the answer is empty.
        let nobody = opsdeck_api::rbac::Subject {
            kind: opsdeck_api::rbac::SubjectKind::User,
            id: user(srv, "nobody@example.test").await,
        };
        let nothing = crate::rbac::token_of(srv, &nobody, "nobody-laptop", None).await;
        let bare = as_token(srv, &nothing, Method::GET, "/v1/rbac/me", None).await;
        assert_eq!(bare.status, StatusCode::OK, "{}", bare.text);
        assert_eq!(bare.body["platform"], json!([]));
        assert_eq!(bare.body["tenants"], json!([]));
        // The same token may not read anyone else's.
        as_token(srv, &nothing, Method::GET, "/v1/rbac/subjects/ada@example.test/effective", None).await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");

        let anonymous = Reply::of(srv.client.get(srv.url("/v1/rbac/me")).send().await).await;
        anonymous.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
}
