//! The audit log of a profile's server: one page of records for a filter,
//! or every page written to a CSV or JSON Lines file. What the records say
//! is the server's; export writes them as they came (a file is data, not a
//! terminal), while the CLI and the window clean them before showing them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use opsdeck_api::audit::{AuditPage, AuditQuery, AuditRecord};
use opsdeck_api::MAX_PAGE_LIMIT;
use tokio::io::AsyncWriteExt as _;

use crate::error::{Error, Result};
use crate::progress::{Progress, Reporter};
use crate::sanitize;
use crate::session::Session;

/// Which records: every value matches exactly; `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// An email or a service account name.
    pub actor: Option<String>,
    /// `tenant.create`, `binding.delete`…
    pub action: Option<String>,
    /// `tenant:acme`, `user:ana@example.com`…
    pub target: Option<String>,
    /// A tenant's slug or id (a deleted tenant's records by its id).
    pub tenant: Option<String>,
    /// Written at or after.
    pub since: Option<DateTime<Utc>>,
    /// Written before.
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    fn query(&self, limit: Option<u32>, cursor: Option<String>) -> AuditQuery {
        AuditQuery {
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            tenant: self.tenant.clone(),
            since: self.since,
            until: self.until,
            limit,
            cursor,
        }
    }
}

/// The file formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A header line, then one record a line; before and after as JSON text.
    Csv,
    /// One JSON record a line, as the API sends it.
    Jsonl,
}

impl std::str::FromStr for ExportFormat {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" => Ok(ExportFormat::Jsonl),
            other => Err(Error::InvalidInput {
                field: "format".to_string(),
                message: format!("must be csv or jsonl, not {}", sanitize::remote(other)),
            }),
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub records: u64,
    pub path: PathBuf,
}

impl Session {
    /// The audit log of this session's profile.
    pub fn audit(&self) -> Audit<'_> {
        Audit { session: self }
    }
}

/// The audit log of a session's profile.
pub struct Audit<'s> {
    session: &'s Session,
}

impl Audit<'_> {
    /// One page of records, newest first; pass the page's `next_cursor` as
    /// `cursor` for the next one.
    pub async fn page(
        &self,
        filter: &AuditFilter,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<AuditPage> {
        self.session
            .admin()
            .audit(&filter.query(limit, cursor))
            .await
    }

    /// Writes every record of `filter`, newest first, to `out` in `format`,
    /// reporting the records fetched. The file is written beside `out` under
    /// another name and renamed to `out` once complete: an export that fails
    /// or is interrupted never leaves a partial file at `out`.
    pub async fn export(
        &self,
        filter: &AuditFilter,
        format: ExportFormat,
        out: &Path,
        reporter: &Reporter,
    ) -> Result<Exported> {
        let partial = partial_path(out);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .await
            .map_err(io(&partial))?;
        let written = self
            .write_all(filter, format, file, &partial, reporter)
            .await;
        let records = match written {
            Ok(records) => records,
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(e);
            }
        };
        if let Err(source) = tokio::fs::rename(&partial, out).await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(Error::Io {
                path: out.to_path_buf(),
                source,
            });
        }
        Ok(Exported {
            records,
            path: out.to_path_buf(),
        })
    }

    async fn write_all(
        &self,
        filter: &AuditFilter,
        format: ExportFormat,
        file: tokio::fs::File,
        path: &Path,
        reporter: &Reporter,
    ) -> Result<u64> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = tokio::io::BufWriter::new(file);
        if format == ExportFormat::Csv {
            file.write_all(csv_header().as_bytes()).await.map_err(io)?;
        }
        let mut seen = HashSet::new();
        let mut cursor = None;
        let mut records = 0_u64;
        loop {
            let page = self.page(filter, Some(MAX_PAGE_LIMIT), cursor).await?;
            for record in &page.items {
                let line = match format {
                    ExportFormat::Csv => csv_line(record),
                    ExportFormat::Jsonl => jsonl_line(record)?,
                };
                file.write_all(line.as_bytes()).await.map_err(io)?;
            }
            records += page.items.len() as u64;
            reporter.report(Progress::new(
                "exporting audit records",
                records,
                None,
                "records",
            ));
            match page.next_cursor {
                None => break,
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(Error::CursorRepeated {
                        url: self.session.profile().admin_url.clone(),
                        cursor: sanitize::remote(&next.chars().take(80).collect::<String>()),
                    })
                }
                Some(next) => cursor = Some(next),
            }
        }
        file.flush().await.map_err(io)?;
        let file = file.into_inner();
        file.sync_all().await.map_err(io)?;
        Ok(records)
    }
}

/// A hidden name beside `out`, unique to this export.
fn partial_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audit".to_string());
    let partial = format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple());
    match out.parent() {
        Some(dir) => dir.join(partial),
        None => PathBuf::from(partial),
    }
}

const CSV_COLUMNS: [&str; 13] = [
    "seq",
    "id",
    "at",
    "actor",
    "action",
    "target",
    "tenant",
    "before",
    "after",
    "request_id",
    "idempotency_key",
    "prev_hash",
    "hash",
];

fn csv_header() -> String {
    format!("{}\r\n", CSV_COLUMNS.join(","))
}

/// One record as an RFC 4180 line.
fn csv_line(record: &AuditRecord) -> String {
    let json = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .map(serde_json::Value::to_string)
            .unwrap_or_default()
    };
    let fields = [
        record.seq.to_string(),
        record.id.clone(),
        record
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        record.actor.clone(),
        record.action.clone(),
        record.target.clone(),
        record.tenant.clone().unwrap_or_default(),
        json(&record.before),
        json(&record.after),
        record.request_id.clone(),
        record.idempotency_key.clone().unwrap_or_default(),
        record.prev_hash.clone(),
        record.hash.clone(),
    ];
    let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    format!("{}\r\n", quoted.join(","))
}

/// Quoted when it holds a separator, a quote or a line break; quotes
/// doubled. A cell a spreadsheet would read as a formula (it starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so
/// an actor or target named by someone else cannot run in the reader's
/// spreadsheet.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn jsonl_line(record: &AuditRecord) -> Result<String> {
    let json = serde_json::to_string(record).map_err(|e| Error::InvalidInput {
        field: "record".to_string(),
        message: e.to_string(),
    })?;
    Ok(format!("{json}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_separators_quotes_and_breaks_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised() {
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-2"), "'-2");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("ann@example.com"), "ann@example.com");
    }

    #[test]
    fn the_partial_file_is_hidden_beside_the_output() {
        let partial = partial_path(Path::new("/tmp/out/audit.csv"));
        assert_eq!(partial.parent(), Some(Path::new("/tmp/out")));
        let name = partial
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(
            name.starts_with(".audit.csv.") && name.ends_with(".partial"),
            "{name}"
        );
    }

    #[test]
    fn formats_are_csv_and_jsonl_only() {
        assert_eq!("csv".parse::<ExportFormat>().ok(), Some(ExportFormat::Csv));
        assert_eq!(
            "jsonl".parse::<ExportFormat>().ok(),
            Some(ExportFormat::Jsonl)
        );
        assert!("xml".parse::<ExportFormat>().is_err());
    }
}
