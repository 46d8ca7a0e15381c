//! `opsdeck dashboards list` and `opsdeck dashboards render`: the built-in
//! and the user's dashboards, drawn to an SVG file from the profile's
//! Prometheus. A dashboard file with errors is named with its line and
//! field, and the others are still listed.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use opsdeck_core::dashboards::{self, Catalog, ImageFormat, PanelData, RenderOptions, Theme};
use opsdeck_core::metrics::{parse_length, DEFAULT_WIDTH_PX};
use opsdeck_core::{Console, Error};
use serde::Serialize;

use crate::error::Result;
use crate::output::{Column, Output};

#[derive(Subcommand)]
pub enum DashboardsCommand {
    /// The dashboards known: built-in and from the config directory's
    /// `dashboards/` (files with errors are named on stderr).
    List,
    /// Draw a dashboard (or one panel of it) over the last RANGE to an SVG
    /// or PNG file.
    Render {
        /// The dashboard's id, as `dashboards list` shows it.
        dashboard: String,
        /// Draw only this panel.
        #[arg(long, value_name = "ID")]
        panel: Option<String>,
        /// The range drawn: the last RANGE (30m, 1h, 7d).
        #[arg(long, value_name = "RANGE", default_value = "1h", value_parser = range)]
        range: Duration,
        /// The file to write: `.svg` or `.png` (drawn at twice the width).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = ThemeArg::Light)]
        theme: ThemeArg,
        /// The picture's width in pixels.
        #[arg(long, value_name = "PIXELS", default_value_t = DEFAULT_WIDTH_PX * 6 / 5,
              value_parser = clap::value_parser!(u32).range(200..=8000))]
        width: u32,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ThemeArg {
    Light,
    Dark,
}

fn range(text: &str) -> std::result::Result<Duration, String> {
    parse_length("range", text).map_err(|e| match e {
        Error::InvalidInput { message, .. } => message,
        other => other.to_string(),
    })
}

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    title: &'a str,
    panels: Vec<&'a str>,
    source: &'a str,
}

#[derive(Serialize)]
struct PanelReport<'a> {
    id: &'a str,
    /// `data`, `empty` or `failed`.
    state: &'static str,
    series: usize,
    error: Option<&'a str>,
}

pub async fn run(
    console: &Console,
    out: &Output,
    profile: Option<&str>,
    cmd: DashboardsCommand,
) -> Result<()> {
    let catalog = Catalog::load(&dashboards::user_dir(&console.paths().config_dir))?;
    for problem in &catalog.problems {
        out.note(&format!("warning: dashboard file not loaded: {problem}"));
    }
    match cmd {
        DashboardsCommand::List => {
            if out.json {
                let listed: Vec<Listed> = catalog
                    .dashboards
                    .iter()
                    .map(|d| Listed {
                        id: &d.id,
                        title: &d.title,
                        panels: d.panels.iter().map(|p| p.id.as_str()).collect(),
                        source: &d.source,
                    })
                    .collect();
                out.json(&serde_json::json!({
                    "dashboards": listed,
                    "problems": catalog.problems,
                }));
                return Ok(());
            }
            let rows = catalog
                .dashboards
                .iter()
                .map(|d| {
                    vec![
                        d.id.clone(),
                        d.title.clone(),
                        d.panels.len().to_string(),
                        d.source.clone(),
                    ]
                })
                .collect();
            out.table(
                &[
                    Column::free_text("ID", u8::MAX),
                    Column::free_text("TITLE", 3),
                    Column::number("PANELS", 2),
                    Column::free_text("SOURCE", 1),
                ],
                rows,
            );
            Ok(())
        }
        DashboardsCommand::Render {
            dashboard,
            panel,
            range,
            out: file,
            theme,
            width,
        } => {
            let Some(format) = ImageFormat::of_path(&file) else {
                return Err(Error::InvalidInput {
                    field: "out".into(),
                    message: format!(
                        "`{}`: name the file .svg or .png, the formats drawn",
                        file.display()
                    ),
                }
                .into());
            };
            let dashboard = catalog.get(&dashboard)?;
            let session = console.session(profile).await?;
            let metrics = session.metrics()?;
            let options = RenderOptions {
                range,
                theme: match theme {
                    ThemeArg::Light => Theme::Light,
                    ThemeArg::Dark => Theme::Dark,
                },
                width_px: width,
                panel,
                raw: false,
            };
            let rendered = dashboards::render(&metrics, dashboard, &options).await?;
            let bytes = format.encode(&rendered.svg)?;
            std::fs::write(&file, bytes).map_err(|source| Error::Io {
                path: file.clone(),
                source,
            })?;
            let reports: Vec<PanelReport> = rendered
                .panels
                .iter()
                .map(|p| match &p.data {
                    PanelData::Lines(lines) => report(&p.panel.id, "data", lines.len(), None),
                    PanelData::Values(values) => report(&p.panel.id, "data", values.len(), None),
                    PanelData::Empty => report(&p.panel.id, "empty", 0, None),
                    PanelData::Failed(e) => report(&p.panel.id, "failed", 0, Some(e)),
                })
                .collect();
            if out.json {
                out.json(&serde_json::json!({
                    "dashboard": dashboard.id,
                    "file": file,
                    "panels": reports,
                }));
                return Ok(());
            }
            for r in &reports {
                let said = match (r.state, r.error) {
                    (_, Some(e)) => format!("failed: {e}"),
                    ("empty", _) => "no data".to_string(),
                    _ => format!("{} series", r.series),
                };
                out.note(&format!("{}: {said}", r.id));
            }
            out.note(&format!("wrote {}", file.display()));
            Ok(())
        }
    }
}

fn report<'a>(
    id: &'a str,
    state: &'static str,
    series: usize,
    error: Option<&'a str>,
) -> PanelReport<'a> {
    PanelReport {
        id,
        state,
        series,
        error,
    }
}
