//! Clusters through the API against real Redis servers under three real
//! Sentinels (`opsdeck_tests::redis`): topology with lag, the preflight
//! explaining each candidate, a forced failover with the old master
//! stopped whose writes reach the new one, a switchover started twice
//! under one key that runs once, and bad input answered with an envelope.

use std::time::Duration;

use opsdeck_tests::port::Refusing;
use opsdeck_tests::redis::RedisSentinel;
use opsdeck_tests::{blocking, Backend};
use platform_admin::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Reply, Server, TestDb};

/// What a failover on loopback must beat, with room for a loaded machine.
const FAILOVER_WITHIN: Duration = Duration::from_secs(60);

fn lease() -> chrono::Duration {
    chrono::Duration::seconds(3)
}

async fn server(backend: Backend, test: &str, config_text: &str) -> Server {
    let config = Config::parse(config_text).expect("the test's configuration");
    Server::configured(TestDb::new(backend, test).await, config, Some(lease())).await
}

fn redis(down_after: Duration) -> RedisSentinel {
    blocking(|| RedisSentinel::start(down_after))
        .unwrap_or_else(|e| panic!("Redis with three Sentinels: {e:#}"))
}

async fn start(srv: &Server, cluster: &str, action: &str, body: Value, key: Option<&str>) -> Reply {
    let mut request = srv
        .request(Method::POST, &format!("/v1/clusters/{cluster}/{action}"))
        .json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    Reply::of(request.send().await).await
}

/// Polls the job until it is no longer queued or running.
async fn finished(srv: &Server, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + FAILOVER_WITHIN;
    let mut last = Value::Null;
    while tokio::time::Instant::now() < deadline {
        let reply = srv.get(&format!("/v1/jobs/{id}")).await;
        if !matches!(
            reply.body["state"].as_str(),
            Some("queued" | "running") | None
        ) {
            return reply.body;
        }
        last = reply.body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish within {FAILOVER_WITHIN:?}: {last:#}");
}

fn member<'a>(topology: &'a Value, name: &str) -> &'a Value {
    topology["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == name))
        .unwrap_or_else(|| panic!("{name} is not listed: {topology:#}"))
}

async fn topology_shows_roles_and_lag_without_credentials(backend: Backend) {
    let set = redis(Duration::from_millis(1000));
    let srv = server(
        backend,
        "topology_shows_roles",
        &set.cluster_config("cache"),
    )
    .await;
    let (primary, replica) = (set.nodes[0].address(), set.nodes[1].address());

    let list = srv.get("/v1/clusters").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(
        list.body,
        json!({ "items": [{ "id": "cache", "kind": "redis_sentinel", "name": "main-cache" }] })
    );
    let viewer = Reply::of(
        srv.client
            .get(srv.url("/v1/clusters/cache"))
            .bearer_auth(&srv.viewer)
            .send()
            .await,
    )
    .await;
    assert_eq!(viewer.status, StatusCode::OK, "{}", viewer.text);
    let topology = &viewer.body;
    assert!(
        !viewer.text.contains(opsdeck_tests::redis::PASSWORD),
        "{}",
        viewer.text
    );
    assert_eq!(topology["primary"], primary.as_str(), "{topology:#}");
    assert_eq!(member(topology, &primary)["role"], "primary");
    let shown = member(topology, &replica);
    assert_eq!(shown["role"], "replica", "{topology:#}");
    assert_eq!(shown["health"], "healthy", "{topology:#}");
    assert!(
        shown["lag_bytes"].as_u64().is_some_and(|lag| lag < 1 << 20),
        "{topology:#}"
    );
    let sources = topology["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 3);
    assert!(
        sources.iter().all(|s| s["reachable"] == true),
        "{topology:#}"
    );

    let preflight = srv
        .get("/v1/clusters/cache/preflight?action=switchover")
        .await;
    assert_eq!(preflight.status, StatusCode::OK, "{}", preflight.text);
    assert_eq!(preflight.body["passed"], true, "{:#}", preflight.body);
    assert_eq!(
        preflight.body["candidates"],
        json!([{ "member": replica, "eligible": true, "reasons": [] }])
    );
}

async fn the_preflight_explains_why_a_candidate_is_not_eligible(backend: Backend) {
    let mut set = redis(Duration::from_millis(1000));
    let srv = server(
        backend,
        "the_preflight_explains",
        &set.cluster_config("cache"),
    )
    .await;
    let (primary, replica) = (set.nodes[0].address(), set.nodes[1].address());

    // The primary and a stranger are not candidates at all.
    for (candidate, says) in [
        (primary.as_str(), "is the primary"),
        ("127.0.0.1:1", "is not a member"),
    ] {
        let reply = srv
            .get(&format!(
                "/v1/clusters/cache/preflight?candidate={candidate}"
            ))
            .await;
        let envelope = reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(
            envelope["message"]
                .as_str()
                .is_some_and(|m| m.contains(says)),
            "{}",
            reply.text
        );
        let started = start(
            &srv,
            "cache",
            "switchover",
            json!({ "candidate": candidate }),
            None,
        )
        .await;
        started.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }

    set.nodes[1].stop();
    let deadline = tokio::time::Instant::now() + FAILOVER_WITHIN;
    let explained = loop {
        let reply = srv
            .get(&format!("/v1/clusters/cache/preflight?candidate={replica}"))
            .await;
        let down = reply.body["candidates"][0]["reasons"]
            .as_array()
            .is_some_and(|r| {
                r.iter()
                    .any(|r| r.as_str().is_some_and(|r| r.contains("down")))
            });
        if down {
            break reply.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Sentinel never saw the replica down: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(explained["passed"], false, "{explained:#}");
    assert_eq!(
        explained["candidates"][0]["eligible"], false,
        "{explained:#}"
    );
    let failed: Vec<&str> = explained["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["passed"] == false)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(failed, ["candidate"], "{explained:#}");

    // Started anyway, it is refused with the failed check named.
    let refused = start(
        &srv,
        "cache",
        "switchover",
        json!({ "candidate": replica }),
        None,
    )
    .await;
    let envelope = refused.expect_error(StatusCode::CONFLICT, "invalid_state");
    let message = envelope["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("candidate:") && message.contains("down"),
        "{message}"
    );
    let jobs = srv.get("/v1/jobs").await;
    assert_eq!(jobs.body["items"], json!([]), "nothing was queued");
}

async fn a_forced_failover_with_the_master_stopped_moves_writes_to_the_replica(backend: Backend) {
    // Sentinel's own failover waits long enough that the console's is the one seen.
    let mut set = redis(Duration::from_secs(60));
    let srv = server(backend, "a_forced_failover", &set.cluster_config("cache")).await;
    let (old, new) = (set.nodes[0].address(), set.nodes[1].address());
    set.data(set.nodes[0].port, &["SET", "before", "1"])
        .await
        .expect("a write");
    set.nodes[0].stop();

    // The replica's link is down: not eligible unless forced, with a reason.
    let deadline = tokio::time::Instant::now() + FAILOVER_WITHIN;
    let said = loop {
        let refused = start(&srv, "cache", "failover", json!({}), None).await;
        if refused.status == StatusCode::CONFLICT && refused.body["code"] == "invalid_state" {
            break refused.text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the preflight never saw the master gone: {}",
            refused.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(said.contains("candidate:"), "{said}");
    start(&srv, "cache", "failover", json!({ "force": true }), None)
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let started = start(
        &srv,
        "cache",
        "failover",
        json!({ "force": true, "reason": "the master's host is gone" }),
        Some("failover-1"),
    )
    .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    assert_eq!(started.body["kind"], "cluster.failover");
    assert_eq!(started.body["target"], "cluster:cache");
    let id = started.body["id"].as_str().expect("a job id").to_string();
    let job = finished(&srv, &id).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    let result = &job["result"];
    assert_eq!(result["old_primary"], old.as_str(), "{job:#}");
    assert_eq!(result["new_primary"], new.as_str(), "{job:#}");
    assert_eq!(result["forced"], true, "{job:#}");
    assert_eq!(result["reason"], "the master's host is gone", "{job:#}");
    let rto = result["rto_seconds"].as_f64().expect("an RTO");
    assert!(rto > 0.0 && rto < 30.0, "{job:#}");
    let log: Vec<&str> = job["log"]
        .as_array()
        .expect("a log")
        .iter()
        .filter_map(|l| l["line"].as_str())
        .collect();
    assert!(log.iter().any(|l| l.contains("forced past")), "{log:#?}");
    assert!(log.iter().any(|l| l.contains("RTO")), "{log:#?}");

    // Sentinel names the replica, and it takes writes and kept the old data.
    assert_eq!(set.master().await.expect("a master"), new);
    set.data(set.nodes[1].port, &["SET", "after", "2"])
        .await
        .expect("a write on the new master");
    assert_eq!(
        set.data(set.nodes[1].port, &["GET", "before"])
            .await
            .expect("read"),
        "1"
    );
    // A Sentinel still mid-failover may name the old master a moment
    // longer; the topology comes to the new one within a bound.
    let deadline = std::time::Instant::now() + FAILOVER_WITHIN;
    loop {
        let topology = srv.get("/v1/clusters/cache").await;
        if topology.body["primary"] == new.as_str() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the topology never named the new primary: {}",
            topology.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let audit = srv.all_audit().await;
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "cluster.failover" && r["target"] == "cluster:cache"),
        "{audit:#?}"
    );
}

async fn a_switchover_started_twice_under_one_key_runs_once(backend: Backend) {
    let set = redis(Duration::from_millis(1000));
    let srv = server(
        backend,
        "a_switchover_started_twice",
        &set.cluster_config("cache"),
    )
    .await;
    let (old, new) = (set.nodes[0].address(), set.nodes[1].address());
    let first = start(&srv, "cache", "switchover", json!({}), Some("switch-1")).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let again = start(&srv, "cache", "switchover", json!({}), Some("switch-1")).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);
    assert_eq!(again.body["id"], first.body["id"]);
    // Another start while it runs: the cluster is busy.
    let busy = start(&srv, "cache", "switchover", json!({}), Some("switch-2")).await;
    let envelope = busy.expect_error(StatusCode::CONFLICT, "invalid_state");
    let id = first.body["id"].as_str().expect("a job id").to_string();
    assert!(
        envelope["message"]
            .as_str()
            .is_some_and(|m| m.contains(&id)),
        "{}",
        busy.text
    );

    let job = finished(&srv, &id).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["result"]["new_primary"], new.as_str(), "{job:#}");
    assert_eq!(job["result"]["forced"], false, "{job:#}");
    assert_eq!(job["progress"]["phase"], "done", "{job:#}");
    // Run twice, the master would have moved back.
    assert_eq!(set.master().await.expect("a master"), new);
    let jobs = srv.get("/v1/jobs").await;
    let ids: Vec<&str> = jobs.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert_eq!(ids, [id.as_str()], "one job");
    assert_ne!(old, new);
}

async fn bad_cluster_input_is_an_envelope_and_queues_nothing(backend: Backend) {
    let refusing: Vec<Refusing> = (0..3)
        .map(|_| Refusing::new().expect("a refusing port"))
        .collect();
    let sentinels: Vec<String> = refusing
        .iter()
        .map(|r| format!("\"127.0.0.1:{}\"", r.port))
        .collect();
    let text = format!(
        "[[clusters]]\nid = \"gone\"\nkind = \"redis-sentinel\"\nsentinels = [{}]\nmaster_name = \"m\"\n",
        sentinels.join(", ")
    );
    let srv = server(backend, "bad_cluster_input", &text).await;
    srv.get("/v1/clusters/nope")
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    start(&srv, "nope", "failover", json!({}), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    srv.get("/v1/clusters/gone/preflight?action=promote")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let topology = srv.get("/v1/clusters/gone").await;
    assert_eq!(topology.status, StatusCode::OK, "{}", topology.text);
    let sources = topology.body["sources"].as_array().expect("sources");
    assert!(
        sources
            .iter()
            .all(|s| s["reachable"] == false && s["error"].is_string()),
        "{}",
        topology.text
    );
    assert!(
        topology.text.contains("none of the 3 Sentinels answered"),
        "{}",
        topology.text
    );

    let refused = start(&srv, "gone", "switchover", json!({}), None).await;
    let envelope = refused.expect_error(StatusCode::CONFLICT, "invalid_state");
    let message = envelope["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("quorum: none of the 3 Sentinels answered"),
        "{message}"
    );
    assert!(message.contains("force it with a reason"), "{message}");
    assert_eq!(srv.get("/v1/jobs").await.body["items"], json!([]));

    // Forced, it is queued, and the job fails saying why, doing nothing.
    let forced = start(
        &srv,
        "gone",
        "failover",
        json!({ "force": true, "reason": "drill" }),
        None,
    )
    .await;
    assert_eq!(forced.status, StatusCode::ACCEPTED, "{}", forced.text);
    let id = forced.body["id"].as_str().expect("a job id").to_string();
    let job = finished(&srv, &id).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    assert!(
        job["error"]
            .as_str()
            .is_some_and(|e| e.contains("no Sentinel could be asked")),
        "{job:#}"
    );
    assert!(job.get("result").is_none(), "{job:#}");
}

macro_rules! both {
    ($($name:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

both!(
    topology_shows_roles_and_lag_without_credentials,
    the_preflight_explains_why_a_candidate_is_not_eligible,
    a_forced_failover_with_the_master_stopped_moves_writes_to_the_replica,
    a_switchover_started_twice_under_one_key_runs_once,
    bad_cluster_input_is_an_envelope_and_queues_nothing
);
