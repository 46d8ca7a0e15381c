//! The real desktop app under Xvfb, driven through `tauri-driver` and
//! WebKitWebDriver. The test's D-Bus session and keyring are inherited (see
//! tests/run); each app gets its own config dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};

use super::{bin, free_port, wait_until, Proc};

pub struct Desktop {
    pub client: Client,
    pub display: String,
    _driver: Proc,
    _xvfb: Proc,
    _logs: tempfile::TempDir,
}

/// A tool the desktop tests need, from PATH or cargo's bin dir.
fn tool(name: &str) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME").or_else(|| std::env::var_os("HOME")) {
        let home = PathBuf::from(home);
        dirs.push(home.join("bin"));
        dirs.push(home.join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("`{name}` is not installed (.ci/run installs it)"))
}

fn start_xvfb(logs: &Path) -> Result<(Proc, String)> {
    let xvfb = tool("Xvfb")?;
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    for _ in 0..20 {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let number = 90 + (std::process::id() as usize * 13 + n * 7) % 400;
        if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
            || Path::new(&format!("/tmp/.X{number}-lock")).exists()
        {
            continue;
        }
        let display = format!(":{number}");
        let child = Command::new(&xvfb)
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1440x900x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(
                logs.join(format!("xvfb{number}.log")),
            )?)
            .spawn()?;
        let mut proc = Proc {
            child,
            name: "Xvfb".into(),
        };
        let socket = format!("/tmp/.X11-unix/X{number}");
        let up = wait_until("Xvfb", Duration::from_secs(10), || {
            Path::new(&socket).exists() || matches!(proc.child.try_wait(), Ok(Some(_)))
        });
        if up.is_ok() && matches!(proc.child.try_wait(), Ok(None)) {
            return Ok((proc, display));
        }
        proc.kill();
    }
    bail!("could not start Xvfb on any display")
}

impl Desktop {
    /// Starts the app with `env` (e.g. its config dir) and connects a
    /// WebDriver session to its window.
    pub async fn start(env: &[(&str, &Path)]) -> Result<Self> {
        let logs = tempfile::tempdir()?;
        let (xvfb, display) = start_xvfb(logs.path())?;
        let port = free_port();
        let native_port = free_port();
        let mut cmd = Command::new(tool("tauri-driver")?);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .args([
            "--native-driver",
            tool("WebKitWebDriver")?.to_str().context("path")?,
        ])
        .env("DISPLAY", &display)
        .env("OPSDECK_LOG", "info")
        .stdout(std::fs::File::create(logs.path().join("driver.out"))?)
        .stderr(std::fs::File::create(logs.path().join("driver.err"))?);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let driver = Proc {
            child: cmd.spawn().context("start tauri-driver")?,
            name: "tauri-driver".into(),
        };
        wait_until("tauri-driver", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })?;
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": bin("opsdeck-desktop") }),
        );
        // reqwest and fantoccini bring two rustls crypto providers; pick one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .context("webdriver client")?
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .with_context(|| {
                format!(
                    "WebDriver session to the app; tauri-driver said:\n{}",
                    std::fs::read_to_string(logs.path().join("driver.err")).unwrap_or_default()
                )
            })?;
        Ok(Self {
            client,
            display,
            _driver: driver,
            _xvfb: xvfb,
            _logs: logs,
        })
    }

    /// The element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("no element `{css}` in the window"))
    }

    /// Types into the field with accessible name `label`, replacing its text.
    pub async fn fill(&self, label: &str, text: &str) -> Result<()> {
        let field = self.find(&format!("[aria-label=\"{label}\"]")).await?;
        field.clear().await?;
        if text.is_empty() {
            // Clearing fires no input event in WebKit; type and erase a key
            // so the view sees the field emptied, as a user would do it.
            field.send_keys(" \u{E003}").await?;
        } else {
            field.send_keys(text).await?;
        }
        Ok(())
    }

    /// Selects `value` in the select with accessible name `label`.
    pub async fn select(&self, label: &str, value: &str) -> Result<()> {
        let field = self
            .find(&format!("select[aria-label=\"{label}\"]"))
            .await?;
        field.select_by_value(value).await?;
        Ok(())
    }

    /// Clicks the control with accessible name `label` once it can be
    /// clicked: a button disabled while the view reloads (after a dialog
    /// closes, say) is waited for, as a user would, for a few seconds.
    pub async fn click(&self, label: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let element = self.find(&format!("[aria-label=\"{label}\"]")).await?;
            let ready = element.is_displayed().await.unwrap_or(false)
                && element.is_enabled().await.unwrap_or(false);
            let outcome = if ready {
                element.click().await.map_err(|e| format!("{e:?}"))
            } else {
                Err("not displayed and enabled".to_string())
            };
            match outcome {
                Ok(()) => return Ok(()),
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    let shot = failure_shot_path(label);
                    let _ = self.screenshot(&shot).await;
                    bail!(
                        "cannot click `{label}` ({e}); the window: {}",
                        shot.display()
                    );
                }
            }
        }
    }

    /// Adds a profile through the add-profile dialog, as a user does.
    pub async fn add_profile(&self, name: &str, tier: &str, url: &str, token: &str) -> Result<()> {
        self.click("Add profile").await?;
        self.fill("Profile name", name).await?;
        self.select("Tier", tier).await?;
        self.fill("Admin API URL", url).await?;
        self.fill("API token", token).await?;
        self.click("Save profile").await
    }

    /// Sends `keys` to the element that has the keyboard focus, as a user
    /// typing; special keys are the WebDriver code points in [`keys`].
    pub async fn press(&self, keys: &str) -> Result<()> {
        let focused = self.client.active_element().await?;
        focused.send_keys(keys).await?;
        Ok(())
    }

    /// The accessible name (`aria-label`) of the element with the focus.
    pub async fn focused_label(&self) -> Result<Option<String>> {
        let focused = self.client.active_element().await?;
        Ok(focused.attr("aria-label").await?)
    }

    /// Saves a PNG of the window.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.client.screenshot().await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    pub async fn close(self) -> Result<()> {
        self.client.close().await?;
        Ok(())
    }
}

/// WebDriver's code points for the keys the tests press.
pub mod keys {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const ARROW_RIGHT: &str = "\u{E014}";
    pub const ARROW_DOWN: &str = "\u{E015}";
}

/// Where a failing step leaves a picture of the window.
fn failure_shot_path(step: &str) -> PathBuf {
    let name: String = step
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    std::env::temp_dir().join(format!("opsdeck-failure-{name}.png"))
}
