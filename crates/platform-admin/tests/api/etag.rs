//! Conditional changes: a `PATCH` of a tenant or a custom role sent with
//! the `If-Match` of an older read is refused (412) and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Reply, Server};

async fn patch_if_match(srv: &Server, path: &str, tag: Option<&str>, body: &Value) -> Reply {
    let mut request = srv.request(Method::PATCH, path).json(body);
    if let Some(tag) = tag {
        request = request.header("if-match", tag);
    }
    Reply::of(request.send().await).await
}

/// Two admins read `path`; the first changes it, the second's change
/// (with its now old tag) is refused; a fresh read lets it through.
async fn two_editors(srv: &Server, path: &str, first: &Value, second: &Value) {
    let read = srv.get(path).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let tag = read.header("etag").expect("an ETag").to_string();
    assert_eq!(
        srv.get(path).await.header("etag"),
        Some(tag.as_str()),
        "a read does not change it"
    );

    let changed = patch_if_match(srv, path, Some(&tag), first).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let new_tag = changed.header("etag").expect("the new ETag").to_string();
    assert_ne!(new_tag, tag);
    assert_eq!(srv.get(path).await.header("etag"), Some(new_tag.as_str()));

    let before = (srv.get(path).await.body, srv.all_audit().await);
    let stale = patch_if_match(srv, path, Some(&tag), second).await;
    stale.expect_error(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    let weak = patch_if_match(srv, path, Some(&format!("W/{new_tag}")), second).await;
    weak.expect_error(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    assert_eq!(
        (srv.get(path).await.body, srv.all_audit().await),
        before,
        "a refused change changes nothing"
    );

    let listed = patch_if_match(srv, path, Some(&format!("\"other\", {new_tag}")), second).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let any = patch_if_match(srv, path, Some("*"), first).await;
    assert_eq!(any.status, StatusCode::OK, "{}", any.text);
    let unconditional = patch_if_match(srv, path, None, second).await;
    assert_eq!(
        unconditional.status,
        StatusCode::OK,
        "{}",
        unconditional.text
    );
}

on_both_databases! {
    async fn a_tenant_changed_since_it_was_read_is_412(srv) {
        srv.create("acme", "Acme").await;
        two_editors(srv, "/v1/tenants/acme", &json!({"name": "Acme One"}), &json!({"plan": "enterprise"})).await;
    }

    async fn a_role_changed_since_it_was_read_is_412(srv) {
        let created = srv.send(Method::POST, "/v1/rbac/roles", &json!({"name": "reader", "permissions": ["tenants.read"]})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        two_editors(srv, "/v1/rbac/roles/reader", &json!({"permissions": ["tenants.read", "audit.read"]}), &json!({"permissions": ["alerts.read"]})).await;
        let builtin = srv.get("/v1/rbac/roles/viewer").await;
        assert_eq!(builtin.status, StatusCode::OK, "{}", builtin.text);
        assert!(builtin.header("etag").is_some());
    }
}
