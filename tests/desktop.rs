//! The real desktop window under Xvfb, driven like a user through
//! tauri-driver + WebKitWebDriver, against a real platform-admin with the demo
//! data set; tokens go to the session's real gnome-keyring. The harness's
//! blocking helpers (HTTP, the server, the CLI's sync runs) tell tokio they
//! block, and every wait here is async with a deadline.

use std::time::Duration;

use opsdeck_tests::desktop::Desktop;
use opsdeck_tests::{wait_until_async, within, Backend, Cli, Http, PlatformAdmin};

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

/// The app in a window of its own, with a config dir the CLI shares.
async fn window() -> (Cli, Desktop) {
    let cli = Cli::new().expect("cli");
    let desktop = Desktop::start(&[("OPSDECK_CONFIG_DIR", cli.config_dir.path())])
        .await
        .expect("desktop app");
    (cli, desktop)
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

        if let Some(dir) = std::env::var_os("OPSDECK_SCREENSHOTS") {
            desktop
                .fill("Search tenants", "")
                .await
                .expect("clear search");
            tokio::time::sleep(Duration::from_millis(500)).await;
            let path = std::path::Path::new(&dir).join("tenants.png");
            desktop.screenshot(&path).await.expect("screenshot");
        }

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
            count.text().await.unwrap_or_default().starts_with("1 of ")
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
        if let Some(dir) = std::env::var_os("OPSDECK_SCREENSHOTS") {
            let path = std::path::Path::new(&dir).join("prod-confirm.png");
            desktop.screenshot(&path).await.expect("screenshot");
        }
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
        if let Some(dir) = std::env::var_os("OPSDECK_SCREENSHOTS") {
            desktop
                .fill("Search tenants", "")
                .await
                .expect("clear search");
            tokio::time::sleep(Duration::from_millis(300)).await;
            let path = std::path::Path::new(&dir).join("prod-offline.png");
            desktop.screenshot(&path).await.expect("screenshot");
        }
        desktop.close().await.expect("close");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_replaces_a_refused_token_and_removes_a_profile() {
    bounded(async {
        let (admin, token, http) = demo_platform();
        let demo_count = http.tenant_count();
        let (cli, desktop) = window().await;

        // A profile saved with a token the server does not know.
        desktop
            .add_profile("ops", "staging", &admin.url, "opd_not-a-real-token")
            .await
            .expect("add profile");

        // Core names the remedy; the window offers it as a button.
        let failure = desktop
            .find(".state.error")
            .await
            .expect("the list's error");
        let text = failure.text().await.expect("error text");
        assert!(
            text.contains("refused the token of profile `ops`"),
            "error reads `{text}`"
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
        if let Some(dir) = std::env::var_os("OPSDECK_SCREENSHOTS") {
            let path = std::path::Path::new(&dir).join("prod-quota-cut.png");
            desktop.screenshot(&path).await.expect("screenshot");
        }
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
