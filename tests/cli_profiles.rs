//! Profiles and tokens from the CLI: a token is kept in the OS keyring or
//! nowhere, and a broken profiles file is reported, not overwritten.

use std::time::Duration;

use opsdeck_tests::{Backend, Cli, PlatformAdmin};

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
