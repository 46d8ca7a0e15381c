//! Entity tags of single resources (a tenant, a custom role): reads answer
//! `ETag`, and a `PATCH` sent with `If-Match` changes the resource only if it
//! is still as it was read, else 412, so two admins editing at once cannot
//! overwrite each other silently. A `PATCH` without `If-Match` is applied
//! as before.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// The strong entity tag of a resource: a digest of its JSON, quoted.
pub fn of<T: Serialize>(resource: &T) -> Result<String, Error> {
    let json = serde_json::to_vec(resource)?;
    let digest = Sha256::digest(&json);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("\"{hex}\""))
}

/// Refuses (412) when the request carries `If-Match` and none of its tags
/// (or `*`) is `current`. Weak tags (`W/"…"`) never match: the comparison
/// is the strong one RFC 9110 asks of `If-Match`.
pub fn check(headers: &HeaderMap, current: &str) -> Result<(), Error> {
    let values: Vec<&HeaderValue> = headers.get_all(header::IF_MATCH).iter().collect();
    if values.is_empty() {
        return Ok(());
    }
    let mut tags = Vec::new();
    for value in values {
        let text = value
            .to_str()
            .map_err(|_| Error::invalid("If-Match", "must be visible ASCII"))?;
        tags.extend(text.split(',').map(str::trim).filter(|t| !t.is_empty()));
    }
    if tags.iter().any(|tag| *tag == "*" || *tag == current) {
        Ok(())
    } else {
        Err(Error::PreconditionFailed)
    }
}

/// `response` with the resource's `ETag`.
pub fn with(mut response: Response, etag: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn if_match(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_MATCH,
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn tags_are_quoted_digests_that_follow_the_content() {
        let a = of(&serde_json::json!({"name": "a"})).expect("tag");
        let b = of(&serde_json::json!({"name": "b"})).expect("tag");
        assert!(
            a.starts_with('"') && a.ends_with('"') && a.len() == 34,
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn if_match_is_compared_strongly() {
        let current = "\"abc\"";
        assert!(check(&HeaderMap::new(), current).is_ok());
        assert!(check(&if_match("\"abc\""), current).is_ok());
        assert!(check(&if_match("\"x\", \"abc\""), current).is_ok());
        assert!(check(&if_match("*"), current).is_ok());
        assert!(matches!(
            check(&if_match("\"x\""), current),
            Err(Error::PreconditionFailed)
        ));
        assert!(matches!(
            check(&if_match("W/\"abc\""), current),
            Err(Error::PreconditionFailed)
        ));
    }
}
