//! The tenants table of the real window at 100,000 tenants: it pages from
//! the server as it is scrolled, and every row is reachable. The test
//! scrolls it to the end in large steps from a script in the page, one step
//! an animation frame, measuring the frame times there with
//! `requestAnimationFrame`, and prints the worst and the 95th percentile: a
//! figure for people, never asserted (a timed assertion fails on a busy
//! machine, not on a slow table).
//!
//! Needs what tests/desktop.rs needs: `cargo build -p opsdeck-desktop -p
//! platform-admin -p opsdeck-cli --bins` and `cd ui && npm run build`, and
//! runs in `dbus-run-session -- tests/with-keyring`.

use std::time::{Duration, Instant};

use opsdeck_tests::desktop::Desktop;
use opsdeck_tests::{wait_until_async, within, Backend, Cli, Http, PlatformAdmin};

const TENANTS: usize = 100_000;
/// Pixels scrolled each animation frame: about sixty rows, a few screens.
const STEP_PX: u32 = 2_000;
/// How long one script in the page scrolls before it reports back (the
/// WebDriver's script timeout is 30 s).
const CHUNK_MS: u32 = 8_000;
/// The whole scroll's deadline: 500 pages, each asked for as the end nears.
const SCROLL: Duration = Duration::from_secs(600);

/// Starts the frame recorder: every animation frame's distance from the
/// one before, until `__scale.on` is cleared.
const RECORD_FRAMES: &str = r#"
    const s = (window.__scale = { frames: [], samples: [], on: true });
    let prev = null;
    const tick = (t) => {
        if (prev !== null) s.frames.push(t - prev);
        prev = t;
        if (s.on) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    return true;
"#;

/// Scrolls the table body by `step` pixels a frame for up to `budget` ms,
/// sampling the first and last rows of the DOM (their index and slug) each
/// frame; reports whether the end of the whole list was reached.
const SCROLL_CHUNK: &str = r#"
    const [budget, step, done] = arguments;
    const s = window.__scale;
    const body = document.querySelector('[role="table"][aria-label="Tenants"] div.body[role="rowgroup"]');
    const count = () => document.querySelector('[data-testid="tenant-count"]')?.textContent ?? "";
    const start = performance.now();
    const frame = () => {
        body.scrollTop = body.scrollTop + step;
        const rows = body.querySelectorAll('[role="row"][aria-rowindex]');
        if (rows.length > 0) {
            const ends = [rows[0], rows[rows.length - 1]];
            for (const r of ends) s.samples.push([Number(r.getAttribute("aria-rowindex")), r.dataset.slug]);
        }
        const atEnd = body.scrollTop + body.clientHeight >= body.scrollHeight - 1;
        const ended = atEnd && !count().includes("more");
        if (ended || performance.now() - start > budget) {
            done({ ended, count: count(), rowcount: body.parentElement.getAttribute("aria-rowcount") });
            return;
        }
        requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
"#;

/// Where the table is scrolled and which rows it draws, for a failure.
const SCROLL_STATE: &str = r#"
    const body = document.querySelector('[role="table"][aria-label="Tenants"] div.body[role="rowgroup"]');
    const drawn = [...body.querySelectorAll('[role="row"][aria-rowindex]')].map((r) => Number(r.getAttribute("aria-rowindex")));
    return {
        scrollTop: body.scrollTop,
        scrollHeight: body.scrollHeight,
        clientHeight: body.clientHeight,
        drawn: [Math.min(...drawn), Math.max(...drawn)],
    };
"#;

/// Stops the recorder; the frame times and the samples.
const COLLECT: &str = r#"
    const s = window.__scale;
    s.on = false;
    return { frames: s.frames, samples: s.samples };
"#;

/// Every slug of the server, in its order, a page of 200 at a time.
fn slugs(http: &Http) -> Vec<String> {
    let mut slugs = Vec::with_capacity(TENANTS);
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/tenants?limit=200&cursor={c}"),
            None => "/v1/tenants?limit=200".to_string(),
        };
        let page = http.get(&path).json();
        let items = page["items"].as_array().expect("a page of tenants");
        slugs.extend(
            items
                .iter()
                .map(|t| t["slug"].as_str().expect("a slug").to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return slugs,
        }
    }
}

/// The value at `q` (0–1) of `sorted`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tenants_table_pages_through_100000_tenants_as_it_is_scrolled_to_the_last() {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    admin
        .seed_demo_tenants(TENANTS as u32)
        .expect("100,000 demo tenants");
    let token = admin.token("scale", "admin").expect("token");
    let http = Http::new(&admin.url, Some(&token));
    let server_order = slugs(&http);
    assert_eq!(server_order.len(), TENANTS);

    let cli = Cli::new().expect("cli");
    let web_data = cli.config_dir.path().join("webview");
    let desktop = Desktop::start(&[
        ("OPSDECK_CONFIG_DIR", cli.config_dir.path()),
        ("XDG_DATA_HOME", &web_data),
    ])
    .await
    .expect("desktop app");
    // The window opens on the Overview the first time: go to Tenants.
    within(
        "choosing Tenants",
        Duration::from_secs(30),
        desktop.client.execute(
            "localStorage.setItem('opsdeck.view.main', 'tenants'); return true;",
            vec![],
        ),
    )
    .await
    .expect("in time")
    .expect("the window's storage");
    within(
        "reloading",
        Duration::from_secs(30),
        desktop.client.refresh(),
    )
    .await
    .expect("in time")
    .expect("the window reloads");
    desktop
        .add_profile("scale", "dev", &admin.url, &token)
        .await
        .expect("add profile");

    // The first page shows at once, and says there is more.
    let count = desktop
        .find("[data-testid=\"tenant-count\"]")
        .await
        .expect("count");
    wait_until_async("the first page", Duration::from_secs(30), || async {
        count
            .text()
            .await
            .unwrap_or_default()
            .contains("loaded, more")
    })
    .await
    .expect("the first page of 100,000 tenants, with more to come");

    within(
        "starting the frame recorder",
        Duration::from_secs(10),
        desktop.client.execute(RECORD_FRAMES, vec![]),
    )
    .await
    .expect("in time")
    .expect("the recorder");
    let began = Instant::now();
    let scrolled = loop {
        assert!(
            began.elapsed() < SCROLL,
            "the end of the list not reached in {SCROLL:?}"
        );
        let chunk = within(
            "a scroll of the table",
            Duration::from_secs(25),
            desktop
                .client
                .execute_async(SCROLL_CHUNK, vec![CHUNK_MS.into(), STEP_PX.into()]),
        )
        .await
        .expect("in time")
        .expect("the scroll script");
        if chunk["ended"] == true {
            break chunk;
        }
    };
    let took = began.elapsed();
    let collected = within(
        "collecting the frames",
        Duration::from_secs(30),
        desktop.client.execute(COLLECT, vec![]),
    )
    .await
    .expect("in time")
    .expect("the frames");

    // Every row is there, at its index, in the server's order.
    assert_eq!(scrolled["count"], "100,000 tenants", "{scrolled}");
    assert_eq!(scrolled["rowcount"], "100001", "{scrolled}");
    // The last tenant is drawn, at the last index, once the table has
    // taken in the scroll to its end.
    let last_row = match desktop
        .find(&format!(
            "[role=\"row\"][aria-rowindex=\"{}\"]",
            TENANTS + 1
        ))
        .await
    {
        Ok(row) => row,
        Err(e) => {
            let state = desktop.client.execute(SCROLL_STATE, vec![]).await;
            panic!("the last row is not drawn at the end of the table: {e:#}; {state:?}");
        }
    };
    let last_slug = within(
        "reading the last row",
        Duration::from_secs(10),
        last_row.attr("data-slug"),
    )
    .await
    .expect("in time")
    .expect("its slug");
    assert_eq!(
        last_slug.as_deref(),
        server_order.last().map(String::as_str),
        "the last tenant"
    );
    let samples = collected["samples"].as_array().expect("samples");
    assert!(samples.len() > 100, "{} samples", samples.len());
    for sample in samples {
        let index = sample[0].as_u64().expect("an index") as usize;
        let slug = sample[1].as_str().expect("a slug");
        assert_eq!(
            Some(slug),
            server_order.get(index - 2).map(String::as_str),
            "row {index}"
        );
    }

    let mut frames: Vec<f64> = collected["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter_map(|f| f.as_f64())
        .collect();
    assert!(!frames.is_empty(), "no frame was recorded");
    frames.sort_by(f64::total_cmp);
    println!(
        "tenants table, {TENANTS} tenants scrolled to the end in {:.1} s: {} frames, worst {:.1} ms, p95 {:.1} ms, median {:.1} ms",
        took.as_secs_f64(),
        frames.len(),
        frames[frames.len() - 1],
        quantile(&frames, 0.95),
        quantile(&frames, 0.5),
    );
    desktop.close().await.expect("close");
}
