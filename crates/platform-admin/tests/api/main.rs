//! Integration tests of platform-admin: the real server in-process on a
//! loopback port, driven over HTTP, on SQLite and on PostgreSQL (named by
//! `OPSDECK_TEST_POSTGRES_URL`; the PostgreSQL variants fail without it).

#[macro_use]
mod support;

mod audit;
mod auth;
mod cli;
mod contract;
mod errors;
mod idempotency;
mod observability;
mod tenants;
