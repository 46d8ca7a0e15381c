//! Tenants: create, read, list, change, suspend, resume and delete them.

pub mod routes;
pub mod store;
