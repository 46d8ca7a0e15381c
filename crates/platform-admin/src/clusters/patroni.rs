//! PostgreSQL under Patroni: the topology from `GET /cluster` with each
//! replica's lag as Patroni measures it (bytes behind the leader's last
//! known WAL position, what `patronictl list` shows), sync or async from
//! the member's role, its timeline and tags; each member's own
//! `GET /patroni` says whether it answers and when it last replayed. A
//! switchover is `POST /switchover`, a failover `POST /failover`; Patroni
//! may stop waiting before the change is done, so the new leader is
//! awaited on `/cluster` either way.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use opsdeck_api::clusters::{
    ClusterMember, ClusterSource, ClusterTopology, FailoverAction, MemberHealth, MemberRole,
    PreflightCheck, ReplicationMode,
};
use serde_json::{json, Value};
use sqlx::Connection as _;
use tokio::task::JoinSet;

use super::{Acted, Observation};
use crate::config::{ClusterConfig, PatroniConfig};

/// The longest one REST call may take while observing.
const CALL: Duration = Duration::from_secs(3);

/// The longest Patroni may take to answer a switchover or failover (it
/// waits for the result itself, for a while).
const ACT: Duration = Duration::from_secs(30);

/// Between two looks at `/cluster`, or two write attempts.
const POLL: Duration = Duration::from_millis(100);

/// The table the post-check writes to on the new leader.
pub const CHECK_TABLE: &str = "opsdeck_failover_check";

fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(CALL)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|err| err.to_string())
}

fn authed(request: reqwest::RequestBuilder, config: &PatroniConfig) -> reqwest::RequestBuilder {
    match &config.username {
        Some(user) => request.basic_auth(user, config.password.as_deref()),
        None => request,
    }
}

async fn get_json(
    client: &reqwest::Client,
    config: &PatroniConfig,
    url: String,
) -> Result<Value, String> {
    let response = authed(client.get(&url), config)
        .send()
        .await
        .map_err(|err| without_url(&err))?;
    let status = response.status();
    let body = response.text().await.map_err(|err| without_url(&err))?;
    // `/patroni` of a member answers 503 with its state when PostgreSQL is
    // not running; the JSON still says what it is doing.
    serde_json::from_str(&body).map_err(|_| format!("answered {status}: {}", short(&body)))
}

/// reqwest's message without the URL it repeats.
fn without_url(err: &reqwest::Error) -> String {
    let text = err.to_string();
    let kind = if err.is_timeout() {
        "no answer in time"
    } else if err.is_connect() {
        "connection refused or unreachable"
    } else {
        ""
    };
    match (kind, std::error::Error::source(err)) {
        ("", Some(source)) => source.to_string(),
        ("", None) => text,
        (kind, _) => kind.to_string(),
    }
}

fn short(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn base(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// What each configured REST API said of `/cluster` and `/config`.
async fn ask_all(config: &PatroniConfig) -> Vec<(String, Result<(Value, Value), String>)> {
    let mut set = JoinSet::new();
    for (index, url) in config.patroni.iter().enumerate() {
        let (url, config) = (url.clone(), config.clone());
        set.spawn(async move {
            let answer = async {
                let client = client(CALL)?;
                let cluster = get_json(&client, &config, format!("{}/cluster", base(&url))).await?;
                let dcs = get_json(&client, &config, format!("{}/config", base(&url)))
                    .await
                    .unwrap_or(Value::Null);
                Ok((cluster, dcs))
            }
            .await;
            (index, url, answer)
        });
    }
    let mut answers = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(answer) = joined {
            answers.push(answer);
        }
    }
    answers.sort_by_key(|(index, _, _)| *index);
    answers
        .into_iter()
        .map(|(_, url, answer)| (url, answer))
        .collect()
}

/// Each member's own `/patroni`, by name; an error where it did not answer.
async fn ask_members(
    config: &PatroniConfig,
    members: &[Value],
) -> HashMap<String, Result<Value, String>> {
    let mut set = JoinSet::new();
    for member in members {
        let (Some(name), Some(url)) = (member["name"].as_str(), member["api_url"].as_str()) else {
            continue;
        };
        let (name, url, config) = (name.to_string(), url.to_string(), config.clone());
        set.spawn(async move {
            let answer = match client(CALL) {
                Ok(client) => get_json(&client, &config, url).await,
                Err(err) => Err(err),
            };
            (name, answer)
        });
    }
    let mut found = HashMap::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((name, answer)) = joined {
            found.insert(name, answer);
        }
    }
    found
}

fn role_of(role: &str) -> MemberRole {
    match role {
        "leader" | "master" | "primary" | "standby_leader" => MemberRole::Primary,
        "replica" | "sync_standby" => MemberRole::Replica,
        _ => MemberRole::Unknown,
    }
}

fn tag_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads the topology and Patroni's checks.
pub async fn observe(cluster: &ClusterConfig, config: &PatroniConfig) -> Observation {
    let answers = ask_all(config).await;
    let mut topology = ClusterTopology {
        id: cluster.id.clone(),
        kind: cluster.kind(),
        name: cluster.name().to_string(),
        primary: None,
        members: Vec::new(),
        sources: Vec::new(),
        problems: Vec::new(),
        observed_at: crate::db::now(),
    };
    let mut checks = Vec::new();
    let mut vetoes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen: Option<(Value, Value)> = None;
    for (url, answer) in answers {
        match answer {
            Ok(answer) => {
                topology.sources.push(ClusterSource {
                    address: url,
                    reachable: true,
                    error: None,
                });
                seen.get_or_insert(answer);
            }
            Err(error) => topology.sources.push(ClusterSource {
                address: url,
                reachable: false,
                error: Some(error),
            }),
        }
    }
    let total = config.patroni.len();
    let answered = topology.sources.iter().filter(|s| s.reachable).count();
    let Some((view, dcs)) = seen else {
        return Observation::unanswered(topology, checks, vetoes, total, "Patroni APIs", "sources");
    };
    checks.push(PreflightCheck {
        name: "sources".into(),
        passed: true,
        detail: format!("{answered} of {total} Patroni APIs answered"),
    });
    let paused = view["pause"].as_bool().unwrap_or(false);
    checks.push(PreflightCheck {
        name: "not_paused".into(),
        passed: !paused,
        detail: if paused {
            "the cluster is in maintenance mode (paused): Patroni does not manage it".into()
        } else {
            "the cluster is not paused".into()
        },
    });
    let scheduled = view.get("scheduled_switchover").filter(|v| !v.is_null());
    checks.push(PreflightCheck {
        name: "no_failover_in_progress".into(),
        passed: scheduled.is_none(),
        detail: match scheduled {
            Some(s) => format!("a switchover is scheduled already: {s}"),
            None => "no switchover is scheduled or under way".into(),
        },
    });
    let max_lag = dcs["maximum_lag_on_failover"].as_u64();

    let members: Vec<Value> = view["members"].as_array().cloned().unwrap_or_default();
    let own = ask_members(config, &members).await;
    let leader = members
        .iter()
        .find(|m| role_of(m["role"].as_str().unwrap_or_default()) == MemberRole::Primary);
    let leader_timeline = leader.and_then(|l| l["timeline"].as_u64());
    // The leader's view of its replication connections.
    let streaming: HashMap<String, String> = leader
        .and_then(|l| l["name"].as_str())
        .and_then(|name| own.get(name))
        .and_then(|answer| answer.as_ref().ok())
        .and_then(|status| status["replication"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            Some((
                r["application_name"].as_str()?.to_string(),
                r["state"].as_str().unwrap_or("unknown").to_string(),
            ))
        })
        .collect();

    let mut shown = Vec::new();
    for member in &members {
        let name = member["name"].as_str().unwrap_or_default().to_string();
        let patroni_role = member["role"].as_str().unwrap_or_default();
        let role = role_of(patroni_role);
        let state = member["state"].as_str().unwrap_or("unknown").to_string();
        let answer = own.get(&name);
        let answering = matches!(answer, Some(Ok(_)));
        let mut tags: BTreeMap<String, String> = member["tags"]
            .as_object()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), tag_text(v))).collect())
            .unwrap_or_default();
        if let Some(Ok(status)) = answer {
            if let Some(own_tags) = status["tags"].as_object() {
                for (k, v) in own_tags {
                    tags.entry(k.clone()).or_insert_with(|| tag_text(v));
                }
            }
        }
        let lag_bytes = member["lag"].as_u64();
        let replayed_at = answer
            .and_then(|a| a.as_ref().ok())
            .and_then(|s| s["xlog"]["replayed_timestamp"].as_str())
            .and_then(|t| chrono::DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z").ok());
        let lag_seconds = match (role, lag_bytes) {
            (MemberRole::Replica, Some(0)) => Some(0.0),
            (MemberRole::Replica, Some(_)) => replayed_at.map(|at| {
                ((crate::db::now() - at.with_timezone(&chrono::Utc)).num_milliseconds() as f64
                    / 1000.0)
                    .max(0.0)
            }),
            _ => None,
        };
        let replication = match (role, patroni_role) {
            (MemberRole::Replica, "sync_standby") => Some(ReplicationMode::Sync),
            (MemberRole::Replica, _) => Some(ReplicationMode::Async),
            _ => None,
        };
        let state = match streaming.get(&name) {
            Some(s) if role == MemberRole::Replica => format!("{state}, {s}"),
            _ => state,
        };
        let running = state.starts_with("running") || state.starts_with("streaming");
        let health = if !answering
            || ["stopped", "crashed", "start failed"]
                .iter()
                .any(|s| state.starts_with(s))
        {
            MemberHealth::Down
        } else if !running
            || (role == MemberRole::Replica
                && (lag_bytes.is_none_or(|lag| lag > cluster.max_lag_bytes())
                    || !streaming.contains_key(&name)))
        {
            MemberHealth::Degraded
        } else {
            MemberHealth::Healthy
        };
        if role == MemberRole::Primary {
            topology.primary = Some(name.clone());
        }
        if let Some(Err(err)) = answer {
            topology
                .problems
                .push(format!("member {name}'s API does not answer: {err}"));
        }
        if role == MemberRole::Replica {
            let reasons = vetoes.entry(name.clone()).or_default();
            if tags.get("nofailover").is_some_and(|v| v == "true") {
                reasons.push("its nofailover tag is set: Patroni never promotes it".into());
            }
            if let (Some(lag), Some(max)) = (lag_bytes, max_lag) {
                if lag > max {
                    reasons.push(format!(
                        "its lag of {lag} bytes is over Patroni's maximum_lag_on_failover ({max}): Patroni refuses it"
                    ));
                }
            }
            match (member["timeline"].as_u64(), leader_timeline) {
                (Some(own), Some(leader)) if own != leader => {
                    reasons.push(format!("it is on timeline {own}, the leader on {leader}"))
                }
                _ => {}
            }
            if answering && !running {
                reasons.push(format!("it is {state}, not running"));
            }
            if answering && running && !streaming.contains_key(&name) && leader.is_some() {
                reasons.push("it is not streaming from the leader".into());
            }
            if reasons.is_empty() {
                vetoes.remove(&name);
            }
        }
        shown.push(ClusterMember {
            name,
            role,
            host: member["host"].as_str().unwrap_or_default().to_string(),
            port: member["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(0),
            state,
            lag_bytes,
            lag_seconds,
            timeline: member["timeline"].as_u64(),
            replication,
            health,
            tags,
        });
    }
    if topology.primary.is_none() {
        topology.problems.push("Patroni reports no leader".into());
    }
    shown.sort_by(|a, b| {
        (a.role != MemberRole::Primary, &a.name).cmp(&(b.role != MemberRole::Primary, &b.name))
    });
    topology.members = shown;
    Observation {
        topology,
        checks,
        vetoes,
    }
}

/// Asks Patroni for the switchover or failover, waits for the new leader
/// on `/cluster`, and writes on it until a write succeeds. `candidate` is
/// required for a failover (Patroni's rule); `log` gets a line per step.
pub async fn act(
    cluster: &ClusterConfig,
    config: &PatroniConfig,
    action: FailoverAction,
    old_leader: Option<&str>,
    candidate: Option<&str>,
    job_id: &str,
    mut log: impl FnMut(String),
) -> Result<Acted, String> {
    let deadline = Instant::now() + cluster.failover_timeout();
    let body = match action {
        FailoverAction::Switchover => {
            let leader = old_leader
                .ok_or("a switchover needs the current leader's name, and Patroni reports none")?;
            let mut body = json!({ "leader": leader });
            if let Some(candidate) = candidate {
                body["candidate"] = json!(candidate);
            }
            body
        }
        FailoverAction::Failover => {
            let candidate = candidate
                .ok_or("a Patroni failover needs a candidate, and no replica is eligible")?;
            json!({ "candidate": candidate })
        }
    };
    let path = action.as_str();
    let client = client(ACT)?;
    let mut triggered = Instant::now();
    let mut triggered_at = crate::db::now();
    let mut asked = false;
    let mut refusals = Vec::new();
    for url in &config.patroni {
        triggered = Instant::now();
        triggered_at = crate::db::now();
        let sent = authed(client.post(format!("{}/{path}", base(url))), config)
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                let text = short(&text);
                if status.is_success() {
                    log(format!("Patroni {url} answered {status}: {text}"));
                    asked = true;
                    break;
                }
                // Patroni stopped waiting for the result (it goes on):
                // `/cluster` tells how it ends.
                if status.as_u16() == 503 && text.contains("unknown") {
                    log(format!(
                        "Patroni {url} answered {status}: {text}; watching /cluster"
                    ));
                    asked = true;
                    break;
                }
                return Err(format!(
                    "Patroni {url} refused the {path} ({status}): {text}"
                ));
            }
            Err(err) if err.is_timeout() => {
                log(format!(
                    "Patroni {url} did not answer the {path} within {} s; watching /cluster",
                    ACT.as_secs()
                ));
                asked = true;
                break;
            }
            Err(err) => refusals.push(format!("{url}: {}", without_url(&err))),
        }
    }
    if !asked {
        return Err(format!(
            "no Patroni API could be asked to {path}: {}",
            refusals.join("; ")
        ));
    }

    let watch = self::client(CALL)?;
    let (new_leader, host, port) = loop {
        if Instant::now() >= deadline {
            return Err(format!(
                "Patroni reported no new leader within {} s",
                cluster.failover_timeout().as_secs()
            ));
        }
        if let Some(found) = found_leader(config, &watch, old_leader, candidate).await {
            break found;
        }
        tokio::time::sleep(POLL).await;
    };
    log(format!("Patroni reports {new_leader} the leader"));

    let url = config
        .database
        .replace("{host}", &host)
        .replace("{port}", &port.to_string());
    let mut last_error = String::new();
    loop {
        if Instant::now() >= deadline {
            return Err(format!(
                "the new leader {new_leader} did not accept a write within {} s: {last_error}",
                cluster.failover_timeout().as_secs()
            ));
        }
        match tokio::time::timeout(CALL, write_check(&url, &cluster.id, job_id)).await {
            Ok(Ok(())) => {
                let first_write = Instant::now();
                log(format!(
                    "the new leader {new_leader} accepted a write {:.3} s after the trigger",
                    (first_write - triggered).as_secs_f64()
                ));
                return Ok(Acted {
                    new_primary: new_leader,
                    triggered,
                    triggered_at,
                    first_write,
                    first_write_at: crate::db::now(),
                });
            }
            Ok(Err(err)) => last_error = err,
            Err(_) => last_error = format!("no answer within {} s", CALL.as_secs()),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The leader `/cluster` names, running, other than `old`, and the
/// candidate when one was asked for: its name, host and port.
async fn found_leader(
    config: &PatroniConfig,
    client: &reqwest::Client,
    old: Option<&str>,
    candidate: Option<&str>,
) -> Option<(String, String, u16)> {
    for url in &config.patroni {
        let Ok(view) = get_json(client, config, format!("{}/cluster", base(url))).await else {
            continue;
        };
        let members = view["members"].as_array()?;
        let leader = members
            .iter()
            .find(|m| m["role"] == "leader" && m["state"] == "running")?;
        let name = leader["name"].as_str()?;
        if Some(name) == old || candidate.is_some_and(|c| c != name) {
            return None;
        }
        let port = u16::try_from(leader["port"].as_u64()?).ok()?;
        return Some((name.to_string(), leader["host"].as_str()?.to_string(), port));
    }
    None
}

/// One write on the new leader: a row naming the job, in a table of its own.
async fn write_check(url: &str, cluster: &str, job: &str) -> Result<(), String> {
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .map_err(|err| err.to_string())?;
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS {CHECK_TABLE} (cluster text PRIMARY KEY, job text NOT NULL, \
         written_at timestamptz NOT NULL DEFAULT now())"
    ))
    .execute(&mut connection)
    .await
    .map_err(|err| err.to_string())?;
    sqlx::query(&format!(
        "INSERT INTO {CHECK_TABLE} (cluster, job) VALUES ($1, $2) \
         ON CONFLICT (cluster) DO UPDATE SET job = EXCLUDED.job, written_at = now()"
    ))
    .bind(cluster)
    .bind(job)
    .execute(&mut connection)
    .await
    .map_err(|err| err.to_string())?;
    let _ = connection.close().await;
    Ok(())
}

/// A member as `/cluster` lists it, for a restore that acts on each.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub leader: bool,
    pub host: String,
    pub port: u16,
    /// The base URL of its own REST API (`api_url` without `/patroni`).
    pub api: String,
    pub state: String,
    pub timeline: Option<u64>,
    pub lag: Option<u64>,
}

/// The members from the first API that answers `/cluster`, and whether
/// the cluster is paused.
pub async fn members(config: &PatroniConfig) -> Result<(Vec<Member>, bool), String> {
    let client = client(CALL)?;
    let mut errors = Vec::new();
    for url in &config.patroni {
        match get_json(&client, config, format!("{}/cluster", base(url))).await {
            Ok(view) => {
                let members = view["members"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|m| {
                        Some(Member {
                            name: m["name"].as_str()?.to_string(),
                            leader: role_of(m["role"].as_str().unwrap_or_default())
                                == MemberRole::Primary,
                            host: m["host"].as_str().unwrap_or_default().to_string(),
                            port: u16::try_from(m["port"].as_u64().unwrap_or(0)).unwrap_or(0),
                            api: base(m["api_url"].as_str()?)
                                .trim_end_matches("/patroni")
                                .to_string(),
                            state: m["state"].as_str().unwrap_or("unknown").to_string(),
                            timeline: m["timeline"].as_u64(),
                            lag: m["lag"].as_u64(),
                        })
                    })
                    .collect();
                return Ok((members, view["pause"].as_bool().unwrap_or(false)));
            }
            Err(err) => errors.push(format!("{url}: {err}")),
        }
    }
    Err(format!("no Patroni API answered: {}", errors.join("; ")))
}

/// The libpq URL of `member`'s PostgreSQL, from the cluster's template.
pub fn database_of(config: &PatroniConfig, member: &Member) -> String {
    config
        .database
        .replace("{host}", &member.host)
        .replace("{port}", &member.port.to_string())
}

/// Pauses the cluster (Patroni's maintenance mode: it leaves PostgreSQL
/// alone and never fails over) or resumes it, through `PATCH /config` on
/// the first API that takes it.
pub async fn set_paused(config: &PatroniConfig, paused: bool) -> Result<(), String> {
    let client = client(ACT)?;
    let mut errors = Vec::new();
    for url in &config.patroni {
        let sent = authed(client.patch(format!("{}/config", base(url))), config)
            .json(&json!({ "pause": paused }))
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                errors.push(format!("{url} answered {status}: {}", short(&text)));
            }
            Err(err) => errors.push(format!("{url}: {}", without_url(&err))),
        }
    }
    Err(format!(
        "no Patroni API {} the cluster: {}",
        if paused { "paused" } else { "resumed" },
        errors.join("; ")
    ))
}

/// Whether the member at `api` runs paused, as its own `/patroni` says:
/// each member reads the pause from the DCS on its next loop.
pub async fn member_paused(config: &PatroniConfig, api: &str) -> Result<bool, String> {
    let client = client(CALL)?;
    let status = get_json(&client, config, format!("{}/patroni", base(api))).await?;
    Ok(status["pause"].as_bool().unwrap_or(false))
}

/// Asks the replica at `api` to rebuild its data from the leader
/// (`POST /reinitialize`, forced: it may be running on another timeline).
pub async fn reinitialize(config: &PatroniConfig, api: &str) -> Result<(), String> {
    let client = client(ACT)?;
    let response = authed(client.post(format!("{}/reinitialize", base(api))), config)
        .json(&json!({ "force": true }))
        .send()
        .await
        .map_err(|err| without_url(&err))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {status}: {}", short(&text)))
    }
}
