//! Child processes of a test: long-lived ones ([`Proc`], killed when
//! dropped, their output in log files and their stdout lines readable with a
//! timeout) and short runs ([`output`], killed when they overrun).

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::AsyncWriteExt as _;

/// A server or tool started for one test, killed when dropped.
pub struct Proc {
    pub name: String,
    child: Child,
    /// stdout, line by line, as the reader thread sees it.
    lines: Option<Receiver<String>>,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` as `name`: stderr goes to `<dir>/<name>.log`, and each
    /// stdout line both to `<dir>/<name>.out` and to [`Self::wait_for_line`].
    pub fn spawn(mut cmd: Command, name: &str, dir: &Path) -> Result<Self> {
        let log = dir.join(format!("{name}.log"));
        let stderr =
            std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let mut out = std::fs::File::create(dir.join(format!("{name}.out")))?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("start {name} ({:?})", cmd.get_program()))?;
        let stdout = child.stdout.take().context("stdout of the child")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Ends when the child closes its stdout (it exits or is killed).
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(out, "{line}");
                let _ = tx.send(line);
            }
        });
        Ok(Self {
            name: name.to_string(),
            child,
            lines: Some(rx),
            log,
        })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The first stdout line `pick` accepts, what it makes of it. Fails with
    /// the process's log when `timeout` passes or the process closes stdout
    /// first. Blocks its thread: call it through [`crate::blocking`] from an
    /// async test.
    pub fn wait_for_line<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> Result<T> {
        let lines = self.lines.as_ref().context("stdout is not read")?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(found) = pick(&line) {
                        return Ok(found);
                    }
                }
                Err(RecvTimeoutError::Timeout) => bail!(
                    "{} printed nothing expected within {timeout:?}; its log:\n{}",
                    self.name,
                    self.log()
                ),
                Err(RecvTimeoutError::Disconnected) => bail!(
                    "{} closed its output ({:?}); its log:\n{}",
                    self.name,
                    self.child.try_wait(),
                    self.log()
                ),
            }
        }
    }

    /// What the process wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

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

/// Runs `cmd` to the end with `stdin` and returns what it printed; kills it
/// and fails when it runs longer than `limit`.
pub async fn output(cmd: Command, stdin: &[u8], limit: Duration) -> Result<Output> {
    let program = format!("{:?}", cmd.get_program());
    let mut cmd = tokio::process::Command::from(cmd);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("start {program}"))?;
    let input = child.stdin.take();
    let stdin = stdin.to_vec();
    let run = async move {
        if let Some(mut input) = input {
            // A program that exits without reading its input is not a failure.
            let _ = input.write_all(&stdin).await;
        }
        child.wait_with_output().await
    };
    match tokio::time::timeout(limit, run).await {
        Ok(done) => done.with_context(|| format!("wait for {program}")),
        // Dropping the future drops the child, which kills it.
        Err(_) => bail!("{program} still running after {limit:?}, killed"),
    }
}

/// [`output`] for sync code (and from async tests through [`crate::block_on`]).
pub fn output_blocking(cmd: Command, stdin: &[u8], limit: Duration) -> Result<Output> {
    crate::block_on(output(cmd, stdin, limit))
}
