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

    async fn records_carry_the_tenant_id_the_changed_fields_and_the_idempotency_key(srv) {
        let created = Reply::of(
            srv.request(Method::POST, "/v1/tenants")
                .header(opsdeck_api::IDEMPOTENCY_KEY, "create-acme-1")
                .json(&json!({"slug": "acme", "name": "Acme"}))
                .send()
                .await,
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let id = created.body["id"].as_str().expect("id").to_string();
        srv.send(Method::PATCH, "/v1/tenants/acme", &json!({"name": "Acme Inc"})).await;
        srv.request(Method::POST, "/v1/tenants/acme/suspend").send().await.expect("suspend");

        let records = srv.all_audit().await;
        let [suspend, update, create] = records.as_slice() else {
            panic!("three records expected: {records:?}");
        };
        assert_eq!(create["tenant"], id.as_str());
        assert_eq!(create["idempotency_key"], "create-acme-1");
        assert!(create.get("before").is_none(), "{create}");
        assert_eq!(create["after"]["slug"], "acme");
        assert_eq!(update["before"]["name"], "Acme");
        assert_eq!(update["after"]["name"], "Acme Inc");
        assert!(update["before"].get("slug").is_none(), "only changed fields: {update}");
        assert!(update.get("idempotency_key").is_none());
        assert_eq!(suspend["before"], json!({"status": "active"}));
        assert_eq!(suspend["after"], json!({"status": "suspended"}));
        let seqs: Vec<i64> = records.iter().map(|r| r["seq"].as_i64().expect("seq")).collect();
        assert_eq!(seqs, [3, 2, 1]);
        assert_eq!(create["prev_hash"], "0".repeat(64));
        assert_eq!(update["prev_hash"], create["hash"]);
    }

    async fn a_tenant_admin_does_not_see_the_records_of_a_deleted_tenant_whose_slug_it_reuses(srv) {
        let old = srv.create("acme", "Old Acme").await;
        let old_id = old.body["id"].as_str().expect("id").to_string();
        srv.send(Method::PATCH, "/v1/tenants/acme", &json!({"name": "Old Acme Inc"})).await;
        let deleted = Reply::of(srv.request(Method::DELETE, "/v1/tenants/acme").send().await).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
        let new = srv.create("acme", "New Acme").await;
        let new_id = new.body["id"].as_str().expect("id").to_string();
        let (_, token) = crate::rbac::account(
            srv, "acme-admin", opsdeck_api::rbac::BuiltinRole::TenantAdmin, Some("acme"),
        ).await;

        for path in ["/v1/audit", "/v1/audit?tenant=acme", "/v1/audit?target=tenant:acme"] {
            let seen = crate::rbac::as_token(srv, &token, Method::GET, path, None).await;
            assert_eq!(seen.status, StatusCode::OK, "{path}: {}", seen.text);
            let items = seen.body["items"].as_array().expect("items");
            let actions: Vec<_> = items.iter().map(|r| r["action"].as_str().expect("action")).collect();
            assert_eq!(actions, ["tenant.create"], "{path}: {}", seen.text);
            assert_eq!(items[0]["tenant"], new_id.as_str());
        }
        let by_old_id = crate::rbac::as_token(
            srv, &token, Method::GET, &format!("/v1/audit?tenant={old_id}"), None,
        ).await;
        assert_eq!(by_old_id.body["items"], json!([]), "{}", by_old_id.text);

        let old_records = audit_where(srv, &format!("tenant={old_id}")).await;
        let actions: Vec<_> = old_records.iter().map(|r| r["action"].as_str().expect("action")).collect();
        assert_eq!(actions, ["tenant.delete", "tenant.update", "tenant.create"]);
        assert_eq!(old_records[0]["before"]["name"], "Old Acme Inc");
    }

    async fn audit_filters_match_exactly_and_treat_quotes_and_percent_signs_as_data(srv) {
        let (_, odd) = crate::rbac::account(
            srv, "o'hara 100%", opsdeck_api::rbac::BuiltinRole::PlatformAdmin, None,
        ).await;
        for slug in ["alpha", "bravo"] {
            srv.create(slug, slug).await;
        }
        let made = crate::rbac::as_token(
            srv, &odd, Method::POST, "/v1/tenants", Some(&json!({"slug": "charlie", "name": "C"})),
        ).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        srv.send(Method::PATCH, "/v1/tenants/alpha", &json!({"name": "A"})).await;

        let count = |records: Vec<serde_json::Value>| records.len();
        assert_eq!(count(audit_where(srv, "action=tenant.create").await), 3);
        assert_eq!(count(audit_where(srv, "actor=admin").await), 3);
        assert_eq!(count(audit_where(srv, "target=tenant:alpha").await), 2);
        assert_eq!(count(audit_where(srv, "tenant=alpha&action=tenant.update").await), 1);
        let odd_records = audit_where(srv, &format!("actor={}", encode("o'hara 100%"))).await;
        assert_eq!(odd_records.len(), 1);
        assert_eq!(odd_records[0]["target"], "tenant:charlie");
        for hostile in ["%", "o'hara%", "o'hara _00%", "admin' OR '1'='1", "' OR 1=1 --", "_dmin", "\\%"] {
            for filter in ["actor", "action", "target", "tenant"] {
                let found = audit_where(srv, &format!("{filter}={}", encode(hostile))).await;
                assert!(found.is_empty(), "{filter}={hostile} matched {found:?}");
            }
        }
        assert_eq!(count(audit_where(srv, &format!("target={}", encode("tenant:%"))).await), 0);

        let all = srv.all_audit().await;
        let second_oldest = all[all.len() - 2]["at"].as_str().expect("at").to_string();
        let since = audit_where(srv, &format!("since={}", encode(&second_oldest))).await;
        assert!(since.len() >= all.len() - 1 && since.len() < all.len() + 1, "{since:?}");
        assert!(since.iter().all(|r| r["at"].as_str() >= Some(second_oldest.as_str())));
        assert_eq!(count(audit_where(srv, "since=2999-01-01T00:00:00Z").await), 0);
        assert_eq!(count(audit_where(srv, "until=2000-01-01T00:00:00Z").await), 0);
        assert_eq!(count(audit_where(srv, "since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z").await), all.len());
        let bad = srv.get("/v1/audit?since=yesterday").await;
        bad.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(bad.fields(), ["since"]);
        let unknown = srv.get("/v1/audit?who=admin").await;
        unknown.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }

    async fn concurrent_mutations_leave_a_chain_that_verifies(srv) {
        let mut writers = tokio::task::JoinSet::new();
        for i in 0..24 {
            let client = srv.client.clone();
            let url = srv.url("/v1/tenants");
            let token = srv.admin.clone();
            writers.spawn(async move {
                client.post(url).bearer_auth(token)
                    .json(&json!({"slug": format!("t{i:02}"), "name": format!("T {i}")}))
                    .send().await.map(|r| r.status())
            });
        }
        while let Some(done) = writers.join_next().await {
            let status = done.expect("writer").expect("request");
            assert_eq!(status, StatusCode::CREATED);
        }
        let records = srv.all_audit().await;
        assert_eq!(records.len(), 24);
        let mut seqs: Vec<i64> = records.iter().map(|r| r["seq"].as_i64().expect("seq")).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
        let out = verify(&srv.db_url()).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("24 records"));
    }

    async fn verify_names_an_edited_record(srv) {
        four_records(srv).await;
        tamper(srv, &["UPDATE audit_records SET actor = 'mallory' WHERE seq = 2"]).await;
        expect_broken(srv, "audit record 2 ").await;
    }

    async fn verify_names_a_record_whose_changed_fields_were_rewritten(srv) {
        four_records(srv).await;
        tamper(srv, &["UPDATE audit_records SET after_state = '{\"name\":\"x\"}' WHERE seq = 3"]).await;
        expect_broken(srv, "audit record 3 ").await;
    }

    async fn clearing_the_chains_head_does_not_get_an_edited_record_hashed_afresh(srv) {
        four_records(srv).await;
        tamper(srv, &[
            "UPDATE audit_records SET actor = 'mallory' WHERE seq = 2",
            "UPDATE audit_chain SET hash = NULL",
        ]).await;
        expect_broken(srv, "audit record 2 ").await;
    }

    async fn the_actor_is_the_tokens_service_account_not_the_token(srv) {
        let (account, _) = crate::rbac::account(
            srv, "deployer", opsdeck_api::rbac::BuiltinRole::PlatformAdmin, None,
        ).await;
        let key = crate::rbac::token_of(srv, &account, "deploy-key-7", None).await;
        let made = crate::rbac::as_token(
            srv, &key, Method::POST, "/v1/tenants", Some(&json!({"slug": "acme", "name": "Acme"})),
        ).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        assert_eq!(srv.all_audit().await[0]["actor"], "deployer");
    }

    async fn rbac_changes_are_recorded_with_what_changed(srv) {
        srv.create("acme", "Acme").await;
        let acme = srv.get("/v1/tenants/acme").await.body["id"].as_str().expect("id").to_string();
        let ok = |reply: Reply| {
            assert!(reply.status.is_success(), "{}", reply.text);
            reply
        };
        let user = ok(srv.send(Method::POST, "/v1/rbac/users", &json!({"email": "ana@example.test", "display_name": "Ana"})).await);
        ok(srv.send(Method::PATCH, "/v1/rbac/users/ana@example.test", &json!({"status": "disabled"})).await);
        ok(srv.send(Method::POST, "/v1/rbac/roles", &json!({"name": "reader", "permissions": ["tenants.read"]})).await);
        ok(srv.send(Method::PATCH, "/v1/rbac/roles/reader", &json!({"permissions": ["audit.read"]})).await);
        let subject = json!({"kind": "user", "id": user.body["id"]});
        let binding = ok(srv.send(Method::POST, "/v1/rbac/bindings", &json!({"subject": subject, "role": "viewer", "tenant": "acme"})).await);
        let id = binding.body["id"].as_str().expect("binding id");
        ok(Reply::of(srv.request(Method::DELETE, &format!("/v1/rbac/bindings/{id}")).send().await).await);

        let records = srv.all_audit().await;
        let by = |action: &str| records.iter().find(|r| r["action"] == action).unwrap_or_else(|| panic!("no {action} in {records:?}")).clone();
        let created = by("user.create");
        assert_eq!((created["target"].as_str(), created["after"]["email"].as_str()), (Some("user:ana@example.test"), Some("ana@example.test")));
        let disabled = by("user.update");
        assert_eq!((&disabled["before"], &disabled["after"]), (&json!({"status": "active"}), &json!({"status": "disabled"})));
        let role = by("role.update");
        assert_eq!(role["before"]["permissions"], json!(["tenants.read"]));
        assert_eq!(role["after"]["permissions"], json!(["audit.read"]));
        assert!(role.get("tenant").is_none(), "a platform change: {role}");
        let unbound = by("binding.delete");
        assert_eq!(unbound["target"], format!("binding:{id}"));
        assert_eq!(unbound["tenant"], acme.as_str());
        assert_eq!(unbound["before"]["role"], "viewer");
        assert!(unbound.get("after").is_none());
    }

    async fn verify_names_a_deleted_record(srv) {
        four_records(srv).await;
        tamper(srv, &["DELETE FROM audit_records WHERE seq = 2"]).await;
        expect_broken(srv, "audit record 2 is missing").await;
    }

    async fn verify_names_a_record_taken_out_of_the_chain(srv) {
        four_records(srv).await;
        tamper(srv, &["UPDATE audit_records SET seq = NULL WHERE seq = 2"]).await;
        expect_broken(srv, "audit record 2 is missing").await;
    }

    async fn verify_notices_the_newest_record_deleted(srv) {
        four_records(srv).await;
        tamper(srv, &["DELETE FROM audit_records WHERE seq = 4"]).await;
        expect_broken(srv, "after 3 are missing").await;
    }

    async fn verify_names_reordered_records(srv) {
        four_records(srv).await;
        tamper(srv, &[
            "UPDATE audit_records SET seq = -2 WHERE seq = 2",
            "UPDATE audit_records SET seq = 2 WHERE seq = 3",
            "UPDATE audit_records SET seq = 3 WHERE seq = -2",
        ]).await;
        expect_broken(srv, "audit record 2 ").await;
    }

    async fn verify_names_reordered_records_even_with_their_links_rewritten(srv) {
        four_records(srv).await;
        // Swapping the records' places and their prev_hash links still
        // leaves each hash over a seq it no longer has.
        tamper(srv, &[
            "UPDATE audit_records SET seq = -2 WHERE seq = 2",
            "UPDATE audit_records SET seq = 2 WHERE seq = 3",
            "UPDATE audit_records SET seq = 3 WHERE seq = -2",
            "UPDATE audit_records SET prev_hash = (SELECT hash FROM audit_records WHERE seq = 1) WHERE seq = 2",
            "UPDATE audit_records SET prev_hash = (SELECT hash FROM audit_records WHERE seq = 2) WHERE seq = 3",
        ]).await;
        expect_broken(srv, "audit record 2 ").await;
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_platform-admin");

/// `platform-admin audit verify --database <url>`.
async fn verify(url: &str) -> std::process::Output {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["audit", "verify", "--database", url]);
    opsdeck_tests::process::output(cmd, b"", std::time::Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("platform-admin audit verify: {e:#}"))
}

/// Four mutations, so four records, whose chain verifies.
async fn four_records(srv: &crate::support::Server) {
    for slug in ["alpha", "bravo", "charlie", "delta"] {
        srv.create(slug, slug).await;
    }
    let out = verify(&srv.db_url()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 records"));
}

/// Plain SQL behind the server's back, as someone with the database would.
async fn tamper(srv: &crate::support::Server, statements: &[&str]) {
    let mut tx = srv.db.pool().begin().await.expect("begin");
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    tx.commit().await.expect("commit");
}

async fn expect_broken(srv: &crate::support::Server, names: &str) {
    let out = verify(&srv.db_url()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "verify passed a tampered chain: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains(names), "expected `{names}` in: {stderr}");
}

/// Records written before the chain existed are numbered in time order,
/// hashed when the server first opens the database, and keep their tenant
/// only when that tenant existed when they were written.
async fn records_from_before_the_chain_are_chained(backend: crate::support::Backend) {
    use crate::support::{Backend, Server, TestDb};
    let test_db = TestDb::new(backend, "records_from_before_the_chain_are_chained").await;
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
        .filter(|m| m.version <= 5)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator
        .run(&pool)
        .await
        .expect("the schema before the chain");
    sqlx::query(
        "INSERT INTO tenants (id, slug, name, plan, status, max_users, storage_gib, requests_per_minute, created_at, updated_at) \
         VALUES ('new-acme', 'acme', 'Acme', 'free', 'active', 5, 1, 60, '2025-06-01T00:00:00.000Z', '2025-06-01T00:00:00.000Z')",
    )
    .execute(&pool)
    .await
    .expect("tenant");
    // An older tenant of the same slug came and went before this one.
    for (id, at, action) in [
        (
            "0190a000-0000-7000-8000-000000000002",
            "2025-02-01T00:00:00.000Z",
            "tenant.delete",
        ),
        (
            "0190a000-0000-7000-8000-000000000001",
            "2025-01-01T00:00:00.000Z",
            "tenant.create",
        ),
        (
            "0190a000-0000-7000-8000-000000000003",
            "2025-06-01T00:00:00.000Z",
            "tenant.create",
        ),
    ] {
        sqlx::query("INSERT INTO audit_records (id, at, actor, action, target, request_id) VALUES ($1, $2, 'admin', $3, 'tenant:acme', 'r')")
            .bind(id)
            .bind(at)
            .bind(action)
            .execute(&pool)
            .await
            .expect("old record");
    }
    pool.close().await;

    let srv = Server::on(test_db).await;
    srv.create("bravo", "Bravo").await;
    let records = srv.all_audit().await;
    let seen: Vec<(i64, &str, Option<&str>)> = records
        .iter()
        .map(|r| {
            (
                r["seq"].as_i64().expect("seq"),
                r["at"].as_str().expect("at"),
                r["tenant"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        &seen[1..],
        [
            (3, "2025-06-01T00:00:00Z", Some("new-acme")),
            (2, "2025-02-01T00:00:00Z", None),
            (1, "2025-01-01T00:00:00Z", None),
        ],
        "{records:?}"
    );
    let out = verify(&srv.db_url()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 records"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_from_before_the_chain_are_chained_on_sqlite() {
    records_from_before_the_chain_are_chained(crate::support::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_from_before_the_chain_are_chained_on_postgres() {
    records_from_before_the_chain_are_chained(crate::support::Backend::Postgres).await;
}

/// The records of `GET /v1/audit` with `query`, as admin, every page.
async fn audit_where(srv: &crate::support::Server, query: &str) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    let mut path = format!("/v1/audit?limit=200&{query}");
    loop {
        let page = srv.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.text);
        items.extend(page.body["items"].as_array().cloned().unwrap_or_default());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/audit?limit=200&{query}&cursor={cursor}"),
            None => return items,
        }
    }
}

fn encode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .expect("encode")
        .trim_start_matches("v=")
        .to_string()
}
