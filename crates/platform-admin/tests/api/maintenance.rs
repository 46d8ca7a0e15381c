//! Maintenance windows through the API against a real Alertmanager: the
//! window's silence mutes its alerts until the window is ended.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::Server;

/// The state Alertmanager gives the alert of `alertname`.
async fn alert_state(srv: &Server, alertname: &str) -> Option<String> {
    let am = srv.alertmanager.as_ref().expect("an Alertmanager");
    let url = format!("{}/api/v2/alerts", am.url);
    let alerts: Value = srv.client.get(url).send().await.ok()?.json().await.ok()?;
    alerts
        .as_array()?
        .iter()
        .find(|a| a["labels"]["alertname"] == alertname)
        .and_then(|a| a["status"]["state"].as_str().map(str::to_string))
}

async fn silence_state(srv: &Server, id: &str) -> Option<String> {
    let am = srv.alertmanager.as_ref().expect("an Alertmanager");
    let silence: Value = srv
        .client
        .get(format!("{}/api/v2/silence/{id}", am.url))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    silence["status"]["state"].as_str().map(str::to_string)
}

async fn wait_for_state(srv: &Server, alertname: &str, want: &str) {
    let waited = opsdeck_tests::wait_until_async(
        &format!("{alertname} {want}"),
        Duration::from_secs(20),
        || async { alert_state(srv, alertname).await.as_deref() == Some(want) },
    )
    .await;
    if let Err(e) = waited {
        panic!(
            "{e:#}: the alert is {:?}",
            alert_state(srv, alertname).await
        );
    }
}

on_both_databases! {
    async fn a_window_silences_its_alerts_until_it_is_ended_and_the_timelines_say_so(srv) {
        let am = srv.alertmanager.as_ref().expect("an Alertmanager");
        let fire = |name: &str| json!([{"labels": {"alertname": name, "service": "db"},
            "startsAt": chrono::Utc::now().to_rfc3339(), "endsAt": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()}]);
        let (a, b) = (fire("DiskFilling"), fire("Unrelated"));
        tokio::task::block_in_place(|| am.post_alerts(&a)).expect("alert posted");
        tokio::task::block_in_place(|| am.post_alerts(&b)).expect("alert posted");
        wait_for_state(srv, "DiskFilling", "active").await;
        let incident = srv.send(Method::POST, "/v1/incidents", &json!({"title": "Disk", "severity": "P2"})).await;
        let incident_id = incident.body["incident"]["id"].as_str().expect("id").to_string();

        let ends = chrono::Utc::now() + chrono::Duration::hours(2);
        let made = srv.send(Method::POST, "/v1/maintenance", &json!({
            "ends_at": ends, "matchers": [{"name": "alertname", "value": "DiskFilling"}],
            "reason": "resize the volume"})).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        assert_eq!(made.body["status"], "active");
        assert_eq!(made.body["owner"], "admin");
        let window = made.body["id"].as_str().expect("id").to_string();
        let silence = made.body["silence_id"].as_str().expect("a silence").to_string();
        assert_eq!(silence_state(srv, &silence).await.as_deref(), Some("active"));
        wait_for_state(srv, "DiskFilling", "suppressed").await;
        assert_eq!(alert_state(srv, "Unrelated").await.as_deref(), Some("active"), "outside the window's matchers");
        let listed = srv.get("/v1/maintenance").await;
        assert_eq!(listed.body["items"][0]["id"], window.as_str());

        let ended = srv.send(Method::POST, &format!("/v1/maintenance/{window}/end"), &Value::Null).await;
        assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
        assert_eq!(ended.body["status"], "ended");
        assert_eq!(ended.body["ended_by"], "admin");
        assert_eq!(silence_state(srv, &silence).await.as_deref(), Some("expired"));
        wait_for_state(srv, "DiskFilling", "active").await;
        srv.send(Method::POST, &format!("/v1/maintenance/{window}/end"), &Value::Null).await
            .expect_error(StatusCode::CONFLICT, "invalid_state");
        srv.send(Method::POST, "/v1/maintenance/no-such-window/end", &Value::Null).await
            .expect_error(StatusCode::NOT_FOUND, "not_found");

        let detail = srv.get(&format!("/v1/incidents/{incident_id}")).await;
        let timeline = detail.body["timeline"].as_array().expect("timeline");
        let kinds: Vec<&str> = timeline.iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(kinds, ["opened", "maintenance_started", "maintenance_ended"]);
        assert!(timeline[1]["text"].as_str().is_some_and(|t| t.contains(&silence) && t.contains("resize the volume")));
        let audit = srv.get(&format!("/v1/audit?target=maintenance:{window}")).await;
        let mut actions: Vec<&str> = audit.body["items"].as_array().expect("items").iter()
            .filter_map(|r| r["action"].as_str()).collect();
        actions.sort();
        assert_eq!(actions, ["maintenance.create", "maintenance.end"]);
    }

    async fn a_window_that_starts_and_ends_by_the_clock_is_told_once_to_the_unresolved_incidents(srv) {
        let open = srv.send(Method::POST, "/v1/incidents", &json!({"title": "Open", "severity": "P3"})).await;
        let open = open.body["incident"]["id"].as_str().expect("id").to_string();
        let done = srv.send(Method::POST, "/v1/incidents", &json!({"title": "Done", "severity": "P3"})).await;
        let done = done.body["incident"]["id"].as_str().expect("id").to_string();
        srv.send(Method::POST, &format!("/v1/incidents/{done}/resolve"), &Value::Null).await;
        let now = chrono::Utc::now();
        let made = srv.send(Method::POST, "/v1/maintenance", &json!({
            "starts_at": now + chrono::Duration::hours(1), "ends_at": now + chrono::Duration::hours(2),
            "matchers": [{"name": "alertname", "value": "Later"}], "reason": "tonight"})).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        assert_eq!(made.body["status"], "scheduled");
        let window = made.body["id"].as_str().expect("id").to_string();
        let state = platform_admin::AppState::new(srv.db.clone());
        let sweep = |minutes: i64| {
            let state = state.clone();
            async move {
                platform_admin::maintenance::sweep::sweep(&state, now + chrono::Duration::minutes(minutes))
                    .await
                    .expect("sweep")
            }
        };
        assert!(sweep(30).await.is_empty());
        assert_eq!(sweep(90).await, [window.as_str()]);
        assert!(sweep(91).await.is_empty(), "told once");
        assert_eq!(sweep(180).await, [window.as_str()]);
        assert!(sweep(240).await.is_empty(), "told once");
        let kinds = |detail: &Value| -> Vec<String> {
            detail["timeline"].as_array().expect("timeline").iter()
                .filter_map(|e| e["kind"].as_str().map(str::to_string)).collect()
        };
        let told = srv.get(&format!("/v1/incidents/{open}")).await;
        assert_eq!(kinds(&told.body), ["opened", "maintenance_scheduled", "maintenance_started", "maintenance_ended"]);
        assert_eq!(told.body["timeline"][3]["actor"], "platform-admin");
        let untold = srv.get(&format!("/v1/incidents/{done}")).await;
        assert_eq!(kinds(&untold.body), ["opened", "resolved"]);
    }

    async fn a_window_without_matchers_or_in_the_past_is_refused_and_makes_no_silence(srv) {
        let am = srv.alertmanager.as_ref().expect("an Alertmanager");
        for body in [
            json!({"ends_at": "2099-01-01T00:00:00Z", "matchers": [], "reason": "all"}),
            json!({"ends_at": "2001-01-01T00:00:00Z", "matchers": [{"name": "a", "value": "b"}], "reason": "past"}),
            json!({"ends_at": "2099-01-01T00:00:00Z", "matchers": [{"name": "9a", "value": "b"}], "reason": "bad name"}),
        ] {
            srv.send(Method::POST, "/v1/maintenance", &body).await
                .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        let silences = tokio::task::block_in_place(|| am.get_json("/api/v2/silences")).expect("silences");
        assert_eq!(silences.as_array().map(Vec::len), Some(0), "{silences}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_on_a_server_without_alertmanager_is_a_409_naming_the_setting() {
    let test_db = crate::support::TestDb::new(crate::support::Backend::Sqlite, "no-am").await;
    let srv = Server::configured(test_db, platform_admin::config::Config::default(), None).await;
    let reply = srv.send(Method::POST, "/v1/maintenance", &json!({
        "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-02T00:00:00Z", "matchers": [{"name": "a", "value": "b"}], "reason": "x"})).await;
    reply.expect_error(StatusCode::CONFLICT, "invalid_state");
    assert!(reply.text.contains("alertmanager_url"), "{}", reply.text);
}
