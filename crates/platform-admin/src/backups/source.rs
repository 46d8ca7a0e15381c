//! The target's PostgreSQL as backups see it: a restore point with the
//! row counts of every table at it (recorded by a backup job, so a restore
//! test has something exact to compare against), and the counts of a
//! restored copy.

use std::collections::BTreeMap;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection, Row as _};

/// The longest connecting and counting may take.
const COUNT_TIMEOUT: Duration = Duration::from_secs(600);

/// Rows per table (`schema.table`), every ordinary and partitioned table
/// outside the system schemas, in the transaction `conn` is in.
async fn count_tables(conn: &mut PgConnection) -> Result<BTreeMap<String, u64>, sqlx::Error> {
    let tables = sqlx::query(
        "SELECT n.nspname AS schema, c.relname AS name FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = BTreeMap::new();
    for table in tables {
        let schema: String = table.try_get("schema")?;
        let name: String = table.try_get("name")?;
        let quoted = format!("{}.{}", ident(&schema), ident(&name));
        let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {quoted}"))
            .fetch_one(&mut *conn)
            .await?;
        counts.insert(format!("{schema}.{name}"), u64::try_from(rows).unwrap_or(0));
    }
    Ok(counts)
}

/// An identifier quoted for SQL.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Creates the restore point `name` in the source and reads its row
/// counts in the same snapshot, then switches WAL so the point is
/// archived. The snapshot is taken by the transaction's first statement,
/// just before the point is written: only a transaction committing in that
/// instant could differ.
pub async fn mark(url: &str, name: &str) -> Result<BTreeMap<String, u64>, String> {
    let work = async {
        let mut conn = PgConnection::connect(url).await?;
        let mut tx = conn.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT pg_create_restore_point($1)")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let counts = count_tables(&mut tx).await?;
        tx.commit().await?;
        sqlx::query("SELECT pg_switch_wal()")
            .execute(&mut conn)
            .await?;
        let _ = conn.close().await;
        Ok::<_, sqlx::Error>(counts)
    };
    match tokio::time::timeout(COUNT_TIMEOUT, work).await {
        Err(_) => Err(format!("counting rows took longer than {COUNT_TIMEOUT:?}")),
        Ok(Err(err)) => Err(format!("cannot mark a restore point in the source: {err}")),
        Ok(Ok(counts)) => Ok(counts),
    }
}

/// The options of the target's database URL, pointed at a restored copy
/// listening on `socket_dir` and `port` instead.
pub fn restored_options(
    url: &str,
    socket_dir: &std::path::Path,
    port: u16,
) -> Result<PgConnectOptions, String> {
    PgConnectOptions::from_str(url)
        .map(|o| o.socket(socket_dir).port(port))
        .map_err(|err| format!("the target's database URL does not parse: {err}"))
}

/// Whether the copy is still recovering, and once it is not, its counts.
pub async fn restored_counts(
    options: &PgConnectOptions,
) -> Result<Option<BTreeMap<String, u64>>, String> {
    let work = async {
        let mut conn = PgConnection::connect_with(options).await?;
        let recovering: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&mut conn)
            .await?;
        if recovering {
            return Ok(None);
        }
        let mut tx = conn.begin().await?;
        let counts = count_tables(&mut tx).await?;
        tx.commit().await?;
        let _ = conn.close().await;
        Ok::<_, sqlx::Error>(Some(counts))
    };
    match tokio::time::timeout(COUNT_TIMEOUT, work).await {
        Err(_) => Err(format!("counting rows took longer than {COUNT_TIMEOUT:?}")),
        Ok(Err(err)) => Err(format!("cannot read the restored copy: {err}")),
        Ok(Ok(counts)) => Ok(counts),
    }
}
