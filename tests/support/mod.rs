//! Harness of the end-to-end tests: free loopback ports, temp dirs, and the
//! real processes (platform-admin, PostgreSQL, the `opsdeck` CLI, the desktop
//! app) started for one test and stopped when it ends, even when it fails.

pub mod desktop;
pub mod hostile;
pub mod postgres;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub use postgres::Postgres;

/// Where cargo put the workspace's binaries (next to this test's `deps/`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir of the test executable");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace binaries first (`cargo build --workspace --bins`, done by tests/run)",
        path.display()
    );
    path
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Polls `check` until it holds or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("timed out after {timeout:?} waiting for {what}")
}

/// A child process killed when dropped.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Which database a platform-admin of a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A real platform-admin on a loopback port with its own database.
pub struct PlatformAdmin {
    pub url: String,
    pub database: String,
    pub dir: tempfile::TempDir,
    proc: Option<Proc>,
    _postgres: Option<Postgres>,
}

impl PlatformAdmin {
    pub fn start(backend: Backend) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let (database, postgres) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("admin.db").display()),
                None,
            ),
            Backend::Postgres => {
                let pg = Postgres::database()?;
                (pg.url.clone(), Some(pg))
            }
        };
        let mut admin = Self {
            url: String::new(),
            database,
            dir,
            proc: None,
            _postgres: postgres,
        };
        admin.spawn("127.0.0.1:0")?;
        Ok(admin)
    }

    fn spawn(&mut self, listen: &str) -> Result<()> {
        let log = std::fs::File::create(self.dir.path().join("platform-admin.log"))?;
        let mut child = Command::new(bin("platform-admin"))
            .args(["serve", "--database", &self.database, "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("start platform-admin")?;
        let stdout = child.stdout.take().context("platform-admin stdout")?;
        let mut proc = Proc {
            child,
            name: "platform-admin".into(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => self.url = url,
            Err(_) => {
                proc.kill();
                bail!("platform-admin did not start; its log:\n{}", self.log());
            }
        }
        self.proc = Some(proc);
        Ok(())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("platform-admin.log")).unwrap_or_default()
    }

    /// Creates an API token with `role` and returns it.
    pub fn token(&self, name: &str, role: &str) -> Result<String> {
        let out = Command::new(bin("platform-admin"))
            .args([
                "token",
                "create",
                "--database",
                &self.database,
                "--name",
                name,
                "--role",
                role,
            ])
            .output()?;
        if !out.status.success() {
            bail!(
                "token create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let token = String::from_utf8(out.stdout)?.trim().to_string();
        if token.is_empty() || token.contains(char::is_whitespace) {
            bail!("token create printed `{token}`, not one token");
        }
        Ok(token)
    }

    /// Loads the demo data set.
    pub fn seed_demo(&self) -> Result<()> {
        let out = Command::new(bin("platform-admin"))
            .args(["seed-demo", "--database", &self.database])
            .output()?;
        if !out.status.success() {
            bail!("seed-demo failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// Stops the server (its database stays).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }

    /// Starts the server again on the same address and database.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        let listen = self.url.trim_start_matches("http://").to_string();
        self.spawn(&listen)
    }
}

/// The `opsdeck` CLI with its own config dir (the keyring is the session's).
pub struct Cli {
    pub config_dir: tempfile::TempDir,
}

/// What a CLI run left behind.
pub struct Run {
    pub ok: bool,
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts success and returns self, showing the output otherwise.
    pub fn success(self) -> Self {
        assert!(
            self.ok,
            "opsdeck failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn failure(self) -> Self {
        assert!(
            !self.ok,
            "opsdeck should have failed:\nstdout:\n{}",
            self.stdout
        );
        self
    }

    /// Asserts the exit code `opsdeck` gives when it showed cached data (3).
    pub fn stale(self) -> Self {
        assert_eq!(
            self.code,
            Some(3),
            "opsdeck should have exited with 3 (served stale):\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl Cli {
    pub fn new() -> Result<Self> {
        Ok(Self {
            config_dir: tempfile::tempdir()?,
        })
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin("opsdeck"));
        cmd.env("OPSDECK_CONFIG_DIR", self.config_dir.path())
            .env_remove("OPSDECK_DATA_DIR")
            .env_remove("OPSDECK_PROFILE");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.run_with_env(args, stdin, &[])
    }

    /// Runs opsdeck with extra environment variables (`COLUMNS`, say).
    pub fn run_with_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut child = self
            .command()
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start opsdeck");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().expect("opsdeck output");
        Run {
            ok: status.success(),
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Runs opsdeck, killing it and failing the test if it is still running
    /// after `limit`; returns what it left and how long it took.
    pub fn run_within(&self, args: &[&str], stdin: &str, limit: Duration) -> (Run, Duration) {
        let started = Instant::now();
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start opsdeck");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                String::from_utf8_lossy(&bytes).into_owned()
            })
        }
        let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for opsdeck") {
                break Some(status);
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = started.elapsed();
        let run = Run {
            ok: status.is_some_and(|s| s.success()),
            code: status.and_then(|s| s.code()),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        };
        assert!(
            status.is_some(),
            "opsdeck {args:?} still running after {limit:?}, killed:\nstdout:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
        (run, took)
    }

    /// `opsdeck args` run on a pseudo-terminal by util-linux `script`, after
    /// `setup` (a shell line such as `stty cols 80`) on the same terminal;
    /// `after` runs there once opsdeck has ended. Pipe its stdin to type.
    pub fn terminal(&self, setup: &str, args: &[&str], after: &str) -> Command {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let opsdeck = std::iter::once(bin("opsdeck").display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .map(|a| quote(&a))
            .collect::<Vec<_>>()
            .join(" ");
        let or_nothing = |line: &str| {
            if line.trim().is_empty() {
                ":".to_string()
            } else {
                line.to_string()
            }
        };
        let (setup, after) = (or_nothing(setup), or_nothing(after));
        let line =
            format!("{setup}; {opsdeck}; echo \"[exit $?]\"; {after}; echo '{TERMINAL_END}'");
        let plain = self.command();
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"]);
        for (key, value) in plain.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd
    }

    /// Adds a profile for `admin` and logs in with `token`.
    pub fn connect(&self, profile: &str, tier: &str, admin: &PlatformAdmin, token: &str) {
        self.run(&[
            "profile",
            "add",
            profile,
            "--admin-url",
            &admin.url,
            "--tier",
            tier,
            "--use",
        ])
        .success();
        self.run_with_stdin(&["login", profile, "--token-stdin"], token)
            .success();
    }
}

/// What a [`Cli::terminal`] prints last: `script` ends only once its input
/// is closed, and that is the time to close it.
const TERMINAL_END: &str = "[end of terminal]";

/// Runs `cmd` (a [`Cli::terminal`]) and, once `prompt` is on its screen,
/// types `keys`; returns the whole screen once it ends. Fails the test when
/// the prompt or the end does not come within `limit`.
pub fn type_at_prompt(mut cmd: Command, prompt: &str, keys: &str, limit: Duration) -> String {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start script (util-linux) for a pseudo-terminal");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = Vec::new();
    let mut stdin = child.stdin.take();
    let mut typed = false;
    loop {
        let text = String::from_utf8_lossy(&screen).into_owned();
        if !typed && text.contains(prompt) {
            if let Some(input) = stdin.as_mut() {
                input
                    .write_all(keys.as_bytes())
                    .expect("type at the prompt");
                input.flush().expect("type at the prompt");
            }
            typed = true;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no {} within {limit:?}; the screen:\n{text}",
                if typed { "end" } else { "prompt" }
            );
        }
        if typed && text.contains(TERMINAL_END) {
            drop(stdin.take());
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(bytes) => screen.extend(bytes),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                if child.try_wait().expect("wait for script").is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    let _ = child.wait();
    String::from_utf8_lossy(&screen).into_owned()
}

/// A blocking HTTP client with a bearer token, for checks the CLI cannot make
/// (malformed bodies, audit records).
pub struct Http {
    pub base: String,
    pub token: Option<String>,
    client: reqwest::Client,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Http {
    fn drop(&mut self) {
        // Async tests drop it too, where a blocking shutdown would panic.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Http {
    pub fn new(base: &str, token: Option<&str>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            token: token.map(str::to_owned),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
            rt: Some(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime"),
            ),
        }
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        // On a thread of its own, so async tests may call it too.
        let request = async {
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.text().await.expect("body");
            Response {
                status,
                headers,
                body,
            }
        };
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    self.rt
                        .as_ref()
                        .expect("runtime lives until drop")
                        .block_on(request)
                })
                .join()
                .expect("HTTP request thread")
        })
    }

    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], None)
    }

    pub fn json(&self, method: &str, path: &str, body: &serde_json::Value) -> Response {
        self.send(
            method,
            path,
            &[("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
    }

    /// Audit records about `target`, oldest first (the server lists newest first).
    pub fn audit(&self, target: &str) -> Vec<serde_json::Value> {
        let resp = self.get(&format!("/v1/audit?target={target}&limit=200"));
        assert_eq!(resp.status, 200, "{}", resp.body);
        let mut records = resp.json()["items"].as_array().cloned().unwrap_or_default();
        records.reverse();
        records
    }

    /// Number of tenants the server has.
    pub fn tenant_count(&self) -> usize {
        let mut count = 0;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/tenants?limit=200&cursor={c}"),
                None => "/v1/tenants?limit=200".to_string(),
            };
            let page = self.get(&path).json();
            count += page["items"].as_array().map_or(0, Vec::len);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return count,
            }
        }
    }
}
