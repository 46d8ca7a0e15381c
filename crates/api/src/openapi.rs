//! The OpenAPI 3 document of Platform Admin API v1, generated from the wire
//! types in this crate. `openapi.json` beside `Cargo.toml` is its committed
//! copy; a test fails when the two drift (`OPSDECK_BLESS=1 cargo test -p
//! opsdeck-api` rewrites it).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::audit::{AuditPage, AuditRecord};
use crate::health::Health;
use crate::tenants::{
    CreateTenant, Plan, Quotas, QuotasPatch, Tenant, TenantPage, TenantStatus, UpdateTenant,
};
use crate::{ErrorCode, ErrorEnvelope, FieldError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Opsdeck Platform Admin API",
        version = "1.0.0",
        description = "Tenants, audit and (later) RBAC, backups, clusters and jobs of a multi-tenant platform. \
Every route but `/v1/health` needs `Authorization: Bearer <token>`. Every mutation is audited and \
accepts an `Idempotency-Key` header: the same key with the same body returns the first response \
without a second effect; the same key with another body is rejected (422). Every response carries \
`x-request-id`."
    ),
    paths(
        routes::health,
        routes::list_tenants,
        routes::create_tenant,
        routes::get_tenant,
        routes::update_tenant,
        routes::delete_tenant,
        routes::suspend_tenant,
        routes::resume_tenant,
        routes::list_audit,
    ),
    components(schemas(
        Health, Tenant, TenantPage, TenantStatus, Plan, Quotas, QuotasPatch, CreateTenant,
        UpdateTenant, AuditRecord, AuditPage, ErrorEnvelope, ErrorCode, FieldError
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "Tenant lifecycle, plans and quotas"),
        (name = "audit", description = "Who changed what, when"),
        (name = "health", description = "Liveness"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document as a value.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document as pretty JSON, exactly as committed.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the OpenAPI document is plain data and always serializes");
    json.push('\n');
    json
}

/// Declarations of the routes for the document; the server implements them.
#[allow(dead_code)]
mod routes {
    use crate::audit::{AuditPage, AuditQuery};
    use crate::health::Health;
    use crate::tenants::{CreateTenant, ListTenants, Tenant, TenantPage, UpdateTenant};
    use crate::ErrorEnvelope;

    #[utoipa::path(get, path = "/v1/health", tag = "health",
        responses((status = 200, body = Health), (status = 503, body = ErrorEnvelope)))]
    fn health() {}

    #[utoipa::path(get, path = "/v1/tenants", tag = "tenants", params(ListTenants),
        security(("bearer" = [])),
        responses(
            (status = 200, body = TenantPage),
            (status = 401, body = ErrorEnvelope),
            (status = 422, description = "Bad limit, cursor or status", body = ErrorEnvelope)))]
    fn list_tenants() {}

    #[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = CreateTenant,
        params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
        security(("bearer" = [])),
        responses(
            (status = 201, body = Tenant),
            (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
            (status = 401, body = ErrorEnvelope),
            (status = 403, body = ErrorEnvelope),
            (status = 409, description = "Slug taken, or the idempotency key is in flight", body = ErrorEnvelope),
            (status = 413, body = ErrorEnvelope),
            (status = 422, description = "Invalid field, or idempotency key reused with another body", body = ErrorEnvelope)))]
    fn create_tenant() {}

    #[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants",
        params(("tenant" = String, Path, description = "Tenant id or slug")),
        security(("bearer" = [])),
        responses((status = 200, body = Tenant), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
    fn get_tenant() {}

    #[utoipa::path(patch, path = "/v1/tenants/{tenant}", tag = "tenants", request_body = UpdateTenant,
        params(("tenant" = String, Path, description = "Tenant id or slug"),
               ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
        security(("bearer" = [])),
        responses(
            (status = 200, body = Tenant),
            (status = 400, body = ErrorEnvelope),
            (status = 401, body = ErrorEnvelope),
            (status = 404, body = ErrorEnvelope),
            (status = 422, body = ErrorEnvelope)))]
    fn update_tenant() {}

    #[utoipa::path(delete, path = "/v1/tenants/{tenant}", tag = "tenants",
        params(("tenant" = String, Path, description = "Tenant id or slug"),
               ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
        security(("bearer" = [])),
        responses((status = 204, description = "Deleted"), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
    fn delete_tenant() {}

    #[utoipa::path(post, path = "/v1/tenants/{tenant}/suspend", tag = "tenants",
        params(("tenant" = String, Path, description = "Tenant id or slug"),
               ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
        security(("bearer" = [])),
        responses((status = 200, body = Tenant), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
                  (status = 409, description = "Already suspended", body = ErrorEnvelope)))]
    fn suspend_tenant() {}

    #[utoipa::path(post, path = "/v1/tenants/{tenant}/resume", tag = "tenants",
        params(("tenant" = String, Path, description = "Tenant id or slug"),
               ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
        security(("bearer" = [])),
        responses((status = 200, body = Tenant), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
                  (status = 409, description = "Not suspended", body = ErrorEnvelope)))]
    fn resume_tenant() {}

    #[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
        security(("bearer" = [])),
        responses((status = 200, body = AuditPage), (status = 401, body = ErrorEnvelope)))]
    fn list_audit() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_openapi_document_matches_the_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
        let generated = document_json();
        if std::env::var_os("OPSDECK_BLESS").is_some() {
            std::fs::write(&path, &generated).expect("write openapi.json");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "crates/api/openapi.json is out of date with the wire types: \
             run `OPSDECK_BLESS=1 cargo test -p opsdeck-api` and commit the result"
        );
    }

    #[test]
    fn every_mutation_documents_its_error_envelope() {
        let doc = document();
        let tenants = doc.paths.paths.get("/v1/tenants").expect("tenants path");
        let post = tenants.post.as_ref().expect("POST /v1/tenants");
        for status in ["400", "401", "409", "413", "422"] {
            assert!(post.responses.responses.contains_key(status), "{status}");
        }
    }
}
