//! The `opsdeck` CLI against a real platform-admin, on SQLite and on a real
//! PostgreSQL: every tenant endpoint, every bad-input case, idempotent
//! retries, the production confirmation (lifecycle actions and updates that
//! take something away) and the offline stale view, which belongs to a server.

use std::time::Duration;

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
    tenant_lifecycle_through_the_cli_is_audited,
    bad_input_is_refused_with_the_envelope_and_changes_nothing,
    retried_create_with_the_same_key_creates_one_tenant,
    prod_suspend_and_delete_need_the_slug_typed,
    prod_quota_cuts_and_plan_downgrades_show_the_change_and_need_the_slug,
    prod_raises_and_renames_need_no_slug,
    confirmation_is_exact_and_a_wrong_one_is_refused_everywhere,
    unreachable_server_shows_the_cached_list_marked_stale,
    the_stale_view_never_shows_another_servers_tenants,
    the_cache_of_a_server_goes_with_the_last_profile_pointing_at_it,
    offline_the_list_exits_3_and_fresh_refuses_the_cache,
    search_needs_every_word_in_slug_or_name_and_get_lists_what_can_be_done,
    a_draft_with_several_bad_fields_gets_every_error_at_once_before_anything_is_sent,
    a_plan_change_moves_the_quotas_at_the_old_plans_defaults_and_keeps_those_set_by_hand,
);

fn a_draft_with_several_bad_fields_gets_every_error_at_once_before_anything_is_sent(
    backend: Backend,
) {
    let (_admin, cli, http) = setup(backend, "dev");
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    let audit_before = http.audit("tenant:acme").len();
    let draft = [
        "tenants",
        "create",
        "--slug",
        "Bad Slug",
        "--name",
        " ",
        "--max-users",
        "0",
        "--storage-gib",
        "10000001",
    ];
    let words = cli.run(&draft).failure();
    for flag in ["--slug:", "--name:", "--max-users:", "--storage-gib:"] {
        assert!(
            words
                .stderr
                .lines()
                .any(|l| l.starts_with(&format!("error: {flag}"))),
            "{flag} missing:\n{}",
            words.stderr
        );
    }
    let mut json = vec!["--json"];
    json.extend(draft);
    let report: Value =
        serde_json::from_str(cli.run(&json).failure().stderr.trim()).expect("JSON error");
    assert_eq!(report["code"], "invalid_input", "core's, not the server's");
    let fields: Vec<&str> = report["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "slug",
            "slug",
            "name",
            "quotas.max_users",
            "quotas.storage_gib"
        ]
    );
    assert!(
        !report["message"].as_str().unwrap_or("`").contains('`'),
        "{report}"
    );
    assert_eq!(http.tenant_count(), 1, "nothing created");
    assert_eq!(http.audit("tenant:acme").len(), audit_before);

    // Once the draft is right, the server's own refusal comes: the slug is taken.
    let taken = cli
        .run(&[
            "--json", "tenants", "create", "--slug", "acme", "--name", "Again",
        ])
        .failure();
    let report: Value = serde_json::from_str(taken.stderr.trim()).expect("JSON error");
    assert_eq!(report["code"], "slug_taken");
}

fn a_plan_change_moves_the_quotas_at_the_old_plans_defaults_and_keeps_those_set_by_hand(
    backend: Backend,
) {
    let (_admin, cli, http) = setup(backend, "prod");
    // The help says what each plan sets, in numbers.
    for command in ["create", "update"] {
        let help = cli.run(&["tenants", command, "--help"]).success();
        for line in [
            "team:       50 users, 50 GiB storage, 600 requests per minute",
            "enterprise: 5000 users, 5000 GiB storage, 60000 requests per minute",
        ] {
            assert!(help.stdout.contains(line), "{command}: {}", help.stdout);
        }
    }
    let update_help = cli.run(&["tenants", "update", "--help"]).success().stdout;
    assert!(
        update_help.contains("a quota set by hand is kept"),
        "{update_help}"
    );

    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    cli.run(&[
        "tenants",
        "create",
        "--slug",
        "wayne",
        "--name",
        "Wayne",
        "--max-users",
        "800",
    ])
    .success();
    for slug in ["acme", "wayne"] {
        cli.run(&["tenants", "update", slug, "--plan", "enterprise"])
            .success();
    }
    assert_eq!(
        http.get("/v1/tenants/acme").json()["quotas"],
        json!({"max_users": 5000, "storage_gib": 5000, "requests_per_minute": 60000}),
        "team defaults follow the plan"
    );
    assert_eq!(
        http.get("/v1/tenants/wayne").json()["quotas"],
        json!({"max_users": 800, "storage_gib": 5000, "requests_per_minute": 60000}),
        "the quota set by hand is kept"
    );

    // Back down on prod: the preflight lists every quota the plan takes along.
    let refused = cli
        .run(&["--json", "tenants", "update", "acme", "--plan", "free"])
        .failure();
    let report: Value = serde_json::from_str(refused.stderr.trim()).expect("JSON error");
    assert_eq!(report["code"], "confirmation_required");
    let preflight = report["preflight"].as_str().unwrap_or_default();
    for line in [
        "plan: enterprise → free (lower)",
        "max users: 5000 → 5 (lower)",
        "storage GiB: 5000 → 1 (lower)",
        "requests per minute: 60000 → 60 (lower)",
    ] {
        assert!(preflight.contains(line), "{line} missing:\n{preflight}");
    }
    assert_eq!(http.get("/v1/tenants/acme").json()["plan"], "enterprise");
    cli.run(&[
        "tenants",
        "update",
        "acme",
        "--plan",
        "free",
        "--confirm",
        "acme",
    ])
    .success();
    assert_eq!(
        http.get("/v1/tenants/acme").json()["quotas"],
        json!({"max_users": 5, "storage_gib": 1, "requests_per_minute": 60})
    );
}

fn setup(backend: Backend, tier: &str) -> (PlatformAdmin, Cli, Http) {
    let admin = PlatformAdmin::start(backend).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", tier, &admin, &token);
    let http = Http::new(&admin.url, Some(&token));
    (admin, cli, http)
}

fn tenant_lifecycle_through_the_cli_is_audited(backend: Backend) {
    let (_admin, cli, http) = setup(backend, "dev");

    let created = cli
        .run(&[
            "--json",
            "tenants",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme Corp",
            "--plan",
            "business",
        ])
        .success()
        .json();
    assert_eq!(created["slug"], "acme");
    assert_eq!(created["status"], "active");
    assert_eq!(
        created["quotas"]["max_users"], 500,
        "business plan defaults"
    );

    let id = created["id"].as_str().expect("id").to_string();
    let by_id = cli.run(&["--json", "tenants", "get", &id]).success().json();
    assert_eq!(by_id["slug"], "acme");

    cli.run(&[
        "tenants",
        "create",
        "--slug",
        "globex",
        "--name",
        "Globex",
        "--max-users",
        "7",
    ])
    .success();
    let list = cli.run(&["--json", "tenants", "list"]).success().json();
    let slugs: Vec<&str> = list["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .filter_map(|t| t["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["acme", "globex"]);
    assert!(list["stale"].is_null());

    let table = cli.run(&["tenants", "list"]).success();
    assert!(
        table.stdout.contains("SLUG") && table.stdout.contains("Globex"),
        "{}",
        table.stdout
    );

    let updated = cli
        .run(&[
            "--json",
            "tenants",
            "update",
            "acme",
            "--name",
            "Acme Inc",
            "--storage-gib",
            "900",
        ])
        .success()
        .json();
    assert_eq!(updated["name"], "Acme Inc");
    assert_eq!(updated["quotas"]["storage_gib"], 900);
    assert_eq!(updated["quotas"]["max_users"], 500, "untouched quota kept");

    let suspended = cli
        .run(&["--json", "tenants", "suspend", "acme"])
        .success()
        .json();
    assert_eq!(suspended["status"], "suspended");
    let filtered = cli
        .run(&["--json", "tenants", "list", "--status", "suspended"])
        .success()
        .json();
    assert_eq!(filtered["tenants"].as_array().map(Vec::len), Some(1));

    let again = cli.run(&["tenants", "suspend", "acme"]).failure();
    assert!(
        again.stderr.contains("tenant `acme` is already suspended"),
        "{}",
        again.stderr
    );

    let resumed = cli
        .run(&["--json", "tenants", "resume", "acme"])
        .success()
        .json();
    assert_eq!(resumed["status"], "active");

    cli.run(&["tenants", "delete", "acme"]).success();
    let gone = cli.run(&["tenants", "get", "acme"]).failure();
    assert!(gone.stderr.contains("no tenant `acme`"), "{}", gone.stderr);

    let actions: Vec<String> = http
        .audit("tenant:acme")
        .iter()
        .map(|r| r["action"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        actions,
        [
            "tenant.create",
            "tenant.update",
            "tenant.suspend",
            "tenant.resume",
            "tenant.delete"
        ]
    );
    for record in http.audit("tenant:acme") {
        assert_eq!(record["actor"], "ops");
        assert!(!record["request_id"].as_str().unwrap_or_default().is_empty());
    }
}

fn bad_input_is_refused_with_the_envelope_and_changes_nothing(backend: Backend) {
    let (admin, cli, http) = setup(backend, "dev");
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    let audit_before = http.audit("tenant:acme").len();

    // Invalid slug and quota: refused by core with the field named, before
    // anything is sent.
    let bad = cli
        .run(&[
            "--json", "tenants", "create", "--slug", "Bad Slug", "--name", "X",
        ])
        .failure();
    let report: serde_json::Value =
        serde_json::from_str(bad.stderr.trim()).expect("JSON error report");
    assert_eq!(report["code"], "invalid_input");
    assert_eq!(report["details"][0]["field"], "slug");
    let quota = cli
        .run(&[
            "tenants",
            "create",
            "--slug",
            "okslug",
            "--name",
            "X",
            "--max-users",
            "0",
        ])
        .failure();
    assert!(quota.stderr.contains("--max-users"), "{}", quota.stderr);

    // Duplicate slug: 409.
    let dup = cli
        .run(&["tenants", "create", "--slug", "acme", "--name", "Again"])
        .failure();
    assert!(
        dup.stderr.contains("the slug `acme` is taken"),
        "{}",
        dup.stderr
    );

    // Unknown tenant: 404 on every verb.
    for args in [
        vec!["tenants", "get", "nope"],
        vec!["tenants", "update", "nope", "--name", "N"],
        vec!["tenants", "suspend", "nope"],
        vec!["tenants", "resume", "nope"],
        vec!["tenants", "delete", "nope"],
    ] {
        let run = cli.run(&args).failure();
        assert!(
            run.stderr.contains("no tenant `nope`"),
            "{args:?}: {}",
            run.stderr
        );
    }

    // Wrong token: login refuses it and keeps nothing.
    let login = cli
        .run_with_stdin(&["login", "plat", "--token-stdin"], "opd_wrong")
        .failure();
    assert!(
        login.stderr.contains("refused the token of profile plat")
            && login.stderr.contains("opsdeck login plat --token-stdin"),
        "{}",
        login.stderr
    );
    cli.run(&["tenants", "list"]).success();

    // What the CLI cannot send, straight over HTTP.
    let malformed = http.send(
        "POST",
        "/v1/tenants",
        &[("content-type", "application/json")],
        Some(b"{\"slug\": \"x\",".to_vec()),
    );
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(malformed.json()["code"], "malformed_json");
    assert!(malformed.json()["request_id"].is_string());

    let huge = json!({ "slug": "huge", "name": "x".repeat(opsdeck_api::MAX_BODY_BYTES + 1) });
    let too_large = http.json("POST", "/v1/tenants", &huge);
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert_eq!(too_large.json()["code"], "payload_too_large");

    let bad_patch = http.json(
        "PATCH",
        "/v1/tenants/acme",
        &json!({ "quotas": { "storage_gib": -1 } }),
    );
    assert_eq!(bad_patch.status, 422);
    assert_eq!(
        bad_patch.json()["details"][0]["field"],
        "quotas.storage_gib"
    );

    let anonymous = Http::new(&admin.url, None).get("/v1/tenants");
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json()["code"], "unauthorized");
    let wrong = Http::new(&admin.url, Some("opd_not_a_token")).get("/v1/tenants");
    assert_eq!(wrong.status, 401);
    assert!(wrong.headers.contains_key("x-request-id"));

    let viewer = Http::new(
        &admin.url,
        Some(&admin.token("watcher", "viewer").expect("viewer token")),
    );
    assert_eq!(viewer.get("/v1/tenants/acme").status, 200);
    let forbidden = viewer.json(
        "POST",
        "/v1/tenants",
        &json!({ "slug": "viewer-made", "name": "V" }),
    );
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);

    // Nothing of that changed anything.
    assert_eq!(http.tenant_count(), 1);
    let acme = http.get("/v1/tenants/acme").json();
    assert_eq!(acme["name"], "Acme");
    assert_eq!(acme["quotas"]["storage_gib"], 50);
    assert_eq!(http.audit("tenant:acme").len(), audit_before);

    let health = Http::new(&admin.url, None).get("/v1/health");
    assert_eq!(health.status, 200);
    let expected = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(health.json()["database"], expected);
    let metrics = Http::new(&admin.url, None).get("/metrics");
    assert!(
        metrics.body.contains("/v1/tenants/{tenant}"),
        "route templates in metrics"
    );
}

fn retried_create_with_the_same_key_creates_one_tenant(backend: Backend) {
    let (_admin, cli, http) = setup(backend, "dev");
    let args = [
        "--json",
        "tenants",
        "create",
        "--slug",
        "initech",
        "--name",
        "Initech",
        "--idempotency-key",
        "key-1",
    ];
    let first = cli.run(&args).success().json();
    let second = cli.run(&args).success().json();
    assert_eq!(first, second, "a retry returns the first response");
    assert_eq!(http.tenant_count(), 1);
    assert_eq!(
        http.audit("tenant:initech").len(),
        1,
        "one effect, one audit record"
    );

    let other_body = cli
        .run(&[
            "tenants",
            "create",
            "--slug",
            "other",
            "--name",
            "Other",
            "--idempotency-key",
            "key-1",
        ])
        .failure();
    assert!(
        other_body
            .stderr
            .contains("--idempotency-key: this key was used before"),
        "{}",
        other_body.stderr
    );
    assert_eq!(http.tenant_count(), 1);

    // Suspend is a mutation too: the same key twice suspends once, without the 409 of a second suspend.
    let suspend = [
        "--json",
        "tenants",
        "suspend",
        "initech",
        "--idempotency-key",
        "key-2",
    ];
    let s1 = cli.run(&suspend).success().json();
    let s2 = cli.run(&suspend).success().json();
    assert_eq!(s1, s2);
    assert_eq!(http.audit("tenant:initech").len(), 2);
}

fn prod_suspend_and_delete_need_the_slug_typed(backend: Backend) {
    let (_admin, cli, http) = setup(backend, "prod");
    cli.run(&[
        "tenants", "create", "--slug", "umbrella", "--name", "Umbrella",
    ])
    .success();

    let refused = cli.run(&["tenants", "suspend", "umbrella"]).failure();
    assert!(
        refused.stderr.contains("needs the slug typed"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("Suspend tenant umbrella"),
        "preflight shown: {}",
        refused.stderr
    );
    let wrong = cli
        .run(&["tenants", "delete", "umbrella", "--confirm", "umbrela"])
        .failure();
    assert!(
        wrong.stderr.contains("nothing was done"),
        "{}",
        wrong.stderr
    );
    assert_eq!(http.get("/v1/tenants/umbrella").json()["status"], "active");

    cli.run(&["tenants", "suspend", "umbrella", "--confirm", "umbrella"])
        .success();
    assert_eq!(
        http.get("/v1/tenants/umbrella").json()["status"],
        "suspended"
    );
    // Resuming is not destructive: no slug needed.
    cli.run(&["tenants", "resume", "umbrella"]).success();
    cli.run(&["tenants", "delete", "umbrella", "--confirm", "umbrella"])
        .success();
    assert_eq!(http.get("/v1/tenants/umbrella").status, 404);
}

fn unreachable_server_shows_the_cached_list_marked_stale(backend: Backend) {
    let (mut admin, cli, _http) = setup(backend, "dev");
    for slug in ["alpha", "bravo"] {
        cli.run(&["tenants", "create", "--slug", slug, "--name", slug])
            .success();
    }
    let live = cli.run(&["--json", "tenants", "list"]).success().json();
    assert!(live["stale"].is_null());

    admin.stop();
    let stale = cli.run(&["--json", "tenants", "list"]).stale();
    let view = stale.json();
    assert!(
        view["stale"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot reach"),
        "{view}"
    );
    assert!(view["stale"]["age_seconds"].as_i64().is_some());
    assert_eq!(view["tenants"].as_array().map(Vec::len), Some(2));
    let table = cli.run(&["tenants", "list"]).stale();
    assert!(table.stderr.contains("STALE"), "{}", table.stderr);
    assert!(table.stdout.contains("bravo"));

    // A mutation cannot be served from the cache: a clear error, not a stale success.
    let offline = cli
        .run(&["tenants", "create", "--slug", "charlie", "--name", "C"])
        .failure();
    assert!(
        offline.stderr.contains("cannot reach"),
        "{}",
        offline.stderr
    );

    admin.restart().expect("restart");
    let back = cli.run(&["--json", "tenants", "list"]).success().json();
    assert!(back["stale"].is_null());
}

fn prod_quota_cuts_and_plan_downgrades_show_the_change_and_need_the_slug(backend: Backend) {
    let (_admin, cli, http) = setup(backend, "prod");
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    let before = http.get("/v1/tenants/acme").json();
    let cut = [
        "tenants",
        "update",
        "acme",
        "--max-users",
        "1",
        "--storage-gib",
        "1",
        "--requests-per-minute",
        "1",
        "--plan",
        "free",
    ];

    let refused = cli.run(&cut).failure();
    assert!(
        refused.stderr.contains("needs the slug typed"),
        "{}",
        refused.stderr
    );
    for line in [
        "Update tenant acme",
        "plan: team → free (lower)",
        "max users: 50 → 1 (lower)",
        "storage GiB: 50 → 1 (lower)",
        "requests per minute: 600 → 1 (lower)",
    ] {
        assert!(
            refused.stderr.contains(line),
            "preflight line `{line}` shown: {}",
            refused.stderr
        );
    }
    let quota_only = cli
        .run(&["tenants", "update", "acme", "--max-users", "49"])
        .failure();
    assert!(
        quota_only.stderr.contains("max users: 50 → 49 (lower)"),
        "{}",
        quota_only.stderr
    );
    let wrong = cli
        .run(&[&cut[..], &["--confirm", "acne"]].concat())
        .failure();
    assert!(
        wrong.stderr.contains("nothing was done"),
        "{}",
        wrong.stderr
    );
    assert_eq!(
        http.get("/v1/tenants/acme").json(),
        before,
        "nothing changed"
    );
    assert!(http
        .audit("tenant:acme")
        .iter()
        .all(|r| r["action"] != "tenant.update"));

    let done = cli
        .run(&[&["--json"][..], &cut[..], &["--confirm", "acme"]].concat())
        .success()
        .json();
    assert_eq!(done["plan"], "free");
    assert_eq!(done["quotas"]["max_users"], 1);
    assert_eq!(done["quotas"]["requests_per_minute"], 1);
}

fn prod_raises_and_renames_need_no_slug(backend: Backend) {
    let (_admin, cli, http) = setup(backend, "prod");
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    let raised = cli
        .run(&[
            "--json",
            "tenants",
            "update",
            "acme",
            "--name",
            "Acme Inc",
            "--plan",
            "business",
            "--max-users",
            "500",
        ])
        .success()
        .json();
    assert_eq!(raised["plan"], "business");
    assert_eq!(raised["quotas"]["max_users"], 500);
    assert_eq!(http.get("/v1/tenants/acme").json()["name"], "Acme Inc");
}

fn confirmation_is_exact_and_a_wrong_one_is_refused_everywhere(backend: Backend) {
    let (admin, cli, http) = setup(backend, "prod");
    for slug in ["acme", "globex"] {
        cli.run(&["tenants", "create", "--slug", slug, "--name", slug])
            .success();
    }

    // Spaces around the slug are not the slug, on every command that asks.
    let padded = cli
        .run(&["tenants", "suspend", "acme", "--confirm", " acme "])
        .failure();
    assert!(
        padded.stderr.contains("nothing was done"),
        "{}",
        padded.stderr
    );
    let padded_cut = cli
        .run(&[
            "tenants",
            "update",
            "acme",
            "--max-users",
            "1",
            "--confirm",
            "acme ",
        ])
        .failure();
    assert!(
        padded_cut.stderr.contains("nothing was done"),
        "{}",
        padded_cut.stderr
    );
    assert_eq!(http.get("/v1/tenants/acme").json()["status"], "active");
    assert_eq!(
        http.get("/v1/tenants/acme").json()["quotas"]["max_users"],
        50
    );

    // Where no confirmation is needed, a wrong one is still an error: it
    // names a different target than the one acted on. Resume never asks,
    // so it does not take the flag at all.
    cli.run(&["tenants", "suspend", "acme", "--confirm", "acme"])
        .success();
    let resume = cli
        .run(&["tenants", "resume", "acme", "--confirm", "globex"])
        .failure();
    assert_eq!(resume.code, Some(2), "a usage error: {}", resume.stderr);
    assert!(
        resume.stderr.contains("unexpected argument '--confirm'"),
        "{}",
        resume.stderr
    );
    assert_eq!(http.get("/v1/tenants/acme").json()["status"], "suspended");
    let rename = cli
        .run(&[
            "tenants",
            "update",
            "acme",
            "--name",
            "New",
            "--confirm",
            "globex",
        ])
        .failure();
    assert!(
        rename.stderr.contains("nothing was done"),
        "{}",
        rename.stderr
    );

    let token = admin.token("dev-ops", "admin").expect("token");
    let dev = Cli::new().expect("cli");
    dev.connect("dev", "dev", &admin, &token);
    for args in [
        vec!["tenants", "delete", "globex", "--confirm", "acme"],
        vec!["tenants", "suspend", "globex", "--confirm", "globe"],
        vec![
            "tenants",
            "update",
            "globex",
            "--max-users",
            "1",
            "--confirm",
            " globex",
        ],
    ] {
        let run = dev.run(&args).failure();
        assert!(
            run.stderr.contains("nothing was done"),
            "{args:?}: {}",
            run.stderr
        );
    }
    let globex = http.get("/v1/tenants/globex").json();
    assert_eq!(globex["status"], "active");
    assert_eq!(globex["quotas"]["max_users"], 50);
    // The right slug where none is needed is simply accepted.
    dev.run(&["tenants", "suspend", "globex", "--confirm", "globex"])
        .success();
}

/// Points profile `name` of `cli` at `url` by editing profiles.toml, as a
/// person would, and logs in there (unverified when nothing answers).
fn repoint(cli: &Cli, name: &str, from: &str, to: &str, token: &str) {
    let file = cli.config_dir.path().join("profiles.toml");
    let text = std::fs::read_to_string(&file).expect("read profiles.toml");
    assert!(text.contains(from), "{text}");
    std::fs::write(&file, text.replace(from, to)).expect("write profiles.toml");
    cli.run_with_stdin(&["login", name, "--token-stdin"], token)
        .success();
}

fn the_stale_view_never_shows_another_servers_tenants(backend: Backend) {
    let (mut admin, cli, _http) = setup(backend, "prod");
    let token = admin.token("ops2", "admin").expect("token");
    cli.run(&["tenants", "create", "--slug", "alpha", "--name", "Alpha"])
        .success();
    cli.run(&["tenants", "list"]).success();
    admin.stop();

    // The profile now points at another server, which is down: its list is
    // unknown, and the first server's tenants must not stand in for it.
    // Held for the test, so nothing can start listening there meanwhile.
    let refusing = opsdeck_tests::port::Refusing::new().expect("a refusing port");
    let elsewhere = refusing.url();
    repoint(&cli, "plat", &admin.url, &elsewhere, &token);
    let moved = cli.run(&["tenants", "list"]).failure();
    assert!(moved.stderr.contains("cannot reach"), "{}", moved.stderr);
    assert!(!moved.stdout.contains("alpha"), "{}", moved.stdout);

    // Pointed back at the first server, its own last list comes back.
    repoint(&cli, "plat", &elsewhere, &admin.url, &token);
    let back = cli.run(&["--json", "tenants", "list"]).stale().json();
    assert!(!back["stale"].is_null(), "{back}");
    assert_eq!(back["tenants"][0]["slug"], "alpha");

    // Removed and added again under the same name for another server.
    cli.run(&["profile", "remove", "plat"]).success();
    cli.run(&[
        "profile",
        "add",
        "plat",
        "--admin-url",
        &elsewhere,
        "--tier",
        "prod",
        "--use",
    ])
    .success();
    cli.run_with_stdin(&["login", "plat", "--token-stdin"], &token)
        .success();
    let readded = cli.run(&["tenants", "list"]).failure();
    assert!(
        readded.stderr.contains("cannot reach"),
        "{}",
        readded.stderr
    );
    assert!(!readded.stdout.contains("alpha"), "{}", readded.stdout);
}

fn the_cache_of_a_server_goes_with_the_last_profile_pointing_at_it(backend: Backend) {
    let (mut admin, cli, _http) = setup(backend, "dev");
    let token = admin.token("ops2", "admin").expect("token");
    // A second profile on the same server (spelled with a trailing slash).
    let same = format!("{}/", admin.url);
    cli.run(&[
        "profile",
        "add",
        "twin",
        "--admin-url",
        &same,
        "--tier",
        "dev",
    ])
    .success();
    cli.run_with_stdin(&["login", "twin", "--token-stdin"], &token)
        .success();
    cli.run(&["tenants", "create", "--slug", "alpha", "--name", "Alpha"])
        .success();
    cli.run(&["tenants", "list"]).success();
    admin.stop();

    cli.run(&["profile", "remove", "plat"]).success();
    let kept = cli
        .run(&["--json", "--profile", "twin", "tenants", "list"])
        .stale()
        .json();
    assert!(!kept["stale"].is_null(), "{kept}");
    assert_eq!(kept["tenants"][0]["slug"], "alpha");

    cli.run(&["profile", "remove", "twin"]).success();
    cli.run(&[
        "profile",
        "add",
        "again",
        "--admin-url",
        &admin.url,
        "--tier",
        "dev",
        "--use",
    ])
    .success();
    cli.run_with_stdin(&["login", "again", "--token-stdin"], &token)
        .success();
    let gone = cli.run(&["tenants", "list"]).failure();
    assert!(gone.stderr.contains("cannot reach"), "{}", gone.stderr);
}

/// Every JSON value in `text`, which must hold JSON and nothing else.
fn only_json(what: &str, text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| v.unwrap_or_else(|e| panic!("{what} is not only JSON ({e}):\n{text}")))
        .collect()
}

fn offline_the_list_exits_3_and_fresh_refuses_the_cache(backend: Backend) {
    let (mut admin, cli, _http) = setup(backend, "dev");
    cli.run(&["tenants", "create", "--slug", "alpha", "--name", "Alpha"])
        .success();
    let live = cli.run(&["tenants", "list", "--fresh"]).success();
    assert!(live.stdout.contains("alpha"), "{}", live.stdout);
    assert_eq!(live.code, Some(0));

    admin.stop();
    let shown = cli.run(&["tenants", "list"]).stale();
    assert!(shown.stdout.contains("alpha"), "{}", shown.stdout);
    assert!(shown.stderr.contains("STALE"), "{}", shown.stderr);

    let refused = cli.run(&["tenants", "list", "--fresh"]).failure();
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(!refused.stdout.contains("alpha"), "{}", refused.stdout);
    assert!(
        refused.stderr.contains("cannot reach") && refused.stderr.contains("--fresh"),
        "{}",
        refused.stderr
    );
    let refused_json = cli.run(&["--json", "tenants", "list", "--fresh"]).failure();
    assert!(refused_json.stdout.is_empty(), "{}", refused_json.stdout);
    let report = only_json("stderr", &refused_json.stderr);
    assert_eq!(report.len(), 1);
    assert_eq!(report[0]["code"], "stale_refused");

    // The exit codes are documented where people look.
    for args in [vec!["--help"], vec!["tenants", "list", "--help"]] {
        let help = cli.run(&args).success();
        assert!(
            help.stdout.contains("3  served stale"),
            "{args:?}: {}",
            help.stdout
        );
    }

    admin.restart().expect("restart");
    cli.run(&["tenants", "list", "--fresh"]).success();
}

#[test]
fn with_json_stdout_and_stderr_carry_only_json() {
    let (mut admin, cli, http) = setup(Backend::Sqlite, "prod");
    let token = http.token.clone().expect("token");
    let succeed = |args: &[&str], stdin: &str| {
        let run = cli.run_with_stdin(args, stdin).success();
        assert!(
            only_json("stderr", &run.stderr).is_empty(),
            "{args:?} wrote to stderr: {}",
            run.stderr
        );
        let out = only_json("stdout", &run.stdout);
        assert_eq!(out.len(), 1, "{args:?}: {}", run.stdout);
        out.into_iter().next().unwrap_or_default()
    };
    succeed(
        &[
            "--json", "tenants", "create", "--slug", "acme", "--name", "Acme",
        ],
        "",
    );
    succeed(&["--json", "tenants", "get", "acme"], "");
    succeed(&["--json", "tenants", "list"], "");
    succeed(&["--json", "profile", "list"], "");
    assert_eq!(
        succeed(&["--json", "profile", "use", "plat"], "")["current"],
        "plat"
    );
    assert_eq!(
        succeed(&["--json", "login", "plat", "--token-stdin"], &token)["verified"],
        true
    );
    succeed(
        &["--json", "tenants", "suspend", "acme", "--confirm", "acme"],
        "",
    );
    succeed(&["--json", "tenants", "resume", "acme"], "");

    // Errors: one JSON object on stderr, nothing else anywhere; the
    // preflight of a refused confirmation is a field, not a line before it.
    let fail = |args: &[&str], code: &str| {
        let run = cli.run(args).failure();
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        let report = only_json("stderr", &run.stderr);
        assert_eq!(report.len(), 1, "{args:?}: {}", run.stderr);
        assert_eq!(report[0]["code"], code, "{args:?}: {}", run.stderr);
        report.into_iter().next().unwrap_or_default()
    };
    let refused = fail(
        &["--json", "tenants", "delete", "acme"],
        "confirmation_required",
    );
    assert!(
        refused["preflight"]
            .as_str()
            .unwrap_or_default()
            .contains("Delete tenant acme"),
        "{refused}"
    );
    fail(&["--json", "tenants", "get", "nope"], "not_found");
    let invalid = fail(
        &[
            "--json", "tenants", "create", "--slug", "Bad Slug", "--name", "X",
        ],
        "invalid_input",
    );
    assert_eq!(
        invalid["details"][0]["field"], "slug",
        "scripts get field paths"
    );
    fail(&["--json", "tenants", "list", "--sort", "size"], "usage");
    fail(&["--json", "login", "plat"], "no_terminal");

    // Offline, the stale marker is a field of the list, not a line.
    admin.stop();
    let stale = cli.run(&["--json", "tenants", "list"]).stale();
    assert!(
        only_json("stderr", &stale.stderr).is_empty(),
        "{}",
        stale.stderr
    );
    assert!(stale.json()["stale"]["age_seconds"].is_i64());
}

#[test]
fn errors_say_what_is_wrong_once_in_the_words_of_the_command_line() {
    let (_admin, cli, _http) = setup(Backend::Sqlite, "dev");
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    // A change first names the profile it acts on; the errors follow it.
    let lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| *l != "on `plat` (dev)")
            .map(str::to_owned)
            .collect()
    };

    let missing = cli.run(&["tenants", "get", "nope"]).failure();
    assert_eq!(lines(&missing.stderr), ["error: no tenant `nope`"]);

    let quotas = cli
        .run(&[
            "tenants",
            "create",
            "--slug",
            "okslug",
            "--name",
            "X",
            "--max-users",
            "0",
            "--storage-gib",
            "-5",
        ])
        .failure();
    let said = lines(&quotas.stderr);
    assert_eq!(said.len(), 2, "one line per mistake: {said:?}");
    assert!(said[0].starts_with("error: --max-users: "), "{said:?}");
    assert!(
        said[1].starts_with("error: --storage-gib: ") && said[1].contains("-5"),
        "{said:?}"
    );
    for jargon in ["quotas.", "server refused", "unexpected argument"] {
        assert!(!quotas.stderr.contains(jargon), "{jargon}: {said:?}");
    }
    let rpm = cli
        .run(&["tenants", "update", "acme", "--requests-per-minute", "-1"])
        .failure();
    assert!(
        lines(&rpm.stderr)[0].starts_with("error: --requests-per-minute: "),
        "{}",
        rpm.stderr
    );

    let url = cli
        .run(&[
            "profile",
            "add",
            "other",
            "--admin-url",
            "admin.example.net",
            "--tier",
            "dev",
        ])
        .failure();
    assert!(
        url.stderr.starts_with("error: --admin-url: ")
            && url.stderr.contains("https://admin.example.net")
            && !url.stderr.contains("relative URL without a base"),
        "{}",
        url.stderr
    );
    // The profile's name is an argument there, not a `--name` flag.
    let name = cli
        .run(&[
            "profile",
            "add",
            "two words",
            "--admin-url",
            "http://127.0.0.1:9",
            "--tier",
            "dev",
        ])
        .failure();
    assert!(
        name.stderr.starts_with("error: the profile name: "),
        "{}",
        name.stderr
    );
}

#[test]
fn help_describes_every_flag_and_its_values_and_keeps_global_flags_apart() {
    let cli = Cli::new().expect("cli");
    let commands: [&[&str]; 15] = [
        &[],
        &["profile"],
        &["profile", "add"],
        &["profile", "list"],
        &["profile", "use"],
        &["profile", "remove"],
        &["login"],
        &["tenants"],
        &["tenants", "list"],
        &["tenants", "get"],
        &["tenants", "create"],
        &["tenants", "update"],
        &["tenants", "suspend"],
        &["tenants", "resume"],
        &["tenants", "delete"],
    ];
    for command in commands {
        let help = cli.run(&[command, &["--help"]].concat()).success().stdout;
        let mut section = "";
        let lines: Vec<&str> = help.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.starts_with(' ') && line.ends_with(':') {
                section = line;
                continue;
            }
            let item = line.trim_start();
            // `- team: ...` is a value's own help, not a flag.
            let value_help = item.starts_with("- ");
            if !(item.starts_with('-') || item.starts_with('<'))
                || value_help
                || section.starts_with("Exit")
            {
                continue;
            }
            let (flag, text) = item.split_once("  ").unwrap_or((item, ""));
            // Where a value has its own help, clap puts every description
            // on the line below its flag.
            let below = lines.get(i + 1).map_or("", |l| l.trim());
            let text = if text.trim().is_empty() && !below.starts_with('-') {
                below
            } else {
                text
            };
            assert!(
                !text.trim().is_empty(),
                "{command:?}: `{line}` has no description:\n{help}"
            );
            if section == "Options:" {
                assert!(
                    !flag.contains("--json") && !flag.contains("--profile"),
                    "{command:?}: global flags among the command's own:\n{help}"
                );
            }
        }
        let confirms = matches!(command, [_, "suspend" | "delete" | "update"]);
        assert_eq!(
            help.contains("--confirm"),
            confirms,
            "{command:?} offers --confirm only where it may be needed:\n{help}"
        );
    }
    let values = [
        (
            &["tenants", "list"][..],
            "--plan <PLAN>",
            "[possible values: free, team, business, enterprise]",
        ),
        (
            &["tenants", "list"],
            "--status <STATUS>",
            "[possible values: active, suspended]",
        ),
        (
            &["tenants", "list"],
            "--sort <SORT>",
            "[possible values: slug, name, plan, status, updated]",
        ),
        (
            &["profile", "add"],
            "--tier <TIER>",
            "[possible values: dev, staging, prod]",
        ),
    ];
    for (command, flag, listed) in values {
        let help = cli.run(&[command, &["--help"]].concat()).success().stdout;
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with('-') && l.contains(flag))
            .unwrap_or_else(|| panic!("{command:?} has no {flag}:\n{help}"));
        assert!(line.contains(listed), "{command:?}: {line}");
    }
    // Where the plan sets quotas, each plan is listed with its numbers.
    for command in ["create", "update"] {
        let help = cli.run(&["tenants", command, "--help"]).success().stdout;
        for plan in ["free:", "team:", "business:", "enterprise:"] {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(&format!("- {plan}"))
                        && l.contains("requests per minute")),
                "{command}: {plan}\n{help}"
            );
        }
    }
    let list = cli.run(&["tenants", "list", "--help"]).success().stdout;
    let global = list
        .find("Global options:")
        .expect("a global options section");
    assert!(list[global..].contains("--json") && list[global..].contains("--profile"));
}

#[test]
fn tenants_list_sorts_and_filters_by_plan() {
    let (_admin, cli, _http) = setup(Backend::Sqlite, "dev");
    for (slug, name, plan) in [
        ("bravo", "Zeta", "free"),
        ("alpha", "omega", "enterprise"),
        ("charlie", "Alpha", "business"),
    ] {
        cli.run(&[
            "tenants", "create", "--slug", slug, "--name", name, "--plan", plan,
        ])
        .success();
    }
    cli.run(&["tenants", "update", "alpha", "--name", "Omega Two"])
        .success();
    cli.run(&["tenants", "suspend", "bravo"]).success();
    let slugs = |extra: &[&str]| -> Vec<String> {
        let view = cli
            .run(&[&["--json", "tenants", "list"][..], extra].concat())
            .success()
            .json();
        view["tenants"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["slug"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(slugs(&[]), ["alpha", "bravo", "charlie"]);
    assert_eq!(slugs(&["--sort", "name"]), ["charlie", "alpha", "bravo"]);
    assert_eq!(slugs(&["--sort", "plan"]), ["bravo", "charlie", "alpha"]);
    assert_eq!(slugs(&["--sort", "status"]), ["alpha", "charlie", "bravo"]);
    assert_eq!(slugs(&["--sort", "updated"]), ["bravo", "alpha", "charlie"]);
    assert_eq!(slugs(&["--plan", "business"]), ["charlie"]);
    assert_eq!(
        slugs(&["--plan", "free", "--status", "active"]),
        Vec::<String>::new()
    );
    let none = cli
        .run(&["tenants", "list", "--plan", "free", "--status", "active"])
        .success();
    assert!(none.stdout.is_empty(), "no bare header: {}", none.stdout);
    assert!(
        none.stderr.contains("no tenants match on `plat`"),
        "{}",
        none.stderr
    );
    let table = cli
        .run(&["tenants", "list", "--plan", "enterprise", "--sort", "name"])
        .success();
    assert!(
        table.stdout.contains("alpha") && !table.stdout.contains("charlie"),
        "{}",
        table.stdout
    );
}

#[test]
fn tables_fit_80_columns_and_times_name_their_zone() {
    let (_admin, cli, _http) = setup(Backend::Sqlite, "dev");
    let long_slug = format!("tenant-{}", "x".repeat(50));
    let long_name = format!("Very Long Name {}", "Holdings ".repeat(15));
    cli.run(&[
        "tenants",
        "create",
        "--slug",
        &long_slug,
        "--name",
        long_name.trim(),
        "--plan",
        "enterprise",
    ])
    .success();
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();

    let table = cli
        .run_with_env(&["tenants", "list"], "", &[("COLUMNS", "80")])
        .success();
    for line in table.stdout.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(table.stdout.contains('…'), "{}", table.stdout);
    assert!(table.stdout.contains("acme"), "{}", table.stdout);
    assert!(table.stdout.contains(" UTC"), "{}", table.stdout);

    // On a real terminal, its own width rules.
    let screen = opsdeck_tests::cli::type_at_prompt(
        cli.terminal("stty cols 80 rows 24", &["tenants", "list"], ""),
        "",
        "",
        Duration::from_secs(60),
    );
    assert!(screen.contains("[exit 0]"), "{screen}");
    for line in screen.lines() {
        let line = line.trim_end_matches('\r');
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(screen.contains('…') && screen.contains("acme"), "{screen}");

    // People get one zone-bearing form and a right age; scripts get RFC 3339.
    let shown = cli.run(&["tenants", "get", "acme"]).success().stdout;
    let created = shown
        .lines()
        .find(|l| l.starts_with("created"))
        .unwrap_or_default();
    assert!(created.contains(" UTC (just now)"), "{created}\n{shown}");
    let json = cli
        .run(&["--json", "tenants", "get", "acme"])
        .success()
        .json();
    let stamp = json["created_at"].as_str().unwrap_or_default();
    assert!(
        stamp.contains('T') && (stamp.ends_with('Z') || stamp.contains("+00:00")),
        "{stamp}"
    );
}

fn search_needs_every_word_in_slug_or_name_and_get_lists_what_can_be_done(backend: Backend) {
    let (_admin, cli, _http) = setup(backend, "prod");
    for (slug, name, plan) in [
        ("acme", "Acme Corp", "team"),
        ("acme-labs", "Acme Labs", "enterprise"),
        ("globex", "Globex Corp", "team"),
    ] {
        cli.run(&[
            "tenants", "create", "--slug", slug, "--name", name, "--plan", plan,
        ])
        .success();
    }
    let slugs = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--json", "tenants", "list"];
        all.extend_from_slice(args);
        cli.run(&all).success().json()["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .filter_map(|t| t["slug"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(slugs(&["--search", "corp ACME"]), ["acme"]);
    assert_eq!(slugs(&["--search", "corp"]), ["acme", "globex"]);
    assert_eq!(
        slugs(&["--search", "acme", "--plan", "enterprise"]),
        ["acme-labs"]
    );
    assert!(slugs(&["--search", "acme globex"]).is_empty());

    let row = cli
        .run(&["--json", "tenants", "get", "acme"])
        .success()
        .json();
    let actions: Vec<(String, bool, String)> = row["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["operation"].as_str().unwrap_or_default().to_string(),
                a["destructive"].as_bool().unwrap_or_default(),
                a["confirm"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected = [
        ("update", false, "when_lowering"),
        ("suspend", true, "always"),
        ("delete", true, "always"),
    ]
    .map(|(o, d, c)| (o.to_string(), d, c.to_string()));
    assert_eq!(actions, expected);
    let shown = cli.run(&["tenants", "get", "acme"]).success();
    assert!(
        shown
            .stdout
            .contains("suspend (destructive, asks for the slug)"),
        "{}",
        shown.stdout
    );
}
