//! `opsdeck query` against a real Prometheus started on loopback, scraping a
//! real platform-admin; a Prometheus that is down; a hostile one.

use std::time::Duration;

use opsdeck_tests::hostile::{Hostile, Reply};
use opsdeck_tests::port::Refusing;
use opsdeck_tests::prometheus::{Config, Job};
use opsdeck_tests::{Backend, Cli, PlatformAdmin, Prometheus};
use serde_json::Value;

/// The longest a failing query may take: the read budget (5 s) and a
/// margin for starting the CLI.
const BUDGET: Duration = Duration::from_secs(15);

/// A CLI with a profile `ops` whose Prometheus is at `prometheus`; its
/// admin API is a port that refuses (queries never need it).
struct Setup {
    cli: Cli,
    _admin: Refusing,
}

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

/// A real platform-admin and a real Prometheus scraping it every second,
/// once the first scrape has landed.
fn scraped_platform() -> (PlatformAdmin, Prometheus) {
    scraped_platform_on(Backend::Sqlite)
}

fn scraped_platform_on(backend: Backend) -> (PlatformAdmin, Prometheus) {
    let admin = PlatformAdmin::start(backend).expect("platform-admin");
    let prom = Prometheus::start(Config {
        jobs: vec![Job::at("platform-admin", &admin.url)],
        ..Config::default()
    })
    .expect("prometheus");
    prom.wait_for("up{job=\"platform-admin\"} == 1", Duration::from_secs(30))
        .expect("platform-admin scraped");
    prom.wait_for("up{job=\"prometheus\"} == 1", Duration::from_secs(30))
        .expect("Prometheus scraped itself");
    (admin, prom)
}

fn series<'a>(result: &'a Value, job: &str) -> &'a Value {
    result["series"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["labels"]["job"] == job))
        .unwrap_or_else(|| panic!("no series of job {job}: {result}"))
}

#[test]
fn query_up_shows_the_platform_admin_job_up() {
    query_up_shows_the_platform_admin_job_up_on(Backend::Sqlite);
}

#[test]
fn query_up_shows_the_platform_admin_job_up_on_postgres() {
    query_up_shows_the_platform_admin_job_up_on(Backend::Postgres);
}

fn query_up_shows_the_platform_admin_job_up_on(backend: Backend) {
    let (admin, prom) = scraped_platform_on(backend);
    let s = setup(&prom.url);

    let result = s.cli.run(&["query", "up", "--json"]).success().json();
    assert_eq!(result["result_type"], "vector", "{result}");
    assert_eq!(result["profile"], "ops");
    let up = series(&result, "platform-admin");
    assert_eq!(up["labels"]["__name__"], "up");
    assert_eq!(up["points"][0]["value"], 1.0, "{up}");
    assert_eq!(series(&result, "prometheus")["points"][0]["value"], 1.0);

    let table = s
        .cli
        .run_with_env(&["query", "up"], "", &[("COLUMNS", "200")])
        .success();
    let header = table.stdout.lines().next().unwrap_or_default();
    assert!(
        header.contains("SERIES") && header.contains("VALUE"),
        "{header}"
    );
    let row = table
        .stdout
        .lines()
        .find(|l| l.contains("job=\"platform-admin\""))
        .unwrap_or_else(|| panic!("no row:\n{}", table.stdout));
    assert!(row.starts_with("up{"), "{row}");
    assert!(row.trim_end().ends_with(" 1"), "{row}");
    assert!(
        table.stderr.contains("2 series on `ops` (dev)"),
        "{}",
        table.stderr
    );

    // The server's own metrics, through the scrape.
    let health = opsdeck_tests::Http::new(&admin.url, None).get("/v1/health");
    assert_eq!(health.status, 200, "{}", health.body);
    prom.wait_for("http_requests_total", Duration::from_secs(30))
        .expect("the request counted and scraped");
    let served = s
        .cli
        .run(&["query", "sum by (route) (http_requests_total)", "--json"])
        .success()
        .json();
    assert!(
        served["series"].as_array().is_some_and(|s| !s.is_empty()),
        "platform-admin's request counter is scraped: {served}"
    );
}

#[test]
fn a_range_query_chooses_a_step_within_the_points_limit() {
    let (_admin, prom) = scraped_platform();
    let s = setup(&prom.url);

    let hour = s
        .cli
        .run(&["query", "up", "--range", "1h", "--json"])
        .success()
        .json();
    assert_eq!(hour["result_type"], "matrix", "{hour}");
    assert_eq!(hour["span"]["step_seconds"], 5, "an hour over 1000 pixels");
    let points = series(&hour, "platform-admin")["points"]
        .as_array()
        .expect("points")
        .len();
    assert!((1..=721).contains(&points), "{points} points");

    // A wide panel over a month would ask for 2.6 million points at one a
    // pixel; the step keeps it within what Prometheus takes, and it answers.
    let month = s
        .cli
        .run(&[
            "query", "up", "--range", "30d", "--width", "5000000", "--json",
        ])
        .success()
        .json();
    let step = month["span"]["step_seconds"].as_u64().expect("step");
    assert!(30 * 86_400 / step < 11_000, "step {step}");

    // A step asked for by hand that Prometheus would refuse is refused
    // first, saying what would work.
    let refused = s
        .cli
        .run(&["query", "up", "--range", "1d", "--step", "1s"])
        .failure();
    assert!(
        refused.stderr.contains("error: --step:"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("at least 8s"), "{}", refused.stderr);

    let table = s
        .cli
        .run_with_env(
            &["query", "up", "--range", "10m"],
            "",
            &[("COLUMNS", "200")],
        )
        .success();
    let header = table.stdout.lines().next().unwrap_or_default();
    for column in ["SERIES", "MIN", "MAX", "LAST", "POINTS"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        table.stderr.contains("one point every 1s"),
        "{}",
        table.stderr
    );
}

#[test]
fn a_promql_syntax_error_is_a_clear_error_naming_where() {
    let prom = Prometheus::start(Config::default()).expect("prometheus");
    let s = setup(&prom.url);

    let bad = s.cli.run(&["query", "sum(rate(up[5m])"]).failure();
    assert_eq!(bad.code, Some(1));
    assert!(
        bad.stderr.contains("not valid PromQL (line 1, column"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr.contains("  sum(rate(up[5m])\n"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains('^'), "{}", bad.stderr);
    let report: Value = serde_json::from_str(
        s.cli
            .run(&["query", "sum(", "--json"])
            .failure()
            .stderr
            .trim(),
    )
    .expect("a JSON error");
    assert_eq!(report["code"], "query_invalid", "{report}");

    // Parsed, but refused when run: Prometheus's own words.
    let two = r#"(label_replace(vector(1), "a", "x", "", "") or label_replace(vector(1), "a", "y", "", ""))"#;
    let query = format!("{two} * on() {two}");
    let refused = s.cli.run(&["query", &query]).failure();
    assert!(refused.stderr.contains("execution"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("many-to-many"),
        "{}",
        refused.stderr
    );
    let report: Value = serde_json::from_str(
        s.cli
            .run(&["query", &query, "--json"])
            .failure()
            .stderr
            .trim(),
    )
    .expect("a JSON error");
    assert_eq!(report["code"], "prometheus_refused", "{report}");
}

#[test]
fn prometheus_down_or_missing_gives_a_clear_error_within_the_read_budget() {
    let down = Refusing::new().expect("a refusing port");
    let s = setup(&down.url());
    let (run, took) = s
        .cli
        .run_within(&["query", "up"], "", Duration::from_secs(60));
    let run = run.failure();
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
    assert!(took < BUDGET, "took {took:?}");

    let mut prom = Prometheus::start(Config::default()).expect("prometheus");
    let s = setup(&prom.url);
    s.cli.run(&["query", "up"]).success();
    prom.stop();
    let (run, took) = s
        .cli
        .run_within(&["query", "up", "--json"], "", Duration::from_secs(60));
    let report: Value = serde_json::from_str(run.failure().stderr.trim()).expect("JSON");
    assert_eq!(report["code"], "unreachable", "{report}");
    assert_eq!(report["remedy"]["kind"], "retry", "{report}");
    assert!(took < BUDGET, "took {took:?}");

    let cli = Cli::new().expect("cli");
    let admin = Refusing::new().expect("port");
    cli.run(&[
        "profile",
        "add",
        "bare",
        "--admin-url",
        &admin.url(),
        "--tier",
        "dev",
        "--use",
    ])
    .success();
    cli.run_with_stdin(&["login", "bare", "--token-stdin"], "t")
        .success();
    let none = cli.run(&["query", "up"]).failure();
    assert!(
        none.stderr.contains("profile bare names no Prometheus"),
        "{}",
        none.stderr
    );
    assert!(
        none.stderr
            .contains("opsdeck profile set bare --prometheus-url <url>"),
        "{}",
        none.stderr
    );
}

#[test]
fn a_hostile_prometheus_gets_a_clear_error_within_the_read_budget() {
    let one = r#"{"metric":{"__name__":"x","i":"0000000"},"value":[1700000000,"1"]}"#;
    let many = std::sync::Arc::new(format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
        vec![one; 100_000].join(",")
    ));
    let hostile = Hostile::start(move |request| match request.path() {
        "/garbage/api/v1/query" => Reply::json(200, "<html>not a result</html>"),
        "/huge/api/v1/query" => Reply::Endless {
            total: 512 * 1024 * 1024,
        },
        "/many/api/v1/query" => Reply::json(200, &many),
        "/hang/api/v1/query" => Reply::Hang,
        "/moved/api/v1/query" => Reply::redirect(302, "http://127.0.0.1:9/steal"),
        "/busy/api/v1/query" => Reply::json(
            503,
            r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
        ),
        "/escapes/api/v1/query" => Reply::json(
            200,
            r#"{"status":"success","warnings":["\u001b]0;pwned\u0007careful"],"data":{"resultType":"vector","result":[{"metric":{"job":"Evil\u001b[2J"},"value":[1700000000,"7"]}]}}"#,
        ),
        _ => Reply::json(404, "{}"),
    })
    .expect("hostile server");
    for (path, code, words) in [
        ("garbage", "malformed_response", "cannot read"),
        ("huge", "response_too_large", "larger than"),
        ("many", "too_many_series", "more than 10000 series"),
        ("hang", "timeout", "did not answer in time"),
        ("moved", "redirected", "does not follow redirects"),
        ("busy", "prometheus_refused", "query timed out"),
    ] {
        let s = setup(&format!("{}/{path}", hostile.url));
        let (run, took) = s
            .cli
            .run_within(&["query", "up"], "", Duration::from_secs(60));
        let run = run.failure();
        assert!(run.stderr.contains(words), "{path}: {}", run.stderr);
        assert!(took < BUDGET, "{path} took {took:?}");
        let (json_run, _) =
            s.cli
                .run_within(&["query", "up", "--json"], "", Duration::from_secs(60));
        let report: Value = serde_json::from_str(json_run.failure().stderr.trim())
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e})"));
        assert_eq!(report["code"], code, "{path}: {report}");
    }

    let s = setup(&format!("{}/escapes", hostile.url));
    let table = s.cli.run(&["query", "up"]).success();
    assert!(!table.stdout.contains('\u{1b}'), "{:?}", table.stdout);
    assert!(table.stdout.contains("Evil"), "{}", table.stdout);
    assert!(
        table.stderr.contains("warning: Prometheus: careful"),
        "{}",
        table.stderr
    );
    let result = s.cli.run(&["query", "up", "--json"]).success().json();
    assert_eq!(result["warnings"], serde_json::json!(["careful"]));
    assert!(!result.to_string().contains('\u{1b}'));

    let requests = hostile.requests();
    assert!(
        requests.iter().all(|r| r.header("authorization").is_none()),
        "a token went to Prometheus"
    );
    assert!(
        requests.iter().all(|r| !r.target.contains("steal")),
        "the redirect was followed"
    );
}
