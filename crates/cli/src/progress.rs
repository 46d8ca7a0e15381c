//! Core's progress events drawn as a bar on stderr: a spinner with a count
//! while the total is unknown, a bar once it is. Drawn only for people (a
//! terminal, no `--json`); scripts see nothing of it.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use opsdeck_core::progress::{Progress, Reporter};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// How long work runs before its bar shows: quick work draws nothing, so
/// the common short list does not flicker.
const SHOW_AFTER: Duration = Duration::from_millis(300);

/// A reporter for long work, and the task drawing what it reports. Await
/// the task after the work (and the reporter) are done, so the bar is
/// cleared before the result is printed.
pub fn bar(json: bool) -> (Reporter, JoinHandle<()>) {
    let (reporter, events) = Reporter::channel();
    let target = if !json && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    (reporter, tokio::spawn(draw(events, target, SHOW_AFTER)))
}

async fn draw(
    mut events: UnboundedReceiver<Progress>,
    target: ProgressDrawTarget,
    show_after: Duration,
) {
    let mut latest = None;
    let quiet = tokio::time::sleep(show_after);
    tokio::pin!(quiet);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(progress) => latest = Some(progress),
                // Done before the bar was due: nothing was drawn.
                None => return,
            },
            _ = &mut quiet => break,
        }
    }
    let bar = ProgressBar::with_draw_target(None, target).with_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    if let Some(progress) = latest {
        show(&bar, &progress);
    }
    while let Some(progress) = events.recv().await {
        show(&bar, &progress);
    }
    bar.finish_and_clear();
}

/// A spinner with a count while the total is unknown, a bar once it is.
fn show(bar: &ProgressBar, progress: &Progress) {
    match progress.total {
        Some(total) => {
            if bar.length() != Some(total) {
                bar.set_length(total);
                bar.set_style(
                    ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {percent}%")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            }
            bar.set_position(progress.done);
            bar.set_message(progress.phase.clone());
        }
        None => bar.set_message(format!(
            "{}: {} {}",
            progress.phase, progress.done, progress.unit
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_bar_ends_when_the_work_drops_its_reporter() {
        let (reporter, events) = Reporter::channel();
        let task = tokio::spawn(draw(
            events,
            ProgressDrawTarget::hidden(),
            Duration::from_millis(10),
        ));
        reporter.report(Progress::new("fetching tenants", 200, None, "tenants"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        reporter.report(Progress::new("copying", 3, Some(10), "files"));
        drop(reporter);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the drawing task ends")
            .expect("it does not panic");
    }
}
