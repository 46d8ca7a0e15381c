//! The `opsdeck` CLI's access control against a real platform-admin, on
//! SQLite and on a real PostgreSQL: users, groups, custom roles and
//! tenant-scoped bindings made from the terminal reach a token's owner on
//! its tenant only; who-can shows the whole grant path; the server's
//! refusals (the last platform admin, granting more than one holds) read as
//! command-line errors; `--dry-run` shows who gains and loses what and
//! changes nothing; removals on production need the target typed.

use opsdeck_tests::{Backend, Cli, Http, PlatformAdmin};
use serde_json::Value;

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
    a_group_binding_on_one_tenant_reaches_the_members_token_there_only,
    who_can_shows_the_path_from_user_through_group_and_binding_to_role,
    the_last_platform_admin_binding_cannot_be_removed,
    granting_more_than_the_caller_holds_is_refused_and_changes_nothing,
    dry_run_shows_who_gains_and_loses_what_and_changes_nothing,
    removals_on_prod_need_the_target_typed_exactly,
    bad_subjects_and_permissions_are_refused_in_the_words_of_the_command_line,
);

const ANN: &str = "ann@example.com";

fn setup(backend: Backend, tier: &str) -> (PlatformAdmin, Cli, Http) {
    let admin = PlatformAdmin::start(backend).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", tier, &admin, &token);
    let http = Http::new(&admin.url, Some(&token));
    (admin, cli, http)
}

/// Two tenants, Ann in group sre, and the group bound to a custom role
/// reading tenants and access on acme only. Returns the binding's id.
fn ann_reads_acme_through_sre(cli: &Cli) -> String {
    for (slug, name) in [("acme", "Acme"), ("globex", "Globex")] {
        cli.run(&["tenants", "create", "--slug", slug, "--name", name])
            .success();
    }
    cli.run(&["users", "create", "--email", ANN, "--name", "Ann Smith"])
        .success();
    cli.run(&["groups", "create", "sre", "--external-name", "SRE Team"])
        .success();
    cli.run(&["groups", "add-member", "sre", ANN]).success();
    cli.run(&[
        "roles",
        "create",
        "acme-reader",
        "--permission",
        "tenants.read",
        "--permission",
        "rbac.read",
    ])
    .success();
    let binding = cli
        .run(&[
            "--json",
            "bindings",
            "create",
            "--subject",
            "group:sre",
            "--role",
            "acme-reader",
            "--tenant",
            "acme",
        ])
        .success()
        .json();
    assert_eq!(binding["role"], "acme-reader");
    assert_eq!(binding["scope"]["kind"], "tenant");
    binding["id"].as_str().expect("binding id").to_string()
}

fn a_group_binding_on_one_tenant_reaches_the_members_token_there_only(backend: Backend) {
    let (admin, cli, _http) = setup(backend, "dev");
    ann_reads_acme_through_sre(&cli);

    let made = cli
        .run(&[
            "tokens",
            "create",
            "--user",
            ANN,
            "--name",
            "ann-laptop",
            "--expires-in",
            "30d",
        ])
        .success();
    let token = made.stdout.lines().last().unwrap_or_default().to_string();
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "the token alone on the last line: {:?}",
        made.stdout
    );
    assert!(made.stderr.contains("shown once"), "{}", made.stderr);

    let scripted = cli
        .run(&[
            "--json", "tokens", "create", "--user", ANN, "--name", "ann-ci",
        ])
        .success();
    let scripted_json = scripted.json();
    assert!(
        scripted_json["token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{scripted_json}"
    );
    assert_eq!(scripted_json["name"], "ann-ci");
    assert!(scripted.stderr.is_empty(), "{}", scripted.stderr);

    let listed = cli.run(&["--json", "tokens", "list"]).success().json();
    let laptop = listed
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["name"] == "ann-laptop")
        .expect("listed");
    assert_eq!(laptop["owner_name"], format!("user:{ANN}"));
    assert!(laptop["expires_at"].is_string(), "{laptop}");
    assert!(
        !listed.to_string().contains(&token),
        "a list never shows a secret"
    );

    let ann = Cli::new().expect("cli");
    ann.connect("ann", "dev", &admin, &token);
    let acme = ann
        .run(&["--json", "tenants", "get", "acme"])
        .success()
        .json();
    assert_eq!(acme["slug"], "acme");
    let globex = ann.run(&["--json", "tenants", "get", "globex"]).failure();
    let report: Value = serde_json::from_str(globex.stderr.trim()).expect("JSON error");
    assert_eq!(report["code"], "not_found", "{report}");

    // Disabled, Ann's tokens are refused until she is active again.
    let disabled = cli
        .run(&["--json", "users", "update", ANN, "--status", "disabled"])
        .success()
        .json();
    assert_eq!(disabled["status"], "disabled");
    let refused = ann.run(&["--json", "tenants", "get", "acme"]).failure();
    let report: Value = serde_json::from_str(refused.stderr.trim()).expect("JSON error");
    assert_eq!(report["code"], "unauthorized", "{report}");
    cli.run(&["users", "update", ANN, "--status", "active"])
        .success();
    ann.run(&["tenants", "get", "acme"]).success();

    // Revoked, the token is refused.
    cli.run(&["tokens", "revoke", "ann-laptop"]).success();
    let refused = ann.run(&["--json", "tenants", "get", "acme"]).failure();
    let report: Value = serde_json::from_str(refused.stderr.trim()).expect("JSON error");
    assert_eq!(report["code"], "unauthorized", "{report}");
}

fn who_can_shows_the_path_from_user_through_group_and_binding_to_role(backend: Backend) {
    let (_admin, cli, _http) = setup(backend, "dev");
    let binding = ann_reads_acme_through_sre(&cli);

    let found = cli
        .run(&[
            "--json",
            "rbac",
            "who-can",
            "tenants.read",
            "--tenant",
            "acme",
        ])
        .success()
        .json();
    let holders = found["holders"].as_array().expect("holders");
    let ann = holders
        .iter()
        .find(|h| h["subject"] == format!("user:{ANN}"))
        .unwrap_or_else(|| panic!("ann holds it: {found}"));
    let paths = ann["paths"].as_array().expect("paths");
    assert_eq!(paths.len(), 1, "{ann}");
    assert_eq!(paths[0]["group"], "group:sre");
    assert_eq!(paths[0]["binding"], binding.as_str());
    assert_eq!(paths[0]["role"], "acme-reader");
    assert_eq!(paths[0]["scope"]["slug"], "acme");

    let text = cli
        .run(&["rbac", "who-can", "tenants.read", "--tenant", "acme"])
        .success();
    let line = text
        .stdout
        .lines()
        .find(|l| l.contains(ANN))
        .unwrap_or_else(|| panic!("{}", text.stdout));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words,
        [
            &format!("user:{ANN}"),
            "group:sre",
            &binding,
            "acme-reader",
            "tenant",
            "acme"
        ],
        "the path in order, holder to scope: {}",
        text.stdout
    );

    // Nobody holds it on globex through acme's binding.
    let globex = cli
        .run(&[
            "--json",
            "rbac",
            "who-can",
            "tenants.read",
            "--tenant",
            "globex",
        ])
        .success()
        .json();
    assert!(
        !globex.to_string().contains(ANN),
        "acme's binding reaches no other tenant: {globex}"
    );

    let effective = cli
        .run(&["--json", "rbac", "effective", &format!("user:{ANN}")])
        .success()
        .json();
    assert_eq!(effective["platform"], serde_json::json!([]));
    assert_eq!(effective["tenants"][0]["slug"], "acme");
    assert_eq!(
        effective["tenants"][0]["permissions"],
        serde_json::json!(["tenants.read", "rbac.read"])
    );
    let table = cli
        .run(&["rbac", "effective", &format!("user:{ANN}")])
        .success();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("tenant acme") && l.contains("tenants.read, rbac.read")),
        "{}",
        table.stdout
    );
}

fn the_last_platform_admin_binding_cannot_be_removed(backend: Backend) {
    let (_admin, cli, _http) = setup(backend, "dev");
    let admins = cli
        .run(&[
            "--json",
            "bindings",
            "list",
            "--role",
            "platform-admin",
            "--scope",
            "platform",
        ])
        .success()
        .json();
    let admins = admins.as_array().expect("bindings");
    assert_eq!(admins.len(), 1, "{admins:?}");
    let id = admins[0]["id"].as_str().expect("id");
    let shown = cli.run(&["bindings", "get", id]).success();
    assert!(
        shown
            .stdout
            .lines()
            .any(|l| l.starts_with("subject") && l.ends_with("service:ops")),
        "{}",
        shown.stdout
    );

    let refused = cli.run(&["bindings", "delete", id]).failure();
    assert!(
        refused
            .stderr
            .contains("last platform-wide platform-admin binding"),
        "{}",
        refused.stderr
    );
    let report: Value = serde_json::from_str(
        cli.run(&["--json", "bindings", "delete", id])
            .failure()
            .stderr
            .trim(),
    )
    .expect("JSON error");
    assert_eq!(report["code"], "invalid_state", "{report}");
    let after = cli
        .run(&["--json", "bindings", "list", "--role", "platform-admin"])
        .success()
        .json();
    assert_eq!(after.as_array().map(Vec::len), Some(1), "still there");
}

fn granting_more_than_the_caller_holds_is_refused_and_changes_nothing(backend: Backend) {
    let (admin, cli, _http) = setup(backend, "dev");
    ann_reads_acme_through_sre(&cli);
    // Ann reads everything and administers acme's access, but cannot delete
    // tenants or fail clusters over there.
    for args in [
        ["--subject", "user:ann@example.com", "--role", "viewer"].as_slice(),
        [
            "--subject",
            "user:ann@example.com",
            "--role",
            "tenant-admin",
            "--tenant",
            "acme",
        ]
        .as_slice(),
    ] {
        let mut command = vec!["bindings", "create"];
        command.extend(args);
        cli.run(&command).success();
    }
    let token = cli
        .run(&["tokens", "create", "--user", ANN, "--name", "ann"])
        .success()
        .stdout
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let ann = Cli::new().expect("cli");
    ann.connect("ann", "dev", &admin, &token);
    let before = cli.run(&["--json", "bindings", "list"]).success().json();

    for role in ["platform-admin", "operator"] {
        let refused = ann
            .run(&[
                "--json",
                "bindings",
                "create",
                "--subject",
                "group:sre",
                "--role",
                role,
                "--tenant",
                "acme",
            ])
            .failure();
        let report: Value = serde_json::from_str(refused.stderr.trim()).expect("JSON error");
        assert_eq!(report["code"], "forbidden", "{role}: {report}");
        assert!(
            report["message"]
                .as_str()
                .is_some_and(|m| m.contains("cannot grant")),
            "{report}"
        );
    }
    // What Ann holds there, Ann may hand on.
    ann.run(&[
        "bindings",
        "create",
        "--subject",
        "group:sre",
        "--role",
        "viewer",
        "--tenant",
        "acme",
    ])
    .success();
    let after = cli.run(&["--json", "bindings", "list"]).success().json();
    assert_eq!(
        after.as_array().map(Vec::len),
        before.as_array().map(|b| b.len() + 1),
        "only the allowed binding was made"
    );

    // An admin of acme alone may not list users, yet names subjects by email.
    cli.run(&[
        "users",
        "create",
        "--email",
        "bob@example.com",
        "--name",
        "Bob",
    ])
    .success();
    cli.run(&[
        "bindings",
        "create",
        "--subject",
        "user:bob@example.com",
        "--role",
        "tenant-admin",
        "--tenant",
        "acme",
    ])
    .success();
    let token = cli
        .run(&[
            "tokens",
            "create",
            "--user",
            "bob@example.com",
            "--name",
            "bob",
        ])
        .success()
        .stdout
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let bob = Cli::new().expect("cli");
    bob.connect("bob", "dev", &admin, &token);
    bob.run(&["users", "list"]).failure();
    let made = bob
        .run(&[
            "--json",
            "bindings",
            "create",
            "--subject",
            &format!("user:{ANN}"),
            "--role",
            "acme-reader",
            "--tenant",
            "acme",
        ])
        .success()
        .json();
    assert_eq!(made["subject"]["kind"], "user", "{made}");
    let seen = bob.run(&["--json", "bindings", "list"]).success().json();
    assert!(
        seen.as_array()
            .is_some_and(|rows| rows.iter().all(|r| r["scope"]["slug"] == "acme")),
        "only acme's bindings: {seen}"
    );
    let nobody = bob
        .run(&[
            "bindings",
            "create",
            "--subject",
            "group:nobody",
            "--role",
            "viewer",
            "--tenant",
            "acme",
        ])
        .failure();
    assert!(
        nobody
            .stderr
            .contains("error: --subject: no group `nobody`"),
        "{}",
        nobody.stderr
    );
}

fn dry_run_shows_who_gains_and_loses_what_and_changes_nothing(backend: Backend) {
    let (_admin, cli, _http) = setup(backend, "dev");
    let binding = ann_reads_acme_through_sre(&cli);
    let bindings_before = cli.run(&["--json", "bindings", "list"]).success().json();

    // A platform-wide viewer binding for the group: Ann gains on the platform.
    let grant = cli
        .run(&[
            "--json",
            "bindings",
            "create",
            "--subject",
            "group:sre",
            "--role",
            "viewer",
            "--dry-run",
        ])
        .success();
    assert!(grant.stderr.is_empty(), "{}", grant.stderr);
    let diff = grant.json();
    assert_eq!(diff["dry_run"], true);
    let changes = diff["changes"].as_array().expect("changes");
    let gains = |permission: &str| {
        changes.iter().any(|c| {
            c["holder"] == format!("user:{ANN}")
                && c["change"] == "gains"
                && c["permission"] == permission
                && c["scope"]["kind"] == "platform"
        })
    };
    assert!(gains("audit.read"), "{diff}");
    assert!(gains("tenants.read"), "held on acme only until now: {diff}");
    assert!(!changes.iter().any(|c| c["change"] == "loses"), "{diff}");

    // Taking rbac.read out of the role: Ann loses it on acme, keeps the rest.
    let narrower = cli
        .run(&[
            "roles",
            "update",
            "acme-reader",
            "--permission",
            "tenants.read",
            "--dry-run",
        ])
        .success();
    let lines: Vec<&str> = narrower.stdout.lines().collect();
    assert!(
        lines.contains(&format!("  - user:{ANN} loses rbac.read on tenant acme").as_str()),
        "{}",
        narrower.stdout
    );
    assert!(
        !narrower.stdout.contains("tenants.read on"),
        "{}",
        narrower.stdout
    );
    assert!(narrower.stderr.contains("dry run"), "{}", narrower.stderr);

    // Removing the binding: Ann loses both on acme.
    let removal = cli
        .run(&["--json", "bindings", "delete", &binding, "--dry-run"])
        .success()
        .json();
    let lost: Vec<(&str, &str)> = removal["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["change"] == "loses")
        .filter_map(|c| Some((c["permission"].as_str()?, c["scope"]["slug"].as_str()?)))
        .collect();
    assert_eq!(lost, [("tenants.read", "acme"), ("rbac.read", "acme")]);
    assert!(
        removal["summary"]
            .as_str()
            .is_some_and(|s| s.contains("role acme-reader of group:sre on tenant acme")),
        "{removal}"
    );

    // Membership changes access too: Ann leaving sre loses acme, Bob
    // joining gains it.
    let leaving = cli
        .run(&["--json", "groups", "remove-member", "sre", ANN, "--dry-run"])
        .success()
        .json();
    let left: Vec<(&str, &str, &str)> = leaving["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| {
            Some((
                c["holder"].as_str()?,
                c["change"].as_str()?,
                c["permission"].as_str()?,
            ))
        })
        .collect();
    let ann_user = format!("user:{ANN}");
    assert_eq!(
        left,
        [
            (ann_user.as_str(), "loses", "tenants.read"),
            (ann_user.as_str(), "loses", "rbac.read")
        ],
        "{leaving}"
    );
    cli.run(&[
        "users",
        "create",
        "--email",
        "bob@example.com",
        "--name",
        "Bob",
    ])
    .success();
    let joining = cli
        .run(&[
            "groups",
            "add-member",
            "sre",
            "bob@example.com",
            "--dry-run",
        ])
        .success();
    assert!(
        joining
            .stdout
            .contains("+ user:bob@example.com gains tenants.read on tenant acme"),
        "{}",
        joining.stdout
    );
    let group = cli
        .run(&["--json", "groups", "get", "sre"])
        .success()
        .json();
    assert_eq!(group["member_names"], serde_json::json!([ann_user]));

    // Nothing changed.
    let role = cli
        .run(&["--json", "roles", "get", "acme-reader"])
        .success()
        .json();
    assert_eq!(
        role["permissions"],
        serde_json::json!(["tenants.read", "rbac.read"])
    );
    assert_eq!(
        cli.run(&["--json", "bindings", "list"]).success().json(),
        bindings_before
    );
}

fn removals_on_prod_need_the_target_typed_exactly(backend: Backend) {
    let (_admin, cli, _http) = setup(backend, "prod");
    let made = cli
        .run(&[
            "--json",
            "roles",
            "create",
            "pager",
            "--permission",
            "alerts.read",
            "alerts.silence",
        ])
        .success()
        .json();
    assert_eq!(
        made["permissions"],
        serde_json::json!(["alerts.read", "alerts.silence"])
    );

    let refused = cli.run(&["roles", "delete", "pager"]).failure();
    assert!(
        refused.stderr.contains("Delete role pager"),
        "the preflight is shown: {}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--confirm pager"),
        "{}",
        refused.stderr
    );
    let report: Value = serde_json::from_str(
        cli.run(&["--json", "roles", "delete", "pager"])
            .failure()
            .stderr
            .trim(),
    )
    .expect("JSON error");
    assert_eq!(report["code"], "confirmation_required", "{report}");
    assert_eq!(report["remedy"]["target"], "pager", "{report}");
    let wrong = cli
        .run(&["roles", "delete", "pager", "--confirm", "Pager"])
        .failure();
    assert!(
        wrong.stderr.contains("nothing was done"),
        "{}",
        wrong.stderr
    );
    cli.run(&["roles", "get", "pager"]).success();

    cli.run(&["roles", "delete", "pager", "--confirm", "pager"])
        .success();
    cli.run(&["roles", "get", "pager"]).failure();

    cli.run(&["users", "create", "--email", ANN, "--name", "Ann"])
        .success();
    cli.run(&["tokens", "create", "--user", ANN, "--name", "ann"])
        .success();
    cli.run(&["tokens", "revoke", "ann"]).failure();
    let revoked = cli
        .run(&["--json", "tokens", "revoke", "ann", "--confirm", "ann"])
        .success()
        .json();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    // Users and groups go the same way, with what hangs on them.
    cli.run(&["groups", "create", "sre"]).success();
    cli.run(&["groups", "add-member", "sre", ANN]).success();
    let refused = cli.run(&["users", "delete", ANN]).failure();
    assert!(refused.stderr.contains("Delete user"), "{}", refused.stderr);
    cli.run(&["users", "get", ANN]).success();
    cli.run(&["users", "delete", ANN, "--confirm", ANN])
        .success();
    cli.run(&["users", "get", ANN]).failure();
    let group = cli
        .run(&["--json", "groups", "get", "sre"])
        .success()
        .json();
    assert_eq!(group["members"], serde_json::json!([]), "{group}");
    cli.run(&["groups", "delete", "sre"]).failure();
    let gone = cli
        .run(&["--json", "groups", "delete", "sre", "--confirm", "sre"])
        .success()
        .json();
    assert_eq!(gone["deleted"], "sre", "{gone}");
    cli.run(&["groups", "get", "sre"]).failure();
}

fn bad_subjects_and_permissions_are_refused_in_the_words_of_the_command_line(backend: Backend) {
    let (_admin, cli, _http) = setup(backend, "dev");
    let bare = cli
        .run(&["bindings", "create", "--subject", ANN, "--role", "viewer"])
        .failure();
    assert_eq!(bare.code, Some(2), "{}", bare.stderr);
    assert!(
        bare.stderr
            .contains("user:<email>, group:<name> or service:<name>"),
        "{}",
        bare.stderr
    );
    let unknown = cli
        .run(&["roles", "create", "x", "--permission", "tenants.destroy"])
        .failure();
    assert_eq!(unknown.code, Some(2), "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("tenants.read"),
        "{}",
        unknown.stderr
    );

    let nobody = cli
        .run(&[
            "bindings",
            "create",
            "--subject",
            "user:nobody@example.com",
            "--role",
            "viewer",
        ])
        .failure();
    assert!(
        nobody
            .stderr
            .contains("error: --subject: no user `nobody@example.com`"),
        "{}",
        nobody.stderr
    );
    cli.run(&["users", "create", "--email", ANN, "--name", "Ann"])
        .success();
    let no_role = cli
        .run(&[
            "bindings",
            "create",
            "--subject",
            &format!("user:{ANN}"),
            "--role",
            "no-such-role",
        ])
        .failure();
    assert!(
        no_role
            .stderr
            .contains("error: --role: no role `no-such-role`"),
        "{}",
        no_role.stderr
    );
    let bad_email = cli
        .run(&["users", "create", "--email", "not-an-email", "--name", "X"])
        .failure();
    assert!(
        bad_email
            .stderr
            .contains("error: --email: must be an email"),
        "{}",
        bad_email.stderr
    );
    let lifetime = cli
        .run(&[
            "tokens",
            "create",
            "--user",
            ANN,
            "--name",
            "t",
            "--expires-in",
            "soon",
        ])
        .failure();
    assert!(
        lifetime.stderr.contains("error: --expires-in:"),
        "{}",
        lifetime.stderr
    );
    let help = cli.run(&["bindings", "create", "--help"]).success();
    for said in [
        "--subject",
        "--role",
        "--tenant",
        "--dry-run",
        "tenant-admin",
    ] {
        assert!(help.stdout.contains(said), "{said}: {}", help.stdout);
    }
}
