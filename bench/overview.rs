//! The window against a bare Tauri window, measured in one run (run by
//! `bench/overview`):
//! - cold start: from launching the app to every Overview panel drawn with
//!   data from a real Prometheus, against launching the bare window to its
//!   page loaded, both through the same WebDriver path;
//! - memory: the proportional set size (PSS) of each process tree (the app
//!   and its WebKit processes) while both stay open, the app's Overview
//!   refreshing itself every 30 s, sampled each minute for N minutes.
//!
//! Prints each figure and the ratios; the targets are <= 1.25x and
//! no growth between minute 2 and the last.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use opsdeck_tests::desktop::Desktop;
use opsdeck_tests::prometheus::{Config, Job, NodeExporter};
use opsdeck_tests::{bin, blocking, Backend, Cli, Http, PlatformAdmin, Prometheus};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let minutes: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    let rounds: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3);
    let bare = bin("examples/bare-window");

    let admin = blocking(|| PlatformAdmin::start(Backend::Sqlite))?;
    blocking(|| admin.seed_demo())?;
    let token = blocking(|| admin.token("bench", "admin"))?;
    let http = Http::new(&admin.url, Some(&token));
    let node = blocking(NodeExporter::start)?;
    let prom = blocking(|| {
        Prometheus::start(Config {
            jobs: vec![
                Job::at("platform-admin", &admin.url),
                Job::at("node", &node.url),
            ],
            ..Config::default()
        })
    })?;
    for _ in 0..20 {
        blocking(|| http.get("/v1/tenants?limit=5"));
    }
    blocking(|| {
        prom.wait_for(
            "sum(rate(http_request_duration_seconds_bucket{job=\"platform-admin\"}[5m])) > 0",
            Duration::from_secs(90),
        )?;
        prom.wait_for(
            "rate(node_cpu_seconds_total{mode=\"idle\"}[5m])",
            Duration::from_secs(90),
        )
    })?;

    let cli = Cli::new()?;
    cli.run(&[
        "profile",
        "add",
        "bench",
        "--admin-url",
        &admin.url,
        "--tier",
        "dev",
        "--prometheus-url",
        &prom.url,
        "--use",
    ])
    .success();
    cli.run_with_stdin(&["login", "bench", "--token-stdin"], &token)
        .success();
    let listed = cli.run(&["dashboards", "list", "--json"]).success().json();
    let panels = listed["dashboards"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["id"] == "overview"))
        .and_then(|d| d["panels"].as_array())
        .map(Vec::len)
        .context("the Overview's panels")?;

    // One start of each first, not counted: the first WebKit start of a
    // machine reads its libraries from disk, whichever window it is.
    for warm in [bare.clone(), bin("opsdeck-desktop")] {
        let dir = tempfile::tempdir()?;
        let owned = env_of(dir.path());
        let mut env = pairs(&owned);
        env.push(("OPSDECK_CONFIG_DIR", cli.config_dir.path()));
        let window = Desktop::start_binary(&warm, &env).await?;
        wait_for(&window, "return document.readyState === 'complete'").await?;
        window.close().await?;
    }

    println!("cold start, {rounds} rounds each (the bare window first in each round):");
    let (mut bare_starts, mut app_starts) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let dir = tempfile::tempdir()?;
        let (started, epoch) = (Instant::now(), epoch_ms());
        let window = Desktop::start_binary(&bare, &pairs(&env_of(dir.path()))).await?;
        wait_for(&window, "return document.readyState === 'complete'").await?;
        bare_starts.push(started.elapsed());
        let bare_page = page_timing(&window, epoch).await?;
        window.close().await?;

        let dir = app_dirs(&cli, &format!("cold-{round}"))?;
        let (started, epoch) = (Instant::now(), epoch_ms());
        let window = Desktop::start(&pairs(&env_of_app(&cli, &dir))).await?;
        wait_for(&window, "return document.readyState === 'complete'").await?;
        let loaded = started.elapsed();
        let app_page = page_timing(&window, epoch).await?;
        let all_drawn = format!(
            "return document.querySelectorAll('figure.panel[data-panel][data-state=\"data\"]').length === {panels}"
        );
        wait_for(&window, &all_drawn).await?;
        app_starts.push(started.elapsed());
        let calls = ipc_timing(&window).await?;
        window.close().await?;
        println!(
            "  round {}: bare {:.0} ms, Overview drawn {:.0} ms (its page loaded at {:.0} ms)",
            round + 1,
            ms(bare_starts[bare_starts.len() - 1]),
            ms(app_starts[app_starts.len() - 1]),
            ms(loaded)
        );
        println!("    bare: {bare_page}; app: {app_page}");
        println!("    app's steps and calls (ms after navigation): {calls}");
    }
    let (bare_start, app_start) = (median(&bare_starts), median(&app_starts));
    println!(
        "cold start (median): bare window {:.0} ms, Overview with every panel drawn {:.0} ms: {:.2}x",
        ms(bare_start),
        ms(app_start),
        app_start.as_secs_f64() / bare_start.as_secs_f64()
    );

    println!("memory (PSS of each process tree) over {minutes} min, both open:");
    let dir = tempfile::tempdir()?;
    let bare_window = Desktop::start_binary(&bare, &pairs(&env_of(dir.path()))).await?;
    wait_for(&bare_window, "return document.readyState === 'complete'").await?;
    let app_dir = app_dirs(&cli, "memory")?;
    let app_window = Desktop::start(&pairs(&env_of_app(&cli, &app_dir))).await?;
    let bare_tree = tree_root("bare-window", &bare_window).await?;
    let app_tree = tree_root("opsdeck-desktop", &app_window).await?;
    let mut samples = Vec::new();
    let begun = Instant::now();
    for minute in 1..=minutes {
        let due = begun + Duration::from_secs(60 * minute);
        tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        // Requests keep coming, so each refresh draws new data.
        for _ in 0..5 {
            blocking(|| http.get("/v1/tenants?limit=5"));
        }
        let (b, a) = (pss_kib(bare_tree)?, pss_kib(app_tree)?);
        println!(
            "  minute {minute:>2}: bare {:.1} MiB, app {:.1} MiB ({:.2}x)",
            b as f64 / 1024.0,
            a as f64 / 1024.0,
            a as f64 / b as f64
        );
        samples.push((minute, b, a));
    }
    println!(
        "  by process, bare: {}",
        breakdown(&pss_by_process(bare_tree)?)
    );
    println!(
        "  by process, app:  {}",
        breakdown(&pss_by_process(app_tree)?)
    );
    bare_window.close().await?;
    app_window.close().await?;
    let at = |m: u64| samples.iter().find(|(minute, ..)| *minute == m).copied();
    let last = samples.last().copied().context("no memory sample")?;
    let (_, bare_last, app_last) = last;
    println!(
        "memory after {minutes} min: bare window {:.1} MiB, app with the Overview {:.1} MiB: {:.2}x",
        bare_last as f64 / 1024.0,
        app_last as f64 / 1024.0,
        app_last as f64 / bare_last as f64
    );
    if let Some((_, _, app_two)) = at(2) {
        println!(
            "app growth from minute 2 to minute {minutes}: {:+.1} MiB ({:+.1}%)",
            (app_last as f64 - app_two as f64) / 1024.0,
            (app_last as f64 / app_two as f64 - 1.0) * 100.0
        );
    }
    Ok(())
}

/// The environment of a window with its own data under `dir`.
fn env_of(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("XDG_DATA_HOME", dir.join("data")),
        ("XDG_CONFIG_HOME", dir.join("config")),
    ]
}

/// The app's own web data (a cold WebKit cache) and the CLI's profiles.
fn app_dirs(cli: &Cli, name: &str) -> Result<PathBuf> {
    let dir = cli.config_dir.path().join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn env_of_app(cli: &Cli, dir: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("OPSDECK_CONFIG_DIR", cli.config_dir.path().to_path_buf()),
        ("OPSDECK_DATA_DIR", dir.join("opsdeck")),
        ("XDG_DATA_HOME", dir.join("webview")),
        ("XDG_CONFIG_HOME", dir.join("xdg")),
    ]
}

/// The pairs as `Desktop::start` takes them.
fn pairs<'a>(env: &'a [(&'static str, PathBuf)]) -> Vec<(&'static str, &'a Path)> {
    env.iter().map(|(k, v)| (*k, v.as_path())).collect()
}

fn epoch_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Where a window's start went: from launch to its page's navigation, and
/// from there to the page's load event (the Navigation Timing API).
async fn page_timing(window: &Desktop, launched_epoch_ms: f64) -> Result<String> {
    let value = window
        .client
        .execute(
            "const n = performance.getEntriesByType('navigation')[0]; \
             return [performance.timeOrigin, n ? n.domContentLoadedEventEnd : 0, n ? n.loadEventEnd : 0];",
            vec![],
        )
        .await?;
    let numbers: Vec<f64> = serde_json::from_value(value).unwrap_or_default();
    let [origin, dom, load] = numbers[..] else {
        return Ok("no navigation timing".to_string());
    };
    Ok(format!(
        "navigation {:.0} ms after launch, DOM ready +{dom:.0} ms, loaded +{load:.0} ms",
        origin - launched_epoch_ms
    ))
}

/// The app's steps and calls to its backend up to now, in the order they
/// began, each as `name start+duration` in milliseconds after its page's
/// navigation (the window keeps them as performance entries; see
/// ui/src/lib/marks.ts).
async fn ipc_timing(window: &Desktop) -> Result<String> {
    let value = window
        .client
        .execute(
            "return performance.getEntriesByType('measure') \
               .concat(performance.getEntriesByType('mark')) \
               .filter(e => e.name.startsWith('ipc:') || e.name.startsWith('opsdeck:')) \
               .sort((a, b) => a.startTime - b.startTime) \
               .map(e => [e.name.replace(/^(ipc|opsdeck):/, ''), e.startTime, e.duration]);",
            vec![],
        )
        .await?;
    let calls: Vec<(String, f64, f64)> = serde_json::from_value(value).unwrap_or_default();
    Ok(calls
        .iter()
        .map(|(name, start, took)| format!("{name} {start:.0}+{took:.0}"))
        .collect::<Vec<_>>()
        .join(", "))
}

/// Polls `script` (which returns a boolean) in the window until it is true.
async fn wait_for(window: &Desktop, script: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let value = window.client.execute(script, vec![]).await;
        if matches!(value, Ok(serde_json::Value::Bool(true))) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("`{script}` was not true within 120 s: {value:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The process named `comm` started for `window` (the newest of that name).
async fn tree_root(comm: &str, _window: &Desktop) -> Result<u32> {
    let mut newest: Option<(u64, u32)> = None;
    for entry in std::fs::read_dir("/proc")? {
        let Ok(pid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if name.trim() != comm {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Field 22, after the parenthesised name: when it started.
        let start = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(19))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        if newest.is_none_or(|(at, _)| start > at) {
            newest = Some((start, pid));
        }
    }
    newest
        .map(|(_, pid)| pid)
        .context(format!("no {comm} process"))
}

/// The PSS of `root` and every process below it, in KiB.
fn pss_kib(root: u32) -> Result<u64> {
    Ok(pss_by_process(root)?.iter().map(|(_, kib)| kib).sum())
}

/// The PSS of `root` and every process below it, each with its name, in
/// KiB: where the memory is.
fn pss_by_process(root: u32) -> Result<Vec<(String, u64)>> {
    let mut each = Vec::new();
    let mut pending = vec![root];
    while let Some(pid) = pending.pop() {
        let rollup = match std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
            Ok(rollup) => rollup,
            // A helper process may end between being listed and being read
            // (its memory went with it); only the window itself must be there.
            Err(_) if pid != root => continue,
            Err(e) => return Err(e).with_context(|| format!("process {pid} is gone")),
        };
        let pss = rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        each.push((name.trim().to_string(), pss));
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks {
            let children =
                std::fs::read_to_string(task?.path().join("children")).unwrap_or_default();
            pending.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    Ok(each)
}

/// `name 12.3 MiB, ...` for each process.
fn breakdown(each: &[(String, u64)]) -> String {
    each.iter()
        .map(|(name, kib)| format!("{name} {:.1} MiB", *kib as f64 / 1024.0))
        .collect::<Vec<_>>()
        .join(", ")
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
