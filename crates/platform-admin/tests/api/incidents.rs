//! Incidents through the API: their life, timeline, linked alerts, targets
//! and escalations, on both databases.

use std::sync::Arc;
use std::time::Duration;

use platform_admin::incidents::{escalation, timeline};
use platform_admin::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Reply, Server};

async fn open(srv: &Server, title: &str, severity: &str) -> Value {
    let reply = srv
        .send(
            Method::POST,
            "/v1/incidents",
            &json!({"title": title, "severity": severity}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body
}

fn id_of(detail: &Value) -> String {
    detail["incident"]["id"]
        .as_str()
        .expect("an id")
        .to_string()
}

fn kinds(detail: &Value) -> Vec<String> {
    detail["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn post(srv: &Server, path: &str, body: &Value) -> Reply {
    srv.send(Method::POST, path, body).await
}

on_both_databases! {
    async fn an_incident_only_moves_forward_and_its_timeline_records_every_change(srv) {
        let opened = open(srv, "Checkout is failing", "P1").await;
        let id = id_of(&opened);
        assert_eq!(opened["incident"]["status"], "open");
        assert_eq!(opened["incident"]["commander"], "admin");
        let acked = post(srv, &format!("/v1/incidents/{id}/acknowledge"), &Value::Null).await;
        assert_eq!(acked.status, StatusCode::OK, "{}", acked.text);
        assert!(acked.body["incident"]["acknowledged_at"].is_string());
        post(srv, &format!("/v1/incidents/{id}/acknowledge"), &Value::Null).await
            .expect_error(StatusCode::CONFLICT, "invalid_state");
        let noted = post(srv, &format!("/v1/incidents/{id}/notes"), &json!({"text": "  rolled back the deploy "})).await;
        assert_eq!(noted.status, StatusCode::CREATED, "{}", noted.text);
        let alert = json!({"fingerprint": "ABCDEF0123456789", "alertname": "HighErrorRate",
            "labels": {"service": "checkout"}, "starts_at": "2026-01-01T00:00:00Z"});
        let linked = post(srv, &format!("/v1/incidents/{id}/alerts"), &alert).await;
        assert_eq!(linked.status, StatusCode::CREATED, "{}", linked.text);
        assert_eq!(linked.body["alerts"][0]["fingerprint"], "abcdef0123456789");
        post(srv, &format!("/v1/incidents/{id}/alerts"), &alert).await
            .expect_error(StatusCode::CONFLICT, "invalid_state");
        let mitigated = post(srv, &format!("/v1/incidents/{id}/mitigate"), &Value::Null).await;
        assert_eq!(mitigated.status, StatusCode::OK, "{}", mitigated.text);
        let resolved = post(srv, &format!("/v1/incidents/{id}/resolve"), &Value::Null).await;
        assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text);
        let again = post(srv, &format!("/v1/incidents/{id}/resolve"), &Value::Null).await;
        again.expect_error(StatusCode::CONFLICT, "invalid_state");
        assert!(again.body["message"].as_str().is_some_and(|m| m.contains("resolved already")), "{}", again.text);
        post(srv, &format!("/v1/incidents/{id}/acknowledge"), &Value::Null).await
            .expect_error(StatusCode::CONFLICT, "invalid_state");
        post(srv, "/v1/incidents/no-such-incident/resolve", &Value::Null).await
            .expect_error(StatusCode::NOT_FOUND, "not_found");

        let detail = srv.get(&format!("/v1/incidents/{id}")).await;
        assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
        assert_eq!(kinds(&detail.body), ["opened", "acknowledged", "note", "alert_linked", "mitigated", "resolved"]);
        let seqs: Vec<i64> = detail.body["timeline"].as_array().expect("timeline").iter()
            .filter_map(|e| e["seq"].as_i64()).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
        assert_eq!(detail.body["timeline"][2]["text"], "rolled back the deploy");
        assert_eq!(detail.body["timeline"][2]["actor"], "admin");
        let targets: Vec<&str> = detail.body["targets"].as_array().expect("targets").iter()
            .filter_map(|t| t["state"].as_str()).collect();
        assert_eq!(targets, ["met", "met", "met"], "{}", detail.text);

        let audit = srv.get(&format!("/v1/audit?target=incident:{id}&limit=50")).await;
        let mut actions: Vec<String> = audit.body["items"].as_array().expect("items").iter()
            .filter_map(|r| r["action"].as_str().map(str::to_string)).collect();
        actions.sort();
        assert_eq!(actions, ["incident.acknowledge", "incident.link_alert", "incident.mitigate",
            "incident.note", "incident.open", "incident.resolve"]);
    }

    async fn bad_incident_input_is_refused_and_a_viewer_reads_but_cannot_write(srv) {
        post(srv, "/v1/incidents", &json!({"title": "x", "severity": "P5"})).await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let unknown = post(srv, "/v1/incidents", &json!({"title": "x", "severity": "P2", "commander": "nobody@example.test"})).await;
        unknown.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(unknown.fields(), ["commander"]);
        let id = id_of(&open(srv, "Queue backlog", "P3").await);
        post(srv, &format!("/v1/incidents/{id}/notes"), &json!({"text": "   "})).await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let read = Reply::of(srv.client.get(srv.url(&format!("/v1/incidents/{id}"))).bearer_auth(&srv.viewer).send().await).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        let write = Reply::of(srv.client.post(srv.url(&format!("/v1/incidents/{id}/acknowledge"))).bearer_auth(&srv.viewer).send().await).await;
        write.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(write.text.contains("incidents.write"), "{}", write.text);
    }

    async fn incidents_are_listed_newest_first_a_page_at_a_time_and_by_status(srv) {
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(id_of(&open(srv, &format!("Incident {i}"), "P4").await));
        }
        post(srv, &format!("/v1/incidents/{}/resolve", ids[1]), &Value::Null).await;
        let mut seen = Vec::new();
        let mut path = "/v1/incidents?limit=2".to_string();
        loop {
            let page = srv.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            for item in page.body["items"].as_array().expect("items") {
                seen.push(item["id"].as_str().expect("id").to_string());
            }
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/incidents?limit=2&cursor={cursor}"),
                None => break,
            }
        }
        let mut newest_first = ids.clone();
        newest_first.reverse();
        assert_eq!(seen, newest_first);
        let resolved = srv.get("/v1/incidents?status=resolved").await;
        let only: Vec<&str> = resolved.body["items"].as_array().expect("items").iter()
            .filter_map(|i| i["id"].as_str()).collect();
        assert_eq!(only, [ids[1].as_str()]);
        srv.get("/v1/incidents?status=closed").await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }

    async fn an_unacknowledged_p1_escalates_once_per_target_period_down_the_list(srv) {
        let config = platform_admin::config::Config::parse(
            "[incidents]\nescalation = [\"ann@example.test\", \"bob@example.test\"]\n",
        ).expect("config");
        let state = AppState { config: Arc::new(config), ..AppState::new(srv.db.clone()) };
        let p1 = open(srv, "Database down", "P1").await;
        let p3 = id_of(&open(srv, "Slow reports", "P3").await);
        let id = id_of(&p1);
        let started: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(p1["incident"]["started_at"].clone()).expect("a start");
        let at = |minutes: i64| started + chrono::Duration::minutes(minutes) + chrono::Duration::seconds(1);
        // P1 acknowledges in 5 minutes unless configured otherwise.
        assert!(escalation::sweep(&state, at(4)).await.expect("sweep").is_empty());
        let first = escalation::sweep(&state, at(5)).await.expect("sweep");
        assert_eq!(first.iter().map(|e| (e.incident.as_str(), e.to.as_str(), e.level)).collect::<Vec<_>>(),
            [(id.as_str(), "ann@example.test", 1)]);
        assert!(escalation::sweep(&state, at(9)).await.expect("sweep").is_empty(), "once per period");
        let second = escalation::sweep(&state, at(10)).await.expect("sweep");
        assert_eq!(second[0].to, "bob@example.test");
        let third = escalation::sweep(&state, at(15)).await.expect("sweep");
        assert_eq!((third[0].to.as_str(), third[0].level), ("bob@example.test", 3), "the last keeps it");
        post(srv, &format!("/v1/incidents/{id}/acknowledge"), &Value::Null).await;
        assert!(escalation::sweep(&state, at(60)).await.expect("sweep").is_empty());

        let detail = srv.get(&format!("/v1/incidents/{id}")).await;
        let to: Vec<&str> = detail.body["escalations"].as_array().expect("escalations").iter()
            .filter_map(|e| e["to"].as_str()).collect();
        assert_eq!(to, ["ann@example.test", "bob@example.test", "bob@example.test"]);
        assert_eq!(kinds(&detail.body), ["opened", "escalated", "escalated", "escalated", "acknowledged"]);
        assert!(detail.body["timeline"][1]["text"].as_str().is_some_and(|t| t.contains("ann@example.test") && t.contains("5m")));
        let quiet = srv.get(&format!("/v1/incidents/{p3}")).await;
        assert_eq!(kinds(&quiet.body), ["opened"], "a P3 never escalates");
        let audit = srv.get(&format!("/v1/audit?target=incident:{id}&limit=50")).await;
        let escalations = audit.body["items"].as_array().expect("items").iter()
            .filter(|r| r["action"] == "incident.escalate" && r["actor"] == "platform-admin").count();
        assert_eq!(escalations, 3);
    }

    async fn a_timeline_append_belongs_to_the_transaction_that_made_it(srv) {
        let id = id_of(&open(srv, "Run engine appends", "P2").await);
        let mut tx = srv.db.begin().await.expect("a transaction");
        timeline::append(&mut tx, &id, "runner", "step_started", "rolled back", None).await.expect("append");
        tx.rollback().await.expect("rollback");
        let mut tx = srv.db.begin().await.expect("a transaction");
        let seq = timeline::append(&mut tx, &id, "runner", "step_started", "Step 1: fail over",
            Some(&json!({"run": "r1"}))).await.expect("append");
        tx.commit().await.expect("commit");
        assert_eq!(seq, 2);
        let detail = srv.get(&format!("/v1/incidents/{id}")).await;
        assert_eq!(kinds(&detail.body), ["opened", "step_started"]);
        assert_eq!(detail.body["timeline"][1]["detail"]["run"], "r1");
        let mut tx = srv.db.begin().await.expect("a transaction");
        let missing = timeline::append(&mut tx, "no-such-incident", "runner", "note", "x", None).await;
        assert!(matches!(missing, Err(platform_admin::Error::IncidentNotFound(_))), "{missing:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_runs_until_due_and_is_breached_after_by_the_servers_clock() {
    let test_db = crate::support::TestDb::new(crate::support::Backend::Sqlite, "targets").await;
    let config = platform_admin::config::Config::parse(
        "[incidents.targets.P2]\nacknowledge = \"1s\"\nmitigate = \"1h\"\n",
    )
    .expect("config");
    let srv = Server::configured(test_db, config, None).await;
    let id = id_of(&open(&srv, "Latency", "P2").await);
    let first = srv.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(
        first.body["targets"][0]["state"], "running",
        "{}",
        first.text
    );
    assert_eq!(first.body["targets"][0]["seconds"], 1);
    assert_eq!(first.body["targets"][1]["seconds"], 3600);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = srv.get(&format!("/v1/incidents/{id}")).await;
    let states: Vec<&str> = later.body["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t["state"].as_str())
        .collect();
    assert_eq!(states, ["breached", "running", "running"], "{}", later.text);
}
