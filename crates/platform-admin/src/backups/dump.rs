//! A `pg_dump` target's backup: one database dumped with `pg_dump -Fc`
//! (one tenant's data export) into the target's `backup_dir`, checked with
//! `pg_restore --list` before it is kept. The password leaves the URL for
//! `PGPASSWORD`, so it is never on a command line.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::config::TargetConfig;
use crate::db::{self, Db};
use crate::jobs::Claim;

use super::files;
use super::pgbackrest::RunError;

/// The longest a dump may take.
const DUMP_LIMIT: Duration = Duration::from_secs(6 * 3600);

/// The longest `pg_restore --list` may take.
const LIST_LIMIT: Duration = Duration::from_secs(600);

/// The URL `pg_dump` connects to (the database to dump in its path, no
/// password) and the password.
fn connection(target: &TargetConfig) -> Result<(String, Option<String>), RunError> {
    let url = target.database.as_deref().ok_or_else(|| {
        RunError::Failed(format!(
            "backup target `{}` names no database in the configuration file",
            target.id
        ))
    })?;
    let mut url = url::Url::parse(url).map_err(|err| {
        RunError::Failed(format!(
            "the database URL of `{}` does not parse: {err}",
            target.id
        ))
    })?;
    let password = url.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    // Neither call fails on a postgres:// URL with a host.
    let _ = url.set_password(None);
    if let Some(name) = &target.dump_database {
        url.set_path(&format!(
            "/{}",
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        ));
    }
    Ok((url.to_string(), password))
}

/// The database a dump is of, for the log.
fn database_name(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .map(|u| u.path().trim_start_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .map(|p| {
            percent_encoding::percent_decode_str(&p)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| "the user's default database".to_string())
}

/// Runs the dump for the job `claim` holds; the result is a
/// `BackupResult` as JSON.
pub async fn backup(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    mut stop_asked: tokio::sync::watch::Receiver<bool>,
) -> Result<Value, RunError> {
    files::progress(db, claim, 0, 3, "dumping").await?;
    let dir = files::backup_dir(target)?;
    files::prepare(db, claim, dir).await?;
    let (url, password) = connection(target)?;
    let started = db::now();
    let label = files::label(started);
    let partial = dir.join(format!("{}.partial", files::file_name(target.kind, &label)));
    let bin = super::verify::pg_bin(target)?;
    files::log(
        db,
        claim,
        format!(
            "pg_dump -Fc of database `{}` into {}",
            database_name(&url),
            partial.display()
        ),
    )
    .await?;
    let mut cmd = files::tool(bin.join("pg_dump"));
    cmd.arg("--format=custom")
        .arg("--no-password")
        .arg(format!("--file={}", partial.display()))
        .arg(format!("--dbname={url}"));
    if let Some(password) = &password {
        cmd.env("PGPASSWORD", password);
    }
    let dumped = files::run_tool(cmd, "pg_dump", DUMP_LIMIT, &mut stop_asked).await;
    let output = match dumped {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(RunError::Failed(format!(
                "pg_dump failed ({}): {}",
                output.status,
                files::said(&output)
            )));
        }
        Err(err) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(err);
        }
    };
    let warnings = files::said(&output);
    if !warnings.is_empty() {
        files::log(db, claim, format!("pg_dump said: {warnings}")).await?;
    }
    files::progress(db, claim, 1, 3, "checking the dump").await?;
    let result = files::finish(
        db,
        claim,
        target,
        &label,
        &partial,
        started,
        &mut stop_asked,
    )
    .await;
    files::progress(db, claim, 3, 3, "done").await?;
    result
}

/// `pg_restore --list` of the dump: how many entries it read.
pub async fn check(
    target: &TargetConfig,
    path: &Path,
    stop_asked: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<String, RunError> {
    let bin = super::verify::pg_bin(target)?;
    let mut cmd = files::tool(bin.join("pg_restore"));
    cmd.arg("--list").arg(path);
    let output = files::run_tool(cmd, "pg_restore --list", LIST_LIMIT, stop_asked).await?;
    if !output.status.success() {
        return Err(RunError::Failed(format!(
            "pg_restore --list cannot read {} ({}): {}",
            path.display(),
            output.status,
            files::said(&output)
        )));
    }
    let entries = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .count();
    Ok(format!("pg_restore --list read {entries} entries"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn target(database: &str, dump: Option<&str>) -> TargetConfig {
        let dump = dump
            .map(|d| format!("dump_database = \"{d}\"\n"))
            .unwrap_or_default();
        let text = format!(
            "[[backup_targets]]\nid = \"t\"\nkind = \"pg_dump\"\ndatabase = \"{database}\"\n\
             backup_dir = \"/b\"\n{dump}"
        );
        Config::parse(&text).expect("config").backup_targets[0].clone()
    }

    #[test]
    fn the_password_leaves_the_url_and_the_database_goes_in() {
        let (url, password) = connection(&target(
            "postgres://app:p%40ss+w@127.0.0.1:5432/postgres?sslmode=disable",
            Some("tenant acme"),
        ))
        .expect("a URL");
        assert_eq!(
            url,
            "postgres://app@127.0.0.1:5432/tenant%20acme?sslmode=disable"
        );
        assert_eq!(password.as_deref(), Some("p@ss+w"));
        assert_eq!(database_name(&url), "tenant acme");
        let (url, password) = connection(&target("postgres://127.0.0.1/app", None)).expect("a URL");
        assert_eq!((url.as_str(), password), ("postgres://127.0.0.1/app", None));
    }
}
