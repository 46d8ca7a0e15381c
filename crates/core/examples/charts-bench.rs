//! Measures one time series panel of 100,000 points drawn to SVG: cut to
//! the plot's width with LTTB first, against every point drawn. Run by
//! bench/charts; prints one line per measure and the ratios.

use std::time::{Duration, Instant};

use opsdeck_core::dashboards::lttb::{lttb, XY};
use opsdeck_core::dashboards::{
    draw_svg, Panel, PanelData, PanelKind, PanelOutcome, RenderOptions, Target, Thresholds, Unit,
};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let points: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(9), |a| a.parse())?;
    let end = 1_700_000_000.0;
    let hour = 3_600.0;
    // A noisy, slowly drifting series with a few spikes, as latency is.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let series: Vec<XY> = (0..points)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 1_000) as f64 / 10_000.0;
            let spike = if i % 9_973 == 0 { 2.0 } else { 0.0 };
            let t = end - hour + hour * i as f64 / points as f64;
            (t, 0.2 + 0.1 * (i as f64 / 5_000.0).sin() + noise + spike)
        })
        .collect();
    let outcome = PanelOutcome {
        panel: Panel {
            id: "latency".into(),
            title: "Latency".into(),
            kind: PanelKind::TimeSeries,
            queries: vec![Target {
                expr: "bench".into(),
                legend: None,
            }],
            unit: Unit::Seconds,
            thresholds: Thresholds {
                warn: Some(0.5),
                critical: Some(1.0),
                below: false,
            },
        },
        data: PanelData::Lines(vec![("p99".into(), series.clone())]),
    };
    let outcomes = [outcome];
    let options = RenderOptions {
        width_px: 1_200,
        ..RenderOptions::last(Duration::from_secs(3_600))
    };
    let raw_options = RenderOptions {
        raw: true,
        ..options.clone()
    };

    let measure =
        |options: &RenderOptions| -> Result<(Duration, usize), Box<dyn std::error::Error>> {
            let mut times = Vec::new();
            let mut bytes = 0;
            for _ in 0..runs {
                let started = Instant::now();
                let svg = draw_svg("Bench", &outcomes, options, end)?;
                times.push(started.elapsed());
                bytes = svg.len();
            }
            Ok((median(times), bytes))
        };
    let (lttb_time, lttb_bytes) = measure(&options)?;
    let (raw_time, raw_bytes) = measure(&raw_options)?;
    let mut alone = Vec::new();
    let mut kept = 0;
    for _ in 0..runs {
        let started = Instant::now();
        kept = lttb(&series, 1_120).len();
        alone.push(started.elapsed());
    }
    let alone = median(alone);

    println!("points                 {points}");
    println!("runs (median of)       {runs}");
    println!("LTTB alone             {alone:?} ({points} -> {kept} points)");
    println!("LTTB + SVG render      {lttb_time:?}, {lttb_bytes} bytes");
    println!("raw SVG render         {raw_time:?}, {raw_bytes} bytes");
    println!(
        "raw / LTTB time        {:.1}x",
        raw_time.as_secs_f64() / lttb_time.as_secs_f64()
    );
    println!(
        "raw / LTTB size        {:.1}x",
        raw_bytes as f64 / lttb_bytes as f64
    );
    Ok(())
}
