//! The real desktop window under Xvfb, driven like a user through
//! tauri-driver + WebKitWebDriver, against a real platform-admin with the demo
//! data set; tokens go to the session's real gnome-keyring. The harness's
//! blocking helpers (HTTP, the server, the CLI's sync runs) tell tokio they
//! block, and every wait here is async with a deadline.

use std::time::Duration;

use opsdeck_tests::desktop::{keys, Desktop};
use opsdeck_tests::pgbackrest::PgBackRest;
use opsdeck_tests::redis::RedisSentinel;
use opsdeck_tests::{
    blocking, wait_until_async, within, Alertmanager, Backend, Cli, Http, NotificationServer,
    PlatformAdmin, Tray,
};

/// A platform-admin with the demo data set, an admin token, and a client.
fn demo_platform() -> (PlatformAdmin, String, Http) {
    let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
    admin.seed_demo().expect("demo data");
    let token = admin.token("desk", "admin").expect("token");
    let http = Http::new(&admin.url, Some(&token));
    (admin, token, http)
}

/// The slug of the first demo tenant with `status`.
fn first_slug(http: &Http, status: &str) -> String {
    http.get(&format!("/v1/tenants?limit=1&status={status}"))
        .json()["items"][0]["slug"]
        .as_str()
        .unwrap_or_else(|| panic!("a demo tenant that is {status}"))
        .to_string()
}

/// A whole test's deadline: the WebDriver calls a test makes itself
/// (reading a text, checking a button) have none of their own.
async fn bounded(test: impl std::future::Future<Output = ()>) {
    within("the test", Duration::from_secs(300), test)
        .await
        .expect("the test finished in time");
}

/// The app in a window of its own, with a config dir the CLI shares, and
/// web storage of its own (the theme choice), so tests do not see each
/// other's choices nor the user's.
async fn window() -> (Cli, Desktop) {
    let cli = Cli::new().expect("cli");
    let desktop = window_on(&cli).await;
    (cli, desktop)
}

/// The app on `cli`'s config dir, as it is, on the view it showed last or,
/// the first time, on Tenants: the window opens on the Overview, and the
/// tests of tenants start where a user of tenants would have left it.
async fn window_on(cli: &Cli) -> Desktop {
    let desktop = fresh_window_on(cli).await;
    let remember = "if (localStorage.getItem('opsdeck.view.main') !== null) return false; \
                    localStorage.setItem('opsdeck.view.main', 'tenants'); return true;";
    let set = within(
        "choosing Tenants",
        Duration::from_secs(30),
        desktop.client.execute(remember, vec![]),
    )
    .await
    .expect("in time")
    .expect("the window's storage");
    if set == serde_json::Value::Bool(true) {
        within(
            "reloading",
            Duration::from_secs(30),
            desktop.client.refresh(),
        )
        .await
        .expect("in time")
        .expect("the window reloads");
    }
    desktop
}

/// The app on `cli`'s config dir with nothing remembered of the view, its
/// downloads in the config dir too.
async fn fresh_window_on(cli: &Cli) -> Desktop {
    let web_data = cli.config_dir.path().join("webview");
    let xdg_config = cli.config_dir.path().join("xdg");
    let downloads = cli.config_dir.path().join("downloads");
    std::fs::create_dir_all(&xdg_config).expect("xdg config dir");
    std::fs::write(
        xdg_config.join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()),
    )
    .expect("user-dirs.dirs");
    Desktop::start(&[
        ("OPSDECK_CONFIG_DIR", cli.config_dir.path()),
        ("XDG_DATA_HOME", &web_data),
        ("XDG_CONFIG_HOME", &xdg_config),
    ])
    .await
    .expect("desktop app")
}

/// The profile the window is on, as its Profile menu shows it.
async fn window_profile(desktop: &Desktop) -> String {
    let Ok(select) = desktop
        .client
        .find(fantoccini::Locator::Css("select[aria-label=\"Profile\"]"))
        .await
    else {
        return String::new();
    };
    select
        .prop("value")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Waits until the window is on `profile`, failing with where it is.
async fn wait_for_window_on(desktop: &Desktop, profile: &str, why: &str) {
    let on = wait_until_async(why, Duration::from_secs(10), || async {
        window_profile(desktop).await == profile
    })
    .await;
    assert!(
        on.is_ok(),
        "{why}: the window is on `{}`",
        window_profile(desktop).await
    );
}

/// The text of the warnings the window shows (they stay until dismissed).
async fn warnings(desktop: &Desktop) -> Vec<String> {
    let found = desktop
        .client
        .find_all(fantoccini::Locator::Css(".toast.warning"))
        .await
        .unwrap_or_default();
    let mut texts = Vec::new();
    for toast in found {
        texts.push(toast.text().await.unwrap_or_default());
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_adds_profile_lists_demo_tenants_and_creates_a_tenant_the_cli_finds() {
    bounded(async {
        let (admin, token, http) = demo_platform();
        let demo_count = http.tenant_count();
        assert!(demo_count >= 50, "demo data has {demo_count} tenants");
        let some_demo = first_slug(&http, "suspended");
        let (cli, desktop) = window().await;

        // Add the profile; the token goes to the keyring.
        desktop
            .add_profile("sandbox", "dev", &admin.url, &token)
            .await
            .expect("add profile");

        // The demo tenants show, with their count.
        let count = desktop
            .find("[data-testid=\"tenant-count\"]")
            .await
            .expect("count");
        let want = format!("{demo_count} tenants");
        let shown = std::sync::Mutex::new(String::new());
        let counted = wait_until_async(
            "the demo tenants' count",
            Duration::from_secs(10),
            || async {
                let text = count.text().await.unwrap_or_default();
                let done = text.contains(&want);
                *shown.lock().expect("shown") = text;
                done
            },
        )
        .await;
        assert!(
            counted.is_ok(),
            "count shows `{}`, want `{want}`",
            shown.lock().expect("shown")
        );
        desktop
            .fill("Search tenants", &some_demo)
            .await
            .expect("search");
        desktop
            .find(&format!("[data-slug=\"{some_demo}\"]"))
            .await
            .expect("searched demo tenant row");

        if opsdeck_tests::desktop::pictures_dir().is_some() {
            desktop
                .fill("Search tenants", "")
                .await
                .expect("clear search");
        }
        desktop
            .picture_for_docs("tenants.png")
            .await
            .expect("screenshot");

        // A bad slug: the server's field error shows at the field, nothing is created.
        desktop.click("New tenant").await.expect("new tenant");
        desktop.fill("Slug", "Not Valid").await.expect("slug");
        desktop
            .fill("Name", "Made in the window")
            .await
            .expect("name");
        desktop.click("Create tenant").await.expect("submit");
        desktop
            .find("[aria-label=\"Slug\"][aria-invalid=\"true\"]")
            .await
            .expect("slug marked invalid");
        assert_eq!(http.tenant_count(), demo_count);

        // A good one: created once, listed, and the CLI (same config dir and
        // keyring) finds it.
        desktop.fill("Slug", "made-in-window").await.expect("slug");
        desktop.select("Plan", "enterprise").await.expect("plan");
        desktop.click("Create tenant").await.expect("submit");
        desktop
            .fill("Search tenants", "made-in")
            .await
            .expect("search");
        desktop
            .find("[data-slug=\"made-in-window\"]")
            .await
            .expect("new tenant row");
        let found = cli
            .run_async(
                &[
                    "--json",
                    "--profile",
                    "sandbox",
                    "tenants",
                    "get",
                    "made-in-window",
                ],
                "",
            )
            .await
            .success()
            .json();
        assert_eq!(found["name"], "Made in the window");
        assert_eq!(found["plan"], "enterprise");

        // Core's search, as the CLI's: every word, in slug or name, any order.
        desktop
            .fill("Search tenants", "WINDOW made")
            .await
            .expect("search");
        wait_until_async("one row found", Duration::from_secs(10), || async {
            count
                .text()
                .await
                .unwrap_or_default()
                .starts_with("1 match")
        })
        .await
        .expect("the count shows one match");
        desktop
            .find("[data-slug=\"made-in-window\"]")
            .await
            .expect("the one row the search finds");
        wait_until_async("one tenant more", Duration::from_secs(5), || async {
            http.tenant_count() == demo_count + 1
        })
        .await
        .expect("exactly one tenant created");

        desktop.close().await.expect("close");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_is_red_asks_for_the_slug_and_shows_stale_data_offline() {
    bounded(async {
        let (mut admin, token, http) = demo_platform();
        let target = first_slug(&http, "active");
        let (_cli, desktop) = window().await;
        desktop
            .add_profile("prod-eu", "prod", &admin.url, &token)
            .await
            .expect("add profile");

        // Production says so, in words as well as colour.
        let banner = desktop.find("header").await.expect("banner");
        let text = std::sync::Mutex::new(String::new());
        let red = wait_until_async("the production banner", Duration::from_secs(5), || async {
            let read = banner.text().await.unwrap_or_default();
            let done = read.contains("PRODUCTION");
            *text.lock().expect("text") = read;
            done
        })
        .await;
        assert!(red.is_ok(), "banner reads `{}`", text.lock().expect("text"));

        // Suspend needs the slug typed; the button stays disabled until then.
        desktop
            .fill("Search tenants", &target)
            .await
            .expect("search");
        desktop
            .click(&format!("Suspend {target}"))
            .await
            .expect("suspend action");
        let confirm = desktop
            .find("[aria-label=\"Suspend tenant\"]")
            .await
            .expect("confirm button");
        let typed = desktop
            .find("[aria-label=\"Type the tenant slug to confirm\"]")
            .await
            .expect("slug field in production");
        typed
            .send_keys(&target[..target.len() - 1])
            .await
            .expect("type part");
        assert!(
            !confirm.is_enabled().await.expect("enabled?"),
            "confirm enabled before the slug is typed in full"
        );
        desktop
            .picture_for_docs("prod-confirm.png")
            .await
            .expect("screenshot");
        assert_eq!(
            http.get(&format!("/v1/tenants/{target}")).json()["status"],
            "active"
        );
        typed
            .send_keys(&target[target.len() - 1..])
            .await
            .expect("type rest");
        assert!(confirm.is_enabled().await.expect("enabled?"));
        confirm.click().await.expect("confirm");
        wait_until_async(
            "the tenant to be suspended",
            Duration::from_secs(10),
            || async { http.get(&format!("/v1/tenants/{target}")).json()["status"] == "suspended" },
        )
        .await
        .expect("suspended on the server");

        // The server goes away: the window keeps the list, marked stale.
        admin.stop();
        desktop.click("Refresh").await.expect("refresh");
        let stale = desktop
            .find("[role=\"status\"].stale")
            .await
            .expect("stale marker");
        let stale_text = stale.text().await.expect("stale text");
        assert!(
            stale_text.contains("Offline"),
            "stale marker reads `{stale_text}`"
        );
        desktop
            .find(&format!("[data-slug=\"{target}\"]"))
            .await
            .expect("the cached row is still shown");
        if opsdeck_tests::desktop::pictures_dir().is_some() {
            desktop
                .fill("Search tenants", "")
                .await
                .expect("clear search");
        }
        desktop
            .picture_for_docs("prod-offline.png")
            .await
            .expect("screenshot");
        desktop.close().await.expect("close");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_profile_saves_nothing_for_a_refused_token_warns_of_an_unchecked_one_and_replaces_it() {
    bounded(async {
        let (mut admin, token, http) = demo_platform();
        let demo_count = http.tenant_count();
        let (cli, desktop) = window().await;
        let profiles = || async {
            cli.run_async(&["--json", "profile", "list"], "")
                .await
                .success()
                .json()["profiles"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };

        // The server refuses the token: the error is at the token field,
        // the dialog stays open, and nothing is saved.
        desktop
            .add_profile("ops", "staging", &admin.url, "opd_not-a-real-token")
            .await
            .expect("add profile");
        let field = desktop
            .find("[aria-label=\"API token\"][aria-invalid=\"true\"]")
            .await
            .expect("the token field marked invalid");
        let described = field
            .attr("aria-describedby")
            .await
            .expect("describedby")
            .expect("the field points at its error");
        let said = desktop
            .find(&format!("[id=\"{described}\"]"))
            .await
            .expect("the token's error")
            .text()
            .await
            .expect("error text");
        assert!(
            said.contains("refused this token") && said.contains("nothing was saved"),
            "the token field says `{said}`"
        );
        assert!(profiles().await.is_empty(), "a profile was saved");
        desktop
            .find("[aria-label=\"Save profile\"]")
            .await
            .expect("the dialog is still open");

        // The server is away: the same token is saved, unchecked, and the
        // window says so until dismissed.
        admin.stop();
        desktop.click("Save profile").await.expect("save again");
        let warned = wait_until_async("the unchecked warning", Duration::from_secs(10), || async {
            warnings(&desktop)
                .await
                .iter()
                .any(|w| w.contains("ops") && w.contains("unchecked"))
        })
        .await;
        assert!(warned.is_ok(), "warnings: {:?}", warnings(&desktop).await);
        let saved = profiles().await;
        assert_eq!(saved.len(), 1, "{saved:?}");
        assert_eq!(saved[0]["has_token"], true);

        // Back, the server refuses the token the list is asked with.
        admin.restart().expect("the server back");
        desktop.click("Try again").await.expect("try again");

        // Core names the remedy; the window offers it as a button.
        let text = std::sync::Mutex::new(String::new());
        let refused = wait_until_async("the refusal", Duration::from_secs(10), || async {
            let read = match desktop.find(".state.error").await {
                Ok(failure) => failure.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let done = read.contains("refused the token of profile ops") && !read.contains('`');
            *text.lock().expect("text") = read;
            done
        })
        .await;
        assert!(
            refused.is_ok(),
            "error reads `{}`",
            text.lock().expect("text")
        );
        desktop.click("Replace token").await.expect("replace token");
        desktop
            .fill("New API token", &token)
            .await
            .expect("new token");
        desktop.click("Save token").await.expect("save token");
        let count = desktop
            .find("[data-testid=\"tenant-count\"]")
            .await
            .expect("count");
        let want = format!("{demo_count} tenants");
        wait_until_async("the demo tenants", Duration::from_secs(10), || async {
            count.text().await.unwrap_or_default().contains(&want)
        })
        .await
        .expect("the demo tenants with the new token");
        // The CLI, on the same keyring, uses the new token too.
        cli.run_async(&["--profile", "ops", "tenants", "list"], "")
            .await
            .success();

        // Removing asks once more, with the focus on keeping the profile.
        desktop
            .click("Manage profiles")
            .await
            .expect("manage profiles");
        desktop
            .click("Remove profile ops")
            .await
            .expect("remove profile");
        let focused = desktop
            .client
            .active_element()
            .await
            .expect("focused element");
        assert_eq!(
            focused.attr("aria-label").await.expect("label").as_deref(),
            Some("Keep ops"),
            "the safe choice has the focus"
        );
        desktop.click("Remove ops now").await.expect("remove now");
        wait_until_async(
            "the profile to be gone",
            Duration::from_secs(10),
            || async {
                cli.run_async(&["--json", "profile", "list"], "")
                    .await
                    .success()
                    .json()["profiles"]
                    .as_array()
                    .is_some_and(|p| p.is_empty())
            },
        )
        .await
        .expect("no profile left");
        desktop.close().await.expect("close");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_quota_cut_in_the_window_shows_the_change_and_needs_the_slug() {
    bounded(async {
        let (admin, token, http) = demo_platform();
        let target = first_slug(&http, "active");
        let before = http.get(&format!("/v1/tenants/{target}")).json()["quotas"]["max_users"]
            .as_i64()
            .expect("max_users");
        let (_cli, desktop) = window().await;
        desktop
            .add_profile("prod-eu", "prod", &admin.url, &token)
            .await
            .expect("add profile");
        desktop
            .fill("Search tenants", &target)
            .await
            .expect("search");
        desktop
            .click(&format!("Edit {target}"))
            .await
            .expect("edit");
        desktop.fill("Max users", "1").await.expect("max users");
        desktop.click("Save changes").await.expect("save");

        // Core asks for the slug: the dialog shows the change, before → after.
        let changes = desktop
            .find("[aria-label=\"Changes\"]")
            .await
            .expect("the list of changes");
        let text = changes.text().await.expect("changes text");
        assert!(
            text.contains(&format!("{before} → 1")),
            "changes read `{text}`"
        );
        let confirm = desktop
            .find("[aria-label=\"Confirm changes\"]")
            .await
            .expect("confirm button");
        assert!(
            !confirm.is_enabled().await.expect("enabled?"),
            "confirm enabled before the slug is typed"
        );
        desktop
            .picture_for_docs("prod-quota-cut.png")
            .await
            .expect("screenshot");
        assert_eq!(
            http.get(&format!("/v1/tenants/{target}")).json()["quotas"]["max_users"],
            before,
            "nothing changed before the slug is typed"
        );
        desktop
            .fill("Type the tenant slug to confirm", &target)
            .await
            .expect("type slug");
        desktop
            .click("Confirm changes")
            .await
            .expect("confirm changes");
        wait_until_async("the quota to be cut", Duration::from_secs(10), || async {
            http.get(&format!("/v1/tenants/{target}")).json()["quotas"]["max_users"] == 1
        })
        .await
        .expect("the quota is cut once the slug is typed");
        desktop.close().await.expect("close");
    })
    .await;
}

/// The names in the window's Profile menu.
async fn profile_menu(desktop: &Desktop) -> Vec<String> {
    let options = desktop
        .client
        .find_all(fantoccini::Locator::Css(
            "select[aria-label=\"Profile\"] option:not([disabled])",
        ))
        .await
        .unwrap_or_default();
    let mut names = Vec::new();
    for option in options {
        names.push(
            option
                .prop("value")
                .await
                .ok()
                .flatten()
                .unwrap_or_default(),
        );
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_keeps_its_own_profile_across_a_restart_and_follows_profiles_the_cli_adds_and_removes(
) {
    bounded(async {
        let (admin, token, http) = demo_platform();
        let cli = Cli::new().expect("cli");
        let desktop = window_on(&cli).await;
        desktop
            .find("[aria-label=\"Add profile\"]")
            .await
            .expect("the first-run screen");

        // Profiles the CLI adds reach the open window, no restart, no focus.
        cli.connect("sandbox", "dev", &admin, &token);
        wait_for_window_on(&desktop, "sandbox", "a profile the CLI added").await;
        cli.connect("prod-eu", "prod", &admin, &token);
        cli.run_async(&["profile", "use", "sandbox"], "")
            .await
            .success();
        let listed = wait_until_async("prod-eu in the menu", Duration::from_secs(10), || async {
            profile_menu(&desktop)
                .await
                .contains(&"prod-eu".to_string())
        })
        .await;
        assert!(
            listed.is_ok(),
            "the menu: {:?}",
            profile_menu(&desktop).await
        );

        // The window goes to production; the CLI stays on its own profile.
        desktop.select("Profile", "prod-eu").await.expect("switch");
        let banner = desktop.find("header").await.expect("banner");
        wait_until_async("the production banner", Duration::from_secs(10), || async {
            banner
                .text()
                .await
                .unwrap_or_default()
                .contains("PRODUCTION")
        })
        .await
        .expect("the window on production");
        let listed = cli
            .run_async(&["--json", "profile", "list"], "")
            .await
            .success()
            .json();
        assert_eq!(listed["current"], "sandbox", "the window moved the CLI");
        let made = cli
            .run_async(
                &["tenants", "create", "--slug", "from-cli", "--name", "CLI"],
                "",
            )
            .await
            .success();
        assert!(
            made.stderr.contains("on `sandbox` (dev)"),
            "{}",
            made.stderr
        );

        // The CLI choosing a profile leaves the window where it is.
        cli.run_async(&["profile", "use", "prod-eu"], "")
            .await
            .success();
        cli.run_async(&["profile", "use", "sandbox"], "")
            .await
            .success();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(window_profile(&desktop).await, "prod-eu");

        // A restart comes back to the window's own profile.
        desktop.close().await.expect("close");
        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "prod-eu", "after a restart").await;
        let banner = desktop.find("header").await.expect("banner");
        wait_until_async(
            "the production banner again",
            Duration::from_secs(10),
            || async {
                banner
                    .text()
                    .await
                    .unwrap_or_default()
                    .contains("PRODUCTION")
            },
        )
        .await
        .expect("the window back on production");

        // The CLI removes it: the window says so and goes to the CLI's
        // profile, which is not production.
        cli.run_async(&["profile", "remove", "prod-eu"], "")
            .await
            .success();
        wait_for_window_on(&desktop, "sandbox", "after prod-eu went").await;
        let told = wait_until_async("the notice", Duration::from_secs(10), || async {
            warnings(&desktop)
                .await
                .iter()
                .any(|w| w.contains("prod-eu") && w.contains("now on sandbox"))
        })
        .await;
        assert!(told.is_ok(), "warnings: {:?}", warnings(&desktop).await);
        let count = desktop
            .find("[data-testid=\"tenant-count\"]")
            .await
            .expect("count");
        let want = format!("{} tenants", http.tenant_count());
        wait_until_async(
            "the tenants of sandbox",
            Duration::from_secs(10),
            || async { count.text().await.unwrap_or_default().contains(&want) },
        )
        .await
        .expect("the tenants of sandbox");
        desktop.close().await.expect("close");
    })
    .await;
}

/// The palette's chosen option (what Enter runs), if any.
async fn chosen_option(desktop: &Desktop) -> Option<String> {
    let chosen = desktop
        .client
        .find(fantoccini::Locator::Css(
            "[role=\"option\"][aria-selected=\"true\"]",
        ))
        .await
        .ok()?;
    chosen.text().await.ok()
}

/// Opens the palette and types `query` into it.
async fn palette_query(desktop: &Desktop, query: &str) {
    desktop
        .click("Command palette")
        .await
        .expect("open the palette");
    desktop
        .fill("Search commands", query)
        .await
        .expect("type in the palette");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn palette_picks_the_profile_named_by_words_and_never_a_risky_command_by_scattered_letters() {
    bounded(async {
        let (admin, token, http) = demo_platform();
        // The demo data set has it; make sure, should the set change.
        if http.get("/v1/tenants/ironbark-foods").status == 404 {
            let made = http.json(
                "POST",
                "/v1/tenants",
                &serde_json::json!({ "slug": "ironbark-foods", "name": "Ironbark Foods" }),
            );
            assert_eq!(made.status, 201, "{}", made.body);
        }
        let demo_count = http.tenant_count();
        let (_cli, desktop) = window().await;
        desktop
            .add_profile("prod-eu", "prod", &admin.url, &token)
            .await
            .expect("add prod profile");
        desktop
            .add_profile("sandbox", "dev", &admin.url, &token)
            .await
            .expect("add dev profile");
        wait_for_window_on(&desktop, "sandbox", "the profile just added").await;
        let count = desktop
            .find("[data-testid=\"tenant-count\"]")
            .await
            .expect("count");
        wait_until_async(
            "the tenants of sandbox",
            Duration::from_secs(10),
            || async {
                count
                    .text()
                    .await
                    .unwrap_or_default()
                    .contains(&format!("{demo_count} tenants"))
            },
        )
        .await
        .expect("the tenants of sandbox");

        // Named by words: the production profile is chosen, and says it is production.
        palette_query(&desktop, "switch prod").await;
        let chosen = chosen_option(&desktop).await.unwrap_or_default();
        assert!(
            chosen.contains("Switch to profile prod-eu") && chosen.contains("PRODUCTION"),
            "Enter would run `{chosen}`"
        );
        desktop
            .picture_for_docs("palette.png")
            .await
            .expect("screenshot");
        desktop.press(keys::ENTER).await.expect("enter");
        wait_for_window_on(&desktop, "prod-eu", "Enter on the profile named").await;

        // From prod-eu, "switch prod" only scatters over the other profile's
        // name: nothing is chosen and Enter switches nowhere.
        palette_query(&desktop, "switch prod").await;
        let options = desktop
            .client
            .find_all(fantoccini::Locator::Css("[role=\"option\"]"))
            .await
            .expect("options");
        let mut titles = Vec::new();
        for option in &options {
            titles.push(option.text().await.unwrap_or_default());
        }
        assert!(
            titles
                .iter()
                .any(|t| t.contains("Switch to profile sandbox")),
            "the loose match is still listed: {titles:?}"
        );
        assert_eq!(chosen_option(&desktop).await, None, "options: {titles:?}");
        desktop.press(keys::ENTER).await.expect("enter");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            window_profile(&desktop).await,
            "prod-eu",
            "Enter switched profile"
        );

        // "dark" scatters over "Delete ironbark-foods" but names the theme.
        desktop
            .fill("Search commands", "dark")
            .await
            .expect("type dark");
        let chosen = chosen_option(&desktop).await.unwrap_or_default();
        assert!(chosen.contains("Theme: dark"), "Enter would run `{chosen}`");
        desktop.press(keys::ENTER).await.expect("enter");
        let root = desktop.find("html[data-theme=\"dark\"]").await;
        assert!(root.is_ok(), "the window did not turn dark");
        desktop
            .picture_for_docs("dark.png")
            .await
            .expect("screenshot");

        // Letters that only a delete scatters over: nothing is chosen, and
        // Enter opens no confirmation and deletes nothing.
        palette_query(&desktop, "dlirnbk").await;
        assert_eq!(chosen_option(&desktop).await, None);
        desktop.press(keys::ENTER).await.expect("enter");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let confirmations = desktop
            .client
            .find_all(fantoccini::Locator::Css("[aria-label=\"Delete tenant\"]"))
            .await
            .expect("query");
        assert!(confirmations.is_empty(), "a delete confirmation opened");
        desktop.press(keys::ESCAPE).await.expect("escape");
        assert_eq!(
            http.get("/v1/tenants/ironbark-foods").status,
            200,
            "the tenant is still there"
        );
        assert_eq!(http.tenant_count(), demo_count);

        // The window's own switch, remembered across a reload.
        desktop.select("Theme", "light").await.expect("theme light");
        desktop
            .find("html[data-theme=\"light\"]")
            .await
            .expect("light theme");
        desktop.client.refresh().await.expect("reload");
        desktop
            .find("select[aria-label=\"Theme\"]")
            .await
            .expect("theme switch after reload");
        let theme = desktop
            .find("html[data-theme]")
            .await
            .expect("root")
            .attr("data-theme")
            .await
            .expect("attr");
        assert_eq!(theme.as_deref(), Some("light"), "the choice was not kept");
        desktop.close().await.expect("close");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_opens_on_cancel_so_enter_does_not_delete_and_rows_move_with_arrows() {
    bounded(async {
        let (admin, token, http) = demo_platform();
        let target = first_slug(&http, "active");
        let demo_count = http.tenant_count();
        let (_cli, desktop) = window().await;

        // The add-profile dialog opens on its first field, not on Close.
        desktop.click("Add profile").await.expect("add profile");
        desktop
            .find("[aria-label=\"Profile name\"]")
            .await
            .expect("dialog");
        assert_eq!(
            desktop.focused_label().await.expect("focus").as_deref(),
            Some("Profile name")
        );
        desktop.fill("Profile name", "sandbox").await.expect("name");
        desktop.select("Tier", "dev").await.expect("tier");
        desktop
            .fill("Admin API URL", &admin.url)
            .await
            .expect("url");
        desktop.fill("API token", &token).await.expect("token");
        desktop.click("Save profile").await.expect("save");

        // Rows are one Tab stop; the arrows move between them.
        let first = desktop
            .find("[role=\"row\"][aria-rowindex=\"2\"]")
            .await
            .expect("first row");
        let tabbable = desktop
            .client
            .find_all(fantoccini::Locator::Css(
                "[role=\"row\"][tabindex=\"0\"], [role=\"row\"] [tabindex=\"0\"]",
            ))
            .await
            .expect("tab stops");
        assert_eq!(tabbable.len(), 1, "the table has one Tab stop");
        let first_slug_shown = first.attr("data-slug").await.expect("slug");
        let second_slug_shown = desktop
            .find("[role=\"row\"][aria-rowindex=\"3\"]")
            .await
            .expect("second row")
            .attr("data-slug")
            .await
            .expect("slug");
        desktop.click("Search tenants").await.expect("search");
        let reached = tab_to_a_row(&desktop).await;
        assert_eq!(reached, first_slug_shown, "Tab lands on the first row");
        desktop.press(keys::ARROW_DOWN).await.expect("down");
        let focused = desktop.client.active_element().await.expect("focused");
        assert_eq!(
            focused.attr("data-slug").await.expect("slug"),
            second_slug_shown,
            "ArrowDown moves to the next row"
        );
        // Enter opens the row in the edit panel; Escape closes it, back on the row.
        desktop.press(keys::ENTER).await.expect("enter on a row");
        desktop
            .find("[aria-label=\"Save changes\"]")
            .await
            .expect("the edit panel");
        desktop.press(keys::ESCAPE).await.expect("escape");
        wait_until_async("the edit panel to close", Duration::from_secs(10), || async {
            desktop
                .client
                .find_all(fantoccini::Locator::Css("[aria-label=\"Save changes\"]"))
                .await
                .map(|p| p.is_empty())
                .unwrap_or(false)
        })
        .await
        .expect("the edit panel to close");
        let focused = desktop.client.active_element().await.expect("focused");
        assert_eq!(
            focused.attr("data-slug").await.expect("slug"),
            second_slug_shown,
            "focus is back on the row after the panel"
        );
        desktop.press(keys::TAB).await.expect("tab");
        let in_a_row = desktop
            .client
            .execute(
                "return document.activeElement.closest('[role=\"row\"]') !== null;",
                vec![],
            )
            .await
            .expect("where the focus is");
        assert_eq!(
            in_a_row,
            serde_json::Value::Bool(false),
            "a second Tab leaves the table, not onto the row's buttons"
        );

        // Scrolled away from the active row, Tab lands on a row in view.
        desktop
            .client
            .execute(
                "document.querySelector('[role=\"table\"][aria-label=\"Tenants\"] > [role=\"rowgroup\"]:nth-of-type(2)').scrollTop = 800; return null;",
                vec![],
            )
            .await
            .expect("scroll the table");
        // The rows near the new scroll position are rendered once the table has seen the scroll.
        desktop
            .find("[role=\"row\"][aria-rowindex=\"40\"]")
            .await
            .expect("rows further down rendered");
        desktop.click("Search tenants").await.expect("search");
        let reached = tab_to_a_row(&desktop).await.unwrap_or_default();
        let index = desktop
            .find(&format!("[role=\"row\"][data-slug=\"{reached}\"]"))
            .await
            .expect("the row reached")
            .attr("aria-rowindex")
            .await
            .expect("row index")
            .and_then(|i| i.parse::<usize>().ok())
            .unwrap_or_default();
        // 800 px down, at 32 px a row, the first row in view is the 26th.
        assert!(
            index >= 20,
            "Tab landed on row {index}, scrolled out of view"
        );

        // To the row of the target, onto its Delete button, and Enter, Enter.
        desktop
            .fill("Search tenants", &target)
            .await
            .expect("search");
        let row = desktop
            .find(&format!("[role=\"row\"][data-slug=\"{target}\"]"))
            .await
            .expect("row");
        row.find(fantoccini::Locator::Css(".slug"))
            .await
            .expect("slug cell")
            .click()
            .await
            .expect("click the row");
        for _ in 0..3 {
            desktop.press(keys::ARROW_RIGHT).await.expect("right");
        }
        let delete = format!("Delete {target}");
        assert_eq!(
            desktop.focused_label().await.expect("focus").as_deref(),
            Some(delete.as_str())
        );
        desktop.press(keys::ENTER).await.expect("enter");
        desktop
            .find("dialog[open] [aria-label=\"Delete tenant\"]")
            .await
            .expect("confirmation");
        assert_eq!(
            desktop.focused_label().await.expect("focus").as_deref(),
            Some("Cancel"),
            "the confirmation opens on the safe choice"
        );
        desktop.press(keys::ENTER).await.expect("enter again");
        wait_until_async("the confirmation to close", Duration::from_secs(10), || async {
            desktop
                .client
                .find_all(fantoccini::Locator::Css("dialog[open]"))
                .await
                .map(|d| d.is_empty())
                .unwrap_or(false)
        })
        .await
        .expect("the confirmation to close");
        assert_eq!(
            http.get(&format!("/v1/tenants/{target}")).status,
            200,
            "Enter, Enter deleted the tenant"
        );
        assert_eq!(http.tenant_count(), demo_count);
        assert_eq!(
            desktop.focused_label().await.expect("focus").as_deref(),
            Some(delete.as_str()),
            "focus went back where the user was"
        );

        // Once the preflight has loaded, focus is still on Cancel.
        desktop.press(keys::ENTER).await.expect("open again");
        let summary = desktop
            .find("dialog[open] .summary")
            .await
            .expect("preflight summary");
        assert!(!summary.text().await.unwrap_or_default().is_empty());
        assert_eq!(
            desktop.focused_label().await.expect("focus").as_deref(),
            Some("Cancel")
        );
        desktop
            .picture_for_docs("confirm.png")
            .await
            .expect("screenshot");
        desktop
            .press(keys::ENTER)
            .await
            .expect("enter on the loaded dialog");
        wait_until_async("the confirmation to close again", Duration::from_secs(10), || async {
            desktop
                .client
                .find_all(fantoccini::Locator::Css("dialog[open]"))
                .await
                .map(|d| d.is_empty())
                .unwrap_or(false)
        })
        .await
        .expect("the confirmation to close again");
        assert_eq!(
            http.get(&format!("/v1/tenants/{target}")).status,
            200,
            "Enter on the loaded confirmation deleted the tenant"
        );
        desktop.close().await.expect("close");
    })
    .await;
}

/// Presses Tab until a table row has the focus (the toolbar before it may
/// grow); returns that row's slug.
async fn tab_to_a_row(desktop: &Desktop) -> Option<String> {
    for _ in 0..40 {
        desktop.press(keys::TAB).await.expect("tab");
        let focused = desktop.client.active_element().await.expect("focused");
        if focused.attr("role").await.expect("role").as_deref() == Some("row") {
            return focused.attr("data-slug").await.expect("slug");
        }
    }
    panic!("Tab never reached a row of the table");
}

/// The message shown at the field named `label`, once it is marked invalid.
async fn field_error(desktop: &Desktop, label: &str) -> String {
    let field = desktop
        .find(&format!("[aria-label=\"{label}\"][aria-invalid=\"true\"]"))
        .await
        .unwrap_or_else(|e| panic!("{label} marked invalid: {e:#}"));
    let id = field
        .attr("aria-describedby")
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{label} names its message"));
    desktop
        .find(&format!("[id=\"{id}\"]"))
        .await
        .expect("the field's message")
        .text()
        .await
        .expect("its text")
}

/// The value a form control holds now.
async fn value_of(desktop: &Desktop, label: &str) -> String {
    desktop
        .find(&format!("[aria-label=\"{label}\"]"))
        .await
        .expect("the field")
        .prop("value")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_form_shows_every_field_error_at_once_then_the_servers_in_plain_words() {
    bounded(async {
        let (admin, token, http) = demo_platform();
        let demo_count = http.tenant_count();
        let taken = first_slug(&http, "active");
        let (_cli, desktop) = window().await;
        desktop
            .add_profile("sandbox", "dev", &admin.url, &token)
            .await
            .expect("add profile");

        // Where the plan sets the quotas, its numbers show.
        desktop.click("New tenant").await.expect("new tenant");
        let max_users = desktop
            .find("[aria-label=\"Max users\"]")
            .await
            .expect("max users");
        assert_eq!(
            max_users
                .attr("placeholder")
                .await
                .ok()
                .flatten()
                .as_deref(),
            Some("50 (team default)")
        );
        desktop.select("Plan", "enterprise").await.expect("plan");
        wait_until_async("the plan's numbers", Duration::from_secs(5), || async {
            max_users
                .attr("placeholder")
                .await
                .ok()
                .flatten()
                .as_deref()
                == Some("5000 (enterprise default)")
        })
        .await
        .expect("the placeholder follows the plan");

        // Four fields wrong: all four say so at once, and nothing is sent.
        desktop.fill("Slug", "Not Valid").await.expect("slug");
        desktop.fill("Max users", "0").await.expect("max users");
        desktop
            .fill("Storage (GiB)", "lots")
            .await
            .expect("storage");
        desktop.click("Create tenant").await.expect("submit");
        let mut said = Vec::new();
        for label in ["Slug", "Name", "Max users", "Storage (GiB)"] {
            said.push(field_error(&desktop, label).await);
        }
        assert!(said[0].contains("lowercase"), "slug says `{}`", said[0]);
        assert!(
            said[2].contains("between 1 and"),
            "max users says `{}`",
            said[2]
        );
        assert_eq!(http.tenant_count(), demo_count, "nothing was sent");
        desktop
            .picture_for_docs("form-errors.png")
            .await
            .expect("screenshot");

        // Corrected: the marks go as the fields are fixed.
        desktop.fill("Max users", "").await.expect("max users");
        desktop.fill("Storage (GiB)", "").await.expect("storage");
        desktop.fill("Name", "Taken Again").await.expect("name");
        desktop.fill("Slug", &taken).await.expect("slug");
        wait_until_async("the marks to go", Duration::from_secs(10), || async {
            desktop
                .client
                .find_all(fantoccini::Locator::Css("form [aria-invalid=\"true\"]"))
                .await
                .is_ok_and(|marked| marked.is_empty())
        })
        .await
        .expect("no field marked once all are right");

        // Then the server's refusal, at its field, in plain words.
        desktop.click("Create tenant").await.expect("submit");
        let taken_said = field_error(&desktop, "Slug").await;
        assert!(
            taken_said.contains(&taken) && taken_said.contains("taken"),
            "slug says `{taken_said}`"
        );
        assert!(
            !taken_said.contains('`'),
            "terminal markup in the window: `{taken_said}`"
        );
        assert_eq!(http.tenant_count(), demo_count);
        desktop.close().await.expect("close");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_form_shows_where_a_plan_change_takes_the_quotas_and_saves_that() {
    bounded(async {
        let (admin, token, http) = demo_platform();
        let made = http.json(
            "POST",
            "/v1/tenants",
            &serde_json::json!({ "slug": "plan-mover", "name": "Plan Mover", "plan": "team",
                "quotas": { "max_users": 80 } }),
        );
        assert_eq!(made.status, 201, "{}", made.body);
        let (_cli, desktop) = window().await;
        desktop
            .add_profile("sandbox", "dev", &admin.url, &token)
            .await
            .expect("add profile");
        desktop
            .fill("Search tenants", "plan-mover")
            .await
            .expect("search");
        desktop.click("Edit plan-mover").await.expect("edit");
        let plan_hint = desktop
            .find("[aria-label=\"Plan\"]")
            .await
            .expect("plan")
            .attr("aria-describedby")
            .await
            .ok()
            .flatten()
            .expect("the plan's hint");
        let hint = desktop
            .find(&format!("[id=\"{plan_hint}\"]"))
            .await
            .expect("hint")
            .text()
            .await
            .expect("hint text");
        assert!(
            hint.contains("50 users, 50 GiB storage, 600 requests per minute")
                && hint.contains("set by hand is kept"),
            "the plan says `{hint}`"
        );
        desktop.select("Plan", "enterprise").await.expect("plan");
        wait_until_async("the quotas to follow", Duration::from_secs(10), || async {
            value_of(&desktop, "Storage (GiB)").await == "5000"
        })
        .await
        .expect("storage at the team default follows the plan");
        assert_eq!(value_of(&desktop, "Requests per minute").await, "60000");
        assert_eq!(value_of(&desktop, "Max users").await, "80", "set by hand");
        desktop.click("Save changes").await.expect("save");
        wait_until_async("the change saved", Duration::from_secs(10), || async {
            http.get("/v1/tenants/plan-mover").json()["plan"] == "enterprise"
        })
        .await
        .expect("saved");
        assert_eq!(
            http.get("/v1/tenants/plan-mover").json()["quotas"],
            serde_json::json!({"max_users": 80, "storage_gib": 5000, "requests_per_minute": 60000})
        );
        desktop.close().await.expect("close");
    })
    .await;
}

/// The `aria-current` of the rail's entry `label`, if it has one.
async fn rail_current(desktop: &Desktop, label: &str) -> Option<String> {
    let entry = desktop
        .find(&format!(
            "nav[aria-label=\"Views\"] [aria-label=\"{label}\"]"
        ))
        .await
        .ok()?;
    entry.attr("aria-current").await.ok().flatten()
}

/// Waits until the rail marks `label` as the view shown.
async fn wait_for_view(desktop: &Desktop, label: &str, why: &str) {
    let shown = wait_until_async(why, Duration::from_secs(10), || async {
        rail_current(desktop, label).await.as_deref() == Some("page")
    })
    .await;
    assert!(
        shown.is_ok(),
        "{why}: the rail does not mark {label} as shown"
    );
}

/// The text of the alert group of `alertname` and `severity`, once shown:
/// its whole text, as WebKit leaves cut-off cells out of the visible one.
async fn alert_group(desktop: &Desktop, alertname: &str, severity: &str) -> String {
    let css =
        format!("section.group[data-alertname=\"{alertname}\"][data-severity=\"{severity}\"]");
    let group = desktop
        .find(&css)
        .await
        .unwrap_or_else(|e| panic!("no group {alertname} {severity}: {e:#}"));
    group
        .prop("textContent")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rail_switches_to_alerts_by_click_and_shortcut_shows_posted_alerts_by_severity_and_remembers_the_view(
) {
    bounded(async {
        let (admin, token, _http) = demo_platform();
        let mut am = Alertmanager::start().expect("alertmanager");
        let alert = |name: &str, severity: &str, instance: &str, summary: &str| {
            serde_json::json!({
                "labels": {"alertname": name, "severity": severity, "job": "api", "instance": instance},
                "annotations": {"summary": summary, "runbook": "https://runbooks.example.net/disk"},
            })
        };
        am.post_alerts(&serde_json::json!([
            alert("HighErrorRate", "critical", "api-1", "5% of requests fail"),
            alert("DiskFilling", "warning", "db-1", "disk 85% full"),
            alert("DiskFilling", "warning", "db-2", "disk 91% full"),
            alert("DiskFilling", "critical", "db-3", "disk 98% full"),
        ]))
        .expect("post alerts");

        // A profile with the Alertmanager, and one without, made by the CLI.
        let cli = Cli::new().expect("cli");
        cli.run(&[
            "profile", "add", "ops", "--admin-url", &admin.url, "--tier", "dev",
            "--alertmanager-url", &am.url, "--use",
        ])
        .success();
        cli.run_with_stdin(&["login", "ops", "--token-stdin"], &token)
            .success();
        cli.run(&["profile", "add", "bare", "--admin-url", &admin.url, "--tier", "dev"])
            .success();
        cli.run_with_stdin(&["login", "bare", "--token-stdin"], &token)
            .success();
        // A silence on one of them, so the view has one to name.
        cli.run(&[
            "--profile", "ops", "alerts", "silence", "--matcher", "instance=db-2",
            "--duration", "2h", "--comment", "replacing the disk",
        ])
        .success();

        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "ops", "the window opens on the CLI's profile").await;

        // The rail, on Tenants.
        wait_for_view(&desktop, "Tenants", "the first view").await;
        assert_eq!(rail_current(&desktop, "Alerts").await, None);
        desktop
            .find("[data-testid=\"tenant-count\"]")
            .await
            .expect("the tenants view");

        // A click on Alerts: the posted alerts, grouped by name and severity.
        desktop.click("Alerts").await.expect("click Alerts");
        wait_for_view(&desktop, "Alerts", "after a click").await;
        assert_eq!(rail_current(&desktop, "Tenants").await, None);
        let count = desktop
            .find("[data-testid=\"alert-count\"]")
            .await
            .expect("alert count");
        wait_until_async("four alerts", Duration::from_secs(15), || async {
            count.text().await.unwrap_or_default() == "4 alerts"
        })
        .await
        .expect("the alert count says 4 alerts");
        let warning = alert_group(&desktop, "DiskFilling", "warning").await;
        assert!(warning.contains("2 alerts"), "{warning}");
        assert!(warning.contains("instance=db-1"), "{warning}");
        assert!(warning.contains("disk 85% full"), "{warning}");
        let critical = alert_group(&desktop, "DiskFilling", "critical").await;
        assert!(critical.contains("1 alert") && critical.contains("db-3"), "{critical}");
        let errors = alert_group(&desktop, "HighErrorRate", "critical").await;
        assert!(errors.contains("firing"), "{errors}");
        // The most severe groups come first.
        let order = desktop
            .client
            .find_all(fantoccini::Locator::Css("section.group"))
            .await
            .expect("groups");
        let mut severities = Vec::new();
        for g in order {
            severities.push(g.attr("data-severity").await.ok().flatten().unwrap_or_default());
        }
        assert_eq!(severities, ["critical", "critical", "warning"]);

        // The silenced one says so and names its silence in the details.
        let muted = desktop
            .find("button.alert[data-state=\"silenced\"]")
            .await
            .expect("the silenced alert");
        let muted_text = muted
            .prop("textContent")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        assert!(muted_text.contains("replacing the disk"), "{muted_text}");
        muted.click().await.expect("open the silenced alert");
        let details = desktop
            .find("[aria-label=\"Alert details\"]")
            .await
            .expect("details panel");
        let seen = std::sync::Mutex::new(String::new());
        let detailed = wait_until_async("the details of db-2", Duration::from_secs(10), || async {
            let text = details.text().await.unwrap_or_default();
            let done = text.contains("db-2")
                && text.contains("runbooks.example.net")
                && text.contains("instance=\"db-2\"")
                && text.contains("replacing the disk");
            *seen.lock().expect("seen") = text;
            done
        })
        .await;
        assert!(detailed.is_ok(), "details: {}", seen.lock().expect("seen"));

        // Core's matcher rules in the filter box.
        desktop
            .fill("Filter alerts", "severity=critical\u{E007}")
            .await
            .expect("filter");
        wait_until_async("two critical alerts", Duration::from_secs(15), || async {
            count.text().await.unwrap_or_default() == "2 alerts"
        })
        .await
        .expect("the filter keeps the critical alerts");
        desktop
            .fill("Filter alerts", "not a matcher\u{E007}")
            .await
            .expect("bad filter");
        desktop
            .find("[aria-label=\"Filter alerts\"][aria-invalid=\"true\"]")
            .await
            .expect("the filter box marked invalid");
        // Cleared and submitted: every alert again, the chosen one's details back.
        desktop
            .fill("Filter alerts", "")
            .await
            .expect("clear the filter");
        desktop.press(keys::ENTER).await.expect("submit the filter");
        wait_until_async("four alerts again", Duration::from_secs(15), || async {
            count.text().await.unwrap_or_default() == "4 alerts"
        })
        .await
        .expect("the cleared filter shows every alert");
        desktop
            .find("[aria-label=\"Alert details\"]")
            .await
            .expect("the details panel again");

        desktop.picture_for_docs("alerts.png").await.expect("screenshot");

        // The keys: Alt+2 back to Tenants, Alt+3 to Alerts again (Alt+1 is the Overview).
        let alerts_entry = desktop
            .find("nav[aria-label=\"Views\"] [aria-label=\"Alerts\"]")
            .await
            .expect("rail entry");
        alerts_entry.send_keys("\u{E00A}2\u{E000}").await.expect("Alt+2");
        wait_for_view(&desktop, "Tenants", "after Alt+2").await;
        desktop
            .find("[data-testid=\"tenant-count\"]")
            .await
            .expect("the tenants view again");
        desktop.press("\u{E00A}3\u{E000}").await.expect("Alt+3");
        wait_for_view(&desktop, "Alerts", "after Alt+3").await;
        alert_group(&desktop, "HighErrorRate", "critical").await;

        // The Alertmanager down: core's error, its remedy pointed at the URL.
        am.stop();
        desktop.click("Refresh alerts").await.expect("refresh");
        let down = desktop
            .find(".state.error[role=\"alert\"]")
            .await
            .expect("the error");
        let text = down.text().await.unwrap_or_default();
        assert!(
            text.contains("No Alertmanager of profile ops answered")
                && text.contains("Alertmanager URL, then try again"),
            "{text}"
        );
        desktop
            .find("[aria-label=\"Try again\"]")
            .await
            .expect("a retry button");

        // A profile without an Alertmanager says how to add one.
        desktop.select("Profile", "bare").await.expect("switch profile");
        let empty = desktop
            .find("[data-testid=\"no-alertmanager\"]")
            .await
            .expect("the empty state");
        let text = empty.text().await.unwrap_or_default();
        assert!(
            text.contains("opsdeck profile set bare --alertmanager-url"),
            "{text}"
        );

        // A restart opens on the view the window showed last.
        desktop.close().await.expect("close");
        let desktop = window_on(&cli).await;
        wait_for_view(&desktop, "Alerts", "after a restart").await;
        desktop
            .find("[data-testid=\"no-alertmanager\"]")
            .await
            .expect("the alerts view of bare");

        desktop.close().await.expect("close");
    })
    .await;
}

/// While the app runs it watches the window's profile: a new critical alert
/// group is one notification on the desktop, the tray icon counts the
/// critical alert, and clicking the notification brings the window to the
/// alerts view with that alert chosen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_alert_group_is_notified_counted_in_the_tray_and_its_notification_opens_the_alert() {
    bounded(async {
        let (admin, token, _http) = demo_platform();
        let am = Alertmanager::start_grouped_by(&["alertname"]).expect("alertmanager");
        let server = blocking(NotificationServer::start).expect("notification recorder");
        // A panel's tray, so the app's icon registers on the bus (the other
        // tests' windows fall back to an X11 tray).
        let tray = blocking(Tray::start).expect("tray watcher");
        am.post_alerts(&serde_json::json!([{
            "labels": {"alertname": "ReplicaLagging", "severity": "critical", "instance": "db-2"},
            "annotations": {"summary": "replica 40 s behind"},
        }]))
        .expect("post the alert");
        let listed = am.get_json("/api/v2/alerts").expect("alerts");
        let fingerprint = listed[0]["fingerprint"]
            .as_str()
            .expect("a fingerprint")
            .to_string();

        let cli = Cli::new().expect("cli");
        cli.run(&[
            "profile",
            "add",
            "ops",
            "--admin-url",
            &admin.url,
            "--tier",
            "dev",
            "--alertmanager-url",
            &am.url,
            "--use",
        ])
        .success();
        cli.run_with_stdin(&["login", "ops", "--token-stdin"], &token)
            .success();
        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "ops", "the window opens on the CLI's profile").await;
        wait_for_view(&desktop, "Tenants", "the first view").await;

        let mine = |n: &serde_json::Value| {
            n["summary"].as_str() == Some("ops: ReplicaLagging firing (critical)")
        };
        wait_until_async("the notification", Duration::from_secs(30), || async {
            server.received().iter().any(mine)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}: {:#?}\n{}", server.received(), server.log()));
        let received = server.received();
        let told: Vec<&serde_json::Value> = received.iter().filter(|n| mine(n)).collect();
        assert_eq!(told.len(), 1, "{received:#?}");
        assert_eq!(told[0]["urgency"], 2);
        assert_eq!(told[0]["body"], "replica 40 s behind");
        let id = told[0]["id"].as_u64().expect("an id");
        assert!(
            told[0]["actions"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "default")),
            "a click is asked for: {}",
            told[0]
        );

        let counted = wait_until_async("the tray's count", Duration::from_secs(15), || async {
            blocking(|| tray.labels()).iter().any(|l| l == "1")
        })
        .await;
        assert!(
            counted.is_ok(),
            "the tray does not count 1 critical alert: {:?}",
            blocking(|| tray.labels())
        );

        blocking(|| server.click(id)).expect("click the notification");
        wait_for_view(&desktop, "Alerts", "after the click").await;
        let chosen =
            format!("button.alert[data-fingerprint=\"{fingerprint}\"][aria-pressed=\"true\"]");
        let shown = wait_until_async("the alert chosen", Duration::from_secs(15), || async {
            desktop.find(&chosen).await.is_ok()
        })
        .await;
        assert!(
            shown.is_ok(),
            "the clicked alert is not chosen in the alerts view"
        );
        let details = desktop
            .find("[aria-label=\"Alert details\"]")
            .await
            .expect("the alert's details");
        let text = details
            .prop("textContent")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        assert!(text.contains("db-2"), "{text}");
    })
    .await;
}

/// What the Overview shows of each panel: its id, its state, and its SVG
/// as the image carries it (its object URL read back in the page).
async fn overview_panels(desktop: &Desktop) -> Vec<(String, String, String, bool)> {
    let script = "const done = arguments[arguments.length - 1]; \
                  Promise.all(Array.from(document.querySelectorAll('figure.panel[data-panel]')).map(async (f) => { \
                    const src = f.querySelector('img')?.getAttribute('src') ?? ''; \
                    const svg = src.startsWith('blob:') ? await fetch(src).then((r) => r.text()).catch(() => '') : ''; \
                    return [f.dataset.panel ?? '', f.dataset.state ?? '', svg, f.dataset.stale === 'true']; \
                  })).then(done, () => done([]));";
    let found = within(
        "reading the panels",
        Duration::from_secs(30),
        desktop.client.execute_async(script, vec![]),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    let rows: Vec<(String, String, String, bool)> =
        serde_json::from_value(found).unwrap_or_default();
    rows
}

/// The window on a platform-admin that a real Prometheus scrapes (with a
/// node-exporter for the resources): it opens on the Overview and every
/// panel of the built-in dashboard is drawn with data by core, as an image;
/// a panel exports to the downloads; with Prometheus gone the last panels
/// stay, marked stale with their age.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_opens_on_the_overview_with_every_panel_drawn_and_keeps_them_stale_offline() {
    use opsdeck_tests::prometheus::{Config, Job, NodeExporter};
    use opsdeck_tests::Prometheus;

    bounded(async {
        let (admin, token, http) = demo_platform();
        let node = blocking(NodeExporter::start).expect("node-exporter");
        let mut prom = blocking(|| {
            Prometheus::start(Config {
                jobs: vec![
                    Job::at("platform-admin", &admin.url),
                    Job::at("node", &node.url),
                ],
                ..Config::default()
            })
        })
        .expect("prometheus");
        // Requests, so the golden signals have a rate to draw.
        for _ in 0..20 {
            http.get("/v1/tenants?limit=5");
        }
        blocking(|| {
            prom.wait_for(
                "sum(rate(http_request_duration_seconds_bucket{job=\"platform-admin\"}[5m])) > 0",
                Duration::from_secs(60),
            )?;
            prom.wait_for(
                "rate(node_cpu_seconds_total{mode=\"idle\"}[5m])",
                Duration::from_secs(60),
            )
        })
        .expect("platform-admin and node-exporter scraped twice");

        let cli = Cli::new().expect("cli");
        cli.run(&[
            "profile",
            "add",
            "ops",
            "--admin-url",
            &admin.url,
            "--tier",
            "dev",
            "--prometheus-url",
            &prom.url,
            "--use",
        ])
        .success();
        cli.run_with_stdin(&["login", "ops", "--token-stdin"], &token)
            .success();
        let listed = cli.run(&["dashboards", "list", "--json"]).success().json();
        let expected: Vec<String> = listed["dashboards"]
            .as_array()
            .and_then(|all| all.iter().find(|d| d["id"] == "overview"))
            .and_then(|d| d["panels"].as_array())
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| i.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            expected.len() >= 8,
            "the built-in Overview's panels: {listed}"
        );

        let desktop = fresh_window_on(&cli).await;
        wait_for_window_on(&desktop, "ops", "the window opens on the CLI's profile").await;
        wait_for_view(&desktop, "Overview", "the first view").await;

        // Every panel drawn with data; a time series is lines on axes.
        let seen = std::sync::Mutex::new(Vec::new());
        let drawn = wait_until_async("every panel with data", Duration::from_secs(60), || async {
            let panels = overview_panels(&desktop).await;
            let done = panels.len() == expected.len()
                && panels
                    .iter()
                    .all(|(_, state, svg, _)| state == "data" && svg.starts_with("<svg"));
            *seen.lock().expect("seen") = panels;
            done
        })
        .await;
        let panels = seen.lock().expect("seen").clone();
        let states: Vec<(&str, &str)> = panels
            .iter()
            .map(|(id, state, _, _)| (id.as_str(), state.as_str()))
            .collect();
        assert!(drawn.is_ok(), "panels: {states:?}, expected {expected:?}");
        let ids: Vec<&str> = panels.iter().map(|(id, ..)| id.as_str()).collect();
        assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>());
        for (id, _, svg, stale) in &panels {
            assert!(!stale, "{id} is fresh");
            assert!(
                svg.contains("<path") || svg.contains("<polyline") || svg.contains("<rect"),
                "{id}: {svg}"
            );
        }
        for id in ["traffic", "latency", "cpu"] {
            let (_, _, svg, _) = panels.iter().find(|(p, ..)| p == id).expect("the panel");
            assert!(
                svg.contains("<polyline") || svg.contains("<path"),
                "{id} draws lines: {svg}"
            );
        }
        // Another range: drawn again, still every panel.
        desktop.select("Time range", "15m").await.expect("range");
        wait_until_async("the 15m panels", Duration::from_secs(30), || async {
            let panels = overview_panels(&desktop).await;
            panels.len() == expected.len() && panels.iter().all(|(_, state, ..)| state == "data")
        })
        .await
        .expect("every panel over 15 minutes");
        desktop
            .picture_for_docs("overview.png")
            .await
            .expect("screenshot");

        // A panel exported: core's SVG in the downloads.
        desktop
            .click("Export Latency as SVG")
            .await
            .expect("export");
        let downloads = cli.config_dir.path().join("downloads");
        let exported = wait_until_async("the exported file", Duration::from_secs(20), || async {
            std::fs::read_dir(&downloads)
                .map(|entries| {
                    entries.filter_map(Result::ok).any(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with("overview-latency-")
                    })
                })
                .unwrap_or(false)
        })
        .await;
        assert!(exported.is_ok(), "no export in {}", downloads.display());
        let file = std::fs::read_dir(&downloads)
            .expect("downloads")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().ends_with(".svg"))
            .expect("an SVG file");
        let text = std::fs::read_to_string(file.path()).expect("read the export");
        assert!(text.starts_with("<svg") && text.contains("p99"), "{text}");

        // The same panel as a PNG: the SVG rasterised, beside it.
        desktop
            .click("Export Latency as PNG")
            .await
            .expect("export a PNG");
        let png = wait_until_async("the exported PNG", Duration::from_secs(20), || async {
            std::fs::read_dir(&downloads)
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .any(|e| e.file_name().to_string_lossy().ends_with(".png"))
                })
                .unwrap_or(false)
        })
        .await;
        assert!(png.is_ok(), "no PNG in {}", downloads.display());
        let png = std::fs::read_dir(&downloads)
            .expect("downloads")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().ends_with(".png"))
            .expect("a PNG file");
        let bytes = std::fs::read(png.path()).expect("read the PNG");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");

        // Compare mode: a second profile, added from the terminal while the
        // window runs, drawn beside the first panel by panel.
        cli.run(&[
            "profile",
            "add",
            "staging",
            "--admin-url",
            &admin.url,
            "--tier",
            "staging",
            "--prometheus-url",
            &prom.url,
        ])
        .success();
        cli.run_with_stdin(&["login", "staging", "--token-stdin"], &token)
            .success();
        let offered = wait_until_async("staging offered to compare", Duration::from_secs(30), || async {
            desktop
                .select("Compare with profile", "staging")
                .await
                .is_ok()
        })
        .await;
        assert!(offered.is_ok(), "no staging in the compare picker");
        let compared = wait_until_async("every panel of staging", Duration::from_secs(60), || async {
            let states = desktop
                .client
                .execute(
                    "return Array.from(document.querySelectorAll('figure.panel[data-compare-panel]')).map((f) => f.dataset.state);",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
                .unwrap_or_default();
            states.len() == expected.len() && states.iter().all(|s| s == "data")
        })
        .await;
        assert!(compared.is_ok(), "staging's panels beside ops's");
        let heading = desktop
            .find("[data-testid=\"compared-profile\"]")
            .await
            .expect("the compared profile named");
        assert_eq!(heading.text().await.unwrap_or_default(), "staging");
        assert_eq!(overview_panels(&desktop).await.len(), expected.len(), "ops's panels stay");
        desktop
            .picture_for_docs("overview-compare.png")
            .await
            .expect("screenshot");
        desktop
            .select("Compare with profile", "")
            .await
            .expect("compare no more");

        // Prometheus gone: the last panels stay, marked stale with their age.
        blocking(|| prom.stop());
        desktop.click("Refresh overview").await.expect("refresh");
        let marker = desktop
            .find("[role=\"status\"].stale")
            .await
            .expect("the offline marker");
        let text = marker.text().await.unwrap_or_default();
        assert!(text.contains("Offline — showing the panels from"), "{text}");
        let panels = overview_panels(&desktop).await;
        assert_eq!(panels.len(), expected.len());
        assert!(
            panels
                .iter()
                .all(|(_, state, _, stale)| state == "data" && *stale),
            "{:?}",
            panels
                .iter()
                .map(|(id, state, _, stale)| (id, state, stale))
                .collect::<Vec<_>>()
        );

        desktop.close().await.expect("close");
    })
    .await;
}

/// The silences `amtool` lists as active, as (id, comment, matchers).
fn active_silences(am: &Alertmanager) -> Vec<(String, String, String)> {
    let listed = am
        .amtool_json(&["silence", "query", "-o", "json"])
        .expect("amtool silence query");
    listed
        .as_array()
        .map(|all| {
            all.iter()
                .map(|s| {
                    let matchers: Vec<String> = s["matchers"]
                        .as_array()
                        .map(|ms| {
                            ms.iter()
                                .map(|m| {
                                    format!(
                                        "{}={}",
                                        m["name"].as_str().unwrap_or(""),
                                        m["value"].as_str().unwrap_or("")
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (
                        s["id"].as_str().unwrap_or_default().to_string(),
                        s["comment"].as_str().unwrap_or_default().to_string(),
                        matchers.join(","),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// On production, a silence made from an alert in the window starts from
/// its labels, counts the firing alerts its edited matchers match, needs
/// the alert name typed, and mutes the alerts as Alertmanager's own
/// `amtool` sees them, marked to end when they resolve; expired from the
/// silenced row (the id typed), it is gone from amtool's active silences.
/// Another alert is acknowledged from its details and withdrawn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_made_in_the_window_on_production_mutes_the_alerts_for_amtool_and_expires_from_the_row(
) {
    bounded(async {
        let (admin, token, _http) = demo_platform();
        let am = Alertmanager::start().expect("alertmanager");
        let alert = |name: &str, severity: &str, instance: &str| {
            serde_json::json!({
                "labels": {"alertname": name, "severity": severity, "job": "api", "instance": instance},
                "annotations": {"summary": format!("{name} on {instance}")},
            })
        };
        am.post_alerts(&serde_json::json!([
            alert("DiskFilling", "warning", "db-1"),
            alert("DiskFilling", "warning", "db-2"),
            alert("HighErrorRate", "critical", "api-1"),
        ]))
        .expect("post alerts");

        let cli = Cli::new().expect("cli");
        cli.run(&[
            "profile", "add", "prod-eu", "--admin-url", &admin.url, "--tier", "prod",
            "--alertmanager-url", &am.url, "--use",
        ])
        .success();
        cli.run_with_stdin(&["login", "prod-eu", "--token-stdin"], &token)
            .success();

        // The window never opens on production by itself: it is chosen.
        let desktop = window_on(&cli).await;
        desktop.select("Profile", "prod-eu").await.expect("choose prod-eu");
        wait_for_window_on(&desktop, "prod-eu", "production chosen").await;
        desktop.click("Alerts").await.expect("click Alerts");
        let count = desktop
            .find("[data-testid=\"alert-count\"]")
            .await
            .expect("alert count");
        wait_until_async("three alerts", Duration::from_secs(15), || async {
            count.text().await.unwrap_or_default() == "3 alerts"
        })
        .await
        .expect("the alert count says 3 alerts");

        // The alert's labels are the matchers the dialog starts from.
        desktop
            .click("Details of DiskFilling instance=db-1 job=api")
            .await
            .expect("open the alert");
        desktop.click("Silence alert").await.expect("silence it");
        let matchers = desktop
            .find("[aria-label=\"Matchers\"]")
            .await
            .expect("the matchers");
        let prefilled = matchers.prop("value").await.ok().flatten().unwrap_or_default();
        assert_eq!(
            prefilled,
            "alertname=\"DiskFilling\", instance=\"db-1\", job=\"api\", severity=\"warning\""
        );
        let matches = desktop
            .find("[data-testid=\"silence-matches\"]")
            .await
            .expect("the live count");
        let said = std::sync::Mutex::new(String::new());
        let counted = |want: &'static str| {
            let (matches, said) = (&matches, &said);
            async move {
                let shown = wait_until_async(want, Duration::from_secs(15), || async {
                    let text = matches.text().await.unwrap_or_default();
                    let done = text == want;
                    *said.lock().expect("said") = text;
                    done
                })
                .await;
                assert!(shown.is_ok(), "{want}: the dialog says {}", said.lock().expect("said"));
            }
        };
        counted("Matches 1 firing alert now").await;

        // Edited to the alert's name: both disks.
        desktop
            .fill("Matchers", "alertname=\"DiskFilling\"")
            .await
            .expect("edit the matchers");
        counted("Matches 2 firing alerts now").await;
        desktop.select("Duration", "1h").await.expect("duration");
        desktop
            .fill("Comment", "replacing the disks")
            .await
            .expect("comment");
        desktop
            .click("End when the alerts resolve")
            .await
            .expect("until resolved");

        // Production: the alert name, typed exactly, and nothing before.
        let create = desktop
            .find("[aria-label=\"Create silence\"]")
            .await
            .expect("the create button");
        assert!(!create.is_enabled().await.unwrap_or(true), "enabled before the name is typed");
        desktop
            .fill("Type the alert name to confirm", "diskfilling")
            .await
            .expect("type a wrong name");
        assert!(!create.is_enabled().await.unwrap_or(true), "enabled for a wrong name");
        desktop
            .fill("Type the alert name to confirm", "DiskFilling")
            .await
            .expect("type the name");
        desktop.picture_for_docs("silence.png").await.expect("screenshot");
        desktop.click("Create silence").await.expect("create");

        // amtool sees the silence, and the alerts muted.
        let made = wait_until_async("the silence in Alertmanager", Duration::from_secs(15), || async {
            blocking(|| active_silences(&am))
                .iter()
                .any(|(_, comment, _)| comment == "Until resolved: replacing the disks")
        })
        .await;
        let silences = blocking(|| active_silences(&am));
        assert!(made.is_ok(), "amtool's silences: {silences:?}");
        let (id, _, matchers) = silences
            .iter()
            .find(|(_, comment, _)| comment == "Until resolved: replacing the disks")
            .cloned()
            .expect("the silence");
        assert_eq!(matchers, "alertname=DiskFilling");
        let active_names = |am: &Alertmanager| -> Vec<String> {
            am.amtool_json(&["alert", "query", "-o", "json"])
                .expect("amtool alert query")
                .as_array()
                .map(|all| {
                    all.iter()
                        .map(|a| a["labels"]["alertname"].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let muted = wait_until_async("the disks muted", Duration::from_secs(20), || async {
            blocking(|| active_names(&am)) == ["HighErrorRate"]
        })
        .await;
        assert!(muted.is_ok(), "amtool's active alerts: {:?}", blocking(|| active_names(&am)));

        // The window shows them silenced; the row expires the silence.
        desktop.click("Refresh alerts").await.expect("refresh");
        desktop
            .find("button.alert[data-state=\"silenced\"]")
            .await
            .expect("a silenced row");
        // The details panel lies over the rows' right end: closed first.
        desktop.click("Close").await.expect("close the details");
        desktop
            .click("Expire silence of DiskFilling instance=db-2 job=api")
            .await
            .expect("expire from the row");
        let expire = desktop
            .find("[aria-label=\"Expire silence\"]")
            .await
            .expect("the expire button");
        assert!(!expire.is_enabled().await.unwrap_or(true), "enabled before the id is typed");
        desktop
            .fill("Type the silence id to confirm", &id)
            .await
            .expect("type the id");
        desktop.click("Expire silence").await.expect("expire");
        let gone = wait_until_async("the silence expired", Duration::from_secs(15), || async {
            !blocking(|| active_silences(&am)).iter().any(|(s, ..)| s == &id)
        })
        .await;
        assert!(gone.is_ok(), "amtool still lists {id}");
        desktop
            .find("[data-testid=\"alert-count\"]")
            .await
            .expect("the view again");

        // Acknowledged from its details: Alertmanager keeps the record the
        // other consoles read; withdrawn, it is gone. Neither mutes a thing.
        desktop
            .click("Details of HighErrorRate instance=api-1 job=api")
            .await
            .expect("open the error-rate alert");
        desktop
            .fill("Acknowledgement comment", "rolling back")
            .await
            .expect("ack comment");
        desktop.click("Acknowledge alert").await.expect("acknowledge");
        let acked = desktop
            .find("[aria-label=\"Acknowledged\"]")
            .await
            .expect("shown acknowledged");
        let said = acked.text().await.unwrap_or_default();
        assert!(said.contains("rolling back") && said.contains("It still pages"), "{said}");
        let record = blocking(|| active_silences(&am))
            .into_iter()
            .find(|(_, comment, _)| comment.ends_with("rolling back"))
            .expect("the acknowledgement in Alertmanager");
        assert!(record.2.contains("opsdeck_acknowledged="), "{record:?}");
        assert!(
            blocking(|| active_names(&am)).contains(&"HighErrorRate".to_string()),
            "an acknowledgement mutes nothing"
        );
        desktop
            .click("Withdraw acknowledgement")
            .await
            .expect("withdraw");
        let withdrawn = wait_until_async("the acknowledgement withdrawn", Duration::from_secs(15), || async {
            !blocking(|| active_silences(&am)).iter().any(|(s, ..)| s == &record.0)
        })
        .await;
        assert!(withdrawn.is_ok(), "amtool still lists {}", record.0);
        desktop
            .find("[aria-label=\"Acknowledge alert\"]")
            .await
            .expect("offered again");

        desktop.close().await.expect("close");
    })
    .await;
}

/// The progress bar named `label`: its job state and percent, once shown.
async fn progress_bar(desktop: &Desktop, label: &str) -> Option<(String, Option<String>)> {
    let bar = desktop
        .client
        .find(fantoccini::Locator::Css(&format!(
            "[role=\"progressbar\"][aria-label=\"{label}\"]"
        )))
        .await
        .ok()?;
    let state = bar.attr("data-state").await.ok().flatten()?;
    let percent = bar.attr("aria-valuenow").await.ok().flatten();
    Some((state, percent))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_started_in_the_window_fills_its_progress_bar_to_done_joins_the_list_and_its_job_shows_the_log(
) {
    bounded(async {
        let cluster = PgBackRest::start("main")
            .await
            .unwrap_or_else(|e| panic!("a PostgreSQL archived by pgBackRest: {e:#}"));
        cluster
            .sql("CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 100000)")
            .await
            .expect("some data to back up");
        let config = cluster.config.with_file_name("platform-admin.toml");
        std::fs::write(
            &config,
            format!(
                "[[backup_targets]]\nid = \"main-db\"\nkind = \"postgresql\"\nstanza = \"main\"\n\
                 pgbackrest_config = \"{}\"\n\
                 database = \"postgres://postgres@localhost/postgres?host={}\"\n\
                 pg_data = \"{}\"\n",
                cluster.config.display(),
                cluster.socket_dir.display(),
                cluster.data.display()
            ),
        )
        .expect("platform-admin's config");
        let config_arg = config.display().to_string();
        let (_admin, cli) = blocking(move || {
            let admin = PlatformAdmin::start_with(Backend::Sqlite, &["--config", &config_arg])
                .expect("platform-admin");
            let token = admin.token("desk", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("plat", "dev", &admin, &token);
            (admin, cli)
        });

        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "plat", "the window opens on the CLI's profile").await;
        desktop.click("Backups").await.expect("click Backups");
        wait_for_view(&desktop, "Backups", "after a click").await;

        // The target, read: its RPO badge, and no backup yet.
        desktop
            .find("section[data-target=\"main-db\"] [data-testid=\"rpo\"]")
            .await
            .expect("the target's RPO badge");
        let section = desktop
            .find("section[data-target=\"main-db\"]")
            .await
            .expect("the target");
        let before = section.text().await.unwrap_or_default();
        assert!(before.contains("No backups yet"), "{before}");

        desktop
            .select("Backup type for main-db", "full")
            .await
            .expect("a full backup");
        desktop
            .click("Back up main-db")
            .await
            .expect("start the backup");

        // The bar shows while the job runs and fills to done.
        let seen: std::sync::Mutex<Vec<(String, Option<String>)>> = Default::default();
        let done = wait_until_async(
            "the backup's bar reaches done",
            Duration::from_secs(180),
            || async {
                let Some(now) = progress_bar(&desktop, "Backup of main-db").await else {
                    return false;
                };
                let finished = now.0 != "queued" && now.0 != "running";
                let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                if seen.last() != Some(&now) {
                    seen.push(now);
                }
                finished
            },
        )
        .await;
        let seen = seen.into_inner().unwrap_or_else(|p| p.into_inner());
        assert!(done.is_ok(), "the bar went through {seen:?}");
        let last = seen.last().cloned().expect("the bar was seen");
        assert_eq!(
            last,
            ("succeeded".to_string(), Some("100".to_string())),
            "{seen:?}"
        );

        // The backup is in the window's list as pgBackRest has it.
        let info = cluster.info().await.expect("pgbackrest info");
        let label = info[0]["backup"]
            .as_array()
            .and_then(|b| b.last())
            .and_then(|b| b["label"].as_str())
            .unwrap_or_else(|| panic!("a backup in pgBackRest's repository: {info:#}"))
            .to_string();
        let row = desktop
            .find(&format!(
                "table[aria-label=\"Backups of main-db\"] tr[data-label=\"{label}\"]"
            ))
            .await
            .expect("the new backup's row");
        let row_text = row.text().await.unwrap_or_default();
        assert!(row_text.contains("full"), "{row_text}");
        assert!(row_text.contains("ok"), "{row_text}");
        assert!(row_text.contains("not verified"), "{row_text}");
        let badge = desktop
            .find("section[data-target=\"main-db\"] [data-testid=\"rpo\"]")
            .await
            .expect("the RPO badge");
        assert_eq!(
            badge.attr("data-over").await.ok().flatten().as_deref(),
            Some("false"),
            "just backed up, the target is within its objective"
        );

        desktop
            .picture_for_docs("backups.png")
            .await
            .expect("screenshot");

        // A restore says what it will do, in core's words; on a dev
        // profile nothing needs typing. Cancelled: nothing starts.
        desktop.click("Restore main-db").await.expect("open the restore");
        let summary = desktop
            .find("dialog[open] [data-testid=\"confirm-summary\"]")
            .await
            .expect("core's summary")
            .text()
            .await
            .unwrap_or_default();
        assert!(
            summary.contains("Restore backup target main-db on profile plat (dev) to its newest restorable point"),
            "{summary}"
        );
        assert!(
            desktop
                .client
                .find(fantoccini::Locator::Css(
                    "[aria-label=\"Type the backup target id to confirm\"]"
                ))
                .await
                .is_err(),
            "a dev profile asks for nothing typed"
        );
        desktop.click("Cancel").await.expect("cancel the restore");

        // The Jobs view lists it as done, with pgBackRest's log.
        desktop.click("Jobs").await.expect("click Jobs");
        wait_for_view(&desktop, "Jobs", "after a click").await;
        let job_row = desktop
            .find("table[aria-label=\"Jobs\"] tr[data-state=\"succeeded\"]")
            .await
            .expect("the backup's job, succeeded");
        let job_id = job_row
            .attr("data-job")
            .await
            .ok()
            .flatten()
            .expect("the job's id");
        desktop
            .click(&format!("Details of backup of main-db {job_id}"))
            .await
            .expect("open the job");
        let log = desktop
            .find("[aria-label=\"Job details\"] ol[aria-label=\"Job log\"]")
            .await
            .expect("the job's log");
        let log_text = log
            .prop("textContent")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        assert!(log_text.contains("new backup label"), "{log_text}");
        let details = desktop
            .find("[aria-label=\"Job details\"]")
            .await
            .expect("details")
            .text()
            .await
            .unwrap_or_default();
        assert!(
            details.contains("desk"),
            "the actor is the token's name: {details}"
        );
        assert!(
            !details.contains("Cancel job"),
            "a finished job cannot be cancelled: {details}"
        );
        desktop
            .picture_for_docs("jobs.png")
            .await
            .expect("screenshot");
        desktop.close().await.expect("close");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_switchover_shows_the_preflight_needs_the_cluster_id_and_ends_with_the_new_primary_and_its_rto(
) {
    bounded(async {
        let (set, _admin, cli) = blocking(|| {
            let set = RedisSentinel::start(Duration::from_millis(1000)).expect("Redis under Sentinel");
            let config = set.dir.path().join("platform-admin.toml");
            std::fs::write(&config, set.cluster_config("cache")).expect("write the configuration");
            let config = config.to_string_lossy().into_owned();
            let admin = PlatformAdmin::start_with(Backend::Sqlite, &["--config", &config])
                .expect("platform-admin");
            let token = admin.token("desk", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("live", "prod", &admin, &token);
            (set, admin, cli)
        });
        let (primary, replica) = (set.nodes[0].address(), set.nodes[1].address());

        // A window never lands on production by itself: it is chosen.
        let desktop = window_on(&cli).await;
        desktop.select("Profile", "live").await.expect("choose live");
        wait_for_window_on(&desktop, "live", "after choosing it").await;
        desktop.click("Clusters").await.expect("click Clusters");
        wait_for_view(&desktop, "Clusters", "after a click").await;

        // The diagram: the primary above, the replica below with its lag.
        desktop
            .find(&format!(".member[data-role=\"primary\"][data-member=\"{primary}\"]"))
            .await
            .expect("the primary in the diagram");
        let replica_box = desktop
            .find(&format!(".member[data-role=\"replica\"][data-member=\"{replica}\"]"))
            .await
            .expect("the replica in the diagram");
        let replica_text = replica_box.text().await.unwrap_or_default();
        assert!(
            replica_text.contains("in sync") || replica_text.contains("behind"),
            "{replica_text}"
        );

        // The preflight first: the replica is eligible; production asks
        // for the cluster id before anything starts.
        desktop.click("Switch over cache").await.expect("open the switchover");
        desktop
            .find(&format!(
                "[aria-label=\"Preflight\"][data-passed=\"true\"] li[data-member=\"{replica}\"][data-eligible=\"true\"]"
            ))
            .await
            .expect("the replica, eligible");
        let summary = desktop
            .find("dialog[open] [data-testid=\"confirm-summary\"]")
            .await
            .expect("core's summary")
            .text()
            .await
            .unwrap_or_default();
        assert!(summary.contains("Switch over cluster cache on profile live (prod)"), "{summary}");
        let start = desktop
            .find("[aria-label=\"Start switchover\"]")
            .await
            .expect("the start button");
        assert!(
            !start.is_enabled().await.unwrap_or(true),
            "production needs the cluster id typed first"
        );
        desktop
            .fill("Type the cluster id to confirm", "cache")
            .await
            .expect("type the id");
        desktop
            .picture_for_docs("switchover-preflight.png")
            .await
            .expect("screenshot");
        desktop.click("Start switchover").await.expect("start it");

        // Live progress to done, the measured RTO, and the new primary drawn.
        let bar = "[role=\"progressbar\"][aria-label=\"Cluster switchover of cache\"]";
        let done = wait_until_async("the switchover's bar reaches done", Duration::from_secs(90), || async {
            let Ok(bar) = desktop.client.find(fantoccini::Locator::Css(bar)).await else {
                return false;
            };
            matches!(
                bar.attr("data-state").await.ok().flatten().as_deref(),
                Some("succeeded" | "failed" | "cancelled")
            )
        })
        .await;
        let state = desktop
            .find(bar)
            .await
            .expect("the bar")
            .attr("data-state")
            .await
            .ok()
            .flatten();
        assert!(done.is_ok() && state.as_deref() == Some("succeeded"), "{state:?}");
        let rto = desktop
            .find("[data-testid=\"rto\"]")
            .await
            .expect("the measured RTO")
            .text()
            .await
            .unwrap_or_default();
        assert!(rto.starts_with("RTO ") && rto.ends_with(" s"), "{rto}");
        desktop
            .find(&format!(".member[data-role=\"primary\"][data-member=\"{replica}\"]"))
            .await
            .expect("the old replica is drawn as the primary");
        let master = set.master().await.expect("Sentinel's master");
        assert_eq!(master, replica, "Sentinel agrees");

        desktop.picture_for_docs("clusters.png").await.expect("screenshot");
        desktop.close().await.expect("close");
    })
    .await;
}

/// A playbook of the user's folder: a manual step with a checklist, then
/// the suspension of a tenant.
const DESK_DRILL: &str = r#"version: 1
id: desk-drill
title: Desk drill
severity: P2
inputs:
  tenant: { type: tenant }
steps:
  - id: look
    manual:
      instructions: Look at the tenant's dashboard
      checklist: [Dashboard seen]
  - id: suspend
    action:
      name: tenant.suspend
      args: { tenant: "${inputs.tenant}" }
"#;

/// The `textContent` of the element at `css`, or empty when it is not there.
async fn text_of(desktop: &Desktop, css: &str) -> String {
    match desktop.client.find(fantoccini::Locator::Css(css)).await {
        Ok(element) => element
            .prop("textContent")
            .await
            .ok()
            .flatten()
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The `data-state` of the element at `css`, if it is there.
async fn state_of(desktop: &Desktop, css: &str) -> Option<String> {
    let element = desktop
        .client
        .find(fantoccini::Locator::Css(css))
        .await
        .ok()?;
    element.attr("data-state").await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_opened_in_the_window_runs_a_playbook_whose_ticked_manual_step_and_tenant_suspension_reach_both_timelines(
) {
    bounded(async {
        let (admin, cli, http, slug) = blocking(|| {
            let (admin, token, http) = demo_platform();
            let slug = first_slug(&http, "active");
            let cli = Cli::new().expect("cli");
            cli.connect("plat", "dev", &admin, &token);
            (admin, cli, http, slug)
        });
        let folder = cli.config_dir.path().join("playbooks");
        std::fs::create_dir_all(&folder).expect("the user's playbook folder");
        std::fs::write(folder.join("desk-drill.yaml"), DESK_DRILL).expect("the playbook");

        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "plat", "the window opens on the CLI's profile").await;

        // An incident, opened in the window.
        desktop.click("Incidents").await.expect("click Incidents");
        wait_for_view(&desktop, "Incidents", "after a click").await;
        desktop
            .click("Open incident…")
            .await
            .expect("open the dialog");
        desktop
            .fill("Title", "Checkout is failing")
            .await
            .expect("a title");
        desktop.select("Severity", "P2").await.expect("P2");
        desktop.click("Open incident").await.expect("open it");
        let details = desktop
            .find("[aria-label=\"Incident details\"]")
            .await
            .expect("the new incident's details");
        let incident = details
            .attr("data-incident")
            .await
            .ok()
            .flatten()
            .expect("the incident's id");
        let targets = text_of(&desktop, "ul[aria-label=\"Targets\"]").await;
        assert!(targets.contains("Time to acknowledge"), "{targets}");
        assert!(targets.contains("left"), "a live timer: {targets}");

        // The user's playbook, its dry-run with the tenant typed, and a run
        // of it on the incident.
        desktop.click("Playbooks").await.expect("click Playbooks");
        wait_for_view(&desktop, "Playbooks", "after a click").await;
        desktop
            .find("table[aria-label=\"Playbook library\"] tr[data-playbook=\"desk-drill\"]")
            .await
            .expect("the user's playbook in the library");
        let library = text_of(&desktop, "table[aria-label=\"Playbook library\"]").await;
        assert!(library.contains("desk-drill"), "{library}");
        assert!(library.contains("user"), "{library}");
        desktop
            .click("Playbook desk-drill")
            .await
            .expect("choose the playbook");
        desktop
            .fill("Input tenant", &slug)
            .await
            .expect("the tenant");
        let planned = wait_until_async(
            "the dry-run names the tenant",
            Duration::from_secs(15),
            || async {
                text_of(&desktop, "ol[aria-label=\"Dry-run steps\"]")
                    .await
                    .contains(&slug)
            },
        )
        .await;
        assert!(
            planned.is_ok(),
            "{}",
            text_of(&desktop, "[aria-label=\"Playbook desk-drill\"]").await
        );
        desktop.click("Run desk-drill…").await.expect("Run…");
        desktop
            .select("Incident", &incident)
            .await
            .expect("the incident");
        desktop.click("Start run").await.expect("start the run");

        // The manual step waits with its checklist; ticked and done, the
        // server suspends the tenant and the run succeeds.
        desktop
            .find("li[data-step=\"look\"][data-state=\"waiting\"]")
            .await
            .expect("the manual step waits");
        desktop
            .click("Dashboard seen")
            .await
            .expect("tick the checklist");
        desktop.click("Done with look").await.expect("Done");
        let ended = wait_until_async("the run succeeds", Duration::from_secs(60), || async {
            state_of(&desktop, "li[data-step=\"suspend\"]")
                .await
                .as_deref()
                == Some("succeeded")
                && text_of(&desktop, "[data-testid=\"run-state\"]").await == "succeeded"
        })
        .await;
        assert!(
            ended.is_ok(),
            "{}",
            text_of(&desktop, "[aria-label=\"Playbook run\"]").await
        );
        let status = blocking(|| http.get(&format!("/v1/tenants/{slug}")).json()["status"].clone());
        assert_eq!(status, "suspended");
        let timeline = text_of(&desktop, "ol[aria-label=\"Run timeline\"]").await;
        assert!(
            timeline.contains("Dashboard seen") || timeline.contains("look"),
            "{timeline}"
        );
        assert!(timeline.contains("suspend"), "{timeline}");
        let kinds = desktop
            .client
            .find_all(fantoccini::Locator::Css(
                "ol[aria-label=\"Run timeline\"] li",
            ))
            .await
            .unwrap_or_default();
        assert!(kinds.len() >= 3, "{timeline}");
        desktop
            .picture_for_docs("playbook-run.png")
            .await
            .expect("screenshot");

        // The incident lists the run, and its timeline has the run's steps.
        desktop
            .click(&format!("Open incident {incident}"))
            .await
            .expect("to the incident");
        wait_for_view(&desktop, "Incidents", "from the run").await;
        let shown = wait_until_async(
            "the incident's timeline shows the run",
            Duration::from_secs(15),
            || async {
                let timeline = text_of(&desktop, "ol[aria-label=\"Incident timeline\"]").await;
                timeline.contains("Desk drill") && timeline.contains("suspend")
            },
        )
        .await;
        assert!(
            shown.is_ok(),
            "{}",
            text_of(&desktop, "ol[aria-label=\"Incident timeline\"]").await
        );
        desktop
            .find("ul[aria-label=\"Incident runs\"] li[data-state=\"succeeded\"]")
            .await
            .expect("the run, succeeded, among the incident's runs");
        desktop.click("Acknowledge").await.expect("acknowledge");
        let acked = wait_until_async("acknowledged", Duration::from_secs(10), || async {
            text_of(&desktop, "[data-testid=\"incident-status\"]").await == "acknowledged"
        })
        .await;
        assert!(acked.is_ok(), "the incident is acknowledged");
        desktop
            .picture_for_docs("incident.png")
            .await
            .expect("screenshot");

        // Export: the Markdown report in the downloads, with the run in it.
        desktop.click("Export incident").await.expect("export");
        let downloads = cli.config_dir.path().join("downloads");
        let report = wait_until_async("the report", Duration::from_secs(15), || async {
            std::fs::read_dir(&downloads)
                .map(|d| {
                    d.flatten()
                        .any(|f| f.file_name().to_string_lossy().ends_with(".md"))
                })
                .unwrap_or(false)
        })
        .await;
        assert!(report.is_ok(), "no report in {}", downloads.display());
        let file = std::fs::read_dir(&downloads)
            .expect("the downloads")
            .flatten()
            .find(|f| f.file_name().to_string_lossy().ends_with(".md"))
            .expect("the report")
            .path();
        let markdown = std::fs::read_to_string(&file).expect("the report's text");
        assert!(markdown.contains("Checkout is failing"), "{markdown}");
        assert!(markdown.contains("Desk drill"), "{markdown}");
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_with_a_playbook_opens_a_prefilled_incident_that_links_it_and_runs_the_playbook_on_it(
) {
    bounded(async {
        let (admin, cli, http, slug, _am) = blocking(|| {
            let (admin, token, http) = demo_platform();
            let slug = first_slug(&http, "active");
            let am = Alertmanager::start().expect("alertmanager");
            am.post_alerts(&serde_json::json!([{
                "labels": {"alertname": "CheckoutErrors", "severity": "warning", "tenant": slug},
                "annotations": {"summary": "Checkout errors above 5%", "playbook": "desk-drill"},
            }]))
            .expect("post the alert");
            let cli = Cli::new().expect("cli");
            cli.run(&[
                "profile",
                "add",
                "ops",
                "--admin-url",
                &admin.url,
                "--tier",
                "dev",
                "--alertmanager-url",
                &am.url,
                "--use",
            ])
            .success();
            cli.run_with_stdin(&["login", "ops", "--token-stdin"], &token)
                .success();
            (admin, cli, http, slug, am)
        });
        let folder = cli.config_dir.path().join("playbooks");
        std::fs::create_dir_all(&folder).expect("the user's playbook folder");
        std::fs::write(folder.join("desk-drill.yaml"), DESK_DRILL).expect("the playbook");

        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "ops", "the window opens on the CLI's profile").await;
        desktop.click("Alerts").await.expect("click Alerts");
        wait_for_view(&desktop, "Alerts", "after a click").await;
        let alert = desktop
            .find("section.group[data-alertname=\"CheckoutErrors\"] button.alert")
            .await
            .expect("the posted alert");
        within("choosing the alert", Duration::from_secs(10), alert.click())
            .await
            .expect("in time")
            .expect("choose the alert");
        desktop
            .find("[aria-label=\"Show playbook desk-drill\"]")
            .await
            .expect("the alert's playbook, as a link");
        desktop
            .click("Open incident with playbook desk-drill")
            .await
            .expect("open an incident from the alert");

        // Prefilled from the alert: its summary, and P3 for a warning.
        let title = desktop
            .find("dialog[open] input[aria-label=\"Title\"]")
            .await
            .expect("the title")
            .prop("value")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(title, "Checkout errors above 5%");
        let severity = desktop
            .find("dialog[open] select[aria-label=\"Severity\"]")
            .await
            .expect("the severity")
            .prop("value")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(severity, "P3");
        desktop.click("Open incident").await.expect("open it");

        // The run of the alert's playbook, on the new incident, with the
        // tenant from the alert's label.
        wait_for_view(&desktop, "Playbooks", "once the run started").await;
        let run = desktop
            .find("[aria-label=\"Playbook run\"]")
            .await
            .expect("the run view");
        let text = run
            .prop("textContent")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        assert!(text.contains(&slug), "{text}");
        let run_id = run
            .attr("data-run")
            .await
            .ok()
            .flatten()
            .expect("the run's id");
        let (incident, alerts) = blocking(|| {
            let run = http.get(&format!("/v1/playbook-runs/{run_id}")).json();
            let incident = run["incident_id"]
                .as_str()
                .unwrap_or_else(|| panic!("the run is on an incident: {run:#}"))
                .to_string();
            let detail = http.get(&format!("/v1/incidents/{incident}")).json();
            (detail["incident"].clone(), detail["alerts"].clone())
        });
        assert_eq!(incident["title"], "Checkout errors above 5%");
        assert_eq!(incident["severity"], "P3");
        assert_eq!(alerts[0]["alertname"], "CheckoutErrors", "{alerts:#}");
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_waiting_on_an_approval_is_counted_on_the_rail_and_the_tray_and_approved_from_the_inbox(
) {
    bounded(async {
        let tray = blocking(Tray::start).expect("tray watcher");
        let (admin, cli, http, run_id) = blocking(|| {
            let (admin, token, http) = demo_platform();
            let starter = admin.token("starter", "admin").expect("a second token");
            let source = "version: 1\nid: gated\ntitle: Gated change\nseverity: P3\nsteps:\n  - id: ok\n    approval: { role: incident-commander, reason: It changes production }\n  - id: after\n    note: Approved and done\n";
            let started = Http::new(&admin.url, Some(&starter)).json(
                "POST",
                "/v1/playbook-runs",
                &serde_json::json!({ "source": source }),
            );
            let run_id = started.json()["id"]
                .as_str()
                .unwrap_or_else(|| panic!("a run: {}", started.json()))
                .to_string();
            // The window's user: a service account bound to incident-commander.
            let cli = Cli::new().expect("cli");
            cli.connect("plat", "dev", &admin, &token);
            cli.second_person(&admin, "approver", "incident-commander");
            cli.run(&["profile", "use", "approver"]).success();
            (admin, cli, http, run_id)
        });
        let waiting = wait_until_async("the run waits", Duration::from_secs(30), || async {
            blocking(|| http.get(&format!("/v1/playbook-runs/{run_id}")).json()["state"] == "waiting")
        })
        .await;
        assert!(waiting.is_ok(), "the run does not wait on its approval");

        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "approver", "the window opens on the CLI's profile").await;
        let badge = wait_until_async("the rail's count", Duration::from_secs(15), || async {
            text_of(&desktop, "[data-testid=\"badge-playbooks\"]").await == "1"
        })
        .await;
        assert!(badge.is_ok(), "the Playbooks entry does not count 1 approval");
        let counted = wait_until_async("the tray's count", Duration::from_secs(15), || async {
            blocking(|| tray.labels()).iter().any(|l| l == "1 to approve")
        })
        .await;
        assert!(
            counted.is_ok(),
            "the tray does not count the approval: {:?}",
            blocking(|| tray.labels())
        );

        desktop.click("Playbooks").await.expect("click Playbooks");
        desktop
            .click(&format!("Approval of Gated change {run_id}"))
            .await
            .expect("open the run from the inbox");
        desktop
            .find("[aria-label=\"Approval waiting\"]")
            .await
            .expect("the approval the run waits on");
        let waiting = text_of(&desktop, "[aria-label=\"Approval waiting\"]").await;
        assert!(waiting.contains("It changes production"), "{waiting}");
        assert!(waiting.contains("Approved and done"), "what follows: {waiting}");
        desktop.click("Approve").await.expect("approve");
        let ended = wait_until_async("the run succeeds", Duration::from_secs(30), || async {
            text_of(&desktop, "[data-testid=\"run-state\"]").await == "succeeded"
        })
        .await;
        assert!(
            ended.is_ok(),
            "{}",
            text_of(&desktop, "[aria-label=\"Playbook run\"]").await
        );
        let gone = wait_until_async("the tray's count goes", Duration::from_secs(40), || async {
            !blocking(|| tray.labels()).iter().any(|l| l.contains("to approve"))
        })
        .await;
        assert!(gone.is_ok(), "{:?}", blocking(|| tray.labels()));
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_two_person_rule_the_window_grants_a_request_from_its_inbox_and_asks_for_one_before_deleting(
) {
    bounded(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (admin, cli, other, spare_request) = blocking(|| {
            let config = dir.path().join("platform-admin.toml");
            std::fs::write(&config, "[two_person_rule]\nenabled = true\n").expect("config");
            let config = config.to_string_lossy().into_owned();
            let admin = PlatformAdmin::start_with(Backend::Sqlite, &["--config", &config])
                .expect("platform-admin");
            let root = admin.token("root", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("root", "dev", &admin, &root);
            for slug in ["doomed", "spare"] {
                cli.run(&["tenants", "create", "--slug", slug, "--name", slug])
                    .success();
            }
            let desk = cli.service_account("desk", "platform-admin");
            let other = Http::new(
                &admin.url,
                Some(&cli.service_account("other", "platform-admin")),
            );
            // Someone else asks to delete `spare`: the window's user is asked.
            let asked = other.json(
                "POST",
                "/v1/approvals",
                &serde_json::json!({
                    "action": "tenant.delete",
                    "target": "spare",
                    "reason": "Spare is unused",
                }),
            );
            let spare_request = asked.json()["id"]
                .as_str()
                .unwrap_or_else(|| panic!("a request: {}", asked.json()))
                .to_string();
            cli.run(&[
                "profile",
                "add",
                "desk",
                "--admin-url",
                &admin.url,
                "--tier",
                "dev",
                "--use",
            ])
            .success();
            cli.run_with_stdin(&["login", "desk", "--token-stdin"], &desk)
                .success();
            (admin, cli, other, spare_request)
        });

        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "desk", "the window opens on the CLI's profile").await;
        let badge = wait_until_async("the rail's count", Duration::from_secs(30), || async {
            text_of(&desktop, "[data-testid=\"badge-playbooks\"]").await == "1"
        })
        .await;
        assert!(
            badge.is_ok(),
            "the Playbooks entry does not count the request"
        );
        desktop.click("Playbooks").await.expect("click Playbooks");
        let asked = format!("[data-approval=\"{spare_request}\"]");
        desktop
            .find(&asked)
            .await
            .expect("the request in the inbox");
        let request = text_of(&desktop, &asked).await;
        assert!(
            request.contains("tenant.delete of spare") && request.contains("Spare is unused"),
            "{request}"
        );
        desktop
            .click("Grant tenant.delete of spare")
            .await
            .expect("grant");
        let granted = wait_until_async("the grant", Duration::from_secs(15), || async {
            blocking(|| other.get(&format!("/v1/approvals/{spare_request}")).json())["state"]
                == "granted"
        })
        .await;
        assert!(granted.is_ok(), "the request was not granted");
        let decided = blocking(|| other.get(&format!("/v1/approvals/{spare_request}")).json());
        assert_eq!(decided["decided_by"], "desk", "{decided:#}");

        // The window's own deletion: refused, asked, granted by the other, done.
        desktop.click("Tenants").await.expect("click Tenants");
        desktop
            .fill("Search tenants", "doomed")
            .await
            .expect("search");
        desktop.click("Delete doomed").await.expect("delete");
        desktop
            .click("Delete tenant")
            .await
            .expect("confirm the deletion");
        let gate = wait_until_async("the approval gate", Duration::from_secs(15), || async {
            state_of(&desktop, "[data-testid=\"approval-gate\"]")
                .await
                .as_deref()
                == Some("needed")
        })
        .await;
        assert!(
            gate.is_ok(),
            "no approval asked: {}",
            text_of(&desktop, "dialog[open]").await
        );
        let gate_text = text_of(&desktop, "[data-testid=\"approval-gate\"]").await;
        assert!(gate_text.contains("platform-admin"), "{gate_text}");
        desktop
            .fill("Reason for the approval", "Doomed was a test")
            .await
            .expect("reason");
        desktop.click("Request approval").await.expect("request");
        let pending = wait_until_async("the request", Duration::from_secs(15), || async {
            state_of(&desktop, "[data-testid=\"approval-gate\"]")
                .await
                .as_deref()
                == Some("pending")
        })
        .await;
        assert!(
            pending.is_ok(),
            "{}",
            text_of(&desktop, "dialog[open]").await
        );
        desktop
            .picture_for_docs("approval.png")
            .await
            .expect("screenshot");
        let mine = blocking(|| other.get("/v1/approvals?state=pending").json());
        let id = mine["items"]
            .as_array()
            .and_then(|items| items.iter().find(|a| a["target"] == "doomed"))
            .and_then(|a| a["id"].as_str())
            .unwrap_or_else(|| panic!("the window's request: {mine:#}"))
            .to_string();
        assert_eq!(
            blocking(|| other.json(
                "POST",
                &format!("/v1/approvals/{id}/grant"),
                &serde_json::json!({})
            ))
            .status,
            200
        );
        let ready = wait_until_async(
            "the grant reaches the window",
            Duration::from_secs(30),
            || async {
                state_of(&desktop, "[data-testid=\"approval-gate\"]")
                    .await
                    .as_deref()
                    == Some("granted")
            },
        )
        .await;
        assert!(ready.is_ok(), "{}", text_of(&desktop, "dialog[open]").await);
        desktop
            .click("Delete tenant")
            .await
            .expect("delete with the approval");
        let gone = wait_until_async("the deletion", Duration::from_secs(15), || async {
            blocking(|| other.get("/v1/tenants/doomed")).status == 404
        })
        .await;
        assert!(gone.is_ok(), "{}", text_of(&desktop, "dialog[open]").await);
        let used = blocking(|| other.get(&format!("/v1/approvals/{id}")).json());
        assert_eq!(used["state"], "used", "{used:#}");
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_edited_in_the_window_shows_who_gains_what_before_it_applies_and_the_audit_view_shows_its_record(
) {
    bounded(async {
        let (admin, cli, http) = blocking(|| {
            let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
            let root = admin.token("root", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("root", "dev", &admin, &root);
            cli.run(&["users", "create", "--email", "bob@example.com", "--name", "Bob"])
                .success();
            cli.run(&["roles", "create", "auditor", "--permission", "tenants.read"])
                .success();
            cli.run(&[
                "bindings",
                "create",
                "--subject",
                "user:bob@example.com",
                "--role",
                "auditor",
            ])
            .success();
            let http = Http::new(&admin.url, Some(&root));
            (admin, cli, http)
        });

        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "root", "the window opens on the CLI's profile").await;
        desktop.click("Access").await.expect("click Access");
        desktop.click("Roles").await.expect("the Roles tab");
        desktop
            .click("Edit role auditor")
            .await
            .expect("edit the custom role");
        desktop.click("Grant audit.read").await.expect("tick audit.read");
        desktop.click("Save role auditor").await.expect("save");
        let gains = "dialog[open] [data-change=\"gains\"][data-holder=\"user:bob@example.com\"][data-permission=\"audit.read\"]";
        let previewed = desktop.find(gains).await;
        assert!(
            previewed.is_ok(),
            "the preview does not name bob gaining audit.read: {}",
            text_of(&desktop, "dialog[open]").await
        );
        let summary = text_of(&desktop, "[data-testid=\"access-preview-summary\"]").await;
        assert!(summary.contains("adds audit.read"), "{summary}");
        // Nothing is applied by the preview.
        let unchanged = blocking(|| http.get("/v1/rbac/roles").json());
        let auditor = |roles: &serde_json::Value| {
            roles["items"]
                .as_array()
                .and_then(|items| items.iter().find(|r| r["name"] == "auditor"))
                .map(|r| r["permissions"].clone())
                .unwrap_or_default()
        };
        assert_eq!(
            auditor(&unchanged),
            serde_json::json!(["tenants.read"]),
            "{unchanged:#}"
        );
        desktop.click("Apply").await.expect("apply");
        let applied = wait_until_async("the role changes", Duration::from_secs(15), || async {
            let roles = blocking(|| http.get("/v1/rbac/roles").json());
            auditor(&roles)
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p == "audit.read"))
        })
        .await;
        assert!(
            applied.is_ok(),
            "the role did not change: {}",
            text_of(&desktop, "body").await
        );

        desktop.click("Audit").await.expect("click Audit");
        desktop.fill("Action", "role.update").await.expect("filter");
        desktop.click("Apply filters").await.expect("apply the filter");
        desktop
            .click("Details of role.update on role:auditor")
            .await
            .expect("the record's details");
        let before = text_of(&desktop, "[data-field=\"permissions\"] [data-testid=\"audit-before\"]").await;
        let after = text_of(&desktop, "[data-field=\"permissions\"] [data-testid=\"audit-after\"]").await;
        assert!(
            before.contains("tenants.read") && !before.contains("audit.read"),
            "before: {before}"
        );
        assert!(
            after.contains("tenants.read") && after.contains("audit.read"),
            "after: {after}"
        );
        desktop.picture_for_docs("audit.png").await.expect("screenshot");
        let request = text_of(&desktop, "[data-testid=\"audit-request-id\"]").await;
        let records = blocking(|| http.get("/v1/audit?action=role.update").json());
        assert_eq!(
            records["items"][0]["request_id"].as_str(),
            Some(request.as_str()),
            "{records:#}"
        );

        // The export writes every matching record into the downloads and names the file.
        desktop.click("Export CSV").await.expect("export");
        let downloads = cli.config_dir.path().join("downloads");
        let exported = wait_until_async("the export", Duration::from_secs(15), || async {
            text_of(&desktop, ".toast.success").await.contains("written to")
        })
        .await;
        assert!(
            exported.is_ok(),
            "no toast for the export: {}",
            text_of(&desktop, "[aria-label=\"Notifications\"]").await
        );
        let toast = text_of(&desktop, ".toast.success").await;
        let files: Vec<std::path::PathBuf> = std::fs::read_dir(&downloads)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        let [file] = files.as_slice() else {
            panic!("one file in the downloads: {files:?}")
        };
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(
            name.starts_with("audit-root-") && name.ends_with(".csv"),
            "{name}"
        );
        assert!(toast.contains(&name), "the toast does not name {name}: {toast}");
        let csv = std::fs::read_to_string(file).expect("the export");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "a header and the one role.update: {csv}");
        assert!(lines[1].contains("role.update") && lines[1].contains(&request), "{csv}");
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_of_a_tenant_shows_a_grant_path_through_a_group_and_a_token_without_rbac_write_cannot_bind(
) {
    bounded(async {
        let (admin, cli) = blocking(|| {
            let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
            let root = admin.token("root", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("root", "dev", &admin, &root);
            cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
                .success();
            cli.run(&[
                "users",
                "create",
                "--email",
                "bob@example.com",
                "--name",
                "Bob",
            ])
            .success();
            cli.run(&["groups", "create", "sre"]).success();
            cli.run(&["groups", "add-member", "sre", "bob@example.com"])
                .success();
            cli.run(&[
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
            // The window's user may read access control but not change it.
            cli.run(&[
                "roles",
                "create",
                "access-reader",
                "--permission",
                "rbac.read",
                "tenants.read",
            ])
            .success();
            cli.second_person(&admin, "reader", "access-reader");
            cli.run(&["profile", "use", "reader"]).success();
            (admin, cli)
        });

        let desktop = window_on(&cli).await;
        wait_for_window_on(&desktop, "reader", "the window opens on the CLI's profile").await;
        desktop.click("Access").await.expect("click Access");
        desktop.click("Matrix").await.expect("the Matrix tab");
        desktop.fill("Matrix tenant", "acme").await.expect("scope");
        desktop.click("Show the matrix").await.expect("show");
        desktop
            .click("user:bob@example.com holds tenants.read")
            .await
            .expect("bob's tenants.read cell");
        desktop
            .picture_for_docs("access-matrix.png")
            .await
            .expect("screenshot");
        let paths = text_of(&desktop, "[data-testid=\"grant-paths\"]").await;
        assert!(
            paths.contains("group:sre → binding") && paths.contains("role viewer on tenant acme"),
            "{paths}"
        );
        assert!(
            desktop
                .client
                .find(fantoccini::Locator::Css(
                    "[aria-label=\"user:bob@example.com holds rbac.write\"]"
                ))
                .await
                .is_err(),
            "bob does not hold rbac.write"
        );

        desktop.click("Bindings").await.expect("the Bindings tab");
        let bind = desktop
            .find("[aria-label=\"Preview the new binding\"]")
            .await
            .expect("the bind button");
        assert!(
            !bind.is_enabled().await.unwrap_or(true),
            "binding is offered"
        );
        let why = text_of(&desktop, "form[aria-label=\"New binding\"] .denied").await;
        assert_eq!(why, "Needs rbac.write on the platform");
        let remove = desktop
            .find("[aria-label^=\"Remove binding \"]")
            .await
            .expect("a binding's Remove");
        assert!(
            !remove.is_enabled().await.unwrap_or(true),
            "removing is offered"
        );
        assert_eq!(
            remove.attr("title").await.ok().flatten().as_deref(),
            Some("Needs rbac.write on the platform")
        );
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_production_a_binding_made_and_removed_in_the_window_previews_who_gains_and_loses_and_removal_needs_its_id(
) {
    bounded(async {
        let (admin, cli, http, root) = blocking(|| {
            let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
            let root = admin.token("root", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("root", "dev", &admin, &root);
            cli.run(&["tenants", "create", "--slug", "acme", "--name", "Acme"])
                .success();
            cli.run(&["users", "create", "--email", "cy@example.com", "--name", "Cy"])
                .success();
            let http = Http::new(&admin.url, Some(&root));
            (admin, cli, http, root)
        });
        let bindings_of_cy = || {
            let users = http.get("/v1/rbac/users?q=cy%40example.com").json();
            let id = users["items"][0]["id"].as_str().unwrap_or_default().to_string();
            let all = http.get("/v1/rbac/bindings?limit=200").json();
            all["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter(|b| b["subject"]["id"] == id.as_str())
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };

        let desktop = window_on(&cli).await;
        desktop
            .add_profile("prod", "prod", &admin.url, &root)
            .await
            .expect("add the production profile");
        wait_for_window_on(&desktop, "prod", "the window is on the new profile").await;
        desktop.click("Access").await.expect("click Access");
        desktop.click("Bindings").await.expect("the Bindings tab");
        desktop
            .fill("Binding subject", "user:cy@example.com")
            .await
            .expect("subject");
        desktop.select("Binding role", "operator").await.expect("role");
        desktop.fill("Binding tenant", "acme").await.expect("tenant");
        desktop
            .click("Preview the new binding")
            .await
            .expect("preview");
        let gains = desktop
            .find("dialog[open] [data-change=\"gains\"][data-holder=\"user:cy@example.com\"][data-permission=\"backups.run\"]")
            .await;
        assert!(
            gains.is_ok(),
            "the preview does not name cy gaining backups.run: {}",
            text_of(&desktop, "dialog[open]").await
        );
        assert!(blocking(bindings_of_cy).is_empty(), "the preview bound");
        desktop.click("Apply").await.expect("apply");
        let bound = wait_until_async("the binding", Duration::from_secs(15), || async {
            blocking(bindings_of_cy).len() == 1
        })
        .await;
        assert!(bound.is_ok(), "{}", text_of(&desktop, "body").await);
        let binding = blocking(bindings_of_cy)[0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();

        desktop
            .click(&format!("Remove binding {binding}"))
            .await
            .expect("remove");
        let loses = desktop
            .find("dialog[open] [data-change=\"loses\"][data-holder=\"user:cy@example.com\"][data-permission=\"backups.run\"]")
            .await;
        assert!(
            loses.is_ok(),
            "the preview does not name cy losing backups.run: {}",
            text_of(&desktop, "dialog[open]").await
        );
        let remove = desktop
            .find("dialog[open] button[aria-label=\"Remove binding\"]")
            .await
            .expect("the dialog's Remove");
        assert!(
            !remove.is_enabled().await.unwrap_or(true),
            "production removes without the id typed"
        );
        desktop
            .fill("Type the binding id to confirm", &binding)
            .await
            .expect("type the id");
        desktop.click("Remove binding").await.expect("confirm");
        let gone = wait_until_async("the removal", Duration::from_secs(15), || async {
            blocking(bindings_of_cy).is_empty()
        })
        .await;
        assert!(gone.is_ok(), "{}", text_of(&desktop, "body").await);
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}
