//! Playbook runs on a profile's server: start one (a playbook file's text,
//! or a built-in playbook's id), list and read them, tick a manual step,
//! approve, retry, resume, and watch one until it waits on someone or
//! ends. The server runs the steps; this only asks and shows. What the
//! server says is cleaned of terminal control before anyone sees it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use opsdeck_api::playbooks::{
    ListRuns, PlaybookRun, ResumeRun, RunPage, RunState, RunSummary, StartRun, TickStep,
    MAX_SOURCE_BYTES,
};
use reqwest::Method;

use crate::client::{MAX_ITEM_BYTES, MAX_JOB_BYTES, MAX_PAGE_BYTES};
use crate::error::{Error, Result};
use crate::progress::{Progress, Reporter};
use crate::sanitize;
use crate::session::Session;

/// Between reads of a watched run.
const WATCH_EVERY: Duration = Duration::from_secs(1);

impl Session {
    /// The playbook runs of this session's server.
    pub fn playbook_runs(&self) -> PlaybookRuns<'_> {
        PlaybookRuns { session: self }
    }
}

/// The playbook runs of a session's server.
pub struct PlaybookRuns<'s> {
    session: &'s Session,
}

/// What `run` starts, as `dry-run` reads `what`: the text of the file it
/// names; else the playbook of that id in the user's folder (its file's
/// text); else `what` itself, a built-in playbook's id that the server
/// knows.
pub async fn source_of(paths: &crate::paths::Paths, what: &str) -> Result<String> {
    let path = Path::new(what);
    if let Ok(meta) = tokio::fs::metadata(path).await {
        if meta.is_file() {
            return read(path, meta.len()).await;
        }
    }
    let library = super::library::load(paths).await?;
    if let Some(entry) = library
        .get(what)
        .filter(|e| e.origin == super::library::Origin::User)
    {
        let file = Path::new(&entry.file);
        let meta = tokio::fs::metadata(file)
            .await
            .map_err(|source| Error::Io {
                path: file.to_path_buf(),
                source,
            })?;
        return read(file, meta.len()).await;
    }
    Ok(what.to_string())
}

async fn read(path: &Path, len: u64) -> Result<String> {
    if len > MAX_SOURCE_BYTES as u64 {
        return Err(Error::InvalidInput {
            field: "playbook".into(),
            message: format!(
                "{} is {len} bytes; a playbook run takes at most {MAX_SOURCE_BYTES}",
                path.display()
            ),
        });
    }
    tokio::fs::read_to_string(path)
        .await
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Text from the server, cleaned.
fn clean_summary(summary: &mut RunSummary) {
    let text = |s: &mut String| *s = sanitize::remote(s);
    text(&mut summary.id);
    text(&mut summary.playbook);
    text(&mut summary.title);
    text(&mut summary.started_by);
    if let Some(s) = &mut summary.current_step {
        text(s);
    }
    if let Some(s) = &mut summary.error {
        text(s);
    }
    if let Some(s) = &mut summary.incident_id {
        text(s);
    }
}

fn clean(mut run: PlaybookRun) -> PlaybookRun {
    let text = |s: &mut String| *s = sanitize::remote(s);
    clean_summary(&mut run.summary);
    for step in &mut run.steps {
        text(&mut step.id);
        text(&mut step.summary);
        text(&mut step.kind);
        text(&mut step.on_failure);
        if let Some(e) = &mut step.error {
            text(e);
        }
        if let Some(t) = &mut step.title {
            text(t);
        }
        for item in &mut step.checklist {
            text(&mut item.text);
        }
    }
    if let Some(waiting) = &mut run.waiting {
        text(&mut waiting.step);
        for line in &mut waiting.following {
            text(line);
        }
        if let Some(r) = &mut waiting.reason {
            text(r);
        }
    }
    for event in &mut run.events {
        text(&mut event.actor);
        text(&mut event.message);
        text(&mut event.kind);
    }
    for approval in &mut run.approvals {
        text(&mut approval.approver);
        text(&mut approval.role);
    }
    run
}

/// The run's place as a progress event: steps done out of all.
pub fn progress_of(run: &PlaybookRun) -> Progress {
    let done = run
        .steps
        .iter()
        .filter(|s| {
            matches!(
                s.state,
                opsdeck_api::playbooks::StepState::Succeeded
                    | opsdeck_api::playbooks::StepState::Skipped
            )
        })
        .count() as u64;
    let phase = match (&run.summary.current_step, run.summary.state) {
        (Some(step), RunState::Running | RunState::Queued) => format!("step {step}"),
        (Some(step), RunState::Waiting) => format!("waiting at step {step}"),
        _ => run.summary.state.as_str().to_string(),
    };
    Progress::new(phase, done, Some(run.steps.len() as u64), "steps")
}

impl PlaybookRuns<'_> {
    /// Starts a run of `source` (a playbook's YAML, or a built-in id).
    pub async fn start(
        &self,
        source: String,
        inputs: BTreeMap<String, String>,
        incident_id: Option<String>,
    ) -> Result<PlaybookRun> {
        let key = uuid::Uuid::new_v4().to_string();
        let body = StartRun {
            source,
            inputs,
            incident_id,
        };
        let run = self
            .session
            .admin()
            .call(
                Method::POST,
                &["v1", "playbook-runs"],
                None::<&()>,
                Some(&body),
                Some(&key),
                MAX_JOB_BYTES,
            )
            .await?;
        Ok(clean(run))
    }

    /// One page of runs, newest first.
    pub async fn list(&self, limit: Option<u32>, cursor: Option<String>) -> Result<RunPage> {
        self.list_of(None, limit, cursor).await
    }

    /// One page of runs, newest first: of `incident` when given.
    pub async fn list_of(
        &self,
        incident: Option<String>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<RunPage> {
        let query = ListRuns {
            limit,
            cursor,
            incident,
        };
        let mut page: RunPage = self
            .session
            .admin()
            .call(
                Method::GET,
                &["v1", "playbook-runs"],
                Some(&query),
                None::<&()>,
                None,
                MAX_PAGE_BYTES,
            )
            .await?;
        page.items.iter_mut().for_each(clean_summary);
        Ok(page)
    }

    /// Every run of an incident, newest first.
    pub async fn of_incident(&self, incident: &str) -> Result<Vec<RunSummary>> {
        let mut runs = Vec::new();
        let mut cursor = None;
        loop {
            let query = ListRuns {
                limit: None,
                cursor,
                incident: Some(incident.to_string()),
            };
            let page: RunPage = self
                .session
                .admin()
                .call(
                    Method::GET,
                    &["v1", "playbook-runs"],
                    Some(&query),
                    None::<&()>,
                    None,
                    MAX_PAGE_BYTES,
                )
                .await?;
            runs.extend(page.items.into_iter().map(|mut s| {
                clean_summary(&mut s);
                s
            }));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(runs),
            }
        }
    }

    /// The run with its steps, approvals and events.
    pub async fn get(&self, run: &str) -> Result<PlaybookRun> {
        let run = self
            .session
            .admin()
            .call(
                Method::GET,
                &["v1", "playbook-runs", run],
                None::<&()>,
                None::<&()>,
                None,
                MAX_JOB_BYTES,
            )
            .await?;
        Ok(clean(run))
    }

    async fn post(
        &self,
        segments: &[&str],
        body: Option<&impl serde::Serialize>,
    ) -> Result<PlaybookRun> {
        let key = uuid::Uuid::new_v4().to_string();
        let run = self
            .session
            .admin()
            .call(
                Method::POST,
                segments,
                None::<&()>,
                body,
                Some(&key),
                MAX_JOB_BYTES.max(MAX_ITEM_BYTES),
            )
            .await?;
        Ok(clean(run))
    }

    /// Ticks checklist items (by index, from 0) of the waiting manual step
    /// and, with `done`, marks it done.
    pub async fn tick(
        &self,
        run: &str,
        step: &str,
        items: Vec<u32>,
        done: bool,
    ) -> Result<PlaybookRun> {
        let body = TickStep { items, done };
        self.post(
            &["v1", "playbook-runs", run, "steps", step, "tick"],
            Some(&body),
        )
        .await
    }

    /// Approves the approval step the run waits on.
    pub async fn approve(&self, run: &str) -> Result<PlaybookRun> {
        self.post(&["v1", "playbook-runs", run, "approve"], None::<&()>)
            .await
    }

    /// Runs the failed step of a failed run again.
    pub async fn retry(&self, run: &str) -> Result<PlaybookRun> {
        self.post(&["v1", "playbook-runs", run, "retry"], None::<&()>)
            .await
    }

    /// Goes on from `from` (the step the run is at when `None`).
    pub async fn resume(&self, run: &str, from: Option<String>) -> Result<PlaybookRun> {
        let body = ResumeRun { from };
        self.post(&["v1", "playbook-runs", run, "resume"], Some(&body))
            .await
    }

    /// Reads the run until it waits on someone or ends, reporting its
    /// place; the run as it is then. `until_ended` watches through waits.
    pub async fn watch(
        &self,
        run: &str,
        reporter: &Reporter,
        until_ended: bool,
    ) -> Result<PlaybookRun> {
        loop {
            let now = self.get(run).await?;
            reporter.report(progress_of(&now));
            let state = now.summary.state;
            if state.ended() || (state == RunState::Waiting && !until_ended) {
                return Ok(now);
            }
            tokio::time::sleep(WATCH_EVERY).await;
        }
    }
}
