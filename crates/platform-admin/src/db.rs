//! The database: one sqlx `Any` pool over SQLite or PostgreSQL, its
//! migrations, transactions, and the timestamp format both databases store.
//! The queries themselves live with their capability (`tenants/store.rs`…).

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Transaction};

use crate::error::Error;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn from_url(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            Ok(DbKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbKind::Postgres)
        } else {
            Err(Error::UnsupportedDatabase(redact(url)))
        }
    }

    /// As reported by `GET /v1/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
        }
    }
}

/// A migrated connection pool; cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    kind: DbKind,
    /// Wakes idle job workers; shared by every clone, so an enqueue
    /// through any of them wakes the workers of this process.
    job_signal: crate::jobs::Signal,
}

/// How long a request waits for a pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Db {
    /// Opens the database (creating a SQLite file in WAL mode when it does
    /// not exist yet) and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Db, Error> {
        sqlx::any::install_default_drivers();
        let kind = DbKind::from_url(url)?;
        let connect_error = |source| Error::Connect {
            url: redact(url),
            source,
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        options = match kind {
            DbKind::Sqlite => {
                let sqlite = SqliteConnectOptions::from_str(url).map_err(connect_error)?;
                if is_in_memory(url) {
                    // Every connection to `:memory:` is its own empty database.
                    options
                        .max_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    let file = sqlite.get_filename().to_path_buf();
                    make_private(&file)
                        .await
                        .map_err(|source| Error::DatabaseFile {
                            path: file.clone(),
                            source,
                        })?;
                    // The `Any` driver opens SQLite from the URL alone, so the
                    // file is created and switched to WAL (a setting the file
                    // keeps) by one native connection first.
                    sqlite
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .connect()
                        .await
                        .map_err(connect_error)?
                        .close()
                        .await
                        .map_err(connect_error)?;
                    options.max_connections(8)
                }
            }
            DbKind::Postgres => options.max_connections(10),
        };
        let pool = options.connect(url).await.map_err(connect_error)?;
        let db = Db {
            pool,
            kind,
            job_signal: crate::jobs::Signal::new(kind, url),
        };
        db.migrate().await?;
        let filled = crate::tenants::store::backfill_search(&db).await?;
        if filled > 0 {
            tracing::info!(filled, "search text of existing tenants filled in");
        }
        let chained = crate::audit::store::backfill_chain(&db).await?;
        if chained > 0 {
            tracing::info!(chained, "audit records from before the hash chain chained");
        }
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), Error> {
        match self.kind {
            DbKind::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            DbKind::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    pub(crate) fn job_signal(&self) -> &crate::jobs::Signal {
        &self.job_signal
    }

    /// A write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
    /// writes fails with SQLITE_BUSY instead of waiting when another writer
    /// got there first.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, Error> {
        let tx = match self.kind {
            DbKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            DbKind::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// Succeeds when the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await
    }

    /// Closes every connection; later queries fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The database holds token hashes and every tenant: it is created
/// readable by its owner only, and tightened when found looser. SQLite
/// gives its `-wal` and `-shm` files the mode of the database file; ones
/// left behind looser are tightened too.
async fn make_private(file: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        const PRIVATE: u32 = 0o600;
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE)
            .open(file)
            .await
        {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
        let mut names = vec![file.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = file.as_os_str().to_os_string();
            name.push(suffix);
            names.push(name.into());
        }
        for name in names {
            let mode = match tokio::fs::metadata(&name).await {
                Ok(meta) => meta.permissions().mode() & 0o777,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if mode & 0o077 != 0 {
                tokio::fs::set_permissions(&name, std::fs::Permissions::from_mode(PRIVATE)).await?;
                tracing::warn!(
                    file = %name.display(),
                    was = format!("{mode:o}"),
                    "database file was readable by others; made private to its owner (0600)"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// `text` with LIKE's wildcards and the escape character escaped (by a
/// backslash, the `ESCAPE` every query here gives), so it matches itself only.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Now, at the millisecond precision the API promises.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// How timestamps are stored: fixed-width RFC 3339 in UTC with
/// milliseconds, so that text order is time order on both databases.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| Error::Corrupt(format!("timestamp `{text}`: {err}")))
}

/// True when the error is a unique index refusing a duplicate.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_scheme() {
        assert_eq!(DbKind::from_url("sqlite://x.db").ok(), Some(DbKind::Sqlite));
        assert_eq!(
            DbKind::from_url("postgresql://h/db").ok(),
            Some(DbKind::Postgres)
        );
        assert!(DbKind::from_url("mysql://h/db").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://admin:s3cret@db:5432/x"),
            "postgres://admin:***@db:5432/x"
        );
        assert_eq!(redact("postgres://admin@db/x"), "postgres://admin@db/x");
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
    }

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let at = DateTime::parse_from_rfc3339("2025-03-04T05:06:07Z")
            .expect("valid")
            .with_timezone(&Utc);
        let text = timestamp(at);
        assert_eq!(text, "2025-03-04T05:06:07.000Z");
        assert_eq!(parse_timestamp(&text).ok(), Some(at));
    }
}
