//! PNG pictures of the charts: the SVG the dashboard renderer draws,
//! rasterised by resvg, so a PNG and an SVG export of a panel are the same
//! drawing. Text is set in a font found on the system; without one there
//! is no PNG, rather than a chart with its labels silently missing.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use crate::error::{Error, Result};

/// The largest picture drawn, in pixels per side: a bound on memory
/// (4 bytes a pixel) whatever the SVG asks for.
pub const MAX_SIDE_PX: u32 = 8192;

/// Families tried for `sans-serif`, the one the charts name, in order.
const SANS_SERIF: &[&str] = &["DejaVu Sans", "Noto Sans", "Liberation Sans", "Cantarell"];

/// The system's fonts, read once per process (reading them takes tens of
/// milliseconds), with `sans-serif` pointed at one that exists.
fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_system_fonts();
            let families: Vec<String> = db
                .faces()
                .flat_map(|face| face.families.iter().map(|(name, _)| name.clone()))
                .collect();
            let sans = SANS_SERIF
                .iter()
                .find(|want| families.iter().any(|have| have == *want))
                .map(|name| name.to_string())
                .or_else(|| families.first().cloned());
            if let Some(sans) = sans {
                db.set_sans_serif_family(sans);
            }
            Arc::new(db)
        })
        .clone()
}

/// Draws `svg` as a PNG, `scale` times its own size (2.0 for a sharp
/// picture on a high-density screen).
pub fn from_svg(svg: &str, scale: f32) -> Result<Vec<u8>> {
    let fail = |message: String| Error::Render { message };
    if !(scale.is_finite() && scale > 0.0) {
        return Err(fail(format!("the scale must be above 0, not {scale}")));
    }
    let fontdb = fonts();
    if fontdb.is_empty() {
        return Err(fail(
            "no font is installed to set the chart's text in (install one, such as DejaVu Sans)"
                .to_string(),
        ));
    }
    let options = usvg::Options {
        fontdb,
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)
        .map_err(|e| fail(format!("the chart is not a readable SVG: {e}")))?;
    let size = tree.size();
    let side = |v: f32| (v * scale).ceil();
    let (width, height) = (side(size.width()), side(size.height()));
    if width > MAX_SIDE_PX as f32 || height > MAX_SIDE_PX as f32 {
        return Err(fail(format!(
            "a {width}x{height} picture is larger than {MAX_SIDE_PX} pixels a side"
        )));
    }
    let mut pixmap = tiny_skia::Pixmap::new(width as u32, height as u32)
        .ok_or_else(|| fail(format!("cannot draw a {width}x{height} picture")))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| fail(format!("cannot encode the PNG: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#ff0000"/><text x="2" y="15" font-family="sans-serif" font-size="12">5xx</text></svg>"##;

    fn dimensions(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
        (word(16), word(20))
    }

    #[test]
    fn a_png_has_the_svg_size_times_the_scale() {
        let png = from_svg(SQUARE, 2.0).expect("drawn");
        assert_eq!(dimensions(&png), (80, 40));
    }

    #[test]
    fn the_charts_text_is_drawn_in_a_system_font() {
        let without_text = SQUARE.replace("5xx", "");
        let with = from_svg(SQUARE, 1.0).expect("drawn");
        let without = from_svg(&without_text, 1.0).expect("drawn");
        assert_ne!(with, without, "the label left no pixels: no font was used");
    }

    #[test]
    fn a_broken_svg_or_a_huge_one_is_refused_with_the_reason() {
        let broken = from_svg("<svg", 1.0).expect_err("refused");
        assert!(
            broken.to_string().contains("not a readable SVG"),
            "{broken}"
        );
        let huge = from_svg(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="10"/>"#,
            1.0,
        )
        .expect_err("refused");
        assert!(huge.to_string().contains("larger than"), "{huge}");
        assert!(from_svg(SQUARE, 0.0).is_err());
    }
}
