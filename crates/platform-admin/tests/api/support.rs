//! The platform-admin side of the test harness: the real server in-process
//! on a loopback port it bound itself (fast: no process to start), over a
//! fresh SQLite file or a fresh PostgreSQL database from the one harness
//! (`opsdeck_tests`, tests/support/), with an admin and a viewer token and a
//! client that speaks to it with a timeout.

use std::time::Duration;

use opsdeck_tests::Postgres;
use platform_admin::auth;
use platform_admin::roles::Role;
use platform_admin::{AppState, Db};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Names the PostgreSQL server the PostgreSQL variants run against (without
/// it, each test starts a PostgreSQL of its own, slower).
#[allow(dead_code)] // for tests that name the variable in their messages
pub const POSTGRES_ENV: &str = opsdeck_tests::postgres::URL_ENV;

pub use opsdeck_tests::Backend;

/// A database of one test: a SQLite file in a temp dir, or a PostgreSQL
/// database of its own (dropped at the end, even on failure).
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
    _postgres: Option<Postgres>,
}

impl TestDb {
    /// Fails the test, saying why, when PostgreSQL is asked for and cannot
    /// be had: a variant that did not run must not pass for one that did.
    pub async fn new(backend: Backend, test: &str) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("admin.db").display()),
                _dir: dir,
                _postgres: None,
            },
            Backend::Postgres => {
                let postgres = Postgres::database_async().await.unwrap_or_else(|e| {
                    panic!(
                        "{test} on postgres has no database: {e:#}\n(run only the SQLite \
                         variants with `cargo test -p platform-admin sqlite::`)"
                    )
                });
                TestDb {
                    url: postgres.url.clone(),
                    _dir: dir,
                    _postgres: Some(postgres),
                }
            }
        }
    }
}

/// The backup target every test server declares; its backups stay queued
/// (these servers run no worker).
pub const BACKUP_TARGET: &str = "main-db";

/// The cluster every test server declares: Sentinels on a port nothing
/// listens on, so its topology says so and its failovers stay queued.
pub const CLUSTER: &str = "main-cache";

/// A second such cluster: a queued job holds its cluster, so the
/// switchover and failover routes each get one to be seen working.
pub const FAILOVER_CLUSTER: &str = "spare-cache";

/// Targets of their own for the verify and restore routes, whose jobs
/// would otherwise find `main-db` busy with a queued backup.
pub const VERIFY_TARGET: &str = "verify-db";
pub const RESTORE_TARGET: &str = "restore-db";

/// The tests whose servers make silences (the maintenance routes) and so
/// get a real Alertmanager; starting one takes a moment, so the other
/// tests' servers name none (their maintenance routes answer 409).
const WITH_ALERTMANAGER: [&str; 4] = [
    "every_route_answers_only_statuses_its_operation_lists",
    "a_window_silences_its_alerts_until_it_is_ended_and_the_timelines_say_so",
    "a_window_that_starts_and_ends_by_the_clock_is_told_once_to_the_unresolved_incidents",
    "a_window_without_matchers_or_in_the_past_is_refused_and_makes_no_silence",
];

/// The tests whose servers turn the two-person rule on (`[two_person_rule]`);
/// the others leave it off, as a server does unless configured.
const WITH_TWO_PERSON_RULE: [&str; 5] = [
    "a_destructive_route_without_an_approval_is_428_naming_action_target_and_role",
    "only_someone_else_holding_the_role_may_grant_or_deny",
    "a_granted_approval_is_used_once_by_its_requester_for_its_own_request",
    "an_expired_approval_can_be_neither_granted_nor_used",
    "inside_an_active_maintenance_window_no_approval_is_needed",
];

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
    /// The real Alertmanager the configuration names (`[monitoring]`), for
    /// the maintenance routes' silences.
    pub alertmanager: Option<opsdeck_tests::Alertmanager>,
    // Dropped last: the database outlives the server.
    _test_db: TestDb,
}

impl Server {
    pub async fn start(backend: Backend, test: &str) -> Server {
        let test_db = TestDb::new(backend, test).await;
        Server::with(
            test_db,
            WITH_ALERTMANAGER.contains(&test),
            WITH_TWO_PERSON_RULE.contains(&test),
        )
        .await
    }

    /// A server on a database the test prepared (with data written before
    /// the server's migrations, say).
    pub async fn on(test_db: TestDb) -> Server {
        Server::with(test_db, false, false).await
    }

    /// The same, with a real Alertmanager in `[monitoring]` when asked.
    async fn with(test_db: TestDb, with_alertmanager: bool, two_person_rule: bool) -> Server {
        let alertmanager = if with_alertmanager {
            let started = tokio::task::spawn_blocking(opsdeck_tests::Alertmanager::start)
                .await
                .expect("the Alertmanager start joins")
                .expect("a real Alertmanager for the maintenance routes");
            Some(started)
        } else {
            None
        };
        let monitoring = alertmanager
            .as_ref()
            .map(|am| format!("[monitoring]\nalertmanager_url = \"{}\"\n", am.url))
            .unwrap_or_default();
        let two_person = if two_person_rule {
            "[two_person_rule]\nenabled = true\nexpires_after = \"10m\"\n"
        } else {
            ""
        };
        let config = platform_admin::config::Config::parse(&format!(
            "{monitoring}{two_person}\
             [[backup_targets]]\nid = \"{BACKUP_TARGET}\"\nkind = \"postgresql\"\n\
             stanza = \"main\"\npgbackrest_config = \"/nonexistent/pgbackrest.conf\"\n\
             [[backup_targets]]\nid = \"{VERIFY_TARGET}\"\nkind = \"postgresql\"\n\
             stanza = \"main\"\npgbackrest_config = \"/nonexistent/pgbackrest.conf\"\n\
             [[backup_targets]]\nid = \"{RESTORE_TARGET}\"\nkind = \"postgresql\"\n\
             stanza = \"main\"\npgbackrest_config = \"/nonexistent/pgbackrest.conf\"\n\
             database = \"postgres://nobody@127.0.0.1:1/none\"\npg_data = \"/nonexistent/data\"\n\
             [[clusters]]\nid = \"{CLUSTER}\"\nkind = \"redis-sentinel\"\n\
             sentinels = [\"127.0.0.1:1\"]\nmaster_name = \"main\"\n\
             [[clusters]]\nid = \"{FAILOVER_CLUSTER}\"\nkind = \"redis-sentinel\"\n\
             sentinels = [\"127.0.0.1:1\"]\nmaster_name = \"spare\"\n"
        ))
        .expect("the test configuration");
        let mut server = Server::configured(test_db, config, None).await;
        server.alertmanager = alertmanager;
        server
    }

    /// A server with a configuration and, given a lease, a job worker.
    pub async fn configured(
        test_db: TestDb,
        config: platform_admin::config::Config,
        worker_lease: Option<chrono::Duration>,
    ) -> Server {
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
        let state = AppState::with_config(db.clone(), config);
        let worker = worker_lease.map(|lease| platform_admin::worker::spawn(state.clone(), lease));
        tokio::spawn(async move {
            let stopped = async {
                let _ = stop.await;
            };
            platform_admin::serve(listener, state, stopped)
                .await
                .expect("serve");
            if let Some(worker) = worker {
                worker.abort();
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Server {
            base,
            db,
            client,
            admin,
            viewer,
            shutdown: Some(shutdown),
            alertmanager: None,
            _test_db: test_db,
        }
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
/// PostgreSQL one fails when it cannot get a database.
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
                    .await;
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
                    let server = $crate::support::Server::start(
                        $crate::support::Backend::Postgres,
                        stringify!($name),
                    )
                    .await;
                    let $srv = &server;
                    $body
                }
            )*
        }
    };
}
