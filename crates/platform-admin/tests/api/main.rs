//! Integration tests of platform-admin: the real server in-process on a
//! loopback port, driven over HTTP, on SQLite and (when
//! `OPSDECK_TEST_POSTGRES_URL` is set) on PostgreSQL.

#[macro_use]
mod support;

mod audit;
mod auth;
mod cli;
mod connections;
mod errors;
mod idempotency;
mod observability;
mod process;
mod tenant_text;
mod tenants;
