//! The OpenAPI 3 document of Platform Admin API v1, generated from the
//! routes this server actually serves (`crate::routes`). Its committed copy
//! is `crates/api/openapi.json`, beside the wire types, where clients look
//! for it; a test here fails when the two drift
//! (`OPSDECK_BLESS=1 cargo test -p platform-admin` rewrites it).

/// The document as a value.
pub fn document() -> utoipa::openapi::OpenApi {
    crate::routes().into_openapi()
}

/// The document as pretty JSON, exactly as committed.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the OpenAPI document is plain data and always serializes");
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_openapi_document_matches_the_router() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/openapi.json");
        let generated = document_json();
        if std::env::var_os("OPSDECK_BLESS").is_some() {
            std::fs::write(&path, &generated).expect("write crates/api/openapi.json");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "crates/api/openapi.json is out of date with the routes: \
             run `OPSDECK_BLESS=1 cargo test -p platform-admin openapi` and commit the result"
        );
    }
}
