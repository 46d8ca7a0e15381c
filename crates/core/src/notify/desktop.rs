//! Delivery of notices: the [`Notifier`] trait, and [`DesktopNotifier`],
//! which hands them to the desktop's notification server on the session
//! bus (freedesktop.org Notifications, through notify-rust over zbus: no
//! system library). Urgency follows severity: critical is critical, a
//! resolve is low.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::{Notice, Severity};
use crate::error::{Error, Result};

/// The longest the notification server may take to take one notification.
const SHOW: Duration = Duration::from_secs(5);

/// Somewhere notices go.
pub trait Notifier: Send + Sync {
    /// Tells `notice` about `profile`'s alerts.
    fn notify<'a>(
        &'a self,
        profile: &'a str,
        notice: &'a Notice,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;
}

/// Called with the profile and the alert's fingerprint when the user clicks
/// a notification about one group.
pub type OnClick = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// The desktop's notification server.
#[derive(Clone, Default)]
pub struct DesktopNotifier {
    on_click: Option<OnClick>,
}

impl DesktopNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the server to report clicks on notifications about one group.
    pub fn on_click(mut self, on_click: OnClick) -> Self {
        self.on_click = Some(on_click);
        self
    }
}

fn urgency(severity: Severity) -> notify_rust::Urgency {
    match severity {
        Severity::Critical => notify_rust::Urgency::Critical,
        Severity::Error | Severity::Warning => notify_rust::Urgency::Normal,
        Severity::Info => notify_rust::Urgency::Low,
    }
}

impl Notifier for DesktopNotifier {
    fn notify<'a>(
        &'a self,
        profile: &'a str,
        notice: &'a Notice,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(async move {
            let mut n = notify_rust::Notification::new();
            n.appname("Opsdeck")
                .summary(&format!("{profile}: {}", notice.title()))
                .body(&notice.body())
                .urgency(urgency(notice.severity()))
                .hint(notify_rust::Hint::Category("alert".into()))
                .hint(notify_rust::Hint::DesktopEntry("opsdeck".into()));
            let click = self
                .on_click
                .clone()
                .zip(notice.fingerprint().map(str::to_string));
            if click.is_some() {
                n.action("default", "Open in Opsdeck");
            }
            let handle = tokio::time::timeout(SHOW, n.show_async())
                .await
                .map_err(|_| Error::Notification {
                    message: format!(
                        "the notification server did not answer in {}s",
                        SHOW.as_secs()
                    ),
                })?
                .map_err(|e| Error::Notification {
                    message: e.to_string(),
                })?;
            if let Some((on_click, fingerprint)) = click {
                let profile = profile.to_string();
                // The server says when it is clicked or closed; until then
                // the handle waits on the bus, not on the watcher.
                tokio::spawn(async move {
                    handle
                        .wait_for_action_async(|response| {
                            if matches!(response, notify_rust::NotificationResponse::Default) {
                                on_click(&profile, &fingerprint);
                            }
                        })
                        .await;
                });
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urgency_follows_severity() {
        assert_eq!(urgency(Severity::Critical), notify_rust::Urgency::Critical);
        assert_eq!(urgency(Severity::Warning), notify_rust::Urgency::Normal);
        assert_eq!(urgency(Severity::Info), notify_rust::Urgency::Low);
    }
}
