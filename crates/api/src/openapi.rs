//! The parts of the OpenAPI 3 document of Platform Admin API v1 that no one
//! route owns: its info text, tags, the bearer security scheme and the error
//! envelope. The operations are declared on the server's real handlers
//! (`platform-admin`), whose router merges them onto this base; the
//! committed `openapi.json` beside this crate's `Cargo.toml` is generated
//! from that router and checked there.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{ErrorCode, ErrorEnvelope, FieldError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Opsdeck Platform Admin API",
        version = "1.0.0",
        description = "Tenants, audit, RBAC, backups, clusters and jobs of a multi-tenant platform. \
Every route but `/v1/health` and `/metrics` needs `Authorization: Bearer <token>` whose owner's bindings grant \
the permission the operation names in `x-permission` (`{\"name\": \"tenants.write\", \"scope\": \"tenant\"}`: \
on the tenant of the path; `platform`: on the whole platform; `each_tenant`: on the platform or on the tenants \
whose records the answer then holds); an operation marked `x-authenticated` needs a valid token and no \
permission (`/v1/rbac/me`: the caller's own subject and permissions); a 403 names the permission missing, and a tenant the caller holds nothing \
on answers 404 like one that does not exist. An operation whose `x-permission` has `two_person` (restore, switchover, failover, tenant \
deletion) needs, on a server whose two-person rule is on and outside an active maintenance window, a second person's approval: the id \
of a granted approval (`/v1/approvals`) in `Opsdeck-Approval`, used once; without one it answers 428 `approval_required`. Every mutation \
is audited and accepts an `Idempotency-Key` header: the same key with the same body returns the first \
response without a second effect; the same key with another body is rejected (422). Every response \
carries `x-request-id`."
    ),
    components(schemas(ErrorEnvelope, ErrorCode, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "Tenant lifecycle, plans and quotas"),
        (name = "audit", description = "Who changed what, when"),
        (name = "rbac", description = "Users, groups, service accounts, roles, bindings and tokens"),
        (name = "backups", description = "Backup targets and the backups taken of them"),
        (name = "clusters", description = "Replicated data stores: topology, preflight checks, switchovers and failovers"),
        (name = "playbooks", description = "Playbook runs: started on the server, run step by step by its jobs, approved and followed by people"),
        (name = "jobs", description = "Long work run by the server: state, progress, log and result"),
        (name = "incidents", description = "Incidents: status, timeline, linked alerts, targets and escalations"),
        (name = "maintenance", description = "Maintenance windows and the Alertmanager silences kept for them"),
        (name = "approvals", description = "The two-person rule: requests for a second person's approval of a destructive action, granted or denied, used once"),
        (name = "health", description = "Liveness and metrics"),
    )
)]
struct Base;

/// Name of the bearer token's security scheme, as operations refer to it.
pub const BEARER_SCHEME: &str = "bearer";

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document without operations, for the server to merge its routes onto.
pub fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_declares_the_bearer_scheme_and_the_error_envelope() {
        let doc = base();
        let components = doc.components.expect("components");
        assert!(components.security_schemes.contains_key(BEARER_SCHEME));
        assert!(components.schemas.contains_key("ErrorEnvelope"));
        assert!(doc.paths.paths.is_empty());
    }
}
