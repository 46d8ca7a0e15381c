//! `opsdeck tenants` with branding and labels against a real platform-admin,
//! on SQLite and on a real PostgreSQL: `--accent-color` and `--label` on
//! create, update (labels added, changed and removed from the tenant as
//! read) and list (filters the server applies), what `get` and the table
//! show, and bad input refused in the words of the command line.

use opsdeck_tests::{Backend, Cli, Http, PlatformAdmin};
use serde_json::{json, Value};

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
    labels_and_accent_colours_are_set_changed_shown_and_filtered_on_through_the_cli,
    bad_labels_and_colours_are_refused_by_flag_and_change_nothing,
);

fn setup(backend: Backend) -> (PlatformAdmin, Cli, Http) {
    let admin = PlatformAdmin::start(backend).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);
    let http = Http::new(&admin.url, Some(&token));
    (admin, cli, http)
}

fn slugs(view: &Value) -> Vec<String> {
    view["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| t["slug"].as_str().expect("slug").to_string())
        .collect()
}

fn labels_and_accent_colours_are_set_changed_shown_and_filtered_on_through_the_cli(
    backend: Backend,
) {
    let (_admin, cli, http) = setup(backend);
    let created = cli
        .run(&[
            "--json",
            "tenants",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme",
            "--accent-color",
            "#0A7CFF",
            "--label",
            "team=payments",
            "--label",
            "env=prod",
        ])
        .success()
        .json();
    assert_eq!(created["accent_color"], "#0a7cff");
    assert_eq!(
        created["labels"],
        json!({"env": "prod", "team": "payments"})
    );
    cli.run(&[
        "tenants",
        "create",
        "--slug",
        "bravo",
        "--name",
        "Bravo",
        "--label",
        "env=staging",
    ])
    .success();
    cli.run(&["tenants", "create", "--slug", "plain", "--name", "Plain"])
        .success();

    let shown = cli.run(&["tenants", "get", "acme"]).success().stdout;
    let line = |name: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("accent colour").ends_with("#0a7cff"), "{shown}");
    assert!(
        line("labels").ends_with("env=prod, team=payments"),
        "{shown}"
    );
    let plain = cli.run(&["tenants", "get", "plain"]).success().stdout;
    assert!(
        plain
            .lines()
            .any(|l| l.starts_with("labels") && l.ends_with("none")),
        "{plain}"
    );

    // Filters: the pair, the key alone, two together, with the search.
    let list = |args: &[&str]| {
        let mut all = vec!["--json", "tenants", "list"];
        all.extend(args);
        slugs(&cli.run(&all).success().json())
    };
    assert_eq!(list(&["--label", "env=prod"]), ["acme"]);
    assert_eq!(list(&["--label", "env"]), ["acme", "bravo"]);
    assert_eq!(list(&["--label", "env", "--label", "team"]), ["acme"]);
    assert_eq!(list(&["--label", "env", "--search", "brav"]), ["bravo"]);
    assert!(list(&["--label", "env=prod", "--label", "env=staging"]).is_empty());

    // The table has a LABELS column that fits the terminal.
    let table = cli
        .run_with_env(&["tenants", "list"], "", &[("COLUMNS", "120")])
        .success()
        .stdout;
    assert!(
        table.lines().next().unwrap_or_default().contains("LABELS"),
        "{table}"
    );
    assert!(table.contains("env=prod,team=payments"), "{table}");
    let narrow = cli
        .run_with_env(&["tenants", "list"], "", &[("COLUMNS", "60")])
        .success()
        .stdout;
    assert!(narrow.lines().all(|l| l.chars().count() <= 60), "{narrow}");

    // Update: add and change one label, remove another, from what was read.
    let updated = cli
        .run(&[
            "--json",
            "tenants",
            "update",
            "acme",
            "--label",
            "region=eu-west",
            "--label",
            "env=canary",
            "--remove-label",
            "team",
            "--accent-color",
            "#30a46c",
        ])
        .success()
        .json();
    assert_eq!(
        updated["labels"],
        json!({"env": "canary", "region": "eu-west"})
    );
    assert_eq!(updated["accent_color"], "#30a46c");
    let cleared = cli
        .run(&[
            "--json",
            "tenants",
            "update",
            "acme",
            "--clear-accent-color",
        ])
        .success()
        .json();
    assert_eq!(cleared["accent_color"], Value::Null);
    assert_eq!(cleared["labels"]["region"], "eu-west", "labels kept");
    let server = http.get("/v1/tenants/acme").json();
    assert_eq!(
        server["labels"],
        json!({"env": "canary", "region": "eu-west"})
    );
    assert_eq!(server["accent_color"], Value::Null);
    assert_eq!(list(&["--label", "region=eu-west"]), ["acme"]);
    assert!(list(&["--label", "team"]).is_empty());
}

fn bad_labels_and_colours_are_refused_by_flag_and_change_nothing(backend: Backend) {
    let (_admin, cli, http) = setup(backend);
    cli.run(&[
        "tenants", "create", "--slug", "acme", "--name", "Acme", "--label", "env=prod",
    ])
    .success();
    let before = http.get("/v1/tenants/acme").json();

    let refused = |args: &[&str], starts: &str| {
        let run = cli.run(args).failure();
        assert!(
            run.stderr.lines().any(|l| l.starts_with(starts)),
            "{args:?}: want {starts:?}:\n{}",
            run.stderr
        );
    };
    refused(
        &[
            "tenants", "create", "--slug", "brand", "--name", "B", "--label", "Env=prod",
        ],
        "error: --label Env: ",
    );
    refused(
        &[
            "tenants", "create", "--slug", "brand", "--name", "B", "--label", "novalue",
        ],
        "error: --label: ",
    );
    refused(
        &[
            "tenants",
            "create",
            "--slug",
            "brand",
            "--name",
            "B",
            "--accent-color",
            "red",
        ],
        "error: --accent-color: ",
    );
    refused(
        &["tenants", "update", "acme", "--accent-color", "#12345"],
        "error: --accent-color: ",
    );
    refused(&["tenants", "list", "--label", "Env"], "error: --label: ");
    let many: Vec<String> = (0..33).map(|i| format!("k{i:02}=v")).collect();
    let mut update = vec!["tenants", "update", "acme"];
    for label in &many {
        update.extend(["--label", label.as_str()]);
    }
    refused(&update, "error: --label: ");
    let both = cli
        .run(&[
            "tenants",
            "update",
            "acme",
            "--accent-color",
            "#0a7cff",
            "--clear-accent-color",
        ])
        .failure();
    assert!(
        both.stderr.contains("--clear-accent-color"),
        "{}",
        both.stderr
    );

    assert_eq!(http.tenant_count(), 1, "nothing created");
    assert_eq!(
        http.get("/v1/tenants/acme").json(),
        before,
        "nothing changed"
    );
}
