//! `opsdeck playbook lint|list|dry-run` through the real binary: a bad file's
//! every error at its line and column, the library with a user's file
//! replacing a built-in, and dry-runs that resolve inputs, check a real
//! user's permissions on a real platform-admin, and change nothing.

use opsdeck_tests::{Backend, Cli, Http, PlatformAdmin};
use serde_json::Value;

const ANN: &str = "ann@example.com";

const BAD: &str = r#"version: 1
id: Not_An_Id
title: Broken on purpose
severity: P9
inputs:
  count: { type: integer, default: lots }
steps:
  - id: first
    reboot: now
  - id: first
    note: "uses ${inputs.nobody}"
  - id: back
    note: loops
    on_failure: { goto: first }
  - id: act
    action: { name: cluster.explode }
"#;

fn write(cli: &Cli, relative: &str, text: &str) -> String {
    let path = cli.config_dir.path().join(relative);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("a directory for the playbook");
    }
    std::fs::write(&path, text).expect("a playbook file");
    path.to_str().expect("a UTF-8 path").to_owned()
}

#[test]
fn lint_prints_every_error_of_a_bad_file_with_its_line_and_column_and_fails() {
    let cli = Cli::new().expect("cli");
    let bad = write(&cli, "bad.yaml", BAD);
    let good = write(
        &cli,
        "good.yaml",
        include_str!("../crates/playbook/builtin/high-error-rate.yaml"),
    );

    let run = cli.run(&["playbook", "lint", &good, &bad]).failure();
    assert_eq!(run.code, Some(1));
    for (line, column, says) in [
        (2, 5, "`id` `Not_An_Id`"),
        (4, 11, "P1, P2, P3 or P4"),
        (
            6,
            36,
            "the default of input `count` is text, but the input is an integer",
        ),
        (9, 5, "`reboot` is neither a step kind"),
        (10, 9, "step id `first` is used twice (first at line 8)"),
        (11, 11, "unknown input `nobody`"),
        (14, 17, "goes back to `first`"),
        (16, 21, "unknown action `cluster.explode`"),
    ] {
        let expected = format!("{bad}:{line}:{column}: ");
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(&expected) && l.contains(says)),
            "no `{expected}...{says}` in:\n{}",
            run.stdout
        );
    }
    assert!(
        !run.stdout.contains(&good),
        "the clean file has no errors:\n{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("8 problem(s) in 1 playbook file(s)"),
        "{}",
        run.stderr
    );

    let json = cli
        .run(&["--json", "playbook", "lint", &good, &bad])
        .failure();
    let report = json.json();
    assert_eq!(report["files"][0]["ok"], true);
    assert_eq!(report["files"][0]["id"], "high-error-rate");
    assert_eq!(report["files"][1]["ok"], false);
    let first = &report["files"][1]["diagnostics"][0];
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(2), Some(5))
    );
    let error: Value = serde_json::from_str(json.stderr.trim()).expect("stderr is one JSON error");
    assert_eq!(error["code"], "playbook_invalid");

    cli.run(&["playbook", "lint", &good]).success();
}

#[test]
fn lint_refuses_an_alias_bomb_quickly_and_names_the_file() {
    let cli = Cli::new().expect("cli");
    let mut text = String::from("a0: &a0 [lol]\n");
    for i in 1..12 {
        let list = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{list}]\n"));
    }
    let bomb = write(&cli, "bomb.yaml", &text);
    let (run, took) = cli.run_within(
        &["playbook", "lint", &bomb],
        "",
        std::time::Duration::from_secs(20),
    );
    let run = run.failure();
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    assert!(
        run.stdout.contains(&format!("{bomb}:")) && run.stdout.contains("expands past"),
        "{}",
        run.stdout
    );
}

#[test]
fn list_shows_the_builtins_and_a_users_file_that_replaces_one() {
    let cli = Cli::new().expect("cli");
    write(
        &cli,
        "playbooks/ours.yaml",
        "version: 1\nid: disk-filling-up\ntitle: Our disk playbook\nseverity: P2\nsuggested_by: [DiskFilling]\nsteps:\n  - id: look\n    note: look at it\n",
    );
    write(
        &cli,
        "playbooks/extra.yml",
        "version: 1\nid: extra\ntitle: Extra\nseverity: P4\nsteps:\n  - { id: a, note: hi }\n",
    );
    write(&cli, "playbooks/broken.yaml", "version: 1\nid: broken\n");

    let listed = cli.run(&["--json", "playbook", "list"]).success().json();
    let playbooks = listed["playbooks"].as_array().expect("a list");
    let ids: Vec<&str> = playbooks.iter().filter_map(|p| p["id"].as_str()).collect();
    for id in [
        "redis-primary-failure",
        "postgres-failover",
        "restore-from-backup",
        "high-error-rate",
        "dr-exercise",
        "extra",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let disk: Vec<&Value> = playbooks
        .iter()
        .filter(|p| p["id"] == "disk-filling-up")
        .collect();
    assert_eq!(disk.len(), 1, "listed once: {listed}");
    assert_eq!(disk[0]["source"], "user");
    assert_eq!(disk[0]["title"], "Our disk playbook");
    assert_eq!(disk[0]["suggested_by"], serde_json::json!(["DiskFilling"]));
    let high = playbooks
        .iter()
        .find(|p| p["id"] == "high-error-rate")
        .expect("built-in");
    assert_eq!(high["source"], "built-in");
    assert_eq!(high["suggested_by"], serde_json::json!(["HighErrorRate"]));
    let notes = listed["notes"].to_string();
    assert!(
        notes.contains("shadows") && notes.contains("ours.yaml"),
        "{notes}"
    );
    assert!(
        notes.contains("broken.yaml") && notes.contains("is missing `title`"),
        "{notes}"
    );

    let table = cli.run(&["playbook", "list"]).success();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("disk-filling-up") && l.contains("user")),
        "{}",
        table.stdout
    );
    assert!(
        table
            .stderr
            .contains("replaces the built-in playbook `disk-filling-up`"),
        "{}",
        table.stderr
    );
}

#[test]
fn dry_run_without_a_profile_resolves_inputs_and_says_permissions_were_not_checked() {
    let cli = Cli::new().expect("cli");
    let plan = cli
        .run(&[
            "--json",
            "playbook",
            "dry-run",
            "postgres-failover",
            "--input",
            "cluster=pg-main",
            "--input",
            "max_error_rate=0.05",
        ])
        .success()
        .json();
    assert_eq!(plan["plan"]["playbook"], "postgres-failover");
    assert_eq!(plan["origin"], "builtin");
    assert_eq!(plan["permissions"]["checked"], "no");
    let steps = plan["plan"]["steps"].as_array().expect("steps");
    let failover = steps
        .iter()
        .find(|s| s["id"] == "failover")
        .expect("a failover step");
    assert_eq!(failover["kind"]["action"]["args"]["cluster"], "pg-main");
    assert!(
        failover["summary"]
            .as_str()
            .is_some_and(|s| s.contains("Fails over cluster pg-main")),
        "{failover}"
    );
    let errors = steps
        .iter()
        .find(|s| s["id"] == "errors-recovered")
        .expect("a wait");
    assert_eq!(
        errors["kind"]["wait_until"]["condition"],
        serde_json::json!({"op": "<", "value": 0.05})
    );

    let words = cli
        .run(&[
            "playbook",
            "dry-run",
            "postgres-failover",
            "--input",
            "cluster=pg-main",
        ])
        .success();
    assert!(
        words.stdout.contains("cluster = pg-main"),
        "{}",
        words.stdout
    );
    assert!(
        words.stdout.contains("permissions: not checked"),
        "{}",
        words.stdout
    );
    assert!(
        words.stdout.contains("nothing was done"),
        "{}",
        words.stdout
    );

    let bad = cli
        .run(&[
            "playbook",
            "dry-run",
            "postgres-failover",
            "--input",
            "max_error_rate=high",
            "--input",
            "colour=red",
        ])
        .failure();
    assert!(
        bad.stderr.contains(
            "builtin:postgres-failover.yaml:15:3: input `max_error_rate`: `high` is not a number"
        ),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr
            .contains("`colour` is not an input of playbook `postgres-failover`"),
        "{}",
        bad.stderr
    );
    let unknown = cli
        .run(&["playbook", "dry-run", "no-such-playbook"])
        .failure();
    assert!(
        unknown.stderr.contains("no playbook `no-such-playbook`"),
        "{}",
        unknown.stderr
    );
}

/// Needs the OS keyring: run inside `tests/with-keyring`.
#[test]
fn dry_run_as_a_viewer_reports_each_refused_action_at_its_step_and_changes_nothing() {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    cli.run(&["users", "create", "--email", ANN, "--name", "Ann Smith"])
        .success();
    cli.run(&[
        "bindings",
        "create",
        "--subject",
        &format!("user:{ANN}"),
        "--role",
        "viewer",
    ])
    .success();
    let file = write(
        &cli,
        "suspend.yaml",
        "version: 1\nid: suspend-acme\ntitle: Suspend a tenant\nseverity: P3\ninputs:\n  tenant: { type: tenant, default: acme }\nsteps:\n  - id: say\n    note: suspending\n  - id: suspend\n    action: { name: tenant.suspend, args: { tenant: \"${inputs.tenant}\" } }\n",
    );

    let refused = cli
        .run(&["playbook", "dry-run", &file, "--as", &format!("user:{ANN}")])
        .failure();
    assert!(
        refused.stdout.contains(&format!("{file}:10:5: step `suspend`: tenant.suspend needs the permission tenants.write, which user:{ANN} does not hold")),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stderr.contains("a run would be refused"),
        "{}",
        refused.stderr
    );

    let as_ops = cli
        .run(&[
            "--json",
            "playbook",
            "dry-run",
            &file,
            "--as",
            "service:ops",
        ])
        .success()
        .json();
    assert_eq!(as_ops["permissions"]["checked"], "yes", "{as_ops}");
    assert_eq!(as_ops["permissions"]["refused"], serde_json::json!([]));

    // A dry-run sends nothing: the tenant is as it was.
    let http = Http::new(&admin.url, Some(&token));
    assert_eq!(http.get("/v1/tenants/acme").json()["status"], "active");
}

/// Needs the OS keyring: run inside `tests/with-keyring`.
#[test]
fn dry_run_and_run_check_the_profiles_own_token_and_a_refused_run_is_never_sent() {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let viewer = admin.token("watcher", "viewer").expect("viewer token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    cli.connect("watch", "dev", &admin, &viewer);
    let file = write(
        &cli,
        "suspend.yaml",
        "version: 1\nid: suspend-acme\ntitle: Suspend a tenant\nseverity: P3\nsteps:\n  - id: say\n    note: suspending\n  - id: suspend\n    action: { name: tenant.suspend, args: { tenant: acme } }\n",
    );

    let refused = cli.run(&["playbook", "dry-run", &file]).failure();
    assert!(
        refused.stdout.contains(&format!(
            "{file}:8:5: step `suspend`: tenant.suspend needs the permission tenants.write, which watcher does not hold"
        )),
        "{}",
        refused.stdout
    );
    assert!(
        !refused.stdout.contains("not checked"),
        "{}",
        refused.stdout
    );

    let run = cli.run(&["playbook", "run", &file]).failure();
    assert!(
        run.stderr
            .contains("step `suspend`: tenant.suspend needs the permission tenants.write"),
        "{}",
        run.stderr
    );
    let http = Http::new(&admin.url, Some(&token));
    assert_eq!(
        http.get("/v1/playbook-runs").json()["items"],
        serde_json::json!([]),
        "a refused run is never sent"
    );

    let as_admin = cli
        .run(&["--json", "--profile", "plat", "playbook", "dry-run", &file])
        .success()
        .json();
    assert_eq!(as_admin["permissions"]["checked"], "yes", "{as_admin}");
    assert_eq!(as_admin["permissions"]["whose"], "ops", "{as_admin}");
    assert_eq!(as_admin["permissions"]["refused"], serde_json::json!([]));
}
