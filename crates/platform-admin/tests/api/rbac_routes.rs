//! The rbac routes' guards: nobody hands on what they do not hold, the
//! last platform-wide platform-admin binding stays, bad input changes
//! nothing, and a token's secret is shown once.

use opsdeck_api::rbac::BuiltinRole;
use platform_admin::rbac::store;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::rbac::{account, as_token};
use crate::support::{Reply, Server};

/// Everything the rbac routes show, and the audit log: what a refused
/// request must leave as it was.
async fn rbac_snapshot(srv: &Server) -> Vec<Value> {
    let mut all = Vec::new();
    for path in [
        "/v1/rbac/users",
        "/v1/rbac/groups",
        "/v1/rbac/service-accounts",
        "/v1/rbac/roles",
        "/v1/rbac/bindings",
        "/v1/rbac/tokens",
    ] {
        let reply = srv.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        all.push(reply.body);
    }
    all.push(Value::Array(srv.all_audit().await));
    all
}

pub async fn created(reply: Reply, what: &str) -> Value {
    assert_eq!(reply.status, StatusCode::CREATED, "{what}: {}", reply.text);
    reply.body
}

pub async fn user(srv: &Server, email: &str) -> String {
    let body = created(
        srv.send(
            Method::POST,
            "/v1/rbac/users",
            &json!({"email": email, "display_name": email}),
        )
        .await,
        email,
    )
    .await;
    body["id"].as_str().expect("id").to_string()
}

on_both_databases! {
    async fn nobody_grants_a_permission_they_do_not_hold(srv) {
        srv.create("alpha", "Alpha").await;
        srv.create("beta", "Beta").await;
        let ada = user(srv, "ada@example.test").await;
        let subject = json!({"kind": "user", "id": ada});
        let (_, platform_ta) = account(srv, "platform-ta", BuiltinRole::TenantAdmin, None).await;
        let (_, alpha_ta) = account(srv, "alpha-ta", BuiltinRole::TenantAdmin, Some("alpha")).await;
        let group = created(srv.send(Method::POST, "/v1/rbac/groups", &json!({"name": "admins"})).await, "group").await;
        let group_id = group["id"].as_str().expect("id").to_string();
        created(srv.send(Method::POST, "/v1/rbac/bindings", &json!({"subject": {"kind": "group", "id": group_id}, "role": "platform-admin"})).await, "binding").await;
        created(srv.send(Method::POST, "/v1/rbac/roles", &json!({"name": "reader", "permissions": ["tenants.read"]})).await, "role").await;
        let before = rbac_snapshot(srv).await;

        let refusals = [
            (&platform_ta, Method::POST, "/v1/rbac/roles".to_string(), json!({"name": "deleter", "permissions": ["tenants.read", "tenants.delete"]}), "tenants.delete"),
            (&alpha_ta, Method::POST, "/v1/rbac/bindings".to_string(), json!({"subject": subject, "role": "platform-admin", "tenant": "alpha"}), "tenants.delete"),
            (&alpha_ta, Method::POST, "/v1/rbac/bindings".to_string(), json!({"subject": subject, "role": "viewer", "tenant": "alpha"}), "clusters.read"),
            (&alpha_ta, Method::POST, "/v1/rbac/bindings".to_string(), json!({"subject": subject, "role": "tenant-admin"}), "rbac.write"),
            (&platform_ta, Method::PATCH, "/v1/rbac/roles/reader".to_string(), json!({"permissions": ["tenants.read", "clusters.failover"]}), "clusters.failover"),
            (&platform_ta, Method::PUT, "/v1/rbac/groups/admins/members/ada@example.test".to_string(), Value::Null, "tenants.delete"),
            (&platform_ta, Method::POST, "/v1/rbac/tokens".to_string(), json!({"name": "stolen", "owner": {"kind": "service_account", "id": token_owner(srv, "admin").await}}), "tenants.delete"),
        ];
        for (token, method, path, body, permission) in refusals {
            let body = (!body.is_null()).then_some(body);
            let reply = as_token(srv, token, method.clone(), &path, body.as_ref()).await;
            reply.expect_error(StatusCode::FORBIDDEN, "forbidden");
            assert!(reply.text.contains(permission), "{method} {path}: {}", reply.text);
        }
        let unseen = as_token(srv, &alpha_ta, Method::POST, "/v1/rbac/bindings", Some(&json!({"subject": subject, "role": "tenant-admin", "tenant": "beta"}))).await;
        unseen.expect_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(rbac_snapshot(srv).await, before, "a refused grant changes nothing");

        // What it holds there, it may hand on: the tenant's audit log shows it.
        let bound = as_token(srv, &alpha_ta, Method::POST, "/v1/rbac/bindings", Some(&json!({"subject": subject, "role": "tenant-admin", "tenant": "alpha"}))).await;
        assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.text);
        let role = as_token(srv, &platform_ta, Method::POST, "/v1/rbac/roles", Some(&json!({"name": "auditor", "permissions": ["tenants.read", "audit.read"]}))).await;
        assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
        let changed = as_token(srv, &platform_ta, Method::PATCH, "/v1/rbac/roles/reader", Some(&json!({"permissions": ["audit.read", "tenants.read", "audit.read"]}))).await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        assert_eq!(changed.body["permissions"], json!(["tenants.read", "audit.read"]));
        let audit = as_token(srv, &alpha_ta, Method::GET, "/v1/audit", None).await;
        assert_eq!(audit.body["items"][0]["action"], "binding.create", "{}", audit.text);
        let bound_id = bound.body["id"].as_str().expect("binding id");
        assert_eq!(audit.body["items"][0]["target"], format!("binding:{bound_id}"));
        assert_eq!(audit.body["items"][0]["tenant"], bound.body["scope"]["tenant"], "in alpha's log by its id");
        assert_eq!(audit.body["items"][0]["after"]["role"], "tenant-admin");
        // Ada now administers alpha through a token of hers.
        let minted = created(srv.send(Method::POST, "/v1/rbac/tokens", &json!({"name": "ada-cli", "owner": subject})).await, "token").await;
        let secret = minted["secret"].as_str().expect("secret");
        let renamed = as_token(srv, secret, Method::PATCH, "/v1/tenants/alpha", Some(&json!({"name": "Alpha by Ada"}))).await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
        assert_eq!(srv.all_audit().await[0]["actor"], "ada@example.test");
    }

    async fn the_last_platform_admin_binding_cannot_be_removed(srv) {
        let admin_account = token_owner(srv, "admin").await;
        let bindings = srv.get("/v1/rbac/bindings").await.body["items"].as_array().cloned().expect("items");
        let admin_binding = bindings.iter()
            .find(|b| b["subject"]["id"] == admin_account.as_str())
            .and_then(|b| b["id"].as_str()).expect("the admin's binding").to_string();
        let before = rbac_snapshot(srv).await;
        let refused = srv.send(Method::DELETE, &format!("/v1/rbac/bindings/{admin_binding}"), &Value::Null).await;
        refused.expect_error(StatusCode::CONFLICT, "invalid_state");
        assert_eq!(rbac_snapshot(srv).await, before);

        // With a second one, the first may go; then the second is the last.
        let ada = user(srv, "ada@example.test").await;
        let second = created(srv.send(Method::POST, "/v1/rbac/bindings", &json!({"subject": {"kind": "user", "id": ada}, "role": "platform-admin"})).await, "binding").await;
        let ada_token = created(srv.send(Method::POST, "/v1/rbac/tokens", &json!({"name": "ada", "owner": {"kind": "user", "id": ada}})).await, "token").await;
        let ada_token = ada_token["secret"].as_str().expect("secret").to_string();
        let removed = srv.send(Method::DELETE, &format!("/v1/rbac/bindings/{admin_binding}"), &Value::Null).await;
        assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
        let second = second["id"].as_str().expect("id");
        as_token(srv, &ada_token, Method::DELETE, &format!("/v1/rbac/bindings/{second}"), None).await
            .expect_error(StatusCode::CONFLICT, "invalid_state");
        // The old admin token lost what its binding gave.
        srv.get("/v1/tenants").await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        let actions: Vec<Value> = srv.client.get(srv.url("/v1/audit")).bearer_auth(&ada_token).send().await
            .expect("audit").json::<Value>().await.expect("json")["items"].as_array().cloned().expect("items")
            .iter().map(|r| r["action"].clone()).collect();
        assert_eq!(actions[0], "binding.delete");
    }

    async fn two_removals_at_once_cannot_remove_both_last_platform_admins(srv) {
        for round in 0..5 {
            let ada = user(srv, &format!("ada-{round}@example.test")).await;
            let second = created(srv.send(Method::POST, "/v1/rbac/bindings", &json!({"subject": {"kind": "user", "id": ada}, "role": "platform-admin"})).await, "binding").await;
            let second = second["id"].as_str().expect("id").to_string();
            let ada_token = created(srv.send(Method::POST, "/v1/rbac/tokens", &json!({"name": format!("ada-{round}"), "owner": {"kind": "user", "id": ada}})).await, "token").await;
            let ada_token = ada_token["secret"].as_str().expect("secret").to_string();
            let bindings = srv.get("/v1/rbac/bindings").await.body["items"].as_array().cloned().expect("items");
            let first = bindings.iter()
                .find(|b| b["role"] == "platform-admin" && b["id"] != second.as_str() && b["scope"]["kind"] == "platform")
                .and_then(|b| b["id"].as_str()).expect("the other platform-admin binding").to_string();
            // Each removes the other's binding, at the same time.
            let (first_path, second_path) = (format!("/v1/rbac/bindings/{first}"), format!("/v1/rbac/bindings/{second}"));
            let (a, b) = tokio::join!(
                as_token(srv, &ada_token, Method::DELETE, &first_path, None),
                srv.send(Method::DELETE, &second_path, &Value::Null),
            );
            let statuses = [a.status.as_u16(), b.status.as_u16()];
            let kept: Vec<Value> = {
                let mut conn = srv.db.pool().acquire().await.expect("connection");
                store::list_bindings(&mut conn, None, None, 10_000).await.expect("bindings").into_iter()
                    .filter(|b| b.role == "platform-admin" && b.scope == opsdeck_api::rbac::BindingScope::Platform)
                    .map(|b| json!(b.id)).collect()
            };
            assert_eq!(kept.len(), 1, "round {round}: {statuses:?} left {kept:?}");
            assert!(statuses.contains(&204), "round {round}: {statuses:?}: {} {}", a.text, b.text);
            // The next round needs the admin token to still be one.
            if kept[0] == json!(second) {
                return;
            }
        }
    }

    async fn a_deleted_tenant_takes_its_bindings_and_a_new_one_of_its_slug_gets_none(srv) {
        srv.create("alpha", "Alpha").await;
        let (_, token) = account(srv, "alpha-ta", BuiltinRole::TenantAdmin, Some("alpha")).await;
        assert_eq!(as_token(srv, &token, Method::GET, "/v1/tenants/alpha", None).await.status, StatusCode::OK);
        let deleted = srv.send(Method::DELETE, "/v1/tenants/alpha", &Value::Null).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
        let bindings = srv.get("/v1/rbac/bindings").await;
        assert!(bindings.body["items"].as_array().expect("items").iter().all(|b| b["scope"]["kind"] == "platform"), "{}", bindings.text);
        srv.create("alpha", "Alpha again").await;
        as_token(srv, &token, Method::GET, "/v1/tenants/alpha", None).await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        as_token(srv, &token, Method::GET, "/v1/tenants", None).await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
    }

    async fn bad_rbac_input_is_a_4xx_envelope_and_changes_nothing(srv) {
        let ada = user(srv, "ada@example.test").await;
        created(srv.send(Method::POST, "/v1/rbac/roles", &json!({"name": "reader", "permissions": ["tenants.read"]})).await, "role").await;
        let before = rbac_snapshot(srv).await;
        let cases = [
            (Method::POST, "/v1/rbac/roles", json!({"name": "r", "permissions": ["tenants.read", "tenants.destroy"]}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "permissions"),
            (Method::POST, "/v1/rbac/roles", json!({"name": "viewer", "permissions": ["tenants.read"]}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "name"),
            (Method::PATCH, "/v1/rbac/roles/viewer", json!({"permissions": ["tenants.read"]}), StatusCode::CONFLICT, "invalid_state", ""),
            (Method::PATCH, "/v1/rbac/roles/reader", json!({"permissions": ["audit.destroy"]}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "permissions"),
            (Method::PATCH, "/v1/rbac/roles/no-such-role", json!({"permissions": ["audit.read"]}), StatusCode::NOT_FOUND, "not_found", ""),
            (Method::POST, "/v1/rbac/roles", json!({"name": "Bad Name", "permissions": ["tenants.read"]}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "name"),
            (Method::POST, "/v1/rbac/roles", json!({"name": "empty", "permissions": []}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "permissions"),
            (Method::POST, "/v1/rbac/bindings", json!({"subject": {"kind": "user", "id": ada}, "role": "no-such-role"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "role"),
            (Method::POST, "/v1/rbac/bindings", json!({"subject": {"kind": "user", "id": "nobody"}, "role": "viewer"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "subject.id"),
            (Method::POST, "/v1/rbac/bindings", json!({"subject": {"kind": "robot", "id": ada}, "role": "viewer"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "subject.kind"),
            (Method::POST, "/v1/rbac/bindings", json!({"subject": {"kind": "user", "id": ada}, "role": "viewer", "tenant": "no-such-tenant"}), StatusCode::NOT_FOUND, "not_found", ""),
            (Method::POST, "/v1/rbac/users", json!({"email": "ADA@example.test", "display_name": "Again"}), StatusCode::CONFLICT, "name_taken", ""),
            (Method::POST, "/v1/rbac/users", json!({"email": "no at sign", "display_name": "X"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "email"),
            (Method::POST, "/v1/rbac/tokens", json!({"name": "t", "owner": {"kind": "user", "id": ada}, "expires_at": "2000-01-01T00:00:00Z"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "expires_at"),
            (Method::POST, "/v1/rbac/tokens", json!({"name": "t", "owner": {"kind": "group", "id": ada}}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "owner.kind"),
            (Method::DELETE, "/v1/rbac/roles/viewer", Value::Null, StatusCode::CONFLICT, "invalid_state", ""),
            (Method::DELETE, "/v1/rbac/roles/no-such-role", Value::Null, StatusCode::NOT_FOUND, "not_found", ""),
            (Method::DELETE, "/v1/rbac/bindings/no-such-binding", Value::Null, StatusCode::NOT_FOUND, "not_found", ""),
            (Method::POST, "/v1/rbac/tokens/no-such-token/revoke", Value::Null, StatusCode::NOT_FOUND, "not_found", ""),
            (Method::PATCH, "/v1/rbac/users/nobody@example.test", json!({"status": "disabled"}), StatusCode::NOT_FOUND, "not_found", ""),
            (Method::PATCH, "/v1/rbac/users/ada@example.test", json!({"status": "gone"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "status"),
        ];
        for (method, path, body, status, code, field) in cases {
            let reply = srv.send(method.clone(), path, &body).await;
            reply.expect_error(status, code);
            if !field.is_empty() {
                assert!(reply.fields().iter().any(|f| f.starts_with(field)), "{method} {path} {body}: {:?}", reply.fields());
            }
        }
        assert_eq!(rbac_snapshot(srv).await, before);
    }

    async fn a_token_secret_is_shown_once_and_a_revoked_token_is_refused(srv) {
        let ada = user(srv, "ada@example.test").await;
        created(srv.send(Method::POST, "/v1/rbac/bindings", &json!({"subject": {"kind": "user", "id": ada}, "role": "viewer"})).await, "binding").await;
        let minted = created(srv.send(Method::POST, "/v1/rbac/tokens", &json!({"name": "ada-ci", "owner": {"kind": "user", "id": ada}, "expires_at": "2999-01-01T00:00:00Z"})).await, "token").await;
        let secret = minted["secret"].as_str().expect("secret").to_string();
        assert!(secret.starts_with("opd_"));
        assert_eq!(as_token(srv, &secret, Method::GET, "/v1/tenants", None).await.status, StatusCode::OK);

        let listed = srv.get("/v1/rbac/tokens").await;
        assert!(!listed.text.contains(&secret), "{}", listed.text);
        assert!(!listed.text.contains(&platform_admin::auth::hash_token(&secret)));
        let row = listed.body["items"].as_array().expect("items").iter().find(|t| t["name"] == "ada-ci").cloned().expect("listed");
        assert_eq!(row["owner"], json!({"kind": "user", "id": ada}));
        assert_eq!(row["expires_at"], "2999-01-01T00:00:00Z");
        assert!(row.get("secret").is_none());

        let revoked = srv.send(Method::POST, "/v1/rbac/tokens/ada-ci/revoke", &Value::Null).await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
        let again = srv.send(Method::POST, "/v1/rbac/tokens/ada-ci/revoke", &Value::Null).await;
        assert_eq!(again.body["revoked_at"], revoked.body["revoked_at"]);
        let refused = as_token(srv, &secret, Method::GET, "/v1/tenants", None).await;
        refused.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
        let actions: Vec<Value> = srv.all_audit().await.iter().map(|r| r["action"].clone()).collect();
        assert_eq!(&actions[..4], ["token.revoke", "token.revoke", "token.create", "binding.create"]);
    }
}

/// The service account the test server's token named `token_name` acts for.
async fn token_owner(srv: &Server, token_name: &str) -> String {
    let mut conn = srv.db.pool().acquire().await.expect("connection");
    store::list_tokens(&mut conn)
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.name == token_name)
        .map(|t| t.owner.id)
        .expect("the token exists")
}
