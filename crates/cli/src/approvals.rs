//! `opsdeck approvals ...`: the server's two-person rule. Ask a second
//! person's approval of a destructive action, list what approvers are
//! asked, show one, grant or deny it. The destructive commands themselves
//! (`backups restore`, `clusters switchover|failover`, `tenants delete`)
//! take `--request-approval <WHY>` to ask for exactly the request they
//! would send, and `--approval <ID>` to use a granted one.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use opsdeck_core::api::approvals::{Approval, ApprovalAction, ApprovalState, RequestApproval};
use opsdeck_core::{Console, Destructive, Session};

use crate::error::Result;
use crate::output::{when, Column, Output};

#[derive(Subcommand)]
pub enum ApprovalsCommand {
    /// List approvals, newest first (`--state pending`: what approvers are
    /// asked to decide).
    List(ListArgs),
    /// Show one approval: what it covers, who asked, who decided.
    Show {
        /// The approval's id.
        id: String,
    },
    /// Ask for a second person's approval of an action on a target. The
    /// destructive commands' `--request-approval` asks for exactly their
    /// request; this is for scripts that give the body themselves.
    Request(RequestArgs),
    /// Grant a pending approval (not your own; needs the rule's role).
    Grant(DecideArgs),
    /// Deny a pending approval (not your own; needs the rule's role).
    Deny(DecideArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Only approvals in this state.
    #[arg(long, value_parser = state_parser())]
    state: Option<ApprovalState>,
    /// Approvals per page, 1–200.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
    limit: u32,
    /// Where to continue: the cursor a previous page ended with.
    #[arg(long)]
    cursor: Option<String>,
}

#[derive(Args)]
pub struct RequestArgs {
    /// The action: backup.restore, cluster.switchover, cluster.failover
    /// or tenant.delete.
    #[arg(value_parser = action_parser())]
    action: ApprovalAction,
    /// The backup target's or cluster's id, or the tenant's slug.
    target: String,
    /// Why: what the approver reads.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// The request body the action will send, as JSON (`{"confirm":
    /// "main-db"}` for a restore); none for a tenant deletion.
    #[arg(long, value_name = "JSON")]
    body: Option<String>,
}

#[derive(Args)]
pub struct DecideArgs {
    /// The approval's id.
    id: String,
    /// A note kept with the decision.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

/// The two-person rule's flags of a destructive command.
#[derive(Args, Clone, Default)]
pub struct ApprovalArgs {
    /// Use this granted approval (the server's two-person rule): it must
    /// have been asked by you for this very request.
    #[arg(long, value_name = "ID", conflicts_with = "request_approval")]
    pub approval: Option<String>,
    /// Do not act: ask a second person's approval of this very request,
    /// saying why, and print its id.
    #[arg(long, value_name = "WHY")]
    pub request_approval: Option<String>,
}

fn state_parser() -> impl TypedValueParser<Value = ApprovalState> {
    PossibleValuesParser::new(ApprovalState::ALL.map(ApprovalState::as_str))
        .try_map(|s| s.parse::<ApprovalState>())
}

fn action_parser() -> impl TypedValueParser<Value = ApprovalAction> {
    PossibleValuesParser::new(ApprovalAction::ALL.map(ApprovalAction::as_str))
        .try_map(|s| s.parse::<ApprovalAction>())
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: ApprovalsCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let approvals = session.approvals();
    match cmd {
        ApprovalsCommand::List(args) => {
            let page = approvals
                .list(args.state, Some(args.limit), args.cursor)
                .await?;
            let rows = page
                .items
                .iter()
                .map(|a| {
                    vec![
                        a.id.clone(),
                        a.state.as_str().to_string(),
                        a.action.as_str().to_string(),
                        a.target.clone(),
                        a.requested_by.clone(),
                        when(a.expires_at),
                        a.reason.clone(),
                    ]
                })
                .collect();
            out.list(
                &page,
                &format!("no approvals on `{}`", session.profile().name),
                &[
                    Column::text("ID", u8::MAX),
                    Column::text("STATE", u8::MAX),
                    Column::text("ACTION", u8::MAX),
                    Column::free_text("TARGET", 3),
                    Column::free_text("REQUESTED BY", 2),
                    Column::text("EXPIRES", 4),
                    Column::free_text("REASON", 1),
                ],
                rows,
            );
            if let (false, Some(cursor)) = (out.json, page.next_cursor) {
                out.note(&format!("more: --cursor {cursor}"));
            }
        }
        ApprovalsCommand::Show { id } => {
            let approval = approvals.get(&id).await?;
            if out.json {
                out.json(&approval);
            } else {
                for line in lines(&approval) {
                    println!("{line}");
                }
            }
        }
        ApprovalsCommand::Request(args) => {
            let body = args
                .body
                .as_deref()
                .map(serde_json::from_str::<serde_json::Value>)
                .transpose()
                .map_err(|e| opsdeck_core::Error::InvalidInput {
                    field: "--body".into(),
                    message: format!("is not JSON: {e}"),
                })?;
            let approval = approvals
                .request(&RequestApproval {
                    action: args.action,
                    target: args.target,
                    body,
                    reason: args.reason,
                })
                .await?;
            asked(out, &approval);
        }
        ApprovalsCommand::Grant(args) => {
            let approval = approvals.grant(&args.id, args.note.as_deref()).await?;
            decided(out, &approval);
        }
        ApprovalsCommand::Deny(args) => {
            let approval = approvals.deny(&args.id, args.note.as_deref()).await?;
            decided(out, &approval);
        }
    }
    Ok(())
}

/// For a destructive command given `--request-approval`: asks for the
/// approval of `action` as it would be sent, and says what comes next.
pub async fn request_for(
    session: &Session,
    out: &Output,
    action: &Destructive,
    why: &str,
) -> Result<()> {
    let approval = session.approvals().request_for(action, why).await?;
    asked(out, &approval);
    Ok(())
}

fn asked(out: &Output, approval: &Approval) {
    if out.json {
        out.json(approval);
        return;
    }
    println!("{}", approval.id);
    out.note(&format!(
        "approval {} asked for the {}; someone else holding the role `{}` grants it with \
         `opsdeck approvals grant {}`; then run the command with `--approval {}` before {}",
        approval.id,
        approval.action.describe(&approval.target),
        approval.role,
        approval.id,
        approval.id,
        when(approval.expires_at),
    ));
}

fn decided(out: &Output, approval: &Approval) {
    if out.json {
        out.json(approval);
    } else {
        println!("{}", approval.id);
        out.note(&format!(
            "approval {} {} for the {} asked by {}",
            approval.id,
            approval.state,
            approval.action.describe(&approval.target),
            approval.requested_by
        ));
    }
}

fn lines(a: &Approval) -> Vec<String> {
    let mut lines = vec![
        format!("id:           {}", a.id),
        format!("state:        {}", a.state),
        format!("action:       {}", a.action.describe(&a.target)),
        format!(
            "body:         {}",
            opsdeck_core::sanitize::remote(&a.body.to_string())
        ),
        format!("reason:       {}", a.reason),
        format!(
            "requested by: {} at {}",
            a.requested_by,
            when(a.requested_at)
        ),
        format!("expires:      {}", when(a.expires_at)),
        format!("approver:     someone else holding the role `{}`", a.role),
    ];
    if let Some(by) = &a.decided_by {
        let at = a.decided_at.map(when).unwrap_or_default();
        lines.push(format!("decided by:   {by} at {at}"));
    }
    if let Some(note) = &a.note {
        lines.push(format!("note:         {note}"));
    }
    if let Some(at) = a.used_at {
        lines.push(format!("used:         {}", when(at)));
    }
    lines
}
