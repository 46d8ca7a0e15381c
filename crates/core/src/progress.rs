//! One shape for long work (listing a large platform, backups, restores,
//! failovers, playbook runs): the work sends [`Progress`] events down a
//! channel as it goes, and whoever started it draws them, the CLI as a bar
//! on the terminal, the window from a Tauri channel. Work never polls a
//! shared flag, and a caller that wants no progress passes
//! [`Reporter::none`].

use serde::Serialize;
use tokio::sync::mpsc;

/// Where long work stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Progress {
    /// What is being done now, for people ("fetching tenants").
    pub phase: String,
    /// Units done so far in this phase (items, pages, bytes).
    #[specta(type = i32)]
    pub done: u64,
    /// Units in all, when known.
    #[specta(type = Option<i32>)]
    pub total: Option<u64>,
    /// What the units are ("tenants"), for labels.
    pub unit: String,
}

impl Progress {
    pub fn new(phase: impl Into<String>, done: u64, total: Option<u64>, unit: &str) -> Self {
        Self {
            phase: phase.into(),
            done,
            total,
            unit: unit.to_string(),
        }
    }

    /// Whole percent done, when the total is known.
    pub fn percent(&self) -> Option<u8> {
        self.total.map(|total| {
            (self.done.min(total) * 100)
                .checked_div(total)
                .map_or(100, |p| p as u8)
        })
    }
}

/// The sending end a piece of long work reports through. Cheap to clone;
/// reporting never blocks and never fails the work (a closed receiver only
/// means nobody is watching any more).
#[derive(Debug, Clone, Default)]
pub struct Reporter(Option<mpsc::UnboundedSender<Progress>>);

impl Reporter {
    /// A reporter whose events go nowhere.
    pub fn none() -> Self {
        Self(None)
    }

    /// A reporter and the stream of its events.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Progress>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(Some(tx)), rx)
    }

    pub fn report(&self, progress: Progress) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(progress);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_known_only_with_a_total_and_never_passes_100() {
        assert_eq!(Progress::new("x", 5, None, "tenants").percent(), None);
        assert_eq!(
            Progress::new("x", 1, Some(3), "tenants").percent(),
            Some(33)
        );
        assert_eq!(
            Progress::new("x", 9, Some(3), "tenants").percent(),
            Some(100)
        );
        assert_eq!(
            Progress::new("x", 0, Some(0), "tenants").percent(),
            Some(100)
        );
    }

    #[tokio::test]
    async fn events_arrive_in_order_and_a_gone_watcher_does_not_stop_the_work() {
        let (reporter, mut events) = Reporter::channel();
        reporter.report(Progress::new("a", 1, None, "pages"));
        reporter.report(Progress::new("a", 2, None, "pages"));
        assert_eq!(events.recv().await.map(|p| p.done), Some(1));
        assert_eq!(events.recv().await.map(|p| p.done), Some(2));
        drop(events);
        reporter.report(Progress::new("a", 3, None, "pages"));
        Reporter::none().report(Progress::new("a", 1, None, "pages"));
    }
}
