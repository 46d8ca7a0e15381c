//! Redis under Sentinel for failover tests: a primary, a replica and three
//! Sentinels (Debian's `redis-server`), each on a loopback port of its own
//! in the test's temp dir, with a password on the data nodes, a short
//! `down-after-milliseconds` unless a test asks for a long one, and no
//! persistence. Every process is killed when the value is dropped.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::port::{held_by, retry_on_collision, Attempt, Holder};
use crate::process::{output, Proc};

/// The password of the data nodes (`requirepass`); the Sentinels have none.
pub const PASSWORD: &str = "cache-secret-pw";

/// The master name the Sentinels monitor.
pub const MASTER_NAME: &str = "main-cache";

/// The longest a server may take to listen, and the set to settle.
const START: Duration = Duration::from_secs(30);

/// The longest one `redis-cli` may run.
const CLI: Duration = Duration::from_secs(10);

/// One server of the set.
pub struct Node {
    pub port: u16,
    proc: Option<Proc>,
}

impl Node {
    /// `127.0.0.1:<port>`, as Sentinel names it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL), as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.kill();
        }
    }
}

pub struct RedisSentinel {
    /// The primary as started, then its replica.
    pub nodes: Vec<Node>,
    pub sentinels: Vec<Node>,
    pub dir: tempfile::TempDir,
}

/// Starts `redis-server` with `config` written to `<dir>/<name>.conf` on a
/// port of its own, retrying on another port when one was taken.
fn start_server(
    dir: &Path,
    name: &str,
    sentinel: bool,
    config: impl Fn(u16) -> String,
) -> Result<Node> {
    retry_on_collision(name, |port| {
        let file = dir.join(format!("{name}.conf"));
        std::fs::write(&file, config(port)).with_context(|| format!("write {}", file.display()))?;
        let mut cmd = Command::new("redis-server");
        cmd.arg(&file);
        if sentinel {
            cmd.arg("--sentinel");
        }
        let mut proc = Proc::spawn(cmd, name, dir)?;
        let deadline = Instant::now() + START;
        loop {
            if !proc.running() {
                let said =
                    std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap_or_default();
                if said.contains("Address already in use") {
                    return Ok(Attempt::Collision(format!("port {port}")));
                }
                bail!("{name} exited on start; it said:\n{said}{}", proc.log());
            }
            match held_by(port, proc.id()) {
                Holder::Ours => {
                    return Ok(Attempt::Up(Node {
                        port,
                        proc: Some(proc),
                    }))
                }
                Holder::Stranger => {
                    proc.kill();
                    return Ok(Attempt::Collision(format!(
                        "port {port} taken by another program"
                    )));
                }
                Holder::Nobody => {}
            }
            if Instant::now() >= deadline {
                bail!("{name} did not listen within {START:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

fn data_config(dir: &Path, name: &str, port: u16, replica_of: Option<u16>) -> Result<String> {
    let data = dir.join(name);
    std::fs::create_dir_all(&data)?;
    let mut text = format!(
        "port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\nlogfile \"\"\n\
         dir {}\nsave \"\"\nappendonly no\nrequirepass {PASSWORD}\nmasterauth {PASSWORD}\n\
         repl-ping-replica-period 1\n",
        data.display()
    );
    if let Some(master) = replica_of {
        text.push_str(&format!("replicaof 127.0.0.1 {master}\n"));
    }
    Ok(text)
}

impl RedisSentinel {
    /// Starts the set with Sentinel's `down-after-milliseconds` at
    /// `down_after` and waits until the replica streams and every Sentinel
    /// knows it. Blocks: call through `crate::blocking` from async code.
    pub fn start(down_after: Duration) -> Result<RedisSentinel> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        let primary = start_server(&root, "redis-primary", false, |port| {
            data_config(&root, "redis-primary", port, None).unwrap_or_default()
        })?;
        let master = primary.port;
        let replica = start_server(&root, "redis-replica", false, |port| {
            data_config(&root, "redis-replica", port, Some(master)).unwrap_or_default()
        })?;
        let mut sentinels = Vec::new();
        for n in 0..3 {
            let name = format!("sentinel-{n}");
            let sentinel = start_server(&root, &name, true, |port| {
                format!(
                    "port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\nlogfile \"\"\n\
                     dir {dir}\nsentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n\
                     sentinel auth-pass {MASTER_NAME} {PASSWORD}\n\
                     sentinel down-after-milliseconds {MASTER_NAME} {down}\n\
                     sentinel failover-timeout {MASTER_NAME} 10000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n",
                    dir = root.display(),
                    down = down_after.as_millis(),
                )
            })?;
            sentinels.push(sentinel);
        }
        let set = RedisSentinel {
            nodes: vec![primary, replica],
            sentinels,
            dir,
        };
        let sentinel_ports: Vec<u16> = set.sentinels.iter().map(|s| s.port).collect();
        crate::block_on(settled(set.nodes[1].port, sentinel_ports))?;
        Ok(set)
    }

    /// `host:port` of each Sentinel.
    pub fn sentinel_addresses(&self) -> Vec<String> {
        self.sentinels.iter().map(Node::address).collect()
    }

    /// A `[[clusters]]` section of platform-admin's configuration for it.
    pub fn cluster_config(&self, id: &str) -> String {
        let sentinels: Vec<String> = self
            .sentinel_addresses()
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect();
        format!(
            "[[clusters]]\nid = \"{id}\"\nkind = \"redis-sentinel\"\nsentinels = [{}]\n\
             master_name = \"{MASTER_NAME}\"\npassword = \"{PASSWORD}\"\nfailover_timeout_seconds = 30\n",
            sentinels.join(", ")
        )
    }

    /// Runs a command on a data node (with the password); what
    /// `redis-cli` printed, or its error.
    pub async fn data(&self, port: u16, args: &[&str]) -> Result<String> {
        cli(port, Some(PASSWORD), args).await
    }

    /// Runs a command on a Sentinel.
    pub async fn sentinel(&self, port: u16, args: &[&str]) -> Result<String> {
        cli(port, None, args).await
    }

    /// The master as the first Sentinel that answers names it.
    pub async fn master(&self) -> Result<String> {
        for sentinel in &self.sentinels {
            if let Ok(said) = self
                .sentinel(
                    sentinel.port,
                    &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
                )
                .await
            {
                let parts: Vec<&str> = said.lines().collect();
                if let [host, port] = parts.as_slice() {
                    return Ok(format!("{host}:{port}"));
                }
            }
        }
        bail!("no Sentinel names a master")
    }
}

/// Waits until the replica streams from the primary and every Sentinel
/// lists it and the other Sentinels.
async fn settled(replica: u16, sentinels: Vec<u16>) -> Result<()> {
    let deadline = Instant::now() + START;
    loop {
        let streaming = cli(replica, Some(PASSWORD), &["INFO", "replication"])
            .await
            .is_ok_and(|info| info.contains("master_link_status:up"));
        let mut known = streaming;
        for sentinel in &sentinels {
            if !known {
                break;
            }
            let replicas = cli(*sentinel, None, &["SENTINEL", "REPLICAS", MASTER_NAME])
                .await
                .unwrap_or_default();
            let others = cli(*sentinel, None, &["SENTINEL", "SENTINELS", MASTER_NAME])
                .await
                .unwrap_or_default();
            known = replicas.contains(&replica.to_string())
                && replicas.contains("master-link-status\nok")
                && others.matches("runid").count() >= 2;
        }
        if known {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the Redis set did not settle within {START:?}; replica: {:?}",
                cli(replica, Some(PASSWORD), &["INFO", "replication"]).await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `redis-cli` against a loopback port; fails on its error replies too.
async fn cli(port: u16, password: Option<&str>, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new("redis-cli");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()]);
    if let Some(password) = password {
        cmd.args(["--no-auth-warning", "-a", password]);
    }
    cmd.args(args);
    let out = output(cmd, b"", CLI).await?;
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success()
        || said.starts_with("ERR")
        || said.starts_with("READONLY")
        || said.contains("Could not connect")
    {
        bail!(
            "redis-cli -p {port} {} failed: {said} {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(said)
}
