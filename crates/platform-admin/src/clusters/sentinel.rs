//! Redis under Sentinel: the topology as the Sentinels report it, with
//! each replica's lag read from the master's own `INFO replication` (the
//! offset each replica last acknowledged), and a failover asked of
//! Sentinel with `SENTINEL FAILOVER <master>`.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use opsdeck_api::clusters::{
    ClusterMember, ClusterSource, ClusterTopology, MemberHealth, MemberRole, PreflightCheck,
};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};
use tokio::task::JoinSet;

use super::{split_host_port, Acted, Observation};
use crate::config::{ClusterConfig, SentinelConfig};

/// The longest one connection or command may take.
const CALL: Duration = Duration::from_secs(2);

/// Between two looks at the Sentinels or two write attempts while a
/// failover goes on.
const POLL: Duration = Duration::from_millis(50);

/// Between two writes tried on a replica that may be promoted.
const PROBE: Duration = Duration::from_millis(20);

/// The key the post-check writes on the new master.
pub const CHECK_KEY: &str = "opsdeck:failover-check";

pub(crate) async fn connect(
    host: &str,
    port: u16,
    password: Option<&str>,
) -> Result<MultiplexedConnection, String> {
    let mut settings = RedisConnectionInfo::default().set_skip_set_lib_name();
    if let Some(password) = password {
        settings = settings.set_password(password);
    }
    let info = ConnectionAddr::Tcp(host.to_string(), port)
        .into_connection_info()
        .map_err(|err| err.to_string())?
        .set_redis_settings(settings);
    let client = redis::Client::open(info).map_err(|err| err.to_string())?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CALL))
        .set_response_timeout(Some(CALL));
    match tokio::time::timeout(
        CALL,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {} s", CALL.as_secs())),
    }
}

pub(crate) async fn call<T: redis::FromRedisValue>(
    connection: &mut MultiplexedConnection,
    command: &redis::Cmd,
) -> Result<T, String> {
    match tokio::time::timeout(CALL, command.query_async::<T>(connection)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {} s", CALL.as_secs())),
    }
}

fn sentinel_cmd(args: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd("SENTINEL");
    for arg in args {
        cmd.arg(*arg);
    }
    cmd
}

/// A flat `[key, value, key, value…]` reply as a map.
fn pairs(flat: Vec<String>) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let mut items = flat.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        map.insert(key, value);
    }
    map
}

/// The `key:value` lines of an `INFO` section.
fn info_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What one Sentinel said.
struct SentinelView {
    address: String,
    master: HashMap<String, String>,
    replicas: Vec<HashMap<String, String>>,
}

async fn ask_sentinel(
    address: String,
    config: SentinelConfig,
) -> Result<SentinelView, (String, String)> {
    let Some((host, port)) = split_host_port(&address) else {
        return Err((address.clone(), "not host:port".into()));
    };
    let mut connection = connect(&host, port, config.sentinel_password.as_deref())
        .await
        .map_err(|err| (address.clone(), err))?;
    let master: Vec<String> = call(
        &mut connection,
        &sentinel_cmd(&["MASTER", &config.master_name]),
    )
    .await
    .map_err(|err| (address.clone(), err))?;
    let replicas: Vec<Vec<String>> = call(
        &mut connection,
        &sentinel_cmd(&["REPLICAS", &config.master_name]),
    )
    .await
    .map_err(|err| (address.clone(), err))?;
    Ok(SentinelView {
        address,
        master: pairs(master),
        replicas: replicas.into_iter().map(pairs).collect(),
    })
}

/// Asks every Sentinel at once; the answers in the configuration's order.
async fn ask_all(config: &SentinelConfig) -> Vec<Result<SentinelView, (String, String)>> {
    let mut set = JoinSet::new();
    for (index, address) in config.sentinels.iter().enumerate() {
        let (address, config) = (address.clone(), config.clone());
        set.spawn(async move { (index, ask_sentinel(address, config).await) });
    }
    let mut answers = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(answer) = joined {
            answers.push(answer);
        }
    }
    answers.sort_by_key(|(index, _)| *index);
    answers.into_iter().map(|(_, answer)| answer).collect()
}

fn address_of(fields: &HashMap<String, String>) -> Option<String> {
    Some(format!("{}:{}", fields.get("ip")?, fields.get("port")?))
}

fn flags_of(fields: &HashMap<String, String>) -> Vec<String> {
    fields
        .get("flags")
        .map(|f| f.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

fn reported_down(flags: &[String]) -> bool {
    flags
        .iter()
        .any(|f| matches!(f.as_str(), "s_down" | "o_down" | "disconnected"))
}

/// One replica as the master's `INFO replication` lists it
/// (`slave0:ip=…,port=…,state=online,offset=…,lag=…`).
#[derive(Debug, Default)]
struct Acked {
    state: String,
    offset: u64,
    lag: Option<f64>,
}

fn acked_replicas(info: &HashMap<String, String>) -> HashMap<String, Acked> {
    let mut found = HashMap::new();
    for (key, value) in info {
        if !key.starts_with("slave") || key.starts_with("slave_") {
            continue;
        }
        let fields: HashMap<&str, &str> = value
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let (Some(ip), Some(port)) = (fields.get("ip"), fields.get("port")) else {
            continue;
        };
        found.insert(
            format!("{ip}:{port}"),
            Acked {
                state: fields.get("state").unwrap_or(&"unknown").to_string(),
                offset: fields
                    .get("offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(0),
                lag: fields.get("lag").and_then(|l| l.parse().ok()),
            },
        );
    }
    found
}

/// Reads the topology and Sentinel's checks.
pub async fn observe(cluster: &ClusterConfig, config: &SentinelConfig) -> Observation {
    let answers = ask_all(config).await;
    let mut sources = Vec::new();
    let mut views = Vec::new();
    for answer in answers {
        match answer {
            Ok(view) => {
                sources.push(ClusterSource {
                    address: view.address.clone(),
                    reachable: true,
                    error: None,
                });
                views.push(view);
            }
            Err((address, error)) => sources.push(ClusterSource {
                address,
                reachable: false,
                error: Some(error),
            }),
        }
    }
    let mut topology = ClusterTopology {
        id: cluster.id.clone(),
        kind: cluster.kind(),
        name: cluster.name().to_string(),
        primary: None,
        members: Vec::new(),
        sources,
        problems: Vec::new(),
        observed_at: crate::db::now(),
    };
    let mut checks = Vec::new();
    let mut vetoes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let total = config.sentinels.len();

    let Some(first) = views.first() else {
        return Observation::unanswered(topology, checks, vetoes, total, "Sentinels", "quorum");
    };

    // Sentinels settle a disagreement by configuration epoch: the newest
    // configuration wins (a failover bumps it, and the others learn of it
    // a moment later). Among equals, the most Sentinels.
    let mut votes: HashMap<String, usize> = HashMap::new();
    for view in &views {
        if let Some(address) = address_of(&view.master) {
            *votes.entry(address).or_default() += 1;
        }
    }
    let epoch = |v: &SentinelView| -> u64 {
        v.master
            .get("config-epoch")
            .and_then(|e| e.parse().ok())
            .unwrap_or(0)
    };
    let view = views
        .iter()
        .max_by_key(|v| {
            let address = address_of(&v.master).unwrap_or_default();
            (epoch(v), votes.get(&address).copied().unwrap_or(0))
        })
        .unwrap_or(first);
    let master_address = address_of(&view.master).unwrap_or_default();
    let agreeing = votes.get(&master_address).copied().unwrap_or(0);
    let quorum: usize = view
        .master
        .get("quorum")
        .and_then(|q| q.parse().ok())
        .unwrap_or(total / 2 + 1);
    checks.push(PreflightCheck {
        name: "quorum".into(),
        passed: agreeing >= quorum,
        detail: format!(
            "{} of {total} Sentinels answered, {agreeing} agree the master is {master_address} (quorum {quorum})",
            views.len()
        ),
    });
    if agreeing < views.len() {
        topology.problems.push(format!(
            "the Sentinels disagree on the master: {}",
            votes
                .iter()
                .map(|(a, n)| format!("{a} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let master_flags = flags_of(&view.master);
    let in_progress = master_flags
        .iter()
        .any(|f| f.starts_with("failover_in_progress"))
        || view
            .master
            .get("failover-state")
            .is_some_and(|s| s != "none" && !s.is_empty());
    checks.push(PreflightCheck {
        name: "no_failover_in_progress".into(),
        passed: !in_progress,
        detail: if in_progress {
            format!(
                "Sentinel {} is failing this master over already",
                view.address
            )
        } else {
            "Sentinel reports no failover under way".into()
        },
    });

    // The master's own account of its replicas: the offsets they acked.
    let (master_host, master_port) = split_host_port(&master_address).unwrap_or_default();
    let master_info = match connect(&master_host, master_port, config.password.as_deref()).await {
        Ok(mut connection) => {
            call::<String>(&mut connection, redis::cmd("INFO").arg("replication"))
                .await
                .map(|text| info_fields(&text))
        }
        Err(err) => Err(err),
    };
    let master_down = reported_down(&master_flags) || master_info.is_err();
    topology.primary = Some(master_address.clone());
    topology.members.push(ClusterMember {
        name: master_address.clone(),
        role: MemberRole::Primary,
        host: master_host,
        port: master_port,
        state: match &master_info {
            Ok(_) => master_flags.join(","),
            Err(err) => format!("{} (unreachable: {err})", master_flags.join(",")),
        },
        lag_bytes: None,
        lag_seconds: None,
        timeline: None,
        replication: None,
        health: if master_down {
            MemberHealth::Down
        } else {
            MemberHealth::Healthy
        },
        tags: BTreeMap::new(),
    });
    if let Err(err) = &master_info {
        topology.problems.push(format!(
            "the master {master_address} does not answer: {err}"
        ));
    }
    let master_offset: Option<u64> = master_info
        .as_ref()
        .ok()
        .and_then(|i| i.get("master_repl_offset"))
        .and_then(|o| o.parse().ok());
    let acked = master_info.as_ref().map(acked_replicas).unwrap_or_default();

    let mut replicas = Vec::new();
    for replica in &view.replicas {
        let Some(name) = address_of(replica) else {
            continue;
        };
        let flags = flags_of(replica);
        let (host, port) = split_host_port(&name).unwrap_or_default();
        let priority = replica.get("slave-priority").cloned().unwrap_or_default();
        let mut tags = BTreeMap::new();
        if !priority.is_empty() {
            tags.insert("replica-priority".to_string(), priority.clone());
        }
        if priority == "0" {
            vetoes
                .entry(name.clone())
                .or_default()
                .push("its replica-priority is 0: Sentinel never promotes it".into());
        }
        let link_up = replica.get("master-link-status").map(String::as_str) == Some("ok");
        let link_down_seconds = replica
            .get("master-link-down-time")
            .and_then(|ms| ms.parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map(|ms| ms as f64 / 1000.0);
        let seen = acked.get(&name);
        let lag_bytes = match (master_offset, seen) {
            (Some(master), Some(acked)) => Some(master.saturating_sub(acked.offset)),
            _ => None,
        };
        let lag_seconds = if link_up {
            seen.and_then(|a| a.lag)
        } else {
            link_down_seconds
        };
        let down = reported_down(&flags);
        if !link_up && !down {
            vetoes
                .entry(name.clone())
                .or_default()
                .push(match link_down_seconds {
                    Some(s) => format!("its link to the master has been down for {s:.1} s"),
                    None => "its link to the master is down".into(),
                });
        }
        let state = match seen {
            Some(acked) if link_up => acked.state.clone(),
            _ if down => flags.join(","),
            _ => "link down".to_string(),
        };
        let health = if down {
            MemberHealth::Down
        } else if !link_up
            || lag_bytes.is_none_or(|lag| lag > cluster.max_lag_bytes())
            || lag_seconds.is_some_and(|s| s > cluster.max_lag_seconds())
        {
            MemberHealth::Degraded
        } else {
            MemberHealth::Healthy
        };
        replicas.push(ClusterMember {
            name,
            role: MemberRole::Replica,
            host,
            port,
            state,
            lag_bytes,
            lag_seconds,
            timeline: None,
            replication: Some(opsdeck_api::clusters::ReplicationMode::Async),
            health,
            tags,
        });
    }
    replicas.sort_by(|a, b| a.name.cmp(&b.name));
    topology.members.extend(replicas);
    Observation {
        topology,
        checks,
        vetoes,
    }
}

/// Asks the first Sentinel that answers to fail `old_master` over, waits
/// until the Sentinels name another master, and writes to it until a write
/// succeeds. `log` gets a line per step.
pub async fn fail_over(
    cluster: &ClusterConfig,
    config: &SentinelConfig,
    old_master: Option<&str>,
    replicas: &[String],
    job_id: &str,
    mut log: impl FnMut(String),
) -> Result<Acted, String> {
    let deadline = Instant::now() + cluster.failover_timeout();
    let mut asked = None;
    let mut refusals = Vec::new();
    let mut triggered = Instant::now();
    let mut triggered_at = crate::db::now();
    for address in &config.sentinels {
        let Some((host, port)) = split_host_port(address) else {
            continue;
        };
        let mut connection = match connect(&host, port, config.sentinel_password.as_deref()).await {
            Ok(connection) => connection,
            Err(err) => {
                refusals.push(format!("{address}: {err}"));
                continue;
            }
        };
        triggered = Instant::now();
        triggered_at = crate::db::now();
        match call::<String>(
            &mut connection,
            &sentinel_cmd(&["FAILOVER", &config.master_name]),
        )
        .await
        {
            Ok(_) => {
                log(format!(
                    "Sentinel {address} accepted SENTINEL FAILOVER {}",
                    config.master_name
                ));
                asked = Some((address.clone(), connection));
                break;
            }
            // Sentinel's refusals (INPROG, NOGOODSLAVE) are final: another
            // Sentinel would say the same of the same master.
            Err(err) => return Err(format!("Sentinel {address} refused the failover: {err}")),
        }
    }
    let Some((address, mut connection)) = asked else {
        return Err(format!(
            "no Sentinel could be asked to fail over: {}",
            refusals.join("; ")
        ));
    };

    // Every replica is written to from the trigger on: the promoted one
    // takes a write as soon as it is master, while Sentinel names it only
    // once it has seen it report so (about a second later). The RTO is when
    // the result first took a write, not when Sentinel said which it was.
    let mut probes = JoinSet::new();
    for replica in replicas {
        let Some((host, port)) = split_host_port(replica) else {
            continue;
        };
        let (name, password, job) = (replica.clone(), config.password.clone(), job_id.to_string());
        probes.spawn(async move {
            let written = first_write(&host, port, password.as_deref(), &job, deadline).await;
            (name, written)
        });
    }

    // Sentinel names the new master once the promoted replica reports
    // itself master; the one asked is the first to know.
    let new_master = loop {
        if Instant::now() >= deadline {
            return Err(format!(
                "Sentinel {address} did not name a new master within {} s",
                cluster.failover_timeout().as_secs()
            ));
        }
        if let Ok(reply) = call::<Vec<String>>(
            &mut connection,
            &sentinel_cmd(&["GET-MASTER-ADDR-BY-NAME", &config.master_name]),
        )
        .await
        {
            if let [host, port] = reply.as_slice() {
                let current = format!("{host}:{port}");
                if Some(current.as_str()) != old_master {
                    break current;
                }
            }
        }
        tokio::time::sleep(POLL).await;
    };
    log(format!("Sentinel {address} names {new_master} the master"));

    // The promoted replica's own probe, when it was one of those probed
    // (the others write until the deadline: they are not waited for).
    let mut written = None;
    while replicas.contains(&new_master) {
        let Some(joined) = probes.join_next().await else {
            break;
        };
        match joined {
            Ok((name, answer)) if name == new_master => {
                written = Some(answer);
                break;
            }
            _ => {}
        }
    }
    let written = match written {
        Some(answer) => answer,
        None => {
            let (host, port) = split_host_port(&new_master)
                .ok_or_else(|| format!("Sentinel named `{new_master}`, which is not host:port"))?;
            first_write(&host, port, config.password.as_deref(), job_id, deadline).await
        }
    };
    let (first_write, first_write_at) = written.map_err(|last_error| {
        format!(
            "the new master {new_master} did not accept a write within {} s: {last_error}",
            cluster.failover_timeout().as_secs()
        )
    })?;
    log(format!(
        "the new master {new_master} accepted a write {:.3} s after the trigger",
        (first_write - triggered).as_secs_f64()
    ));
    Ok(Acted {
        new_primary: new_master,
        triggered,
        triggered_at,
        first_write,
        first_write_at,
    })
}

/// Writes the check key on the server at `host:port` until it takes it
/// (a replica refuses, `READONLY`), within `deadline`: when it did, else
/// the last refusal.
async fn first_write(
    host: &str,
    port: u16,
    password: Option<&str>,
    job_id: &str,
    deadline: Instant,
) -> Result<(Instant, chrono::DateTime<chrono::Utc>), String> {
    let mut connection = None;
    let mut last_error = String::from("never tried");
    while Instant::now() < deadline {
        if connection.is_none() {
            match connect(host, port, password).await {
                Ok(open) => connection = Some(open),
                Err(err) => last_error = err,
            }
        }
        if let Some(open) = connection.as_mut() {
            let set = redis::cmd("SET")
                .arg(CHECK_KEY)
                .arg(job_id)
                .arg("EX")
                .arg(3600)
                .clone();
            match call::<String>(open, &set).await {
                Ok(_) => return Ok((Instant::now(), crate::db::now())),
                // Refused as a replica: the connection is fine.
                Err(err) if err.contains("READONLY") => last_error = err,
                Err(err) => {
                    last_error = err;
                    connection = None;
                }
            }
        }
        tokio::time::sleep(PROBE).await;
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masters_info_gives_each_replicas_acked_offset() {
        let info = info_fields(
            "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\
             slave0:ip=127.0.0.1,port=7001,state=online,offset=1200,lag=1\r\n\
             master_repl_offset:1500\r\n",
        );
        let acked = acked_replicas(&info);
        let replica = acked.get("127.0.0.1:7001").expect("listed");
        assert_eq!(
            (replica.state.as_str(), replica.offset, replica.lag),
            ("online", 1200, Some(1.0))
        );
        assert_eq!(acked.len(), 1, "slave_* fields are not replicas");
    }

    #[test]
    fn flat_replies_pair_up() {
        let map = pairs(vec![
            "ip".into(),
            "10.0.0.1".into(),
            "port".into(),
            "6379".into(),
        ]);
        assert_eq!(address_of(&map).as_deref(), Some("10.0.0.1:6379"));
    }
}
