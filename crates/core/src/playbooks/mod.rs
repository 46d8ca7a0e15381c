//! Playbooks in the console: runs on the server (`runs`).

pub mod runs;
