//! The one harness of Opsdeck's tests: the real servers a test needs
//! (platform-admin, PostgreSQL, Prometheus, Alertmanager, the desktop app's WebDriver,
//! a hostile HTTP server), each started for one test on an address it bound itself, with
//! its own temp dir, and stopped when the test ends, even when it fails.
//! The end-to-end tests in `tests/` and the platform-admin crate's tests both
//! use it (the crate takes this package as a dev-dependency).
//!
//! Every wait here has a deadline and every read of a child's output a
//! timeout; async tests get async waits, sync tests sync ones.
//!
//! Adding a server is one module beside `platform_admin.rs`: a struct that
//! owns its [`process::Proc`] and temp dir, and a `start` that either lets
//! the program bind port 0 and reads back the address it prints
//! ([`process::Proc::wait_for_line`]), or, for a program that cannot report
//! what it bound, picks a port and retries on a collision
//! ([`port::retry_on_collision`], with [`port::held_by`] to tell the
//! program's own listener from a stranger's).

pub mod alertmanager;
pub mod cli;
pub mod desktop;
pub mod hostile;
pub mod http;
pub mod notifications;
pub mod patroni;
pub mod pgbackrest;
pub mod platform_admin;
pub mod port;
pub mod postgres;
pub mod process;
pub mod prometheus;
pub mod redis;
pub mod small_disk;
pub mod tray;
pub mod wait;

use std::future::Future;
use std::path::{Path, PathBuf};

pub use alertmanager::Alertmanager;
pub use cli::{Cli, Run};
pub use http::{Http, Response};
pub use notifications::NotificationServer;
pub use platform_admin::{Backend, PlatformAdmin};
pub use postgres::Postgres;
pub use process::Proc;
pub use prometheus::Prometheus;
pub use tray::Tray;
pub use wait::{wait_until, wait_until_async, within};

/// Where cargo put the workspace's binaries (next to the test's `deps/`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir of the test executable");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace binaries first (`cargo build --workspace --bins`, done by tests/run)",
        path.display()
    );
    path
}

/// Runs blocking `work` from a sync test or an async one: on a runtime with
/// worker threads it tells tokio this thread blocks, so the test's other
/// tasks (an in-process server, say) keep running.
pub fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Runs `future` to the end from sync code, on a small runtime of its own on
/// a thread of its own, so it works inside an async test too (where drops
/// and sync helpers are called).
pub fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    blocking(|| {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for the harness")
                        .block_on(future)
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}
