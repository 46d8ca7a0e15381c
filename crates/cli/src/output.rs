//! How the CLI prints: tables for people, JSON for scripts, errors on stderr.

use comfy_table::{presets, ContentArrangement, Table};
use opsdeck_core::{Error, ErrorReport, Remedy};
use serde::Serialize;

pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn json<T: Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot print JSON: {e}"),
        }
    }

    pub fn table(&self, header: &[&str], rows: Vec<Vec<String>>) {
        let mut table = Table::new();
        table
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header);
        for row in rows {
            table.add_row(row);
        }
        println!("{table}");
    }

    /// A line for people that scripts reading stdout never see.
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }
}

/// Prints an error to stderr: the message, or with `--json` anywhere on the
/// command line, the `{code, message, details}` report.
pub fn error(e: &Error) {
    if std::env::args().any(|a| a == "--json") {
        let report = ErrorReport::from(e);
        if let Ok(text) = serde_json::to_string(&report) {
            eprintln!("{text}");
            return;
        }
    }
    eprintln!("error: {e}");
    if let Some(remedy) = e.remedy() {
        if let Some(line) = remedy_line(&remedy) {
            eprintln!("{line}");
        }
    }
}

/// Core's remedy, worded as what to type in a terminal.
fn remedy_line(remedy: &Remedy) -> Option<String> {
    match remedy {
        Remedy::SignIn { profile } => Some(format!(
            "hint: store a token with `opsdeck login {profile} --token-stdin`"
        )),
        Remedy::ChooseProfile => Some(
            "hint: see `opsdeck profile list`, then `opsdeck profile use <name>` or `opsdeck profile add <name> ...`"
                .to_string(),
        ),
        Remedy::UnlockKeyring => Some(
            "hint: start and unlock a Secret Service (GNOME Keyring, KWallet, KeePassXC), then run the command again"
                .to_string(),
        ),
        Remedy::Confirm { target } => Some(format!(
            "hint: type the slug at the prompt, or pass `--confirm {target}`"
        )),
        Remedy::Retry => None,
    }
}

/// "5 min ago" for people.
pub fn age(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}
