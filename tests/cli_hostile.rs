//! The `opsdeck` CLI against servers that misbehave on purpose: one that
//! never answers, cursors that go round, endless bodies, redirects, and
//! terminal escapes in what it sends. The console must stay bounded in time
//! and memory, keep its token, and keep the terminal clean.

use std::time::Duration;

use opsdeck_tests::hostile::{Hostile, Reply, Request};
use opsdeck_tests::{Backend, Cli, PlatformAdmin};
use serde_json::{json, Value};

const TOKEN: &str = "hostile-test-token";

/// A profile pointing at `url`, logged in; the server must answer the
/// login's check (`limit=1`) with a page.
fn connect(cli: &Cli, url: &str) {
    cli.run(&[
        "profile",
        "add",
        "h",
        "--admin-url",
        url,
        "--tier",
        "dev",
        "--use",
    ])
    .success();
    let (login, _) = cli.run_within(
        &["login", "h", "--token-stdin"],
        TOKEN,
        Duration::from_secs(60),
    );
    login.success();
}

fn is_login_check(r: &Request) -> bool {
    r.query("limit").as_deref() == Some("1")
}

fn tenant(slug: &str, name: &str) -> Value {
    json!({
        "id": format!("id-{slug}"),
        "slug": slug,
        "name": name,
        "plan": "team",
        "status": "active",
        "quotas": { "max_users": 1, "storage_gib": 1, "requests_per_minute": 1 },
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    })
}

fn empty_page() -> Reply {
    Reply::json(200, r#"{"items":[]}"#)
}

/// Terminal control that must never be printed: C0 but newline and tab,
/// DEL, C1.
fn control_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
        .collect()
}

#[test]
fn a_hung_server_shows_the_stale_list_within_seconds() {
    let mut admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);
    for slug in ["alpha", "bravo"] {
        cli.run(&["tenants", "create", "--slug", slug, "--name", slug])
            .success();
    }
    cli.run(&["tenants", "list"]).success();

    admin.stop();
    let address = admin.url.trim_start_matches("http://").to_string();
    let _silent = Hostile::start_on(&address, |_| Reply::Hang).expect("hung server");
    let (run, took) = cli.run_within(&["--json", "tenants", "list"], "", Duration::from_secs(180));
    let view = run.stale().json();
    assert!(
        took < Duration::from_secs(15),
        "the stale list took {took:?}"
    );
    assert_eq!(view["tenants"].as_array().map(Vec::len), Some(2), "{view}");
    assert!(
        view["stale"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("did not answer in time"),
        "{view}"
    );
}

#[test]
fn cursors_that_go_round_end_the_list_with_a_clear_error() {
    let server = Hostile::start(|r| {
        if is_login_check(r) {
            return empty_page();
        }
        let next = match r.query("cursor").as_deref() {
            Some("A") => "B",
            _ => "A",
        };
        let page = json!({ "items": [tenant(&format!("t-{next}"), "T")], "next_cursor": next });
        Reply::json(200, &page.to_string())
    })
    .expect("server");
    let cli = Cli::new().expect("cli");
    connect(&cli, &server.url);
    let (run, _) = cli.run_within(&["tenants", "list"], "", Duration::from_secs(60));
    let run = run.failure();
    assert!(
        run.stderr.contains("page cursor \"A\" a second time"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_endless_response_is_cut_at_its_cap() {
    let server = Hostile::start(|r| {
        if is_login_check(r) {
            empty_page()
        } else {
            Reply::Endless { total: 600 << 20 }
        }
    })
    .expect("server");
    let cli = Cli::new().expect("cli");
    connect(&cli, &server.url);
    let (run, _) = cli.run_within(&["tenants", "list"], "", Duration::from_secs(60));
    let run = run.failure();
    assert!(
        run.stderr.contains("larger than 8 MiB") && run.stderr.contains("/v1/tenants"),
        "{}",
        run.stderr
    );
    assert!(
        server.body_bytes_sent() < 64 << 20,
        "{} bytes taken",
        server.body_bytes_sent()
    );
}

#[test]
fn a_redirect_is_refused_and_the_token_does_not_follow_it() {
    let elsewhere = Hostile::start(|_| empty_page()).expect("server");
    let target = format!("{}/v1/tenants", elsewhere.url);
    let location = target.clone();
    let server = Hostile::start(move |_| Reply::redirect(302, &location)).expect("server");
    let cli = Cli::new().expect("cli");
    cli.run(&[
        "profile",
        "add",
        "h",
        "--admin-url",
        &server.url,
        "--tier",
        "dev",
    ])
    .success();
    let (login, _) = cli.run_within(
        &["login", "h", "--token-stdin"],
        TOKEN,
        Duration::from_secs(60),
    );
    let login = login.failure();
    assert!(login.stderr.contains(&target), "{}", login.stderr);
    assert!(
        login.stderr.contains("does not follow redirects"),
        "{}",
        login.stderr
    );
    assert!(
        elsewhere.requests().is_empty(),
        "the token followed the redirect"
    );
    let listed = cli.run(&["--json", "profile", "list"]).success().json();
    assert_eq!(
        listed["profiles"][0]["has_token"], false,
        "a token the server answered with a redirect was kept"
    );
}

#[test]
fn escape_sequences_from_the_server_never_reach_the_terminal() {
    let hostile = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[31mEvil\u{9b}0m\r";
    let name = format!("Acme {hostile}");
    let message = format!("refused {hostile}");
    let server = Hostile::start(move |r| match (r.method.as_str(), r.path()) {
        ("GET", "/v1/tenants") => {
            let page = json!({ "items": [tenant("acme", &name)] });
            Reply::json(200, &page.to_string())
        }
        ("GET", _) => Reply::json(200, &tenant("acme", &name).to_string()),
        _ => {
            let envelope = json!({
                "code": "validation_failed",
                "message": message,
                "details": [{ "field": "name", "message": message }],
            });
            Reply::json(400, &envelope.to_string())
        }
    })
    .expect("server");
    let cli = Cli::new().expect("cli");
    connect(&cli, &server.url);

    let limit = Duration::from_secs(60);
    let (list, _) = cli.run_within(&["tenants", "list"], "", limit);
    let list = list.success();
    assert!(list.stdout.contains("Acme"), "{}", list.stdout);
    let (get, _) = cli.run_within(&["tenants", "get", "acme"], "", limit);
    let get = get.success();
    let (create, _) = cli.run_within(
        &["tenants", "create", "--slug", "evil", "--name", "Evil"],
        "",
        limit,
    );
    let create = create.failure();
    assert!(create.stderr.contains("refused"), "{}", create.stderr);
    let (json_error, _) = cli.run_within(
        &[
            "--json", "tenants", "create", "--slug", "evil", "--name", "Evil",
        ],
        "",
        limit,
    );
    let json_error = json_error.failure();
    let (json_list, _) = cli.run_within(&["--json", "tenants", "list"], "", limit);
    let json_list = json_list.success();
    for (what, text) in [
        ("list", &list.stdout),
        ("list notes", &list.stderr),
        ("get", &get.stdout),
        ("create error", &create.stderr),
        ("json error", &json_error.stderr),
        ("json list", &json_list.stdout),
    ] {
        assert!(
            control_chars(text).is_empty(),
            "{what} printed {:?}:\n{text:?}",
            control_chars(text)
        );
    }
    // JSON is for programs: the name arrives whole, escaped.
    let names: Vec<String> = json_list.json()["tenants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, [format!("Acme {hostile}")]);
}

#[test]
fn a_slow_list_counts_what_it_fetched_on_a_terminal_and_scripts_see_none_of_it() {
    // Four pages, each a while in coming.
    let server = Hostile::start(|r| {
        if is_login_check(r) {
            return empty_page();
        }
        std::thread::sleep(Duration::from_millis(400));
        let page: u32 = r.query("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        let items: Vec<Value> = (0..50)
            .map(|i| tenant(&format!("t-{page}-{i}"), "T"))
            .collect();
        let body = match page {
            0..=2 => json!({ "items": items, "next_cursor": (page + 1).to_string() }),
            _ => json!({ "items": items }),
        };
        Reply::json(200, &body.to_string())
    })
    .expect("server");
    let cli = Cli::new().expect("cli");
    connect(&cli, &server.url);

    let screen = opsdeck_tests::cli::type_at_prompt(
        cli.terminal("stty cols 100 rows 24", &["tenants", "list"], ""),
        "",
        "",
        Duration::from_secs(60),
    );
    assert!(screen.contains("[exit 0]"), "{screen}");
    assert!(
        screen.contains("fetching tenants: 50 tenants")
            || screen.contains("fetching tenants: 100 tenants"),
        "the count while fetching: {screen}"
    );
    assert!(
        screen.contains("t-3-49"),
        "the list after the bar: {screen}"
    );

    // The same on a terminal with --json: JSON only, no bar.
    let screen = opsdeck_tests::cli::type_at_prompt(
        cli.terminal("", &["--json", "tenants", "list"], ""),
        "",
        "",
        Duration::from_secs(60),
    );
    assert!(screen.contains("[exit 0]"), "{screen}");
    assert!(!screen.contains("fetching"), "{screen}");
    // And through a pipe, without --json: the table, no bar.
    let piped = cli.run(&["tenants", "list"]).success();
    assert!(!piped.stderr.contains("fetching"), "{}", piped.stderr);
    assert_eq!(piped.stdout.matches("t-").count(), 200, "{}", piped.stdout);
}
