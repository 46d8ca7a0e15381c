//! `opsdeck query '<promql>'`: the profile's Prometheus asked from the
//! terminal. Instant: one row per series with its value. With `--range`:
//! one row per series with its smallest, largest and last value and its
//! count of points (`--json` gives every point).

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Args;
use opsdeck_core::metrics::{parse_length, QueryResult, DEFAULT_WIDTH_PX};
use opsdeck_core::{Console, Error, RangeSpec};

use crate::error::Result;
use crate::output::{when, Column, Output};

#[derive(Args)]
pub struct QueryArgs {
    /// The PromQL expression, e.g. 'up' or
    /// 'sum by (route) (rate(http_requests_total[5m]))'.
    query: String,
    /// Query the last RANGE (30m, 1h, 7d) instead of the value now.
    #[arg(long, value_name = "RANGE", value_parser = range)]
    range: Option<Duration>,
    /// The step between points of a range (default: chosen from the range
    /// and --width, within Prometheus's 11,000 points per series).
    #[arg(long, value_name = "STEP", value_parser = step, requires = "range")]
    step: Option<Duration>,
    /// The width in pixels the range would be drawn at: about one point
    /// per pixel.
    #[arg(long, value_name = "PIXELS", default_value_t = DEFAULT_WIDTH_PX,
          value_parser = clap::value_parser!(u32).range(1..), requires = "range")]
    width: u32,
}

fn range(text: &str) -> std::result::Result<Duration, String> {
    parse_length("range", text).map_err(message)
}

fn step(text: &str) -> std::result::Result<Duration, String> {
    parse_length("step", text).map_err(message)
}

fn message(e: Error) -> String {
    match e {
        Error::InvalidInput { message, .. } => message,
        other => other.to_string(),
    }
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    args: QueryArgs,
) -> Result<()> {
    let session = console.session(profile).await?;
    let metrics = session.metrics()?;
    let asked = match args.range {
        None => metrics.instant(&args.query).await,
        Some(length) => {
            let spec = RangeSpec {
                length,
                end: None,
                width_px: args.width,
                step: args.step,
            };
            metrics.range(&args.query, &spec).await
        }
    };
    let result = match asked {
        Ok(result) => result,
        Err(e) => {
            if let Error::QuerySyntax { line, column, .. } = &e {
                point_at(out, &args.query, *line, *column);
            }
            return Err(e.into());
        }
    };
    for warning in &result.warnings {
        out.note(&format!("warning: Prometheus: {warning}"));
    }
    if out.json {
        out.json(&result);
        return Ok(());
    }
    let place = format!("`{}` ({})", result.profile, result.tier);
    if let Some(text) = &result.text {
        println!("{}", opsdeck_core::sanitize::remote(text));
        return Ok(());
    }
    if result.series.is_empty() {
        out.note(&format!("no series on {place}"));
        return Ok(());
    }
    match result.span {
        None => instant_table(out, &result),
        Some(span) => {
            range_table(out, &result);
            out.note(&format!(
                "{} from {} to {}, one point every {}",
                series_count(result.series.len()),
                when(span.start),
                when(span.end),
                opsdeck_core::alerts::human(Duration::from_secs(span.step_seconds)),
            ));
            return Ok(());
        }
    }
    out.note(&format!("{} on {place}", series_count(result.series.len())));
    Ok(())
}

fn series_count(n: usize) -> String {
    match n {
        1 => "1 series".to_string(),
        n => format!("{n} series"),
    }
}

fn instant_table(out: &Output, result: &QueryResult) {
    let rows = result
        .series
        .iter()
        .map(|s| vec![labels(&s.labels), s.last().map(number).unwrap_or_default()])
        .collect();
    out.table(
        &[
            Column::free_text("SERIES", u8::MAX),
            Column::number("VALUE", u8::MAX),
        ],
        rows,
    );
}

fn range_table(out: &Output, result: &QueryResult) {
    let rows = result
        .series
        .iter()
        .map(|s| {
            vec![
                labels(&s.labels),
                s.min().map(number).unwrap_or_default(),
                s.max().map(number).unwrap_or_default(),
                s.last().map(number).unwrap_or_default(),
                s.points.len().to_string(),
            ]
        })
        .collect();
    out.table(
        &[
            Column::free_text("SERIES", u8::MAX),
            Column::number("MIN", 2),
            Column::number("MAX", 3),
            Column::number("LAST", u8::MAX),
            Column::number("POINTS", 1),
        ],
        rows,
    );
}

/// A series as PromQL writes it: `name{label="value", ...}`, `{}` for none.
fn labels(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    if rest.is_empty() && !name.is_empty() {
        return name;
    }
    format!("{name}{{{}}}", rest.join(", "))
}

/// A value short enough for a column: at most six decimals, no trailing
/// zeros, exponents for the very large and very small.
fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let size = value.abs();
    if size != 0.0 && !(1e-4..1e15).contains(&size) {
        return format!("{value:e}");
    }
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

/// The query with a caret under where Prometheus could not read on.
fn point_at(out: &Output, query: &str, line: u32, column: u32) {
    let Some(text) = query.lines().nth(line.saturating_sub(1) as usize) else {
        return;
    };
    let before: String = text
        .chars()
        .take(column.saturating_sub(1) as usize)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    out.note(&format!("  {text}\n  {before}^"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_short_and_exact_enough() {
        assert_eq!(number(1.0), "1");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(1.5e20), "1.5e20");
        assert_eq!(number(2e-7), "2e-7");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn series_read_as_promql_writes_them() {
        let mut map = BTreeMap::new();
        assert_eq!(labels(&map), "{}");
        map.insert("__name__".to_string(), "up".to_string());
        assert_eq!(labels(&map), "up");
        map.insert("job".to_string(), "a\"b".to_string());
        map.insert("instance".to_string(), "127.0.0.1:9".to_string());
        assert_eq!(labels(&map), "up{instance=\"127.0.0.1:9\", job=\"a\\\"b\"}");
    }
}
