//! Harness of the integration tests: a real server in-process on a free
//! loopback port, over a fresh SQLite file or a fresh PostgreSQL schema, with
//! an admin and a viewer token and a client that speaks to it.

use std::io::Write as _;
use std::time::Duration;

use platform_admin::auth;
use platform_admin::roles::Role;
use platform_admin::{AppState, Db};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection as _;

/// Names the PostgreSQL server the PostgreSQL variants run against.
pub const POSTGRES_ENV: &str = "OPSDECK_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of one test: a SQLite file in a temp dir, or a schema of its
/// own on the PostgreSQL server (dropped at the end, even on failure).
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// `None` (after saying so on stderr) for PostgreSQL when the
    /// environment names no server.
    pub async fn new(backend: Backend, test: &str) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => Some(TestDb {
                url: format!("sqlite://{}", dir.path().join("admin.db").display()),
                _dir: dir,
                postgres: None,
            }),
            Backend::Postgres => {
                let Some(base) = std::env::var(POSTGRES_ENV)
                    .ok()
                    .filter(|url| !url.is_empty())
                else {
                    // Written past the test harness's capture, so that a
                    // skipped variant is seen, not mistaken for a pass.
                    let _ = writeln!(
                        std::io::stderr(),
                        "SKIPPED {test} on postgres: {POSTGRES_ENV} is not set"
                    );
                    return None;
                };
                let schema = format!("pa_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&base)
                    .await
                    .expect("connect to OPSDECK_TEST_POSTGRES_URL");
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .expect("create schema");
                conn.close().await.expect("close");
                let separator = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
                Some(TestDb {
                    url,
                    _dir: dir,
                    postgres: Some((base, schema)),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, schema)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on a
        // future: the schema is dropped from a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&base).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(std::io::stderr(), "could not drop test schema: {dropped:?}");
        }
    }
}

/// A running server and tokens to talk to it.
pub struct Server {
    pub base: String,
    pub db: Db,
    pub client: reqwest::Client,
    /// Token of role admin, named `admin`.
    pub admin: String,
    /// Token of role viewer, named `viewer`.
    pub viewer: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    // Dropped last: the database outlives the server.
    _test_db: TestDb,
}

impl Server {
    pub async fn start(backend: Backend, test: &str) -> Option<Server> {
        let test_db = TestDb::new(backend, test).await?;
        let db = Db::connect(&test_db.url).await.expect("open database");
        let admin = auth::create_token(&db, "admin", Role::Admin)
            .await
            .expect("admin token");
        let viewer = auth::create_token(&db, "viewer", Role::Viewer)
            .await
            .expect("viewer token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(db.clone());
        tokio::spawn(async move {
            let stopped = async {
                let _ = stop.await;
            };
            platform_admin::serve(listener, state, stopped)
                .await
                .expect("serve");
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Some(Server {
            base,
            db,
            client,
            admin,
            viewer,
            shutdown: Some(shutdown),
            _test_db: test_db,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The database URL the server runs on.
    pub fn db_url(&self) -> String {
        self._test_db.url.clone()
    }

    /// A request with the admin token.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.admin)
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::of(self.request(Method::GET, path).send().await).await
    }

    /// An admin request with a JSON body.
    pub async fn send(&self, method: Method, path: &str, body: &Value) -> Reply {
        Reply::of(self.request(method, path).json(body).send().await).await
    }

    pub async fn create(&self, slug: &str, name: &str) -> Reply {
        let reply = self
            .send(
                Method::POST,
                "/v1/tenants",
                &serde_json::json!({ "slug": slug, "name": name }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "create {slug}: {}",
            reply.body
        );
        reply
    }

    /// Every tenant, following cursors.
    pub async fn all_tenants(&self) -> Vec<Value> {
        let mut items = Vec::new();
        let mut path = "/v1/tenants?limit=200".to_string();
        loop {
            let reply = self.get(&path).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            items.extend(reply.body["items"].as_array().cloned().unwrap_or_default());
            match reply.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/tenants?limit=200&cursor={cursor}"),
                None => return items,
            }
        }
    }

    /// Every audit record, newest first.
    pub async fn all_audit(&self) -> Vec<Value> {
        let mut items = Vec::new();
        let mut path = "/v1/audit?limit=200".to_string();
        loop {
            let reply = self.get(&path).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            items.extend(reply.body["items"].as_array().cloned().unwrap_or_default());
            match reply.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/audit?limit=200&cursor={cursor}"),
                None => return items,
            }
        }
    }

    /// What a bad request must leave untouched.
    pub async fn snapshot(&self) -> (Vec<Value>, Vec<Value>) {
        (self.all_tenants().await, self.all_audit().await)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    /// The body as JSON, `Null` when it is empty or not JSON.
    pub body: Value,
}

impl Reply {
    pub async fn of(response: reqwest::Result<reqwest::Response>) -> Reply {
        let response = response.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error envelope with this status and code (and the request
    /// id of the header), and returns the envelope.
    #[track_caller]
    pub fn expect_error(&self, status: StatusCode, code: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert!(self.body["message"].is_string(), "{}", self.text);
        assert!(self.body["details"].is_array(), "{}", self.text);
        let request_id = self.header("x-request-id").expect("x-request-id header");
        assert_eq!(self.body["request_id"], request_id, "{}", self.text);
        &self.body
    }

    /// The fields named in the envelope's details.
    pub fn fields(&self) -> Vec<String> {
        self.body["details"]
            .as_array()
            .map(|details| {
                details
                    .iter()
                    .filter_map(|d| d["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Declares each test twice: `sqlite::name` and `postgres::name`. The
/// PostgreSQL one runs when `OPSDECK_TEST_POSTGRES_URL` is set and reports
/// itself skipped otherwise.
macro_rules! on_both_databases {
    ($(async fn $name:ident($srv:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = $crate::support::Server::start(
                        $crate::support::Backend::Sqlite,
                        stringify!($name),
                    )
                    .await
                    .expect("SQLite always runs");
                    let $srv = &server;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(server) = $crate::support::Server::start(
                        $crate::support::Backend::Postgres,
                        stringify!($name),
                    )
                    .await
                    else {
                        return;
                    };
                    let $srv = &server;
                    $body
                }
            )*
        }
    };
}
