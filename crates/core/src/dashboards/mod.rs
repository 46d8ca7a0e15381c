//! Dashboards declared in TOML files: panels of kind stat, time series and
//! status grid, each with its PromQL, unit and thresholds. The built-ins
//! ship inside the app; a user's own live in `dashboards/` of the config
//! directory (one of the same id replaces the built-in). A file with errors
//! is reported with its file, line and field, and the others still load.
//! Rendering asks the profile's Prometheus for each panel and draws the
//! dashboard as one SVG; a panel whose query fails shows its error.
//!
//! Not here: alert rules, the offline copy. PNG pictures are the same SVG
//! rasterised (`png`).

pub mod chart;
pub mod lttb;
pub mod png;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use plotters::prelude::*;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::metrics::{Metrics, QueryResult, RangeSpec, Series};
pub use chart::Theme;
use lttb::XY;

/// The dashboards that ship with the app: (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[("overview.toml", include_str!("builtin/overview.toml"))];

/// A unit values are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Unit {
    #[default]
    #[serde(rename = "none")]
    None,
    /// A ratio (0 to 1) shown as a percentage.
    #[serde(rename = "percent")]
    Percent,
    #[serde(rename = "seconds")]
    Seconds,
    #[serde(rename = "bytes")]
    Bytes,
    #[serde(rename = "req/s")]
    RequestsPerSecond,
    /// Up (1) or down (0).
    #[serde(rename = "up")]
    Up,
    /// A multiple, like a burn rate.
    #[serde(rename = "x")]
    Times,
}

impl Unit {
    /// `value` as people read it in this unit.
    pub fn format(self, value: f64) -> String {
        if value.is_nan() {
            return "NaN".into();
        }
        if value.is_infinite() {
            return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
        }
        match self {
            Unit::None => short(value),
            // Near 100%, the second decimal is the one an SLO is read by.
            Unit::Percent if (99.0..100.0).contains(&(value * 100.0)) => {
                format!("{:.2}%", value * 100.0)
            }
            Unit::Percent => format!("{}%", short(value * 100.0)),
            Unit::Seconds if value.abs() < 1.0 && value != 0.0 => {
                format!("{} ms", short(value * 1000.0))
            }
            Unit::Seconds => format!("{} s", short(value)),
            Unit::Bytes => {
                let mut v = value;
                let mut unit = 0;
                const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
                while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
                    v /= 1024.0;
                    unit += 1;
                }
                format!("{} {}", short(v), UNITS[unit])
            }
            Unit::RequestsPerSecond => format!("{} req/s", short(value)),
            Unit::Up if value >= 1.0 => "up".into(),
            Unit::Up => "down".into(),
            Unit::Times => format!("{}×", short(value)),
        }
    }

    /// The y axis's name.
    pub fn axis_name(self) -> &'static str {
        match self {
            Unit::None | Unit::Times => "",
            Unit::Percent => "%",
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
            Unit::RequestsPerSecond => "requests per second",
            Unit::Up => "up",
        }
    }

    fn starts_at_zero(self) -> bool {
        !matches!(self, Unit::None)
    }
}

/// At most three significant decimals, no trailing zeros.
fn short(value: f64) -> String {
    let size = value.abs();
    // Three significant digits, and no more than six decimals.
    let digits = if size >= 100.0 || size == 0.0 {
        0
    } else if size >= 10.0 {
        1
    } else if size >= 1.0 {
        2
    } else {
        ((-size.log10()).floor() as usize + 3).min(6)
    };
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" {
        "0".into()
    } else {
        text
    }
}

/// Where a value turns amber (`warn`) and red (`critical`): above them, or
/// below them when `below` is set.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub warn: Option<f64>,
    pub critical: Option<f64>,
    #[serde(default)]
    pub below: bool,
}

/// What a panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    /// The value now, big.
    Stat,
    /// Lines over the range.
    TimeSeries,
    /// One tile per series, coloured by its value now.
    StatusGrid,
}

/// One query of a panel, and how its series are named in the legend:
/// `{label}` is replaced by the series' label.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub expr: String,
    pub legend: Option<String>,
}

/// One panel of a dashboard.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub id: String,
    pub title: String,
    pub kind: PanelKind,
    pub queries: Vec<Target>,
    #[serde(default)]
    pub unit: Unit,
    #[serde(default)]
    pub thresholds: Thresholds,
}

/// A dashboard as its file declares it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// Its name on the command line; the file's stem when not given.
    #[serde(default)]
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub panels: Vec<Panel>,
    /// Where it was read from: `builtin:overview.toml` or a path.
    #[serde(skip)]
    pub source: String,
}

/// A dashboard file that could not be read: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, specta::Type)]
#[error("{file}:{line}:{column}: {field}: {message}")]
pub struct FileProblem {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// The field's path, `panels[2].unit`; `.` for the file as a whole.
    pub field: String,
    pub message: String,
}

/// Reads one dashboard file's text; `file` names it in problems.
pub fn parse(file: &str, text: &str) -> std::result::Result<Dashboard, FileProblem> {
    let problem = |span: Option<std::ops::Range<usize>>, field: String, message: String| {
        let at = span.map_or(0, |s| s.start).min(text.len());
        let before = &text[..at];
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1);
        let line = count(before.matches('\n').count());
        let column = count(before.rsplit('\n').next().map_or(0, |l| l.chars().count()));
        FileProblem {
            file: file.to_string(),
            line,
            column,
            field,
            message,
        }
    };
    let deserializer = toml::Deserializer::parse(text)
        .map_err(|e| problem(e.span(), ".".into(), e.message().to_string()))?;
    let mut dashboard: Dashboard = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        problem(inner.span(), field, inner.message().to_string())
    })?;
    let stem = Path::new(file.trim_start_matches("builtin:"))
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(file)
        .to_string();
    if dashboard.id.is_empty() {
        dashboard.id = stem;
    }
    // Where the n-th `"id"` is written: the nearest place to point at
    // for a rule about a panel that serde does not check.
    let written = |id: &str, nth: usize| {
        text.match_indices(&format!("\"{id}\""))
            .nth(nth)
            .map(|(start, _)| start..start)
    };
    let mut seen = BTreeMap::new();
    for (i, panel) in dashboard.panels.iter().enumerate() {
        if seen.insert(panel.id.clone(), i).is_some() {
            return Err(problem(
                written(&panel.id, 1),
                format!("panels[{i}].id"),
                format!("a second panel with id `{}`", panel.id),
            ));
        }
        if panel.queries.is_empty() || panel.queries.iter().any(|q| q.expr.trim().is_empty()) {
            return Err(problem(
                written(&panel.id, 0),
                format!("panels[{i}].queries"),
                "a panel needs at least one query, none empty".into(),
            ));
        }
    }
    dashboard.source = file.to_string();
    Ok(dashboard)
}

/// Every dashboard found, and the files that could not be read.
#[derive(Debug, Default)]
pub struct Catalog {
    pub dashboards: Vec<Dashboard>,
    pub problems: Vec<FileProblem>,
}

impl Catalog {
    /// The built-ins, then the `*.toml` files of `dir` (which need not
    /// exist); a user's dashboard replaces a built-in of the same id.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut catalog = Catalog::default();
        for (name, text) in BUILTIN {
            match parse(&format!("builtin:{name}"), text) {
                Ok(d) => catalog.dashboards.push(d),
                Err(p) => catalog.problems.push(p),
            }
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(catalog),
            Err(source) => {
                return Err(Error::Io {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let shown = path.display().to_string();
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    catalog.problems.push(FileProblem {
                        file: shown,
                        line: 0,
                        column: 0,
                        field: ".".into(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            match parse(&shown, &text) {
                Ok(d) => {
                    catalog.dashboards.retain(|old| old.id != d.id);
                    catalog.dashboards.push(d);
                }
                Err(p) => catalog.problems.push(p),
            }
        }
        Ok(catalog)
    }

    /// The dashboard named `id`.
    pub fn get(&self, id: &str) -> Result<&Dashboard> {
        self.dashboards.iter().find(|d| d.id == id).ok_or_else(|| {
            let known: Vec<&str> = self.dashboards.iter().map(|d| d.id.as_str()).collect();
            Error::invalid(
                "dashboard",
                format!("no dashboard `{id}` (known: {})", known.join(", ")),
            )
        })
    }
}

/// The directory of a user's dashboards, under the config directory.
pub fn user_dir(config_dir: &Path) -> PathBuf {
    config_dir.join("dashboards")
}

/// What one panel got from Prometheus.
#[derive(Debug, Clone, PartialEq)]
pub enum PanelData {
    /// Lines: (legend, points in seconds).
    Lines(Vec<(String, Vec<XY>)>),
    /// Values now: (legend, value).
    Values(Vec<(String, f64)>),
    /// The queries matched no series.
    Empty,
    /// A query failed: its error, as said to the user.
    Failed(String),
}

/// A panel and what it got.
#[derive(Debug, Clone)]
pub struct PanelOutcome {
    pub panel: Panel,
    pub data: PanelData,
}

/// A drawn dashboard.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub svg: String,
    pub panels: Vec<PanelOutcome>,
}

/// How to render: the range, the theme, the width in pixels, and one panel
/// only when named.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub range: Duration,
    pub theme: Theme,
    pub width_px: u32,
    pub panel: Option<String>,
    /// Draw every point of every series instead of about one per pixel:
    /// only to measure what downsampling saves (bench/charts).
    pub raw: bool,
}

impl RenderOptions {
    /// The last `range`, light, [`crate::metrics::DEFAULT_WIDTH_PX`] wide,
    /// every panel.
    pub fn last(range: Duration) -> Self {
        Self {
            range,
            theme: Theme::Light,
            width_px: crate::metrics::DEFAULT_WIDTH_PX,
            panel: None,
            raw: false,
        }
    }
}

const PANEL_HEIGHT: u32 = 300;
const COLUMNS: u32 = 2;

/// Asks Prometheus for each panel's data; a panel's failure is its own.
pub async fn fetch(
    metrics: &Metrics<'_>,
    dashboard: &Dashboard,
    options: &RenderOptions,
) -> Result<Vec<PanelOutcome>> {
    let panels = chosen(dashboard, options)?;
    let columns = if panels.len() == 1 { 1 } else { COLUMNS };
    let (outcomes, _) = fetch_each(metrics, &panels, options, options.width_px / columns).await;
    Ok(outcomes)
}

/// The panels `options` names: all, or the one asked for.
fn chosen<'d>(dashboard: &'d Dashboard, options: &RenderOptions) -> Result<Vec<&'d Panel>> {
    let Some(id) = &options.panel else {
        return Ok(dashboard.panels.iter().collect());
    };
    let found: Vec<&Panel> = dashboard.panels.iter().filter(|p| &p.id == id).collect();
    if found.is_empty() {
        let known: Vec<&str> = dashboard.panels.iter().map(|p| p.id.as_str()).collect();
        return Err(Error::invalid(
            "panel",
            format!(
                "dashboard `{}` has no panel `{id}` (its panels: {})",
                dashboard.id,
                known.join(", ")
            ),
        ));
    }
    Ok(found)
}

/// Each panel's data, asked with a step for `panel_width` pixels, and why
/// Prometheus could not be reached when it could not.
async fn fetch_each(
    metrics: &Metrics<'_>,
    panels: &[&Panel],
    options: &RenderOptions,
    panel_width: u32,
) -> (Vec<PanelOutcome>, Option<String>) {
    let spec = RangeSpec {
        width_px: panel_width.max(100),
        ..RangeSpec::last(options.range)
    };
    // Panels are asked together (a few at a time, so one dashboard never
    // floods Prometheus), their queries one after another: a dashboard takes
    // about as long as its slowest panel, and an unreachable Prometheus
    // costs one time budget, not one per panel.
    // The futures are made first: a closure inside the stream would make
    // the whole future's type too general to be sent between threads.
    let pending: Vec<_> = panels
        .iter()
        .map(|panel| fetch_panel(metrics, panel, &spec))
        .collect();
    let asked: Vec<(PanelOutcome, Option<String>)> = futures_util::stream::iter(pending)
        .buffered(PANELS_AT_ONCE)
        .collect()
        .await;
    let offline = asked.iter().find_map(|(_, offline)| offline.clone());
    let outcomes = asked
        .into_iter()
        .map(|(outcome, _)| match &offline {
            // Every panel says the same "cannot reach", not some of them.
            Some(reason) => PanelOutcome {
                data: PanelData::Failed(reason.clone()),
                ..outcome
            },
            None => outcome,
        })
        .collect();
    (outcomes, offline)
}

/// How many panels' queries are in flight at once.
const PANELS_AT_ONCE: usize = 6;

/// One panel's queries, in order; the outcome, and why Prometheus could
/// not be reached when it could not.
async fn fetch_panel(
    metrics: &Metrics<'_>,
    panel: &Panel,
    spec: &RangeSpec,
) -> (PanelOutcome, Option<String>) {
    let mut lines = Vec::new();
    let mut values = Vec::new();
    let mut failed = None;
    let mut offline = None;
    for target in &panel.queries {
        let asked = match panel.kind {
            PanelKind::TimeSeries => metrics.range(&target.expr, spec).await,
            PanelKind::Stat | PanelKind::StatusGrid => metrics.instant(&target.expr).await,
        };
        match asked {
            Ok(result) => collect(&result, target, &mut lines, &mut values),
            Err(e) => {
                if e.is_offline() {
                    offline = Some(e.to_string());
                }
                failed = Some(e.to_string());
                break;
            }
        }
    }
    let data = match failed {
        Some(message) => PanelData::Failed(message),
        None if panel.kind == PanelKind::TimeSeries && !lines.is_empty() => PanelData::Lines(lines),
        None if !values.is_empty() && panel.kind != PanelKind::TimeSeries => {
            PanelData::Values(values)
        }
        None => PanelData::Empty,
    };
    (
        PanelOutcome {
            panel: panel.clone(),
            data,
        },
        offline,
    )
}

fn collect(
    result: &QueryResult,
    target: &Target,
    lines: &mut Vec<(String, Vec<XY>)>,
    values: &mut Vec<(String, f64)>,
) {
    for series in &result.series {
        let name = legend(target, series);
        let points: Vec<XY> = series
            .points
            .iter()
            .map(|p| (p.at.timestamp_millis() as f64 / 1000.0, p.value))
            .collect();
        if let Some(last) = series.last() {
            values.push((name.clone(), last));
        }
        lines.push((name, points));
    }
}

/// The series' name in the legend: the target's legend with `{label}`
/// replaced, or its labels as PromQL writes them.
fn legend(target: &Target, series: &Series) -> String {
    match &target.legend {
        Some(template) => {
            let mut name = template.clone();
            for (k, v) in &series.labels {
                name = name.replace(&format!("{{{k}}}"), v);
            }
            name
        }
        None => {
            let parts: Vec<String> = series
                .labels
                .iter()
                .filter(|(k, _)| *k != "__name__")
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            if parts.is_empty() {
                target.expr.clone()
            } else {
                format!("{{{}}}", parts.join(", "))
            }
        }
    }
}

/// Draws the panels as one SVG, two to a row (one when there is one).
pub fn draw_svg(
    title: &str,
    outcomes: &[PanelOutcome],
    options: &RenderOptions,
    end: f64,
) -> Result<String> {
    let columns = if outcomes.len() == 1 { 1 } else { COLUMNS };
    let rows = (outcomes.len() as u32).div_ceil(columns).max(1);
    let width = options.width_px.max(200);
    let height = rows * PANEL_HEIGHT + 40;
    let mut svg = String::new();
    let p = options.theme.palette();
    let drawn = (|| -> std::result::Result<(), chart::DrawError> {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&p.background)
            .map_err(|e| chart::DrawError(format!("{e:?}")))?;
        let body = root
            .titled(title, ("sans-serif", 20).into_font().color(&p.text))
            .map_err(|e| chart::DrawError(format!("{e:?}")))?;
        let cells = body.split_evenly((rows as usize, columns as usize));
        let start = end - options.range.as_secs_f64();
        for (cell, outcome) in cells.iter().zip(outcomes) {
            draw_panel(&cell.margin(6, 6, 6, 6), outcome, options, (start, end), &p)?;
        }
        root.present()
            .map_err(|e| chart::DrawError(format!("{e:?}")))
    })();
    drawn.map_err(|e| Error::invalid("chart", e.to_string()))?;
    Ok(svg)
}

/// Fetches and draws `dashboard` over the last `options.range`.
pub async fn render(
    metrics: &Metrics<'_>,
    dashboard: &Dashboard,
    options: &RenderOptions,
) -> Result<Rendered> {
    let end = chrono::Utc::now().timestamp() as f64;
    let panels = fetch(metrics, dashboard, options).await?;
    let svg = draw_svg(&dashboard.title, &panels, options, end)?;
    Ok(Rendered { svg, panels })
}

/// Draws one panel's outcome into `area`, over `start..end` seconds.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    outcome: &PanelOutcome,
    options: &RenderOptions,
    (start, end): (f64, f64),
    p: &chart::Palette,
) -> std::result::Result<(), chart::DrawError> {
    area.fill(&p.panel)
        .map_err(|e| chart::DrawError(format!("{e:?}")))?;
    let panel = &outcome.panel;
    let t = &panel.title;
    match &outcome.data {
        PanelData::Failed(message) => {
            chart::message(area, t, &format!("Query failed: {message}"), true, p)
        }
        PanelData::Empty => {
            chart::message(area, t, "No data: the queries matched no series.", false, p)
        }
        PanelData::Lines(lines) => chart::time_series(
            area,
            t,
            panel.unit,
            &panel.thresholds,
            lines,
            (start, end),
            !options.raw,
            p,
        ),
        PanelData::Values(values) if panel.kind == PanelKind::Stat => {
            chart::stat(area, t, panel.unit, &panel.thresholds, values, p)
        }
        PanelData::Values(values) => {
            chart::status_grid(area, t, panel.unit, &panel.thresholds, values, p)
        }
    }
}

/// Draws one panel on its own, `options.width_px` by `height` pixels,
/// ending at `end` seconds: what the window shows in its grid, and what a
/// panel's export writes.
pub fn draw_panel_svg(
    outcome: &PanelOutcome,
    options: &RenderOptions,
    height: u32,
    end: f64,
) -> Result<String> {
    let mut svg = String::new();
    let p = options.theme.palette();
    let size = (options.width_px.clamp(200, 4000), height.clamp(120, 2000));
    let drawn = (|| -> std::result::Result<(), chart::DrawError> {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let start = end - options.range.as_secs_f64();
        draw_panel(&root, outcome, options, (start, end), &p)?;
        root.present()
            .map_err(|e| chart::DrawError(format!("{e:?}")))
    })();
    drawn.map_err(|e| Error::invalid("chart", e.to_string()))?;
    Ok(svg)
}

/// The ranges the window offers, shortest first (any [`crate::alerts::parse_duration`]
/// text works on the command line).
pub const RANGES: &[&str] = &["15m", "1h", "6h", "24h", "7d"];

/// The range a dashboard opens on in the window (and is fetched ahead in).
pub const DEFAULT_RANGE: &str = "1h";

/// The dashboard the window opens on.
pub const FIRST: &str = "overview";

/// The height of a panel drawn on its own, in pixels.
pub const PANEL_ALONE_HEIGHT: u32 = 260;

/// A dashboard as a list shows it: its id, title and panels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
pub struct DashboardSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    /// Where it was read from: `builtin:overview.toml` or a path.
    pub source: String,
    pub panels: Vec<PanelSummary>,
}

/// A panel's id and title.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
pub struct PanelSummary {
    pub id: String,
    pub title: String,
}

/// The dashboards known, and the files that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
pub struct DashboardList {
    pub dashboards: Vec<DashboardSummary>,
    pub problems: Vec<FileProblem>,
}

impl From<&Catalog> for DashboardList {
    fn from(catalog: &Catalog) -> Self {
        Self {
            dashboards: catalog
                .dashboards
                .iter()
                .map(|d| DashboardSummary {
                    id: d.id.clone(),
                    title: d.title.clone(),
                    description: d.description.clone(),
                    source: d.source.clone(),
                    panels: d
                        .panels
                        .iter()
                        .map(|p| PanelSummary {
                            id: p.id.clone(),
                            title: p.title.clone(),
                        })
                        .collect(),
                })
                .collect(),
            problems: catalog.problems.clone(),
        }
    }
}

/// How a drawn panel came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum PanelState {
    /// It has data, drawn.
    Data,
    /// Its queries matched no series.
    Empty,
    /// A query failed; the panel's `error` says why.
    Failed,
}

/// One panel drawn on its own, as an SVG document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct PanelSvg {
    pub id: String,
    pub title: String,
    pub state: PanelState,
    /// Why a query failed, as said to the user.
    pub error: Option<String>,
    /// How many series (or values) it shows.
    pub series: u32,
    pub svg: String,
}

/// A dashboard's panels, each drawn on its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct Board {
    pub dashboard: String,
    pub title: String,
    pub panels: Vec<PanelSvg>,
    /// Why Prometheus could not be reached, when it could not: the panels
    /// then hold only that error, and the last ones seen are worth more.
    pub offline: Option<String>,
    /// The panels are the last ones seen (kept across restarts), drawn at
    /// `fetched_at`, because Prometheus could not be reached now.
    #[serde(default)]
    pub from_cache: bool,
    pub fetched_at: chrono::DateTime<chrono::Utc>,
}

/// Fetches `dashboard`'s panels over the last `options.range` and draws
/// each on its own, `options.width_px` wide (the step follows that width).
pub async fn render_panels(
    metrics: &Metrics<'_>,
    dashboard: &Dashboard,
    options: &RenderOptions,
) -> Result<Board> {
    let now = chrono::Utc::now();
    let panels = chosen(dashboard, options)?;
    let (outcomes, offline) = fetch_each(metrics, &panels, options, options.width_px).await;
    draw_board(dashboard, options, outcomes, offline, now)
}

/// Draws each panel of `outcomes`, fetched at `now`, on its own.
fn draw_board(
    dashboard: &Dashboard,
    options: &RenderOptions,
    outcomes: Vec<PanelOutcome>,
    offline: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Board> {
    let end = now.timestamp() as f64;
    let mut drawn = Vec::with_capacity(outcomes.len());
    for outcome in &outcomes {
        let (state, error, series) = match &outcome.data {
            PanelData::Lines(lines) => (PanelState::Data, None, lines.len()),
            PanelData::Values(values) => (PanelState::Data, None, values.len()),
            PanelData::Empty => (PanelState::Empty, None, 0),
            PanelData::Failed(e) => (PanelState::Failed, Some(e.clone()), 0),
        };
        drawn.push(PanelSvg {
            id: outcome.panel.id.clone(),
            title: outcome.panel.title.clone(),
            state,
            error,
            series: u32::try_from(series).unwrap_or(u32::MAX),
            svg: draw_panel_svg(outcome, options, PANEL_ALONE_HEIGHT, end)?,
        });
    }
    Ok(Board {
        dashboard: dashboard.id.clone(),
        title: dashboard.title.clone(),
        panels: drawn,
        offline,
        from_cache: false,
        fetched_at: now,
    })
}

/// [`render_panels`], keeping each board Prometheus answered in the local
/// store; when it cannot be reached, the last board kept for the profile's
/// server is returned instead (`from_cache`, with `offline` saying why),
/// so the panels survive a restart of the console. A store that cannot be
/// written or read costs the copy, never the drawing.
pub async fn render_remembered(
    metrics: &Metrics<'_>,
    dashboard: &Dashboard,
    options: &RenderOptions,
) -> Result<Board> {
    render_remembered_from(metrics, dashboard, options, None).await
}

/// [`render_remembered`], drawn from `prefetch` when it holds this
/// profile's panels of this dashboard and range, fetched moments ago.
pub async fn render_remembered_from(
    metrics: &Metrics<'_>,
    dashboard: &Dashboard,
    options: &RenderOptions,
    prefetch: Option<&Prefetch>,
) -> Result<Board> {
    let profile = metrics.session().profile().name.clone();
    let ahead = match (prefetch, &options.panel) {
        (Some(prefetch), None) => prefetch.take(&profile, &dashboard.id, options.range).await,
        _ => None,
    };
    let board = match ahead {
        Some(got) => draw_board(
            dashboard,
            options,
            got.outcomes,
            got.offline,
            got.fetched_at,
        )?,
        None => render_panels(metrics, dashboard, options).await?,
    };
    let session = metrics.session();
    let store = session.store();
    let server = crate::store::server_key(&session.profile().admin_url);
    match &board.offline {
        None => {
            let saved = match serde_json::to_string(&board) {
                Ok(json) => {
                    store
                        .save_board(&server, &dashboard.id, &json, board.fetched_at)
                        .await
                }
                Err(e) => Err(Error::Render {
                    message: e.to_string(),
                }),
            };
            if let Err(e) = saved {
                tracing::warn!(dashboard = %dashboard.id, error = %e, "cannot keep the drawn panels");
            }
            Ok(board)
        }
        Some(reason) => {
            let kept = match store.load_board(&server, &dashboard.id).await {
                Ok(kept) => kept.and_then(|json| serde_json::from_str::<Board>(&json).ok()),
                Err(e) => {
                    tracing::warn!(dashboard = %dashboard.id, error = %e, "cannot read the kept panels");
                    None
                }
            };
            Ok(match kept {
                Some(last) => Board {
                    offline: Some(reason.clone()),
                    from_cache: true,
                    ..last
                },
                None => board,
            })
        }
    }
}

/// A dashboard's panels fetched ahead of their drawing: while a window
/// starts, the first view's data is asked for before the page can ask, and
/// the page's first render of the same profile, dashboard and range is
/// drawn from it (at whatever width) if it is at most [`Prefetch::FRESH`]
/// old. A render that comes while the fetch is under way waits for it
/// rather than asking Prometheus twice. Taken once.
#[derive(Debug, Clone, Default)]
pub struct Prefetch {
    slot: std::sync::Arc<tokio::sync::Mutex<Option<Prefetched>>>,
}

#[derive(Debug)]
struct Prefetched {
    profile: String,
    dashboard: String,
    range: Duration,
    taken_at: std::time::Instant,
    outcomes: Vec<PanelOutcome>,
    offline: Option<String>,
    fetched_at: chrono::DateTime<chrono::Utc>,
}

impl Prefetch {
    /// How old prefetched panels may be and still be drawn.
    pub const FRESH: Duration = Duration::from_secs(10);

    /// Fetches every panel of `dashboard` over `options.range` for the
    /// session of `metrics`, holding the slot until done.
    pub async fn fetch(
        &self,
        metrics: &Metrics<'_>,
        dashboard: &Dashboard,
        options: &RenderOptions,
    ) {
        let mut slot = self.slot.lock().await;
        let fetched_at = chrono::Utc::now();
        let panels: Vec<&Panel> = dashboard.panels.iter().collect();
        let (outcomes, offline) = fetch_each(metrics, &panels, options, options.width_px).await;
        *slot = Some(Prefetched {
            profile: metrics.session().profile().name.clone(),
            dashboard: dashboard.id.clone(),
            range: options.range,
            taken_at: std::time::Instant::now(),
            outcomes,
            offline,
            fetched_at,
        });
    }

    async fn take(&self, profile: &str, dashboard: &str, range: Duration) -> Option<Prefetched> {
        let mut slot = self.slot.lock().await;
        if slot
            .as_ref()
            .is_some_and(|p| p.taken_at.elapsed() > Self::FRESH)
        {
            *slot = None;
        }
        let fits = slot
            .as_ref()
            .is_some_and(|p| p.profile == profile && p.dashboard == dashboard && p.range == range);
        if fits {
            slot.take()
        } else {
            None
        }
    }
}

/// The picture formats a chart is exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    /// The format a file name asks for by its extension, if any.
    pub fn of_path(path: &Path) -> Option<ImageFormat> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("svg") {
            Some(ImageFormat::Svg)
        } else if ext.eq_ignore_ascii_case("png") {
            Some(ImageFormat::Png)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }

    /// The bytes of `svg` in this format; a PNG is drawn at twice the
    /// SVG's size, sharp on high-density screens and in documents.
    pub fn encode(self, svg: &str) -> Result<Vec<u8>> {
        match self {
            ImageFormat::Svg => Ok(svg.as_bytes().to_vec()),
            ImageFormat::Png => png::from_svg(svg, 2.0),
        }
    }
}

/// Writes a drawn panel into `dir` as `<dashboard>-<panel>-<time>.<svg|png>`,
/// never over a file already there; returns where it went.
pub fn export_panel(
    dir: &Path,
    board: &Board,
    panel: &PanelSvg,
    format: ImageFormat,
) -> Result<PathBuf> {
    let bytes = format.encode(&panel.svg)?;
    let ext = format.extension();
    let safe = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(60)
            .collect()
    };
    let stem = format!(
        "{}-{}-{}",
        safe(&board.dashboard),
        safe(&panel.id),
        board.fetched_at.format("%Y%m%d-%H%M%S")
    );
    let io = |path: &Path, source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for n in 0..1000 {
        let name = if n == 0 {
            format!("{stem}.{ext}")
        } else {
            format!("{stem}-{n}.{ext}")
        };
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path);
        match file {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(&bytes).map_err(|e| io(&path, e))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&path, e)),
        }
    }
    Err(Error::invalid(
        "file",
        format!("too many exports named {stem} in {}", dir.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(kind: PanelKind, data: PanelData) -> PanelOutcome {
        PanelOutcome {
            panel: Panel {
                id: "p".into(),
                title: "Requests".into(),
                kind,
                queries: vec![Target {
                    expr: "up".into(),
                    legend: None,
                }],
                unit: Unit::RequestsPerSecond,
                thresholds: Thresholds::default(),
            },
            data,
        }
    }

    #[test]
    fn a_panel_drawn_alone_has_its_lines_or_its_error() {
        let options = RenderOptions {
            width_px: 480,
            ..RenderOptions::last(Duration::from_secs(3600))
        };
        let end = 1_700_000_000.0;
        let points: Vec<XY> = (0..60)
            .map(|i| (end - 3600.0 + i as f64 * 60.0, i as f64))
            .collect();
        let lines = outcome(
            PanelKind::TimeSeries,
            PanelData::Lines(vec![("api".into(), points)]),
        );
        let svg = draw_panel_svg(&lines, &options, PANEL_ALONE_HEIGHT, end).expect("drawn");
        assert!(svg.contains("<path") || svg.contains("<polyline"), "{svg}");
        assert!(svg.contains("width=\"480\""), "{svg}");

        let failed = outcome(
            PanelKind::Stat,
            PanelData::Failed("parse error at char 3".into()),
        );
        let svg = draw_panel_svg(&failed, &options, PANEL_ALONE_HEIGHT, end).expect("drawn");
        assert!(svg.contains("parse error at char 3"), "{svg}");
        assert!(!svg.contains("<polyline"), "{svg}");
    }

    #[test]
    fn an_export_never_writes_over_an_earlier_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let panel = PanelSvg {
            id: "golden/../rate".into(),
            title: "Rate".into(),
            state: PanelState::Data,
            error: None,
            series: 1,
            svg: "<svg/>".into(),
        };
        let board = Board {
            dashboard: "overview".into(),
            title: "Overview".into(),
            panels: vec![panel.clone()],
            offline: None,
            from_cache: false,
            fetched_at: chrono::Utc::now(),
        };
        let first = export_panel(dir.path(), &board, &panel, ImageFormat::Svg).expect("first");
        let second = export_panel(dir.path(), &board, &panel, ImageFormat::Svg).expect("second");
        assert_ne!(first, second);
        for path in [&first, &second] {
            assert_eq!(path.parent(), Some(dir.path()));
            assert_eq!(std::fs::read_to_string(path).expect("read"), "<svg/>");
        }
        let name = first
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(name.starts_with("overview-golden----rate-"), "{name}");
    }

    #[test]
    fn a_png_export_is_the_panels_drawing_as_a_png_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lines = outcome(
            PanelKind::TimeSeries,
            PanelData::Lines(vec![("api".into(), vec![(0.0, 1.0), (60.0, 2.0)])]),
        );
        let options = RenderOptions {
            width_px: 300,
            theme: Theme::Dark,
            ..RenderOptions::last(Duration::from_secs(3600))
        };
        let panel = PanelSvg {
            id: "rate".into(),
            title: "Rate".into(),
            state: PanelState::Data,
            error: None,
            series: 1,
            svg: draw_panel_svg(&lines, &options, PANEL_ALONE_HEIGHT, 60.0).expect("drawn"),
        };
        let board = Board {
            dashboard: "overview".into(),
            title: "Overview".into(),
            panels: vec![panel.clone()],
            offline: None,
            from_cache: false,
            fetched_at: chrono::Utc::now(),
        };
        let path = export_panel(dir.path(), &board, &panel, ImageFormat::Png).expect("exported");
        assert_eq!(path.extension().and_then(|e| e.to_str()), Some("png"));
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        assert_eq!(width, 600, "drawn at twice the panel's 300 px");
    }

    #[test]
    fn the_builtin_dashboards_parse() {
        let catalog = Catalog::load(Path::new("/nonexistent/opsdeck/dashboards")).expect("load");
        assert!(catalog.problems.is_empty(), "{:?}", catalog.problems);
        let overview = catalog.get("overview").expect("overview");
        let kinds: Vec<PanelKind> = overview.panels.iter().map(|p| p.kind).collect();
        for kind in [
            PanelKind::Stat,
            PanelKind::TimeSeries,
            PanelKind::StatusGrid,
        ] {
            assert!(kinds.contains(&kind), "{kind:?}");
        }
    }

    #[test]
    fn a_bad_field_is_reported_with_its_line_and_path() {
        let text = "title = \"Mine\"\n\n[[panels]]\nid = \"a\"\ntitle = \"A\"\nkind = \"stat\"\nqueries = [{ expr = \"up\" }]\n\n[[panels]]\nid = \"b\"\ntitle = \"B\"\nkind = \"pie\"\nqueries = [{ expr = \"up\" }]\n";
        let problem = parse("mine.toml", text).expect_err("a pie is no kind");
        assert_eq!(problem.file, "mine.toml");
        assert_eq!(problem.line, 12, "{problem}");
        assert_eq!(problem.field, "panels[1].kind", "{problem}");
        assert!(problem.message.contains("pie"), "{problem}");

        let broken = parse("x.toml", "title = \"x\"\npanels = [\n").expect_err("not TOML");
        assert!(broken.line >= 2, "{broken}");

        let twice = text
            .replace("id = \"b\"", "id = \"a\"")
            .replace("\"pie\"", "\"stat\"");
        let problem = parse("mine.toml", &twice).expect_err("two panels named a");
        assert_eq!(
            (problem.line, problem.field.as_str()),
            (10, "panels[1].id"),
            "{problem}"
        );
    }

    #[test]
    fn a_broken_user_file_leaves_the_others_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("good.toml"),
            "title = \"Good\"\n[[panels]]\nid = \"p\"\ntitle = \"P\"\nkind = \"stat\"\nunit = \"bytes\"\nqueries = [{ expr = \"up\" }]\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("bad.toml"),
            "title = \"Bad\"\n[[panels]]\nid = \"p\"\ntitle = \"P\"\nkind = \"stat\"\nunit = \"furlongs\"\nqueries = [{ expr = \"up\" }]\n",
        )
        .expect("write");
        let catalog = Catalog::load(dir.path()).expect("load");
        assert!(catalog.get("good").is_ok());
        assert!(catalog.get("overview").is_ok());
        assert!(catalog.get("bad").is_err());
        let problem = &catalog.problems[0];
        assert!(problem.file.ends_with("bad.toml"), "{problem}");
        assert_eq!(
            (problem.line, problem.field.as_str()),
            (6, "panels[0].unit")
        );
    }

    #[test]
    fn values_are_shown_in_their_units() {
        assert_eq!(Unit::Percent.format(0.9991), "99.91%");
        assert_eq!(Unit::Seconds.format(0.25), "250 ms");
        assert_eq!(Unit::Seconds.format(2.0), "2 s");
        assert_eq!(Unit::Bytes.format(3.0 * 1024.0 * 1024.0), "3 MiB");
        assert_eq!(Unit::Up.format(0.0), "down");
        assert_eq!(Unit::RequestsPerSecond.format(1234.0), "1234 req/s");
        assert_eq!(Unit::RequestsPerSecond.format(0.0125), "0.0125 req/s");
        assert_eq!(Unit::None.format(0.5), "0.5");
        assert_eq!(Unit::None.format(0.0), "0");
    }

    fn panel(id: &str, kind: PanelKind) -> Panel {
        Panel {
            id: id.into(),
            title: format!("Panel {id}"),
            kind,
            queries: vec![Target {
                expr: "up".into(),
                legend: None,
            }],
            unit: Unit::Seconds,
            thresholds: Thresholds {
                warn: Some(0.5),
                critical: Some(1.0),
                below: false,
            },
        }
    }

    #[test]
    fn a_long_series_is_downsampled_and_a_failed_panel_shows_its_error() {
        let end = 1_700_000_000.0;
        let points: Vec<XY> = (0..100_000)
            .map(|i| (end - 3_600.0 + i as f64 * 0.036, (i % 100) as f64 / 100.0))
            .collect();
        let outcomes = vec![
            PanelOutcome {
                panel: panel("lines", PanelKind::TimeSeries),
                data: PanelData::Lines(vec![("api <p95>".into(), points)]),
            },
            PanelOutcome {
                panel: panel("broken", PanelKind::Stat),
                data: PanelData::Failed("Prometheus refused the query".into()),
            },
            PanelOutcome {
                panel: panel("grid", PanelKind::StatusGrid),
                data: PanelData::Values(
                    (0..100)
                        .map(|i| (format!("job-{i}"), f64::from(i)))
                        .collect(),
                ),
            },
        ];
        for theme in [Theme::Light, Theme::Dark] {
            let options = RenderOptions {
                theme,
                width_px: 1_200,
                ..RenderOptions::last(Duration::from_secs(3_600))
            };
            let svg = draw_svg("Test", &outcomes, &options, end).expect("svg");
            assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
            assert!(svg.contains("Query failed: Prometheus refused the query"));
            assert!(svg.contains("api &lt;p95&gt;"), "the legend, escaped");
            assert!(
                svg.contains("250 ms") || svg.contains("500 ms"),
                "y axis in units"
            );
            assert!(
                svg.contains("job-0") && !svg.contains("job-99"),
                "tiles that fit"
            );
            assert!(svg.contains(" more\n"), "the rest counted");
            let coordinates = svg.matches(',').count();
            assert!(coordinates < 5_000, "{coordinates} coordinates drawn");
        }
    }
}
