//! `opsdeck profile ...` and `opsdeck login`.

use std::io::Read;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use opsdeck_core::console::LoginCheck;
use opsdeck_core::secrets::Token;
use opsdeck_core::{Console, Error, ProfileEntry, ProfileSettings, Tier};

use crate::error::{CliError, Result};
use crate::output::Output;

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Add a profile (the first one becomes current).
    Add {
        /// Name of the new profile, as used with `--profile` (letters, digits, `-`, `_`, `.`).
        name: String,
        /// Base URL of the Platform Admin API, in full: https://admin.example.net
        /// (plain http only to a loopback address).
        #[arg(long, value_name = "URL")]
        admin_url: String,
        /// How careful to be: on prod, suspending, deleting and lowering
        /// quotas or the plan need the tenant's slug typed.
        #[arg(long, value_parser = tier_parser())]
        tier: Tier,
        /// Make it the current profile.
        #[arg(long = "use")]
        make_current: bool,
        #[command(flatten)]
        urls: UrlArgs,
        /// Send no change through this profile, whatever its token allows.
        #[arg(long)]
        read_only: bool,
    },
    /// Change a profile's Prometheus or Alertmanager URLs, or make it
    /// read-only or writable again (what is not given stays as it is).
    Set {
        /// Name of the profile.
        name: String,
        #[command(flatten)]
        urls: UrlArgs,
        /// Send no change through this profile, whatever its token allows.
        #[arg(long, conflicts_with = "writable")]
        read_only: bool,
        /// Lift --read-only.
        #[arg(long)]
        writable: bool,
    },
    /// List profiles; the current one is marked `*`.
    List,
    /// Make a profile the current one: the one commands act on without
    /// --profile. The desktop window keeps a profile of its own.
    Use {
        /// Name of the profile.
        name: String,
    },
    /// Remove a profile, its token and its cached state. Removing the
    /// current one leaves none current: no other profile takes its place.
    Remove {
        /// Name of the profile.
        name: String,
    },
}

/// The monitoring URLs of a profile, with the admin URL's rules.
#[derive(Args)]
pub struct UrlArgs {
    /// Base URL of Prometheus's HTTP API (plain http only to a loopback
    /// address); an empty value clears it.
    #[arg(long, value_name = "URL")]
    prometheus_url: Option<String>,
    /// Base URL of Alertmanager's API; repeat it for each member of an HA
    /// cluster (their alerts are merged). Replaces the profile's list; an
    /// empty value clears it.
    #[arg(long, value_name = "URL")]
    alertmanager_url: Vec<String>,
}

impl UrlArgs {
    /// The settings to apply: these URLs, and read-only on or off when given.
    fn settings(self, read_only: Option<bool>) -> ProfileSettings {
        ProfileSettings {
            prometheus_url: self.prometheus_url,
            alertmanager_urls: (!self.alertmanager_url.is_empty()).then_some(self.alertmanager_url),
            read_only,
        }
    }
}

#[derive(Args)]
pub struct LoginArgs {
    /// The profile the token belongs to.
    profile: String,
    /// Read the token from standard input instead of asking for it at the
    /// terminal: for scripts (it never appears in shell history).
    #[arg(long)]
    token_stdin: bool,
}

fn tier_parser() -> impl TypedValueParser<Value = Tier> {
    PossibleValuesParser::new(Tier::ALL.map(Tier::as_str))
        .try_map(|s| s.parse::<Tier>().map_err(|e: Error| e.to_string()))
}

pub async fn run(console: &Console, out: &Output, cmd: ProfileCommand) -> Result<()> {
    match cmd {
        ProfileCommand::Add {
            name,
            admin_url,
            tier,
            make_current,
            urls,
            read_only,
        } => {
            let settings = urls.settings(read_only.then_some(true));
            let entry = console
                .profile_add_with(&name, tier, &admin_url, &settings, None, make_current)
                .await?;
            if out.json {
                out.json(&entry);
            } else {
                out.note(&format!(
                    "added profile `{}` ({}{}) → {}{}\nnext: opsdeck login {}",
                    entry.name,
                    entry.tier,
                    read_only_mark(&entry),
                    entry.admin_url,
                    monitoring(&entry),
                    entry.name
                ));
            }
        }
        ProfileCommand::Set {
            name,
            urls,
            read_only,
            writable,
        } => {
            let settings = urls.settings(match (read_only, writable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            });
            if settings.is_empty() {
                return Err(CliError::NothingToSet);
            }
            let entry = console.profile_set(&name, &settings).await?;
            if out.json {
                out.json(&entry);
            } else {
                out.note(&format!(
                    "profile `{}` ({}{}) → {}{}",
                    entry.name,
                    entry.tier,
                    read_only_mark(&entry),
                    entry.admin_url,
                    monitoring(&entry)
                ));
            }
        }
        ProfileCommand::List => {
            let list = console.profile_list().await?;
            if out.json {
                out.json(&list);
            } else {
                use crate::output::Column;
                let rows = list
                    .profiles
                    .iter()
                    .map(|p| {
                        vec![
                            if list.current.as_deref() == Some(&p.name) {
                                "*"
                            } else {
                                ""
                            }
                            .into(),
                            p.name.clone(),
                            format!("{}{}", p.tier, read_only_mark(p)),
                            p.admin_url.clone(),
                            if p.has_token { "yes" } else { "no" }.into(),
                        ]
                    })
                    .collect();
                out.table(
                    &[
                        Column::text("", u8::MAX),
                        Column::free_text("NAME", u8::MAX),
                        Column::text("TIER", u8::MAX),
                        Column::free_text("ADMIN URL", u8::MAX),
                        Column::text("TOKEN", 1),
                    ],
                    rows,
                );
            }
        }
        ProfileCommand::Use { name } => {
            console.profile_use(&name).await?;
            if out.json {
                out.json(&serde_json::json!({ "current": name }));
            }
            out.note(&format!("now using profile `{name}`"));
        }
        ProfileCommand::Remove { name } => {
            console.profile_remove(&name).await?;
            // Removing the current profile leaves none current (core picks
            // no other environment by itself).
            let current = match console.profile(None) {
                Ok(p) => Some(p.name),
                Err(Error::NoCurrentProfile) => None,
                Err(e) => return Err(e.into()),
            };
            if out.json {
                out.json(&serde_json::json!({ "removed": name, "current": current }));
            }
            out.note(&format!("removed profile `{name}`"));
            if current.is_none() {
                out.note("no profile is current now; choose one: opsdeck profile use NAME");
            }
        }
    }
    Ok(())
}

/// How a read-only profile is told apart wherever its tier is shown.
fn read_only_mark(entry: &ProfileEntry) -> &'static str {
    if entry.read_only {
        ", read-only"
    } else {
        ""
    }
}

/// The monitoring URLs of a profile, one line each, for people.
fn monitoring(entry: &ProfileEntry) -> String {
    let mut text = String::new();
    if let Some(url) = &entry.prometheus_url {
        text.push_str(&format!("\n  prometheus: {url}"));
    }
    for url in &entry.alertmanager_urls {
        text.push_str(&format!("\n  alertmanager: {url}"));
    }
    text
}

pub async fn login(console: &Console, out: &Output, args: LoginArgs) -> Result<()> {
    let raw = if args.token_stdin {
        let mut raw = String::new();
        std::io::stdin()
            .read_to_string(&mut raw)
            .map_err(|source| Error::Io {
                path: "<stdin>".into(),
                source,
            })?;
        raw
    } else if crate::terminal::can_ask() {
        ask_unseen(&args.profile).await?
    } else {
        return Err(CliError::NoTerminal {
            profile: args.profile,
        });
    };
    let token = Token::new(&raw)?;
    let verified = match console.login(&args.profile, token).await? {
        LoginCheck::Verified => {
            out.note(&format!(
                "token for `{}` checked with the server and stored in the OS keyring",
                args.profile
            ));
            true
        }
        LoginCheck::Unverified => {
            out.note(&format!(
                "warning: the server of `{}` is unreachable; the token is stored in the OS keyring unchecked",
                args.profile
            ));
            false
        }
    };
    if out.json {
        out.json(&serde_json::json!({ "profile": args.profile, "verified": verified }));
    }
    Ok(())
}

/// Asks for the token at the terminal, unseen.
async fn ask_unseen(profile: &str) -> Result<String> {
    let prompt = format!("API token for profile `{profile}` (input hidden): ");
    let line = crate::terminal::ask_unseen(&prompt)
        .await
        .map_err(|source| Error::Io {
            path: "<terminal>".into(),
            source,
        })?;
    if line.trim().is_empty() {
        if !line.ends_with('\n') {
            eprintln!();
        }
        return Err(CliError::NothingTyped {
            profile: profile.to_string(),
        });
    }
    Ok(line)
}
