//! Request plumbing every route shares: request ids, the per-request log
//! line and metrics, the body size limit, and turning JSON bodies and query
//! strings into typed values with field-named errors. No business rules.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use opsdeck_api::{
    FieldError, CLIENT_REQUEST_ID, DEFAULT_PAGE_LIMIT, MAX_BODY_BYTES, MAX_PAGE_LIMIT, REQUEST_ID,
};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::error::{self, Error};
use crate::AppState;

/// The id the server gave the request being served. It is always the
/// server's own: a client's `x-request-id` could otherwise pass its changes
/// off as another request in the audit log.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Longest incoming request id we log and echo; longer ones are dropped.
const MAX_REQUEST_ID_LEN: usize = 200;

/// Outermost layer: gives the request its id and span, and on the way out
/// puts the envelope on error responses, sets `x-request-id` (and echoes the
/// client's own in `x-client-request-id`), records the metrics and writes
/// the one log line of the request.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = incoming_request_id(req.headers());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().clone();
    // The template (`/v1/tenants/{tenant}`), never the raw path, so that
    // metrics and logs have one series per route, not one per tenant.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let span = tracing::info_span!(
        "request",
        %method,
        %route,
        request_id = %request_id,
        client_request_id = tracing::field::Empty,
        actor = tracing::field::Empty,
    );
    if let Some(client_id) = &client_request_id {
        span.record("client_request_id", client_id.as_str());
    }

    let response = next.run(req).instrument(span.clone()).await;

    let mut response = error::finalize(response, &request_id);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if let Some(value) = client_request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert(CLIENT_REQUEST_ID, value);
    }
    let status = response.status();
    let latency = started.elapsed();
    state
        .metrics
        .record(method_label(&method), &route, status.as_u16(), latency);
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = latency.as_micros() as f64 / 1000.0,
            "request finished"
        );
    });
    response
}

/// Methods as metric labels; made-up methods share one label so that
/// clients cannot grow the number of series without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn incoming_request_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(REQUEST_ID)?.to_str().ok()?.trim();
    let acceptable = !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value.bytes().all(|b| b.is_ascii_graphic());
    acceptable.then(|| value.to_string())
}

/// An oversized body is still read (and dropped) up to this size before the
/// 413 is sent: a client that is cut off mid-upload sees a broken connection
/// instead of the answer.
const DRAIN_MAX: usize = 16 * MAX_BODY_BYTES;

/// Reads the whole body (at most `MAX_BODY_BYTES`) before anything parses
/// it, so every later step sees the same bytes and an oversized body is
/// refused with 413 before it has any effect.
pub async fn buffer_body(req: Request, next: Next) -> Result<Response, Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > DRAIN_MAX as u64) {
        return Err(Error::PayloadTooLarge);
    }
    let (parts, body) = req.into_parts();
    let bytes = read_body(body).await?;
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

/// The body's bytes, refusing more than `MAX_BODY_BYTES`.
pub async fn read_body(mut body: Body) -> Result<Bytes, Error> {
    use http_body_util::BodyExt as _;
    let mut buffer = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|_| Error::MalformedJson("the body could not be read".to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_MAX {
            break;
        }
        if seen <= MAX_BODY_BYTES {
            buffer.extend_from_slice(&data);
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    Ok(Bytes::from(buffer))
}

/// Handler for paths no route matches.
pub async fn not_found(uri: Uri) -> Error {
    Error::RouteNotFound(uri.path().to_string())
}

/// A JSON request body. Unlike axum's `Json`, every rejection is an
/// `Error`: 415 without a JSON content type, 400 for bytes that are not
/// JSON, 422 naming the field for JSON of the wrong shape.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(req.headers()) {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = read_body(req.into_body()).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body, naming the offending field on shape errors. Bytes
/// that are not JSON at all are refused as such (400) before any shape check.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|err| Error::MalformedJson(without_position(&err)))?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(shape_error)
}

fn shape_error(err: serde_path_to_error::Error<serde_json::Error>) -> Error {
    use serde_json::error::Category;
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = without_position(&inner);
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => Error::MalformedJson(message),
        Category::Data => {
            let parent = if path == "." { String::new() } else { path };
            // serde names a missing field only in its message, while the
            // path stops at the object that lacks it.
            let field = if message.starts_with("missing field") {
                match quoted(&message) {
                    Some(name) if parent.is_empty() => name.to_string(),
                    Some(name) => format!("{parent}.{name}"),
                    None => parent,
                }
            } else {
                parent
            };
            Error::invalid(field, message)
        }
    }
}

/// serde_json's message without " at line 1 column 9".
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The first `backquoted` word of a message.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// The parameters of a query string, refusing names the route does not take
/// and names given twice (but those the route repeats). Empty values count
/// as absent.
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Self, Error> {
        Self::parse_repeating(query, allowed, &[])
    }

    /// [`Self::parse`], where the names in `repeatable` may come many times
    /// (read them with [`Self::get_all`]).
    pub fn parse_repeating(
        query: Option<&str>,
        allowed: &[&str],
        repeatable: &[&str],
    ) -> Result<Self, Error> {
        let mut params: Vec<(String, String)> = Vec::new();
        let mut errors = Vec::new();
        for (name, value) in form_pairs(query.unwrap_or_default()) {
            if !allowed.contains(&name.as_str()) {
                errors.push(FieldError::new(
                    name.clone(),
                    format!("unknown parameter (expected one of {})", allowed.join(", ")),
                ));
            } else if !repeatable.contains(&name.as_str()) && params.iter().any(|(n, _)| *n == name)
            {
                errors.push(FieldError::new(name.clone(), "given more than once"));
            } else if !value.is_empty() {
                params.push((name, value));
            }
        }
        if errors.is_empty() {
            Ok(QueryParams(params))
        } else {
            Err(Error::fields(errors))
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable parameter, in the order given.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `limit`: 1 to `MAX_PAGE_LIMIT`, `DEFAULT_PAGE_LIMIT` when absent.
    pub fn limit(&self) -> Result<u32, Error> {
        let Some(text) = self.get("limit") else {
            return Ok(DEFAULT_PAGE_LIMIT);
        };
        match text.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE_LIMIT).contains(&n) => Ok(n),
            _ => Err(Error::invalid(
                "limit",
                format!("must be an integer from 1 to {MAX_PAGE_LIMIT}, got `{text}`"),
            )),
        }
    }

    /// `cursor`, decoded.
    pub fn cursor(&self) -> Result<Option<String>, Error> {
        self.get("cursor").map(decode_cursor).transpose()
    }
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    // serde_urlencoded decodes `+` and percent escapes the way browsers
    // encode forms; a pair list never fails to deserialize.
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

/// Cursors are opaque to clients: base64url of the last key of the page.
pub fn encode_cursor(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_key.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Result<String, Error> {
    URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|key| !key.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                "cursor",
                "is not a cursor this server gave out (pass `next_cursor` as it is)",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdeck_api::tenants::CreateTenant;

    fn field_of(err: Error) -> String {
        match err {
            Error::Validation { details, .. } => details[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        for body in [
            &b"{"[..],
            b"",
            b"{\"slug\": }",
            b"{\"slug\": \"acme\", \"name\": \"A\"} {}",
        ] {
            let err = parse_json::<CreateTenant>(body).err();
            assert!(
                matches!(err, Some(Error::MalformedJson(_))),
                "{body:?}: {err:?}"
            );
        }
    }

    #[test]
    fn shape_errors_name_the_field() {
        let cases: [(&str, &str); 5] = [
            (r#"{"slug": 5, "name": "A"}"#, "slug"),
            (r#"{"name": "A"}"#, "slug"),
            (
                r#"{"slug": "acme", "name": "A", "colour": "red"}"#,
                "colour",
            ),
            (r#"{"slug": "acme", "name": "A", "plan": "gold"}"#, "plan"),
            (
                r#"{"slug": "acme", "name": "A", "quotas": {"max_users": "many"}}"#,
                "quotas.max_users",
            ),
        ];
        for (body, field) in cases {
            let err = parse_json::<CreateTenant>(body.as_bytes()).err();
            assert_eq!(err.map(field_of).as_deref(), Some(field), "{body}");
        }
    }

    #[test]
    fn unknown_nested_field_is_named_with_its_parent() {
        let body = r#"{"slug": "acme", "name": "A", "quotas": {"max_seats": 3}}"#;
        let err = parse_json::<CreateTenant>(body.as_bytes()).err();
        assert_eq!(err.map(field_of).as_deref(), Some("quotas.max_seats"));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(
            decode_cursor(&encode_cursor("acme")).ok().as_deref(),
            Some("acme")
        );
        assert!(decode_cursor("***").is_err());
    }

    #[test]
    fn query_refuses_unknown_and_repeated_names() {
        assert!(QueryParams::parse(Some("limt=5"), &["limit"]).is_err());
        assert!(QueryParams::parse(Some("limit=5&limit=6"), &["limit"]).is_err());
        let params = QueryParams::parse(Some("limit=&q=a+b"), &["limit", "q"]).ok();
        let params = params.expect("valid");
        assert_eq!(params.get("q"), Some("a b"));
        assert_eq!(params.limit().ok(), Some(DEFAULT_PAGE_LIMIT));
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        for q in ["limit=0", "limit=201", "limit=-1", "limit=ten"] {
            let params = QueryParams::parse(Some(q), &["limit"]).expect("parsed");
            assert!(params.limit().is_err(), "{q}");
        }
    }

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!has_json_content_type(&headers));
        for (value, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(has_json_content_type(&headers), ok, "{value}");
        }
    }
}
