//! The sandbox scripts the README starts with: `sandbox/up` brings up a real
//! platform with demo data and a working `sandbox` profile, twice without
//! harm; `sandbox/down` stops it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use opsdeck_tests::port::{retry_on_collision, Attempt};
use opsdeck_tests::process::output_blocking;
use opsdeck_tests::Cli;

fn script(name: &str, cli: &Cli, state: &Path, port: u16) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("sandbox").join(name))
        .env("OPSDECK_CONFIG_DIR", cli.config_dir.path())
        .env("OPSDECK_SANDBOX_DIR", state)
        .env("OPSDECK_SANDBOX_PORT", port.to_string());
    // `up` may build the binaries first.
    output_blocking(cmd, b"", Duration::from_secs(600)).expect("run sandbox script")
}

/// The first `up`, on a port the script is told: should another program
/// take it first, the script says so and the next port is tried.
fn first_up(cli: &Cli, state: &Path) -> u16 {
    retry_on_collision("sandbox/up", |port| {
        let up = script("up", cli, state, port);
        let said = String::from_utf8_lossy(&up.stderr);
        Ok(if up.status.success() {
            Attempt::Up(port)
        } else if said.contains("is taken") || said.contains("in use") {
            Attempt::Collision(said.into_owned())
        } else {
            panic!("sandbox/up failed:\n{said}")
        })
    })
    .expect("sandbox/up on a free port")
}

/// Runs `sandbox/down` when the test ends, pass or fail.
struct Down<'a>(&'a Cli, &'a Path, u16);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = script("down", self.0, self.1, self.2);
    }
}

#[test]
fn sandbox_up_serves_demo_tenants_to_the_sandbox_profile_and_down_stops_it() {
    let cli = Cli::new().expect("cli");
    let state = tempfile::tempdir().expect("state dir");
    let port = first_up(&cli, state.path());
    let _down = Down(&cli, state.path(), port);

    let mut count = 0;
    for round in 0..2 {
        if round > 0 {
            let up = script("up", &cli, state.path(), port);
            assert!(
                up.status.success(),
                "sandbox/up (round {round}) failed:\n{}",
                String::from_utf8_lossy(&up.stderr)
            );
        }
        let view = cli.run(&["--json", "tenants", "list"]).success().json();
        assert_eq!(view["profile"], "sandbox");
        assert_eq!(view["tier"], "dev");
        let tenants = view["tenants"].as_array().expect("tenants").len();
        assert!(tenants >= 50, "demo data has {tenants} tenants");
        if round == 1 {
            assert_eq!(tenants, count, "a second `up` adds no tenants");
        }
        count = tenants;
    }
    let suspended = cli
        .run(&["--json", "tenants", "list", "--status", "suspended"])
        .success()
        .json();
    assert!(!suspended["tenants"].as_array().expect("tenants").is_empty());

    let down = script("down", &cli, state.path(), port);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let after = cli.run(&["--json", "tenants", "list"]).stale().json();
    assert!(
        after["stale"].is_object(),
        "server stopped: the list is stale"
    );
}
