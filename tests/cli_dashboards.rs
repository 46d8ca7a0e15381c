//! `opsdeck dashboards` against a real Prometheus started on loopback,
//! scraping a real platform-admin: the built-in Overview drawn to SVG, a
//! panel whose query fails, and dashboard files with errors.

use std::time::Duration;

use opsdeck_tests::port::Refusing;
use opsdeck_tests::prometheus::{Config, Job};
use opsdeck_tests::{Backend, Cli, PlatformAdmin, Prometheus};
use serde_json::Value;

struct Setup {
    cli: Cli,
    _admin: Refusing,
}

/// A CLI whose profile `ops` asks `prometheus`; its admin API refuses
/// (dashboards never need it).
fn setup(prometheus: &str) -> Setup {
    let cli = Cli::new().expect("cli");
    let admin = Refusing::new().expect("a refusing admin port");
    cli.run(&[
        "profile",
        "add",
        "ops",
        "--admin-url",
        &admin.url(),
        "--tier",
        "dev",
        "--prometheus-url",
        prometheus,
        "--use",
    ])
    .success();
    cli.run_with_stdin(&["login", "ops", "--token-stdin"], "secret-admin-token")
        .success();
    Setup { cli, _admin: admin }
}

/// A platform-admin scraped every second, with request rates and latency
/// histograms already in Prometheus.
fn scraped_platform() -> (PlatformAdmin, Prometheus) {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let prom = Prometheus::start(Config {
        jobs: vec![Job::at("platform-admin", &admin.url)],
        ..Config::default()
    })
    .expect("prometheus");
    prom.wait_for(
        "sum(rate(http_request_duration_seconds_bucket{job=\"platform-admin\"}[5m])) > 0",
        Duration::from_secs(60),
    )
    .expect("platform-admin's requests scraped twice");
    (admin, prom)
}

fn panel<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["panels"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("no panel {id}: {report}"))
}

fn write_dashboard(cli: &Cli, name: &str, text: &str) {
    let dir = cli.config_dir.path().join("dashboards");
    std::fs::create_dir_all(&dir).expect("dashboards dir");
    std::fs::write(dir.join(name), text).expect("dashboard file");
}

#[test]
fn the_overview_renders_to_svg_with_every_panel_data_or_its_reason() {
    let (_admin, prom) = scraped_platform();
    let s = setup(&prom.url);
    let file = s.cli.config_dir.path().join("overview.svg");
    let file_arg = file.to_str().expect("utf-8 path");

    let report = s
        .cli
        .run(&[
            "dashboards",
            "render",
            "overview",
            "--range",
            "15m",
            "--out",
            file_arg,
            "--json",
        ])
        .success()
        .json();
    let svg = std::fs::read_to_string(&file).expect("the SVG was written");
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);

    // What platform-admin and Prometheus export has data.
    for id in [
        "health",
        "error-rate-by-job",
        "traffic",
        "errors",
        "latency",
        "availability",
        "error-budget",
        "burn-rate",
    ] {
        assert_eq!(panel(&report, id)["state"], "data", "{id}: {report}");
    }
    assert!(
        panel(&report, "health")["series"].as_u64() >= Some(2),
        "platform-admin and Prometheus itself: {report}"
    );
    // No node-exporter here: its panels say so instead of drawing nothing.
    for id in ["cpu", "memory", "disk"] {
        assert_eq!(panel(&report, id)["state"], "empty", "{id}: {report}");
    }
    assert_eq!(
        svg.matches("No data: the queries matched no series.")
            .count(),
        3
    );
    for title in ["Service health (up)", "Latency", "Error budget burn rate"] {
        assert!(svg.contains(title), "{title} drawn");
    }
    assert!(
        svg.contains("p95") && svg.contains("p99"),
        "the latency legend"
    );
    assert!(svg.contains("platform-admin"), "the health tile of the job");

    let dark = s.cli.config_dir.path().join("latency.svg");
    let dark_arg = dark.to_str().expect("utf-8 path");
    let one = s
        .cli
        .run(&[
            "dashboards",
            "render",
            "overview",
            "--panel",
            "latency",
            "--theme",
            "dark",
            "--out",
            dark_arg,
            "--json",
        ])
        .success()
        .json();
    assert_eq!(one["panels"].as_array().map(Vec::len), Some(1), "{one}");
    let dark_svg = std::fs::read_to_string(&dark).expect("written");
    assert!(
        dark_svg.contains("#0D1117") || dark_svg.contains("#0d1117"),
        "dark background"
    );
    assert!(
        !dark_svg.contains("Service health"),
        "only the panel asked for"
    );

    let png = s.cli.config_dir.path().join("latency.png");
    s.cli
        .run(&[
            "dashboards",
            "render",
            "overview",
            "--panel",
            "latency",
            "--width",
            "400",
            "--out",
            png.to_str().expect("utf-8 path"),
        ])
        .success();
    let bytes = std::fs::read(&png).expect("written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    assert_eq!(width, 800, "drawn at twice the asked width");

    let gif = s.cli.config_dir.path().join("latency.gif");
    let refused = s
        .cli
        .run(&[
            "dashboards",
            "render",
            "overview",
            "--out",
            gif.to_str().expect("utf-8 path"),
        ])
        .failure();
    assert!(
        refused.stderr.contains(".svg or .png"),
        "{}",
        refused.stderr
    );
    assert!(!gif.exists(), "nothing written for a format not drawn");
}

#[test]
fn a_panel_whose_query_fails_shows_its_error_and_the_rest_renders() {
    let (_admin, prom) = scraped_platform();
    let s = setup(&prom.url);
    write_dashboard(
        &s.cli,
        "mine.toml",
        r#"title = "Mine"

[[panels]]
id = "good"
title = "Targets up"
kind = "stat"
unit = "up"
queries = [{ expr = "up{job=\"platform-admin\"}", legend = "{job}" }]

[[panels]]
id = "broken"
title = "Broken"
kind = "time_series"
queries = [{ expr = "sum(rate(http_requests_total[5m])" }]
"#,
    );
    let file = s.cli.config_dir.path().join("mine.svg");
    let file_arg = file.to_str().expect("utf-8 path");
    let report = s
        .cli
        .run(&["dashboards", "render", "mine", "--out", file_arg, "--json"])
        .success()
        .json();
    assert_eq!(panel(&report, "good")["state"], "data", "{report}");
    let broken = panel(&report, "broken");
    assert_eq!(broken["state"], "failed", "{report}");
    assert!(
        broken["error"]
            .as_str()
            .is_some_and(|e| e.contains("not valid PromQL")),
        "{report}"
    );
    let svg = std::fs::read_to_string(&file).expect("written");
    assert!(
        svg.contains("Query failed: the query is not valid PromQL"),
        "the error drawn"
    );
    assert!(svg.contains("Targets up"), "the good panel drawn: {svg}");
    assert!(svg.contains("\nup\n</text>"), "its value drawn: {svg}");
}

#[test]
fn a_broken_dashboard_file_is_named_with_its_line_and_field_and_the_rest_load() {
    let cli = Cli::new().expect("cli");
    write_dashboard(
        &cli,
        "bad.toml",
        "title = \"Bad\"\n[[panels]]\nid = \"p\"\ntitle = \"P\"\nkind = \"stat\"\nunit = \"furlongs\"\nqueries = [{ expr = \"up\" }]\n",
    );
    write_dashboard(
        &cli,
        "good.toml",
        "title = \"Good\"\n[[panels]]\nid = \"p\"\ntitle = \"P\"\nkind = \"stat\"\nqueries = [{ expr = \"up\" }]\n",
    );

    let listed = cli.run(&["dashboards", "list", "--json"]).success().json();
    let ids: Vec<&str> = listed["dashboards"]
        .as_array()
        .map(|all| all.iter().filter_map(|d| d["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["overview", "good"], "{listed}");
    let problem = &listed["problems"][0];
    assert!(
        problem["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("bad.toml")),
        "{listed}"
    );
    assert_eq!(problem["line"], 6, "{listed}");
    assert_eq!(problem["field"], "panels[0].unit", "{listed}");
    assert!(
        problem["message"]
            .as_str()
            .is_some_and(|m| m.contains("furlongs")),
        "{listed}"
    );

    let table = cli.run(&["dashboards", "list"]).success();
    assert!(
        table.stderr.contains("bad.toml:6:") && table.stderr.contains("panels[0].unit"),
        "{}",
        table.stderr
    );
    assert!(table.stdout.contains("overview") && table.stdout.contains("good"));
}

#[test]
fn a_prometheus_that_is_down_is_drawn_as_each_panels_error() {
    let down = Refusing::new().expect("a refusing Prometheus port");
    let s = setup(&down.url());
    let file = s.cli.config_dir.path().join("down.svg");
    let file_arg = file.to_str().expect("utf-8 path");

    let (run, took) = s.cli.run_within(
        &[
            "dashboards",
            "render",
            "overview",
            "--out",
            file_arg,
            "--json",
        ],
        "",
        Duration::from_secs(60),
    );
    let report = run.success().json();
    let panels = report["panels"].as_array().expect("panels");
    assert_eq!(panels.len(), 11, "{report}");
    for p in panels {
        assert_eq!(p["state"], "failed", "{report}");
        assert!(
            p["error"]
                .as_str()
                .is_some_and(|e| e.contains("cannot reach")),
            "{report}"
        );
    }
    // One query's time budget, not eleven.
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let svg = std::fs::read_to_string(&file).expect("written");
    assert_eq!(svg.matches("Query failed: cannot reach").count(), 11);
}

/// The window's path: core draws the Overview while Prometheus answers and
/// keeps it; a console opened afresh (the app restarted) with Prometheus
/// gone still has those panels, marked as the kept ones with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_panels_drawn_survive_a_restart_while_prometheus_is_down() {
    use opsdeck_core::dashboards::{self, Catalog, PanelState, RenderOptions};
    use opsdeck_core::secrets::{MemorySecrets, Token};
    use opsdeck_core::{Console, Paths, ProfileSettings, Tier};

    let (admin, mut prom) = opsdeck_tests::blocking(scraped_platform);
    let dir = tempfile::tempdir().expect("dir");
    // The keyring outlives the app; only the console starts again.
    let keyring = std::sync::Arc::new(MemorySecrets::default());
    let open = || async {
        Console::open(Paths::under(dir.path()), keyring.clone())
            .await
            .expect("console")
    };
    let catalog = Catalog::load(&dir.path().join("dashboards")).expect("catalog");
    let overview = catalog.get("overview").expect("overview").clone();
    let options = RenderOptions::last(Duration::from_secs(900));

    let first = open().await;
    let urls = ProfileSettings {
        prometheus_url: Some(prom.url.clone()),
        alertmanager_urls: None,
        read_only: None,
    };
    first
        .profile_add_with(
            "ops",
            Tier::Dev,
            &admin.url,
            &urls,
            Some(Token::new("t").expect("token")),
            true,
        )
        .await
        .expect("profile");
    let session = first.session(None).await.expect("session");
    let fresh = opsdeck_tests::within("the overview", Duration::from_secs(30), async {
        dashboards::render_remembered(&session.metrics().expect("metrics"), &overview, &options)
            .await
    })
    .await
    .expect("in time")
    .expect("drawn");
    assert!(
        fresh.offline.is_none() && !fresh.from_cache,
        "{:?}",
        fresh.offline
    );
    let latency = |board: &dashboards::Board| {
        board
            .panels
            .iter()
            .find(|p| p.id == "latency")
            .map(|p| (p.state, p.svg.clone()))
            .expect("the latency panel")
    };
    assert_eq!(latency(&fresh).0, PanelState::Data);
    drop(session);
    drop(first);

    opsdeck_tests::blocking(|| prom.stop());
    let again = open().await;
    let session = again.session(None).await.expect("session");
    let kept = opsdeck_tests::within("the overview offline", Duration::from_secs(30), async {
        dashboards::render_remembered(&session.metrics().expect("metrics"), &overview, &options)
            .await
    })
    .await
    .expect("in time")
    .expect("drawn");
    assert!(kept.from_cache, "the kept panels, not the errors");
    assert!(kept.offline.is_some(), "with why they are not fresh");
    assert_eq!(
        kept.fetched_at, fresh.fetched_at,
        "the age of the kept panels"
    );
    assert_eq!(latency(&kept), latency(&fresh));
}

/// The window's start: the Overview fetched ahead of the page is drawn
/// from what was fetched (here after Prometheus stopped, so only the
/// prefetch can have the data), once; a render of another range, or a
/// second one, asks Prometheus itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panels_fetched_ahead_are_drawn_once_for_their_range_at_the_width_asked() {
    use opsdeck_core::dashboards::{self, Catalog, PanelState, Prefetch, RenderOptions};
    use opsdeck_core::secrets::{MemorySecrets, Token};
    use opsdeck_core::{Console, Paths, ProfileSettings, Tier};

    let (admin, mut prom) = opsdeck_tests::blocking(scraped_platform);
    let dir = tempfile::tempdir().expect("dir");
    let console = Console::open(
        Paths::under(dir.path()),
        std::sync::Arc::new(MemorySecrets::default()),
    )
    .await
    .expect("console");
    let urls = ProfileSettings {
        prometheus_url: Some(prom.url.clone()),
        alertmanager_urls: None,
        read_only: None,
    };
    console
        .profile_add_with(
            "ops",
            Tier::Dev,
            &admin.url,
            &urls,
            Some(Token::new("t").expect("token")),
            true,
        )
        .await
        .expect("profile");
    let catalog = Catalog::load(&dir.path().join("dashboards")).expect("catalog");
    let overview = catalog.get("overview").expect("overview").clone();
    let session = console.session(None).await.expect("session");
    let metrics = session.metrics().expect("metrics");
    let ahead = RenderOptions::last(Duration::from_secs(900));
    let prefetch = Prefetch::default();
    opsdeck_tests::within(
        "the prefetch",
        Duration::from_secs(30),
        prefetch.fetch(&metrics, &overview, &ahead),
    )
    .await
    .expect("in time");

    opsdeck_tests::blocking(|| prom.stop());
    let other_range = RenderOptions::last(Duration::from_secs(3600));
    let asked =
        dashboards::render_remembered_from(&metrics, &overview, &other_range, Some(&prefetch))
            .await
            .expect("drawn");
    assert!(
        asked.offline.is_some(),
        "another range asks Prometheus, which is gone"
    );

    let wider = RenderOptions {
        width_px: 900,
        ..RenderOptions::last(Duration::from_secs(900))
    };
    let drawn = dashboards::render_remembered_from(&metrics, &overview, &wider, Some(&prefetch))
        .await
        .expect("drawn");
    assert!(
        drawn.offline.is_none() && !drawn.from_cache,
        "{:?}",
        drawn.offline
    );
    let latency = drawn
        .panels
        .iter()
        .find(|p| p.id == "latency")
        .expect("latency");
    assert_eq!(latency.state, PanelState::Data);
    assert!(
        latency.svg.contains("width=\"900\""),
        "drawn at the width asked"
    );

    let again = dashboards::render_remembered_from(&metrics, &overview, &wider, Some(&prefetch))
        .await
        .expect("drawn");
    assert!(again.offline.is_some(), "the prefetch is drawn once");
}
