//! Wire types of the Platform Admin API v1: what the server sends and accepts,
//! the rules every request body must satisfy, their OpenAPI schemas and the
//! shared parts of the OpenAPI document (the operations are declared on the
//! server's handlers). No I/O lives here; the server and every client share it.

pub mod approvals;
pub mod audit;
pub mod backups;
pub mod clusters;
pub mod error;
pub mod health;
pub mod incidents;
pub mod jobs;
pub mod maintenance;
pub mod openapi;
pub mod playbooks;
pub mod rbac;
pub mod tenants;
pub mod validation;

pub use error::{ErrorCode, ErrorEnvelope, FieldError};

/// Header that makes a mutation safe to retry: the same key with the same body
/// returns the first response and has no second effect.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Header carrying, on every response, the id the server gave the request
/// (the one its logs and audit records name). The server always makes its
/// own: an id a client sends in this header is only logged beside it and
/// echoed in `CLIENT_REQUEST_ID`.
pub const REQUEST_ID: &str = "x-request-id";

/// Response header echoing the `x-request-id` a client sent, when it was
/// printable ASCII of at most 200 bytes.
pub const CLIENT_REQUEST_ID: &str = "x-client-request-id";

/// Largest request body the server accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Largest page a list endpoint returns.
pub const MAX_PAGE_LIMIT: u32 = 200;

/// Page size when the client names none.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
