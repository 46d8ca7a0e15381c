//! Patroni clusters through the API against a real etcd and real Patroni
//! nodes (`opsdeck_tests::patroni`): topology with Patroni's lag, timeline
//! and tags, the preflight explaining a `nofailover` replica, a real
//! switchover and a real failover after the leader was killed, each
//! post-checked with a write on the new leader and its RTO recorded.

use std::time::Duration;

use opsdeck_tests::patroni::{NodeSpec, Patroni};
use opsdeck_tests::{blocking, Backend};
use platform_admin::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Reply, Server, TestDb};

/// Longer than Patroni's `ttl` (10 s) after a leader dies, with room.
const FAILOVER_WITHIN: Duration = Duration::from_secs(90);

async fn server(backend: Backend, test: &str, config_text: &str) -> Server {
    let config = Config::parse(config_text).expect("the test's configuration");
    Server::configured(
        TestDb::new(backend, test).await,
        config,
        Some(chrono::Duration::seconds(3)),
    )
    .await
}

fn patroni(specs: &[NodeSpec]) -> Patroni {
    blocking(|| Patroni::start(specs)).unwrap_or_else(|e| panic!("Patroni with etcd: {e:#}"))
}

async fn start(srv: &Server, action: &str, body: Value) -> Reply {
    Reply::of(
        srv.request(Method::POST, &format!("/v1/clusters/db/{action}"))
            .json(&body)
            .send()
            .await,
    )
    .await
}

async fn finished(srv: &Server, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + FAILOVER_WITHIN;
    loop {
        let reply = srv.get(&format!("/v1/jobs/{id}")).await;
        if !matches!(
            reply.body["state"].as_str(),
            Some("queued" | "running") | None
        ) {
            return reply.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {id} did not finish: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn member<'a>(topology: &'a Value, name: &str) -> &'a Value {
    topology["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == name))
        .unwrap_or_else(|| panic!("{name} is not listed: {topology:#}"))
}

async fn a_patroni_switchover_moves_the_leader_and_records_the_rto(backend: Backend) {
    let set = patroni(&[NodeSpec::new("pg0"), NodeSpec::new("pg1")]);
    let srv = server(backend, "a_patroni_switchover", &set.cluster_config("db")).await;

    let topology = srv.get("/v1/clusters/db").await;
    assert_eq!(topology.status, StatusCode::OK, "{}", topology.text);
    assert!(
        !topology.text.contains(opsdeck_tests::patroni::PASSWORD),
        "{}",
        topology.text
    );
    let shown = &topology.body;
    assert_eq!(shown["kind"], "patroni");
    assert_eq!(shown["primary"], "pg0", "{shown:#}");
    let replica = member(shown, "pg1");
    assert_eq!(replica["role"], "replica", "{shown:#}");
    assert_eq!(replica["lag_bytes"], 0, "Patroni's lag: {shown:#}");
    assert_eq!(replica["lag_seconds"], 0.0, "{shown:#}");
    assert_eq!(replica["timeline"], 1, "{shown:#}");
    assert_eq!(replica["replication"], "async", "{shown:#}");
    assert_eq!(replica["health"], "healthy", "{shown:#}");
    assert!(
        replica["state"]
            .as_str()
            .is_some_and(|s| s.contains("streaming")),
        "{shown:#}"
    );

    let preflight = srv.get("/v1/clusters/db/preflight?action=switchover").await;
    assert_eq!(preflight.body["passed"], true, "{}", preflight.text);
    assert_eq!(
        preflight.body["candidates"],
        json!([{ "member": "pg1", "eligible": true, "reasons": [] }])
    );

    let started = start(&srv, "switchover", json!({ "candidate": "pg1" })).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let id = started.body["id"].as_str().expect("a job id").to_string();
    let job = finished(&srv, &id).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["result"]["old_primary"], "pg0", "{job:#}");
    assert_eq!(job["result"]["new_primary"], "pg1", "{job:#}");
    let rto = job["result"]["rto_seconds"].as_f64().expect("an RTO");
    assert!(rto > 0.0 && rto < 60.0, "{job:#}");

    assert_eq!(set.leader().await.expect("a leader"), "pg1");
    let written = set
        .sql(
            "pg1",
            "SELECT job FROM opsdeck_failover_check WHERE cluster = 'db'",
        )
        .await
        .expect("the post-check's row");
    assert_eq!(written, id, "the job's own write is on the new leader");
    // The promotion starts timeline 2; Patroni publishes it on its next loop.
    let deadline = tokio::time::Instant::now() + FAILOVER_WITHIN;
    loop {
        let after = srv.get("/v1/clusters/db").await;
        assert_eq!(after.body["primary"], "pg1", "{}", after.text);
        if member(&after.body, "pg1")["timeline"] == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never on timeline 2: {}",
            after.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_patroni_failover_after_the_leader_is_killed_promotes_the_replica(backend: Backend) {
    let mut set = patroni(&[NodeSpec::new("pg0"), NodeSpec::new("pg1")]);
    let srv = server(backend, "a_patroni_failover", &set.cluster_config("db")).await;
    set.sql(
        "pg0",
        "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)",
    )
    .await
    .expect("a write on the leader");
    // Streamed before the leader goes.
    set.wait_for("the replica to catch up", |c| {
        c["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["name"] == "pg1" && m["lag"] == 0))
    })
    .await
    .expect("caught up");
    set.node("pg0").expect("pg0").kill();

    let preflight = srv.get("/v1/clusters/db/preflight?action=failover").await;
    assert_eq!(preflight.status, StatusCode::OK, "{}", preflight.text);
    assert_eq!(member_health(&srv, "pg0").await, "down");
    let started = start(
        &srv,
        "failover",
        json!({ "force": true, "reason": "pg0's host is gone" }),
    )
    .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let id = started.body["id"].as_str().expect("a job id").to_string();
    let job = finished(&srv, &id).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["result"]["new_primary"], "pg1", "{job:#}");
    assert_eq!(job["result"]["action"], "failover", "{job:#}");
    let rto = job["result"]["rto_seconds"].as_f64().expect("an RTO");
    assert!(rto > 0.0 && rto < 80.0, "{job:#}");
    assert_eq!(
        set.sql("pg1", "SELECT n FROM kept")
            .await
            .expect("read on the new leader"),
        "42"
    );
    set.sql("pg1", "INSERT INTO kept VALUES (43)")
        .await
        .expect("a write on the new leader");
}

async fn member_health(srv: &Server, name: &str) -> String {
    let topology = srv.get("/v1/clusters/db").await;
    member(&topology.body, name)["health"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn the_preflight_explains_a_nofailover_replica(backend: Backend) {
    let set = patroni(&[
        NodeSpec::new("pg0"),
        NodeSpec {
            nofailover: true,
            ..NodeSpec::new("pg1")
        },
    ]);
    let srv = server(
        backend,
        "the_preflight_explains_a_nofailover",
        &set.cluster_config("db"),
    )
    .await;
    let preflight = srv.get("/v1/clusters/db/preflight?candidate=pg1").await;
    assert_eq!(preflight.status, StatusCode::OK, "{}", preflight.text);
    let candidate = &preflight.body["candidates"][0];
    assert_eq!(candidate["member"], "pg1", "{}", preflight.text);
    assert_eq!(candidate["eligible"], false, "{}", preflight.text);
    assert!(
        candidate["reasons"].as_array().is_some_and(|r| r
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("nofailover")))),
        "{}",
        preflight.text
    );
    let topology = srv.get("/v1/clusters/db").await;
    assert_eq!(
        member(&topology.body, "pg1")["tags"]["nofailover"],
        "true",
        "{}",
        topology.text
    );

    let refused = start(&srv, "switchover", json!({ "candidate": "pg1" })).await;
    let envelope = refused.expect_error(StatusCode::CONFLICT, "invalid_state");
    assert!(
        envelope["message"]
            .as_str()
            .is_some_and(|m| m.contains("nofailover")),
        "{}",
        refused.text
    );
    start(&srv, "switchover", json!({ "candidate": "pg0" }))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(srv.get("/v1/jobs").await.body["items"], json!([]));
    assert_eq!(set.leader().await.expect("a leader"), "pg0");
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
    a_patroni_switchover_moves_the_leader_and_records_the_rto,
    a_patroni_failover_after_the_leader_is_killed_promotes_the_replica,
    the_preflight_explains_a_nofailover_replica
);
