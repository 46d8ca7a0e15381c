//! Waiting for a condition with a deadline: [`wait_until`] for sync tests
//! (it sleeps its thread), [`wait_until_async`] for async ones (it yields to
//! the runtime), and [`within`] to bound a whole async step.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(50);

/// Polls `check` until it holds or `timeout` passes. For sync tests only:
/// it sleeps the calling thread between checks.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    loop {
        if check() {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(POLL);
    }
}

/// Polls the async `check` until it holds or `timeout` passes, sleeping on
/// tokio's clock between checks; a check that itself hangs is cut off at the
/// deadline too.
pub async fn wait_until_async<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let polling = async {
        loop {
            if check().await {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    };
    match tokio::time::timeout(timeout, polling).await {
        Ok(()) => Ok(()),
        Err(_) => bail!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// Runs `step` for at most `limit`: for awaits that have no deadline of
/// their own (a WebDriver command, say).
pub async fn within<T>(what: &str, limit: Duration, step: impl Future<Output = T>) -> Result<T> {
    match tokio::time::timeout(limit, step).await {
        Ok(value) => Ok(value),
        Err(_) => bail!("{what} did not finish within {limit:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_gives_up_at_the_deadline() {
        let started = Instant::now();
        let outcome = wait_until("never", Duration::from_millis(200), || false);
        assert!(outcome.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn wait_until_async_cuts_off_a_check_that_hangs() {
        let outcome = wait_until_async("a hung check", Duration::from_millis(200), || {
            std::future::pending::<bool>()
        })
        .await;
        let message = format!("{:#}", outcome.expect_err("timed out"));
        assert!(message.contains("a hung check"), "{message}");
    }

    #[tokio::test]
    async fn wait_until_async_returns_once_the_check_holds() {
        let mut calls = 0;
        wait_until_async("the third call", Duration::from_secs(5), || {
            calls += 1;
            let done = calls >= 3;
            async move { done }
        })
        .await
        .expect("holds");
        assert_eq!(calls, 3);
    }
}
