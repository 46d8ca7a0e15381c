//! A blocking HTTP client with a bearer token, for checks the CLI cannot
//! make (malformed bodies, audit records); every request has a timeout.

use std::time::Duration;

/// A blocking HTTP client with a bearer token, for checks the CLI cannot make
/// (malformed bodies, audit records).
pub struct Http {
    pub base: String,
    pub token: Option<String>,
    client: reqwest::Client,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Http {
    fn drop(&mut self) {
        // Async tests drop it too, where a blocking shutdown would panic.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Http {
    pub fn new(base: &str, token: Option<&str>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            token: token.map(str::to_owned),
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(10))
                // A test's calls are seconds apart, longer than the server
                // keeps an idle connection: a fresh one each time, never a
                // reused one the server is closing.
                .pool_max_idle_per_host(0)
                .build()
                .expect("http client"),
            rt: Some(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime"),
            ),
        }
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        // On a thread of its own, so async tests may call it too.
        let request = async {
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.text().await.expect("body");
            Response {
                status,
                headers,
                body,
            }
        };
        crate::blocking(|| {
            std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        self.rt
                            .as_ref()
                            .expect("runtime lives until drop")
                            .block_on(request)
                    })
                    .join()
                    .expect("HTTP request thread")
            })
        })
    }

    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], None)
    }

    pub fn json(&self, method: &str, path: &str, body: &serde_json::Value) -> Response {
        self.send(
            method,
            path,
            &[("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
    }

    /// Audit records about `target`, oldest first (the server lists newest first).
    pub fn audit(&self, target: &str) -> Vec<serde_json::Value> {
        let resp = self.get(&format!("/v1/audit?target={target}&limit=200"));
        assert_eq!(resp.status, 200, "{}", resp.body);
        let mut records = resp.json()["items"].as_array().cloned().unwrap_or_default();
        records.reverse();
        records
    }

    /// Number of tenants the server has.
    pub fn tenant_count(&self) -> usize {
        let mut count = 0;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/tenants?limit=200&cursor={c}"),
                None => "/v1/tenants?limit=200".to_string(),
            };
            let page = self.get(&path).json();
            count += page["items"].as_array().map_or(0, Vec::len);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return count,
            }
        }
    }
}
