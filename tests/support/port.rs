//! Loopback ports. A server that can bind port 0 and say what it got is
//! always started that way; these are for the rest: a program that must be
//! told a port number ([`retry_on_collision`], with [`held_by`] to check the
//! listener really is the program's), and a port that must refuse
//! connections for as long as a test needs ([`Refusing`]).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use anyhow::{bail, Context, Result};

/// How many ports a start tries before it gives up.
const ATTEMPTS: usize = 5;

/// A loopback port bound but not listening, held until dropped: a connection
/// to it is refused at once, and no other program can take it meanwhile
/// (unlike a port picked free and released).
pub struct Refusing {
    _socket: socket2::Socket,
    pub port: u16,
}

impl Refusing {
    pub fn new() -> Result<Self> {
        use socket2::{Domain, Protocol, Socket, Type};
        // No SO_REUSEADDR: a server that sets it still cannot bind here.
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        let port = socket
            .local_addr()?
            .as_socket()
            .context("a loopback address")?
            .port();
        Ok(Self {
            _socket: socket,
            port,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// What one start on a given port came to.
pub enum Attempt<T> {
    Up(T),
    /// The port was taken by someone else first; another one is tried.
    Collision(String),
}

/// Waits until `proc`, just started and told to listen on `port`, holds the
/// port and `ready` says it answers: `Up` then; `Collision` when another
/// program had the port first (its start failed with "address already in
/// use", or a stranger holds it); an error with `proc`'s log when it exits
/// otherwise or is not ready within `limit`.
pub fn await_ready(
    mut proc: crate::process::Proc,
    port: u16,
    what: &str,
    limit: std::time::Duration,
    ready: impl Fn(u16) -> bool,
) -> Result<Attempt<(u16, crate::process::Proc)>> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if !proc.running() {
            let log = proc.log();
            if log.contains("address already in use") {
                return Ok(Attempt::Collision(format!("port {port}")));
            }
            bail!("{what} exited on start; its log:\n{log}");
        }
        match held_by(port, proc.id()) {
            Holder::Stranger => {
                proc.kill();
                return Ok(Attempt::Collision(format!(
                    "port {port} taken by another program"
                )));
            }
            Holder::Ours if ready(port) => return Ok(Attempt::Up((port, proc))),
            _ => {}
        }
        if std::time::Instant::now() >= deadline {
            bail!(
                "{what} was not ready within {limit:?}; its log:\n{}",
                proc.log()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Starts something that must be given its port number: `start` gets a port
/// nobody listened on a moment ago and says whether it came up or lost the
/// port to another program, in which case the next port is tried.
pub fn retry_on_collision<T>(
    what: &str,
    mut start: impl FnMut(u16) -> Result<Attempt<T>>,
) -> Result<T> {
    let mut lost = Vec::new();
    for _ in 0..ATTEMPTS {
        match start(unused_port()?)? {
            Attempt::Up(started) => return Ok(started),
            Attempt::Collision(why) => lost.push(why),
        }
    }
    bail!("{what} lost its port {ATTEMPTS} times: {}", lost.join("; "))
}

/// A loopback port nobody listens on at this moment (it may be taken the
/// moment after: only for [`retry_on_collision`]).
pub(crate) fn unused_port() -> Result<u16> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    Ok(port)
}

/// Who listens on a loopback port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Nobody,
    /// The process asked about, or one of its descendants.
    Ours,
    Stranger,
}

/// Whether the TCP listener on `port` belongs to process `pid` or one of its
/// descendants (a program's helper, such as the WebDriver that tauri-driver
/// starts), read from /proc.
pub fn held_by(port: u16, pid: u32) -> Holder {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return Holder::Nobody;
    }
    let ours = descendants(pid).into_iter().any(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter_map(|target| {
                target
                    .to_str()?
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse::<u64>()
                    .ok()
            })
            .any(|inode| inodes.contains(&inode))
    });
    if ours {
        Holder::Ours
    } else {
        Holder::Stranger
    }
}

/// Socket inodes listening on `port`, IPv4 or IPv6.
fn listening_inodes(port: u16) -> HashSet<u64> {
    const LISTEN: &str = "0A";
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            if *state == LISTEN && local_port == Some(port) {
                if let Ok(inode) = inode.parse() {
                    inodes.insert(inode);
                }
            }
        }
    }
    inodes
}

/// `pid` and every process below it.
fn descendants(pid: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name in parentheses may hold spaces: fields start after it.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(parent) = parent {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut all = vec![pid];
    let mut next = 0;
    while next < all.len() {
        all.extend(children.get(&all[next]).cloned().unwrap_or_default());
        next += 1;
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusing_port_refuses_connections_and_cannot_be_taken() {
        let refusing = Refusing::new().expect("reserve");
        let connect = std::net::TcpStream::connect(("127.0.0.1", refusing.port));
        assert_eq!(
            connect.map(|_| ()).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::ConnectionRefused)
        );
        assert!(std::net::TcpListener::bind(("127.0.0.1", refusing.port)).is_err());
    }

    #[test]
    fn held_by_tells_our_listener_from_a_strangers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert_eq!(held_by(port, std::process::id()), Holder::Ours);
        // PID 1 is an ancestor of this test, not a descendant.
        let init = descendants(1);
        assert!(init.contains(&std::process::id()));
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("a child");
        assert_eq!(held_by(port, child.id()), Holder::Stranger);
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        let silent = Refusing::new().expect("reserve");
        assert_eq!(held_by(silent.port, std::process::id()), Holder::Nobody);
    }

    #[test]
    fn retry_on_collision_moves_on_to_another_port() {
        let mut tried = Vec::new();
        let port = retry_on_collision("a server", |port| {
            tried.push(port);
            Ok(if tried.len() < 3 {
                Attempt::Collision(format!("{port} taken"))
            } else {
                Attempt::Up(port)
            })
        })
        .expect("third time");
        assert_eq!(tried.len(), 3);
        assert_eq!(tried[2], port);
        let never = retry_on_collision("a server", |port| {
            Ok(Attempt::<()>::Collision(format!("{port} taken")))
        });
        assert!(never.is_err());
    }
}
