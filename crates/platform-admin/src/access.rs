//! What each route needs, declared where the route is declared:
//! `routes!(handler).require(permission, On::…)`, `.authenticated()` (any
//! valid token, no permission: what a caller may ask about itself) or
//! `.public()`. The
//! declaration goes into the route's OpenAPI operation (`x-permission`, its
//! security, and the 401, 403, 409, 413 and 422 that the layers in front of
//! the handler answer), and `Access`, read back from the merged document, is
//! what the authentication layer (`auth::layer`) enforces. A route that
//! declares nothing is never served: the layer refuses it.
//!
//! A destructive route also declares the two-person rule,
//! `.two_person(ApprovalAction::…)` after its permission: its operation
//! says so (`two_person` in `x-permission`, the `Opsdeck-Approval` header
//! and the 428), the
//! authentication layer hands the action to the handler's `Mutation`, and
//! the mutation is not committed without the rule's check (`approvals`).
//!
//! What a role grants is in `roles`; this module only says what a route needs.

use std::collections::BTreeMap;

use axum::http::Method;
use opsdeck_api::approvals::{ApprovalAction, TWO_PERSON_EXTENSION};
use opsdeck_api::openapi::BEARER_SCHEME;
use opsdeck_api::MAX_BODY_BYTES;
use serde_json::json;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::roles::Permission;

/// The OpenAPI extension that carries a route's permission:
/// `{"name": "tenants.write", "scope": "tenant"}`.
pub const PERMISSION_EXTENSION: &str = "x-permission";

/// The OpenAPI extension of a route that any valid token may call, whatever
/// it holds: `true`.
pub const AUTHENTICATED_EXTENSION: &str = "x-authenticated";

/// The path parameter that names the tenant of a tenant-scoped route.
pub const TENANT_PARAM: &str = "tenant";

/// Where a route's permission is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum On {
    /// On the whole platform.
    Platform,
    /// On the tenant named by the route's `{tenant}` path parameter.
    Tenant,
    /// On each tenant the answer shows: a list held on the platform shows
    /// every tenant's records, held on some tenants only theirs, held
    /// nowhere is 403.
    EachTenant,
}

impl On {
    pub fn as_str(self) -> &'static str {
        match self {
            On::Platform => "platform",
            On::Tenant => "tenant",
            On::EachTenant => "each_tenant",
        }
    }

    fn parse(text: &str) -> Option<On> {
        [On::Platform, On::Tenant, On::EachTenant]
            .into_iter()
            .find(|on| on.as_str() == text)
    }
}

/// What a request must be allowed to do to reach a route's handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub permission: Permission,
    pub on: On,
}

/// What a route declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Served without a token (health, metrics).
    Public,
    /// Any valid bearer token, whatever its bindings grant: routes that
    /// answer about the caller itself.
    Authenticated,
    /// A bearer token whose role grants the permission on the scope.
    Require(Requirement),
}

/// Declares on a route (the result of `routes!`) what it needs.
pub trait Declare: Sized {
    /// A bearer token allowed `permission` on the platform or on the tenant
    /// of the path.
    fn require(self, permission: Permission, on: On) -> Self;

    /// A valid bearer token, and no permission: the caller asks about
    /// itself.
    fn authenticated(self) -> Self;

    /// No token at all.
    fn public(self) -> Self;

    /// Outside a maintenance window, on a server whose two-person rule is
    /// on, the request needs a second person's approval of `action`.
    fn two_person(self, action: ApprovalAction) -> Self;
}

impl<S> Declare for UtoipaMethodRouter<S> {
    fn require(mut self, permission: Permission, on: On) -> Self {
        let requirement = Requirement { permission, on };
        for (path, item) in self.1.paths.iter_mut() {
            // A misdeclared route is a programming error, found by the first
            // test that builds the router, like axum's own route conflicts.
            assert!(
                on != On::Tenant || path.contains(&format!("{{{TENANT_PARAM}}}")),
                "{path} is declared on a tenant but has no {{{TENANT_PARAM}}} in its path"
            );
            for (method, operation) in operations_mut(item) {
                document_requirement(operation, &method, requirement);
            }
        }
        self
    }

    fn authenticated(mut self) -> Self {
        for item in self.1.paths.values_mut() {
            for (method, operation) in operations_mut(item) {
                document_authenticated(operation, &method);
            }
        }
        self
    }

    fn public(mut self) -> Self {
        for item in self.1.paths.values_mut() {
            for (_, operation) in operations_mut(item) {
                // An empty list overrides any document-wide security: no token.
                operation.security = Some(Vec::new());
            }
        }
        self
    }

    fn two_person(mut self, action: ApprovalAction) -> Self {
        for item in self.1.paths.values_mut() {
            for (_, operation) in operations_mut(item) {
                document_two_person(operation, action);
            }
        }
        self
    }
}

/// Every declared rule of the merged document, by route template and
/// method: the one table of what each endpoint needs (`rules`).
#[derive(Debug, Clone, Default)]
pub struct Access {
    routes: BTreeMap<String, Vec<(Method, Rule)>>,
    two_person: BTreeMap<String, Vec<(Method, ApprovalAction)>>,
}

/// What `Access` says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Rule(Rule),
    /// The route exists, but not with this method; these are its methods.
    OtherMethods(Vec<Method>),
    /// Nothing is declared for this route.
    Undeclared,
}

impl Access {
    /// The rules declared in `document`. An operation that declares
    /// neither a permission nor that it is public gets no rule, and so is
    /// refused.
    pub fn from_document(document: &OpenApi) -> Access {
        let mut routes: BTreeMap<String, Vec<(Method, Rule)>> = BTreeMap::new();
        let mut two_person: BTreeMap<String, Vec<(Method, ApprovalAction)>> = BTreeMap::new();
        for (path, item) in &document.paths.paths {
            for (method, operation) in operations(item) {
                if let Some(action) = two_person_of(operation) {
                    two_person
                        .entry(path.clone())
                        .or_default()
                        .push((method.clone(), action));
                }
                if let Some(rule) = rule_of(operation) {
                    routes.entry(path.clone()).or_default().push((method, rule));
                }
            }
        }
        Access { routes, two_person }
    }

    /// The action whose approval `method` on `route` needs, if it declares
    /// the two-person rule.
    pub fn two_person(&self, method: &Method, route: &str) -> Option<ApprovalAction> {
        self.two_person
            .get(route)?
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, action)| *action)
    }

    /// Every route and method that declares the two-person rule.
    pub fn two_person_routes(&self) -> impl Iterator<Item = (&str, &Method, ApprovalAction)> {
        self.two_person.iter().flat_map(|(route, rules)| {
            rules
                .iter()
                .map(move |(method, action)| (route.as_str(), method, *action))
        })
    }

    /// Every route, method and rule, by route: the table the tests of
    /// every role against every endpoint are generated from.
    pub fn rules(&self) -> impl Iterator<Item = (&str, &Method, &Rule)> {
        self.routes.iter().flat_map(|(route, rules)| {
            rules
                .iter()
                .map(move |(method, rule)| (route.as_str(), method, rule))
        })
    }

    /// The rule for `method` on the route template `route`
    /// (`/v1/tenants/{tenant}`). HEAD follows GET, as axum serves it.
    pub fn lookup(&self, method: &Method, route: &str) -> Lookup {
        let Some(rules) = self.routes.get(route) else {
            return Lookup::Undeclared;
        };
        let wanted = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        match rules.iter().find(|(m, _)| m == wanted) {
            Some((_, rule)) => Lookup::Rule(*rule),
            None => Lookup::OtherMethods(rules.iter().map(|(m, _)| m.clone()).collect()),
        }
    }
}

/// The rule an operation declares, read back from what `Declare` wrote.
pub fn rule_of(operation: &Operation) -> Option<Rule> {
    if let Some(value) = operation
        .extensions
        .as_ref()
        .and_then(|e| e.get(PERMISSION_EXTENSION))
    {
        let permission = value["name"].as_str()?.parse().ok()?;
        let on = On::parse(value["scope"].as_str()?)?;
        return Some(Rule::Require(Requirement { permission, on }));
    }
    if operation
        .extensions
        .as_ref()
        .and_then(|e| e.get(AUTHENTICATED_EXTENSION))
        .is_some_and(|v| v == &serde_json::Value::Bool(true))
    {
        return Some(Rule::Authenticated);
    }
    match &operation.security {
        Some(security) if security.is_empty() => Some(Rule::Public),
        _ => None,
    }
}

/// The action a route's operation declares the two-person rule for.
pub fn two_person_of(operation: &Operation) -> Option<ApprovalAction> {
    let value = operation
        .extensions
        .as_ref()
        .and_then(|e| e.get(PERMISSION_EXTENSION))?;
    value[TWO_PERSON_EXTENSION]["action"].as_str()?.parse().ok()
}

fn document_two_person(operation: &mut Operation, action: ApprovalAction) {
    // Inside the permission's extension: operations keep their extensions
    // in a hash map, so a second one would come out in any order.
    let permission = operation
        .extensions
        .as_mut()
        .and_then(|e| e.get_mut(PERMISSION_EXTENSION))
        .and_then(|v| v.as_object_mut());
    let Some(permission) = permission else {
        panic!("declare the two-person rule of {action} after the route's permission (`.require(...)`)");
    };
    permission.insert(
        TWO_PERSON_EXTENSION.to_string(),
        json!({ "action": action.as_str(), "header": "Opsdeck-Approval" }),
    );
    let needs = format!(
        "Two-person rule: on a server whose rule is on, outside an active maintenance window, \
         needs the id of a granted approval of `{action}` for this target and body \
         (`POST /v1/approvals`) in `Opsdeck-Approval`; it is used up by this request."
    );
    operation.description = Some(match operation.description.take() {
        Some(text) if !text.is_empty() => format!("{text}\n\n{needs}"),
        _ => needs,
    });
    add_error(
        operation,
        428,
        "A second person's approval is needed (`approval_required`): none was sent, or the one \
         sent is not granted, has expired, was used, or is for another caller, target or body.",
    );
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    if !parameters.iter().any(|p| {
        p.name
            .eq_ignore_ascii_case(opsdeck_api::approvals::APPROVAL_HEADER)
    }) {
        parameters.push(
            ParameterBuilder::new()
                .name("Opsdeck-Approval")
                .parameter_in(ParameterIn::Header)
                .description(Some(
                    "The id of the granted approval this request uses (the two-person rule).",
                ))
                .schema(Some(Object::with_type(Type::String)))
                .build(),
        );
    }
}

/// Whether requests of this method carry a body, which the body limit and
/// idempotency apply to.
pub fn carries_body(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

fn document_authenticated(operation: &mut Operation, method: &Method) {
    operation.security = Some(vec![SecurityRequirement::new(
        BEARER_SCHEME,
        Vec::<String>::new(),
    )]);
    operation
        .extensions
        .get_or_insert_with(Extensions::default)
        .insert(AUTHENTICATED_EXTENSION.to_string(), json!(true));
    let needs = "Needs a valid token, and no permission.";
    operation.description = Some(match operation.description.take() {
        Some(text) if !text.is_empty() => format!("{text}\n\n{needs}"),
        _ => needs.to_string(),
    });
    add_error(
        operation,
        401,
        "No bearer token, or one the server does not know.",
    );
    if carries_body(method) {
        add_error(
            operation,
            413,
            &format!("The body is larger than {MAX_BODY_BYTES} bytes."),
        );
        add_error(
            operation,
            409,
            "A request with this `Idempotency-Key` is still being processed.",
        );
        add_error(
            operation,
            422,
            "The `Idempotency-Key` is malformed, or was sent before with another request.",
        );
        add_idempotency_key(operation);
    }
}

fn document_requirement(operation: &mut Operation, method: &Method, requirement: Requirement) {
    let Requirement { permission, on } = requirement;
    operation.security = Some(vec![SecurityRequirement::new(
        BEARER_SCHEME,
        Vec::<String>::new(),
    )]);
    operation
        .extensions
        .get_or_insert_with(Extensions::default)
        .insert(
            PERMISSION_EXTENSION.to_string(),
            json!({ "name": permission.as_str(), "scope": on.as_str() }),
        );
    let scope = match on {
        On::Platform => "on the platform".to_string(),
        On::Tenant => format!("on the tenant named by `{{{TENANT_PARAM}}}`"),
        On::EachTenant => {
            "on the platform, or on the tenants whose records the answer then holds".to_string()
        }
    };
    let needs = format!("Needs the `{permission}` permission {scope}.");
    operation.description = Some(match operation.description.take() {
        Some(text) if !text.is_empty() => format!("{text}\n\n{needs}"),
        _ => needs,
    });

    add_error(
        operation,
        401,
        "No bearer token, or one the server does not know.",
    );
    add_error(
        operation,
        403,
        &format!("The token's bindings do not grant `{permission}` {scope}."),
    );
    if carries_body(method) {
        add_error(
            operation,
            413,
            &format!("The body is larger than {MAX_BODY_BYTES} bytes."),
        );
        add_error(
            operation,
            409,
            "A request with this `Idempotency-Key` is still being processed.",
        );
        add_error(
            operation,
            422,
            "The `Idempotency-Key` is malformed, or was sent before with another request.",
        );
        add_idempotency_key(operation);
    }
}

/// Adds an error response with the envelope, or adds the reason to the
/// one the handler already documents for that status.
fn add_error(operation: &mut Operation, status: u16, reason: &str) {
    let key = status.to_string();
    match operation.responses.responses.get_mut(&key) {
        Some(RefOr::T(response)) => {
            if response.description.is_empty() {
                response.description = reason.to_string();
            } else if !response.description.contains(reason) {
                response.description = format!("{} {reason}", response.description);
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let envelope = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build();
            let response = ResponseBuilder::new()
                .description(reason)
                .content("application/json", envelope)
                .build();
            operation
                .responses
                .responses
                .insert(key, RefOr::T(response));
        }
    }
}

fn add_idempotency_key(operation: &mut Operation) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    if parameters
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case(opsdeck_api::IDEMPOTENCY_KEY))
    {
        return;
    }
    let parameter: Parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .description(Some(
            "Makes the request safe to retry: the same key with the same request returns \
             the first response without a second effect.",
        ))
        .schema(Some(Object::with_type(Type::String)))
        .build();
    parameters.push(parameter);
}

fn operations(item: &PathItem) -> Vec<(Method, &Operation)> {
    [
        (Method::GET, &item.get),
        (Method::PUT, &item.put),
        (Method::POST, &item.post),
        (Method::DELETE, &item.delete),
        (Method::OPTIONS, &item.options),
        (Method::HEAD, &item.head),
        (Method::PATCH, &item.patch),
        (Method::TRACE, &item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_ref().map(|op| (method, op)))
    .collect()
}

fn operations_mut(item: &mut PathItem) -> Vec<(Method, &mut Operation)> {
    [
        (Method::GET, &mut item.get),
        (Method::PUT, &mut item.put),
        (Method::POST, &mut item.post),
        (Method::DELETE, &mut item.delete),
        (Method::OPTIONS, &mut item.options),
        (Method::HEAD, &mut item.head),
        (Method::PATCH, &mut item.patch),
        (Method::TRACE, &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|op| (method, op)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{OperationBuilder, PathsBuilder};
    use utoipa::openapi::OpenApiBuilder;

    fn document(path: &str, item: PathItem) -> OpenApi {
        OpenApiBuilder::new()
            .paths(PathsBuilder::new().path(path, item))
            .build()
    }

    fn declared(on: On, path: &str, method: utoipa::openapi::HttpMethod) -> OpenApi {
        let routed: UtoipaMethodRouter<()> = (
            Vec::new(),
            PathsBuilder::new()
                .path(path, PathItem::new(method, OperationBuilder::new().build()))
                .build(),
            axum::routing::MethodRouter::new(),
        );
        let (_, paths, _) = routed.require(Permission::TenantsWrite, on);
        OpenApiBuilder::new().paths(paths).build()
    }

    #[test]
    fn a_declared_permission_is_read_back_from_the_document() {
        let doc = declared(
            On::Tenant,
            "/v1/tenants/{tenant}",
            utoipa::openapi::HttpMethod::Patch,
        );
        let access = Access::from_document(&doc);
        assert_eq!(
            access.lookup(&Method::PATCH, "/v1/tenants/{tenant}"),
            Lookup::Rule(Rule::Require(Requirement {
                permission: Permission::TenantsWrite,
                on: On::Tenant,
            }))
        );
        assert_eq!(
            access.lookup(&Method::GET, "/v1/tenants/{tenant}"),
            Lookup::OtherMethods(vec![Method::PATCH])
        );
        assert_eq!(
            access.lookup(&Method::PATCH, "/v1/other"),
            Lookup::Undeclared
        );
    }

    #[test]
    fn a_mutation_documents_what_the_layers_answer() {
        let doc = declared(
            On::Platform,
            "/v1/tenants",
            utoipa::openapi::HttpMethod::Post,
        );
        let operation = doc
            .paths
            .get_path_operation("/v1/tenants", utoipa::openapi::HttpMethod::Post)
            .expect("operation");
        let statuses: Vec<_> = operation.responses.responses.keys().cloned().collect();
        assert_eq!(statuses, ["401", "403", "409", "413", "422"]);
        let parameters = operation.parameters.as_ref().expect("parameters");
        assert_eq!(parameters[0].name, "Idempotency-Key");
    }

    #[test]
    fn a_route_that_needs_only_a_token_is_read_back_and_documents_401_alone() {
        let routed: UtoipaMethodRouter<()> = (
            Vec::new(),
            PathsBuilder::new()
                .path(
                    "/v1/rbac/me",
                    PathItem::new(
                        utoipa::openapi::HttpMethod::Get,
                        OperationBuilder::new().build(),
                    ),
                )
                .build(),
            axum::routing::MethodRouter::new(),
        );
        let (_, paths, _) = routed.authenticated();
        let doc = OpenApiBuilder::new().paths(paths).build();
        assert_eq!(
            Access::from_document(&doc).lookup(&Method::GET, "/v1/rbac/me"),
            Lookup::Rule(Rule::Authenticated)
        );
        let operation = doc
            .paths
            .get_path_operation("/v1/rbac/me", utoipa::openapi::HttpMethod::Get)
            .expect("operation");
        let statuses: Vec<_> = operation.responses.responses.keys().cloned().collect();
        assert_eq!(statuses, ["401"]);
        assert_eq!(operation.security.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn a_two_person_route_documents_its_action_the_header_and_428() {
        let routed: UtoipaMethodRouter<()> = (
            Vec::new(),
            PathsBuilder::new()
                .path(
                    "/v1/tenants/{tenant}",
                    PathItem::new(
                        utoipa::openapi::HttpMethod::Delete,
                        OperationBuilder::new().build(),
                    ),
                )
                .build(),
            axum::routing::MethodRouter::new(),
        );
        let (_, paths, _) = routed
            .require(Permission::TenantsDelete, On::Tenant)
            .two_person(ApprovalAction::TenantDelete);
        let doc = OpenApiBuilder::new().paths(paths).build();
        let access = Access::from_document(&doc);
        assert_eq!(
            access.two_person(&Method::DELETE, "/v1/tenants/{tenant}"),
            Some(ApprovalAction::TenantDelete)
        );
        assert_eq!(
            access.two_person(&Method::GET, "/v1/tenants/{tenant}"),
            None
        );
        let operation = doc
            .paths
            .get_path_operation("/v1/tenants/{tenant}", utoipa::openapi::HttpMethod::Delete)
            .expect("operation");
        assert!(operation.responses.responses.contains_key("428"));
        let parameters = operation.parameters.as_ref().expect("parameters");
        assert!(parameters.iter().any(|p| p.name == "Opsdeck-Approval"));
    }

    #[test]
    fn an_operation_without_a_declaration_gets_no_rule() {
        let doc = document(
            "/v1/secret",
            PathItem::new(
                utoipa::openapi::HttpMethod::Get,
                OperationBuilder::new().build(),
            ),
        );
        assert_eq!(
            Access::from_document(&doc).lookup(&Method::GET, "/v1/secret"),
            Lookup::Undeclared
        );
    }

    #[test]
    #[should_panic(expected = "has no {tenant}")]
    fn a_tenant_scope_needs_the_tenant_in_the_path() {
        declared(On::Tenant, "/v1/tenants", utoipa::openapi::HttpMethod::Get);
    }
}
