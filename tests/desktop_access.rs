//! Users and groups changed in the real window's Access view, checked on
//! the server through its API; and a token without `rbac.write` offered
//! none of those changes, each naming the permission it lacks.
//!
//! Needs what tests/desktop.rs needs: `cargo build -p opsdeck-desktop -p
//! platform-admin -p opsdeck-cli --bins` and `cd ui && npm run build`, and
//! runs in `dbus-run-session -- tests/with-keyring`.

use std::time::Duration;

use opsdeck_tests::desktop::Desktop;
use opsdeck_tests::{blocking, wait_until_async, within, Backend, Cli, Http, PlatformAdmin};

const DENIED: &str = "Needs rbac.write on the platform";

/// A whole test's deadline: the WebDriver calls a test makes itself
/// (reading a text, checking a button) have none of their own.
async fn bounded(test: impl std::future::Future<Output = ()>) {
    within("the test", Duration::from_secs(300), test)
        .await
        .expect("the test finished in time");
}

/// The app on `cli`'s config dir, with web storage of its own.
async fn window_on(cli: &Cli) -> Desktop {
    let web_data = cli.config_dir.path().join("webview");
    Desktop::start(&[
        ("OPSDECK_CONFIG_DIR", cli.config_dir.path()),
        ("XDG_DATA_HOME", &web_data),
    ])
    .await
    .expect("desktop app")
}

/// The text of the first element matching `css`, or "" when there is none.
async fn text_of(desktop: &Desktop, css: &str) -> String {
    let Ok(element) = desktop.client.find(fantoccini::Locator::Css(css)).await else {
        return String::new();
    };
    element.text().await.unwrap_or_default()
}

/// The open dialog's confirmation summary, once it has been read from core.
async fn confirm_summary(desktop: &Desktop) -> String {
    let css = "dialog[open] [data-testid=\"confirm-summary\"]";
    let _ = wait_until_async("the summary", Duration::from_secs(10), || async {
        !text_of(desktop, css).await.is_empty()
    })
    .await;
    text_of(desktop, css).await
}

/// Whether the control matching `css` can be used, and its tooltip.
async fn control(desktop: &Desktop, css: &str) -> (bool, Option<String>) {
    let element = desktop.find(css).await.expect(css);
    let enabled = element.is_enabled().await.unwrap_or(true);
    let title = element.attr("title").await.ok().flatten();
    (enabled, title)
}

/// The server's users whose email contains `text`.
fn users(http: &Http, text: &str) -> Vec<serde_json::Value> {
    let q = text.replace('@', "%40");
    http.get(&format!("/v1/rbac/users?q={q}")).json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The server's group named `name`, or null.
fn group(http: &Http, name: &str) -> serde_json::Value {
    let list = http.get(&format!("/v1/rbac/groups?q={name}")).json();
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|g| g["name"] == name).cloned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_made_and_renamed_and_a_group_made_in_the_window_exist_on_the_server_with_the_membership(
) {
    bounded(async {
        let (admin, cli, http) = blocking(|| {
            let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
            let root = admin.token("root", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("root", "dev", &admin, &root);
            let http = Http::new(&admin.url, Some(&root));
            (admin, cli, http)
        });

        let desktop = window_on(&cli).await;
        desktop.click("Access").await.expect("click Access");
        desktop.click("Users").await.expect("the Users tab");

        // Core's check of the draft comes back at the field it faults.
        desktop.fill("Email", "dee").await.expect("email");
        desktop.fill("Display name", "Dee").await.expect("name");
        desktop.click("Create user").await.expect("create");
        let faulted = wait_until_async("the email's error", Duration::from_secs(10), || async {
            !text_of(&desktop, "#new-user-email-error").await.is_empty()
        })
        .await;
        assert!(
            faulted.is_ok(),
            "no error at the email: {}",
            text_of(&desktop, "form[aria-label=\"New user\"]").await
        );
        assert!(
            blocking(|| users(&http, "dee")).is_empty(),
            "a bad draft was sent"
        );

        desktop
            .fill("Email", "dee@example.com")
            .await
            .expect("email");
        desktop.click("Create user").await.expect("create");
        let created = wait_until_async("the user", Duration::from_secs(15), || async {
            blocking(|| users(&http, "dee@example.com")).len() == 1
        })
        .await;
        assert!(created.is_ok(), "{}", text_of(&desktop, "body").await);
        desktop
            .find("tr[data-user=\"dee@example.com\"]")
            .await
            .expect("the new user's row");
        let dee = blocking(|| users(&http, "dee@example.com"))[0].clone();
        assert_eq!(dee["display_name"], "Dee", "{dee:#}");

        // The server's refusal of a taken email shows at the email too.
        desktop
            .fill("Email", "dee@example.com")
            .await
            .expect("email");
        desktop
            .fill("Display name", "Dee again")
            .await
            .expect("name");
        desktop.click("Create user").await.expect("create again");
        let taken = wait_until_async("the taken email", Duration::from_secs(10), || async {
            !text_of(&desktop, "#new-user-email-error").await.is_empty()
        })
        .await;
        assert!(
            taken.is_ok(),
            "no error at the email: {}",
            text_of(&desktop, "form[aria-label=\"New user\"]").await
        );
        let error = text_of(&desktop, "#new-user-email-error").await;
        assert!(error.contains("dee@example.com"), "{error}");
        assert_eq!(blocking(|| users(&http, "dee@example.com")).len(), 1);

        desktop
            .click("Rename dee@example.com")
            .await
            .expect("rename");
        desktop
            .fill("Display name of dee@example.com", "Dee Dee")
            .await
            .expect("the new name");
        desktop
            .click("Save the display name of dee@example.com")
            .await
            .expect("save");
        let renamed = wait_until_async("the new name", Duration::from_secs(15), || async {
            blocking(|| users(&http, "dee@example.com"))[0]["display_name"] == "Dee Dee"
        })
        .await;
        assert!(renamed.is_ok(), "{}", text_of(&desktop, "body").await);

        desktop
            .picture_for_docs("access-users.png")
            .await
            .expect("screenshot");
        desktop.click("Groups").await.expect("the Groups tab");
        desktop.fill("Group name", "oncall").await.expect("name");
        desktop
            .fill("Directory group (optional)", "OnCall Team")
            .await
            .expect("directory name");
        desktop.click("Create group").await.expect("create");
        let made = wait_until_async("the group", Duration::from_secs(15), || async {
            !blocking(|| group(&http, "oncall")).is_null()
        })
        .await;
        assert!(made.is_ok(), "{}", text_of(&desktop, "body").await);
        assert_eq!(
            blocking(|| group(&http, "oncall"))["external_name"],
            "OnCall Team"
        );

        desktop
            .fill("Member to add to oncall", "dee@example.com")
            .await
            .expect("the member");
        desktop
            .click("Add member to oncall")
            .await
            .expect("add the member");
        let joined = wait_until_async("the membership", Duration::from_secs(15), || async {
            let members = blocking(|| group(&http, "oncall"))["members"].clone();
            members
                .as_array()
                .is_some_and(|m| m.iter().any(|id| *id == dee["id"]))
        })
        .await;
        assert!(joined.is_ok(), "{}", text_of(&desktop, "body").await);
        desktop
            .find("[aria-label=\"Members of oncall\"] [data-member=\"dee@example.com\"]")
            .await
            .expect("the member listed in the window");
        desktop
            .picture_for_docs("access-groups.png")
            .await
            .expect("screenshot");
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_token_sees_every_user_and_group_change_disabled_naming_rbac_write() {
    bounded(async {
        let (admin, cli) = blocking(|| {
            let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
            let root = admin.token("root", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("root", "dev", &admin, &root);
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
            cli.second_person(&admin, "viewer", "viewer");
            cli.run(&["profile", "use", "viewer"]).success();
            (admin, cli)
        });

        let desktop = window_on(&cli).await;
        desktop.click("Access").await.expect("click Access");
        desktop.click("Users").await.expect("the Users tab");
        desktop
            .find("tr[data-user=\"bob@example.com\"]")
            .await
            .expect("bob's row");
        let denied = wait_until_async("the named permission", Duration::from_secs(10), || async {
            text_of(&desktop, "[data-testid=\"users-denied\"]").await == DENIED
        })
        .await;
        assert!(
            denied.is_ok(),
            "{}",
            text_of(&desktop, "form[aria-label=\"New user\"]").await
        );
        for css in [
            "[aria-label=\"Create user\"]",
            "[aria-label=\"Rename bob@example.com\"]",
            "[aria-label=\"Disable bob@example.com\"]",
            "[aria-label=\"Delete user bob@example.com\"]",
        ] {
            let (enabled, title) = control(&desktop, css).await;
            assert!(!enabled, "{css} is offered");
            assert_eq!(title.as_deref(), Some(DENIED), "{css}");
        }

        desktop.click("Groups").await.expect("the Groups tab");
        assert_eq!(
            text_of(&desktop, "[data-testid=\"groups-denied\"]").await,
            DENIED
        );
        for css in [
            "[aria-label=\"Create group\"]",
            "[aria-label=\"Add member to sre\"]",
            "[aria-label=\"Remove bob@example.com from sre\"]",
            "[aria-label=\"Delete group sre\"]",
        ] {
            let (enabled, title) = control(&desktop, css).await;
            assert!(!enabled, "{css} is offered");
            assert_eq!(title.as_deref(), Some(DENIED), "{css}");
        }
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_production_disabling_says_the_tokens_stop_enabling_restores_them_and_removals_need_the_email_or_name_typed(
) {
    bounded(async {
        let (admin, cli, http, root) = blocking(|| {
            let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
            let root = admin.token("root", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("root", "dev", &admin, &root);
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
            let http = Http::new(&admin.url, Some(&root));
            (admin, cli, http, root)
        });
        let bob = || users(&http, "bob@example.com");

        let desktop = window_on(&cli).await;
        desktop
            .add_profile("prod", "prod", &admin.url, &root)
            .await
            .expect("add the production profile");
        desktop.click("Access").await.expect("click Access");
        desktop.click("Users").await.expect("the Users tab");
        desktop
            .click("Disable bob@example.com")
            .await
            .expect("disable");
        let summary = confirm_summary(&desktop).await;
        assert!(
            summary.contains("every API token of theirs stops working"),
            "{summary}"
        );
        assert_eq!(blocking(bob)[0]["status"], "active", "asked, not yet sent");
        desktop.click("Disable user").await.expect("confirm");
        let disabled = wait_until_async("the user disabled", Duration::from_secs(15), || async {
            blocking(bob)[0]["status"] == "disabled"
        })
        .await;
        assert!(disabled.is_ok(), "{}", text_of(&desktop, "body").await);
        desktop
            .click("Enable bob@example.com")
            .await
            .expect("enable");
        let summary = confirm_summary(&desktop).await;
        assert!(summary.contains("API tokens work again"), "{summary}");
        desktop.click("Enable user").await.expect("confirm");
        let enabled = wait_until_async("the user enabled", Duration::from_secs(15), || async {
            blocking(bob)[0]["status"] == "active"
        })
        .await;
        assert!(enabled.is_ok(), "{}", text_of(&desktop, "body").await);

        desktop.click("Groups").await.expect("the Groups tab");
        desktop
            .click("Remove bob@example.com from sre")
            .await
            .expect("remove the member");
        let (enabled, _) = control(
            &desktop,
            "dialog[open] button[aria-label=\"Remove member\"]",
        )
        .await;
        assert!(
            !enabled,
            "production removes a member without the email typed"
        );
        desktop
            .fill("Type the email to confirm", "bob@example.com")
            .await
            .expect("type the email");
        desktop.click("Remove member").await.expect("confirm");
        let left = wait_until_async("the membership gone", Duration::from_secs(15), || async {
            blocking(|| group(&http, "sre"))["members"]
                .as_array()
                .is_some_and(|m| m.is_empty())
        })
        .await;
        assert!(left.is_ok(), "{}", text_of(&desktop, "body").await);

        desktop
            .click("Delete group sre")
            .await
            .expect("delete the group");
        let summary = confirm_summary(&desktop).await;
        assert!(
            summary.contains("Delete group sre on profile prod (prod)"),
            "{summary}"
        );
        let (enabled, _) =
            control(&desktop, "dialog[open] button[aria-label=\"Delete group\"]").await;
        assert!(
            !enabled,
            "production deletes a group without its name typed"
        );
        desktop
            .fill("Type the group name to confirm", "sre")
            .await
            .expect("type the name");
        desktop.click("Delete group").await.expect("confirm");
        let gone = wait_until_async("the group gone", Duration::from_secs(15), || async {
            blocking(|| group(&http, "sre")).is_null()
        })
        .await;
        assert!(gone.is_ok(), "{}", text_of(&desktop, "body").await);

        desktop.click("Users").await.expect("the Users tab");
        desktop
            .click("Delete user bob@example.com")
            .await
            .expect("delete the user");
        let summary = confirm_summary(&desktop).await;
        assert!(summary.contains("their tokens stop working"), "{summary}");
        desktop
            .fill("Type the email to confirm", "bob@example.co")
            .await
            .expect("type a near miss");
        let (enabled, _) =
            control(&desktop, "dialog[open] button[aria-label=\"Delete user\"]").await;
        assert!(!enabled, "a near miss deletes");
        desktop
            .fill("Type the email to confirm", "bob@example.com")
            .await
            .expect("type the email");
        desktop.click("Delete user").await.expect("confirm");
        let deleted = wait_until_async("the user gone", Duration::from_secs(15), || async {
            blocking(bob).is_empty()
        })
        .await;
        assert!(deleted.is_ok(), "{}", text_of(&desktop, "body").await);
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_profile_lists_users_and_groups_and_offers_no_change() {
    bounded(async {
        let (admin, cli) = blocking(|| {
            let admin = PlatformAdmin::start(Backend::Sqlite).expect("platform-admin");
            let root = admin.token("root", "admin").expect("token");
            let cli = Cli::new().expect("cli");
            cli.connect("root", "dev", &admin, &root);
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
            cli.run(&["profile", "set", "root", "--read-only"])
                .success();
            (admin, cli)
        });

        let desktop = window_on(&cli).await;
        desktop.click("Access").await.expect("click Access");
        desktop.click("Users").await.expect("the Users tab");
        desktop
            .find("tr[data-user=\"bob@example.com\"]")
            .await
            .expect("bob's row");
        let offered = |css: &'static str| {
            let desktop = &desktop;
            async move {
                desktop
                    .client
                    .find(fantoccini::Locator::Css(css))
                    .await
                    .is_ok()
            }
        };
        assert!(
            !offered("form[aria-label=\"New user\"]").await,
            "a new user is offered"
        );
        assert!(
            !offered("[aria-label=\"Delete user bob@example.com\"]").await,
            "deleting is offered"
        );
        desktop.click("Groups").await.expect("the Groups tab");
        desktop
            .find("[aria-label=\"Members of sre\"] [data-member=\"bob@example.com\"]")
            .await
            .expect("bob listed in sre");
        assert!(
            !offered("form[aria-label=\"New group\"]").await,
            "a new group is offered"
        );
        assert!(
            !offered("[aria-label=\"Add member to sre\"]").await,
            "adding is offered"
        );
        assert!(
            !offered("[aria-label=\"Remove bob@example.com from sre\"]").await,
            "removing is offered"
        );
        desktop.close().await.expect("close");
        drop(admin);
    })
    .await;
}
