//! How the CLI prints: tables for people, JSON for scripts, errors on stderr.
//! With `--json`, stdout and stderr each carry JSON only: notes for people
//! are dropped (what they said is a field of the JSON), errors are one JSON
//! object. Much of what it prints came from a server (tenant names, error
//! messages), so nothing reaches the terminal with control characters in it:
//! text for people is cleaned, and JSON escapes what it would otherwise pass
//! raw. Times for people follow one rule: `2026-11-24 20:19 UTC`, and ages
//! like `5 min ago`; JSON carries RFC 3339 (ISO 8601) times.

use std::io::IsTerminal;

use chrono::{DateTime, Utc};
use opsdeck_core::{sanitize, Error, ErrorReport, Remedy};
use serde::Serialize;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::error::CliError;

pub struct Output {
    pub json: bool,
    /// Columns a table may take; `None` when nothing limits it (stdout is a
    /// file or a pipe, and `COLUMNS` is not set).
    pub width: Option<usize>,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self {
            json,
            width: terminal_width(),
        }
    }

    pub fn json<T: Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{}", escape_json(&text)),
            Err(e) => eprintln!("error: cannot print JSON: {e}"),
        }
    }

    /// One value as one line of JSON (JSON Lines), for a stream of events.
    pub fn json_line<T: Serialize>(&self, value: &T) {
        match serde_json::to_string(value) {
            Ok(text) => println!("{}", escape_json(&text)),
            Err(e) => eprintln!("error: cannot print JSON: {e}"),
        }
    }

    /// A table that fits the width: long text is cut with `…`, and when
    /// that is not enough, the columns that matter least are left out.
    pub fn table(&self, columns: &[Column], rows: Vec<Vec<String>>) {
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|row| row.iter().map(|cell| sanitize::remote(cell)).collect())
            .collect();
        for line in layout(columns, &rows, self.width) {
            println!("{line}");
        }
    }

    /// A listing: with `--json`, the whole `value`; for people, `rows` as a
    /// table, or the `empty` note when there are none.
    pub fn list(
        &self,
        value: &impl Serialize,
        empty: &str,
        columns: &[Column],
        rows: Vec<Vec<String>>,
    ) {
        if self.json {
            self.json(value);
        } else if rows.is_empty() {
            self.note(empty);
        } else {
            self.table(columns, rows);
        }
    }

    /// One record as `key value` lines.
    pub fn fields(&self, fields: &[(&str, String)]) {
        for (key, value) in fields {
            println!("{key:<13} {}", sanitize::remote(value));
        }
    }

    /// A line for people on stderr; with `--json` there is none, as scripts
    /// read stderr too (what it says must be in the JSON).
    pub fn note(&self, text: &str) {
        if !self.json {
            eprintln!("{}", sanitize::remote(text));
        }
    }
}

/// A column of a table.
pub struct Column {
    pub header: &'static str,
    /// Numbers line up on the right.
    pub right: bool,
    /// Free text that may be cut with `…` to fit.
    pub shrink: bool,
    /// Which columns go first when cutting is not enough: the lowest.
    /// `u8::MAX` is never left out.
    pub keep: u8,
}

impl Column {
    pub const fn text(header: &'static str, keep: u8) -> Self {
        Self {
            header,
            right: false,
            shrink: false,
            keep,
        }
    }

    pub const fn free_text(header: &'static str, keep: u8) -> Self {
        Self {
            header,
            right: false,
            shrink: true,
            keep,
        }
    }

    pub const fn number(header: &'static str, keep: u8) -> Self {
        Self {
            header,
            right: true,
            shrink: false,
            keep,
        }
    }
}

const GAP: usize = 2;
/// Free text is cut no shorter than this before columns are left out.
const COMFORTABLE: usize = 16;
/// ... and no shorter than this at all.
const NARROWEST: usize = 6;

/// The lines of a table: header, then rows, within `width` when given.
fn layout(columns: &[Column], rows: &[Vec<String>], width: Option<usize>) -> Vec<String> {
    let mut widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|cell| cell.width())
                .chain([c.header.width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut shown = vec![true; columns.len()];
    if let Some(max) = width {
        let total = |widths: &[usize], shown: &[bool]| {
            let n = shown.iter().filter(|s| **s).count();
            widths
                .iter()
                .zip(shown)
                .filter(|(_, s)| **s)
                .map(|(w, _)| w)
                .sum::<usize>()
                + GAP * n.saturating_sub(1)
        };
        // Which columns: free text counts as cut to a comfortable width;
        // while even that does not fit, the column that matters least goes.
        let floor = |i: usize, at: usize| at.max(columns[i].header.width());
        let comfortable: Vec<usize> = (0..columns.len())
            .map(|i| match columns[i].shrink {
                true => widths[i].min(floor(i, COMFORTABLE)),
                false => widths[i],
            })
            .collect();
        while total(&comfortable, &shown) > max {
            let least = (0..columns.len())
                .filter(|&i| shown[i] && columns[i].keep < u8::MAX)
                .min_by_key(|&i| columns[i].keep);
            match least {
                Some(i) => shown[i] = false,
                None => break,
            }
        }
        // Then cut the widest free text, a little at a time, so the room
        // left is shared out; down to the narrowest only when nothing else fits.
        for at in [COMFORTABLE, NARROWEST] {
            loop {
                let excess = total(&widths, &shown).saturating_sub(max);
                let mut candidates: Vec<usize> = (0..columns.len())
                    .filter(|&i| shown[i] && columns[i].shrink && widths[i] > floor(i, at))
                    .collect();
                candidates.sort_by_key(|&i| std::cmp::Reverse(widths[i]));
                let Some(&widest) = candidates.first() else {
                    break;
                };
                if excess == 0 {
                    break;
                }
                let next = candidates.get(1).map_or(0, |&i| widths[i]);
                let cut = excess.min(widths[widest] - next).max(1);
                widths[widest] = widths[widest].saturating_sub(cut).max(floor(widest, at));
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if !shown[i] {
                continue;
            }
            if !out.is_empty() {
                out.push_str(&" ".repeat(GAP));
            }
            let text = truncate(cell, widths[i]);
            let pad = " ".repeat(widths[i].saturating_sub(text.width()));
            if columns[i].right {
                out.push_str(&pad);
                out.push_str(&text);
            } else {
                out.push_str(&text);
                out.push_str(&pad);
            }
        }
        out.trim_end().to_string()
    };
    let mut lines = vec![line(columns.iter().map(|c| c.header).collect())];
    for row in rows {
        lines.push(line(
            (0..columns.len())
                .map(|i| row.get(i).map_or("", String::as_str))
                .collect(),
        ));
    }
    lines
}

/// `text` cut to `width` columns, ending in `…` when it was cut.
fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// The width of the terminal stdout is, or `COLUMNS`, or none.
fn terminal_width() -> Option<usize> {
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        if let Some(width) = crate::terminal::width() {
            return Some(width);
        }
    }
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(columns);
    }
    stdout.is_terminal().then_some(80)
}

/// Prints an error to stderr: in words for people, or with `--json`, as the
/// `{code, message, details, remedy}` report (and `preflight`, what a
/// refused confirmation would have done).
pub fn error(e: &CliError, json: bool, words_of: Words) {
    if json {
        let value = json_report(e);
        if let Ok(text) = serde_json::to_string(&value) {
            eprintln!("{}", escape_json(&text));
            return;
        }
    }
    for line in words(e, words_of) {
        eprintln!("{}", sanitize::remote(&line));
    }
}

/// A command line clap refused, as JSON for `--json`.
pub fn usage_error_json(message: &str) {
    let value = serde_json::json!({
        "code": "usage",
        "message": message.trim(),
        "details": [],
        "remedy": null,
    });
    eprintln!("{}", escape_json(&value.to_string()));
}

fn json_report(e: &CliError) -> serde_json::Value {
    match e {
        CliError::Core(core) => {
            let mut value = serde_json::to_value(ErrorReport::from(core))
                .unwrap_or_else(|_| serde_json::json!({ "code": core.code().as_str() }));
            if let (Error::ConfirmationRequired { summary, .. }, Some(map)) =
                (core, value.as_object_mut())
            {
                map.insert("preflight".into(), summary.clone().into());
            }
            value
        }
        other => serde_json::json!({
            "code": other.code(),
            "message": other.to_string(),
            "details": [],
            "remedy": null,
        }),
    }
}

/// The lines a person reads: what is wrong, in the words of the command
/// line (`--max-users`, not `quotas.max_users`), each said once; then what
/// to type about it, if anything.
fn words(e: &CliError, words_of: Words) -> Vec<String> {
    let core = match e {
        CliError::Core(core) => core,
        CliError::NoTerminal { profile } => {
            return vec![
                format!("error: {e}"),
                format!("hint: run it in a terminal to type the token, or pipe it in: `opsdeck login {profile} --token-stdin < token-file`"),
            ]
        }
        other => return vec![format!("error: {other}")],
    };
    let mut lines = match core {
        Error::Api {
            status, envelope, ..
        } => {
            // An approval's details say what to ask for; the remedy words them.
            if !envelope.details.is_empty()
                && envelope.code != opsdeck_api::ErrorCode::ApprovalRequired
            {
                envelope
                    .details
                    .iter()
                    .map(|d| match d.field.as_str() {
                        "" => format!("error: {}", d.message),
                        field => format!("error: {}: {}", flag(field, words_of), d.message),
                    })
                    .collect()
            } else if envelope.code == opsdeck_api::ErrorCode::IdempotencyKeyReused {
                // The server speaks of its header; the user typed a flag.
                vec!["error: --idempotency-key: this key was used before for a different request; nothing was done".to_string()]
            } else if *status >= 500 {
                let mut line = format!("error: the server failed ({status}): {}", envelope.message);
                if let Some(id) = &envelope.request_id {
                    line.push_str(&format!(" (request id {id})"));
                }
                vec![line]
            } else {
                vec![format!("error: {}", envelope.message)]
            }
        }
        Error::InvalidInput { field, message } => {
            vec![format!("error: {}: {message}", flag(field, words_of))]
        }
        // Every field error of the draft, each on its line, before anything
        // was sent.
        Error::InvalidFields { details } => details
            .iter()
            .map(|d| match d.field.as_str() {
                "" => format!("error: {}", d.message),
                field => format!("error: {}: {}", flag(field, words_of), d.message),
            })
            .collect(),
        // Each problem of a playbook on its line, at its place.
        Error::Playbook { diagnostics } => {
            diagnostics.iter().map(|d| format!("error: {d}")).collect()
        }
        other => vec![format!("error: {other}")],
    };
    if let Error::NoAlertmanager { profile } = core {
        lines.push(format!(
            "hint: name one with `opsdeck profile set {profile} --alertmanager-url <url>`"
        ));
    }
    if let Error::ReadOnlyProfile { profile } = core {
        lines.push(format!(
            "hint: the profile was made read-only on purpose; `opsdeck profile set {profile} --writable` lifts it"
        ));
    }
    if let Error::NoPrometheus { profile } = core {
        lines.push(format!(
            "hint: name one with `opsdeck profile set {profile} --prometheus-url <url>`"
        ));
    }
    if let Some(line) = core
        .remedy()
        .as_ref()
        .and_then(|remedy| remedy_line(remedy, words_of))
    {
        lines.push(line);
    }
    lines
}

/// Which command's words an error is put in: the same field is a flag of
/// one command and an argument of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    Tenants,
    Profile,
    Alerts,
    Query,
    Dashboards,
    Users,
    /// Groups and service accounts.
    Groups,
    Roles,
    Bindings,
    Tokens,
    /// `rbac who-can` and `rbac effective`.
    Rbac,
    Audit,
    Clusters,
    Incident,
    Maintenance,
    Other,
}

/// What the user typed for a field path (the API's or core's): the flag,
/// or the argument; the path itself where nothing on the command line sets it.
pub fn flag(field: &str, words_of: Words) -> String {
    if let (Words::Tenants, Some(key)) = (words_of, field.strip_prefix("labels.")) {
        return format!("--label {key}");
    }
    let typed = match (words_of, field) {
        (Words::Tenants, "slug") => "--slug",
        (Words::Tenants, "name") => "--name",
        (Words::Tenants, "plan") => "--plan",
        (Words::Tenants, "status") => "--status",
        (Words::Tenants, "quotas.max_users") => "--max-users",
        (Words::Tenants, "quotas.storage_gib") => "--storage-gib",
        (Words::Tenants, "quotas.requests_per_minute") => "--requests-per-minute",
        (Words::Tenants, "idempotency_key") => "--idempotency-key",
        (Words::Tenants, "accent_color") => "--accent-color",
        (Words::Tenants, "labels" | "label") => "--label",
        (Words::Profile, "name") => "the profile name",
        (Words::Profile, "admin_url") => "--admin-url",
        (Words::Profile, "tier") => "--tier",
        (Words::Profile, "prometheus_url") => "--prometheus-url",
        (Words::Profile, "alertmanager_urls") => "--alertmanager-url",
        (Words::Alerts, "matchers") => "--matcher",
        (Words::Alerts, "filter") => "--filter",
        (Words::Alerts, "duration") => "--duration",
        (Words::Alerts, "severity") => "--severity",
        (Words::Alerts, "quiet_hours") => "--quiet-hours",
        (Words::Alerts, "comment") => "--comment",
        (Words::Alerts, "silence") => "the silence id",
        (Words::Query, "query") => "the query",
        (Words::Query, "range") => "--range",
        (Words::Query, "step") => "--step",
        (Words::Dashboards, "dashboard") => "the dashboard",
        (Words::Dashboards, "panel") => "--panel",
        (Words::Dashboards, "range") => "--range",
        (Words::Dashboards, "out") => "--out",
        (Words::Users, "email") => "--email",
        (Words::Users, "display_name") => "--name",
        (Words::Users, "status") => "--status",
        (Words::Users | Words::Groups, "user") => "the email",
        (Words::Groups, "name") => "the name",
        (Words::Groups, "external_name") => "--external-name",
        (Words::Groups, "group") => "the group",
        (Words::Roles, "name" | "role") => "the role name",
        (Words::Roles, "permissions") => "--permission",
        (Words::Bindings, "subject" | "subject.id" | "subject.kind") => "--subject",
        (Words::Bindings, "role") => "--role",
        (Words::Bindings, "tenant") => "--tenant",
        (Words::Bindings, "binding") => "the binding id",
        (Words::Tokens, "name") => "--name",
        (Words::Tokens, "owner" | "owner.id" | "owner.kind") => "--user",
        (Words::Tokens, "expires_in" | "expires_at") => "--expires-in",
        (Words::Tokens, "token") => "the token name",
        (Words::Rbac, "permission") => "the permission",
        (Words::Rbac, "tenant") => "--tenant",
        (Words::Rbac, "subject" | "subject.id") => "the subject",
        (_, "idempotency_key") => "--idempotency-key",
        (Words::Clusters, "cluster") => "the cluster id",
        (Words::Clusters, "candidate") => "--candidate",
        (Words::Clusters, "reason") => "--reason",
        (Words::Clusters, "force") => "--force",
        (Words::Incident, "title") => "--title",
        (Words::Incident, "severity") => "--severity",
        (Words::Incident, "commander") => "--commander",
        (Words::Incident, "status") => "--status",
        (Words::Incident, "text") => "the note",
        (Words::Incident, "fingerprint") => "the fingerprint",
        (Words::Maintenance, "ends_at") => "--end",
        (Words::Maintenance, "starts_at") => "--start",
        (Words::Maintenance, "duration") => "--duration",
        (Words::Maintenance, "matchers") => "--matcher",
        (Words::Maintenance, "reason") => "--reason",
        (Words::Maintenance, "owner") => "--owner",
        (Words::Audit, "actor") => "--actor",
        (Words::Audit, "action") => "--action",
        (Words::Audit, "target") => "--target",
        (Words::Audit, "tenant") => "--tenant",
        (Words::Audit, "since") => "--since",
        (Words::Audit, "until") => "--until",
        (Words::Audit, "cursor") => "--cursor",
        (Words::Audit, "format") => "--format",
        (_, other) => return other.to_string(),
    };
    typed.to_string()
}

/// Core's remedy, worded as what to type in a terminal.
fn remedy_line(remedy: &Remedy, words_of: Words) -> Option<String> {
    match remedy {
        Remedy::SignIn { profile } => Some(format!(
            "hint: store a token with `opsdeck login {profile}` (scripts: `opsdeck login {profile} --token-stdin`)"
        )),
        Remedy::ChooseProfile => Some(
            "hint: see `opsdeck profile list`, then `opsdeck profile use <name>` or `opsdeck profile add <name> ...`"
                .to_string(),
        ),
        Remedy::UnlockKeyring => Some(
            "hint: start and unlock a Secret Service (GNOME Keyring, KWallet, KeePassXC), then run the command again"
                .to_string(),
        ),
        Remedy::Confirm { target } if words_of == Words::Alerts => Some(format!(
            "hint: type `{target}` at the prompt, or pass `--confirm '{target}'`"
        )),
        Remedy::Confirm { target } if words_of != Words::Tenants => Some(format!(
            "hint: type `{target}` at the prompt, or pass `--confirm {target}`"
        )),
        Remedy::Confirm { target } => Some(format!(
            "hint: type the slug at the prompt, or pass `--confirm {target}`"
        )),
        Remedy::Retry => None,
        Remedy::RequestApproval {
            action,
            target,
            role,
            expires_after_seconds,
        } => {
            let minutes = expires_after_seconds.div_ceil(60);
            let ask = match words_of {
                Words::Tenants | Words::Clusters | Words::Other => {
                    "run the same command with `--request-approval '<why>'`".to_string()
                }
                _ => format!("run `opsdeck approvals request {action} {target} --reason '<why>'`"),
            };
            Some(format!(
                "hint: a second person must approve this ({action} of `{target}`): {ask}; someone else \
                 holding the role `{role}` runs `opsdeck approvals grant <id>`; then run the command \
                 again with `--approval <id>` within {minutes} minutes of asking"
            ))
        }
    }
}

/// JSON as serde_json writes it, with the control characters it leaves raw
/// (DEL, C1) and the bidirectional overrides escaped as `\uXXXX`. They can
/// only occur inside strings, so the JSON means the same, and a script gets
/// every byte of the data while the terminal gets none of the control.
/// Text without them (most of it: plain ASCII) is passed through as is.
fn escape_json(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && (c.is_control() || sanitize::is_bidi_control(c));
    // Everything serde_json leaves raw that needs escaping is DEL or beyond ASCII.
    let first = text
        .bytes()
        .position(|b| b >= 0x7f)
        .and_then(|from| text[from..].find(unsafe_char).map(|at| from + at));
    let Some(first) = first else {
        return std::borrow::Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// An absolute time for people: always with its zone, to the minute.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How long ago, for people: "just now", "5 min ago", "1 day ago". A time
/// ahead of this machine's clock (the server's clock runs ahead) is said so
/// rather than shown as a negative age.
pub fn ago(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match seconds {
        s if s < -60 => "ahead of this clock".to_string(),
        s if s < 10 => "just now".to_string(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => plural(s / 3600, "hour"),
        s => plural(s / 86_400, "day"),
    }
}

/// "2026-11-24 20:19 UTC (5 min ago)".
pub fn when_and_ago(t: DateTime<Utc>) -> String {
    format!("{} ({})", when(t), ago((Utc::now() - t).num_seconds()))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn json_with_nothing_to_escape_is_passed_through_and_the_rest_after_plain_text_is_escaped() {
        let plain =
            serde_json::to_string(&serde_json::json!({"name": "café ünïcode"})).expect("json");
        assert!(matches!(escape_json(&plain), std::borrow::Cow::Borrowed(_)));
        let late = format!("{}{}", "x".repeat(100), "é\u{7f}é");
        assert_eq!(escape_json(&late), format!("{}é\\u007fé", "x".repeat(100)));
    }

    #[test]
    fn ages_read_right_at_every_boundary() {
        assert_eq!(ago(-5), "just now", "a little clock skew is now");
        assert_eq!(ago(-3600), "ahead of this clock");
        assert_eq!(ago(0), "just now");
        assert_eq!(ago(42), "42 s ago");
        assert_eq!(ago(60), "1 min ago");
        assert_eq!(ago(3599), "59 min ago");
        assert_eq!(ago(3600), "1 hour ago");
        assert_eq!(ago(7200), "2 hours ago");
        assert_eq!(ago(86_400), "1 day ago");
        assert_eq!(ago(3 * 86_400 + 5), "3 days ago");
    }

    #[test]
    fn absolute_times_carry_their_zone() {
        let t = DateTime::parse_from_rfc3339("2026-11-24T20:19:27+02:00")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(when(t), "2026-11-24 18:19 UTC");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_to_the_column() {
        assert_eq!(truncate("Acme Corporation", 8), "Acme Co…");
        assert_eq!(truncate("Acme", 8), "Acme");
        assert_eq!(truncate("日本語の名前", 5), "日本…");
        assert!(truncate("日本語の名前", 5).width() <= 5);
    }

    #[test]
    fn a_table_fits_the_width_cutting_text_then_leaving_out_columns() {
        let columns = [
            Column::free_text("SLUG", u8::MAX),
            Column::free_text("NAME", u8::MAX),
            Column::text("PLAN", 5),
            Column::number("USERS", 1),
            Column::text("UPDATED", 4),
        ];
        let rows = vec![vec![
            "a-very-long-tenant-slug-indeed".to_string(),
            "A Tenant Name Far Longer Than Any Terminal Would Show".to_string(),
            "enterprise".to_string(),
            "5000".to_string(),
            "2026-11-24 20:19 UTC".to_string(),
        ]];
        let wide = layout(&columns, &rows, None);
        assert!(wide[1].contains("Would Show"), "{wide:?}");
        for width in [80, 60] {
            let lines = layout(&columns, &rows, Some(width));
            for line in &lines {
                assert!(line.width() <= width, "{width}: {line:?}");
            }
            assert!(lines[1].contains('…'), "{lines:?}");
            assert!(lines[0].contains("SLUG") && lines[0].contains("PLAN"));
        }
        let narrow = layout(&columns, &rows, Some(60));
        assert!(!narrow[0].contains("USERS"), "left out first: {narrow:?}");
    }

    #[test]
    fn label_and_colour_errors_name_their_flags() {
        let draft = CliError::Core(Error::InvalidFields {
            details: vec![
                opsdeck_api::FieldError::new("labels", "at most 32 labels are allowed, got 33"),
                opsdeck_api::FieldError::new(
                    "labels.Env",
                    "a label key must start with a lowercase letter or a digit",
                ),
                opsdeck_api::FieldError::new("accent_color", "must be a colour as `#rrggbb`"),
                opsdeck_api::FieldError::new(
                    "label",
                    "`Env`: a label key must start with a lowercase letter or a digit",
                ),
            ],
        });
        assert_eq!(
            words(&draft, Words::Tenants),
            [
                "error: --label: at most 32 labels are allowed, got 33",
                "error: --label Env: a label key must start with a lowercase letter or a digit",
                "error: --accent-color: must be a colour as `#rrggbb`",
                "error: --label: `Env`: a label key must start with a lowercase letter or a digit",
            ]
        );
    }

    #[test]
    fn field_errors_name_the_flag_that_was_typed() {
        let e = CliError::Core(Error::Api {
            status: 422,
            envelope: opsdeck_api::ErrorEnvelope {
                code: opsdeck_api::ErrorCode::ValidationFailed,
                message: "invalid `quotas.max_users`: must be at least 1".into(),
                details: vec![opsdeck_api::FieldError::new(
                    "quotas.max_users",
                    "must be at least 1",
                )],
                request_id: None,
            },
        });
        assert_eq!(
            words(&e, Words::Tenants),
            ["error: --max-users: must be at least 1"]
        );
        let draft = CliError::Core(Error::InvalidFields {
            details: vec![
                opsdeck_api::FieldError::new("slug", "must start with a lowercase letter"),
                opsdeck_api::FieldError::new("quotas.storage_gib", "must be between 1 and 10"),
            ],
        });
        assert_eq!(
            words(&draft, Words::Tenants),
            [
                "error: --slug: must start with a lowercase letter",
                "error: --storage-gib: must be between 1 and 10"
            ],
            "every field of the draft, each on its line"
        );
        let name = CliError::Core(Error::InvalidInput {
            field: "name".into(),
            message: "use 1 to 64 letters".into(),
        });
        assert_eq!(
            words(&name, Words::Profile),
            ["error: the profile name: use 1 to 64 letters"]
        );
    }
}
