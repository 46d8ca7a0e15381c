//! Panels drawn with `plotters` on any of its backends (SVG here): time
//! series with axes in the panel's unit, a legend and threshold bands;
//! stat values; status grids; a panel's error in place of its data. A series
//! with more points than the plot has pixels is cut with LTTB first.
//! What is drawn is decided by the caller; this module only draws it.

use chrono::DateTime;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor;

use super::lttb::{downsample_runs, XY};
use super::{Thresholds, Unit};

/// The colours of a theme.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub background: RGBColor,
    pub panel: RGBColor,
    pub text: RGBColor,
    pub muted: RGBColor,
    pub grid: RGBColor,
    pub ok: RGBColor,
    pub warn: RGBColor,
    pub critical: RGBColor,
    pub lines: [RGBColor; 6],
}

/// Light or dark, as the window is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, specta::Type,
)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

impl Theme {
    pub fn palette(self) -> Palette {
        match self {
            Theme::Light => Palette {
                background: RGBColor(0xf4, 0xf5, 0xf7),
                panel: RGBColor(0xff, 0xff, 0xff),
                text: RGBColor(0x1f, 0x23, 0x28),
                muted: RGBColor(0x65, 0x6d, 0x76),
                grid: RGBColor(0xe1, 0xe4, 0xe8),
                ok: RGBColor(0x1a, 0x7f, 0x37),
                warn: RGBColor(0xbf, 0x87, 0x00),
                critical: RGBColor(0xcf, 0x22, 0x2e),
                lines: [
                    RGBColor(0x09, 0x69, 0xda),
                    RGBColor(0x82, 0x50, 0xdf),
                    RGBColor(0x1b, 0x7c, 0x83),
                    RGBColor(0xbc, 0x4c, 0x00),
                    RGBColor(0xbf, 0x39, 0x89),
                    RGBColor(0x4d, 0x2d, 0x00),
                ],
            },
            Theme::Dark => Palette {
                background: RGBColor(0x0d, 0x11, 0x17),
                panel: RGBColor(0x16, 0x1b, 0x22),
                text: RGBColor(0xe6, 0xed, 0xf3),
                muted: RGBColor(0x8d, 0x96, 0xa0),
                grid: RGBColor(0x30, 0x36, 0x3d),
                ok: RGBColor(0x3f, 0xb9, 0x50),
                warn: RGBColor(0xd2, 0x99, 0x22),
                critical: RGBColor(0xf8, 0x51, 0x49),
                lines: [
                    RGBColor(0x58, 0xa6, 0xff),
                    RGBColor(0xbc, 0x8c, 0xff),
                    RGBColor(0x39, 0xc5, 0xcf),
                    RGBColor(0xf0, 0x88, 0x3e),
                    RGBColor(0xf7, 0x78, 0xba),
                    RGBColor(0xe3, 0xb3, 0x41),
                ],
            },
        }
    }
}

/// How a value stands against a panel's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Critical,
    Unknown,
}

impl Thresholds {
    /// Where `value` stands: past `critical`, past `warn`, or fine
    /// ("past" is below when `below` is set).
    pub fn level(&self, value: f64) -> Level {
        if !value.is_finite() {
            return Level::Unknown;
        }
        let past = |limit: f64| {
            if self.below {
                value < limit
            } else {
                value > limit
            }
        };
        match (self.warn, self.critical) {
            (_, Some(c)) if past(c) => Level::Critical,
            (Some(w), _) if past(w) => Level::Warn,
            _ => Level::Ok,
        }
    }
}

fn level_colour(level: Level, p: &Palette) -> RGBColor {
    match level {
        Level::Ok => p.ok,
        Level::Warn => p.warn,
        Level::Critical => p.critical,
        Level::Unknown => p.muted,
    }
}

/// A drawing failed (a backend error, never the data).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct DrawError(pub String);

fn draw_err<E: std::fmt::Debug>(e: E) -> DrawError {
    DrawError(format!("{e:?}"))
}

type Area<'a, DB> = DrawingArea<DB, Shift>;

/// A time series panel: `series` as (legend, points in seconds), over
/// `start..end` seconds. Each series is cut to the plot's width in points
/// unless `downsample` is false (only to measure what that saves).
#[allow(clippy::too_many_arguments)]
pub fn time_series<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    title: &str,
    unit: Unit,
    thresholds: &Thresholds,
    series: &[(String, Vec<XY>)],
    (start, end): (f64, f64),
    downsample: bool,
    p: &Palette,
) -> Result<(), DrawError> {
    let (width, _) = area.dim_in_pixel();
    let plot_width = if downsample {
        width.saturating_sub(80).max(10) as usize
    } else {
        usize::MAX
    };
    let drawn: Vec<(&str, Vec<Vec<XY>>)> = series
        .iter()
        .map(|(name, points)| (name.as_str(), downsample_runs(points, plot_width)))
        .collect();
    let values = drawn.iter().flat_map(|(_, runs)| runs.iter().flatten());
    let (mut low, mut high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &(_, y)| {
        (l.min(y), h.max(y))
    });
    // A threshold far from the data would flatten it: the axis reaches a
    // threshold only when the data comes within half of it.
    for limit in [thresholds.warn, thresholds.critical].into_iter().flatten() {
        let near = if thresholds.below {
            low.is_finite() && low <= limit * 2.0
        } else {
            high.is_finite() && high >= limit / 2.0
        };
        if near {
            low = low.min(limit);
            high = high.max(limit);
        }
    }
    if !low.is_finite() || !high.is_finite() {
        (low, high) = (0.0, 1.0);
    }
    if unit.starts_at_zero() {
        low = low.min(0.0);
    }
    let pad = ((high - low) * 0.08).max(high.abs() * 0.05).max(1e-9);
    let (low, high) = (if low == 0.0 { 0.0 } else { low - pad }, high + pad);
    let end = if end > start { end } else { start + 1.0 };
    let font = |size: u32, colour: RGBColor| ("sans-serif", size).into_font().color(&colour);
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(15, p.text))
        .margin(10)
        .x_label_area_size(26)
        .y_label_area_size(62)
        .build_cartesian_2d(start..end, low..high)
        .map_err(draw_err)?;
    let long = end - start > 2.0 * 86_400.0;
    let x_label = |x: &f64| {
        DateTime::from_timestamp(*x as i64, 0)
            .map(|t| {
                if long {
                    t.format("%m-%d %H:%M").to_string()
                } else {
                    t.format("%H:%M").to_string()
                }
            })
            .unwrap_or_default()
    };
    let y_label = |y: &f64| unit.format(*y);
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .y_desc(unit.axis_name())
        .x_desc("UTC")
        .axis_style(p.muted)
        .bold_line_style(p.grid)
        .light_line_style(p.panel)
        .label_style(font(11, p.muted))
        .axis_desc_style(font(11, p.muted))
        .draw()
        .map_err(draw_err)?;
    // Bands: warn to critical, and critical to the edge, on the bad side.
    let edge = if thresholds.below { low } else { high };
    let bands = [
        (thresholds.warn, thresholds.critical.unwrap_or(edge), p.warn),
        (thresholds.critical, edge, p.critical),
    ];
    for (from, to, colour) in bands {
        // Within the axis, or not drawn at all.
        let from = from.map(|f| f.clamp(low, high));
        let to = to.clamp(low, high);
        if let Some(from) = from.filter(|f| f != &to) {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(start, from), (end, to)],
                    colour.mix(0.12).filled(),
                )))
                .map_err(draw_err)?;
        }
    }
    for (i, (name, runs)) in drawn.iter().enumerate() {
        let colour = p.lines[i % p.lines.len()];
        let style = colour.stroke_width(2);
        for (j, run) in runs.iter().enumerate() {
            let drawn = chart
                .draw_series(LineSeries::new(run.iter().copied(), style))
                .map_err(draw_err)?;
            if j == 0 {
                drawn.label(name.to_string()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            }
        }
    }
    if drawn.iter().any(|(_, runs)| !runs.is_empty()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(p.panel.mix(0.85))
            .border_style(p.grid)
            .label_font(font(11, p.text))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

/// A stat panel: each value big, coloured by its thresholds.
pub fn stat<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    title: &str,
    unit: Unit,
    thresholds: &Thresholds,
    values: &[(String, f64)],
    p: &Palette,
) -> Result<(), DrawError> {
    let inner = caption(area, title, p)?;
    let (w, h) = inner.dim_in_pixel();
    let count = values.len().clamp(1, 4);
    let cell = w as i32 / count as i32;
    for (i, (name, value)) in values.iter().take(4).enumerate() {
        let colour = level_colour(thresholds.level(*value), p);
        let x = cell * i as i32 + cell / 2;
        let big = ("sans-serif", 34)
            .into_font()
            .color(&colour)
            .pos(text_anchor::Pos::new(
                text_anchor::HPos::Center,
                text_anchor::VPos::Center,
            ));
        inner
            .draw(&Text::new(unit.format(*value), (x, h as i32 / 2 - 8), big))
            .map_err(draw_err)?;
        let small = ("sans-serif", 12)
            .into_font()
            .color(&p.muted)
            .pos(text_anchor::Pos::new(
                text_anchor::HPos::Center,
                text_anchor::VPos::Center,
            ));
        inner
            .draw(&Text::new(name.clone(), (x, h as i32 / 2 + 24), small))
            .map_err(draw_err)?;
    }
    if values.len() > 4 {
        let more = ("sans-serif", 12).into_font().color(&p.muted);
        inner
            .draw(&Text::new(
                format!("and {} more: narrow the query", values.len() - 4),
                (8, h as i32 - 18),
                more,
            ))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// A status grid: one tile per series, coloured by its thresholds.
pub fn status_grid<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    title: &str,
    unit: Unit,
    thresholds: &Thresholds,
    values: &[(String, f64)],
    p: &Palette,
) -> Result<(), DrawError> {
    let inner = caption(area, title, p)?;
    let (w, h) = inner.dim_in_pixel();
    let tile_w = 150;
    let tile_h = 46;
    let per_row = (w as i32 / (tile_w + 8)).max(1);
    // Tiles past the panel's last full row are counted, not drawn.
    let rows = ((h as i32 - 24) / (tile_h + 8)).max(1);
    let room = (per_row * rows) as usize;
    let shown = if values.len() > room {
        room - 1
    } else {
        values.len()
    };
    if shown < values.len() {
        let more = ("sans-serif", 12).into_font().color(&p.muted);
        inner
            .draw(&Text::new(
                format!("and {} more", values.len() - shown),
                (8, h as i32 - 18),
                more,
            ))
            .map_err(draw_err)?;
    }
    for (i, (name, value)) in values.iter().take(shown).enumerate() {
        let (row, col) = (i as i32 / per_row, i as i32 % per_row);
        let (x, y) = (col * (tile_w + 8) + 4, row * (tile_h + 8) + 4);
        let colour = level_colour(thresholds.level(*value), p);
        inner
            .draw(&Rectangle::new(
                [(x, y), (x + tile_w, y + tile_h)],
                colour.mix(0.85).filled(),
            ))
            .map_err(draw_err)?;
        let style = ("sans-serif", 12).into_font().color(&WHITE);
        inner
            .draw(&Text::new(clip(name, 22), (x + 8, y + 8), style.clone()))
            .map_err(draw_err)?;
        inner
            .draw(&Text::new(unit.format(*value), (x + 8, y + 26), style))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// A panel that has no data to show, and says why.
pub fn message<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    title: &str,
    text: &str,
    is_error: bool,
    p: &Palette,
) -> Result<(), DrawError> {
    let inner = caption(area, title, p)?;
    let colour = if is_error { p.critical } else { p.muted };
    let style = ("sans-serif", 13).into_font().color(&colour);
    for (i, line) in wrap(text, 80).iter().take(6).enumerate() {
        inner
            .draw(&Text::new(
                line.clone(),
                (8, 10 + 18 * i as i32),
                style.clone(),
            ))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// The panel's title on top; the area under it.
fn caption<'a, DB: DrawingBackend>(
    area: &Area<'a, DB>,
    title: &str,
    p: &Palette,
) -> Result<Area<'a, DB>, DrawError> {
    area.titled(title, ("sans-serif", 15).into_font().color(&p.text))
        .map(|inner| inner.margin(6, 6, 10, 10))
        .map_err(draw_err)
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + word.chars().count() + 1 > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
