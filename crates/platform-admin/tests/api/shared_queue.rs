//! Two platform-admin processes on one PostgreSQL database share its job
//! queue: a batch of real pgBackRest backups is taken up by both, one
//! process is killed (SIGKILL) while it runs a backup, and the other takes
//! that job over once its lease runs out. Every job runs exactly once: one
//! claim per attempt, none left running, and the repositories hold exactly
//! the backups the succeeded jobs report, so nothing ran twice or went on
//! behind a dead server's back.

use std::collections::BTreeMap;
use std::time::Duration;

use opsdeck_tests::pgbackrest::PgBackRest;
use opsdeck_tests::{Backend, PlatformAdmin};
use platform_admin::jobs::{self, JobState};
use platform_admin::{db, Db};
use serde_json::{json, Value};

/// How many targets (each its own cluster and stanza), one backup each.
const TARGETS: usize = 4;

/// The servers' lease: short, so a takeover is seen quickly.
const LEASE_SECONDS: i64 = 3;

/// What the whole batch must beat, with room for a loaded machine.
const BATCH_WITHIN: Duration = Duration::from_secs(300);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn get(client: &reqwest::Client, admin: &PlatformAdmin, token: &str, path: &str) -> Value {
    let response = client
        .get(format!("{}{path}", admin.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// The pid in a worker's name (`pid-<id>/<uuid>`).
fn pid_of(owner: Option<&str>) -> Option<u32> {
    owner?.strip_prefix("pid-")?.split('/').next()?.parse().ok()
}

/// Processes running a pgBackRest backup with this configuration: what a
/// dead server's job must not leave behind.
fn backups_running(cluster: &PgBackRest) -> Vec<String> {
    let needle = cluster.config.display().to_string();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmdline.contains(&needle) && cmdline.contains(" backup") {
            found.push(cmdline);
        }
    }
    found
}

/// The labels of the backups pgBackRest lists for the cluster.
async fn labels(cluster: &PgBackRest) -> Vec<String> {
    let info = cluster.info().await.expect("pgbackrest info");
    info.as_array()
        .into_iter()
        .flatten()
        .flat_map(|stanza| stanza["backup"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["label"].as_str().map(str::to_string))
        .collect()
}

fn taken_up_lines(job: &Value) -> Vec<String> {
    job["log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["line"].as_str())
        .filter(|l| l.starts_with("taken up by ") || l.starts_with("taken over by "))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_servers_job_is_taken_over_by_the_other_and_every_job_runs_once() {
    let mut clusters = Vec::new();
    for n in 0..TARGETS {
        let cluster = PgBackRest::start(&format!("q{n}"))
            .await
            .unwrap_or_else(|e| panic!("a PostgreSQL archived by pgBackRest: {e:#}"));
        // Enough data that a backup still copies when the kill lands.
        cluster
            .sql(
                "CREATE TABLE big AS SELECT n, md5(n::text) AS h FROM generate_series(1, 600000) n",
            )
            .await
            .expect("writes");
        clusters.push(cluster);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("platform-admin.toml");
    let config: String = clusters
        .iter()
        .enumerate()
        .map(|(n, cluster)| {
            format!(
                "[[backup_targets]]\nid = \"db-{n}\"\nkind = \"postgresql\"\nstanza = \"q{n}\"\n\
                 pgbackrest_config = \"{}\"\n\
                 database = \"postgres://postgres@localhost/postgres?host={}\"\n\n",
                cluster.config.display(),
                cluster.socket_dir.display()
            )
        })
        .collect();
    std::fs::write(&config_path, config).expect("config");
    let config_arg = config_path.display().to_string();
    let lease = LEASE_SECONDS.to_string();
    let one = PlatformAdmin::start_with(
        Backend::Postgres,
        &["--config", &config_arg, "--job-lease", &lease],
    )
    .expect("platform-admin");
    let two = one
        .beside()
        .expect("a second platform-admin on the database");
    let mut servers = [one, two];
    let token = servers[0].token("ops", "admin").expect("token");
    let store = Db::connect(&servers[0].database).await.expect("the store");
    let client = client();

    // The batch, asked of both servers in turn.
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for n in 0..TARGETS {
        let server = &servers[n % 2];
        let started: Value = client
            .post(format!("{}/v1/backup-targets/db-{n}/backups", server.url))
            .bearer_auth(&token)
            .json(&json!({ "type": "full" }))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("a job");
        let id = started["id"]
            .as_str()
            .unwrap_or_else(|| panic!("a job id: {started:#}"));
        ids.insert(id.to_string(), n);
    }

    // The first backup seen copying is its server's to lose.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let (victim_job, victim) = 'found: loop {
        for id in ids.keys() {
            let job = jobs::get(&store, id).await.expect("read").expect("the job");
            let copying = job.state == JobState::Running && job.progress.done > 0;
            if let (true, Some(pid)) = (copying, pid_of(job.owner.as_deref())) {
                if let Some(at) = servers.iter().position(|s| s.pid() == Some(pid)) {
                    break 'found (job, at);
                }
            }
            assert!(
                !matches!(job.state, JobState::Succeeded | JobState::Failed),
                "a job ended before any was seen copying: {job:#?}"
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no backup was seen copying"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let killed_at = db::now();
    servers[victim].stop();
    let survivor = &servers[1 - victim];
    let survivor_pid = survivor.pid().expect("the survivor runs");
    let victim_cluster = &clusters[ids[&victim_job.id]];

    // Every job ends, seen through the survivor's API.
    let deadline = tokio::time::Instant::now() + BATCH_WITHIN;
    let ended = loop {
        let listed = get(&client, survivor, &token, "/v1/jobs?limit=100").await;
        let items = listed["items"].as_array().cloned().unwrap_or_default();
        let open = items
            .iter()
            .filter(|j| matches!(j["state"].as_str(), Some("queued" | "running")))
            .count();
        if open == 0 && items.len() == TARGETS {
            break items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs still open after {BATCH_WITHIN:?}: {items:#?}\n{}",
            survivor.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(ended.len(), TARGETS, "{ended:#?}");

    for id in ids.keys() {
        let job = get(&client, survivor, &token, &format!("/v1/jobs/{id}")).await;
        let stored = jobs::get(&store, id).await.expect("read").expect("the job");
        let claims = taken_up_lines(&job);
        assert_eq!(
            claims.len() as u32,
            stored.attempts,
            "one claim in the log per attempt: {job:#}"
        );
        if *id == victim_job.id {
            // Taken over once, by the survivor, after the lease ran out,
            // and failed with the reason rather than reported done.
            assert_eq!(stored.attempts, 2, "{stored:#?}");
            assert_eq!(
                pid_of(stored.owner.as_deref()),
                Some(survivor_pid),
                "{stored:#?}"
            );
            assert_eq!(stored.state, JobState::Failed, "{stored:#?}");
            let error = stored.error.as_deref().unwrap_or_default();
            assert!(error.contains("stopped while this job ran"), "{stored:#?}");
            let finished = stored.finished_at.expect("finished");
            assert!(
                finished - killed_at >= chrono::Duration::seconds(LEASE_SECONDS - 2),
                "taken over before the lease could run out: killed {killed_at}, {stored:#?}"
            );
            assert!(claims[1].starts_with("taken over by "), "{claims:#?}");
            assert!(job.get("result").is_none(), "{job:#}");
        } else {
            assert_eq!(stored.attempts, 1, "ran once: {stored:#?}");
            assert_eq!(stored.state, JobState::Succeeded, "{stored:#?}");
            assert!(stored.lease_until.is_none() && stored.finished_at.is_some());
        }
    }

    // No pgBackRest of the dead server goes on (its workers may take a
    // moment to see their parent gone), and then the repositories agree:
    // one backup per succeeded job, none of the killed one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = backups_running(victim_cluster);
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dead server's pgBackRest still runs: {left:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (id, n) in &ids {
        let job = get(&client, survivor, &token, &format!("/v1/jobs/{id}")).await;
        let listed = labels(&clusters[*n]).await;
        match job["result"]["label"].as_str() {
            Some(label) => assert_eq!(listed, [label], "db-{n}: {job:#}"),
            None => assert!(
                listed.is_empty(),
                "db-{n}, whose job failed, has backups {listed:?}"
            ),
        }
    }

    // Its target is free: started again, the backup runs to the end.
    let n = ids[&victim_job.id];
    let again: Value = client
        .post(format!("{}/v1/backup-targets/db-{n}/backups", survivor.url))
        .bearer_auth(&token)
        .json(&json!({ "type": "full" }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("a job");
    let again_id = again["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a job id: {again:#}"));
    let deadline = tokio::time::Instant::now() + BATCH_WITHIN;
    loop {
        let job = get(&client, survivor, &token, &format!("/v1/jobs/{again_id}")).await;
        match job["state"].as_str() {
            Some("queued" | "running") => {}
            _ => {
                assert_eq!(job["state"], "succeeded", "{job:#}");
                break;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "{job:#}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
