//! Playbook runs through the API with a real worker: a run goes through a
//! note, waits at a manual step until it is ticked done, takes a check's
//! failure branch, waits for an approval that its starter may not give
//! and a holder of the role may, suspends a tenant, and ends; its events
//! name who did what. Bad playbooks and missing permissions are refused
//! before anything runs.

use std::time::Duration;

use opsdeck_api::rbac::BuiltinRole;
use platform_admin::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::rbac::{account, as_token};
use crate::support::{Reply, Server, TestDb};

const WITHIN: Duration = Duration::from_secs(30);

async fn server(backend: opsdeck_tests::Backend, test: &str) -> Server {
    let config = Config::parse("").expect("an empty configuration");
    Server::configured(
        TestDb::new(backend, test).await,
        config,
        Some(chrono::Duration::seconds(3)),
    )
    .await
}

/// Reads the run until `done` says so.
async fn until(srv: &Server, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WITHIN;
    let mut last = Value::Null;
    while tokio::time::Instant::now() < deadline {
        let reply = srv.get(&format!("/v1/playbook-runs/{id}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        if done(&reply.body) {
            return reply.body;
        }
        last = reply.body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("run {id} did not become {what} within {WITHIN:?}: {last:#}");
}

fn step<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id}: {run:#}"))
}

const PLAYBOOK: &str = r#"version: 1
id: drill
title: Drill
severity: P3
inputs:
  tenant: { type: tenant }
steps:
  - id: hello
    note: "Drilling ${inputs.tenant}"
  - id: look
    manual:
      instructions: Look at the dashboard
      checklist: [Dashboard seen, Team told]
  - id: error-rate
    check:
      query: 'sum(rate(http_requests_total[5m]))'
      condition: "< 1"
    on_failure: { goto: approve }
  - id: skipped-note
    note: never
  - id: approve
    approval: { role: incident-commander, reason: Suspending a tenant }
  - id: suspend
    action:
      name: tenant.suspend
      args: { tenant: "${inputs.tenant}" }
"#;

async fn start(srv: &Server, token: &str, source: &str, inputs: Value) -> Reply {
    as_token(
        srv,
        token,
        Method::POST,
        "/v1/playbook-runs",
        Some(&json!({ "source": source, "inputs": inputs })),
    )
    .await
}

async fn a_run_waits_on_people_takes_its_failure_branch_and_ends_as_its_steps_say(
    backend: opsdeck_tests::Backend,
) {
    let srv = &server(backend, "playbook_run_end_to_end").await;
    srv.create("acme", "Acme").await;
    let (_, starter) = account(srv, "starter", BuiltinRole::Operator, None).await;
    let (_, commander) = account(srv, "commander", BuiltinRole::IncidentCommander, None).await;
    let (_, viewer) = account(srv, "watcher", BuiltinRole::Viewer, None).await;

    let started = start(srv, &starter, PLAYBOOK, json!({"tenant": "acme"})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let id = started.body["id"].as_str().expect("an id").to_string();
    assert_eq!(started.body["started_by"], "starter");

    let run = until(srv, &id, "waiting at look", |r| r["state"] == "waiting").await;
    assert_eq!(run["waiting"]["step"], "look", "{run:#}");
    assert_eq!(step(&run, "hello")["state"], "succeeded");
    assert!(
        run["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["kind"] == "note" && e["message"] == "Drilling acme"),
        "{run:#}"
    );

    // Done needs every item ticked; a viewer may not tick.
    let path = format!("/v1/playbook-runs/{id}/steps/look/tick");
    as_token(
        srv,
        &viewer,
        Method::POST,
        &path,
        Some(&json!({"items": [0]})),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    let early = as_token(
        srv,
        &starter,
        Method::POST,
        &path,
        Some(&json!({"items": [0], "done": true})),
    )
    .await;
    early.expect_error(StatusCode::CONFLICT, "invalid_state");
    as_token(
        srv,
        &starter,
        Method::POST,
        &path,
        Some(&json!({"items": [7]})),
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let ticked = as_token(
        srv,
        &starter,
        Method::POST,
        &path,
        Some(&json!({"items": [0]})),
    )
    .await;
    assert_eq!(ticked.status, StatusCode::OK, "{}", ticked.text);
    assert_eq!(step(&ticked.body, "look")["checklist"][0]["ticked"], true);
    assert_eq!(step(&ticked.body, "look")["checklist"][1]["ticked"], false);
    let done = as_token(
        srv,
        &starter,
        Method::POST,
        &path,
        Some(&json!({"items": [1], "done": true})),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);

    // No Prometheus is configured: the check fails and goes to `approve`.
    let run = until(srv, &id, "waiting at approve", |r| {
        r["waiting"]["step"] == "approve"
    })
    .await;
    let check = step(&run, "error-rate");
    assert_eq!(check["state"], "failed", "{run:#}");
    assert!(
        check["error"]
            .as_str()
            .is_some_and(|e| e.contains("no Prometheus")),
        "{check:#}"
    );
    assert_eq!(step(&run, "skipped-note")["state"], "skipped");
    assert_eq!(run["waiting"]["role"], "incident-commander");
    assert_eq!(
        run["waiting"]["following"].as_array().map(Vec::len),
        Some(1),
        "{run:#}"
    );
    assert!(
        run["waiting"]["following"][0]
            .as_str()
            .is_some_and(|s| s.contains("acme")),
        "{run:#}"
    );

    // The starter may not approve; an operator without the role neither.
    let approve = format!("/v1/playbook-runs/{id}/approve");
    let refused = as_token(srv, &starter, Method::POST, &approve, None).await;
    let body = refused.expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("started this run")),
        "{body:#}"
    );
    let (_, other_operator) = account(srv, "other-operator", BuiltinRole::Operator, None).await;
    let body = as_token(srv, &other_operator, Method::POST, &approve, None)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden")
        .clone();
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("incident-commander")),
        "{body:#}"
    );
    // Each reader is told whether it may approve, by the same rule.
    let run_path = format!("/v1/playbook-runs/{id}");
    let standing = |body: &Value| {
        (
            body["waiting"]["may_approve"].clone(),
            body["waiting"]["why_not"].clone(),
        )
    };
    let (may, why) = standing(
        &as_token(srv, &starter, Method::GET, &run_path, None)
            .await
            .body,
    );
    assert_eq!(may, json!(false));
    assert!(
        why.as_str().is_some_and(|w| w.contains("started this run")),
        "{why}"
    );
    let (may, why) = standing(
        &as_token(srv, &other_operator, Method::GET, &run_path, None)
            .await
            .body,
    );
    assert_eq!(may, json!(false));
    assert!(
        why.as_str()
            .is_some_and(|w| w.contains("incident-commander")),
        "{why}"
    );
    let (may, why) = standing(
        &as_token(srv, &commander, Method::GET, &run_path, None)
            .await
            .body,
    );
    assert_eq!((may, why), (json!(true), Value::Null));
    let approved = as_token(srv, &commander, Method::POST, &approve, None).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(
        approved.body["waiting"]["following"][0]
            .as_str()
            .map(|s| s.starts_with("suspend")),
        Some(true),
        "{:#}",
        approved.body
    );
    as_token(srv, &commander, Method::POST, &approve, None)
        .await
        .expect_error(StatusCode::CONFLICT, "invalid_state");

    let run = until(srv, &id, "ended", |r| {
        matches!(r["state"].as_str(), Some("succeeded" | "failed"))
    })
    .await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert_eq!(
        srv.get("/v1/tenants/acme").await.body["status"],
        "suspended"
    );
    let kinds: Vec<(&str, &str)> = run["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or(""),
                e["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for wanted in [
        ("started", "starter"),
        ("ticked", "starter"),
        ("step_done", "starter"),
        ("approved", "commander"),
        ("succeeded", "playbook-engine"),
    ] {
        assert!(kinds.contains(&wanted), "{wanted:?} in {kinds:?}");
    }
    let audit = srv.all_audit().await;
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or(""),
                r["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for wanted in [
        ("playbook.run", "starter"),
        ("playbook.tick", "starter"),
        ("playbook.approve", "commander"),
        ("tenant.suspend", "starter"),
    ] {
        assert!(actions.contains(&wanted), "{wanted:?} in {actions:?}");
    }

    // A failed run can be resumed from a step by someone allowed to run it.
    let listed = srv.get("/v1/playbook-runs").await;
    assert_eq!(
        listed.body["items"][0]["id"],
        id.as_str(),
        "{}",
        listed.text
    );
}

async fn bad_playbooks_and_missing_permissions_are_refused_before_anything_runs(
    backend: opsdeck_tests::Backend,
) {
    let srv = &server(backend, "playbook_run_refusals").await;
    let (_, commander) = account(srv, "commander", BuiltinRole::IncidentCommander, None).await;
    let broken = "version: 1\nid: broken\ntitle: Broken\nseverity: P9\nsteps:\n  - id: a\n    teleport: now\n";
    let reply = start(srv, &srv.admin, broken, json!({})).await;
    let body = reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let details = body["details"].as_array().expect("details");
    assert!(details.len() >= 2, "every error: {body:#}");
    assert!(
        details.iter().all(|d| d["message"]
            .as_str()
            .is_some_and(|m| m.contains("playbook.yaml:"))),
        "{body:#}"
    );

    let missing = start(srv, &srv.admin, PLAYBOOK, json!({})).await;
    let body = missing.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("tenant")),
        "{body:#}"
    );

    // An incident commander runs playbooks but may not suspend tenants.
    let refused = start(srv, &commander, PLAYBOOK, json!({"tenant": "acme"})).await;
    let body = refused.expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("tenants.write")),
        "{body:#}"
    );
    assert!(
        body["details"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(":")),
        "{body:#}"
    );
    start(srv, &srv.viewer, PLAYBOOK, json!({"tenant": "acme"}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(srv.get("/v1/playbook-runs").await.body["items"], json!([]));
    assert_eq!(srv.get("/v1/jobs").await.body["items"], json!([]));

    // A built-in playbook is started by its id, with its defaults.
    let builtin = start(srv, &srv.admin, "high-error-rate", json!({})).await;
    assert_eq!(builtin.status, StatusCode::CREATED, "{}", builtin.text);
    assert_eq!(builtin.body["playbook"], "high-error-rate");
    assert_eq!(
        builtin.body["steps"][0]["summary"]
            .as_str()
            .map(|s| s.contains("platform-admin")),
        Some(true),
        "{:#}",
        builtin.body
    );
    start(srv, &srv.admin, "no-such-playbook", json!({}))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

/// A run's switchover step against real Redis servers under three real
/// Sentinels: one switchover job, followed to its end, its result on the step.
async fn a_switchover_step_runs_one_job_and_records_its_result(backend: opsdeck_tests::Backend) {
    let set = opsdeck_tests::blocking(|| {
        opsdeck_tests::redis::RedisSentinel::start(Duration::from_millis(1000))
    })
    .unwrap_or_else(|e| panic!("Redis with three Sentinels: {e:#}"));
    let config = Config::parse(&set.cluster_config("cache")).expect("configuration");
    let srv = &Server::configured(
        TestDb::new(backend, "playbook_switchover").await,
        config,
        Some(chrono::Duration::seconds(3)),
    )
    .await;
    let (old, new) = (set.nodes[0].address(), set.nodes[1].address());
    let playbook = "version: 1\nid: switch\ntitle: Switch\nseverity: P2\nsteps:\n  - id: switch\n    action:\n      name: cluster.switchover\n      args: { cluster: cache }\n";
    let started = start(srv, &srv.admin, playbook, json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let id = started.body["id"].as_str().expect("an id").to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let run = loop {
        let run = srv.get(&format!("/v1/playbook-runs/{id}")).await.body;
        if matches!(run["state"].as_str(), Some("succeeded" | "failed")) {
            break run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run did not end: {run:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(run["state"], "succeeded", "{run:#}");
    let switch = step(&run, "switch");
    assert_eq!(
        switch["result"]["result"]["new_primary"],
        new.as_str(),
        "{switch:#}"
    );
    let jobs = srv.get("/v1/jobs").await.body;
    let switchovers: Vec<&Value> = jobs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|j| j["kind"] == "cluster.switchover")
        .collect();
    assert_eq!(switchovers.len(), 1, "{jobs:#}");
    assert_eq!(switchovers[0]["id"], switch["job"]);
    assert_eq!(set.master().await.expect("a master"), new);
    assert_ne!(old, new);
}

/// A run whose job was taken by a worker that died mid-step, its backup
/// already sent: the next worker takes the job up again (attempt 2), goes
/// on at that step and follows the backup's job instead of sending another.
async fn a_run_taken_over_after_its_worker_died_goes_on_at_its_step_without_resending(
    backend: opsdeck_tests::Backend,
) {
    let config_text = "[[backup_targets]]\nid = \"main-db\"\nkind = \"postgresql\"\nstanza = \"main\"\npgbackrest_config = \"/nonexistent/pgbackrest.conf\"\n";
    let config = Config::parse(config_text).expect("configuration");
    // No worker yet: the test plays the one that dies.
    let srv = &Server::configured(
        TestDb::new(backend, "playbook_takeover").await,
        config.clone(),
        None,
    )
    .await;
    let playbook = "version: 1\nid: takeover\ntitle: Takeover\nseverity: P4\nsteps:\n  - id: first\n    note: first\n  - id: backup\n    action:\n      name: backup.create\n      args: { target: main-db, type: full }\n  - id: last\n    note: last\n";
    let started = start(srv, &srv.admin, playbook, json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let id = started.body["id"].as_str().expect("an id").to_string();

    // The dying worker's attempt: it claimed the run's job, ran the note,
    // sent the backup (its job id recorded on the step) and stopped.
    let now = platform_admin::db::now();
    let claimed = platform_admin::jobs::claim_next(
        &srv.db,
        "dying-worker",
        chrono::Duration::milliseconds(500),
        now,
    )
    .await
    .expect("claim")
    .expect("the run's job");
    assert_eq!(claimed.job.kind, "playbook_run");
    let backup = platform_admin::jobs::enqueue(
        &srv.db,
        platform_admin::jobs::NewJob {
            kind: "backup".into(),
            tenant: None,
            payload: json!({ "target": "main-db", "type": "full" }),
            target: Some("backup-target:main-db".into()),
            actor: Some("admin".into()),
        },
        now,
    )
    .await
    .expect("the backup's job");
    for sql in [
        "UPDATE playbook_runs SET state = 'running', cursor = 1 WHERE id = $1",
        "UPDATE playbook_run_steps SET state = 'succeeded', attempt = 1 WHERE run_id = $1 AND idx = 0",
    ] {
        sqlx::query(sql).bind(&id).execute(srv.db.pool()).await.expect("the dying worker's writes");
    }
    sqlx::query("UPDATE playbook_run_steps SET state = 'running', attempt = 1, job_id = $2 WHERE run_id = $1 AND idx = 1")
        .bind(&id)
        .bind(&backup.id)
        .execute(srv.db.pool())
        .await
        .expect("the step's job");

    // A worker comes up once the lease ran out.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let state = platform_admin::AppState::with_config(srv.db.clone(), config);
    let worker = platform_admin::worker::spawn(state, chrono::Duration::seconds(3));
    let run = until(srv, &id, "ended", |r| {
        matches!(r["state"].as_str(), Some("succeeded" | "failed"))
    })
    .await;
    worker.abort();

    // The backup's job failed (its repository does not exist): the step
    // reports that job, sent once; the note before it ran once.
    assert_eq!(run["state"], "failed", "{run:#}");
    let step_backup = step(&run, "backup");
    assert_eq!(step_backup["job"], backup.id.as_str(), "{run:#}");
    assert_eq!(step_backup["attempt"], 1, "{run:#}");
    assert_eq!(step(&run, "first")["attempt"], 1, "{run:#}");
    let jobs = srv.get("/v1/jobs").await.body;
    let backups: Vec<&Value> = jobs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|j| j["kind"] == "backup")
        .collect();
    assert_eq!(backups.len(), 1, "{jobs:#}");
    let run_job = platform_admin::jobs::get(&srv.db, &claimed.job.id)
        .await
        .expect("read")
        .expect("the run's job");
    assert_eq!(run_job.attempts, 2, "{run_job:?}");
    let kinds: Vec<&str> = run["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"resumed"), "{kinds:?}");
    assert!(!kinds.contains(&"action_sent"), "{kinds:?}");
}

/// A silence step looks for the silence carrying its marker before it
/// makes one: a run taken up again after its silence was made (here, made
/// while the run waited) finds it and makes no second one.
async fn a_silence_step_finds_the_silence_of_its_marker_instead_of_making_another(
    backend: opsdeck_tests::Backend,
) {
    let am = opsdeck_tests::blocking(opsdeck_tests::alertmanager::Alertmanager::start)
        .unwrap_or_else(|e| panic!("Alertmanager: {e:#}"));
    let config = Config::parse(&format!(
        "[monitoring]\nalertmanager_url = \"{}\"\n",
        am.url
    ))
    .expect("configuration");
    let srv = &Server::configured(
        TestDb::new(backend, "playbook_silence").await,
        config,
        Some(chrono::Duration::seconds(3)),
    )
    .await;
    let playbook = "version: 1\nid: quiet\ntitle: Quiet\nseverity: P4\nsteps:\n  - id: wait\n    manual:\n      instructions: Wait\n      checklist: []\n  - id: quiet\n    action:\n      name: silence.create\n      args:\n        matchers: ['alertname=\"Drill\"']\n        duration: 1h\n        comment: drill\n";
    let started = start(srv, &srv.admin, playbook, json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let id = started.body["id"].as_str().expect("an id").to_string();
    until(srv, &id, "waiting", |r| r["state"] == "waiting").await;
    let marker = format!("opsdeck-run:{id}:quiet");
    let now = chrono::Utc::now();
    let made = srv
        .client
        .post(format!("{}/api/v2/silences", am.url))
        .json(&json!({
            "matchers": [{"name": "alertname", "value": "Drill", "isRegex": false, "isEqual": true}],
            "startsAt": now.to_rfc3339(),
            "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
            "createdBy": "admin",
            "comment": format!("drill ({marker})"),
        }))
        .send()
        .await
        .expect("Alertmanager answers");
    assert!(made.status().is_success(), "{}", made.status());
    let made: Value = made.json().await.expect("JSON");

    let done = as_token(
        srv,
        &srv.admin,
        Method::POST,
        &format!("/v1/playbook-runs/{id}/steps/wait/tick"),
        Some(&json!({"done": true})),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let run = until(srv, &id, "ended", |r| {
        matches!(r["state"].as_str(), Some("succeeded" | "failed"))
    })
    .await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    let quiet = step(&run, "quiet");
    assert_eq!(quiet["result"]["silence"], made["silenceID"], "{quiet:#}");
    assert_eq!(quiet["result"]["found"], true, "{quiet:#}");
    let silences = opsdeck_tests::blocking(|| am.get_json("/api/v2/silences")).expect("silences");
    let marked = silences
        .as_array()
        .expect("a list")
        .iter()
        .filter(|s| s["comment"].as_str().is_some_and(|c| c.contains(&marker)))
        .count();
    assert_eq!(marked, 1, "{silences:#}");
}

/// A run waiting in `wait_until` holds no worker between its looks: a
/// backup queued meanwhile runs at once on the server's one worker, the
/// run goes on waiting, and the timeline is not told at each look.
async fn a_job_queued_while_a_run_waits_in_wait_until_runs_at_once(
    backend: opsdeck_tests::Backend,
) {
    // A repository that does not exist: the backup's job fails as soon as
    // it runs, which is all this needs.
    let config_text = "[[backup_targets]]\nid = \"main-db\"\nkind = \"postgresql\"\nstanza = \"main\"\npgbackrest_config = \"/nonexistent/pgbackrest.conf\"\n";
    let config = Config::parse(config_text).expect("configuration");
    let srv = &Server::configured(
        TestDb::new(backend, "playbook_wait_until_frees_worker").await,
        config,
        Some(chrono::Duration::seconds(3)),
    )
    .await;
    // No Prometheus is configured, so the check is never true: the run
    // waits out its timeout, looking every second.
    let playbook = "version: 1\nid: waiting\ntitle: Waiting\nseverity: P4\nsteps:\n  - id: settle\n    wait_until:\n      query: 'up'\n      condition: '> 0'\n      interval: 1s\n      timeout: 60s\n";
    let started = start(srv, &srv.admin, playbook, json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let id = started.body["id"].as_str().expect("an id").to_string();
    until(srv, &id, "waiting in settle", |r| {
        r["state"] == "running" && step(r, "settle")["state"] == "running"
    })
    .await;
    // At least one look has been made and the next one queued for later.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let backup = platform_admin::jobs::enqueue(
        &srv.db,
        platform_admin::jobs::NewJob {
            kind: "backup".into(),
            tenant: None,
            payload: json!({ "target": "main-db", "type": "full" }),
            target: Some("backup-target:main-db".into()),
            actor: Some("admin".into()),
        },
        platform_admin::db::now(),
    )
    .await
    .expect("the backup's job");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let ended = loop {
        let job = platform_admin::jobs::get(&srv.db, &backup.id)
            .await
            .expect("read")
            .expect("the backup's job");
        if job.finished_at.is_some() {
            break job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the backup did not run within 5 s while the run waited: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(ended.attempts, 1, "{ended:?}");

    let run = srv.get(&format!("/v1/playbook-runs/{id}")).await.body;
    assert_eq!(run["state"], "running", "{run:#}");
    assert_eq!(step(&run, "settle")["state"], "running", "{run:#}");
    let running_events = run["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "running")
        .count();
    assert_eq!(running_events, 1, "{run:#}");
    // Each look was its own job, none of them left running.
    let jobs = srv.get("/v1/jobs?limit=100").await.body;
    let looks: Vec<&Value> = jobs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|j| j["kind"] == "playbook_run")
        .collect();
    assert!(looks.len() >= 3, "{jobs:#}");
}

/// A run started for an incident tells the incident's timeline, in the
/// transactions of its own changes, when it starts, when each step ends
/// (an action with its job), when it waits on a person and when it ends;
/// the incident lists its runs. An unknown incident is 404, a resolved one
/// 409, and any action taken through the API while incidents are open is
/// on each open one's timeline, with its actor and target.
async fn a_run_of_an_incident_writes_its_timeline_and_actions_meanwhile_are_on_every_open_one(
    backend: opsdeck_tests::Backend,
) {
    let srv = &server(backend, "playbook_run_incident").await;
    srv.create("acme", "Acme").await;
    let open = |title: &'static str| async move {
        let reply = srv
            .send(
                Method::POST,
                "/v1/incidents",
                &json!({"title": title, "severity": "P2"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["incident"]["id"]
            .as_str()
            .expect("an id")
            .to_string()
    };
    let incident = open("Checkout is slow").await;
    let resolved = open("Yesterday's").await;
    for verb in ["mitigate", "resolve"] {
        let reply = srv
            .send(
                Method::POST,
                &format!("/v1/incidents/{resolved}/{verb}"),
                &Value::Null,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let playbook = "version: 1\nid: tell\ntitle: Tell\nseverity: P2\nsteps:\n  - id: hello\n    note: looking\n  - id: look\n    manual:\n      instructions: Look\n  - id: suspend\n    action: { name: tenant.suspend, args: { tenant: acme } }\n";
    let with =
        |incident: &str| json!({ "source": playbook, "inputs": {}, "incident_id": incident });
    let refused = as_token(
        srv,
        &srv.admin,
        Method::POST,
        "/v1/playbook-runs",
        Some(&with("no-such-incident")),
    )
    .await;
    refused.expect_error(StatusCode::NOT_FOUND, "not_found");
    let refused = as_token(
        srv,
        &srv.admin,
        Method::POST,
        "/v1/playbook-runs",
        Some(&with(&resolved)),
    )
    .await;
    refused.expect_error(StatusCode::CONFLICT, "invalid_state");
    assert_eq!(
        srv.get("/v1/playbook-runs").await.body["items"],
        json!([]),
        "nothing started"
    );

    let started = as_token(
        srv,
        &srv.admin,
        Method::POST,
        "/v1/playbook-runs",
        Some(&with(&incident)),
    )
    .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let id = started.body["id"].as_str().expect("an id").to_string();
    until(srv, &id, "waiting at look", |r| r["state"] == "waiting").await;
    let done = srv
        .send(
            Method::POST,
            &format!("/v1/playbook-runs/{id}/steps/look/tick"),
            &json!({"items": [], "done": true}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let run = until(srv, &id, "succeeded", |r| r["state"] == "succeeded").await;

    // Done by hand meanwhile: told to the open incident, not the resolved one.
    let resumed = srv
        .send(Method::POST, "/v1/tenants/acme/resume", &Value::Null)
        .await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.text);

    let detail = srv.get(&format!("/v1/incidents/{incident}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert_eq!(
        detail.body["runs"],
        json!([{ "id": id, "playbook": "tell", "title": "Tell", "state": "succeeded" }]),
        "{}",
        detail.text
    );
    let timeline = detail.body["timeline"].as_array().expect("timeline");
    let kinds: Vec<&str> = timeline.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "run_started",
            "run_note",
            "run_waiting",
            "run_step_done",
            "run_step_succeeded",
            "run_succeeded",
            "action_taken",
        ],
        "{}",
        detail.text
    );
    let suspended = timeline
        .iter()
        .find(|e| e["kind"] == "run_step_succeeded")
        .expect("the action's end");
    assert_eq!(suspended["detail"]["step"], "suspend", "{suspended:#}");
    assert_eq!(suspended["detail"]["run"], id.as_str(), "{suspended:#}");
    assert_eq!(
        suspended["detail"]["result"],
        step(&run, "suspend")["result"],
        "{suspended:#}"
    );
    let action = timeline.last().expect("an event");
    assert_eq!(action["actor"], "admin");
    assert_eq!(action["detail"]["action"], "tenant.resume");
    assert_eq!(action["detail"]["target"], "tenant:acme");
    assert!(
        action["text"]
            .as_str()
            .is_some_and(|t| t.contains("action taken during the incident")),
        "{action:#}"
    );

    let old = srv.get(&format!("/v1/incidents/{resolved}")).await.body;
    let old_kinds: Vec<&str> = old["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(old_kinds, ["opened", "mitigated", "resolved"], "{old:#}");
}

macro_rules! on_both {
    ($($name:ident),*) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
              async fn $name() { super::$name(opsdeck_tests::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
              async fn $name() { super::$name(opsdeck_tests::Backend::Postgres).await })*
        }
    };
}

on_both!(
    a_run_waits_on_people_takes_its_failure_branch_and_ends_as_its_steps_say,
    bad_playbooks_and_missing_permissions_are_refused_before_anything_runs,
    a_switchover_step_runs_one_job_and_records_its_result,
    a_run_taken_over_after_its_worker_died_goes_on_at_its_step_without_resending,
    a_silence_step_finds_the_silence_of_its_marker_instead_of_making_another,
    a_job_queued_while_a_run_waits_in_wait_until_runs_at_once,
    a_run_of_an_incident_writes_its_timeline_and_actions_meanwhile_are_on_every_open_one
);
