//! `opsdeck approvals` and the two-person rule through the real binaries:
//! a real platform-admin (SQLite and PostgreSQL) whose rule is on, and two
//! people with a profile each. The first is refused a tenant deletion and
//! told what to run, asks for an approval, may not grant it to themself;
//! the second sees it pending and grants it; the first deletes the tenant
//! with it, once.

use opsdeck_tests::{Backend, Cli, PlatformAdmin};

fn two_people_request_grant_and_use_an_approval_to_delete_a_tenant(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("platform-admin.toml");
    std::fs::write(
        &config,
        "[two_person_rule]\nenabled = true\nexpires_after = \"15m\"\n",
    )
    .expect("write the configuration");
    let config = config.to_string_lossy().into_owned();
    let admin = PlatformAdmin::start_with(backend, &["--config", &config]).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("ops", "dev", &admin, &token);

    // The second person: a service account bound to platform-admin, with
    // a profile of its own.
    cli.second_person(&admin, "approver", "platform-admin");

    cli.run(&["tenants", "create", "--slug", "doomed", "--name", "Doomed"])
        .success();

    // Refused, and told what to run.
    let refused = cli.run(&["tenants", "delete", "doomed"]).failure();
    assert!(
        refused.stderr.contains("--request-approval")
            && refused.stderr.contains("opsdeck approvals grant")
            && refused.stderr.contains("--approval <id>")
            && refused.stderr.contains("platform-admin")
            && refused.stderr.contains("15 minutes"),
        "{}",
        refused.stderr
    );
    let refused = cli
        .run(&["--json", "tenants", "delete", "doomed"])
        .failure();
    let error: serde_json::Value =
        serde_json::from_str(refused.stderr.trim()).expect("a JSON error");
    assert_eq!(error["code"], "approval_required", "{error:#}");
    assert_eq!(error["remedy"]["kind"], "request_approval", "{error:#}");
    assert_eq!(error["remedy"]["target"], "doomed", "{error:#}");

    // Asked for by the first person; not theirs to grant.
    let asked = cli
        .run(&[
            "--json",
            "tenants",
            "delete",
            "doomed",
            "--request-approval",
            "customer left",
        ])
        .success()
        .json();
    assert_eq!(asked["state"], "pending", "{asked:#}");
    assert_eq!(asked["action"], "tenant.delete");
    let id = asked["id"].as_str().expect("an id").to_string();
    let own = cli.run(&["approvals", "grant", &id]).failure();
    assert!(own.stderr.contains("second person"), "{}", own.stderr);

    // The second person sees it pending and grants it.
    let pending = cli
        .run(&[
            "--profile",
            "approver",
            "--json",
            "approvals",
            "list",
            "--state",
            "pending",
        ])
        .success()
        .json();
    assert_eq!(pending["items"][0]["id"], id.as_str(), "{pending:#}");
    assert_eq!(pending["items"][0]["reason"], "customer left");
    let table = cli
        .run(&["--profile", "approver", "approvals", "list"])
        .success();
    assert!(table.stdout.contains(&id), "{}", table.stdout);
    cli.run(&[
        "--profile",
        "approver",
        "approvals",
        "grant",
        &id,
        "--note",
        "checked with billing",
    ])
    .success();

    // Used by the first person, once.
    cli.run(&["tenants", "delete", "doomed", "--approval", &id])
        .success();
    let shown = cli
        .run(&["--json", "approvals", "show", &id])
        .success()
        .json();
    assert_eq!(shown["state"], "used", "{shown:#}");
    assert_eq!(shown["decided_by"], "approver", "{shown:#}");
    cli.run(&["tenants", "create", "--slug", "doomed", "--name", "Again"])
        .success();
    let again = cli
        .run(&["tenants", "delete", "doomed", "--approval", &id])
        .failure();
    assert!(again.stderr.contains("used already"), "{}", again.stderr);
    let listed = cli.run(&["--json", "tenants", "list"]).success().json();
    assert!(
        listed.to_string().contains("\"doomed\""),
        "the refused deletion deleted it: {listed:#}"
    );
}

#[test]
fn two_people_request_grant_and_use_an_approval_to_delete_a_tenant_on_sqlite() {
    two_people_request_grant_and_use_an_approval_to_delete_a_tenant(Backend::Sqlite);
}

#[test]
fn two_people_request_grant_and_use_an_approval_to_delete_a_tenant_on_postgres() {
    two_people_request_grant_and_use_an_approval_to_delete_a_tenant(Backend::Postgres);
}
