//! An unacknowledged P1 escalating: the real platform-admin's sweep hands
//! it down the configured escalation list, and `opsdeck alerts watch
//! --notify` raises a critical desktop notification, repeated until the
//! incident is acknowledged, on a recording notification server on the
//! test's D-Bus session bus.
//!
//! One test function: the recorder owns the bus's one notification name.

use std::process::Command;
use std::time::Duration;

use opsdeck_tests::process::output_blocking;
use opsdeck_tests::{
    wait_until, Alertmanager, Backend, Cli, NotificationServer, PlatformAdmin, Proc,
};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
/// Several looks of the watch and sweeps of the server.
const QUIET_SPELL: Duration = Duration::from_secs(5);

fn escalations(server: &NotificationServer) -> Vec<Value> {
    server
        .received()
        .into_iter()
        .filter(|n| {
            n["summary"]
                .as_str()
                .is_some_and(|s| s.contains("incident not acknowledged"))
        })
        .collect()
}

#[test]
fn an_unacknowledged_p1_escalates_with_a_repeated_critical_notification_until_acknowledged() {
    let am = Alertmanager::start().expect("alertmanager");
    let server = NotificationServer::start().expect("notification recorder");
    let config = am.dir.path().join("platform-admin.toml");
    std::fs::write(
        &config,
        "[incidents]\nescalation = [\"ann@example.test\", \"bob@example.test\"]\nsweep_every = \"1s\"\n\
         [incidents.targets.P1]\nacknowledge = \"4s\"\n",
    )
    .expect("write the configuration");
    let config = config.to_string_lossy().into_owned();
    let admin =
        PlatformAdmin::start_with(Backend::Sqlite, &["--config", &config]).expect("platform-admin");
    let token = admin.token("ops", "admin").expect("token");
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

    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd: Command = cli.command();
    cmd.args([
        "--json",
        "alerts",
        "watch",
        "--notify",
        "--interval",
        "1s",
        "--repeat-escalations",
        "2s",
    ]);
    let mut watch = Proc::spawn(cmd, "watch", dir.path()).expect("start the watch");
    watch
        .wait_for_line(WAIT, |line| {
            let event: Value = serde_json::from_str(line).ok()?;
            (event["event"] == "started").then_some(())
        })
        .expect("the watch starts");

    let opened = cli
        .run(&[
            "incident",
            "open",
            "--title",
            "Database down",
            "--severity",
            "P1",
            "--json",
        ])
        .success()
        .json();
    let id = opened["incident"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let p3 = cli
        .run(&[
            "incident",
            "open",
            "--title",
            "Slow reports",
            "--severity",
            "P3",
            "--json",
        ])
        .success()
        .json();

    // Escalated to ann after 3s, to bob after 6s; told at least twice.
    wait_until("two escalation notifications", WAIT, || {
        escalations(&server).len() >= 2
    })
    .unwrap_or_else(|e| panic!("{e}: {:#?}\n{}", server.received(), watch.log()));
    let told = escalations(&server);
    for n in &told {
        assert_eq!(n["urgency"], 2, "critical: {n:#}");
        assert!(
            n["summary"]
                .as_str()
                .is_some_and(|s| s.contains("P1 incident not acknowledged: Database down")),
            "{n:#}"
        );
        assert!(n["body"].as_str().is_some_and(|b| b.contains(&id)), "{n:#}");
    }
    assert!(
        told[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("ann@example.test")),
        "{told:#?}"
    );
    let shown = cli
        .run(&["incident", "show", &id, "--json"])
        .success()
        .json();
    let to: Vec<&str> = shown["escalations"]
        .as_array()
        .expect("escalations")
        .iter()
        .filter_map(|e| e["to"].as_str())
        .collect();
    assert_eq!(to.first(), Some(&"ann@example.test"), "{shown:#}");
    let timeline_escalations = shown["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "escalated" && e["actor"] == "platform-admin")
        .count();
    assert_eq!(timeline_escalations, to.len());

    cli.run(&["incident", "ack", &id]).success();
    // What was on its way when it was acknowledged may still arrive.
    std::thread::sleep(Duration::from_secs(2));
    let at_ack = escalations(&server).len();
    std::thread::sleep(QUIET_SPELL);
    assert_eq!(
        escalations(&server).len(),
        at_ack,
        "nothing after the acknowledgement: {:#?}",
        server.received()
    );
    let quiet = cli
        .run(&[
            "incident",
            "show",
            p3["incident"]["id"].as_str().expect("id"),
            "--json",
        ])
        .success()
        .json();
    assert_eq!(
        quiet["escalations"].as_array().map(Vec::len),
        Some(0),
        "a P3 never escalates"
    );

    let mut kill = Command::new("kill");
    kill.args(["-TERM", &watch.id().to_string()]);
    let out = output_blocking(kill, b"", WAIT).expect("kill -TERM");
    assert!(out.status.success(), "{out:?}");
    wait_until("the watch to stop", WAIT, || !watch.running())
        .unwrap_or_else(|e| panic!("{e}; its log:\n{}", watch.log()));
}
