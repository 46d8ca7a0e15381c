//! `opsdeck users|groups|service-accounts|roles|bindings|tokens ...` and
//! `opsdeck rbac who-can|effective`: access control from the terminal. Core
//! resolves subjects, spells them, decides which removals need the target
//! typed and computes `--dry-run`'s diff; this prints.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use opsdeck_api::rbac::{
    CreateGroup, CreateRole, CreateServiceAccount, CreateUser, Permission, Role, UpdateUser, User,
    UserStatus,
};
use opsdeck_core::rbac::{
    parse_lifetime, AccessDiff, BindingFilter, NewBinding, Rbac, SubjectRef, SUBJECT_SPELLING,
};
use opsdeck_core::{sanitize, Console, Profile, Tier};
use serde::Serialize;

use crate::error::Result;
use crate::output::{when, Column, Output};
use crate::tenants::confirmed;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// List users, by email.
    List {
        /// Only users whose email contains this (the server searches).
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
    },
    /// Show one user.
    Get {
        /// The user's email (or id).
        email: String,
    },
    /// Create a user.
    Create {
        /// Email address: how the user is named everywhere (`user:<email>`).
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long, value_name = "DISPLAY NAME")]
        name: String,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Change a user's display name or status.
    Update {
        /// The user's email (or id).
        email: String,
        /// New display name.
        #[arg(long, value_name = "DISPLAY NAME")]
        name: Option<String>,
        /// `disabled` refuses every token of the user until it is `active`
        /// again.
        #[arg(long, value_parser = status_parser())]
        status: Option<UserStatus>,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Delete a user with their tokens, group memberships and bindings. On
    /// a prod profile, asks for the email typed.
    Delete {
        /// The user's email (or id).
        email: String,
        #[command(flatten)]
        confirm: ConfirmArg,
        #[command(flatten)]
        key: KeyArg,
    },
}

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// List groups, by name, with how many members each has.
    List {
        /// Only groups whose name contains this (the server searches).
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
    },
    /// Show one group and its members.
    Get {
        /// The group's name (or id).
        group: String,
    },
    /// Create a group.
    Create {
        /// The group's name (`group:<name>` in bindings).
        name: String,
        /// The group's name in a directory (OIDC or LDAP) that sign-in maps
        /// to it.
        #[arg(long, value_name = "NAME")]
        external_name: Option<String>,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Make a user a member of a group: they gain what the group's
    /// bindings grant.
    AddMember {
        /// The group's name (or id).
        group: String,
        /// The user's email (or id).
        email: String,
        #[command(flatten)]
        dry_run: DryRunArg,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Take a user out of a group. On a prod profile, asks for the email
    /// typed.
    RemoveMember {
        /// The group's name (or id).
        group: String,
        /// The user's email (or id).
        email: String,
        #[command(flatten)]
        confirm: ConfirmArg,
        #[command(flatten)]
        dry_run: DryRunArg,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Delete a group with its memberships and bindings: its members lose
    /// what it granted. On a prod profile, asks for the name typed.
    Delete {
        /// The group's name (or id).
        group: String,
        #[command(flatten)]
        confirm: ConfirmArg,
        #[command(flatten)]
        key: KeyArg,
    },
}

#[derive(Subcommand)]
pub enum ServiceAccountsCommand {
    /// List every service account, by name.
    List,
    /// Create a service account: a non-person that holds tokens.
    Create {
        /// The account's name (`service:<name>` in bindings).
        name: String,
        #[command(flatten)]
        key: KeyArg,
    },
}

#[derive(Subcommand)]
pub enum RolesCommand {
    /// List the built-in roles, then the custom ones, with what each grants.
    List,
    /// Show one role and what it grants.
    Get {
        /// The role's name.
        role: String,
    },
    /// Create a custom role. Nobody can create a role granting a permission
    /// they do not hold on the platform.
    Create {
        /// Lowercase letters, digits and hyphens; not a built-in role's name.
        name: String,
        #[command(flatten)]
        permissions: PermissionArgs,
        #[command(flatten)]
        dry_run: DryRunArg,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Replace what a custom role grants, on every binding of it.
    Update {
        /// The custom role's name.
        role: String,
        #[command(flatten)]
        permissions: PermissionArgs,
        #[command(flatten)]
        dry_run: DryRunArg,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Delete a custom role that is no longer bound. On a prod profile, asks
    /// for the name typed.
    Delete {
        /// The custom role's name.
        role: String,
        #[command(flatten)]
        confirm: ConfirmArg,
        #[command(flatten)]
        dry_run: DryRunArg,
        #[command(flatten)]
        key: KeyArg,
    },
}

#[derive(Subcommand)]
pub enum BindingsCommand {
    /// List the bindings you may see, oldest first.
    List {
        /// Only this subject's: user:<email>, group:<name> or service:<name>.
        #[arg(long, value_parser = subject)]
        subject: Option<SubjectRef>,
        /// Only bindings of this role.
        #[arg(long)]
        role: Option<String>,
        /// Only bindings on this tenant (slug or id), or `platform` for the
        /// platform-wide ones.
        #[arg(long, value_name = "SLUG")]
        scope: Option<String>,
    },
    /// Show one binding.
    Get {
        /// The binding's id, as `opsdeck bindings list` shows it.
        binding: String,
    },
    /// Give a subject a role on the platform or on one tenant. Nobody can
    /// grant what they do not hold there.
    Create {
        /// Who: user:<email>, group:<name> or service:<name>.
        #[arg(long, value_parser = subject)]
        subject: SubjectRef,
        /// A built-in role (platform-admin, operator, incident-commander,
        /// tenant-admin, viewer) or a custom role's name.
        #[arg(long)]
        role: String,
        /// The tenant (slug or id) the role applies on [default: the whole
        /// platform].
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
        #[command(flatten)]
        dry_run: DryRunArg,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Remove a binding. The last platform-wide platform-admin binding
    /// cannot be removed. On a prod profile, asks for the binding id typed.
    Delete {
        /// The binding's id, as `opsdeck bindings list` shows it.
        binding: String,
        #[command(flatten)]
        confirm: ConfirmArg,
        #[command(flatten)]
        dry_run: DryRunArg,
        #[command(flatten)]
        key: KeyArg,
    },
}

#[derive(Subcommand)]
pub enum TokensCommand {
    /// List every token, newest first; never a secret.
    List,
    /// Mint a token for a user or a service account. The token is printed
    /// once, alone on the last line of stdout (with --json: the `token`
    /// field); only its hash is kept.
    Create {
        /// The user it acts for, by email.
        #[arg(
            long,
            value_name = "EMAIL",
            required_unless_present = "service",
            conflicts_with = "service"
        )]
        user: Option<String>,
        /// The service account it acts for, by name.
        #[arg(long, value_name = "NAME")]
        service: Option<String>,
        /// The token's name, unique: how it is listed and revoked.
        #[arg(long)]
        name: String,
        /// How long it lasts: 30d, 12h, 1d12h (units d, h, m, s; at most
        /// 365d) [default: until revoked].
        #[arg(long, value_name = "LIFETIME")]
        expires_in: Option<String>,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Revoke a token: every request with it is refused from now on. On a
    /// prod profile, asks for the token name typed.
    Revoke {
        /// The token's name (or id).
        token: String,
        #[command(flatten)]
        confirm: ConfirmArg,
        #[command(flatten)]
        key: KeyArg,
    },
}

#[derive(Subcommand)]
pub enum RbacCommand {
    /// Who holds a permission, each with every path that grants it
    /// (user → group → binding → role, on a scope).
    WhoCan {
        /// The permission, e.g. tenants.write.
        #[arg(value_parser = permission_parser())]
        permission: Permission,
        /// Who holds it on this tenant (slug or id), through the platform or
        /// the tenant [default: anywhere].
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
    },
    /// What a subject holds: on the platform, and on each tenant where it
    /// holds more.
    Effective {
        /// user:<email>, group:<name> or service:<name>.
        #[arg(value_parser = subject)]
        subject: SubjectRef,
    },
}

#[derive(Args)]
pub struct PermissionArgs {
    /// What the role grants: one or more permissions after the flag, or
    /// the flag repeated.
    #[arg(long = "permission", value_name = "PERMISSION", required = true, num_args = 1.., value_parser = permission_parser())]
    permissions: Vec<Permission>,
}

#[derive(Args)]
pub struct DryRunArg {
    /// Show who would gain and who would lose which permission, on which
    /// scope, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
pub struct KeyArg {
    /// Idempotency key: rerunning with the same key never acts twice
    /// [default: a new one each run].
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

#[derive(Args)]
pub struct ConfirmArg {
    /// What a prod profile asks to be typed (the name, email or id given),
    /// to confirm without a prompt (needed with --json or without a
    /// terminal). Anything else is refused, even where no confirmation is
    /// needed.
    #[arg(long, value_name = "TEXT")]
    confirm: Option<String>,
}

fn subject(text: &str) -> std::result::Result<SubjectRef, String> {
    SubjectRef::parse("subject", text).map_err(|_| format!("write {SUBJECT_SPELLING}"))
}

fn permission_parser() -> impl TypedValueParser<Value = Permission> {
    PossibleValuesParser::new(Permission::ALL.map(|p| PossibleValue::new(p.as_str())))
        .try_map(|s| s.parse::<Permission>())
}

fn status_parser() -> impl TypedValueParser<Value = UserStatus> {
    PossibleValuesParser::new(["active", "disabled"]).try_map(|s| s.parse::<UserStatus>())
}

/// The profile a change was made on, named in every change's output.
#[derive(Serialize)]
struct On {
    profile: String,
    tier: Tier,
}

impl On {
    fn of(profile: &Profile) -> Self {
        Self {
            profile: profile.name.clone(),
            tier: profile.tier,
        }
    }

    fn note(&self, out: &Output) {
        out.note(&format!("on `{}` ({})", self.profile, self.tier));
    }

    /// A changed thing; with `--json`, its fields and `profile`, `tier`.
    fn changed<T: Serialize>(&self, out: &Output, value: &T, said: &str) {
        if out.json {
            #[derive(Serialize)]
            struct Changed<'a, T> {
                #[serde(flatten)]
                value: &'a T,
                #[serde(flatten)]
                on: &'a On,
            }
            out.json(&Changed { value, on: self });
        } else {
            println!("{}", sanitize::remote(said));
        }
    }

    fn diff(&self, out: &Output, diff: &AccessDiff) {
        if out.json {
            #[derive(Serialize)]
            struct DryRun<'a> {
                dry_run: bool,
                #[serde(flatten)]
                diff: &'a AccessDiff,
                #[serde(flatten)]
                on: &'a On,
            }
            out.json(&DryRun {
                dry_run: true,
                diff,
                on: self,
            });
        } else {
            for line in diff.text().lines() {
                println!("{}", sanitize::remote(line));
            }
            out.note("dry run: nothing was changed");
        }
    }
}

pub async fn users(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: UsersCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let rbac = session.rbac();
    let on = On::of(session.profile());
    match cmd {
        UsersCommand::List { search } => {
            let users = match search {
                Some(text) => rbac.users_matching(&text).await?,
                None => rbac.users().await?,
            };
            out.list(
                &users,
                "no users",
                &[
                    Column::free_text("EMAIL", u8::MAX),
                    Column::free_text("NAME", 2),
                    Column::text("STATUS", 3),
                    Column::text("CREATED", 1),
                ],
                users.iter().map(user_row).collect(),
            );
        }
        UsersCommand::Get { email } => {
            let user = rbac.user(&email).await?;
            if out.json {
                out.json(&user);
            } else {
                show_user(out, &user);
            }
        }
        UsersCommand::Create { email, name, key } => {
            on.note(out);
            let body = CreateUser {
                email,
                display_name: name,
            };
            let user = rbac
                .create_user(&body, key.idempotency_key.as_deref())
                .await?;
            on.changed(out, &user, &format!("created user:{}", user.email));
        }
        UsersCommand::Update {
            email,
            name,
            status,
            key,
        } => {
            on.note(out);
            let body = UpdateUser {
                display_name: name,
                status,
            };
            let user = rbac
                .update_user(&email, &body, key.idempotency_key.as_deref())
                .await?;
            on.changed(out, &user, &format!("updated user:{}", user.email));
        }
        UsersCommand::Delete {
            email,
            confirm,
            key,
        } => {
            on.note(out);
            deleted(out, &on, &rbac, &email, confirm, key, Removal::User).await?;
        }
    }
    Ok(())
}

fn user_row(u: &User) -> Vec<String> {
    vec![
        u.email.clone(),
        u.display_name.clone(),
        u.status.as_str().to_string(),
        when(u.created_at),
    ]
}

fn show_user(out: &Output, u: &User) {
    out.fields(&[
        ("id", u.id.clone()),
        ("email", u.email.clone()),
        ("name", u.display_name.clone()),
        ("status", u.status.as_str().to_string()),
        ("created", when(u.created_at)),
    ]);
}

pub async fn groups(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: GroupsCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let rbac = session.rbac();
    let on = On::of(session.profile());
    match cmd {
        GroupsCommand::List { search } => {
            let groups = match search {
                Some(text) => rbac.groups_matching(&text).await?,
                None => rbac.groups().await?,
            };
            out.list(
                &groups,
                "no groups",
                &[
                    Column::free_text("NAME", u8::MAX),
                    Column::free_text("EXTERNAL NAME", 2),
                    Column::number("MEMBERS", 3),
                    Column::text("CREATED", 1),
                ],
                groups
                    .iter()
                    .map(|g| {
                        vec![
                            g.name.clone(),
                            g.external_name.clone().unwrap_or_default(),
                            g.members.len().to_string(),
                            when(g.created_at),
                        ]
                    })
                    .collect(),
            );
        }
        GroupsCommand::Get { group } => {
            let (group, directory) = tokio::try_join!(rbac.group(&group), rbac.directory())?;
            let members: Vec<String> = group
                .members
                .iter()
                .map(|id| {
                    directory.spell(&opsdeck_api::rbac::Subject {
                        kind: opsdeck_api::rbac::SubjectKind::User,
                        id: id.clone(),
                    })
                })
                .collect();
            if out.json {
                #[derive(Serialize)]
                struct Shown<'a> {
                    #[serde(flatten)]
                    group: &'a opsdeck_api::rbac::Group,
                    member_names: &'a [String],
                }
                out.json(&Shown {
                    group: &group,
                    member_names: &members,
                });
            } else {
                out.fields(&[
                    ("id", group.id.clone()),
                    ("name", group.name.clone()),
                    (
                        "external name",
                        group.external_name.clone().unwrap_or_default(),
                    ),
                    ("members", members.join(", ")),
                    ("created", when(group.created_at)),
                ]);
            }
        }
        GroupsCommand::Create {
            name,
            external_name,
            key,
        } => {
            on.note(out);
            let body = CreateGroup {
                name,
                external_name,
            };
            let group = rbac
                .create_group(&body, key.idempotency_key.as_deref())
                .await?;
            on.changed(out, &group, &format!("created group:{}", group.name));
        }
        GroupsCommand::AddMember {
            group,
            email,
            dry_run,
            key,
        } => {
            on.note(out);
            if dry_run.dry_run {
                on.diff(out, &rbac.preview_add_member(&group, &email).await?);
                return Ok(());
            }
            let changed = rbac
                .add_member(&group, &email, key.idempotency_key.as_deref())
                .await?;
            on.changed(
                out,
                &changed,
                &format!("user:{email} is a member of group:{}", changed.name),
            );
        }
        GroupsCommand::RemoveMember {
            group,
            email,
            confirm,
            dry_run,
            key,
        } => {
            on.note(out);
            if dry_run.dry_run {
                on.diff(out, &rbac.preview_remove_member(&group, &email).await?);
                return Ok(());
            }
            let key = key.idempotency_key.as_deref();
            let (g, e, rbac) = (&group, &email, &rbac);
            let changed = confirmed(out, confirm.confirm, |confirmation| async move {
                rbac.remove_member(g, e, confirmation.as_deref(), key).await
            })
            .await?;
            on.changed(
                out,
                &changed,
                &format!("user:{email} is not a member of group:{}", changed.name),
            );
        }
        GroupsCommand::Delete {
            group,
            confirm,
            key,
        } => {
            on.note(out);
            deleted(out, &on, &rbac, &group, confirm, key, Removal::Group).await?;
        }
    }
    Ok(())
}

pub async fn service_accounts(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: ServiceAccountsCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let rbac = session.rbac();
    let on = On::of(session.profile());
    match cmd {
        ServiceAccountsCommand::List => {
            let accounts = rbac.service_accounts().await?;
            out.list(
                &accounts,
                "no service accounts",
                &[
                    Column::free_text("NAME", u8::MAX),
                    Column::text("CREATED", 1),
                ],
                accounts
                    .iter()
                    .map(|a| vec![a.name.clone(), when(a.created_at)])
                    .collect(),
            );
        }
        ServiceAccountsCommand::Create { name, key } => {
            on.note(out);
            let account = rbac
                .create_service_account(
                    &CreateServiceAccount { name },
                    key.idempotency_key.as_deref(),
                )
                .await?;
            on.changed(out, &account, &format!("created service:{}", account.name));
        }
    }
    Ok(())
}

fn role_rows(roles: &[Role]) -> Vec<Vec<String>> {
    roles
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                if r.builtin { "built-in" } else { "custom" }.to_string(),
                permission_list(&r.permissions),
            ]
        })
        .collect()
}

fn permission_list(permissions: &[Permission]) -> String {
    if permissions.is_empty() {
        return "-".to_string();
    }
    permissions
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn roles(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: RolesCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let rbac = session.rbac();
    let on = On::of(session.profile());
    match cmd {
        RolesCommand::List => {
            let roles = rbac.roles().await?;
            if out.json {
                out.json(&roles);
            } else {
                out.table(
                    &[
                        Column::text("NAME", u8::MAX),
                        Column::text("KIND", 1),
                        Column::free_text("PERMISSIONS", u8::MAX),
                    ],
                    role_rows(&roles),
                );
            }
        }
        RolesCommand::Get { role } => {
            let role = rbac.role(&role).await?;
            if out.json {
                out.json(&role);
            } else {
                out.fields(&[
                    ("name", role.name.clone()),
                    (
                        "kind",
                        if role.builtin { "built-in" } else { "custom" }.to_string(),
                    ),
                    ("permissions", permission_list(&role.permissions)),
                ]);
            }
        }
        RolesCommand::Create {
            name,
            permissions,
            dry_run,
            key,
        } => {
            on.note(out);
            let body = CreateRole {
                name,
                permissions: permissions.permissions,
            };
            if dry_run.dry_run {
                let diff = rbac.preview_create_role(&body)?;
                on.diff(out, &diff);
                return Ok(());
            }
            let role = rbac
                .create_role(&body, key.idempotency_key.as_deref())
                .await?;
            on.changed(
                out,
                &role,
                &format!(
                    "created role {} granting {}",
                    role.name,
                    permission_list(&role.permissions)
                ),
            );
        }
        RolesCommand::Update {
            role,
            permissions,
            dry_run,
            key,
        } => {
            on.note(out);
            if dry_run.dry_run {
                let diff = rbac
                    .preview_update_role(&role, &permissions.permissions)
                    .await?;
                on.diff(out, &diff);
                return Ok(());
            }
            let role = rbac
                .update_role(
                    &role,
                    &permissions.permissions,
                    key.idempotency_key.as_deref(),
                )
                .await?;
            on.changed(
                out,
                &role,
                &format!(
                    "role {} grants {}",
                    role.name,
                    permission_list(&role.permissions)
                ),
            );
        }
        RolesCommand::Delete {
            role,
            confirm,
            dry_run,
            key,
        } => {
            on.note(out);
            if dry_run.dry_run {
                let diff = rbac.preview_update_role(&role, &[]).await?;
                on.diff(out, &diff);
                return Ok(());
            }
            deleted(out, &on, &rbac, &role, confirm, key, Removal::Role).await?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Removal {
    Role,
    Binding,
    User,
    Group,
}

async fn deleted(
    out: &Output,
    on: &On,
    rbac: &Rbac<'_>,
    target: &str,
    confirm: ConfirmArg,
    key: KeyArg,
    what: Removal,
) -> Result<()> {
    let key = key.idempotency_key.as_deref();
    confirmed(out, confirm.confirm, |confirmation| async move {
        match what {
            Removal::Role => rbac.delete_role(target, confirmation.as_deref(), key).await,
            Removal::Binding => {
                rbac.delete_binding(target, confirmation.as_deref(), key)
                    .await
            }
            Removal::User => rbac.delete_user(target, confirmation.as_deref(), key).await,
            Removal::Group => {
                rbac.delete_group(target, confirmation.as_deref(), key)
                    .await
            }
        }
    })
    .await?;
    let (noun, field) = match what {
        Removal::Role => ("role", "role"),
        Removal::Binding => ("binding", "binding"),
        Removal::User => ("user", "user"),
        Removal::Group => ("group", "group"),
    };
    if out.json {
        let mut value = serde_json::json!({ "deleted": target, "kind": field });
        if let (Some(map), Ok(serde_json::Value::Object(on))) =
            (value.as_object_mut(), serde_json::to_value(on))
        {
            map.extend(on);
        }
        out.json(&value);
    } else {
        println!("deleted {noun} {}", sanitize::remote(target));
    }
    Ok(())
}

pub async fn bindings(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: BindingsCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let rbac = session.rbac();
    let on = On::of(session.profile());
    match cmd {
        BindingsCommand::List {
            subject,
            role,
            scope,
        } => {
            let filter = BindingFilter {
                subject,
                role,
                scope,
            };
            let rows: Vec<_> = rbac
                .binding_rows()
                .await?
                .into_iter()
                .filter(|r| filter.matches(r))
                .collect();
            out.list(
                &rows,
                "no bindings",
                &[
                    Column::text("ID", u8::MAX),
                    Column::free_text("SUBJECT", u8::MAX),
                    Column::text("ROLE", u8::MAX),
                    Column::free_text("SCOPE", u8::MAX),
                    Column::text("CREATED", 1),
                ],
                rows.iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.subject.clone(),
                            r.role.clone(),
                            r.scope.to_string(),
                            when(r.created_at),
                        ]
                    })
                    .collect(),
            );
        }
        BindingsCommand::Get { binding } => {
            let row = rbac.binding(&binding).await?;
            if out.json {
                out.json(&row);
            } else {
                out.fields(&[
                    ("id", row.id.clone()),
                    ("subject", row.subject.clone()),
                    ("role", row.role.clone()),
                    ("scope", row.scope.to_string()),
                    ("created", when(row.created_at)),
                ]);
            }
        }
        BindingsCommand::Create {
            subject,
            role,
            tenant,
            dry_run,
            key,
        } => {
            on.note(out);
            let new = NewBinding {
                subject,
                role,
                tenant,
            };
            if dry_run.dry_run {
                let diff = rbac.preview_create_binding(&new).await?;
                on.diff(out, &diff);
                return Ok(());
            }
            let binding = rbac
                .create_binding(&new, key.idempotency_key.as_deref())
                .await?;
            let scope = new
                .tenant
                .as_deref()
                .map_or("the platform".to_string(), |t| format!("tenant {t}"));
            on.changed(
                out,
                &binding,
                &format!(
                    "bound role {} to {} on {scope} (binding {})",
                    binding.role, new.subject, binding.id
                ),
            );
        }
        BindingsCommand::Delete {
            binding,
            confirm,
            dry_run,
            key,
        } => {
            on.note(out);
            if dry_run.dry_run {
                let diff = rbac.preview_delete_binding(&binding).await?;
                on.diff(out, &diff);
                return Ok(());
            }
            deleted(out, &on, &rbac, &binding, confirm, key, Removal::Binding).await?;
        }
    }
    Ok(())
}

pub async fn tokens(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: TokensCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let rbac = session.rbac();
    let on = On::of(session.profile());
    match cmd {
        TokensCommand::List => {
            let rows = rbac.token_rows().await?;
            out.list(
                &rows,
                "no tokens",
                &[
                    Column::free_text("NAME", u8::MAX),
                    Column::free_text("OWNER", u8::MAX),
                    Column::text("STATE", u8::MAX),
                    Column::text("EXPIRES", 2),
                    Column::text("CREATED", 1),
                ],
                rows.iter()
                    .map(|r| {
                        let state = if r.token.revoked_at.is_some() {
                            "revoked"
                        } else if r.usable {
                            "active"
                        } else {
                            "expired"
                        };
                        vec![
                            r.token.name.clone(),
                            r.owner_name.clone(),
                            state.to_string(),
                            r.token.expires_at.map_or("never".to_string(), when),
                            when(r.token.created_at),
                        ]
                    })
                    .collect(),
            );
        }
        TokensCommand::Create {
            user,
            service,
            name,
            expires_in,
            key,
        } => {
            on.note(out);
            let owner = match (user, service) {
                (Some(email), _) => SubjectRef::User(email.trim().to_lowercase()),
                (None, Some(name)) => SubjectRef::Service(name),
                // clap requires one of them.
                (None, None) => SubjectRef::User(String::new()),
            };
            let lifetime = expires_in
                .as_deref()
                .map(|text| parse_lifetime("expires_in", text))
                .transpose()?;
            let created = rbac
                .create_token(&name, &owner, lifetime, key.idempotency_key.as_deref())
                .await?;
            if out.json {
                #[derive(Serialize)]
                struct Created<'a> {
                    #[serde(flatten)]
                    listed: &'a opsdeck_api::rbac::Token,
                    owner_name: String,
                    /// The bearer token itself, shown this once.
                    token: &'a str,
                    #[serde(flatten)]
                    on: &'a On,
                }
                out.json(&Created {
                    listed: &created.token,
                    owner_name: owner.to_string(),
                    token: &created.secret,
                    on: &on,
                });
            } else {
                let expires = created
                    .token
                    .expires_at
                    .map_or("never expires".to_string(), |at| {
                        format!("expires {}", when(at))
                    });
                out.note(&format!(
                    "token {} for {owner}, {expires}; it is shown once, store it now:",
                    created.token.name
                ));
                // Alone on the last line, for `| tail -n1` and the like.
                println!("{}", created.secret);
            }
        }
        TokensCommand::Revoke {
            token,
            confirm,
            key,
        } => {
            on.note(out);
            let key = key.idempotency_key.as_deref();
            let (t, rbac) = (&token, &rbac);
            let revoked = confirmed(out, confirm.confirm, |confirmation| async move {
                rbac.revoke_token(t, confirmation.as_deref(), key).await
            })
            .await?;
            on.changed(out, &revoked, &format!("revoked token {}", revoked.name));
        }
    }
    Ok(())
}

pub async fn rbac(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: RbacCommand,
) -> Result<()> {
    let session = console.session(profile).await?;
    let rbac = session.rbac();
    match cmd {
        RbacCommand::WhoCan { permission, tenant } => {
            let found = rbac.who_can(permission, tenant.as_deref()).await?;
            if out.json {
                out.json(&found);
                return Ok(());
            }
            if found.holders.is_empty() {
                out.note(&format!("nobody holds {permission}"));
                return Ok(());
            }
            // One row per path, read left to right as the grant goes:
            // holder → group → binding → role, on a scope. The binding id
            // is the first column to go when the terminal is narrow.
            let mut rows = Vec::new();
            for holder in &found.holders {
                for (i, path) in holder.paths.iter().enumerate() {
                    let who = if i == 0 {
                        holder.subject.clone()
                    } else {
                        String::new()
                    };
                    rows.push(vec![
                        who,
                        path.group.clone().unwrap_or_else(|| "-".to_string()),
                        path.binding.clone(),
                        path.role.clone(),
                        path.scope.to_string(),
                    ]);
                }
            }
            out.table(
                &[
                    Column::free_text("HOLDER", u8::MAX),
                    Column::free_text("GROUP", u8::MAX),
                    Column::text("BINDING", 1),
                    Column::text("ROLE", u8::MAX),
                    Column::free_text("SCOPE", u8::MAX),
                ],
                rows,
            );
        }
        RbacCommand::Effective { subject } => {
            let found = rbac.effective(&subject).await?;
            if out.json {
                out.json(&found);
                return Ok(());
            }
            let mut rows = vec![vec![
                "platform".to_string(),
                permission_list(&found.effective.platform),
            ]];
            for t in &found.effective.tenants {
                rows.push(vec![
                    format!("tenant {}", t.slug),
                    permission_list(&t.permissions),
                ]);
            }
            out.table(
                &[
                    Column::free_text("SCOPE", u8::MAX),
                    Column::free_text("PERMISSIONS", u8::MAX),
                ],
                rows,
            );
        }
    }
    Ok(())
}
