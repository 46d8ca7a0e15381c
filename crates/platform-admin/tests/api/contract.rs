//! The contract: every operation of the OpenAPI document, driven with the
//! bad inputs the server knows how to refuse, answers only statuses the
//! operation lists, and the refusals it must give. Operations are read from
//! the document, so a new route is driven without being named here; one
//! this file cannot drive (a path parameter or body it cannot fill) fails.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use platform_admin::access::{self, Rule};
use platform_admin::roles::{Permission, Role, Scope};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Backend, Reply, Server, TestDb};

/// The routes served without a token. Adding one is a decision, made here.
const PUBLIC: [(&str, &str); 2] = [("GET", "/v1/health"), ("GET", "/metrics")];

/// The routes any valid token may call, whatever it holds. Adding one is a
/// decision too, made here.
const AUTHENTICATED: [(&str, &str); 1] = [("GET", "/v1/rbac/me")];

#[test]
fn every_operation_declares_a_permission_or_that_it_is_public() {
    let document = platform_admin::openapi::document();
    let mut public = Vec::new();
    let mut authenticated = Vec::new();
    let mut undeclared = Vec::new();
    let mut count = 0;
    for (path, item) in &document.paths.paths {
        for (method, operation) in operations_of(item) {
            count += 1;
            match access::rule_of(operation) {
                Some(Rule::Public) => public.push((method, path.as_str())),
                Some(Rule::Authenticated) => authenticated.push((method, path.as_str())),
                Some(Rule::Require(_)) => {}
                None => undeclared.push(format!("{method} {path}")),
            }
        }
    }
    assert!(count >= 9, "the document has only {count} operations");
    assert!(
        undeclared.is_empty(),
        "routes without a declared permission (add `.require(…)`, `.authenticated()` or \
         `.public()` to their `routes!`): {undeclared:?}"
    );
    public.sort();
    let mut expected = PUBLIC.to_vec();
    expected.sort();
    assert_eq!(public, expected, "the public routes changed");
    authenticated.sort();
    let mut expected = AUTHENTICATED.to_vec();
    expected.sort();
    assert_eq!(
        authenticated, expected,
        "the routes that need only a token changed"
    );
}

fn operations_of(
    item: &utoipa::openapi::path::PathItem,
) -> Vec<(&'static str, &utoipa::openapi::path::Operation)> {
    [
        ("GET", &item.get),
        ("PUT", &item.put),
        ("POST", &item.post),
        ("DELETE", &item.delete),
        ("OPTIONS", &item.options),
        ("HEAD", &item.head),
        ("PATCH", &item.patch),
        ("TRACE", &item.trace),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_ref().map(|op| (method, op)))
    .collect()
}

/// A route added without a declaration, documented or not, is refused
/// before its handler runs, even with an admin token.
#[tokio::test]
async fn a_route_that_declares_no_permission_is_never_served() {
    use utoipa_axum::routes;

    let test_db = TestDb::new(Backend::Sqlite, "undeclared").await;
    let db = platform_admin::Db::connect(&test_db.url)
        .await
        .expect("open database");
    let admin = platform_admin::auth::create_token(&db, "admin", Role::Admin)
        .await
        .expect("admin token");
    let state = platform_admin::AppState::new(db.clone());
    let routes = platform_admin::routes()
        .routes(routes!(undeclared_documented))
        .route(
            "/v1/undocumented",
            axum::routing::get(|| async { "served" }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server =
        tokio::spawn(
            async move { axum::serve(listener, platform_admin::layered(routes, state)).await },
        );
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client");
    for path in ["/v1/undeclared", "/v1/undocumented"] {
        let reply = Reply::of(
            client
                .get(format!("{base}{path}"))
                .bearer_auth(&admin)
                .send()
                .await,
        )
        .await;
        reply.expect_error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
        assert!(!reply.text.contains("served"), "{path}: {}", reply.text);
    }
    // The declared routes still work beside them.
    let tenants = Reply::of(
        client
            .get(format!("{base}/v1/tenants"))
            .bearer_auth(&admin)
            .send()
            .await,
    )
    .await;
    assert_eq!(tenants.status, StatusCode::OK, "{}", tenants.text);
    server.abort();
    db.close().await;
}

#[utoipa::path(get, path = "/v1/undeclared", responses((status = 200, body = String)))]
async fn undeclared_documented() -> &'static str {
    "served"
}

/// One operation of the document, as JSON.
struct Operation {
    method: Method,
    path: String,
    listed: BTreeSet<u16>,
    rule: Option<Rule>,
    body_schema: Option<String>,
    query: Vec<(String, Value)>,
}

impl Operation {
    fn all(document: &Value) -> Vec<Operation> {
        let mut all = Vec::new();
        let paths = document["paths"].as_object().expect("paths");
        for (path, item) in paths {
            let item = item.as_object().expect("path item");
            for (method, op) in item {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                let listed = op["responses"]
                    .as_object()
                    .map(|r| r.keys().filter_map(|s| s.parse().ok()).collect())
                    .unwrap_or_default();
                let typed: utoipa::openapi::path::Operation =
                    serde_json::from_value(op.clone()).expect("operation");
                let body_schema = op["requestBody"]["content"]["application/json"]["schema"]
                    ["$ref"]
                    .as_str()
                    .map(|r| r.rsplit('/').next().unwrap_or(r).to_string());
                let query = op["parameters"]
                    .as_array()
                    .map(|params| {
                        params
                            .iter()
                            .filter(|p| p["in"] == "query")
                            .map(|p| {
                                (
                                    p["name"].as_str().unwrap_or("").to_string(),
                                    p["schema"].clone(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                all.push(Operation {
                    method,
                    path: path.clone(),
                    listed,
                    rule: access::rule_of(&typed),
                    body_schema,
                    query,
                });
            }
        }
        all
    }

    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn takes_tenant(&self) -> bool {
        self.path.contains("{tenant}")
    }

    fn carries_body(&self) -> bool {
        access::carries_body(&self.method)
    }

    fn permission(&self) -> Option<Permission> {
        match self.rule {
            Some(Rule::Require(requirement)) => Some(requirement.permission),
            _ => None,
        }
    }

    /// The path with `tenant` in place of `{tenant}`, and the fixture's
    /// objects in place of the other parameters.
    fn url_path(&self, tenant: &str, fixture: &Fixture) -> String {
        let path = fixture.fill(&self.path, tenant);
        assert!(
            !path.contains('{'),
            "{}: the contract test cannot fill this path's parameters; teach it how",
            self.name()
        );
        path
    }
}

/// Objects the rbac routes' paths and bodies name, made through the API.
pub struct Fixture {
    pub user_id: String,
    pub user_email: String,
    pub group: String,
    pub role: String,
    pub binding: String,
    pub token: String,
    /// A queued job no worker takes (the test servers run none).
    pub job: String,
    /// A job that ended: its event stream closes at once.
    pub ended_job: String,
    /// An open incident.
    pub incident: String,
    /// A maintenance window that has not ended, with no silence to expire.
    pub window: String,
    /// A playbook run waiting at its manual step `by-hand`.
    pub run: String,
    /// A run that failed at its note.
    pub failed_run: String,
    /// A run started by someone else, waiting for an approval of the role
    /// `platform-admin`.
    pub approval_run: String,
    /// Pending approvals asked for by someone else: one to grant, one to deny.
    pub approval: String,
    pub approval_to_deny: String,
}

/// A pending approval of a restore of the restore target, asked for by a
/// service account other than the test's callers.
async fn someone_elses_approval(srv: &Server) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let now = platform_admin::db::now();
    let body = json!({ "confirm": crate::support::RESTORE_TARGET }).to_string();
    let mut conn = srv.db.pool().acquire().await.expect("a connection");
    platform_admin::approvals::store::insert(
        &mut conn,
        &platform_admin::approvals::store::New {
            id: &id,
            action: opsdeck_api::approvals::ApprovalAction::BackupRestore,
            target: crate::support::RESTORE_TARGET,
            body: &body,
            reason: "fixture",
            role: "platform-admin",
            requested_by: "someone-else",
            requester: &opsdeck_api::rbac::Subject {
                kind: opsdeck_api::rbac::SubjectKind::ServiceAccount,
                id: "someone-else".into(),
            },
            requested_at: now,
            expires_at: now + chrono::Duration::hours(1),
        },
    )
    .await
    .expect("an approval");
    id
}

/// A playbook whose approval the admin token's account may give.
const APPROVAL_PLAYBOOK: &str =
    "version: 1\nid: contract-approval\ntitle: Contract\nseverity: P4\n\
steps:\n  - id: ok\n    approval: { role: platform-admin, reason: Contract }\n";

/// Puts a run where a route can act on it (the test servers run no
/// worker, so runs stay where they are put).
async fn place(
    srv: &Server,
    run: &str,
    state: &str,
    cursor: i64,
    step_state: &str,
    starter: Option<&str>,
) {
    let db = &srv.db;
    sqlx::query("UPDATE playbook_runs SET state = $2, cursor = $3 WHERE id = $1")
        .bind(run)
        .bind(state)
        .bind(cursor)
        .execute(db.pool())
        .await
        .expect("place the run");
    sqlx::query("UPDATE playbook_run_steps SET state = $3 WHERE run_id = $1 AND idx = $2")
        .bind(run)
        .bind(cursor)
        .bind(step_state)
        .execute(db.pool())
        .await
        .expect("place its step");
    if let Some(starter) = starter {
        sqlx::query("UPDATE playbook_runs SET starter = $2, starter_kind = 'service_account', starter_id = $2 WHERE id = $1")
            .bind(run)
            .bind(starter)
            .execute(db.pool())
            .await
            .expect("another starter");
    }
}

/// A playbook with a note and a manual step, which anyone allowed to run
/// playbooks may start.
pub const SAMPLE_PLAYBOOK: &str = "version: 1\nid: contract\ntitle: Contract\nseverity: P4\n\
steps:\n  - id: hello\n    note: hello\n  - id: by-hand\n    manual:\n      instructions: Look\n      checklist: [Looked]\n";

impl Fixture {
    /// Makes them as the admin; `tag` keeps the names of several fixtures
    /// on one server apart.
    pub async fn make(srv: &Server, tag: &str) -> Fixture {
        Fixture::make_bound(srv, tag, "viewer", None).await
    }

    /// The same, the user's binding being `role` on `tenant` (or the platform).
    pub async fn make_bound(
        srv: &Server,
        tag: &str,
        bound_to: &str,
        tenant: Option<&str>,
    ) -> Fixture {
        let ok = |reply: &Reply, what: &str| {
            assert_eq!(reply.status, StatusCode::CREATED, "{what}: {}", reply.text);
        };
        let email = format!("{tag}-user@example.test");
        let user = srv
            .send(
                Method::POST,
                "/v1/rbac/users",
                &json!({"email": email, "display_name": "Fixture"}),
            )
            .await;
        ok(&user, "user");
        let user_id = user.body["id"].as_str().expect("id").to_string();
        let group = format!("{tag}-group");
        ok(
            &srv.send(Method::POST, "/v1/rbac/groups", &json!({"name": group}))
                .await,
            "group",
        );
        let role = format!("{tag}-role");
        ok(
            &srv.send(
                Method::POST,
                "/v1/rbac/roles",
                &json!({"name": role, "permissions": ["tenants.read"]}),
            )
            .await,
            "role",
        );
        let binding = srv
            .send(
                Method::POST,
                "/v1/rbac/bindings",
                &json!({"subject": {"kind": "user", "id": user_id}, "role": bound_to, "tenant": tenant}),
            )
            .await;
        ok(&binding, "binding");
        let token = format!("{tag}-token");
        ok(
            &srv.send(
                Method::POST,
                "/v1/rbac/tokens",
                &json!({"name": token, "owner": {"kind": "user", "id": user_id}}),
            )
            .await,
            "token",
        );
        let job = platform_admin::jobs::enqueue(
            &srv.db,
            platform_admin::jobs::NewJob {
                kind: "backup".to_string(),
                tenant: None,
                payload: json!({ "target": "main-db", "type": "full" }),
                target: None,
                actor: Some("admin".to_string()),
            },
            platform_admin::db::now(),
        )
        .await
        .expect("a job");
        let ended = platform_admin::jobs::enqueue(
            &srv.db,
            platform_admin::jobs::NewJob {
                kind: "backup".to_string(),
                tenant: None,
                payload: json!({ "target": "main-db", "type": "full" }),
                target: None,
                actor: Some("admin".to_string()),
            },
            platform_admin::db::now(),
        )
        .await
        .expect("a job");
        platform_admin::jobs::cancel(&srv.db, &ended.id, platform_admin::db::now())
            .await
            .expect("cancelled");
        let incident = srv
            .send(
                Method::POST,
                "/v1/incidents",
                &json!({"title": format!("{tag} incident"), "severity": "P3"}),
            )
            .await;
        ok(&incident, "incident");
        let window = uuid::Uuid::now_v7().to_string();
        let now = platform_admin::db::now();
        let mut conn = srv.db.pool().acquire().await.expect("a connection");
        platform_admin::maintenance::store::insert(
            &mut conn,
            &opsdeck_api::maintenance::MaintenanceWindow {
                id: window.clone(),
                starts_at: now,
                ends_at: now + chrono::Duration::hours(1),
                matchers: vec![opsdeck_api::maintenance::AlertMatcher {
                    name: "alertname".into(),
                    value: "Fixture".into(),
                    is_regex: false,
                    is_equal: true,
                }],
                owner: "admin".into(),
                reason: "fixture".into(),
                status: opsdeck_api::maintenance::MaintenanceStatus::Active,
                silence_id: None,
                created_by: "admin".into(),
                created_at: now,
                ended_by: None,
            },
        )
        .await
        .expect("a window");
        let run = srv
            .send(
                Method::POST,
                "/v1/playbook-runs",
                &json!({"source": SAMPLE_PLAYBOOK}),
            )
            .await;
        ok(&run, "playbook run");
        let run = run.body["id"].as_str().expect("id").to_string();
        place(srv, &run, "waiting", 1, "waiting", None).await;
        let failed = srv
            .send(
                Method::POST,
                "/v1/playbook-runs",
                &json!({"source": SAMPLE_PLAYBOOK}),
            )
            .await;
        ok(&failed, "playbook run");
        let failed_run = failed.body["id"].as_str().expect("id").to_string();
        place(srv, &failed_run, "failed", 0, "failed", None).await;
        let approval = srv
            .send(
                Method::POST,
                "/v1/playbook-runs",
                &json!({"source": APPROVAL_PLAYBOOK}),
            )
            .await;
        ok(&approval, "playbook run");
        let approval_run = approval.body["id"].as_str().expect("id").to_string();
        place(
            srv,
            &approval_run,
            "waiting",
            0,
            "waiting",
            Some("someone-else"),
        )
        .await;
        let approval = someone_elses_approval(srv).await;
        let approval_to_deny = someone_elses_approval(srv).await;
        Fixture {
            approval,
            approval_to_deny,
            incident: incident.body["incident"]["id"]
                .as_str()
                .expect("id")
                .to_string(),
            window,
            run,
            failed_run,
            approval_run,
            job: job.id,
            ended_job: ended.id,
            user_id,
            user_email: email,
            group,
            role,
            binding: binding.body["id"].as_str().expect("id").to_string(),
            token,
        }
    }

    /// `route` with its parameters filled: `{tenant}` with `tenant`, the
    /// others with this fixture's objects.
    pub fn fill(&self, route: &str, tenant: &str) -> String {
        let route = if route == "/v1/rbac/who-can" {
            format!("{route}?permission=tenants.read&tenant={tenant}")
        } else if route == "/v1/jobs/{job}/events" {
            // The stream of a queued job stays open; one that ended closes.
            route.replace("{job}", &self.ended_job)
        } else if route == "/v1/playbook-runs/{run}/retry" {
            route.replace("{run}", &self.failed_run)
        } else if route == "/v1/playbook-runs/{run}/approve" {
            route.replace("{run}", &self.approval_run)
        } else if route == "/v1/approvals/{approval}/deny" {
            route.replace("{approval}", &self.approval_to_deny)
        } else if route.ends_with("/verify") {
            route.replace("{target}", crate::support::VERIFY_TARGET)
        } else if route.ends_with("/restore") {
            route.replace("{target}", crate::support::RESTORE_TARGET)
        } else {
            route.to_string()
        };
        route
            .replace("{tenant}", tenant)
            .replace("{user}", &self.user_email)
            .replace("{subject}", &self.user_email)
            .replace("{group}", &self.group)
            .replace("{role}", &self.role)
            .replace("{binding}", &self.binding)
            .replace("{token}", &self.token)
            // The test servers declare `main-db` and run no worker.
            .replace("{target}", crate::support::BACKUP_TARGET)
            .replace("{job}", &self.job)
            .replace("{incident}", &self.incident)
            .replace("{window}", &self.window)
            .replace("{approval}", &self.approval)
            .replace("{run}", &self.run)
            .replace("{step}", "by-hand")
            .replace(
                "{cluster}",
                if route.ends_with("/failover") {
                    crate::support::FAILOVER_CLUSTER
                } else {
                    crate::support::CLUSTER
                },
            )
    }
}

/// Numbers the tenants and slugs the cases make, unique across operations.
static NEXT: AtomicUsize = AtomicUsize::new(0);

fn unique_slug() -> String {
    format!("ct-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `path_and_query` with `param` (`name=value`) in place of any parameter
/// of that name the valid request has.
fn with_param(path_and_query: &str, param: &str) -> String {
    let name = param.split('=').next().unwrap_or_default();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some(name))
        .collect();
    pairs.push(param);
    format!("{path}?{}", pairs.join("&"))
}

/// A valid body and one with a field the validation refuses, for each
/// request body schema in the document.
pub fn sample_bodies(schema: &str, unique: &str, fixture: &Fixture) -> (Value, Value) {
    let user = json!({"kind": "user", "id": fixture.user_id});
    match schema {
        "CreateUser" => (
            json!({"email": format!("{unique}@example.test"), "display_name": "Contract"}),
            json!({"email": "not-an-email", "display_name": "Contract"}),
        ),
        "UpdateUser" => (
            json!({"display_name": "Contract renamed"}),
            json!({"display_name": ""}),
        ),
        "CreateGroup" => (json!({"name": unique}), json!({"name": " "})),
        "CreateServiceAccount" => (json!({"name": unique}), json!({"name": ""})),
        "CreateRole" => (
            json!({"name": unique, "permissions": ["tenants.read"]}),
            json!({"name": unique, "permissions": ["tenants.destroy"]}),
        ),
        "UpdateRole" => (
            json!({"permissions": ["tenants.read", "audit.read"]}),
            json!({"permissions": []}),
        ),
        "CreateBinding" => (
            json!({"subject": user, "role": "viewer"}),
            json!({"subject": user, "role": ""}),
        ),
        "CreateToken" => (
            json!({"name": unique, "owner": user}),
            json!({"name": unique, "owner": {"kind": "group", "id": "x"}}),
        ),
        "CreateTenant" => (
            json!({"slug": unique, "name": "Contract"}),
            json!({"slug": unique, "name": "Contract", "quotas": {"max_users": 0}}),
        ),
        "UpdateTenant" => (
            json!({"name": "Contract renamed"}),
            json!({"quotas": {"max_users": 0}}),
        ),
        "CreateBackup" => (json!({"type": "full"}), json!({"type": "weekly"})),
        // The test servers' cluster never answers: only a forced start is queued.
        "FailoverRequest" => (
            json!({"force": true, "reason": "contract test"}),
            json!({"force": true}),
        ),
        "VerifyBackup" => (json!({}), json!({"set": "../etc"})),
        // The test servers' target names no pg_data: a valid body is
        // refused after its checks, never restores.
        "RestoreBackup" => (
            json!({"confirm": crate::support::RESTORE_TARGET}),
            json!({"confirm": 5}),
        ),
        "CreateIncident" => (
            json!({"title": format!("Contract {unique}"), "severity": "P2"}),
            json!({"title": " ", "severity": "P2"}),
        ),
        "AddNote" => (json!({"text": "contract note"}), json!({"text": ""})),
        "LinkAlert" => (
            json!({"fingerprint": format!("{:016x}", NEXT.fetch_add(1, Ordering::Relaxed)),
                   "alertname": "Contract", "labels": {"severity": "page"},
                   "starts_at": "2026-01-01T00:00:00Z"}),
            json!({"fingerprint": "zz", "alertname": "Contract", "starts_at": "2026-01-01T00:00:00Z"}),
        ),
        "CreateMaintenance" => (
            json!({"starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-02T00:00:00Z", "matchers": [{"name": "alertname", "value": "Contract"}],
                   "reason": "contract"}),
            json!({"starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-02T00:00:00Z", "matchers": [], "reason": "contract"}),
        ),
        "StartRun" => (json!({"source": SAMPLE_PLAYBOOK}), json!({"source": ""})),
        "RequestApproval" => (
            json!({"action": "backup.restore", "target": crate::support::RESTORE_TARGET,
                   "body": {"confirm": crate::support::RESTORE_TARGET}, "reason": "contract"}),
            json!({"action": "backup.restore", "target": crate::support::RESTORE_TARGET,
                   "body": {"confirm": crate::support::RESTORE_TARGET}, "reason": " "}),
        ),
        "DecideApproval" => (json!({"note": "contract"}), json!({"note": "bell \u{7}"})),
        "TickStep" => (json!({"items": [0]}), json!({"items": []})),
        "ResumeRun" => (json!({"from": "by-hand"}), json!({"from": " "})),
        other => {
            panic!("the contract test has no sample body for `{other}`: add one to `sample_bodies`")
        }
    }
}

/// A request as the test sends it.
#[derive(Clone)]
struct Request {
    path_and_query: String,
    token: Option<String>,
    content_type: Option<&'static str>,
    body: Option<String>,
    key: Option<String>,
}

/// What one operation answered, and what went wrong with it.
struct Drive<'a> {
    srv: &'a Server,
    fixture: &'a Fixture,
    op: &'a Operation,
    failures: Vec<String>,
    succeeded: bool,
}

impl<'a> Drive<'a> {
    async fn send(&mut self, case: &str, request: &Request) -> Reply {
        let mut builder = self.srv.client.request(
            self.op.method.clone(),
            self.srv.url(&request.path_and_query),
        );
        if let Some(token) = &request.token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(content_type) = request.content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        if let Some(key) = &request.key {
            builder = builder.header("idempotency-key", key.as_str());
        }
        let reply = Reply::of(builder.send().await).await;
        let status = reply.status.as_u16();
        if !self.op.listed.contains(&status) {
            self.failures.push(format!(
                "{} ({case}): answered {status}, which its operation does not list {:?}: {}",
                self.op.name(),
                self.op.listed,
                reply.text
            ));
        }
        if reply.status.is_success() {
            self.succeeded = true;
        }
        reply
    }

    /// Sends and checks the status and error code the case must get.
    async fn expect(
        &mut self,
        case: &str,
        request: &Request,
        status: StatusCode,
        code: &str,
    ) -> Reply {
        let reply = self.send(case, request).await;
        if reply.status != status || reply.body["code"] != code {
            self.failures.push(format!(
                "{} ({case}): expected {status} {code}, got {}: {}",
                self.op.name(),
                reply.status,
                reply.text
            ));
        }
        reply
    }

    /// A new active tenant for a case to act on.
    async fn tenant(&mut self) -> String {
        let slug = unique_slug();
        self.srv.create(&slug, "Contract").await;
        slug
    }

    /// A valid request of the operation, by `token`, on `tenant`; a body
    /// that creates something names a new slug.
    fn valid(&self, tenant: &str, token: Option<&str>) -> Request {
        let body = self.op.body_schema.as_deref().map(|schema| {
            sample_bodies(schema, &unique_slug(), self.fixture)
                .0
                .to_string()
        });
        Request {
            path_and_query: self.op.url_path(tenant, self.fixture),
            token: token.map(str::to_string),
            content_type: body.as_ref().map(|_| "application/json"),
            body,
            key: None,
        }
    }
}

async fn token_id(srv: &Server, token: &str) -> String {
    let mut headers = axum::http::HeaderMap::new();
    let value = format!("Bearer {token}").parse().expect("header value");
    headers.insert(axum::http::header::AUTHORIZATION, value);
    platform_admin::auth::authenticate(&srv.db, &headers)
        .await
        .expect("known token")
        .token_id
}

async fn drive(srv: &Server, op: &Operation, fixture: &Fixture) -> Vec<String> {
    let mut d = Drive {
        srv,
        op,
        fixture,
        failures: Vec::new(),
        succeeded: false,
    };
    let admin = srv.admin.clone();

    let Some(rule) = op.rule else {
        return vec![format!("{}: declares no permission", op.name())];
    };
    if rule == Rule::Public {
        let request = d.valid("", None);
        d.send("no token on a public route", &request).await;
        if !d.succeeded {
            d.failures
                .push(format!("{}: a public route did not answer 2xx", op.name()));
        }
        return d.failures;
    }

    // Who may call it.
    let tenant = d.tenant().await;
    let mut anonymous = d.valid(&tenant, None);
    d.expect(
        "no token",
        &anonymous,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    anonymous.token = Some("opd_not-a-real-token".into());
    d.expect(
        "unknown token",
        &anonymous,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    // A route any valid token may call: the viewer's token reaches it.
    let Some(permission) = op.permission() else {
        let as_viewer = d.valid(&tenant, Some(&srv.viewer));
        d.send("viewer token", &as_viewer).await;
        let happy = d.valid(&tenant, Some(&admin));
        d.send("admin token", &happy).await;
        if !d.succeeded {
            d.failures.push(format!(
                "{}: a route that needs only a token did not answer 2xx",
                op.name()
            ));
        }
        return d.failures;
    };
    let scope = if op.takes_tenant() {
        Scope::Tenant(tenant.clone())
    } else {
        Scope::Platform
    };
    let as_viewer = d.valid(&tenant, Some(&srv.viewer));
    if Role::Viewer.allows(permission, &scope) {
        d.send("viewer token", &as_viewer).await;
    } else {
        let reply = d
            .expect(
                "viewer token",
                &as_viewer,
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
        let message = reply.body["message"].as_str().unwrap_or_default();
        if !message.contains(permission.as_str()) {
            d.failures.push(format!(
                "{}: the 403 does not name `{permission}`: {message}",
                op.name()
            ));
        }
    }

    // The route doing its work, then again, then on a suspended tenant.
    let happy = d.valid(&tenant, Some(&admin));
    d.send("admin token", &happy).await;
    d.send("the same request again", &happy).await;
    if op.takes_tenant() {
        let suspended = d.tenant().await;
        let reply = srv
            .send(
                Method::POST,
                &format!("/v1/tenants/{suspended}/suspend"),
                &Value::Null,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let request = d.valid(&suspended, Some(&admin));
        d.send("on a suspended tenant", &request).await;

        let missing = d.valid("no-such-tenant", Some(&admin));
        d.expect(
            "unknown tenant",
            &missing,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let bad_path = d.valid("%FF", Some(&admin));
        d.expect(
            "tenant not UTF-8",
            &bad_path,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }

    // Bodies the server refuses before anything runs.
    let target = d.tenant().await;
    if let Some(schema) = op.body_schema.clone() {
        let valid = d.valid(&target, Some(&admin));
        let malformed = Request {
            body: Some("{".into()),
            ..valid.clone()
        };
        d.expect(
            "malformed JSON",
            &malformed,
            StatusCode::BAD_REQUEST,
            "malformed_json",
        )
        .await;
        let text = Request {
            content_type: Some("text/plain"),
            ..valid.clone()
        };
        d.expect(
            "wrong content type",
            &text,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
        let (good, invalid) = sample_bodies(&schema, &unique_slug(), d.fixture);
        let invalid = Request {
            body: Some(invalid.to_string()),
            ..valid.clone()
        };
        d.expect(
            "invalid field",
            &invalid,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        let mut unknown_field = good;
        unknown_field["contract_unknown_field"] = json!(true);
        let unknown = Request {
            body: Some(unknown_field.to_string()),
            ..valid.clone()
        };
        d.expect(
            "unknown field",
            &unknown,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }

    if op.carries_body() {
        let valid = d.valid(&target, Some(&admin));
        let large = Request {
            content_type: Some("application/json"),
            body: Some(json!({"name": "x".repeat(opsdeck_api::MAX_BODY_BYTES)}).to_string()),
            ..valid.clone()
        };
        d.expect(
            "body over the limit",
            &large,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        )
        .await;

        // Idempotency keys: malformed, reused for another request, in flight.
        let bad_key = Request {
            key: Some("has space".into()),
            ..valid.clone()
        };
        d.expect(
            "malformed key",
            &bad_key,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;

        let keyed_tenant = d.tenant().await;
        let first = Request {
            key: Some(format!("reuse-{}", unique_slug())),
            ..d.valid(&keyed_tenant, Some(&admin))
        };
        let first_reply = d.send("first request under a key", &first).await;
        let replay = d.send("the same request under the same key", &first).await;
        if replay.status != first_reply.status {
            d.failures.push(format!(
                "{}: a replay answered {} where the first answered {}",
                op.name(),
                replay.status,
                first_reply.status
            ));
        }
        let other = Request {
            path_and_query: format!("{}?contract=other", first.path_and_query),
            ..first.clone()
        };
        d.expect(
            "key reused for another request",
            &other,
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
        )
        .await;

        let busy = Request {
            key: Some(format!("busy-{}", unique_slug())),
            ..d.valid(&keyed_tenant, Some(&admin))
        };
        let hash = platform_admin::idempotency::request_hash(
            op.method.as_str(),
            &busy.path_and_query,
            busy.body.as_deref().unwrap_or_default().as_bytes(),
        );
        let token = token_id(srv, &admin).await;
        let key = busy.key.clone().unwrap_or_default();
        platform_admin::idempotency::claim(&srv.db, &token, &key, &hash, chrono::Utc::now())
            .await
            .expect("claim");
        d.expect(
            "key in flight",
            &busy,
            StatusCode::CONFLICT,
            "idempotency_key_in_flight",
        )
        .await;
    }

    // Query parameters the route refuses.
    if !op.query.is_empty() {
        let base = d.valid(&target, Some(&admin)).path_and_query;
        let mut bad = vec![(
            "an unknown parameter".to_string(),
            "contract_unknown=1".to_string(),
        )];
        for (name, schema) in &op.query {
            let value = if name == "cursor" {
                Some("%2A%2A%2A")
            } else if schema["type"] == "integer" {
                Some("-1")
            } else if schema.to_string().contains("$ref") || schema.get("enum").is_some() {
                Some("contract-no-such-value")
            } else {
                None
            };
            if let Some(value) = value {
                bad.push((format!("bad `{name}`"), format!("{name}={value}")));
            }
        }
        for (case, query) in bad {
            let request = Request {
                path_and_query: with_param(&base, &query),
                ..d.valid(&target, Some(&admin))
            };
            d.expect(
                &case,
                &request,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
        }
    }

    if !d.succeeded {
        d.failures.push(format!(
            "{}: no case got a 2xx; the route was never seen working",
            op.name()
        ));
    }
    d.failures
}

on_both_databases! {
    async fn a_method_no_operation_declares_is_405_naming_the_declared_ones(srv) {
        let reply = Reply::of(srv.request(Method::PUT, "/v1/tenants/acme").send().await).await;
        reply.expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert_eq!(reply.header("allow"), Some("GET, DELETE, PATCH"));
        let anonymous = Reply::of(srv.client.post(srv.url("/v1/health")).send().await).await;
        anonymous.expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert_eq!(anonymous.header("allow"), Some("GET"));
    }

    async fn every_route_answers_only_statuses_its_operation_lists(srv) {
        let document = serde_json::to_value(platform_admin::openapi::document()).expect("document as JSON");
        let operations = Operation::all(&document);
        assert!(operations.len() >= 9, "only {} operations in the document", operations.len());
        let mut failures = Vec::new();
        for op in &operations {
            // Each operation gets objects of its own: some routes delete theirs.
            let fixture = Fixture::make(srv, &unique_slug()).await;
            failures.extend(drive(srv, op, &fixture).await);
        }
        assert!(failures.is_empty(), "{} contract failures:\n{}", failures.len(), failures.join("\n"));
    }
}
