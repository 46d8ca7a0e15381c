//! Access control: tokens acting with their owner's bindings, tenant
//! isolation, every built-in role against every endpoint (generated from
//! the routes' declarations), and the migration of pre-RBAC tokens.

use opsdeck_api::rbac::{BuiltinRole, Permission, Subject, SubjectKind};
use platform_admin::access::{Access, On, Requirement, Rule};
use platform_admin::rbac::store;
use platform_admin::tenants::store::{id_of, TenantRef};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::contract::{sample_bodies, Fixture};
use crate::support::{Backend, Reply, Server, TestDb};

/// A service account named `name`, bound to `role` on the platform or on
/// the tenant of slug `tenant`, and a token of it.
pub async fn account(
    srv: &Server,
    name: &str,
    role: BuiltinRole,
    tenant: Option<&str>,
) -> (Subject, String) {
    let now = platform_admin::db::now();
    let mut tx = srv.db.begin().await.expect("begin");
    let id = store::insert_service_account(&mut tx, name, now)
        .await
        .expect("service account");
    let subject = Subject {
        kind: SubjectKind::ServiceAccount,
        id,
    };
    tx.commit().await.expect("commit");
    if let Some(slug) = tenant {
        bind(srv, &subject, role.as_str(), slug).await;
    } else {
        let mut tx = srv.db.begin().await.expect("begin");
        store::insert_binding(&mut tx, &subject, role.as_str(), None, now)
            .await
            .expect("binding");
        tx.commit().await.expect("commit");
    }
    let token = token_of(srv, &subject, name, None).await;
    (subject, token)
}

/// Binds `role` to `subject` on the tenant of slug `slug`.
pub async fn bind(srv: &Server, subject: &Subject, role: &str, slug: &str) {
    let tenant = id_of(srv.db.pool(), &TenantRef::parse(slug))
        .await
        .expect("look up")
        .expect("the tenant exists");
    let mut tx = srv.db.begin().await.expect("begin");
    store::insert_binding(
        &mut tx,
        subject,
        role,
        Some(&tenant),
        platform_admin::db::now(),
    )
    .await
    .expect("binding");
    tx.commit().await.expect("commit");
}

/// A token of `owner` named `name`.
pub async fn token_of(
    srv: &Server,
    owner: &Subject,
    name: &str,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let mut tx = srv.db.begin().await.expect("begin");
    let (_, token) =
        platform_admin::auth::mint(&mut tx, name, owner, expires_at, platform_admin::db::now())
            .await
            .expect("token");
    tx.commit().await.expect("commit");
    token
}

pub async fn as_token(
    srv: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Reply {
    let mut request = srv.client.request(method, srv.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    Reply::of(request.send().await).await
}

/// The slugs of a page of tenants.
fn slugs(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|t| t["slug"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A valid body of the operation (the contract test's sample), bindings
/// being made on `tenant` with a role every role that may bind holds.
fn valid_body(
    document: &Value,
    method: &Method,
    route: &str,
    unique: &str,
    tenant: &str,
    fixture: &Fixture,
) -> Option<Value> {
    let schema = document["paths"][route][method.as_str().to_lowercase()]["requestBody"]["content"]
        ["application/json"]["schema"]["$ref"]
        .as_str()?;
    let schema = schema.rsplit('/').next().unwrap_or(schema);
    let (mut body, _) = sample_bodies(schema, unique, fixture);
    if schema == "CreateBinding" {
        body["role"] = json!(BuiltinRole::TenantAdmin.as_str());
        body["tenant"] = json!(tenant);
    }
    Some(body)
}

/// Routes whose object (in the body or the path) is on the request's tenant
/// though the path names none: a tenant the caller cannot see is 404 there too.
fn object_on_tenant(method: &Method, route: &str) -> bool {
    matches!(
        (method.as_str(), route),
        ("POST", "/v1/rbac/bindings")
            | ("DELETE", "/v1/rbac/bindings/{binding}")
            | ("GET", "/v1/rbac/who-can")
    )
}

/// Where a role is bound in one row of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Platform,
    /// On the tenant of the request (or, for a route without one, on
    /// some tenant).
    ThisTenant,
    /// On some tenant, not the one of the request.
    OtherTenant,
}

/// What the matrix expects of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Reaches the handler: anything but 401, 403, 404 and 5xx.
    Allowed,
    /// 403 with the envelope, naming the permission.
    Forbidden,
    /// 404, exactly like a tenant that does not exist.
    Unseen,
}

/// The expectation, from the role table and the route's declaration alone.
fn expected(role: BuiltinRole, bound: Bound, requirement: Requirement, on_tenant: bool) -> Expect {
    let grants = role.grants(requirement.permission);
    match (requirement.on, bound) {
        (On::EachTenant, Bound::OtherTenant) if on_tenant && grants => Expect::Unseen,
        (_, Bound::Platform) | (On::EachTenant, _) | (On::Tenant, Bound::ThisTenant) => {
            if grants {
                Expect::Allowed
            } else {
                Expect::Forbidden
            }
        }
        (On::Platform, _) => Expect::Forbidden,
        (On::Tenant, Bound::OtherTenant) => Expect::Unseen,
    }
}

on_both_databases! {
    async fn every_builtin_role_meets_every_endpoint_as_the_route_table_says(srv) {
        let document = platform_admin::openapi::document();
        let access = Access::from_document(&document);
        let json_document = serde_json::to_value(&document).expect("document as JSON");
        let mut failures = Vec::new();
        let mut requests = 0;
        let mut next = 0;
        // Every row: one built-in role, bound one way.
        let mut callers = Vec::new();
        for role in BuiltinRole::ALL {
            for bound in [Bound::Platform, Bound::ThisTenant, Bound::OtherTenant] {
                let name = format!("matrix-{role}-{bound:?}").to_lowercase();
                let (subject, token) = match bound {
                    Bound::Platform => account(srv, &name, role, None).await,
                    _ => {
                        // Bound somewhere, so that lists see it holds something.
                        let home = format!("home-{next}");
                        next += 1;
                        srv.create(&home, "Home").await;
                        account(srv, &name, role, Some(&home)).await
                    }
                };
                callers.push((role, bound, subject, token));
            }
        }
        for (route, method, rule) in access.rules() {
            let requirement = match *rule {
                Rule::Require(requirement) => Some(requirement),
                Rule::Authenticated => None,
                Rule::Public => continue,
            };
            for (role, bound, subject, token) in &callers {
                let slug = format!("m-{next}");
                next += 1;
                srv.create(&slug, "Matrix").await;
                if *bound == Bound::ThisTenant {
                    bind(srv, subject, role.as_str(), &slug).await;
                }
                // Objects of the case's own, on its tenant: some routes delete theirs.
                let fixture = Fixture::make_bound(srv, &format!("mx-{next}"), BuiltinRole::TenantAdmin.as_str(), Some(&slug)).await;
                let path = fixture.fill(route, &slug);
                assert!(!path.contains('{'), "{method} {route}: the matrix cannot fill its path; teach it how");
                let body = valid_body(&json_document, method, route, &format!("m-new-{next}"), &slug, &fixture);
                let reply = as_token(srv, token, method.clone(), &path, body.as_ref()).await;
                requests += 1;
                let case = format!("{method} {route} as {role} bound {bound:?}");
                let status = reply.status;
                // A route that needs only a token: every caller reaches it, and it
                // answers about that caller alone.
                let Some(requirement) = requirement else {
                    let about_itself = reply.body["subject"]["id"] == json!(subject.id);
                    if status != StatusCode::OK || !about_itself {
                        failures.push(format!("{case}: expected 200 about the caller, got {status}: {}", reply.text));
                    }
                    continue;
                };
                let want = expected(*role, *bound, requirement, object_on_tenant(method, route));
                let ok = match want {
                    // An approval is refused by the handler to whoever lacks the role
                    // the run waits on: the route was reached all the same.
                    Expect::Allowed if route == "/v1/playbook-runs/{run}/approve" && status == StatusCode::FORBIDDEN => {
                        reply.body["message"].as_str().is_some_and(|m| m.contains("needs the role platform-admin"))
                    }
                    // Deciding an approval needs the two-person rule's role, checked by
                    // the handler like a run's approval.
                    Expect::Allowed if route.starts_with("/v1/approvals/{approval}/") && status == StatusCode::FORBIDDEN => {
                        *role != BuiltinRole::PlatformAdmin
                            && reply.body["message"].as_str().is_some_and(|m| m.contains("needs the role platform-admin"))
                    }
                    // Asking for an approval needs the permission of the action asked
                    // for (the sample asks for a restore).
                    Expect::Allowed if route == "/v1/approvals" && *method == Method::POST && status == StatusCode::FORBIDDEN => {
                        !role.grants(Permission::BackupsRestore)
                            && reply.body["message"].as_str().is_some_and(|m| m.contains("backups.restore"))
                    }
                    Expect::Allowed => !matches!(status.as_u16(), 401 | 403 | 404) && !status.is_server_error(),
                    Expect::Forbidden => status == StatusCode::FORBIDDEN
                        && reply.body["code"] == "forbidden"
                        && reply.body["message"].as_str().is_some_and(|m| m.contains(requirement.permission.as_str())),
                    Expect::Unseen => {
                        // The same request about objects that do not exist.
                        let unseen = |text: &str| text.replace(&slug, "no-such-tenant").replace(&fixture.binding, "no-such-binding");
                        let missing_body = body.as_ref().map(|b| serde_json::from_str::<Value>(&unseen(&b.to_string())).expect("json"));
                        let missing = as_token(srv, token, method.clone(), &unseen(&path), missing_body.as_ref()).await;
                        status == StatusCode::NOT_FOUND
                            && reply.body["code"] == "not_found"
                            && missing.status == StatusCode::NOT_FOUND
                            && reply.body["message"].as_str().map(unseen)
                                == missing.body["message"].as_str().map(str::to_string)
                    }
                };
                if !ok {
                    failures.push(format!("{case}: expected {want:?}, got {status}: {}", reply.text));
                }
            }
        }
        let protected = access.rules().filter(|(_, _, rule)| !matches!(rule, Rule::Public)).count();
        assert!(protected >= 8, "only {protected} protected routes");
        assert_eq!(requests, protected * callers.len());
        assert!(failures.is_empty(), "{} of {requests} cases failed:\n{}", failures.len(), failures.join("\n"));
    }

    async fn a_tenant_admin_sees_and_changes_only_its_own_tenant(srv) {
        srv.create("alpha", "Alpha").await;
        let beta = srv.create("beta", "Beta").await;
        srv.create("gamma", "Gamma").await;
        let beta_id = beta.body["id"].as_str().expect("id").to_string();
        let (_, token) = account(srv, "alpha-admin", BuiltinRole::TenantAdmin, Some("alpha")).await;

        for path in ["/v1/tenants", "/v1/tenants?q=beta", "/v1/tenants?status=active&limit=1", "/v1/tenants?q=a"] {
            let reply = as_token(srv, &token, Method::GET, path, None).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
            let seen = slugs(&reply);
            assert!(seen.iter().all(|s| s == "alpha"), "{path}: {seen:?}");
        }
        assert_eq!(slugs(&as_token(srv, &token, Method::GET, "/v1/tenants", None).await), ["alpha"]);

        let before = srv.snapshot().await;
        for beta_ref in ["beta", beta_id.as_str()] {
            for (method, suffix, body) in [
                (Method::GET, "", None),
                (Method::PATCH, "", Some(json!({"name": "Taken over"}))),
                (Method::DELETE, "", None),
                (Method::POST, "/suspend", None),
                (Method::POST, "/resume", None),
            ] {
                let path = format!("/v1/tenants/{beta_ref}{suffix}");
                let reply = as_token(srv, &token, method.clone(), &path, body.as_ref()).await;
                reply.expect_error(StatusCode::NOT_FOUND, "not_found");
                let missing = as_token(srv, &token, method.clone(), &format!("/v1/tenants/no-such-tenant{suffix}"), body.as_ref()).await;
                missing.expect_error(StatusCode::NOT_FOUND, "not_found");
                assert_eq!(
                    reply.body["message"].as_str().map(|m| m.replace(beta_ref, "no-such-tenant")),
                    missing.body["message"].as_str().map(str::to_string),
                    "{method} {path}"
                );
            }
        }
        assert_eq!(srv.snapshot().await, before, "nothing of another tenant changed");

        // Its own tenant: what tenant-admin grants, and no more.
        let renamed = as_token(srv, &token, Method::PATCH, "/v1/tenants/alpha", Some(&json!({"name": "Alpha Two"}))).await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
        as_token(srv, &token, Method::DELETE, "/v1/tenants/alpha", None).await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
        as_token(srv, &token, Method::POST, "/v1/tenants", Some(&json!({"slug": "delta", "name": "Delta"}))).await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");

        // The audit log shows only its tenant's records, whatever the filter.
        let audit = as_token(srv, &token, Method::GET, "/v1/audit?limit=200", None).await;
        assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
        let targets: Vec<&str> = audit.body["items"].as_array().expect("items").iter()
            .filter_map(|r| r["target"].as_str()).collect();
        assert!(!targets.is_empty());
        assert!(targets.iter().all(|t| *t == "tenant:alpha"), "{targets:?}");
        let filtered = as_token(srv, &token, Method::GET, "/v1/audit?target=tenant:beta", None).await;
        assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.text);
        assert_eq!(filtered.body["items"], json!([]));
    }

    async fn access_lists_come_a_page_at_a_time_and_a_tenant_admin_pages_its_own_bindings(srv) {
        srv.create("alpha", "Alpha").await;
        srv.create("beta", "Beta").await;
        for i in 0..5 {
            let made = srv.send(Method::POST, "/v1/rbac/users",
                &json!({"email": format!("user-{i}@example.test"), "display_name": format!("User {i}")})).await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
            let group = srv.send(Method::POST, "/v1/rbac/groups", &json!({"name": format!("team-{i}")})).await;
            assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
            let member = srv.send(Method::PUT,
                &format!("/v1/rbac/groups/team-{i}/members/user-{i}@example.test"), &Value::Null).await;
            assert_eq!(member.status, StatusCode::OK, "{}", member.text);
        }
        let walk = |first: String| async move {
            let mut seen = Vec::new();
            let mut path = first.clone();
            for _ in 0..20 {
                let page = srv.get(&path).await;
                assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
                let items = page.body["items"].as_array().expect("items").clone();
                assert!(items.len() <= 2, "{path}: {} items", items.len());
                seen.extend(items);
                match page.body["next_cursor"].as_str() {
                    Some(cursor) => path = format!("{first}&cursor={cursor}"),
                    None => return seen,
                }
            }
            panic!("{first}: no last page");
        };
        let users = walk("/v1/rbac/users?limit=2".into()).await;
        let emails: Vec<&str> = users.iter().filter_map(|u| u["email"].as_str()).collect();
        assert_eq!(emails, (0..5).map(|i| format!("user-{i}@example.test")).collect::<Vec<_>>());
        let found = srv.get("/v1/rbac/users?q=USER-3").await;
        assert_eq!(found.body["items"].as_array().map(Vec::len), Some(1), "{}", found.text);
        let groups = walk("/v1/rbac/groups?limit=2".into()).await;
        assert_eq!(groups.len(), 5);
        for (i, group) in groups.iter().enumerate() {
            assert_eq!(group["name"], format!("team-{i}"));
            assert_eq!(group["members"].as_array().map(Vec::len), Some(1), "{group}");
        }
        srv.get("/v1/rbac/users?limit=0").await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        srv.get("/v1/rbac/groups?cursor=***").await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

        // Bindings on both tenants; alpha's admin pages through alpha's only.
        let (_, token) = account(srv, "alpha-admin", BuiltinRole::TenantAdmin, Some("alpha")).await;
        for (i, group) in groups.iter().enumerate() {
            let group = Subject { kind: SubjectKind::Group, id: group["id"].as_str().expect("id").into() };
            bind(srv, &group, BuiltinRole::Viewer.as_str(), if i % 2 == 0 { "alpha" } else { "beta" }).await;
        }
        let all = walk("/v1/rbac/bindings?limit=2".into()).await;
        assert!(all.len() >= 7, "{} bindings", all.len());
        let mut mine = Vec::new();
        let mut path = "/v1/rbac/bindings?limit=2".to_string();
        loop {
            let page = as_token(srv, &token, Method::GET, &path, None).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            mine.extend(page.body["items"].as_array().expect("items").clone());
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/rbac/bindings?limit=2&cursor={cursor}"),
                None => break,
            }
        }
        // Its own binding and the three groups' on alpha: nothing of beta or the platform.
        assert_eq!(mine.len(), 4, "{mine:?}");
        let alpha = srv.get("/v1/tenants/alpha").await.body["id"].clone();
        assert!(mine.iter().all(|b| b["scope"]["tenant"] == alpha), "{mine:?}");
    }

    async fn deleting_a_user_or_group_takes_its_tokens_memberships_and_bindings_and_never_the_last_admin(srv) {
        srv.create("alpha", "Alpha").await;
        let made = srv.send(Method::POST, "/v1/rbac/users",
            &json!({"email": "ann@example.test", "display_name": "Ann"})).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        let ann = Subject { kind: SubjectKind::User, id: made.body["id"].as_str().expect("id").into() };
        let group = srv.send(Method::POST, "/v1/rbac/groups", &json!({"name": "sre"})).await;
        assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
        let sre = Subject { kind: SubjectKind::Group, id: group.body["id"].as_str().expect("id").into() };
        let joined = srv.send(Method::PUT, "/v1/rbac/groups/sre/members/ann@example.test", &Value::Null).await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
        bind(srv, &ann, BuiltinRole::Viewer.as_str(), "alpha").await;
        bind(srv, &sre, BuiltinRole::Viewer.as_str(), "alpha").await;
        let token = token_of(srv, &ann, "ann-laptop", None).await;
        let read = as_token(srv, &token, Method::GET, "/v1/tenants/alpha", None).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);

        let gone = srv.send(Method::DELETE, "/v1/rbac/users/ann@example.test", &Value::Null).await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
        as_token(srv, &token, Method::GET, "/v1/tenants/alpha", None).await
            .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
        let groups = srv.get("/v1/rbac/groups").await;
        assert_eq!(groups.body["items"][0]["members"], json!([]), "{}", groups.text);
        let bindings = srv.get("/v1/rbac/bindings?limit=200").await;
        let subjects: Vec<&Value> = bindings.body["items"].as_array().expect("items").iter()
            .map(|b| &b["subject"]["id"]).collect();
        assert!(!subjects.contains(&&json!(ann.id)), "{}", bindings.text);
        assert!(subjects.contains(&&json!(sre.id)), "the group's binding stays: {}", bindings.text);
        srv.send(Method::DELETE, "/v1/rbac/users/ann@example.test", &Value::Null).await
            .expect_error(StatusCode::NOT_FOUND, "not_found");

        let gone = srv.send(Method::DELETE, "/v1/rbac/groups/sre", &Value::Null).await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
        let bindings = srv.get("/v1/rbac/bindings?limit=200").await;
        assert!(!bindings.text.contains(&sre.id), "{}", bindings.text);
        let audit = srv.get("/v1/audit?limit=200").await;
        let actions: Vec<&str> = audit.body["items"].as_array().expect("items").iter()
            .filter_map(|r| r["action"].as_str()).collect();
        assert!(actions.contains(&"user.delete") && actions.contains(&"group.delete"), "{actions:?}");

        // The one platform-wide platform-admin binding is refused with
        // everything of its holder left in place.
        let only = srv.send(Method::POST, "/v1/rbac/users",
            &json!({"email": "root@example.test", "display_name": "Root"})).await;
        let root = Subject { kind: SubjectKind::User, id: only.body["id"].as_str().expect("id").into() };
        let mut conn = srv.db.pool().acquire().await.expect("connection");
        let admins: Vec<String> = store::list_bindings(&mut conn, None, None, 10_000).await.expect("bindings")
            .into_iter()
            .filter(|b| b.role == "platform-admin" && b.scope == opsdeck_api::rbac::BindingScope::Platform)
            .map(|b| b.id).collect();
        drop(conn);
        let mut tx = srv.db.begin().await.expect("begin");
        store::insert_binding(&mut tx, &root, "platform-admin", None, platform_admin::db::now())
            .await.expect("binding");
        for id in &admins {
            sqlx::query("DELETE FROM rbac_bindings WHERE id = $1").bind(id.as_str())
                .execute(&mut *tx).await.expect("delete");
        }
        tx.commit().await.expect("commit");
        let root_token = token_of(srv, &root, "root", None).await;
        as_token(srv, &root_token, Method::DELETE, "/v1/rbac/users/root@example.test", None).await
            .expect_error(StatusCode::CONFLICT, "invalid_state");
        let still = as_token(srv, &root_token, Method::GET, "/v1/rbac/users?q=root", None).await;
        assert_eq!(still.body["items"].as_array().map(Vec::len), Some(1), "{}", still.text);
    }

    async fn a_group_binding_reaches_its_members(srv) {
        srv.create("alpha", "Alpha").await;
        let now = platform_admin::db::now();
        let mut tx = srv.db.begin().await.expect("begin");
        for (sql, binds) in [
            ("INSERT INTO rbac_users (id, email, display_name, status, created_at) VALUES ($1, $2, $3, 'active', $4)",
             ["u-1", "ada@example.test", "Ada"]),
            ("INSERT INTO rbac_groups (id, name, external_name, created_at) VALUES ($1, $2, $3, $4)",
             ["g-1", "sre", "cn=sre"]),
        ] {
            let mut query = sqlx::query(sql);
            for value in binds {
                query = query.bind(value);
            }
            query.bind(platform_admin::db::timestamp(now)).execute(&mut *tx).await.expect("insert");
        }
        sqlx::query("INSERT INTO rbac_group_members (group_id, user_id) VALUES ('g-1', 'u-1')")
            .execute(&mut *tx).await.expect("member");
        tx.commit().await.expect("commit");
        let user = Subject { kind: SubjectKind::User, id: "u-1".into() };
        let group = Subject { kind: SubjectKind::Group, id: "g-1".into() };
        let token = token_of(srv, &user, "ada-laptop", None).await;

        as_token(srv, &token, Method::GET, "/v1/tenants/alpha", None).await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        bind(srv, &group, BuiltinRole::Viewer.as_str(), "alpha").await;
        let read = as_token(srv, &token, Method::GET, "/v1/tenants/alpha", None).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        as_token(srv, &token, Method::PATCH, "/v1/tenants/alpha", Some(&json!({"name": "X"}))).await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");

        // A disabled user's tokens stop working.
        sqlx::query("UPDATE rbac_users SET status = 'disabled' WHERE id = 'u-1'")
            .execute(srv.db.pool()).await.expect("disable");
        let refused = as_token(srv, &token, Method::GET, "/v1/tenants/alpha", None).await;
        refused.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(refused.text.contains("disabled"), "{}", refused.text);
    }

    async fn expired_and_revoked_tokens_are_401_and_change_nothing(srv) {
        srv.create("alpha", "Alpha").await;
        let (owner, live) = account(srv, "ci", BuiltinRole::PlatformAdmin, None).await;
        let expired = token_of(srv, &owner, "ci-expired", Some(chrono::Utc::now() - chrono::Duration::seconds(1))).await;
        let later = token_of(srv, &owner, "ci-later", Some(chrono::Utc::now() + chrono::Duration::days(1))).await;
        assert_eq!(as_token(srv, &later, Method::GET, "/v1/tenants", None).await.status, StatusCode::OK);
        assert_eq!(as_token(srv, &live, Method::GET, "/v1/tenants", None).await.status, StatusCode::OK);

        let before = srv.snapshot().await;
        let reply = as_token(srv, &expired, Method::DELETE, "/v1/tenants/alpha", None).await;
        reply.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(reply.text.contains("expired"), "{}", reply.text);

        let tokens = {
            let mut conn = srv.db.pool().acquire().await.expect("connection");
            store::list_tokens(&mut conn).await.expect("tokens")
        };
        let id = tokens.iter().find(|t| t.name == "ci").expect("listed").id.clone();
        let mut tx = srv.db.begin().await.expect("begin");
        let revoked = store::revoke_token(&mut tx, &id, platform_admin::db::now()).await.expect("revoke");
        tx.commit().await.expect("commit");
        assert!(revoked.and_then(|t| t.revoked_at).is_some());
        let reply = as_token(srv, &live, Method::DELETE, "/v1/tenants/alpha", None).await;
        reply.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(reply.text.contains("revoked"), "{}", reply.text);
        assert_eq!(srv.snapshot().await, before);
        // Another token of the same owner is untouched.
        assert_eq!(as_token(srv, &later, Method::GET, "/v1/tenants/alpha", None).await.status, StatusCode::OK);
    }
}

/// Tokens minted before access control (role `admin` or `viewer`) keep
/// working after the upgrade, as service accounts bound on the platform.
async fn pre_rbac_tokens_survive_the_migration(backend: Backend) {
    let test_db = TestDb::new(backend, "pre_rbac_tokens_survive_the_migration").await;
    sqlx::any::install_default_drivers();
    let url = match backend {
        Backend::Sqlite => format!("{}?mode=rwc", test_db.url),
        Backend::Postgres => test_db.url.clone(),
    };
    let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
    let mut migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= 4)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator
        .run(&pool)
        .await
        .expect("the schema before access control");
    for (id, name, role, token) in [
        ("t-admin", "old-admin", "admin", "opd_old-admin-secret"),
        ("t-viewer", "old-viewer", "viewer", "opd_old-viewer-secret"),
    ] {
        sqlx::query("INSERT INTO api_tokens (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, '2025-01-01T00:00:00.000Z')")
            .bind(id)
            .bind(name)
            .bind(role)
            .bind(platform_admin::auth::hash_token(token))
            .execute(&pool)
            .await
            .expect("old token");
    }
    sqlx::query("INSERT INTO idempotency_keys (token_id, idem_key, request_hash, status, body, created_at, expires_at) \
                 VALUES ('t-admin', 'k-1', 'h', 201, '{}', '2025-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z')")
        .execute(&pool)
        .await
        .expect("old key");
    pool.close().await;

    let srv = Server::on(test_db).await;
    let created = as_token(
        &srv,
        "opd_old-admin-secret",
        Method::POST,
        "/v1/tenants",
        Some(&json!({"slug": "acme", "name": "Acme"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let read = as_token(
        &srv,
        "opd_old-viewer-secret",
        Method::GET,
        "/v1/tenants/acme",
        None,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    as_token(
        &srv,
        "opd_old-viewer-secret",
        Method::PATCH,
        "/v1/tenants/acme",
        Some(&json!({"name": "X"})),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    let audit = srv.all_audit().await;
    assert_eq!(audit[0]["actor"], "old-admin");

    let mut conn = srv.db.pool().acquire().await.expect("connection");
    let tokens = store::list_tokens(&mut conn).await.expect("tokens");
    for (id, role) in [("t-admin", "platform-admin"), ("t-viewer", "viewer")] {
        let token = tokens
            .iter()
            .find(|t| t.id == id)
            .expect("the token is kept");
        assert_eq!(token.owner.kind, SubjectKind::ServiceAccount);
        use sqlx::Row as _;
        let row = sqlx::query("SELECT role, tenant_id FROM rbac_bindings WHERE subject_kind = 'service_account' AND subject_id = $1")
            .bind(token.owner.id.as_str())
            .fetch_one(&mut *conn)
            .await
            .expect("one binding");
        assert_eq!(row.try_get::<String, _>("role").expect("role"), role);
        assert_eq!(
            row.try_get::<Option<String>, _>("tenant_id")
                .expect("scope"),
            None
        );
    }
    use sqlx::Row as _;
    let keys = sqlx::query("SELECT COUNT(*) AS n FROM idempotency_keys WHERE token_id = 't-admin'")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(
        keys.try_get::<i64, _>("n").expect("n"),
        1,
        "idempotency keys survive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_rbac_tokens_survive_the_migration_on_sqlite() {
    pre_rbac_tokens_survive_the_migration(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_rbac_tokens_survive_the_migration_on_postgres() {
    pre_rbac_tokens_survive_the_migration(Backend::Postgres).await;
}
