//! The audit log: one record per mutation, written by `mutation` in the
//! transaction of the change, and read back by `GET /v1/audit`.

pub mod routes;
pub mod store;
