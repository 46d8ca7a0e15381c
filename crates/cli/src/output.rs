//! How the CLI prints: tables for people, JSON for scripts, errors on stderr.
//! Much of what it prints came from a server (tenant names, error messages),
//! so nothing reaches the terminal with control characters in it: text for
//! people is cleaned, and JSON escapes what it would otherwise pass raw.

use comfy_table::{presets, ContentArrangement, Table};
use opsdeck_core::{sanitize, Error, ErrorReport, Remedy};
use serde::Serialize;

pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn json<T: Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{}", escape_json(&text)),
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
            table.add_row(row.iter().map(|cell| sanitize::remote(cell)));
        }
        println!("{table}");
    }

    /// One record as `key value` lines.
    pub fn fields(&self, fields: &[(&str, String)]) {
        for (key, value) in fields {
            println!("{key:<13} {}", sanitize::remote(value));
        }
    }

    /// A line for people that scripts reading stdout never see.
    pub fn note(&self, text: &str) {
        eprintln!("{}", sanitize::remote(text));
    }
}

/// Prints an error to stderr: the message, or with `--json` anywhere on the
/// command line, the `{code, message, details}` report.
pub fn error(e: &Error) {
    if std::env::args().any(|a| a == "--json") {
        let report = ErrorReport::from(e);
        if let Ok(text) = serde_json::to_string(&report) {
            eprintln!("{}", escape_json(&text));
            return;
        }
    }
    eprintln!("error: {}", sanitize::remote(&e.to_string()));
    if let Some(remedy) = e.remedy() {
        if let Some(line) = remedy_line(&remedy) {
            eprintln!("{}", sanitize::remote(&line));
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

/// JSON as serde_json writes it, with the control characters it leaves raw
/// (DEL, C1) and the bidirectional overrides escaped as `\uXXXX`. They can
/// only occur inside strings, so the JSON means the same, and a script gets
/// every byte of the data while the terminal gets none of the control.
fn escape_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || sanitize::is_bidi_control(c) {
            if c == '\n' {
                out.push(c);
            } else {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::escape_json;

    #[test]
    fn json_keeps_the_data_but_not_the_control() {
        let value = serde_json::json!({ "name": "a\u{1b}[31mb\u{9b}c\u{202e}d\u{7f}" });
        let text = serde_json::to_string_pretty(&value).expect("json");
        let escaped = escape_json(&text);
        assert!(
            !escaped.chars().any(|c| c.is_control() && c != '\n'),
            "{escaped:?}"
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).expect("still JSON");
        assert_eq!(back, value);
    }
}
