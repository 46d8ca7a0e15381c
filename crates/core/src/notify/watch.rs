//! The watcher's loop: looks at the alert groups of a profile's
//! Alertmanagers every interval (sooner while a batch settles), lets the
//! [`Decider`] choose what to tell, delivers it and saves what was told.
//! Every change is reported to the caller as a [`WatchEvent`]; an
//! Alertmanager that is down is reported once and looked at again, never a
//! reason to stop.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use opsdeck_api::incidents::IncidentStatus;
use serde::Serialize;

use super::decide::{firing_groups, Decider, Rules};
use super::desktop::Notifier;
use super::state::StateFile;
use super::{EscalationNotice, Notice, Severity};
use crate::alerts::AlertFilter;
use crate::error::{Error, Result};
use crate::session::Session;

/// How long the incidents are left alone after they could not be read.
const INCIDENTS_RETRY: Duration = Duration::from_secs(60);

/// How soon to look again while a batch of changes may still grow.
const SETTLE: Duration = Duration::from_secs(1);

/// What the watcher follows and how loud it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// Only alerts at or above it.
    pub severity: Severity,
    /// How often Alertmanager is asked.
    pub interval: Duration,
    pub rules: Rules,
    /// How often an escalated incident that is still not acknowledged is
    /// told again.
    pub escalation_repeat: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            severity: Severity::Warning,
            interval: Duration::from_secs(15),
            rules: Rules::default(),
            escalation_repeat: Duration::from_secs(120),
        }
    }
}

/// What happened while watching, in order.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    /// Watching began.
    Started {
        profile: String,
        severity: Severity,
        /// Where what was told is kept.
        state_file: String,
        /// How many groups were told about before and fired then.
        #[specta(type = u32)]
        remembered: usize,
    },
    /// What was told before could not be read; the watcher started afresh.
    StateReset { message: String },
    /// The user is told this (and, with a notifier, it was raised).
    Notice {
        profile: String,
        at: DateTime<Utc>,
        notice: Notice,
    },
    /// No Alertmanager answered; the watcher keeps looking.
    Unreachable { message: String },
    /// An Alertmanager answers again.
    Reachable,
    /// How many critical alerts fire now, whatever the chosen severity;
    /// reported on the first look and whenever it changes.
    Critical {
        #[specta(type = u32)]
        firing: usize,
    },
    /// A silence made to end when its alerts resolve was expired: none of
    /// them is left.
    SilenceEnded { id: String },
    /// The notifier did not take a notice.
    NotifyFailed { message: String },
    /// What was told could not be saved: a restart may tell it again.
    StateNotSaved { message: String },
}

/// What the loop remembers between looks, to report changes only.
#[derive(Default)]
struct Seen {
    down: bool,
    critical: Option<usize>,
    /// The incidents could not be read (said once until they can again).
    incidents_down: bool,
    /// After a failure the incidents are read again only from then on, so
    /// a server that is down or refuses does not slow the alerts' looks.
    incidents_retry_at: Option<Instant>,
    /// Escalated incidents told, by id: the escalation told and when.
    escalated: HashMap<String, (u32, Instant)>,
}

/// Critical alerts that fire, each once however many groups hold it.
fn critical_firing(groups: &[crate::alerts::AlertGroup]) -> usize {
    groups
        .iter()
        .flat_map(|g| &g.alerts)
        .filter(|a| {
            a.status == crate::alerts::AlertStatus::Firing
                && Severity::of_label(a.label("severity")) == Severity::Critical
        })
        .map(|a| a.fingerprint.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// Follows one profile's Alertmanagers.
pub struct Watcher {
    session: Session,
    options: WatchOptions,
    file: StateFile,
    notifier: Option<Arc<dyn Notifier>>,
}

impl Watcher {
    /// A watcher of `session`'s profile, keeping what it told under
    /// `data_dir`. The profile must name an Alertmanager.
    pub fn new(session: Session, data_dir: &Path, options: WatchOptions) -> Result<Self> {
        let profile = session.profile();
        if profile.alertmanager_urls.is_empty() {
            return Err(Error::NoAlertmanager {
                profile: profile.name.clone(),
            });
        }
        let file = StateFile::new(data_dir, &profile.name, &profile.alertmanager_urls);
        Ok(Self {
            session,
            options,
            file,
            notifier: None,
        })
    }

    /// Raises each notice through `notifier` too.
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Where what was told is kept.
    pub fn state_file(&self) -> &Path {
        self.file.path()
    }

    /// Watches until `shutdown` completes, reporting to `on`.
    pub async fn run<F, S>(self, mut on: F, shutdown: S) -> Result<()>
    where
        F: FnMut(WatchEvent) + Send,
        S: Future<Output = ()>,
    {
        let profile = self.session.profile().name.clone();
        let file = self.file.clone();
        let loaded = tokio::task::spawn_blocking(move || file.load())
            .await
            .map_err(|e| Error::Store {
                path: self.file.path().to_path_buf(),
                message: format!("reading it failed: {e}"),
            })?;
        if let Some(message) = loaded.broken {
            on(WatchEvent::StateReset { message });
        }
        on(WatchEvent::Started {
            profile: profile.clone(),
            severity: self.options.severity,
            state_file: self.file.path().display().to_string(),
            remembered: loaded.notified.groups.len(),
        });
        let mut decider = Decider::new(self.options.rules.clone(), loaded.notified);
        let mut seen = Seen::default();
        tokio::pin!(shutdown);
        loop {
            // Asking Alertmanager may be cut short by a stop; telling and
            // saving what was told is not, so a stop never leaves a
            // notification shown but not remembered.
            let groups = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                groups = self.fetch(&mut on, &mut seen) => groups,
            };
            let settling = match groups {
                Some(groups) => {
                    let settling = self.apply(groups, &mut decider, &mut on, &mut seen).await;
                    self.end_resolved(&mut on).await;
                    settling
                }
                None => false,
            };
            self.escalations(&mut on, &mut seen).await;
            let wait = if settling {
                SETTLE.min(self.options.interval)
            } else {
                self.options.interval
            };
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Tells each open incident its server escalated: when it is escalated
    /// again at once, else every `escalation_repeat` until someone
    /// acknowledges it. The incidents of a server that cannot be read are
    /// said once, and the alerts are watched all the same.
    async fn escalations<F: FnMut(WatchEvent)>(&self, on: &mut F, seen: &mut Seen) {
        if seen
            .incidents_retry_at
            .is_some_and(|at| Instant::now() < at)
        {
            return;
        }
        let profile = &self.session.profile().name;
        let incidents = self.session.incidents();
        let page = match incidents
            .list(Some(IncidentStatus::Open), Some(200), None)
            .await
        {
            Ok(page) => {
                seen.incidents_down = false;
                seen.incidents_retry_at = None;
                page
            }
            Err(e) => {
                seen.incidents_retry_at = Some(Instant::now() + INCIDENTS_RETRY);
                if !std::mem::replace(&mut seen.incidents_down, true) {
                    on(WatchEvent::NotifyFailed {
                        message: format!("could not read the open incidents: {e}"),
                    });
                }
                return;
            }
        };
        let mut open = HashSet::new();
        for incident in page.items.iter().filter(|i| i.severity.escalates()) {
            let Ok(detail) = incidents.get(&incident.id).await else {
                continue;
            };
            let Some(last) = detail.escalations.last() else {
                continue;
            };
            open.insert(incident.id.clone());
            let due = match seen.escalated.get(&incident.id) {
                None => true,
                Some((level, at)) => {
                    last.level > *level || at.elapsed() >= self.options.escalation_repeat
                }
            };
            if !due {
                continue;
            }
            let notice = Notice::Escalated(EscalationNotice {
                incident: incident.id.clone(),
                title: incident.title.clone(),
                severity: incident.severity,
                to: last.to.clone(),
                level: last.level,
            });
            if let Some(notifier) = &self.notifier {
                if let Err(e) = notifier.notify(profile, &notice).await {
                    on(WatchEvent::NotifyFailed {
                        message: e.to_string(),
                    });
                }
            }
            on(WatchEvent::Notice {
                profile: profile.clone(),
                at: Utc::now(),
                notice,
            });
            seen.escalated
                .insert(incident.id.clone(), (last.level, Instant::now()));
        }
        // Acknowledged (or resolved) ones are no longer told.
        seen.escalated.retain(|id, _| open.contains(id));
    }

    /// Ends the silences whose alerts have all resolved; a failure is said
    /// and tried again at the next look.
    async fn end_resolved<F: FnMut(WatchEvent)>(&self, on: &mut F) {
        let ended = match self.session.alerts() {
            Ok(alerts) => alerts.end_resolved().await,
            Err(e) => Err(e),
        };
        match ended {
            Ok(ids) => {
                for id in ids {
                    on(WatchEvent::SilenceEnded { id });
                }
            }
            Err(e) => on(WatchEvent::NotifyFailed {
                message: format!("could not end the silences of resolved alerts: {e}"),
            }),
        }
    }

    /// The alert groups now, or `None` when no Alertmanager answered.
    async fn fetch<F: FnMut(WatchEvent)>(
        &self,
        on: &mut F,
        seen: &mut Seen,
    ) -> Option<Vec<crate::alerts::AlertGroup>> {
        let filter = AlertFilter {
            active: true,
            silenced: false,
            inhibited: false,
            matchers: Vec::new(),
        };
        let groups = match self.session.alerts() {
            Ok(alerts) => alerts.groups(&filter).await,
            Err(e) => Err(e),
        };
        match groups {
            Ok(groups) => {
                if std::mem::take(&mut seen.down) {
                    on(WatchEvent::Reachable);
                }
                Some(groups.items)
            }
            Err(e) => {
                if !std::mem::replace(&mut seen.down, true) {
                    on(WatchEvent::Unreachable {
                        message: e.to_string(),
                    });
                }
                None
            }
        }
    }

    /// Decides on `groups`, tells and saves; true while a batch is settling.
    async fn apply<F: FnMut(WatchEvent)>(
        &self,
        groups: Vec<crate::alerts::AlertGroup>,
        decider: &mut Decider,
        on: &mut F,
        seen: &mut Seen,
    ) -> bool {
        let profile = &self.session.profile().name;
        let critical = critical_firing(&groups);
        if seen.critical != Some(critical) {
            seen.critical = Some(critical);
            on(WatchEvent::Critical { firing: critical });
        }
        let current = firing_groups(&groups, self.options.severity);
        let now = Utc::now();
        let step = decider.step(now, chrono::Local::now().time(), current);
        for notice in step.notices {
            if let Some(notifier) = &self.notifier {
                if let Err(e) = notifier.notify(profile, &notice).await {
                    on(WatchEvent::NotifyFailed {
                        message: e.to_string(),
                    });
                }
            }
            on(WatchEvent::Notice {
                profile: profile.clone(),
                at: now,
                notice,
            });
        }
        if step.changed {
            let (file, notified) = (self.file.clone(), decider.notified().clone());
            let saved = tokio::task::spawn_blocking(move || file.save(&notified))
                .await
                .unwrap_or_else(|e| {
                    Err(Error::Store {
                        path: self.file.path().to_path_buf(),
                        message: format!("saving it failed: {e}"),
                    })
                });
            if let Err(e) = saved {
                on(WatchEvent::StateNotSaved {
                    message: e.to_string(),
                });
            }
        }
        step.settling
    }
}
