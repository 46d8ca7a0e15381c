//! The local store: a SQLite file in the data dir holding the last known state
//! of each profile, so the console has something true to show offline. It is
//! a cache: losing it loses nothing the server does not have.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use opsdeck_api::tenants::Tenant;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

/// A cached tenant list and when it was fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedTenants {
    pub tenants: Vec<Tenant>,
    pub fetched_at: DateTime<Utc>,
}

impl Store {
    /// Opens (creating and migrating if needed) the store at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
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
        Ok(Self {
            pool,
            path: path.to_path_buf(),
        })
    }

    fn error(&self, e: impl std::fmt::Display) -> Error {
        Error::Store {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    pub async fn save_tenants(
        &self,
        profile: &str,
        tenants: &[Tenant],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let json = serde_json::to_string(tenants).map_err(|e| self.error(e))?;
        sqlx::query(
            "INSERT INTO tenant_cache (profile, fetched_at, tenants) VALUES ($1, $2, $3)
             ON CONFLICT (profile) DO UPDATE SET fetched_at = excluded.fetched_at, tenants = excluded.tenants",
        )
        .bind(profile)
        .bind(at.to_rfc3339())
        .bind(json)
        .execute(&self.pool)
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// The cached list of `profile`; `None` when there is none or it cannot be
    /// read (a cache that cannot be read is no cache).
    pub async fn load_tenants(&self, profile: &str) -> Result<Option<CachedTenants>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT fetched_at, tenants FROM tenant_cache WHERE profile = $1")
                .bind(profile)
                .fetch_optional(&self.pool)
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
                tracing::warn!(profile, "cached tenant list is unreadable; ignoring it");
                Ok(None)
            }
        }
    }

    /// Applies a change the server confirmed to the cached list, so the
    /// offline view does not show a state older than the user's own action.
    pub async fn patch_tenant(
        &self,
        profile: &str,
        slug: &str,
        tenant: Option<&Tenant>,
    ) -> Result<()> {
        let Some(mut cached) = self.load_tenants(profile).await? else {
            return Ok(());
        };
        cached.tenants.retain(|t| t.slug != slug);
        if let Some(t) = tenant {
            cached.tenants.push(t.clone());
            cached.tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
        }
        self.save_tenants(profile, &cached.tenants, cached.fetched_at)
            .await
    }

    pub async fn forget(&self, profile: &str) -> Result<()> {
        sqlx::query("DELETE FROM tenant_cache WHERE profile = $1")
            .bind(profile)
            .execute(&self.pool)
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }
}
