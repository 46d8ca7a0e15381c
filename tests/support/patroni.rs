//! PostgreSQL under Patroni for failover tests: one etcd (v3 API) and
//! Patroni nodes (Debian's `patroni`, run as the `postgres` OS user), a
//! leader and streaming replicas, each node's data, socket and REST API in
//! the test's temp dir, with the short timings failover tests need (`ttl`
//! 10, `loop_wait` 1, `retry_timeout` 4). Every process, postmasters
//! included (they are not Patroni's children), is killed when the value is
//! dropped.
//!
//! Needs root (to act as `postgres`), `etcd`, `patroni` and the PostgreSQL
//! server.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::port::{await_ready, retry_on_collision, unused_port};
use crate::postgres::server_bin;
use crate::process::{output, Proc};

/// The superuser's password the post-check connects with (the test
/// clusters trust loopback, so it is not checked; it must not be shown).
pub const PASSWORD: &str = "pg-secret-pw";

/// Patroni's scope of the test clusters.
pub const SCOPE: &str = "opsdeck-test";

/// The longest the set may take to come up (a leader, then each replica
/// streaming).
const START: Duration = Duration::from_secs(90);

/// The longest one `psql` or REST call may take.
const CALL: Duration = Duration::from_secs(10);

/// The longest one pgBackRest command may take.
const PGBACKREST: Duration = Duration::from_secs(300);

/// What a node is started with.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    /// Patroni's `nofailover` tag.
    pub nofailover: bool,
}

impl NodeSpec {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            nofailover: false,
        }
    }
}

/// One Patroni node and its PostgreSQL.
pub struct PatroniNode {
    pub name: String,
    pub pg_port: u16,
    pub api_port: u16,
    pub data: PathBuf,
    proc: Option<Proc>,
}

impl PatroniNode {
    /// The base URL of its REST API.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// Kills Patroni and its postmaster with SIGKILL, as a lost host would
    /// be: nothing is handed over.
    pub fn kill(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.kill();
        }
        if let Some(pid) = postmaster_pid(&self.data) {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

fn postmaster_pid(data: &Path) -> Option<u32> {
    std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The uid and gid of the `postgres` OS user, from `id`.
fn postgres_ids() -> Result<(u32, u32)> {
    let id = |flag: &str| -> Result<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .context("the postgres OS user (apt-get install postgresql)")
    };
    Ok((id("-u")?, id("-g")?))
}

pub struct Patroni {
    pub nodes: Vec<PatroniNode>,
    /// The pgBackRest stanza and configuration file the members archive
    /// their WAL to, when started so.
    pub archive: Option<(String, PathBuf)>,
    pub etcd_port: u16,
    etcd: Option<Proc>,
    pub dir: tempfile::TempDir,
}

fn start_etcd(root: &Path) -> Result<(u16, Proc)> {
    retry_on_collision("etcd", |client| {
        let peer = unused_port()?;
        let data = root.join(format!("etcd-{client}"));
        let mut cmd = Command::new("etcd");
        cmd.args([
            "--name",
            "etcd0",
            "--data-dir",
            &data.to_string_lossy(),
            "--listen-client-urls",
            &format!("http://127.0.0.1:{client}"),
            "--advertise-client-urls",
            &format!("http://127.0.0.1:{client}"),
            "--listen-peer-urls",
            &format!("http://127.0.0.1:{peer}"),
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{peer}"),
            "--initial-cluster",
            &format!("etcd0=http://127.0.0.1:{peer}"),
        ]);
        let proc = Proc::spawn(cmd, "etcd", root)?;
        await_ready(proc, client, "etcd", START, |port| {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
    })
}

fn node_config(
    root: &Path,
    spec: &NodeSpec,
    etcd: u16,
    (pg, api): (u16, u16),
    archive: Option<&(String, PathBuf)>,
) -> String {
    let dir = root.join(&spec.name);
    // Each member archives with its own data directory as pg1-path:
    // pgBackRest refuses to archive from another.
    let (archive_mode, archive_command) = match archive {
        Some((stanza, config)) => (
            "        archive_mode: \"on\"\n        archive_timeout: 30\n".to_string(),
            format!(
                "    archive_command: \"pgbackrest --config={} --stanza={stanza} --pg1-path={} archive-push %p\"\n",
                config.display(),
                dir.join("data").display()
            ),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        r#"scope: {SCOPE}
name: {name}
restapi:
  listen: 127.0.0.1:{api}
  connect_address: 127.0.0.1:{api}
etcd3:
  hosts: 127.0.0.1:{etcd}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_log_hints: "on"
{archive_mode}  initdb:
  - encoding: UTF8
  pg_hba:
  - host replication replicator 127.0.0.1/32 trust
  - host all all 127.0.0.1/32 trust
  - local all all trust
postgresql:
  listen: 127.0.0.1:{pg}
  connect_address: 127.0.0.1:{pg}
  data_dir: {data}
  bin_dir: {bin}
  pgpass: {dir}/pgpass
  authentication:
    replication: {{username: replicator, password: rep-pw}}
    superuser: {{username: postgres, password: {PASSWORD}}}
    rewind: {{username: rewinder, password: rewind-pw}}
  parameters:
    unix_socket_directories: {dir}/sock
{archive_command}tags:
  nofailover: {nofailover}
"#,
        name = spec.name,
        data = dir.join("data").display(),
        bin = server_bin().unwrap_or_default().display(),
        dir = dir.display(),
        nofailover = spec.nofailover,
    )
}

impl Patroni {
    /// Starts etcd and the nodes (the first becomes the leader) and waits
    /// until every other node streams from it. Blocks: call through
    /// `crate::blocking` from async code.
    pub fn start(specs: &[NodeSpec]) -> Result<Patroni> {
        Self::start_set(specs, None)
    }

    /// Starts them as `start` does, every member archiving its WAL with
    /// pgBackRest to a repository in the set's temp dir under `stanza`
    /// (created once the leader runs), as the sandbox's do.
    pub fn start_archived(specs: &[NodeSpec], stanza: &str) -> Result<Patroni> {
        Self::start_set(specs, Some(stanza))
    }

    fn start_set(specs: &[NodeSpec], stanza: Option<&str>) -> Result<Patroni> {
        let (uid, gid) = postgres_ids()?;
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        let (etcd_port, etcd) = start_etcd(&root)?;
        let ports = specs
            .iter()
            .map(|_| Ok((unused_port()?, unused_port()?)))
            .collect::<Result<Vec<_>>>()?;
        let archive = match stanza {
            Some(stanza) => {
                let archive = pgbackrest_config(&root, specs, &ports, stanza)?;
                std::os::unix::fs::chown(&root, Some(uid), Some(gid))?;
                chown_tree(&root.join("pgbackrest"), uid, gid)?;
                Some(archive)
            }
            None => None,
        };
        let mut set = Patroni {
            nodes: Vec::new(),
            archive: archive.clone(),
            etcd_port,
            etcd: Some(etcd),
            dir,
        };
        for (index, (spec, &(pg, api))) in specs.iter().zip(&ports).enumerate() {
            let node_dir = root.join(&spec.name);
            std::fs::create_dir_all(node_dir.join("sock"))?;
            let config = node_dir.join("node.yml");
            std::fs::write(
                &config,
                node_config(&root, spec, etcd_port, (pg, api), archive.as_ref()),
            )?;
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))?;
            chown_tree(&node_dir, uid, gid)?;
            let mut cmd = Command::new("patroni");
            cmd.arg(&config)
                .current_dir(&node_dir)
                .env("HOME", &node_dir)
                .uid(uid)
                .gid(gid);
            let proc = Proc::spawn(cmd, &format!("patroni-{}", spec.name), &root)?;
            set.nodes.push(PatroniNode {
                name: spec.name.clone(),
                pg_port: pg,
                api_port: api,
                data: node_dir.join("data"),
                proc: Some(proc),
            });
            // The first node bootstraps alone, so it is the leader.
            if index == 0 {
                let (urls, logs) = (set.api_urls(), set.logs());
                let name = spec.name.clone();
                crate::block_on(wait_at(urls, "a leader", logs, move |cluster| {
                    leader_of(cluster).as_deref() == Some(name.as_str())
                }))?;
                if let Some((stanza, config)) = &archive {
                    // Before the replicas: the leader's archiver retries
                    // quickly only a few times.
                    set.pgbackrest_blocking(stanza, config, &["stanza-create"])?;
                }
            }
        }
        let count = specs.len();
        let (urls, logs) = (set.api_urls(), set.logs());
        crate::block_on(wait_at(
            urls,
            "every replica streaming",
            logs,
            move |cluster| {
                let members = cluster["members"].as_array().cloned().unwrap_or_default();
                members.len() == count
                    && members.iter().all(|m| {
                        m["state"] == "running"
                            && (m["role"] == "leader" || m["lag"].as_u64() == Some(0))
                    })
            },
        ))?;
        Ok(set)
    }

    /// Waits until `/cluster`, from any node, satisfies `ready`.
    pub async fn wait_for(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Result<Value> {
        wait_at(self.api_urls(), what, self.logs(), ready).await
    }

    /// `GET /cluster` from the first node that answers.
    pub async fn cluster(&self) -> Result<Value> {
        cluster_at(&self.api_urls()).await
    }

    fn api_urls(&self) -> Vec<String> {
        self.nodes.iter().map(PatroniNode::api_url).collect()
    }

    /// Each node's name and log file.
    fn logs(&self) -> Vec<(String, PathBuf)> {
        self.nodes
            .iter()
            .map(|n| {
                let log = self.dir.path().join(format!("patroni-{}.log", n.name));
                (n.name.clone(), log)
            })
            .collect()
    }

    /// The leader's name, as `/cluster` says.
    pub async fn leader(&self) -> Result<String> {
        leader_of(&self.cluster().await?).context("no leader in /cluster")
    }

    /// A `[[clusters]]` section of platform-admin's configuration for it.
    pub fn cluster_config(&self, id: &str) -> String {
        let apis: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("\"{}\"", n.api_url()))
            .collect();
        format!(
            "[[clusters]]\nid = \"{id}\"\nkind = \"patroni\"\npatroni = [{}]\nscope = \"{SCOPE}\"\n\
             database = \"postgres://postgres:{PASSWORD}@{{host}}:{{port}}/postgres\"\n\
             failover_timeout_seconds = 60\n",
            apis.join(", ")
        )
    }

    /// Runs `sql` with `psql` on the node named `name` (over TCP, trusted
    /// on loopback); what it printed, unaligned, tuples only.
    pub async fn sql(&self, name: &str, sql: &str) -> Result<String> {
        let node = self
            .nodes
            .iter()
            .find(|n| n.name == name)
            .with_context(|| format!("no node {name}"))?;
        let mut cmd = Command::new(server_bin()?.join("psql"));
        cmd.args(["-h", "127.0.0.1", "-p", &node.pg_port.to_string()])
            .args([
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ]);
        let out = output(cmd, b"", CALL).await?;
        if !out.status.success() {
            bail!(
                "psql on {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Runs pgBackRest on the set's stanza as `postgres`; its stdout.
    pub async fn pgbackrest(&self, args: &[&str]) -> Result<String> {
        let (stanza, config) = self
            .archive
            .as_ref()
            .context("the set was not started archived")?;
        let out = output(pgbackrest_command(stanza, config, args), b"", PGBACKREST).await?;
        pgbackrest_said(args, out)
    }

    fn pgbackrest_blocking(&self, stanza: &str, config: &Path, args: &[&str]) -> Result<String> {
        let cmd = pgbackrest_command(stanza, config, args);
        pgbackrest_said(args, crate::process::output_blocking(cmd, b"", PGBACKREST)?)
    }

    pub fn node(&mut self, name: &str) -> Option<&mut PatroniNode> {
        self.nodes.iter_mut().find(|n| n.name == name)
    }
}

impl Drop for Patroni {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        if let Some(mut etcd) = self.etcd.take() {
            etcd.kill();
        }
    }
}

/// Polls `/cluster` at `urls` until `ready` holds; fails with the last
/// answer and the tail of each node's log.
async fn wait_at(
    urls: Vec<String>,
    what: &str,
    logs: Vec<(String, PathBuf)>,
    ready: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = Instant::now() + START;
    let mut last = Value::Null;
    loop {
        if let Ok(cluster) = cluster_at(&urls).await {
            if ready(&cluster) {
                return Ok(cluster);
            }
            last = cluster;
        }
        if Instant::now() >= deadline {
            let tails: Vec<String> = logs
                .iter()
                .map(|(name, path)| {
                    let log = std::fs::read_to_string(path).unwrap_or_default();
                    let mut tail: Vec<&str> = log.lines().rev().take(15).collect();
                    tail.reverse();
                    format!("{name}:\n{}", tail.join("\n"))
                })
                .collect();
            bail!(
                "Patroni: no {what} within {START:?}; /cluster said {last}\n{}",
                tails.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn cluster_at(urls: &[String]) -> Result<Value> {
    let client = reqwest::Client::builder().timeout(CALL).build()?;
    let mut errors = Vec::new();
    for url in urls {
        match client.get(format!("{url}/cluster")).send().await {
            Ok(response) => return Ok(response.json().await?),
            Err(err) => errors.push(err.to_string()),
        }
    }
    bail!("no Patroni API answered: {}", errors.join("; "))
}

fn leader_of(cluster: &Value) -> Option<String> {
    cluster["members"]
        .as_array()?
        .iter()
        .find(|m| m["role"] == "leader" && m["state"] == "running")
        .and_then(|m| m["name"].as_str())
        .map(str::to_string)
}

fn pgbackrest_command(stanza: &str, config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--", "pgbackrest"])
        .arg(format!("--config={}", config.display()))
        .arg(format!("--stanza={stanza}"))
        .args(args);
    cmd
}

/// pgBackRest's stdout, or an error with all it said.
fn pgbackrest_said(args: &[&str], out: std::process::Output) -> Result<String> {
    if !out.status.success() {
        bail!(
            "pgbackrest {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// pgBackRest's configuration for the set: its repository, log, lock and
/// spool dirs in `root`, and every member as `pgN` (pgBackRest finds the
/// primary among them). The stanza and the file's path.
fn pgbackrest_config(
    root: &Path,
    specs: &[NodeSpec],
    ports: &[(u16, u16)],
    stanza: &str,
) -> Result<(String, PathBuf)> {
    let dir = root.join("pgbackrest");
    let mut text = format!("[global]\nrepo1-path={0}/repo\nrepo1-retention-full=4\nlog-path={0}/log\n\
         lock-path={0}/lock\nspool-path={0}/spool\nlog-level-file=off\nstart-fast=y\n\n[{stanza}]\n",
        dir.display());
    for (index, (spec, (pg, _))) in specs.iter().zip(ports).enumerate() {
        let node = root.join(&spec.name);
        let n = index + 1;
        text.push_str(&format!(
            "pg{n}-path={}\npg{n}-port={pg}\npg{n}-socket-path={}\n",
            node.join("data").display(),
            node.join("sock").display()
        ));
    }
    for sub in ["repo", "log", "lock", "spool"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let config = dir.join("pgbackrest.conf");
    std::fs::write(&config, text)?;
    Ok((stanza.to_string(), config))
}

/// Gives the tree to the `postgres` user: Patroni and PostgreSQL write in it.
fn chown_tree(root: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::chown(root, Some(uid), Some(gid))?;
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        // The harness's own logs stay root's; etcd's data is etcd's.
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("etcd") || name.ends_with(".log") || name.ends_with(".out") {
            continue;
        }
        if path.is_dir() {
            chown_tree(&path, uid, gid)?;
        } else {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        }
    }
    Ok(())
}
