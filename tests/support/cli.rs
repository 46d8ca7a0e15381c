//! The real `opsdeck` CLI with a config dir of its own (the keyring is the
//! session's). Every run is killed, failing the test, when it overruns.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::bin;
use crate::platform_admin::PlatformAdmin;
use crate::process::{output, output_blocking};

/// The longest a run may take unless the test says otherwise.
const RUN_LIMIT: Duration = Duration::from_secs(120);

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
    fn of(out: std::process::Output) -> Self {
        Self {
            ok: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

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

    fn args(&self, args: &[&str]) -> Command {
        let mut cmd = self.command();
        cmd.args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.run_within(args, stdin, RUN_LIMIT).0
    }

    /// Runs opsdeck with extra environment variables (`COLUMNS`, say).
    pub fn run_with_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut cmd = self.args(args);
        cmd.envs(env.iter().copied());
        let out = output_blocking(cmd, stdin.as_bytes(), RUN_LIMIT)
            .unwrap_or_else(|e| panic!("opsdeck {args:?}: {e:#}"));
        Run::of(out)
    }

    /// `opsdeck args` run on a pseudo-terminal by util-linux `script`, after
    /// `setup` (a shell line such as `stty cols 80`) on the same terminal;
    /// `after` runs there once opsdeck has ended. Drive it with
    /// [`type_at_prompt`].
    pub fn terminal(&self, setup: &str, args: &[&str], after: &str) -> Command {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let opsdeck = std::iter::once(bin("opsdeck").display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .map(|a| quote(&a))
            .collect::<Vec<_>>()
            .join(" ");
        let or_nothing = |line: &str| match line.trim() {
            "" => ":".to_string(),
            _ => line.to_string(),
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
        // `script` runs the line with $SHELL. A Ctrl-C reaches the whole
        // foreground group, the shell too: bash lets a child that caught it
        // finish and goes on; dash (Debian's sh) dies at once and the exit
        // status is never printed. Bash, whatever the caller's shell is.
        cmd.env("SHELL", "/bin/bash");
        cmd
    }

    /// Runs opsdeck, killing it and failing the test if it is still running
    /// after `limit`; returns what it left and how long it took.
    pub fn run_within(&self, args: &[&str], stdin: &str, limit: Duration) -> (Run, Duration) {
        let started = Instant::now();
        let out = output_blocking(self.args(args), stdin.as_bytes(), limit)
            .unwrap_or_else(|e| panic!("opsdeck {args:?}: {e:#}"));
        (Run::of(out), started.elapsed())
    }

    /// [`Self::run_with_stdin`] for async tests.
    pub async fn run_async(&self, args: &[&str], stdin: &str) -> Run {
        let out = output(self.args(args), stdin.as_bytes(), RUN_LIMIT)
            .await
            .unwrap_or_else(|e| panic!("opsdeck {args:?}: {e:#}"));
        Run::of(out)
    }

    /// A service account `name` bound to `role` on the platform, made
    /// through the current profile, and a token of it: a second person for
    /// the rules that need one. Returns the token.
    pub fn service_account(&self, name: &str, role: &str) -> String {
        self.run(&["service-accounts", "create", name]).success();
        let subject = format!("service:{name}");
        self.run(&["bindings", "create", "--subject", &subject, "--role", role])
            .success();
        let minted = self
            .run(&[
                "--json",
                "tokens",
                "create",
                "--service",
                name,
                "--name",
                name,
            ])
            .success()
            .json();
        minted["token"]
            .as_str()
            .unwrap_or_else(|| panic!("a token: {minted}"))
            .to_string()
    }

    /// [`Self::service_account`] with a profile of the same name on
    /// `admin` (tier dev, not made current) logged in with its token.
    pub fn second_person(&self, admin: &PlatformAdmin, name: &str, role: &str) -> String {
        let token = self.service_account(name, role);
        self.run(&[
            "profile",
            "add",
            name,
            "--admin-url",
            &admin.url,
            "--tier",
            "dev",
        ])
        .success();
        self.run_with_stdin(&["login", name, "--token-stdin"], &token)
            .success();
        token
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
        if typed && text.contains(TERMINAL_END) {
            drop(stdin.take());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let waited_for = if typed { "end" } else { "prompt" };
            panic!("no {waited_for} within {limit:?}; the screen:\n{text}");
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
