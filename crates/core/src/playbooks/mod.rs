//! Playbooks in the console, before any run: the library (built-ins and
//! the user's folder), lint of a file, and the dry-run of a playbook with
//! its inputs and the permissions it needs. Nothing here talks to a server
//! but to learn what a user may do; runs are the server's (`runs` starts,
//! follows and acts on them there).

pub mod library;
pub mod recovery;
pub mod runs;
pub mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use opsdeck_api::rbac::Permission;
use opsdeck_playbook::{ActionName, ArgValue, Diagnostics, Plan, Playbook, StepKind};
use serde::Serialize;

pub use library::{Entry, Library, Note, Origin};
/// The format: model, parser, plan. Re-exported so callers name one crate.
pub use opsdeck_playbook as format;

use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::rbac::SubjectRef;
use crate::session::Session;

/// What lint found in one file.
#[derive(Debug, Clone, Serialize)]
pub struct Linted {
    pub file: String,
    /// The playbook's id when it read clean.
    pub id: Option<String>,
    /// Every problem, in file order; empty when it is clean.
    pub diagnostics: Diagnostics,
}

impl Linted {
    pub fn is_clean(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

/// Lints a file. Only a file that cannot be read at all is an error; what
/// is wrong inside it is in the answer.
pub async fn lint(path: &Path) -> Result<Linted> {
    let file = path.display().to_string();
    let text = match library::read_file(path).await {
        Ok(text) => text,
        Err(Error::Playbook { diagnostics }) => {
            return Ok(Linted {
                file,
                id: None,
                diagnostics,
            })
        }
        Err(e) => return Err(e),
    };
    Ok(lint_text(&file, &text))
}

/// Lints text, naming it `file` in the diagnostics.
pub fn lint_text(file: &str, text: &str) -> Linted {
    match opsdeck_playbook::parse(file, text) {
        Ok(p) => Linted {
            file: file.to_owned(),
            id: Some(p.id),
            diagnostics: Diagnostics::new(),
        },
        Err(diagnostics) => Linted {
            file: file.to_owned(),
            id: None,
            diagnostics,
        },
    }
}

/// What a dry-run checks the actions against.
#[derive(Debug, Clone)]
pub enum Permissions {
    /// Not known; said in the answer with the reason.
    Unknown { reason: String },
    /// What `whose` holds: on the platform, and on tenants where it holds more.
    Held {
        whose: String,
        platform: BTreeSet<Permission>,
        tenants: BTreeMap<String, BTreeSet<Permission>>,
    },
}

impl Permissions {
    fn allows(
        platform: &BTreeSet<Permission>,
        tenant: Option<&BTreeSet<Permission>>,
        p: Permission,
    ) -> bool {
        platform.contains(&p) || tenant.is_some_and(|t| t.contains(&p))
    }
}

/// Whether the plan's actions were checked against someone's permissions.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "checked", rename_all = "snake_case")]
pub enum PermissionCheck {
    /// Not checked, and why.
    No { reason: String },
    /// Checked against what `whose` holds; `refused` lists each action step
    /// it may not run, at the step's place.
    Yes { whose: String, refused: Diagnostics },
}

/// What a run would do, step by step; nothing was done.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    pub file: String,
    pub origin: Option<Origin>,
    pub plan: Plan,
    pub permissions: PermissionCheck,
}

/// Finds `what`: a file when it names one (a path, or a name ending in
/// `.yaml`/`.yml`), otherwise a playbook of the library by id.
pub async fn resolve(paths: &Paths, what: &str) -> Result<(Playbook, Option<Origin>)> {
    let as_path = PathBuf::from(what);
    let looks_like_file = what.ends_with(".yaml")
        || what.ends_with(".yml")
        || what.contains(std::path::MAIN_SEPARATOR)
        || tokio::fs::metadata(&as_path)
            .await
            .is_ok_and(|m| m.is_file());
    if looks_like_file {
        let text = library::read_file(&as_path).await?;
        let playbook = opsdeck_playbook::parse(what, &text)
            .map_err(|diagnostics| Error::Playbook { diagnostics })?;
        return Ok((playbook, None));
    }
    let library = library::load(paths).await?;
    match library.get(what) {
        Some(entry) => Ok((entry.playbook.clone(), Some(entry.origin))),
        None => Err(Error::PlaybookNotFound {
            id: what.to_owned(),
            dir: library.dir,
        }),
    }
}

/// Plans `what` (a file or a library id) with `inputs` and checks its
/// actions against `permissions`. Does nothing else.
pub async fn dry_run(
    paths: &Paths,
    what: &str,
    inputs: &BTreeMap<String, String>,
    permissions: &Permissions,
) -> Result<DryRun> {
    let (playbook, origin) = resolve(paths, what).await?;
    let plan = playbook
        .plan(inputs)
        .map_err(|diagnostics| Error::Playbook { diagnostics })?;
    let permissions = check(&playbook, &plan, permissions);
    Ok(DryRun {
        file: playbook.source.clone(),
        origin,
        plan,
        permissions,
    })
}

/// Checks each action against what is held; a tenant action also counts
/// what is held on its tenant.
fn check(playbook: &Playbook, plan: &Plan, permissions: &Permissions) -> PermissionCheck {
    let (whose, platform, tenants) = match permissions {
        Permissions::Unknown { reason } => {
            return PermissionCheck::No {
                reason: reason.clone(),
            }
        }
        Permissions::Held {
            whose,
            platform,
            tenants,
        } => (whose, platform, tenants),
    };
    let mut refused = Diagnostics::new();
    for (step, planned) in playbook.steps.iter().zip(&plan.steps) {
        let StepKind::Action { name, args } = &planned.kind else {
            continue;
        };
        let tenant = match (name, args.get("tenant")) {
            (ActionName::TenantSuspend | ActionName::TenantResume, Some(ArgValue::Text(slug))) => {
                tenants.get(slug)
            }
            _ => None,
        };
        let needed = name.permission();
        if !Permissions::allows(platform, tenant, needed) {
            refused.push(
                &playbook.source,
                step.position,
                format!(
                    "step `{}`: {name} needs the permission {needed}, which {whose} does not hold",
                    step.id
                ),
            );
        }
    }
    PermissionCheck::Yes {
        whose: whose.clone(),
        refused,
    }
}

/// What the profile of `session` may do, as far as the console can tell: a
/// read-only profile may take no action; with `subject`, what the server
/// says that subject holds (asking needs `rbac.read`); without, what the
/// profile's own token holds (any token may ask). A server too old to say
/// whom a token belongs to leaves the permissions unknown, with the reason.
pub async fn permissions_of(
    session: &Session,
    subject: Option<&SubjectRef>,
) -> Result<Permissions> {
    let profile = session.profile();
    if profile.read_only {
        return Ok(Permissions::Held {
            whose: format!("the read-only profile {}", profile.name),
            platform: BTreeSet::new(),
            tenants: BTreeMap::new(),
        });
    }
    let Some(subject) = subject else {
        let me = match session.rbac().me().await {
            Ok(me) => me,
            Err(Error::Api { status: 404, .. }) => {
                return Ok(Permissions::Unknown {
                    reason: format!(
                        "the server of profile {} does not say whom its token belongs to; name the user to check what they hold",
                        profile.name
                    ),
                })
            }
            Err(e) => return Err(e),
        };
        return Ok(Permissions::Held {
            whose: me.name,
            platform: me.platform.into_iter().collect(),
            tenants: me
                .tenants
                .into_iter()
                .map(|t| (t.slug, t.permissions.into_iter().collect()))
                .collect(),
        });
    };
    let view = session.rbac().effective(subject).await?;
    Ok(Permissions::Held {
        whose: view.subject.clone(),
        platform: view.effective.platform.iter().copied().collect(),
        tenants: view
            .effective
            .tenants
            .iter()
            .map(|t| (t.slug.clone(), t.permissions.iter().copied().collect()))
            .collect(),
    })
}

/// Before a run of `what` (a file or a library id) is started: its plan's
/// actions checked against what the session's own token holds. An action
/// it may not run is an error at its step, and nothing is sent; when the
/// server cannot say what the token holds, the server's own check decides.
pub async fn check_before_run(
    session: &Session,
    paths: &Paths,
    what: &str,
    inputs: &BTreeMap<String, String>,
) -> Result<()> {
    let permissions = permissions_of(session, None).await?;
    let dry = dry_run(paths, what, inputs, &permissions).await?;
    match dry.permissions {
        PermissionCheck::Yes { refused, .. } if !refused.is_empty() => Err(Error::Playbook {
            diagnostics: refused,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_FILE: &str = "version: 1\nid: high-error-rate\ntitle: Ours\nseverity: P3\nsteps:\n  - id: a\n    action: { name: tenant.suspend, args: { tenant: acme } }\n";

    fn temp() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let paths = Paths::under(dir.path());
        (dir, paths)
    }

    #[tokio::test]
    async fn a_user_playbook_with_a_builtin_id_replaces_it_and_is_reported() {
        let (_dir, paths) = temp();
        let folder = library::user_dir(&paths);
        std::fs::create_dir_all(&folder).expect("folder");
        std::fs::write(folder.join("mine.yaml"), USER_FILE).expect("write");
        std::fs::write(folder.join("broken.yml"), "version: 2\n").expect("write");
        std::fs::write(folder.join("notes.txt"), "not a playbook").expect("write");
        let lib = library::load(&paths).await.expect("loads");
        let entry = lib.get("high-error-rate").expect("listed once");
        assert_eq!(entry.origin, Origin::User);
        assert_eq!(entry.title, "Ours");
        assert_eq!(
            lib.entries
                .iter()
                .filter(|e| e.id == "high-error-rate")
                .count(),
            1
        );
        assert!(lib
            .get("dr-exercise")
            .is_some_and(|e| e.origin == Origin::Builtin));
        assert!(lib
            .notes
            .iter()
            .any(|n| matches!(n, Note::Shadows { id, .. } if id == "high-error-rate")));
        assert!(lib
            .notes
            .iter()
            .any(|n| matches!(n, Note::Invalid { file, .. } if file.ends_with("broken.yml"))));
        assert_eq!(lib.notes.len(), 2, "{:?}", lib.notes);
    }

    #[tokio::test]
    async fn a_dry_run_checks_tenant_actions_against_the_tenant_too() {
        let (_dir, paths) = temp();
        let file = paths.config_dir.join("p.yaml");
        std::fs::create_dir_all(&paths.config_dir).expect("dir");
        std::fs::write(&file, USER_FILE).expect("write");
        let what = file.display().to_string();
        let none = Permissions::Held {
            whose: "user:ann@example.com".into(),
            platform: BTreeSet::new(),
            tenants: BTreeMap::new(),
        };
        let run = dry_run(&paths, &what, &BTreeMap::new(), &none)
            .await
            .expect("plans");
        let PermissionCheck::Yes { refused, .. } = &run.permissions else {
            panic!("checked")
        };
        assert_eq!(refused.iter().map(|d| d.line).collect::<Vec<_>>(), vec![6]);
        let on_acme = Permissions::Held {
            whose: "user:ann@example.com".into(),
            platform: BTreeSet::new(),
            tenants: BTreeMap::from([(
                "acme".to_owned(),
                BTreeSet::from([Permission::TenantsWrite]),
            )]),
        };
        let run = dry_run(&paths, &what, &BTreeMap::new(), &on_acme)
            .await
            .expect("plans");
        assert!(
            matches!(&run.permissions, PermissionCheck::Yes { refused, .. } if refused.is_empty())
        );
    }

    #[tokio::test]
    async fn an_unknown_id_and_a_huge_file_are_errors_that_say_so() {
        let (_dir, paths) = temp();
        let unknown = Permissions::Unknown {
            reason: "no session".into(),
        };
        let err = dry_run(&paths, "no-such-playbook", &BTreeMap::new(), &unknown)
            .await
            .expect_err("unknown id");
        assert!(matches!(err, Error::PlaybookNotFound { .. }), "{err}");
        std::fs::create_dir_all(&paths.config_dir).expect("dir");
        let huge = paths.config_dir.join("huge.yaml");
        std::fs::write(&huge, vec![b'#'; opsdeck_playbook::MAX_FILE_BYTES + 1]).expect("write");
        let linted = lint(&huge).await.expect("lint answers");
        assert!(
            linted.diagnostics.to_string().contains("at most 256 KiB"),
            "{}",
            linted.diagnostics
        );
    }
}
