//! The job routes: the event stream of one job (state, log, end; resumed
//! after `Last-Event-ID`; woken by the store's change signal, not its
//! fallback poll) and cancelling over the API. The jobs are driven by the
//! test as a worker would, through the store.

use std::time::Duration;

use platform_admin::jobs::{self, NewJob, Progress};
use platform_admin::{db, Db, DbKind};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Reply, Server};

/// Well under the stream's fallback poll (5 s): an event arriving within
/// this was woken by the change, not found by the poll.
const WOKEN_WITHIN: Duration = Duration::from_millis(2500);

/// Longest any one read of a stream may wait.
const READ_WITHIN: Duration = Duration::from_secs(20);

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: Value,
}

/// Reads events off a response, a chunk at a time, each read bounded.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    pub async fn open(srv: &Server, path: &str, last_event_id: Option<&str>) -> SseReader {
        // No total timeout: a stream is long; each read has its own.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let mut request = client.get(srv.url(path)).bearer_auth(&srv.admin);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = tokio::time::timeout(READ_WITHIN, request.send())
            .await
            .expect("the stream answers in time")
            .expect("the stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        SseReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), `None` at the end of
    /// the stream.
    pub async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    event: "message".to_string(),
                    id: None,
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                event.data = serde_json::from_str(&data).expect("event data is JSON");
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| {
                    panic!("no event within {within:?}; buffered: {:?}", self.buffer)
                })
                .expect("the stream reads");
            match chunk {
                Some(bytes) => self
                    .buffer
                    .push_str(std::str::from_utf8(&bytes).expect("UTF-8")),
                None => return None,
            }
        }
    }

    /// Every event up to and including `end`, and that the stream closes.
    pub async fn until_end(&mut self, within: Duration) -> Vec<SseEvent> {
        let mut all = Vec::new();
        loop {
            let event = self
                .next(within)
                .await
                .unwrap_or_else(|| panic!("the stream closed before `end`: {all:#?}"));
            let last = event.event == "end";
            all.push(event);
            if last {
                assert!(
                    self.next(within).await.is_none(),
                    "the stream closes after `end`"
                );
                return all;
            }
        }
    }
}

fn a_job() -> NewJob {
    NewJob {
        kind: "backup".to_string(),
        tenant: None,
        payload: json!({ "target": "main-db", "type": "full" }),
        target: None,
        actor: Some("admin".to_string()),
    }
}

/// Where the test's "worker" writes: on PostgreSQL another pool, as
/// another server on the database would (so the stream must learn of it
/// through the database); on SQLite the server's own.
async fn worker_db(srv: &Server) -> Db {
    match srv.db.kind() {
        DbKind::Postgres => Db::connect(&srv.db_url()).await.expect("second pool"),
        DbKind::Sqlite => srv.db.clone(),
    }
}

fn lines_of(events: &[SseEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event == "log")
        .filter_map(|e| e.data["line"].as_str().map(str::to_string))
        .collect()
}

on_both_databases! {
    async fn a_job_stream_sends_its_state_log_and_end_as_they_happen_and_resumes_after_the_last_event(srv) {
        let worker = worker_db(srv).await;
        let job = jobs::enqueue(&srv.db, a_job(), db::now()).await.expect("enqueue");
        let path = format!("/v1/jobs/{}/events", job.id);
        let mut stream = SseReader::open(srv, &path, None).await;
        let first = stream.next(READ_WITHIN).await.expect("the job first");
        assert_eq!((first.event.as_str(), first.id.as_deref()), ("job", Some("0")));
        assert_eq!(first.data["state"], "queued");

        let claimed = jobs::claim_next(&worker, "test-worker", jobs::LEASE, db::now())
            .await.expect("claim").expect("the job");
        let running = stream.next(WOKEN_WITHIN).await.expect("running");
        assert_eq!((running.event.as_str(), &running.data["state"]), ("job", &json!("running")));

        jobs::append_log(&worker, &claimed.claim, &["one".to_string(), "two".to_string()], db::now())
            .await.expect("log");
        for want in ["one", "two"] {
            let line = stream.next(WOKEN_WITHIN).await.expect("a line");
            assert_eq!((line.event.as_str(), &line.data["line"]), ("log", &json!(want)), "{line:?}");
        }
        let progress = Progress { done: 40, total: Some(100), phase: Some("backing up".into()) };
        jobs::report_progress(&worker, &claimed.claim, &progress, db::now()).await.expect("progress");
        let moved = stream.next(WOKEN_WITHIN).await.expect("progress");
        assert_eq!(moved.event, "job");
        assert_eq!(moved.data["progress"], json!({ "phase": "backing up", "percent": 40.0 }));
        assert_eq!(moved.id.as_deref(), Some("2"), "ids carry the last line sent");

        jobs::append_log(&worker, &claimed.claim, &["three".to_string()], db::now()).await.expect("log");
        let mut tx = worker.begin().await.expect("begin");
        jobs::succeed(&mut tx, &claimed.claim, &json!({ "label": "L" }), db::now()).await.expect("succeed");
        tx.commit().await.expect("commit");
        jobs::changed(&worker);
        let rest = stream.until_end(WOKEN_WITHIN).await;
        assert_eq!(lines_of(&rest), ["three"], "{rest:#?}");
        let end = rest.last().expect("end");
        assert_eq!(end.data["state"], "succeeded");
        assert_eq!(end.data["result"], json!({ "label": "L" }));
        assert_eq!(end.id.as_deref(), Some("3"));

        // Resumed after line 1: lines 2 and 3, then the end; nothing twice.
        let mut resumed = SseReader::open(srv, &path, Some("1")).await;
        let replay = resumed.until_end(READ_WITHIN).await;
        assert_eq!(lines_of(&replay), ["two", "three"], "{replay:#?}");
        assert_eq!(replay.last().map(|e| e.data["state"].clone()), Some(json!("succeeded")));
        // From the start: every line.
        let mut again = SseReader::open(srv, &path, None).await;
        assert_eq!(lines_of(&again.until_end(READ_WITHIN).await), ["one", "two", "three"]);
    }

    async fn a_long_log_streams_in_order_a_batch_at_a_time(srv) {
        let job = jobs::enqueue(&srv.db, a_job(), db::now()).await.expect("enqueue");
        let claimed = jobs::claim_next(&srv.db, "w", jobs::LEASE, db::now()).await.expect("claim").expect("job");
        let lines: Vec<String> = (1..=450).map(|n| format!("line {n}")).collect();
        jobs::append_log(&srv.db, &claimed.claim, &lines, db::now()).await.expect("log");
        let mut tx = srv.db.begin().await.expect("begin");
        jobs::fail(&mut tx, &claimed.claim, "broke", db::now()).await.expect("fail");
        tx.commit().await.expect("commit");
        let mut stream = SseReader::open(srv, &format!("/v1/jobs/{}/events", job.id), None).await;
        let events = stream.until_end(READ_WITHIN).await;
        assert_eq!(lines_of(&events), lines);
        let end = events.last().expect("end");
        assert_eq!((end.data["state"].as_str(), end.data["error"].as_str()), (Some("failed"), Some("broke")));
        assert_eq!(end.id.as_deref(), Some("450"));
    }

    async fn a_stream_of_an_unknown_job_or_with_a_bad_last_event_id_is_refused(srv) {
        let unknown = srv.get("/v1/jobs/0190c6f2-0000-7000-8000-000000000000/events").await;
        unknown.expect_error(StatusCode::NOT_FOUND, "not_found");
        let job = jobs::enqueue(&srv.db, a_job(), db::now()).await.expect("enqueue");
        let bad = Reply::of(
            srv.request(Method::GET, &format!("/v1/jobs/{}/events", job.id))
                .header("last-event-id", "yesterday")
                .send()
                .await,
        )
        .await;
        bad.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }

    async fn cancelling_a_queued_job_ends_it_at_once_and_an_ended_one_is_refused(srv) {
        let job = jobs::enqueue(&srv.db, a_job(), db::now()).await.expect("enqueue");
        let mut stream = SseReader::open(srv, &format!("/v1/jobs/{}/events", job.id), None).await;
        assert_eq!(stream.next(READ_WITHIN).await.expect("job").data["state"], "queued");

        let path = format!("/v1/jobs/{}/cancel", job.id);
        let viewer = Reply::of(srv.client.post(srv.url(&path)).bearer_auth(&srv.viewer).send().await).await;
        viewer.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(viewer.text.contains("backups.run"), "{}", viewer.text);

        let cancelled = Reply::of(srv.request(Method::POST, &path).send().await).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
        assert_eq!(cancelled.body["state"], "cancelled");
        let end = stream.until_end(WOKEN_WITHIN).await;
        assert_eq!(end.last().map(|e| e.data["state"].clone()), Some(json!("cancelled")));
        assert!(jobs::claim_next(&srv.db, "w", jobs::LEASE, db::now()).await.expect("claim").is_none());

        let again = Reply::of(srv.request(Method::POST, &path).send().await).await;
        again.expect_error(StatusCode::CONFLICT, "invalid_state");
        assert!(again.text.contains("already ended"), "{}", again.text);
        Reply::of(srv.request(Method::POST, "/v1/jobs/0190c6f2-0000-7000-8000-000000000000/cancel").send().await)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        let audit = srv.all_audit().await;
        let records: Vec<&Value> = audit.iter().filter(|r| r["action"] == "job.cancel").collect();
        assert_eq!(records.len(), 1, "{audit:#?}");
        assert_eq!(records[0]["target"], format!("job:{}", job.id));
    }

    async fn cancelling_a_restore_or_a_failover_needs_what_starting_it_needs(srv) {
        let role = srv.send(Method::POST, "/v1/rbac/roles",
            &json!({"name": "backup-runner", "permissions": ["backups.read", "backups.run"]})).await;
        assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
        let (runner, _) = crate::rbac::account(srv, "runner", opsdeck_api::rbac::BuiltinRole::Viewer, None).await;
        let mut tx = srv.db.begin().await.expect("begin");
        platform_admin::rbac::store::insert_binding(&mut tx, &runner, "backup-runner", None, db::now())
            .await.expect("binding");
        tx.commit().await.expect("commit");
        let token = crate::rbac::token_of(srv, &runner, "runner-token", None).await;
        for (kind, permission) in [("restore", "backups.restore"), ("cluster.failover", "clusters.failover")] {
            let job = jobs::enqueue(&srv.db, NewJob { kind: kind.to_string(), ..a_job() }, db::now())
                .await.expect("enqueue");
            let path = format!("/v1/jobs/{}/cancel", job.id);
            let refused = crate::rbac::as_token(srv, &token, Method::POST, &path, None).await;
            refused.expect_error(StatusCode::FORBIDDEN, "forbidden");
            assert!(refused.text.contains(permission), "{}", refused.text);
            let still = jobs::get(&srv.db, &job.id).await.expect("get").expect("the job");
            assert_eq!(still.state, jobs::JobState::Queued, "{kind}: nothing was cancelled");
            let cancelled = Reply::of(srv.request(Method::POST, &path).send().await).await;
            assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
        }
        let backup = jobs::enqueue(&srv.db, a_job(), db::now()).await.expect("enqueue");
        let ok = crate::rbac::as_token(srv, &token, Method::POST, &format!("/v1/jobs/{}/cancel", backup.id), None).await;
        assert_eq!(ok.status, StatusCode::OK, "a backup needs backups.run only: {}", ok.text);
    }

    async fn cancelling_a_running_job_asks_its_worker_and_it_never_succeeds(srv) {
        let job = jobs::enqueue(&srv.db, a_job(), db::now()).await.expect("enqueue");
        let claimed = jobs::claim_next(&srv.db, "w", jobs::LEASE, db::now()).await.expect("claim").expect("job");
        let asked = Reply::of(srv.request(Method::POST, &format!("/v1/jobs/{}/cancel", job.id)).send().await).await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text);
        assert_eq!(asked.body["state"], "running");
        assert!(asked.body["cancel_requested_at"].is_string(), "{}", asked.text);
        let mut tx = srv.db.begin().await.expect("begin");
        let refused = jobs::succeed(&mut tx, &claimed.claim, &json!({}), db::now()).await;
        assert!(matches!(refused, Err(platform_admin::Error::JobCancelRequested(_))), "{refused:?}");
        drop(tx);
        let shown = srv.get(&format!("/v1/jobs/{}", job.id)).await;
        assert_eq!(shown.body["state"], "running", "{}", shown.text);
    }
}
