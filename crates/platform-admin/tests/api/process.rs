//! The `platform-admin` binary as a child process, for tests that need a
//! whole process: its limits, its signals, its death.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::support::TestDb;

pub const BIN: &str = env!("CARGO_BIN_EXE_platform-admin");

/// Mints a token of role admin named `name`; returns it.
pub async fn mint_admin_token(url: &str, name: &str) -> String {
    let minted = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(BIN)
            .args([
                "token",
                "create",
                "--database",
                url,
                "--name",
                name,
                "--role",
                "admin",
            ])
            .output(),
    )
    .await
    .expect("a token within 30 s")
    .expect("run token create");
    assert!(
        minted.status.success(),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    String::from_utf8(minted.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// A `platform-admin serve` child, killed when dropped.
pub struct Served {
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// An admin token.
    pub token: String,
    pub db: TestDb,
}

impl Served {
    /// Starts the binary on `db` with `args` after `serve`, under `ulimit -n`
    /// when `open_files` is given, and waits for its address.
    pub async fn start(db: TestDb, open_files: Option<u32>, args: &[&str]) -> Served {
        let token = mint_admin_token(&db.url, "admin").await;
        let (child, addr) = spawn(&db.url, open_files, args).await;
        Served {
            child,
            addr,
            token,
            db,
        }
    }

    /// Starts the server again on the same database (after it died).
    pub async fn restart(&mut self) {
        let (child, addr) = spawn(&self.db.url, None, &[]).await;
        self.child = child;
        self.addr = addr;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn spawn(url: &str, open_files: Option<u32>, args: &[&str]) -> (Child, String) {
    let mut serve_args = vec!["serve", "--database", url, "--listen", "127.0.0.1:0"];
    serve_args.extend_from_slice(args);
    let mut command = match open_files {
        Some(limit) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(BIN)
                .args(&serve_args);
            sh
        }
        None => {
            let mut bin = Command::new(BIN);
            bin.args(&serve_args);
            bin
        }
    };
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn platform-admin");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the address within 30 s")
        .expect("stdout")
        .expect("a line");
    let addr = line
        .strip_prefix("listening on http://")
        .expect("listening line")
        .to_string();
    (child, addr)
}
