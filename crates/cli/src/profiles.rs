//! `opsdeck profile ...` and `opsdeck login`.

use std::io::Read;

use clap::{Args, Subcommand};
use opsdeck_core::console::LoginCheck;
use opsdeck_core::secrets::Token;
use opsdeck_core::{Console, Error, Result, Tier};

use crate::output::Output;

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Add a profile (the first one becomes current).
    Add {
        name: String,
        /// Base URL of the Platform Admin API.
        #[arg(long)]
        admin_url: String,
        /// dev, staging or prod; prod asks for confirmation of destructive actions.
        #[arg(long, value_parser = parse_tier)]
        tier: Tier,
        /// Make it the current profile.
        #[arg(long = "use")]
        make_current: bool,
    },
    /// List profiles.
    List,
    /// Make a profile the current one.
    Use { name: String },
    /// Remove a profile, its token and its cached state.
    Remove { name: String },
}

#[derive(Args)]
pub struct LoginArgs {
    /// The profile the token belongs to.
    profile: String,
    /// Read the token from standard input (it never appears in shell history).
    #[arg(long, required = true)]
    token_stdin: bool,
}

fn parse_tier(s: &str) -> std::result::Result<Tier, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

pub async fn run(console: &Console, out: &Output, cmd: ProfileCommand) -> Result<()> {
    match cmd {
        ProfileCommand::Add {
            name,
            admin_url,
            tier,
            make_current,
        } => {
            let entry = console
                .profile_add(&name, tier, &admin_url, None, make_current)
                .await?;
            if out.json {
                out.json(&entry);
            } else {
                out.note(&format!(
                    "added profile `{}` ({}) → {}\nnext: opsdeck login {} --token-stdin",
                    entry.name, entry.tier, entry.admin_url, entry.name
                ));
            }
        }
        ProfileCommand::List => {
            let list = console.profile_list().await?;
            if out.json {
                out.json(&list);
            } else {
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
                            p.tier.to_string(),
                            p.admin_url.clone(),
                            if p.has_token { "yes" } else { "no" }.into(),
                        ]
                    })
                    .collect();
                out.table(&["", "NAME", "TIER", "ADMIN URL", "TOKEN"], rows);
            }
        }
        ProfileCommand::Use { name } => {
            console.profile_use(&name).await?;
            out.note(&format!("now using profile `{name}`"));
        }
        ProfileCommand::Remove { name } => {
            console.profile_remove(&name).await?;
            out.note(&format!("removed profile `{name}`"));
        }
    }
    Ok(())
}

pub async fn login(console: &Console, out: &Output, args: LoginArgs) -> Result<()> {
    debug_assert!(args.token_stdin);
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(|source| Error::Io {
            path: "<stdin>".into(),
            source,
        })?;
    let token = Token::new(&raw)?;
    match console.login(&args.profile, token).await? {
        LoginCheck::Verified => out.note(&format!(
            "token for `{}` checked with the server and stored in the OS keyring",
            args.profile
        )),
        LoginCheck::Unverified => out.note(&format!(
            "warning: the server of `{}` is unreachable; the token is stored in the OS keyring unchecked",
            args.profile
        )),
    }
    Ok(())
}
