//! Jobs of a profile's server (backups now; restores and failovers later):
//! list them, read one, cancel one, and watch one to its end. A watch
//! follows the job's event stream (`GET /v1/jobs/{job}/events`), each read
//! bounded in time and size; when the stream breaks or cannot be opened it
//! polls the job instead and tries the stream again, resuming after the
//! last log line it delivered. What the server says is cleaned of terminal
//! control before anyone sees it.

use std::time::Duration;

use opsdeck_api::jobs::{events, Job, JobLogLine, JobPage, JobState};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::progress::{Progress, Reporter};
use crate::sanitize;
use crate::session::Session;

/// How long a stream may go without a byte: the server sends a keep-alive
/// every 15 s, so this means it or the network is gone.
const STREAM_IDLE: Duration = Duration::from_secs(45);

/// The most one event may hold: a job's state, or one log line.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// A stream is closed and resumed after this long, so no one connection
/// lives for ever.
const STREAM_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Between polls while the stream is broken.
const POLL_EVERY: Duration = Duration::from_secs(2);

impl Session {
    /// The jobs of this session's server.
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs { session: self }
    }
}

/// The jobs of a session's server.
pub struct Jobs<'s> {
    session: &'s Session,
}

/// Whether a job will change again.
pub fn is_finished(state: JobState) -> bool {
    !matches!(state, JobState::Queued | JobState::Running)
}

/// The job's text cleaned of terminal control.
pub fn clean(mut job: Job) -> Job {
    let text = |s: &mut String| *s = sanitize::remote(s);
    let opt = |s: &mut Option<String>| {
        if let Some(s) = s {
            *s = sanitize::remote(s);
        }
    };
    text(&mut job.id);
    text(&mut job.kind);
    opt(&mut job.target);
    opt(&mut job.actor);
    opt(&mut job.error);
    opt(&mut job.progress.phase);
    for line in &mut job.log {
        text(&mut line.line);
    }
    job
}

/// Where a job stands, as a progress event: its phase and percent when it
/// knows them, else its state.
pub fn progress_of(job: &Job) -> Progress {
    let phase = match (&job.progress.phase, job.state) {
        (Some(phase), JobState::Running) => phase.clone(),
        _ => state_word(job.state).to_string(),
    };
    match job.progress.percent {
        Some(percent) if job.state == JobState::Running => Progress::new(
            phase,
            percent.clamp(0.0, 100.0).round() as u64,
            Some(100),
            "%",
        ),
        _ if job.state == JobState::Succeeded => Progress::new(phase, 100, Some(100), "%"),
        _ => Progress::new(phase, 0, None, "%"),
    }
}

/// The word of a state, as the API spells it.
pub fn state_word(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Succeeded => "succeeded",
        JobState::Failed => "failed",
        JobState::Cancelled => "cancelled",
    }
}

impl Jobs<'_> {
    /// One page of jobs, newest first.
    pub async fn list(&self, limit: Option<u32>, cursor: Option<String>) -> Result<JobPage> {
        let mut page = self.session.admin().list_jobs(limit, cursor).await?;
        page.items = page.items.into_iter().map(clean).collect();
        Ok(page)
    }

    /// One job with its log.
    pub async fn get(&self, id: &str) -> Result<Job> {
        Ok(clean(self.session.admin().get_job(id).await?))
    }

    /// Cancels a job: a queued one ends at once; a running one is asked to
    /// stop (the answer is still `running`; watch it to its end).
    pub async fn cancel(&self, id: &str) -> Result<Job> {
        let key = uuid::Uuid::new_v4().to_string();
        Ok(clean(self.session.admin().cancel_job(id, &key).await?))
    }

    /// Follows the job until it ends, reporting its progress and handing
    /// each log line to `on_line` once, in order; the answer is the job as
    /// it ended (without its log). A broken stream falls back to polling.
    pub async fn watch(
        &self,
        id: &str,
        reporter: &Reporter,
        on_line: &mut (dyn FnMut(&JobLogLine) + Send),
    ) -> Result<Job> {
        let mut watch = Watch {
            last: None,
            reporter,
            on_line,
        };
        loop {
            match self.stream(id, &mut watch).await {
                Ok(Some(job)) => return Ok(job),
                // Refusals the stream would get again (no such job, no
                // permission, a token refused) end the watch.
                Err(err @ (Error::Api { .. } | Error::TokenRejected { .. }))
                    if !is_passing(&err) =>
                {
                    return Err(err)
                }
                Ok(None) | Err(_) => {}
            }
            // The stream broke or could not be had: poll until it can.
            let job = self.get(id).await?;
            watch.log_after(&job.log);
            watch.reporter.report(progress_of(&job));
            if is_finished(job.state) {
                return Ok(Job {
                    log: Vec::new(),
                    ..job
                });
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// One connection of the stream: `Some(job)` at its end, `None` when
    /// it closed or broke before (resume after `watch.last`).
    async fn stream(&self, id: &str, watch: &mut Watch<'_>) -> Result<Option<Job>> {
        let response = self
            .session
            .admin()
            .job_events(id, watch.last, STREAM_LIFETIME)
            .await?;
        let mut reader = EventReader::new(response);
        loop {
            let event = match reader.next(STREAM_IDLE).await {
                Ok(Some(event)) => event,
                Ok(None) => return Ok(None),
                Err(broken) => {
                    tracing::debug!(job = id, %broken, "the job's event stream broke; polling");
                    return Ok(None);
                }
            };
            match event.name.as_str() {
                events::LOG => {
                    if let Ok(line) = serde_json::from_str::<JobLogLine>(&event.data) {
                        watch.log_after(std::slice::from_ref(&line));
                    }
                }
                events::JOB | events::END => {
                    let Ok(job) = serde_json::from_str::<Job>(&event.data) else {
                        return Ok(None);
                    };
                    let job = clean(job);
                    watch.reporter.report(progress_of(&job));
                    if event.name == events::END || is_finished(job.state) {
                        return Ok(Some(job));
                    }
                }
                // Events this version does not know are skipped.
                _ => {}
            }
        }
    }
}

/// A refusal that may pass (a busy or restarting server).
fn is_passing(err: &Error) -> bool {
    matches!(err, Error::Api { status, .. } if matches!(*status, 429 | 502 | 503 | 504))
}

/// What a watch delivered so far.
struct Watch<'a> {
    /// The `seq` of the last log line handed on.
    last: Option<u64>,
    reporter: &'a Reporter,
    on_line: &'a mut (dyn FnMut(&JobLogLine) + Send),
}

impl Watch<'_> {
    /// Hands on the lines after the last one delivered, each once.
    fn log_after(&mut self, lines: &[JobLogLine]) {
        for line in lines {
            if self.last.is_some_and(|last| line.seq <= last) {
                continue;
            }
            let clean = JobLogLine {
                line: sanitize::remote(&line.line),
                ..line.clone()
            };
            (self.on_line)(&clean);
            self.last = Some(line.seq);
        }
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SseEvent {
    name: String,
    data: String,
}

/// Why a stream was given up.
#[derive(Debug, thiserror::Error)]
enum Broken {
    #[error("nothing arrived for {0:?}")]
    Idle(Duration),
    #[error("an event was larger than {MAX_EVENT_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Transport(String),
}

/// Reads server-sent events off a response, holding at most one event's
/// bytes at a time.
struct EventReader {
    response: reqwest::Response,
    parser: Parser,
}

impl EventReader {
    fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            parser: Parser::default(),
        }
    }

    async fn next(&mut self, idle: Duration) -> std::result::Result<Option<SseEvent>, Broken> {
        loop {
            if let Some(event) = self.parser.next_event()? {
                return Ok(Some(event));
            }
            let deadline = Instant::now() + idle;
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return Err(Broken::Idle(idle)),
                Ok(Err(e)) => return Err(Broken::Transport(e.to_string())),
                Ok(Ok(None)) => return Ok(None),
                Ok(Ok(Some(bytes))) => self.parser.push(&bytes)?,
            }
        }
    }
}

/// The event-stream format: lines of `field: value`, an event ended by a
/// blank line; comments (`:`) skipped, `\r\n` taken as `\n`.
#[derive(Default)]
struct Parser {
    buffer: Vec<u8>,
}

impl Parser {
    fn push(&mut self, bytes: &[u8]) -> std::result::Result<(), Broken> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() > MAX_EVENT_BYTES && self.find_end().is_none() {
            return Err(Broken::TooLarge);
        }
        Ok(())
    }

    /// Where the first event ends (after its blank line), and its length.
    fn find_end(&self) -> Option<(usize, usize)> {
        let b = &self.buffer;
        (0..b.len()).find_map(|i| {
            if b[i..].starts_with(b"\n\n") {
                Some((i, 2))
            } else if b[i..].starts_with(b"\r\n\r\n") {
                Some((i, 4))
            } else {
                None
            }
        })
    }

    fn next_event(&mut self) -> std::result::Result<Option<SseEvent>, Broken> {
        loop {
            let Some((end, sep)) = self.find_end() else {
                return Ok(None);
            };
            let block: Vec<u8> = self.buffer.drain(..end + sep).collect();
            if end > MAX_EVENT_BYTES {
                return Err(Broken::TooLarge);
            }
            let text = String::from_utf8_lossy(&block[..end]);
            let mut name = "message".to_string();
            let mut data: Vec<&str> = Vec::new();
            for line in text.lines() {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if line.starts_with(':') {
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => name = value.to_string(),
                    "data" => data.push(value),
                    _ => {}
                }
            }
            if data.is_empty() {
                continue;
            }
            return Ok(Some(SseEvent {
                name,
                data: data.join("\n"),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_parsed_across_chunks_and_comments_are_skipped() {
        let mut parser = Parser::default();
        parser
            .push(b": keep-alive\n\nevent: log\nid: 3\ndata: {\"a\"")
            .expect("push");
        assert_eq!(parser.next_event().expect("ok"), None);
        parser
            .push(b":1}\n\nevent: end\r\ndata: x\r\n\r\n")
            .expect("push");
        assert_eq!(
            parser.next_event().expect("ok"),
            Some(SseEvent {
                name: "log".into(),
                data: "{\"a\":1}".into()
            })
        );
        assert_eq!(
            parser.next_event().expect("ok").map(|e| e.name),
            Some("end".to_string())
        );
        assert_eq!(parser.next_event().expect("ok"), None);
    }

    #[test]
    fn an_event_that_never_ends_is_refused_before_it_grows_past_the_limit() {
        let mut parser = Parser::default();
        let chunk = vec![b'x'; 64 * 1024];
        let mut refused = false;
        for _ in 0..20 {
            if parser.push(&chunk).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused, "held {} bytes", parser.buffer.len());
    }

    #[test]
    fn progress_shows_the_percent_while_running_and_the_state_otherwise() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "id": "j", "kind": "backup", "state": "running",
            "progress": { "phase": "backing up", "percent": 42.4 },
            "request": {}, "attempts": 1,
            "created_at": "2026-11-24T10:00:00Z", "updated_at": "2026-11-24T10:00:00Z"
        }))
        .expect("a job");
        let running = progress_of(&job);
        assert_eq!(
            (running.phase.as_str(), running.done, running.total),
            ("backing up", 42, Some(100))
        );
        let failed = progress_of(&Job {
            state: JobState::Failed,
            ..job
        });
        assert_eq!((failed.phase.as_str(), failed.total), ("failed", None));
    }
}
