//! Integration tests of platform-admin: the real server in-process on a
//! loopback port, driven over HTTP, on SQLite and on PostgreSQL (a database
//! in the server `OPSDECK_TEST_POSTGRES_URL` names, else in one the test
//! starts; the PostgreSQL variants fail when they get none).

#[macro_use]
mod support;

mod approvals;
mod audit;
mod auth;
mod backup_kinds;
mod backups;
mod cli;
mod clusters;
mod clusters_patroni;
mod connections;
mod contract;
mod errors;
mod etag;
mod idempotency;
mod incidents;
mod job_routes;
mod jobs;
mod maintenance;
mod observability;
mod playbooks;
mod process;
mod rbac;
mod rbac_routes;
mod rbac_who;
mod shared_queue;
mod tenant_labels;
mod tenant_text;
mod tenants;
