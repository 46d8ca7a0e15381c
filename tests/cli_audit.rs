//! `opsdeck audit list|export` against a real platform-admin, on SQLite and
//! on a real PostgreSQL, and an export cut short by a server that fails
//! halfway, which must leave no file behind.

use opsdeck_tests::hostile::{Hostile, Reply, Request};
use opsdeck_tests::{Backend, Cli, Http, PlatformAdmin};
use serde_json::{json, Value};

/// Declares one test per backend for a scenario `fn(Backend)`.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $scenario() { super::$scenario(opsdeck_tests::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $scenario() { super::$scenario(opsdeck_tests::Backend::Postgres) })*
        }
    };
}

on_both_backends!(
    audit_list_filters_exactly_and_its_table_fits_the_terminal,
    audit_export_writes_every_page_as_csv_and_as_json_lines,
);

fn setup(backend: Backend) -> (PlatformAdmin, Cli, Http) {
    let admin = PlatformAdmin::start(backend).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);
    let http = Http::new(&admin.url, Some(&token));
    (admin, cli, http)
}

fn create(http: &Http, slug: &str) {
    let created = http.json(
        "POST",
        "/v1/tenants",
        &json!({"slug": slug, "name": format!("Tenant {slug}")}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
}

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["action"].as_str().expect("action").to_string())
        .collect()
}

fn audit_list_filters_exactly_and_its_table_fits_the_terminal(backend: Backend) {
    let (_admin, cli, http) = setup(backend);
    for slug in ["acme", "initech"] {
        create(&http, slug);
    }
    cli.run(&["tenants", "suspend", "acme"]).success();

    let all = cli.run(&["--json", "audit", "list"]).success().json();
    // The first record is the making of the test's bootstrap token.
    assert_eq!(
        actions(&all),
        [
            "tenant.suspend",
            "tenant.create",
            "tenant.create",
            "token.create"
        ]
    );
    assert!(all["items"][0]["hash"]
        .as_str()
        .is_some_and(|h| h.len() == 64));
    assert_eq!(all["items"][0]["actor"], "ops");
    let suspended = cli
        .run(&["--json", "audit", "list", "--action", "tenant.suspend"])
        .success()
        .json();
    assert_eq!(actions(&suspended), ["tenant.suspend"]);
    let of_acme = cli
        .run(&["--json", "audit", "list", "--tenant", "acme"])
        .success()
        .json();
    assert_eq!(actions(&of_acme), ["tenant.suspend", "tenant.create"]);
    for hostile in ["%", "o'hara 100%", "ops' OR '1'='1", "tenant:%"] {
        for flag in ["--actor", "--target", "--action"] {
            let none = cli
                .run(&["--json", "audit", "list", flag, hostile])
                .success()
                .json();
            assert_eq!(none["items"], json!([]), "{flag} {hostile}");
        }
    }
    let paged = cli
        .run(&["--json", "audit", "list", "--limit", "2"])
        .success()
        .json();
    let cursor = paged["next_cursor"].as_str().expect("a second page");
    let rest = cli
        .run(&[
            "--json", "audit", "list", "--limit", "2", "--cursor", cursor,
        ])
        .success()
        .json();
    assert_eq!(actions(&rest), ["tenant.create", "token.create"]);
    assert!(rest["next_cursor"].is_null());

    let table = cli
        .run_with_env(&["audit", "list"], "", &[("COLUMNS", "60")])
        .success();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", table.stdout);
    assert!(lines[0].contains("ACTION"), "{}", table.stdout);
    assert!(lines[1].contains("tenant.suspend"), "{}", table.stdout);
    for line in &lines {
        assert!(line.chars().count() <= 60, "wider than 60: {line:?}");
    }
    let since = cli
        .run(&["--json", "audit", "list", "--since", "2999-01-01T00:00:00Z"])
        .success()
        .json();
    assert_eq!(since["items"], json!([]));
    let bad = cli
        .run(&["audit", "list", "--since", "yesterday"])
        .failure();
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
}

fn audit_export_writes_every_page_as_csv_and_as_json_lines(backend: Backend) {
    let (_admin, cli, http) = setup(backend);
    // More records than one page of the API (200) holds.
    let count = 205;
    for i in 0..count {
        create(&http, &format!("t{i:03}"));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let jsonl = dir.path().join("audit.jsonl");
    let jsonl_arg = jsonl.display().to_string();
    let report = cli
        .run(&[
            "--json", "audit", "export", "--format", "jsonl", "--out", &jsonl_arg,
        ])
        .success()
        .json();
    // Every tenant's creation, and first the bootstrap token's.
    let total = count + 1;
    assert_eq!(report["records"], total);
    let text = std::fs::read_to_string(&jsonl).expect("jsonl written");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record a line"))
        .collect();
    assert_eq!(records.len(), total);
    let seqs: Vec<i64> = records
        .iter()
        .map(|r| r["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=total as i64).rev().collect::<Vec<_>>());

    let csv = dir.path().join("acme.csv");
    let csv_arg = csv.display().to_string();
    let done = cli
        .run(&[
            "audit",
            "export",
            "--format",
            "csv",
            "--out",
            &csv_arg,
            "--target",
            "tenant:t007",
        ])
        .success();
    assert!(
        done.stderr.contains("1 audit records written"),
        "{}",
        done.stderr
    );
    let text = std::fs::read_to_string(&csv).expect("csv written");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("seq,id,at,actor,action,target,tenant,before,after"));
    assert!(lines[1].starts_with("9,"), "{}", lines[1]);
    assert!(
        lines[1].contains(",tenant.create,tenant:t007,"),
        "{}",
        lines[1]
    );
    // `after` is JSON, quoted with its quotes doubled.
    assert!(
        lines[1].contains(",\"{\"\"") && lines[1].contains("\"\"created_at\"\""),
        "{}",
        lines[1]
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(left.len(), 2, "only the two exports: {left:?}");
}

const TOKEN: &str = "audit-test-token";

fn record(seq: i64) -> Value {
    json!({
        "id": format!("id-{seq}"),
        "seq": seq,
        "at": "2026-01-01T00:00:00Z",
        "actor": "ops",
        "action": "tenant.create",
        "target": format!("tenant:t{seq}"),
        "request_id": "r",
        "prev_hash": "0".repeat(64),
        "hash": "1".repeat(64),
    })
}

#[test]
fn an_export_cut_short_by_the_server_leaves_no_file_and_keeps_the_old_one() {
    let server = Hostile::start(|r: &Request| match (r.path(), r.query("cursor")) {
        ("/v1/audit", None) => Reply::json(
            200,
            &json!({"items": [record(2), record(1)], "next_cursor": "page-2"}).to_string(),
        ),
        ("/v1/audit", Some(_)) => Reply::envelope(500, "internal", "the database went away"),
        _ => Reply::json(200, r#"{"items":[]}"#),
    })
    .expect("hostile server");
    let cli = Cli::new().expect("cli");
    cli.run(&[
        "profile",
        "add",
        "h",
        "--admin-url",
        &server.url,
        "--tier",
        "dev",
        "--use",
    ])
    .success();
    cli.run_with_stdin(&["login", "h", "--token-stdin"], TOKEN)
        .success();

    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("audit.jsonl");
    let out_arg = out.display().to_string();
    let failed = cli
        .run(&["audit", "export", "--format", "jsonl", "--out", &out_arg])
        .failure();
    assert!(
        failed.stderr.contains("database went away"),
        "{}",
        failed.stderr
    );
    assert!(!out.exists(), "a partial export was left at the output");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");

    std::fs::write(&out, "the previous export\n").expect("old export");
    cli.run(&["audit", "export", "--format", "jsonl", "--out", &out_arg])
        .failure();
    assert_eq!(
        std::fs::read_to_string(&out).expect("old export"),
        "the previous export\n"
    );
    let audit_requests = server
        .requests()
        .iter()
        .filter(|r| r.path() == "/v1/audit")
        .count();
    assert_eq!(audit_requests, 4, "two pages asked for, twice");
}
