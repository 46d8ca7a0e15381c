//! The two-person rule through the API: a destructive route outside a
//! maintenance window needs an approval granted by someone else holding
//! the rule's role, for the same caller, action, target and body; it is
//! used once, expires, and every step of it is audited. Also which routes
//! declare the rule.

use std::time::Duration;

use opsdeck_api::approvals::ApprovalAction;
use opsdeck_api::rbac::BuiltinRole;
use platform_admin::access::Access;
use platform_admin::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::rbac::{account, as_token};
use crate::support::{Reply, Server, TestDb, FAILOVER_CLUSTER, RESTORE_TARGET};

/// Sends `body` (or none) with `Opsdeck-Approval: approval` when given.
async fn with_approval(
    srv: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    approval: Option<&str>,
) -> Reply {
    let mut request = srv.client.request(method, srv.url(path)).bearer_auth(token);
    if let Some(approval) = approval {
        request = request.header("Opsdeck-Approval", approval);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    Reply::of(request.send().await).await
}

/// Asks for an approval as `token`; its id.
async fn ask(srv: &Server, token: &str, action: &str, target: &str, body: Value) -> String {
    let reply = as_token(
        srv,
        token,
        Method::POST,
        "/v1/approvals",
        Some(
            &json!({"action": action, "target": target, "body": body, "reason": "planned change"}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "pending", "{}", reply.text);
    reply.body["id"].as_str().expect("an id").to_string()
}

async fn decide(srv: &Server, token: &str, id: &str, verb: &str) -> Reply {
    as_token(
        srv,
        token,
        Method::POST,
        &format!("/v1/approvals/{id}/{verb}"),
        Some(&json!({"note": "looked at it"})),
    )
    .await
}

fn detail<'a>(reply: &'a Reply, field: &str) -> &'a str {
    reply.body["details"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["field"] == field))
        .and_then(|d| d["message"].as_str())
        .unwrap_or_else(|| panic!("no detail {field}: {}", reply.text))
}

fn audited(records: &[Value], action: &str, target: &str) -> bool {
    records
        .iter()
        .any(|r| r["action"] == action && r["target"] == target)
}

#[test]
fn the_two_person_routes_are_restore_switchover_failover_and_tenant_delete() {
    let document = platform_admin::openapi::document();
    let access = Access::from_document(&document);
    let mut declared: Vec<(String, String, ApprovalAction)> = access
        .two_person_routes()
        .map(|(route, method, action)| (method.to_string(), route.to_string(), action))
        .collect();
    declared.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        declared,
        vec![
            (
                "DELETE".into(),
                "/v1/tenants/{tenant}".into(),
                ApprovalAction::TenantDelete
            ),
            (
                "POST".into(),
                "/v1/backup-targets/{target}/restore".into(),
                ApprovalAction::BackupRestore
            ),
            (
                "POST".into(),
                "/v1/clusters/{cluster}/failover".into(),
                ApprovalAction::ClusterFailover
            ),
            (
                "POST".into(),
                "/v1/clusters/{cluster}/switchover".into(),
                ApprovalAction::ClusterSwitchover
            ),
        ]
    );
    let json = serde_json::to_value(&document).expect("document as JSON");
    let restore = &json["paths"]["/v1/backup-targets/{target}/restore"]["post"];
    assert_eq!(
        restore["x-permission"]["two_person"]["action"],
        "backup.restore"
    );
    assert!(restore["responses"]["428"].is_object(), "{restore:#}");
}

on_both_databases! {
    async fn a_destructive_route_without_an_approval_is_428_naming_action_target_and_role(srv) {
        srv.create("doomed", "Doomed").await;
        let (_, operator) = account(srv, "ops", BuiltinRole::Operator, None).await;
        let restore = with_approval(srv, &operator, Method::POST,
            &format!("/v1/backup-targets/{RESTORE_TARGET}/restore"),
            Some(&json!({"confirm": RESTORE_TARGET})), None).await;
        restore.expect_error(StatusCode::PRECONDITION_REQUIRED, "approval_required");
        assert_eq!(detail(&restore, "action"), "backup.restore");
        assert_eq!(detail(&restore, "target"), RESTORE_TARGET);
        assert_eq!(detail(&restore, "role"), "platform-admin");
        assert_eq!(detail(&restore, "expires_after_seconds"), "600");
        let message = restore.body["message"].as_str().unwrap_or_default();
        assert!(message.contains("platform-admin") && message.contains("10 minutes"), "{message}");

        let failover = with_approval(srv, &operator, Method::POST,
            &format!("/v1/clusters/{FAILOVER_CLUSTER}/failover"),
            Some(&json!({"force": true, "reason": "drill"})), None).await;
        failover.expect_error(StatusCode::PRECONDITION_REQUIRED, "approval_required");
        assert_eq!(detail(&failover, "action"), "cluster.failover");

        // Even the platform's admin needs a second person.
        let delete = with_approval(srv, &srv.admin, Method::DELETE, "/v1/tenants/doomed", None, None).await;
        delete.expect_error(StatusCode::PRECONDITION_REQUIRED, "approval_required");
        assert_eq!(detail(&delete, "target"), "doomed");
        assert_eq!(srv.get("/v1/tenants/doomed").await.status, StatusCode::OK);
        let jobs = srv.get("/v1/jobs").await.body;
        assert_eq!(jobs["items"], json!([]), "a refused request queued a job: {jobs:#}");
    }

    async fn only_someone_else_holding_the_role_may_grant_or_deny(srv) {
        let (_, requester) = account(srv, "requester", BuiltinRole::Operator, None).await;
        let (_, other_operator) = account(srv, "other-operator", BuiltinRole::Operator, None).await;
        let (_, approver) = account(srv, "approver", BuiltinRole::PlatformAdmin, None).await;
        let (_, viewer) = account(srv, "looker", BuiltinRole::Viewer, None).await;

        // Asking needs the action's own permission: a viewer may not.
        let refused = as_token(srv, &viewer, Method::POST, "/v1/approvals",
            Some(&json!({"action": "backup.restore", "target": RESTORE_TARGET,
                         "body": {"confirm": RESTORE_TARGET}, "reason": "why not"}))).await;
        refused.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(refused.text.contains("backups.restore"), "{}", refused.text);
        let bad_body = as_token(srv, &requester, Method::POST, "/v1/approvals",
            Some(&json!({"action": "backup.restore", "target": RESTORE_TARGET,
                         "body": {"confirm": RESTORE_TARGET, "wipe": true}, "reason": "x"}))).await;
        bad_body.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(bad_body.fields(), ["body"]);

        let id = ask(srv, &requester, "backup.restore", RESTORE_TARGET, json!({"confirm": RESTORE_TARGET})).await;
        // Approvers see what they are asked.
        let pending = as_token(srv, &viewer, Method::GET, "/v1/approvals?state=pending", None).await;
        assert_eq!(pending.status, StatusCode::OK, "{}", pending.text);
        assert_eq!(pending.body["items"][0]["id"], json!(id));
        assert_eq!(pending.body["items"][0]["requested_by"], "requester");

        let own = decide(srv, &requester, &id, "grant").await;
        own.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(own.text.contains("second person"), "{}", own.text);
        let without_role = decide(srv, &other_operator, &id, "grant").await;
        without_role.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(without_role.text.contains("needs the role platform-admin"), "{}", without_role.text);
        let no_deny = decide(srv, &other_operator, &id, "deny").await;
        no_deny.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(srv.get(&format!("/v1/approvals/{id}")).await.body["state"], "pending");

        let granted = decide(srv, &approver, &id, "grant").await;
        assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
        assert_eq!(granted.body["state"], "granted");
        assert_eq!(granted.body["decided_by"], "approver");
        assert_eq!(granted.body["note"], "looked at it");
        let again = decide(srv, &approver, &id, "deny").await;
        again.expect_error(StatusCode::CONFLICT, "invalid_state");

        let body = json!({"confirm": RESTORE_TARGET});
        let denied_id = ask(srv, &requester, "backup.restore", RESTORE_TARGET, body.clone()).await;
        let denied = decide(srv, &approver, &denied_id, "deny").await;
        assert_eq!(denied.status, StatusCode::OK, "{}", denied.text);
        assert_eq!(denied.body["state"], "denied");
        let used_denied = with_approval(srv, &requester, Method::POST,
            &format!("/v1/backup-targets/{RESTORE_TARGET}/restore"), Some(&body), Some(&denied_id)).await;
        used_denied.expect_error(StatusCode::PRECONDITION_REQUIRED, "approval_required");
        assert!(used_denied.text.contains("denied"), "{}", used_denied.text);

        let records = srv.all_audit().await;
        for (action, target) in [("approval.request", &id), ("approval.grant", &id), ("approval.deny", &denied_id)] {
            assert!(audited(&records, action, &format!("approval:{target}")), "no {action} of {target}");
        }
    }

    async fn a_granted_approval_is_used_once_by_its_requester_for_its_own_request(srv) {
        srv.create("doomed", "Doomed").await;
        let (_, requester) = account(srv, "requester", BuiltinRole::PlatformAdmin, None).await;
        let (_, approver) = account(srv, "approver", BuiltinRole::PlatformAdmin, None).await;

        // A tenant deletion: granted, used by someone else (refused), then by
        // its requester, then again (refused).
        let id = ask(srv, &requester, "tenant.delete", "doomed", Value::Null).await;
        assert_eq!(decide(srv, &approver, &id, "grant").await.status, StatusCode::OK);
        let not_theirs = with_approval(srv, &approver, Method::DELETE, "/v1/tenants/doomed", None, Some(&id)).await;
        not_theirs.expect_error(StatusCode::PRECONDITION_REQUIRED, "approval_required");
        assert!(not_theirs.text.contains("only they may use it"), "{}", not_theirs.text);
        let deleted = with_approval(srv, &requester, Method::DELETE, "/v1/tenants/doomed", None, Some(&id)).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
        assert_eq!(srv.get("/v1/tenants/doomed").await.status, StatusCode::NOT_FOUND);
        let shown = srv.get(&format!("/v1/approvals/{id}")).await.body;
        assert_eq!(shown["state"], "used", "{shown:#}");
        assert!(shown["used_at"].is_string(), "{shown:#}");

        srv.create("doomed", "Doomed again").await;
        let reused = with_approval(srv, &requester, Method::DELETE, "/v1/tenants/doomed", None, Some(&id)).await;
        reused.expect_error(StatusCode::PRECONDITION_REQUIRED, "approval_required");
        assert!(reused.text.contains("used already"), "{}", reused.text);
        assert_eq!(srv.get("/v1/tenants/doomed").await.status, StatusCode::OK);

        // A restore: queued with its approval, once.
        let restore = format!("/v1/backup-targets/{RESTORE_TARGET}/restore");
        let body = json!({"confirm": RESTORE_TARGET});
        let restore_id = ask(srv, &requester, "backup.restore", RESTORE_TARGET, body.clone()).await;
        assert_eq!(decide(srv, &approver, &restore_id, "grant").await.status, StatusCode::OK);
        let queued = with_approval(srv, &requester, Method::POST, &restore, Some(&body), Some(&restore_id)).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
        assert_eq!(queued.body["kind"], "restore");

        // A failover whose body is not the one approved.
        let failover = format!("/v1/clusters/{FAILOVER_CLUSTER}/failover");
        let approved = json!({"force": true, "reason": "drill one"});
        let other_id = ask(srv, &requester, "cluster.failover", FAILOVER_CLUSTER, approved.clone()).await;
        assert_eq!(decide(srv, &approver, &other_id, "grant").await.status, StatusCode::OK);
        let changed = with_approval(srv, &requester, Method::POST, &failover,
            Some(&json!({"force": true, "reason": "drill two"})), Some(&other_id)).await;
        changed.expect_error(StatusCode::PRECONDITION_REQUIRED, "approval_required");
        assert!(changed.text.contains("another request body"), "{}", changed.text);
        // Nor for another action on the same target.
        let switchover = with_approval(srv, &requester, Method::POST,
            &format!("/v1/clusters/{FAILOVER_CLUSTER}/switchover"), Some(&approved), Some(&other_id)).await;
        switchover.expect_error(StatusCode::PRECONDITION_REQUIRED, "approval_required");
        assert!(switchover.text.contains("not this one"), "{}", switchover.text);
        // The body approved, with its keys in another order, is the same body.
        let reordered = with_approval(srv, &requester, Method::POST, &failover,
            Some(&json!({"reason": "drill one", "force": true})), Some(&other_id)).await;
        assert_eq!(reordered.status, StatusCode::ACCEPTED, "{}", reordered.text);

        let records = srv.all_audit().await;
        for approval in [&id, &restore_id, &other_id] {
            let target = format!("approval:{approval}");
            let uses = records.iter().filter(|r| r["action"] == "approval.use" && r["target"] == json!(target)).count();
            assert_eq!(uses, 1, "{approval} was used {uses} times by the audit log");
        }
        assert!(audited(&records, "tenant.delete", "tenant:doomed"), "the deletion is audited");
    }

    async fn an_expired_approval_can_be_neither_granted_nor_used(srv) {
        srv.create("doomed", "Doomed").await;
        let (_, requester) = account(srv, "requester", BuiltinRole::PlatformAdmin, None).await;
        let (_, approver) = account(srv, "approver", BuiltinRole::PlatformAdmin, None).await;
        let pending = ask(srv, &requester, "tenant.delete", "doomed", Value::Null).await;
        let granted = ask(srv, &requester, "tenant.delete", "doomed", Value::Null).await;
        assert_eq!(decide(srv, &approver, &granted, "grant").await.status, StatusCode::OK);
        let past = platform_admin::db::timestamp(platform_admin::db::now() - chrono::Duration::seconds(1));
        sqlx::query("UPDATE approval_requests SET expires_at = $1")
            .bind(&past)
            .execute(srv.db.pool())
            .await
            .expect("expire them");

        let late = decide(srv, &approver, &pending, "grant").await;
        late.expect_error(StatusCode::CONFLICT, "invalid_state");
        assert!(late.text.contains("expired"), "{}", late.text);
        let used = with_approval(srv, &requester, Method::DELETE, "/v1/tenants/doomed", None, Some(&granted)).await;
        used.expect_error(StatusCode::PRECONDITION_REQUIRED, "approval_required");
        assert!(used.text.contains("expired"), "{}", used.text);
        assert_eq!(srv.get("/v1/tenants/doomed").await.status, StatusCode::OK);

        let expired = srv.get("/v1/approvals?state=expired").await;
        assert_eq!(expired.status, StatusCode::OK, "{}", expired.text);
        assert_eq!(expired.body["items"].as_array().map(Vec::len), Some(2), "{}", expired.text);
        let still_pending = srv.get("/v1/approvals?state=pending").await;
        assert_eq!(still_pending.body["items"], json!([]));
    }

    async fn inside_an_active_maintenance_window_no_approval_is_needed(srv) {
        srv.create("doomed", "Doomed").await;
        let now = platform_admin::db::now();
        let mut conn = srv.db.pool().acquire().await.expect("a connection");
        platform_admin::maintenance::store::insert(
            &mut conn,
            &opsdeck_api::maintenance::MaintenanceWindow {
                id: uuid::Uuid::now_v7().to_string(),
                starts_at: now - chrono::Duration::minutes(1),
                ends_at: now + chrono::Duration::hours(1),
                matchers: vec![opsdeck_api::maintenance::AlertMatcher {
                    name: "alertname".into(),
                    value: "Planned".into(),
                    is_regex: false,
                    is_equal: true,
                }],
                owner: "admin".into(),
                reason: "planned".into(),
                status: opsdeck_api::maintenance::MaintenanceStatus::Active,
                silence_id: None,
                created_by: "admin".into(),
                created_at: now,
                ended_by: None,
            },
        )
        .await
        .expect("a window");
        drop(conn);
        let deleted = with_approval(srv, &srv.admin, Method::DELETE, "/v1/tenants/doomed", None, None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    }
}

async fn a_playbook_restore_runs_only_after_an_approval_step_by_someone_else(
    backend: opsdeck_tests::Backend,
) {
    let config = Config::parse(&format!(
        "[two_person_rule]\nenabled = true\n\
         [[backup_targets]]\nid = \"{RESTORE_TARGET}\"\nkind = \"postgresql\"\n\
         stanza = \"main\"\npgbackrest_config = \"/nonexistent/pgbackrest.conf\"\n\
         database = \"postgres://nobody@127.0.0.1:1/none\"\npg_data = \"/nonexistent/data\"\n"
    ))
    .expect("configuration");
    let srv = &Server::configured(
        TestDb::new(
            backend,
            "a_playbook_restore_runs_only_after_an_approval_step_by_someone_else",
        )
        .await,
        config,
        Some(chrono::Duration::seconds(3)),
    )
    .await;
    let (_, operator) = account(srv, "operator", BuiltinRole::Operator, None).await;
    let restore = format!(
        "  - id: restore\n    action:\n      name: backup.restore\n      args: {{ target: {RESTORE_TARGET} }}\n"
    );
    let unapproved = format!("version: 1\nid: bare\ntitle: Bare\nseverity: P2\nsteps:\n{restore}");
    let approved = format!(
        "version: 1\nid: careful\ntitle: Careful\nseverity: P2\nsteps:\n  - id: ok\n    approval: {{ role: platform-admin, reason: Restore }}\n{restore}"
    );
    let start = |source: String| {
        let operator = operator.clone();
        async move {
            let reply = as_token(
                srv,
                &operator,
                Method::POST,
                "/v1/playbook-runs",
                Some(&json!({ "source": source })),
            )
            .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
            reply.body["id"].as_str().expect("an id").to_string()
        }
    };
    let until = |id: String, want: &'static [&'static str]| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let run = srv.get(&format!("/v1/playbook-runs/{id}")).await.body;
            if want.iter().any(|w| run["state"] == *w) {
                return run;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {id} did not become {want:?}: {run:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    let bare = start(unapproved).await;
    let run = until(bare, &["failed"]).await;
    let text = run.to_string();
    assert!(
        text.contains("two-person rule") && text.contains("role platform-admin"),
        "{run:#}"
    );
    let jobs = srv.get("/v1/jobs").await.body;
    assert!(
        !jobs["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|j| j["kind"] == "restore"),
        "{jobs:#}"
    );

    let careful = start(approved).await;
    until(careful.clone(), &["waiting"]).await;
    let approve = as_token(
        srv,
        &srv.admin,
        Method::POST,
        &format!("/v1/playbook-runs/{careful}/approve"),
        None,
    )
    .await;
    assert_eq!(approve.status, StatusCode::OK, "{}", approve.text);
    // The restore is sent (its job fails on this server: no pgBackRest).
    let run = until(careful, &["failed", "succeeded"]).await;
    assert!(!run.to_string().contains("two-person rule"), "{run:#}");
    let jobs = srv.get("/v1/jobs").await.body;
    let restores = jobs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|j| j["kind"] == "restore")
        .count();
    assert_eq!(restores, 1, "{jobs:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playbook_restore_runs_only_after_an_approval_step_by_someone_else_on_sqlite() {
    a_playbook_restore_runs_only_after_an_approval_step_by_someone_else(
        opsdeck_tests::Backend::Sqlite,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playbook_restore_runs_only_after_an_approval_step_by_someone_else_on_postgres() {
    a_playbook_restore_runs_only_after_an_approval_step_by_someone_else(
        opsdeck_tests::Backend::Postgres,
    )
    .await;
}
