//! Profiles and tokens from the CLI: a token is kept in the OS keyring or
//! nowhere, and a broken profiles file is reported, not overwritten.

use std::time::Duration;

use opsdeck_tests::{block_on, Alertmanager, Backend, Cli, Http, PlatformAdmin};

/// Every byte under `dir`, to look for a secret that must not be there.
fn all_files_contain(dir: &std::path::Path, needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let path = e.path();
        if path.is_dir() {
            all_files_contain(&path, needle)
        } else {
            std::fs::read(&path)
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .unwrap_or(false)
        }
    })
}

#[test]
fn token_is_in_the_keyring_and_in_no_file() {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    cli.run(&["tenants", "list"]).success();

    let listed = cli.run(&["--json", "profile", "list"]).success().json();
    assert_eq!(listed["profiles"][0]["has_token"], true);
    assert!(
        !all_files_contain(cli.config_dir.path(), &token),
        "the token was written to a file under the config dir"
    );
}

#[test]
fn without_a_keyring_login_fails_clearly_and_writes_nothing() {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.run(&[
        "profile",
        "add",
        "plat",
        "--admin-url",
        &admin.url,
        "--tier",
        "dev",
    ])
    .success();

    let dir = tempfile::tempdir().expect("tempdir");
    let no_bus = format!("unix:path={}", dir.path().join("no-bus").display());
    let mut login = cli.command();
    login
        .args(["login", "plat", "--token-stdin"])
        .env("DBUS_SESSION_BUS_ADDRESS", &no_bus)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = login.spawn().expect("opsdeck login");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(token.as_bytes()).expect("write token");
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "login without a keyring must fail");
    assert!(stderr.contains("OS keyring is not available"), "{stderr}");
    assert!(!all_files_contain(cli.config_dir.path(), &token));

    let list = cli.run(&["tenants", "list"]).failure();
    assert!(
        list.stderr.contains("opsdeck login plat"),
        "{}",
        list.stderr
    );
}

#[test]
fn broken_profiles_file_is_reported_with_its_line_and_left_alone() {
    let cli = Cli::new().expect("cli");
    let path = cli.config_dir.path().join("profiles.toml");
    let text = "current = \"a\"\n\n[[profile]]\nname = \"a\"\ntier = \"production\"\nadmin_url = \"https://admin.example.net\"\n";
    std::fs::write(&path, text).expect("write profiles.toml");

    let run = cli.run(&["tenants", "list"]).failure();
    assert!(run.stderr.contains("profiles.toml"), "{}", run.stderr);
    assert!(run.stderr.contains("line 5"), "{}", run.stderr);
    let add = cli
        .run(&[
            "profile",
            "add",
            "b",
            "--admin-url",
            "http://127.0.0.1:9",
            "--tier",
            "dev",
        ])
        .failure();
    assert!(add.stderr.contains("line 5"), "{}", add.stderr);
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let cli = Cli::new().expect("cli");
    let run = cli
        .run(&[
            "profile",
            "add",
            "remote",
            "--admin-url",
            "http://admin.example.net",
            "--tier",
            "prod",
        ])
        .failure();
    assert!(run.stderr.contains("must use https"), "{}", run.stderr);
    let list = cli.run(&["--json", "profile", "list"]).success().json();
    assert_eq!(list["profiles"].as_array().map(Vec::len), Some(0));
}

#[test]
fn a_hand_written_plain_http_profile_is_refused_before_any_token_is_sent() {
    let cli = Cli::new().expect("cli");
    let path = cli.config_dir.path().join("profiles.toml");
    // `.invalid` never resolves: were the rule skipped, the token would still
    // go nowhere, and login would report it stored unverified.
    let text = "current = \"remote\"\n\n[[profile]]\nname = \"remote\"\ntier = \"prod\"\nadmin_url = \"http://admin.opsdeck-test.invalid\"\n";
    std::fs::write(&path, text).expect("write profiles.toml");

    let login = cli
        .run_with_stdin(&["login", "remote", "--token-stdin"], "a-secret-token")
        .failure();
    for needle in [
        "profiles.toml",
        "profile `remote`",
        "admin_url",
        "must use https",
    ] {
        assert!(login.stderr.contains(needle), "{needle}: {}", login.stderr);
    }
    let list = cli.run(&["tenants", "list"]).failure();
    assert!(list.stderr.contains("must use https"), "{}", list.stderr);
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
}

#[cfg(unix)]
#[test]
fn local_files_are_the_users_alone_and_tightened_when_found_looser() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("plat", "dev", &admin, &token);
    cli.run(&["tenants", "list"]).success();

    let config = cli.config_dir.path();
    let profiles = config.join("profiles.toml");
    let store = config.join("data/opsdeck.db");
    assert_eq!(mode(&profiles), 0o600);
    assert_eq!(mode(&config.join("data")), 0o700);
    assert_eq!(mode(&store), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(config)
        .expect("config dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    for file in [&profiles, &store] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    cli.run(&["tenants", "list"]).success();
    assert_eq!(mode(&profiles), 0o600);
    assert_eq!(mode(&store), 0o600);
}

#[test]
fn login_asks_for_the_token_at_a_terminal_and_never_shows_it() {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.run(&[
        "profile",
        "add",
        "plat",
        "--admin-url",
        &admin.url,
        "--tier",
        "dev",
    ])
    .success();

    // `stty -a` afterwards shows the terminal was given its echo back.
    let screen = opsdeck_tests::cli::type_at_prompt(
        cli.terminal("stty echo", &["login", "plat"], "stty -a"),
        "(input hidden): ",
        &format!("{token}\r"),
        Duration::from_secs(60),
    );
    assert!(
        screen.contains("API token for profile `plat` (input hidden): "),
        "{screen}"
    );
    assert!(!screen.contains(&token), "the token was echoed:\n{screen}");
    assert!(screen.contains("stored in the OS keyring"), "{screen}");
    assert!(screen.contains("[exit 0]"), "{screen}");
    assert!(
        screen.split_whitespace().any(|w| w == "echo"),
        "echo restored: {screen}"
    );
    let listed = cli.run(&["--json", "profile", "list"]).success().json();
    assert_eq!(listed["profiles"][0]["has_token"], true);
    cli.run(&["tenants", "list"]).success();
}

#[test]
fn ctrl_c_at_the_token_prompt_stores_nothing_and_gives_the_echo_back() {
    let cli = Cli::new().expect("cli");
    cli.run(&[
        "profile",
        "add",
        "plat",
        "--admin-url",
        "http://127.0.0.1:9",
        "--tier",
        "dev",
    ])
    .success();
    let screen = opsdeck_tests::cli::type_at_prompt(
        cli.terminal("stty echo", &["login", "plat"], "stty -a"),
        "(input hidden): ",
        "opd_half\u{3}",
        Duration::from_secs(60),
    );
    assert!(screen.contains("[exit 130]"), "{screen}");
    assert!(!screen.contains("opd_half"), "{screen}");
    assert!(
        screen.split_whitespace().any(|w| w == "echo"),
        "echo restored: {screen}"
    );
    let listed = cli.run(&["--json", "profile", "list"]).success().json();
    assert_eq!(listed["profiles"][0]["has_token"], false);
}

#[test]
fn login_without_a_terminal_or_token_stdin_fails_clearly() {
    let cli = Cli::new().expect("cli");
    cli.run(&[
        "profile",
        "add",
        "plat",
        "--admin-url",
        "http://127.0.0.1:9",
        "--tier",
        "dev",
    ])
    .success();
    let run = cli
        .run_with_stdin(&["login", "plat"], "opd_piped")
        .failure();
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("no terminal to type it at")
            && run.stderr.contains("opsdeck login plat --token-stdin"),
        "{}",
        run.stderr
    );
    let listed = cli.run(&["--json", "profile", "list"]).success().json();
    assert_eq!(listed["profiles"][0]["has_token"], false);
}

/// Core's console over the CLI's config dir, as the desktop window opens it
/// (with a keyring of its own: putting a window on a profile needs none).
async fn window_console(cli: &Cli) -> opsdeck_core::Console {
    let config_dir = cli.config_dir.path().to_path_buf();
    let paths = opsdeck_core::Paths {
        data_dir: config_dir.join("data"),
        config_dir,
    };
    let keyring = std::sync::Arc::new(opsdeck_core::secrets::MemorySecrets::default());
    opsdeck_core::Console::open(paths, keyring)
        .await
        .expect("the window's console")
}

#[test]
fn plain_opsdeck_acts_on_the_clis_profile_whatever_the_window_chose() {
    let sandbox = PlatformAdmin::start(Backend::Sqlite).expect("sandbox platform");
    let prod = PlatformAdmin::start(Backend::Sqlite).expect("prod platform");
    let sandbox_token = sandbox.token("ops", "admin").expect("token");
    let prod_token = prod.token("ops", "admin").expect("token");
    let sandbox_http = Http::new(&sandbox.url, Some(&sandbox_token));
    let prod_http = Http::new(&prod.url, Some(&prod_token));
    let cli = Cli::new().expect("cli");
    cli.connect("prod-eu", "prod", &prod, &prod_token);
    cli.connect("sandbox", "dev", &sandbox, &sandbox_token);

    // The window goes to production; the CLI stays where it was.
    block_on(async {
        window_console(&cli)
            .await
            .window_use("main", "prod-eu")
            .await
    })
    .expect("the window on prod-eu");
    let created = cli
        .run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    assert!(
        created.stderr.contains("on `sandbox` (dev)"),
        "{}",
        created.stderr
    );
    assert_eq!(sandbox_http.get("/v1/tenants/acme").status, 200);
    assert_eq!(
        prod_http.get("/v1/tenants/acme").status,
        404,
        "created on the window's profile"
    );

    // OPSDECK_PROFILE picks a profile for one command, and says so.
    let one_off = cli
        .run_with_env(
            &[
                "--json", "tenants", "create", "--slug", "acme", "--name", "Acme",
            ],
            "",
            &[("OPSDECK_PROFILE", "prod-eu")],
        )
        .success()
        .json();
    assert_eq!(one_off["profile"], "prod-eu");
    assert_eq!(one_off["tier"], "prod");
    assert_eq!(prod_http.get("/v1/tenants/acme").status, 200);

    // The CLI choosing profiles leaves the window where it chose to be.
    block_on(async {
        window_console(&cli)
            .await
            .window_use("main", "sandbox")
            .await
    })
    .expect("the window on sandbox");
    cli.run(&["profile", "use", "prod-eu"]).success();
    let seen = block_on(async { window_console(&cli).await.window_profiles("main").await })
        .expect("the window's profiles");
    assert_eq!(seen.current.as_deref(), Some("sandbox"));
    let listed = cli.run(&["--json", "profile", "list"]).success().json();
    assert_eq!(listed["current"], "prod-eu");
}

#[test]
fn every_change_names_the_profile_and_tier_it_acts_on() {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let cli = Cli::new().expect("cli");
    cli.connect("prod-eu", "prod", &admin, &token);

    let changes = |slug: &'static str| -> [Vec<&'static str>; 5] {
        [
            vec!["tenants", "create", "--slug", slug, "--name", "Acme"],
            vec!["tenants", "update", slug, "--max-users", "900"],
            vec!["tenants", "suspend", slug, "--confirm", slug],
            vec!["tenants", "resume", slug],
            vec!["tenants", "delete", slug, "--confirm", slug],
        ]
    };
    for change in changes("acme") {
        let run = cli.run(&change).success();
        let first = run.stderr.lines().next().unwrap_or_default();
        assert_eq!(first, "on `prod-eu` (prod)", "{change:?}: {}", run.stderr);
    }
    for change in changes("globex") {
        let args: Vec<&str> = std::iter::once("--json").chain(change).collect();
        let run = cli.run(&args).success();
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
        let json = run.json();
        assert_eq!(json["profile"], "prod-eu", "{args:?}: {json}");
        assert_eq!(json["tier"], "prod", "{args:?}: {json}");
    }

    // Reading names it too, but not as a change.
    let listed = cli.run(&["tenants", "list"]).success();
    assert!(
        !listed.stderr.lines().any(|l| l == "on `prod-eu` (prod)"),
        "{}",
        listed.stderr
    );
}

#[test]
fn removing_the_current_profile_leaves_none_current_so_no_command_lands_elsewhere() {
    let cli = Cli::new().expect("cli");
    for (name, tier) in [("staging", "staging"), ("prod-eu", "prod")] {
        cli.run(&[
            "profile",
            "add",
            name,
            "--admin-url",
            "http://127.0.0.1:9",
            "--tier",
            tier,
        ])
        .success();
    }
    let removed = cli.run(&["profile", "remove", "staging"]).success();
    assert!(
        removed.stderr.contains("opsdeck profile use"),
        "{}",
        removed.stderr
    );
    let listed = cli.run(&["--json", "profile", "list"]).success().json();
    assert_eq!(listed["current"], serde_json::Value::Null);
    let refused = cli
        .run(&["tenants", "delete", "acme", "--confirm", "acme"])
        .failure();
    assert!(
        refused.stderr.contains("no profile selected"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("prod-eu"), "{}", refused.stderr);
}

#[test]
fn a_read_only_profile_sends_no_change_to_any_server_whatever_its_token_allows() {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
    let am = Alertmanager::start().expect("alertmanager");
    let cli = Cli::new().expect("cli");
    cli.connect("prod-eu", "prod", &admin, &token);
    cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
        .success();
    let before = cli.run(&["--json", "tenants", "list"]).success().json();
    cli.run(&[
        "profile",
        "set",
        "prod-eu",
        "--read-only",
        "--alertmanager-url",
        &am.url,
    ])
    .success();
    let listed = cli.run(&["--json", "profile", "list"]).success().json();
    assert_eq!(listed["profiles"][0]["read_only"], true, "{listed}");

    let changes: [&[&str]; 6] = [
        &["tenants", "create", "--slug", "globex", "--name", "Globex"],
        &["tenants", "update", "acme", "--max-users", "900"],
        &["tenants", "delete", "acme", "--confirm", "acme"],
        &["users", "create", "--email", "a@example.net", "--name", "A"],
        &["roles", "create", "auditor", "--permission", "audit.read"],
        &[
            "alerts",
            "silence",
            "--matcher",
            "alertname=X",
            "--duration",
            "1h",
            "--comment",
            "c",
        ],
    ];
    for change in changes {
        let args: Vec<&str> = std::iter::once("--json")
            .chain(change.iter().copied())
            .collect();
        let refused = cli.run(&args).failure();
        let report: serde_json::Value =
            serde_json::from_str(refused.stderr.trim()).expect("a JSON error");
        assert_eq!(report["code"], "read_only_profile", "{change:?}: {report}");
        let plain = cli.run(change).failure();
        assert!(
            plain.stderr.contains("--writable"),
            "{change:?}: {}",
            plain.stderr
        );
    }

    // Reads go on, and the servers saw no change.
    let tenants = cli.run(&["--json", "tenants", "list"]).success().json();
    let without_actions = |list: &serde_json::Value| -> Vec<serde_json::Value> {
        list["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .map(|t| {
                let mut t = t.clone();
                t.as_object_mut().map(|o| o.remove("actions"));
                t
            })
            .collect()
    };
    assert_eq!(without_actions(&tenants), without_actions(&before));
    assert_eq!(tenants["read_only"], true);
    assert_eq!(
        tenants["tenants"][0]["actions"],
        serde_json::json!([]),
        "a read-only profile offers nothing to do"
    );
    let users = cli.run(&["--json", "users", "list"]).success().json();
    assert!(!users.to_string().contains("a@example.net"), "{users}");
    let silences = am
        .amtool_json(&["silence", "query", "-o", "json"])
        .expect("amtool silence query");
    assert_eq!(silences, serde_json::json!([]));

    cli.run(&["profile", "set", "prod-eu", "--writable"])
        .success();
    cli.run(&["tenants", "create", "--slug", "globex", "--name", "Globex"])
        .success();
}
