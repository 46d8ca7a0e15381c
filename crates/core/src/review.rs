//! The post-incident review with its charts: for each linked alert, its
//! expression over the incident window from the profile's Prometheus, drawn
//! by the dashboard renderer as a PNG the Markdown links to. The expression
//! is the alert's own (`g0.expr` of its `generatorURL`, while Alertmanager
//! still has it), else `ALERTS{alertname="..."}`, which Prometheus keeps for
//! every alert it fired.

use std::time::Duration;

use chrono::{DateTime, Utc};
use opsdeck_api::incidents::{IncidentDetail, LinkedAlert};
use plotters::prelude::*;

use crate::alerts::AlertFilter;
use crate::dashboards::{chart, png, Theme, Thresholds, Unit};
use crate::error::{Error, Result};
use crate::metrics::RangeSpec;
use crate::session::Session;

/// Before the incident's start and its first alert, so the chart shows
/// what the metric did before it went wrong.
const LEAD: Duration = Duration::from_secs(10 * 60);
/// The shortest window drawn: a short incident still shows a trend.
const MIN_WINDOW: Duration = Duration::from_secs(15 * 60);
const WIDTH: u32 = 900;
const HEIGHT: u32 = 320;

/// One chart of the review.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The file name the Markdown links to (`review-1.png`).
    pub file: String,
    pub alertname: String,
    pub query: String,
    pub png: Vec<u8>,
}

/// A chart that could not be drawn, and why (said in the review).
#[derive(Debug, Clone)]
pub struct Missing {
    pub alertname: String,
    pub query: String,
    pub reason: String,
}

/// The charts of an incident's linked alerts.
#[derive(Debug, Clone, Default)]
pub struct Charts {
    pub drawn: Vec<Chart>,
    pub missing: Vec<Missing>,
}

/// The window the charts cover: from before the earlier of the incident's
/// start and its first alert, to its resolution (now while it runs).
pub fn window(detail: &IncidentDetail) -> (DateTime<Utc>, DateTime<Utc>) {
    let incident = &detail.incident;
    let first = detail
        .alerts
        .iter()
        .map(|a| a.starts_at)
        .chain(std::iter::once(incident.started_at))
        .min()
        .unwrap_or(incident.started_at);
    let lead = chrono::Duration::from_std(LEAD).unwrap_or_default();
    let least = chrono::Duration::from_std(MIN_WINDOW).unwrap_or_default();
    let end = incident.resolved_at.unwrap_or(detail.now);
    ((first - lead).min(end - least), end)
}

/// `g0.expr` of a Prometheus `generatorURL`.
pub fn expression_of(generator_url: &str) -> Option<String> {
    let url = url::Url::parse(generator_url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "g0.expr")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// What Prometheus keeps of an alert it fired, when its own expression is
/// no longer known.
pub fn fallback_expression(alert: &LinkedAlert) -> String {
    let name = alert.alertname.replace('\\', "\\\\").replace('"', "\\\"");
    format!("ALERTS{{alertname=\"{name}\"}}")
}

/// Draws the chart of each of `detail`'s linked alerts, named
/// `<stem>-<n>.png` from 1 in the order of the alerts.
pub async fn charts(session: &Session, detail: &IncidentDetail, stem: &str) -> Result<Charts> {
    let mut out = Charts::default();
    if detail.alerts.is_empty() {
        return Ok(out);
    }
    // Their expressions, from Alertmanager while it still has the alerts;
    // a profile without one, or an Alertmanager that fails, leaves the
    // fallback.
    let known: Vec<(String, String)> = match session.alerts() {
        Ok(alerts) => match alerts.list(&AlertFilter::default()).await {
            Ok(merged) => merged
                .items
                .into_iter()
                .filter_map(|a| {
                    let expr = a.generator_url.as_deref().and_then(expression_of)?;
                    Some((a.fingerprint, expr))
                })
                .collect(),
            Err(_) => Vec::new(),
        },
        Err(_) => Vec::new(),
    };
    let metrics = match session.metrics() {
        Ok(metrics) => metrics,
        Err(e) => {
            // Without a Prometheus the review is still written, saying why
            // it has no charts.
            out.missing = detail
                .alerts
                .iter()
                .map(|alert| Missing {
                    alertname: alert.alertname.clone(),
                    query: fallback_expression(alert),
                    reason: e.to_string(),
                })
                .collect();
            return Ok(out);
        }
    };
    let (start, end) = window(detail);
    let length = (end - start).to_std().unwrap_or(MIN_WINDOW);
    let range = RangeSpec {
        length,
        end: Some(end),
        width_px: WIDTH,
        step: None,
    };
    for (n, alert) in detail.alerts.iter().enumerate() {
        let query = known
            .iter()
            .find(|(fingerprint, _)| *fingerprint == alert.fingerprint)
            .map(|(_, expr)| expr.clone())
            .unwrap_or_else(|| fallback_expression(alert));
        let missing = |reason: String| Missing {
            alertname: alert.alertname.clone(),
            query: query.clone(),
            reason,
        };
        let result = match metrics.range(&query, &range).await {
            Ok(result) => result,
            Err(e) => {
                out.missing.push(missing(e.to_string()));
                continue;
            }
        };
        let series: Vec<(String, Vec<(f64, f64)>)> = result
            .series
            .iter()
            .map(|s| {
                let legend = s
                    .labels
                    .iter()
                    .filter(|(k, _)| k.as_str() != "__name__")
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let points = s
                    .points
                    .iter()
                    .map(|p| (p.at.timestamp_millis() as f64 / 1000.0, p.value))
                    .collect();
                (legend, points)
            })
            .collect();
        let title = format!("{}: {query}", alert.alertname);
        let svg = match draw(&title, &series, (start, end)) {
            Ok(svg) => svg,
            Err(e) => {
                out.missing.push(missing(e.to_string()));
                continue;
            }
        };
        out.drawn.push(Chart {
            file: format!("{stem}-{}.png", n + 1),
            alertname: alert.alertname.clone(),
            query,
            png: png::from_svg(&svg, 1.0)?,
        });
    }
    Ok(out)
}

fn draw(
    title: &str,
    series: &[(String, Vec<(f64, f64)>)],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<String> {
    let mut svg = String::new();
    let palette = Theme::Light.palette();
    let seconds = |t: DateTime<Utc>| t.timestamp_millis() as f64 / 1000.0;
    let drawn = (|| -> std::result::Result<(), chart::DrawError> {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        if series.is_empty() {
            chart::message(
                &root,
                title,
                "no data over the incident window",
                false,
                &palette,
            )?;
        } else {
            chart::time_series(
                &root,
                title,
                Unit::None,
                &Thresholds::default(),
                series,
                (seconds(start), seconds(end)),
                true,
                &palette,
            )?;
        }
        root.present()
            .map_err(|e| chart::DrawError(format!("{e:?}")))
    })();
    drawn.map_err(|e| Error::Render {
        message: e.to_string(),
    })?;
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expression_is_read_from_prometheus_generator_url() {
        let url = "http://prom:9090/graph?g0.expr=rate%28http_requests_total%7Bstatus%3D~%225..%22%7D%5B5m%5D%29+%3E+0.01&g0.tab=1";
        assert_eq!(
            expression_of(url).as_deref(),
            Some(r#"rate(http_requests_total{status=~"5.."}[5m]) > 0.01"#)
        );
        assert_eq!(expression_of("http://prom:9090/graph?g0.tab=1"), None);
        assert_eq!(expression_of("not a url"), None);
    }

    #[test]
    fn an_alert_without_its_expression_is_charted_from_alerts() {
        let alert: LinkedAlert = serde_json::from_value(serde_json::json!({
            "fingerprint": "f", "alertname": "Odd\"Name", "labels": {},
            "starts_at": "2026-11-25T03:00:00Z", "linked_at": "2026-11-25T03:01:00Z",
            "linked_by": "ops"
        }))
        .expect("an alert");
        assert_eq!(
            fallback_expression(&alert),
            r#"ALERTS{alertname="Odd\"Name"}"#
        );
    }
}
