//! The local store: a SQLite file in the data dir holding the last known state
//! of each server a profile points at, so the console has something true to
//! show offline. It is a cache: losing it loses nothing the server does not
//! have. It is keyed by the server (its normalised admin URL), never by a
//! profile's name, which can be reused for another server. Beside the cache
//! it keeps which profile each window of the desktop app is on (see
//! [`crate::windows`]): losing that only sends the window to its fallback.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use opsdeck_api::tenants::Tenant;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;
use tokio::sync::OnceCell;
use url::Url;

use crate::error::{Error, Result};

/// Opened on first use: most commands never touch the cache, and a command
/// line should not pay for opening and migrating it.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Arc<OnceCell<SqlitePool>>,
    path: PathBuf,
}

/// A cached tenant list and when it was fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedTenants {
    pub tenants: Vec<Tenant>,
    pub fetched_at: DateTime<Utc>,
}

/// The key of the server at `admin_url` in the store: the URL as `url`
/// normalises it (scheme and host in lowercase, no default port), without a
/// query, fragment or trailing slash, so two spellings of one server share
/// one cache. A URL that does not parse is its own key, trimmed.
pub fn server_key(admin_url: &str) -> String {
    match Url::parse(admin_url.trim()) {
        Ok(mut url) => {
            url.set_query(None);
            url.set_fragment(None);
            url.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => admin_url.trim().trim_end_matches('/').to_string(),
    }
}

impl Store {
    /// The store at `path`, opened (created and migrated if needed) when
    /// it is first used; a file that cannot be opened fails that use.
    pub fn at(path: &Path) -> Self {
        Self {
            pool: Arc::new(OnceCell::new()),
            path: path.to_path_buf(),
        }
    }

    /// Opens (creating and migrating if needed) the store at `path` now.
    pub async fn open(path: &Path) -> Result<Self> {
        let store = Self::at(path);
        store.pool().await?;
        Ok(store)
    }

    async fn pool(&self) -> Result<&SqlitePool> {
        self.pool.get_or_try_init(|| open_pool(&self.path)).await
    }

    fn error(&self, e: impl std::fmt::Display) -> Error {
        Error::Store {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Keeps `tenants` as the last list seen on `server` (a [`server_key`]).
    pub async fn save_tenants(
        &self,
        server: &str,
        tenants: &[Tenant],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let json = serde_json::to_string(tenants).map_err(|e| self.error(e))?;
        sqlx::query(
            "INSERT INTO tenant_cache (server, fetched_at, tenants) VALUES ($1, $2, $3)
             ON CONFLICT (server) DO UPDATE SET fetched_at = excluded.fetched_at, tenants = excluded.tenants",
        )
        .bind(server)
        .bind(at.to_rfc3339())
        .bind(json)
        .execute(self.pool().await?)
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// The cached list of `server`; `None` when there is none or it cannot be
    /// read (a cache that cannot be read is no cache).
    pub async fn load_tenants(&self, server: &str) -> Result<Option<CachedTenants>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT fetched_at, tenants FROM tenant_cache WHERE server = $1")
                .bind(server)
                .fetch_optional(self.pool().await?)
                .await
                .map_err(|e| self.error(e))?;
        let Some((fetched_at, json)) = row else {
            return Ok(None);
        };
        let parsed = DateTime::parse_from_rfc3339(&fetched_at)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .zip(serde_json::from_str::<Vec<Tenant>>(&json).ok());
        match parsed {
            Some((fetched_at, tenants)) => Ok(Some(CachedTenants {
                tenants,
                fetched_at,
            })),
            None => {
                tracing::warn!(server, "cached tenant list is unreadable; ignoring it");
                Ok(None)
            }
        }
    }

    /// Applies a change the server confirmed to the cached list, so the
    /// offline view does not show a state older than the user's own action.
    pub async fn patch_tenant(
        &self,
        server: &str,
        slug: &str,
        tenant: Option<&Tenant>,
    ) -> Result<()> {
        let Some(mut cached) = self.load_tenants(server).await? else {
            return Ok(());
        };
        cached.tenants.retain(|t| t.slug != slug);
        if let Some(t) = tenant {
            cached.tenants.push(t.clone());
            cached.tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
        }
        self.save_tenants(server, &cached.tenants, cached.fetched_at)
            .await
    }

    /// The profile the window labelled `window` was last on, if it chose one.
    pub async fn window_profile(&self, window: &str) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT profile FROM window_profile WHERE window = $1")
                .bind(window)
                .fetch_optional(self.pool().await?)
                .await
                .map_err(|e| self.error(e))?;
        Ok(row.map(|(profile,)| profile))
    }

    /// Keeps `profile` as the one the window labelled `window` is on, or
    /// forgets the window's choice with `None`.
    pub async fn set_window_profile(&self, window: &str, profile: Option<&str>) -> Result<()> {
        let query = match profile {
            Some(profile) => sqlx::query(
                "INSERT INTO window_profile (window, profile, chosen_at) VALUES ($1, $2, $3)
                 ON CONFLICT (window) DO UPDATE SET profile = excluded.profile, chosen_at = excluded.chosen_at",
            )
            .bind(window)
            .bind(profile)
            .bind(Utc::now().to_rfc3339()),
            None => sqlx::query("DELETE FROM window_profile WHERE window = $1").bind(window),
        };
        query
            .execute(self.pool().await?)
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// The setting `key` as it was kept (JSON), if it was.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(|e| self.error(e))?;
        Ok(row.map(|(value,)| value))
    }

    /// Keeps `value` (JSON) as the setting `key`.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(Utc::now().to_rfc3339())
        .execute(self.pool().await?)
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Removes the cache table, so every later call fails as a broken store would.
    #[cfg(test)]
    pub(crate) async fn break_for_test(&self) {
        let pool = self.pool().await.expect("open the store");
        sqlx::query("DROP TABLE tenant_cache")
            .execute(pool)
            .await
            .expect("drop the cache table");
    }

    /// Keeps `board` (JSON) as the last drawing of `dashboard` on `server`.
    pub async fn save_board(
        &self,
        server: &str,
        dashboard: &str,
        board: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO board_cache (server, dashboard, fetched_at, board) VALUES ($1, $2, $3, $4)
             ON CONFLICT (server, dashboard) DO UPDATE
             SET fetched_at = excluded.fetched_at, board = excluded.board",
        )
        .bind(server)
        .bind(dashboard)
        .bind(at.to_rfc3339())
        .bind(board)
        .execute(self.pool().await?)
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// The last drawing of `dashboard` kept for `server`, as saved.
    pub async fn load_board(&self, server: &str, dashboard: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT board FROM board_cache WHERE server = $1 AND dashboard = $2")
            .bind(server)
            .bind(dashboard)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(|e| self.error(e))
    }

    /// Drops what is cached for every server but `servers` (keys from
    /// [`server_key`]): the cache of a server no profile points at any more.
    pub async fn retain_servers(&self, servers: &[String]) -> Result<()> {
        let keep = serde_json::to_string(servers).map_err(|e| self.error(e))?;
        for table in ["tenant_cache", "board_cache"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE server NOT IN (SELECT value FROM json_each($1))"
            ))
            .bind(&keep)
            .execute(self.pool().await?)
            .await
            .map_err(|e| self.error(e))?;
        }
        Ok(())
    }
}

async fn open_pool(path: &Path) -> Result<SqlitePool> {
    let err = |message: String| Error::Store {
        path: path.to_path_buf(),
        message,
    };
    // Owner-only before SQLite opens it: its -wal and -shm files take the
    // database file's permissions.
    let file = path.to_path_buf();
    tokio::task::spawn_blocking(move || crate::paths::private_store(&file))
        .await
        .map_err(|e| err(format!("cannot prepare the file: {e}")))??;
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|e| err(e.to_string()))?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| err(format!("cannot open: {e}")))?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|e| err(format!("cannot migrate: {e}")))?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdeck_api::tenants::{Plan, TenantStatus};

    fn tenant(slug: &str) -> Tenant {
        let now = Utc::now();
        Tenant {
            accent_color: None,
            labels: Default::default(),
            id: format!("id-{slug}"),
            slug: slug.into(),
            name: slug.into(),
            plan: Plan::Free,
            status: TenantStatus::Active,
            quotas: Plan::Free.default_quotas(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn spellings_of_one_server_share_a_key() {
        let key = server_key("https://admin.example.net");
        for same in [
            "https://Admin.Example.NET/",
            "https://admin.example.net:443",
            " https://admin.example.net/?x=1#top ",
        ] {
            assert_eq!(server_key(same), key, "{same}");
        }
        for other in [
            "https://admin.example.net:8443",
            "http://admin.example.net",
            "https://admin.example.net/other",
            "https://admin2.example.net",
        ] {
            assert_ne!(server_key(other), key, "{other}");
        }
    }

    #[tokio::test]
    async fn rows_of_the_profile_keyed_cache_are_dropped_by_the_migration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("opsdeck.db");
        // A store as the release before this one left it: migrated to 0001
        // only, with a row keyed by a profile name.
        let first = dir.path().join("first");
        std::fs::create_dir_all(&first).expect("mkdir");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/0001_tenant_cache.sql"
            ),
            first.join("0001_tenant_cache.sql"),
        )
        .expect("copy migration");
        {
            let options = SqliteConnectOptions::from_str("sqlite://")
                .expect("options")
                .filename(&path)
                .create_if_missing(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .expect("open old store");
            sqlx::migrate::Migrator::new(first.as_path())
                .await
                .expect("old migrator")
                .run(&pool)
                .await
                .expect("old migration");
            let json = serde_json::to_string(&[tenant("old-server-tenant")]).expect("json");
            sqlx::query(
                "INSERT INTO tenant_cache (profile, fetched_at, tenants) VALUES ($1, $2, $3)",
            )
            .bind("plat")
            .bind(Utc::now().to_rfc3339())
            .bind(json)
            .execute(&pool)
            .await
            .expect("old row");
            pool.close().await;
        }

        let store = Store::open(&path).await.expect("open and migrate");
        assert!(store.load_tenants("plat").await.expect("load").is_none());
        let server = server_key("http://127.0.0.1:9");
        assert!(store.load_tenants(&server).await.expect("load").is_none());
        store
            .save_tenants(&server, &[tenant("acme")], Utc::now())
            .await
            .expect("save under the new key");
        let back = store.load_tenants(&server).await.expect("load");
        assert_eq!(back.map(|c| c.tenants.len()), Some(1));
    }

    #[tokio::test]
    async fn a_kept_board_is_replaced_by_the_newer_and_goes_with_its_server() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("cache.sqlite"))
            .await
            .expect("open");
        let (kept, gone) = (
            server_key("http://127.0.0.1:9"),
            server_key("http://127.0.0.1:10"),
        );
        for (server, board) in [(&kept, "old"), (&kept, "new"), (&gone, "other")] {
            store
                .save_board(server, "overview", board, Utc::now())
                .await
                .expect("save");
        }
        let board = store.load_board(&kept, "overview").await.expect("load");
        assert_eq!(board.as_deref(), Some("new"));
        assert_eq!(store.load_board(&kept, "other").await.expect("load"), None);
        store
            .retain_servers(std::slice::from_ref(&kept))
            .await
            .expect("retain");
        assert_eq!(
            store.load_board(&gone, "overview").await.expect("load"),
            None
        );
        assert!(store
            .load_board(&kept, "overview")
            .await
            .expect("load")
            .is_some());
    }
}
