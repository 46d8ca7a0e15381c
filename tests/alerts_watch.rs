//! `opsdeck alerts watch --notify` against a real Alertmanager, its
//! notifications counted by a recording notification server on the test's
//! D-Bus session bus: one per new group, one per resolve, one summary for
//! what fired while it was stopped, one for a storm of ten thousand alerts,
//! and nothing repeated after a restart.
//!
//! One test function: the recorder owns the bus's one notification name.

use std::process::Command;
use std::time::Duration;

use opsdeck_tests::port::Refusing;
use opsdeck_tests::process::output_blocking;
use opsdeck_tests::{wait_until, Alertmanager, Cli, NotificationServer, Proc};
use serde_json::{json, Value};

/// How often the watch asks Alertmanager in this test.
const INTERVAL: &str = "1s";
/// Long enough for several looks of the watch: what it has not told by
/// then it will not tell.
const QUIET_SPELL: Duration = Duration::from_secs(4);
const WAIT: Duration = Duration::from_secs(30);
/// Ten thousand groups take Alertmanager and the watch a while on a busy
/// machine: each look reads them all.
const STORM: Duration = Duration::from_secs(120);

fn alert(name: &str, severity: &str, instance: &str) -> Value {
    json!({
        "labels": {"alertname": name, "severity": severity, "instance": instance},
        "annotations": {"summary": format!("{name} on {instance}")},
    })
}

fn resolved(name: &str, severity: &str, instance: &str) -> Value {
    let mut a = alert(name, severity, instance);
    let past = (chrono::Utc::now() - chrono::TimeDelta::seconds(5)).to_rfc3339();
    a["startsAt"] = json!((chrono::Utc::now() - chrono::TimeDelta::minutes(10)).to_rfc3339());
    a["endsAt"] = json!(past);
    a
}

/// A running `opsdeck alerts watch --notify --json`.
struct Watch {
    proc: Proc,
    _dir: tempfile::TempDir,
}

impl Watch {
    fn start(cli: &Cli) -> (Self, Value) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd: Command = cli.command();
        cmd.args([
            "--json",
            "alerts",
            "watch",
            "--notify",
            "--severity",
            "warning",
            "--interval",
            INTERVAL,
        ]);
        let mut proc = Proc::spawn(cmd, "watch", dir.path()).expect("start the watch");
        let started = proc
            .wait_for_line(WAIT, |line| {
                let event: Value = serde_json::from_str(line).ok()?;
                (event["event"] == "started").then_some(event)
            })
            .expect("the watch starts");
        (Self { proc, _dir: dir }, started)
    }

    /// Stops it as Ctrl-C or a service manager would, and waits until it
    /// has ended.
    fn stop(mut self) {
        let mut kill = Command::new("kill");
        kill.args(["-TERM", &self.proc.id().to_string()]);
        let out = output_blocking(kill, b"", WAIT).expect("kill -TERM");
        assert!(out.status.success(), "{out:?}");
        wait_until("the watch to stop", WAIT, || !self.proc.running())
            .unwrap_or_else(|e| panic!("{e}; its log:\n{}", self.proc.log()));
    }

    /// Waits for the watch to report `n` critical alerts firing (the
    /// window's tray shows it).
    fn critical(&mut self, n: u64) {
        self.proc
            .wait_for_line(STORM, |line| {
                let event: Value = serde_json::from_str(line).ok()?;
                (event["event"] == "critical" && event["firing"] == n).then_some(())
            })
            .unwrap_or_else(|e| panic!("{n} critical alerts: {e}"));
    }

    /// The next notice the watch prints: `what` the test waits for.
    fn notice(&mut self, what: &str) -> Value {
        self.notice_within(what, WAIT)
    }

    fn notice_within(&mut self, what: &str, limit: Duration) -> Value {
        self.proc
            .wait_for_line(limit, |line| {
                let event: Value = serde_json::from_str(line).ok()?;
                (event["event"] == "notice").then(|| event["notice"].clone())
            })
            .unwrap_or_else(|e| panic!("{what}: {e:#}"))
    }
}

fn wait_for_count(server: &NotificationServer, n: usize) {
    wait_until(&format!("{n} notifications"), WAIT, || {
        server.received().len() >= n
    })
    .unwrap_or_else(|e| panic!("{e}: {:#?}\n{}", server.received(), server.log()));
}

fn summaries(server: &NotificationServer) -> Vec<String> {
    server
        .received()
        .iter()
        .map(|n| n["summary"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_watch_notifies_each_group_once_a_storm_once_and_nothing_again_after_a_restart() {
    let am = Alertmanager::start_grouped_by(&["alertname"]).expect("alertmanager");
    let server = NotificationServer::start().expect("notification recorder");
    let cli = Cli::new().expect("cli");
    let admin = Refusing::new().expect("a refusing admin port");
    cli.run(&[
        "profile",
        "add",
        "ops",
        "--admin-url",
        &admin.url(),
        "--tier",
        "dev",
        "--use",
        "--alertmanager-url",
        &am.url,
    ])
    .success();
    cli.run_with_stdin(&["login", "ops", "--token-stdin"], "secret-admin-token")
        .success();

    // New groups: two fire (one of two alerts), one is below the severity.
    let (mut watch, started) = Watch::start(&cli);
    assert_eq!(started["remembered"], 0, "{started}");
    assert_eq!(started["severity"], "warning");
    // Its first look is done (nothing fires): what comes next is news, not
    // what fired before it started.
    watch.critical(0);
    am.post_alerts(&json!([
        alert("HighErrorRate", "critical", "a"),
        alert("HighErrorRate", "critical", "b"),
        alert("DiskFilling", "warning", "a"),
        alert("Chatter", "info", "a"),
    ]))
    .expect("post");
    let told = [
        watch.notice("the first group"),
        watch.notice("the second group"),
    ];
    assert!(told.iter().all(|n| n["kind"] == "fired"), "{told:?}");
    wait_for_count(&server, 2);
    std::thread::sleep(QUIET_SPELL);
    let mut got = summaries(&server);
    got.sort();
    assert_eq!(
        got,
        [
            "ops: DiskFilling firing (warning)",
            "ops: HighErrorRate firing (critical)"
        ]
    );
    let received = server.received();
    let high = received
        .iter()
        .find(|n| {
            n["summary"]
                .as_str()
                .is_some_and(|s| s.contains("HighErrorRate"))
        })
        .expect("HighErrorRate notified");
    assert_eq!(high["urgency"], 2, "{high}");
    assert_eq!(high["app"], "Opsdeck");
    assert!(
        high["body"]
            .as_str()
            .unwrap_or_default()
            .contains("2 alerts"),
        "{high}"
    );
    let disk = received
        .iter()
        .find(|n| {
            n["summary"]
                .as_str()
                .is_some_and(|s| s.contains("DiskFilling"))
        })
        .expect("DiskFilling notified");
    assert_eq!(disk["urgency"], 1, "{disk}");

    // A restart repeats nothing.
    watch.stop();
    let (mut watch, started) = Watch::start(&cli);
    assert_eq!(started["remembered"], 2, "{started}");
    watch.critical(2);
    std::thread::sleep(QUIET_SPELL);
    assert_eq!(server.received().len(), 2, "{:#?}", server.received());

    // A resolve is told once.
    am.post_alerts(&json!([resolved("DiskFilling", "warning", "a")]))
        .expect("resolve");
    let notice = watch.notice("the resolve");
    assert_eq!(notice["kind"], "resolved", "{notice}");
    wait_for_count(&server, 3);
    std::thread::sleep(QUIET_SPELL);
    assert_eq!(summaries(&server)[2], "ops: DiskFilling resolved");
    assert_eq!(server.received()[2]["urgency"], 0);
    assert_eq!(server.received().len(), 3);

    // What fires while the watch is stopped is summed up once on start.
    watch.stop();
    am.post_alerts(&json!([
        alert("QueueBacklog", "critical", "a"),
        alert("SlowResponses", "warning", "a"),
    ]))
    .expect("post while stopped");
    let (mut watch, _) = Watch::start(&cli);
    let notice = watch.notice("the summary of the time away");
    assert_eq!(notice["kind"], "summary", "{notice}");
    assert_eq!(notice["reason"], "while_away");
    wait_for_count(&server, 4);
    std::thread::sleep(QUIET_SPELL);
    assert_eq!(
        summaries(&server)[3],
        "ops: While Opsdeck was not watching: 2 new alerts, 1 critical"
    );
    assert_eq!(server.received().len(), 4);

    // A storm of ten thousand alerts is one summary.
    let storm: Vec<Value> = (0..10_000)
        .map(|i| {
            let severity = if i % 1000 == 0 { "critical" } else { "warning" };
            alert(&format!("Storm{i:05}"), severity, "a")
        })
        .collect();
    am.post_alerts(&Value::Array(storm))
        .expect("post the storm");
    // Two HighErrorRate, QueueBacklog, and ten of the storm.
    watch.critical(13);
    let notice = watch.notice_within("the storm's summary", STORM);
    assert_eq!(notice["kind"], "summary", "{notice}");
    assert_eq!(notice["reason"], "storm");
    assert_eq!(notice["fired_alerts"], 10_000);
    wait_for_count(&server, 5);
    std::thread::sleep(QUIET_SPELL);
    assert_eq!(summaries(&server)[4], "ops: 10000 new alerts, 10 critical");
    assert_eq!(server.received()[4]["urgency"], 2);
    assert_eq!(server.received().len(), 5, "{:#?}", summaries(&server));

    // Nor is the storm told again after a restart.
    watch.stop();
    let (mut watch, started) = Watch::start(&cli);
    assert_eq!(started["remembered"], 10_003, "{started}");
    watch.critical(13);
    std::thread::sleep(QUIET_SPELL);
    assert_eq!(server.received().len(), 5, "{:#?}", summaries(&server));
}
