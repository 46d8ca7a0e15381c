//! The real desktop app under Xvfb, driven through `tauri-driver` and
//! WebKitWebDriver. The test's D-Bus session and keyring are inherited (see
//! tests/run); each app gets its own config dir.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};

use crate::port::{held_by, Attempt, Holder};
use crate::{bin, blocking, within, Proc};

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

/// Xvfb on a display it picks itself (`-displayfd` prints the number of the
/// first free one it could take), so no display number is guessed.
fn start_xvfb(logs: &Path) -> Result<(Proc, String)> {
    let mut cmd = Command::new(tool("Xvfb")?);
    cmd.args([
        "-displayfd",
        "1",
        "-screen",
        "0",
        "1440x900x24",
        "-nolisten",
        "tcp",
    ]);
    let mut xvfb = Proc::spawn(cmd, "xvfb", logs)?;
    let number = blocking(|| {
        xvfb.wait_for_line(Duration::from_secs(20), |line| {
            line.trim().parse::<u32>().ok()
        })
    })?;
    Ok((xvfb, format!(":{number}")))
}

/// tauri-driver on `port`, its WebKitWebDriver on `native_port`: up when both
/// listeners are the driver's own, a collision when another program holds
/// either port or the driver could not listen.
async fn start_driver(
    env: &[(&str, &Path)],
    display: &str,
    logs: &Path,
    port: u16,
) -> Result<Attempt<(Proc, u16)>> {
    let native_port = crate::port::unused_port()?;
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
    .env("DISPLAY", display)
    .env("OPSDECK_LOG", "info");
    if pictures_dir().is_some() {
        // Without a GPU the app draws without compositing, and WebKit's
        // snapshot of a page that is not repainting then never comes: the
        // pictures for the docs are taken with WebKit's own compositing.
        cmd.env("OPSDECK_WEBVIEW_GPU", "1");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut driver = Proc::spawn(cmd, &format!("tauri-driver-{port}"), logs)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pid = driver.id();
        let holders = (held_by(port, pid), held_by(native_port, pid));
        match holders {
            (Holder::Ours, Holder::Ours) => return Ok(Attempt::Up((driver, port))),
            (Holder::Stranger, _) | (_, Holder::Stranger) => {
                return Ok(Attempt::Collision(format!(
                    "ports {port}/{native_port} held by another program"
                )))
            }
            _ if !driver.running() => {
                // tauri-driver exits when it cannot listen; anything else is a failure.
                let said = std::fs::read_to_string(logs.join(format!("tauri-driver-{port}.out")))
                    .unwrap_or_default();
                if said.contains("can not listen") {
                    return Ok(Attempt::Collision(said));
                }
                bail!("tauri-driver exited: {said}{}", driver.log());
            }
            _ if tokio::time::Instant::now() >= deadline => {
                bail!("tauri-driver did not listen within 20s: {}", driver.log())
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The longest one WebDriver step may take.
const STEP: Duration = Duration::from_secs(30);

/// Where the README's screenshots go, when they are being taken.
pub fn pictures_dir() -> Option<PathBuf> {
    std::env::var_os("OPSDECK_SCREENSHOTS").map(PathBuf::from)
}

impl Desktop {
    /// Starts the app with `env` (e.g. its config dir) and connects a
    /// WebDriver session to its window.
    pub async fn start(env: &[(&str, &Path)]) -> Result<Self> {
        Self::start_binary(&bin("opsdeck-desktop"), env).await
    }

    /// [`Desktop::start`] of another Tauri binary (the benchmarks' bare
    /// window).
    pub async fn start_binary(app: &Path, env: &[(&str, &Path)]) -> Result<Self> {
        let logs = tempfile::tempdir()?;
        let (xvfb, display) = start_xvfb(logs.path())?;
        let mut attempts = 0;
        let (driver, port) = loop {
            attempts += 1;
            let port = crate::port::unused_port()?;
            match start_driver(env, &display, logs.path(), port).await? {
                Attempt::Up(up) => break up,
                Attempt::Collision(why) if attempts < 5 => {
                    eprintln!("tauri-driver lost its port, trying another: {why}");
                }
                Attempt::Collision(why) => bail!("tauri-driver lost its port 5 times: {why}"),
            }
        };
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app }),
        );
        // reqwest and fantoccini bring two rustls crypto providers; pick one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = ClientBuilder::rustls().context("webdriver client")?;
        builder.capabilities(caps);
        let address = format!("http://127.0.0.1:{port}");
        let client = within(
            "the WebDriver session",
            Duration::from_secs(90),
            builder.connect(&address),
        )
        .await?
        .with_context(|| {
            format!(
                "WebDriver session to the app; tauri-driver said:\n{}",
                driver.log()
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
        let waiting = self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css));
        within(&format!("finding `{css}`"), STEP, waiting)
            .await?
            .with_context(|| format!("no element `{css}` in the window"))
    }

    /// Types into the field with accessible name `label`, replacing its text.
    pub async fn fill(&self, label: &str, text: &str) -> Result<()> {
        let field = self.find(&format!("[aria-label=\"{label}\"]")).await?;
        let typing = async {
            field.clear().await?;
            if text.is_empty() {
                // Clearing fires no input event in WebKit; type and erase a
                // key so the view sees the field emptied, as a user would.
                field.send_keys(" \u{E003}").await
            } else {
                field.send_keys(text).await
            }
        };
        within(&format!("typing into `{label}`"), STEP, typing).await??;
        Ok(())
    }

    /// Selects `value` in the select with accessible name `label`.
    pub async fn select(&self, label: &str, value: &str) -> Result<()> {
        let field = self
            .find(&format!("select[aria-label=\"{label}\"]"))
            .await?;
        within(
            &format!("selecting in `{label}`"),
            STEP,
            field.select_by_value(value),
        )
        .await??;
        Ok(())
    }

    /// Clicks the control with accessible name `label` once it can be
    /// clicked: a button disabled while the view reloads (after a dialog
    /// closes, say) is waited for, as a user would, for a few seconds.
    pub async fn click(&self, label: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let element = self.find(&format!("[aria-label=\"{label}\"]")).await?;
            let attempt = async {
                let ready = element.is_displayed().await.unwrap_or(false)
                    && element.is_enabled().await.unwrap_or(false);
                if ready {
                    element.click().await.map_err(|e| format!("{e:?}"))
                } else {
                    Err("not displayed and enabled".to_string())
                }
            };
            let outcome = within(&format!("clicking `{label}`"), STEP, attempt)
                .await
                .unwrap_or_else(|e| Err(format!("{e:#}")));
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
        let png = within("a screenshot", STEP, self.client.screenshot()).await??;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Saves a picture of the window as `name` in `OPSDECK_SCREENSHOTS`
    /// when the README's screenshots are being taken; does nothing
    /// otherwise. The window first gets a moment to paint what was just
    /// typed or opened.
    pub async fn picture_for_docs(&self, name: &str) -> Result<()> {
        let Some(dir) = pictures_dir() else {
            return Ok(());
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.screenshot(&dir.join(name)).await
    }

    pub async fn close(self) -> Result<()> {
        within("closing the window", STEP, self.client.close()).await??;
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
