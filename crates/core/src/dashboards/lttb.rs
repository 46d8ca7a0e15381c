//! Largest-Triangle-Three-Buckets: a series of many points cut to a few
//! that keep its shape (Steinarsson, 2013). The first and last points stay;
//! the points between are cut into equal buckets, and from each bucket the
//! one point is kept that makes the largest triangle with the point kept
//! before it and the average of the next bucket, so spikes survive.
//!
//! Points whose value is not finite are gaps, never candidates: a series is
//! first cut at its gaps into runs, each run downsampled on its own.

/// A point to draw: x (seconds) and y.
pub type XY = (f64, f64);

/// `points` cut to `threshold` points, first and last kept. A series no
/// longer than `threshold`, or a threshold under 3, is returned as it is
/// (its finite points only).
pub fn lttb(points: &[XY], threshold: usize) -> Vec<XY> {
    let finite: Vec<XY> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if threshold < 3 || finite.len() <= threshold {
        return finite;
    }
    let data = &finite;
    let mut kept = Vec::with_capacity(threshold);
    kept.push(data[0]);
    // The points between first and last, in threshold - 2 buckets.
    let every = (data.len() - 2) as f64 / (threshold - 2) as f64;
    let mut previous = 0usize;
    for bucket in 0..threshold - 2 {
        let start = (bucket as f64 * every).floor() as usize + 1;
        let end = (((bucket + 1) as f64 * every).floor() as usize + 1).min(data.len() - 1);
        // The next bucket's average; the last point stands for the bucket
        // after the last.
        let next_start = end;
        let next_end = (((bucket + 2) as f64 * every).floor() as usize + 1).min(data.len());
        let next = &data[next_start..next_end.max(next_start + 1)];
        let (avg_x, avg_y) = next
            .iter()
            .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
        let (avg_x, avg_y) = (avg_x / next.len() as f64, avg_y / next.len() as f64);
        let (ax, ay) = data[previous];
        let mut best = start;
        let mut best_area = -1.0;
        for (i, &(x, y)) in data.iter().enumerate().take(end).skip(start) {
            // Twice the triangle's area; only the order matters.
            let area = ((ax - avg_x) * (y - ay) - (ax - x) * (avg_y - ay)).abs();
            if area > best_area {
                best_area = area;
                best = i;
            }
        }
        kept.push(data[best]);
        previous = best;
    }
    kept.push(data[data.len() - 1]);
    kept
}

/// `points` split at their gaps (non-finite values) into runs, the runs
/// downsampled to about `threshold` points in all, each its share by
/// length and never fewer than its first and last.
pub fn downsample_runs(points: &[XY], threshold: usize) -> Vec<Vec<XY>> {
    let mut runs: Vec<Vec<XY>> = Vec::new();
    let mut current = Vec::new();
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            current.push((x, y));
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    let total: usize = runs.iter().map(Vec::len).sum();
    if total <= threshold {
        return runs;
    }
    runs.iter()
        .map(|run| {
            let share = (threshold as f64 * run.len() as f64 / total as f64).round() as usize;
            lttb(run, share.max(3))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: usize) -> Vec<XY> {
        (0..n)
            .map(|i| (i as f64, (i as f64 / 50.0).sin()))
            .collect()
    }

    #[test]
    fn keeps_the_first_and_last_points_and_exactly_the_threshold() {
        let data = wave(10_000);
        for threshold in [3, 10, 500, 1_000, 9_999] {
            let out = lttb(&data, threshold);
            assert_eq!(out.len(), threshold, "threshold {threshold}");
            assert_eq!(out[0], data[0]);
            assert_eq!(out[threshold - 1], data[9_999]);
            assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "in order");
        }
    }

    #[test]
    fn a_short_series_is_returned_as_it_is() {
        let data = wave(10);
        assert_eq!(lttb(&data, 100), data);
        assert_eq!(
            lttb(&data, 2),
            data,
            "a threshold under 3 cannot keep a shape"
        );
        assert!(lttb(&[], 10).is_empty());
    }

    #[test]
    fn a_single_spike_survives() {
        let mut data: Vec<XY> = (0..100_000).map(|i| (i as f64, 1.0)).collect();
        data[61_234].1 = 500.0;
        data[7_000].1 = -40.0;
        let out = lttb(&data, 200);
        assert!(out.contains(&(61_234.0, 500.0)), "the spike is kept");
        assert!(out.contains(&(7_000.0, -40.0)), "the dip is kept");
    }

    #[test]
    fn gaps_are_never_points_and_split_the_series() {
        let mut data = wave(3_000);
        for point in &mut data[1_000..1_100] {
            point.1 = f64::NAN;
        }
        data[2_000].1 = f64::INFINITY;
        let out = lttb(&data, 300);
        assert_eq!(out.len(), 300);
        assert!(out.iter().all(|(_, y)| y.is_finite()));

        let runs = downsample_runs(&data, 300);
        assert_eq!(runs.len(), 3, "cut at the NaN stretch and at the infinity");
        assert_eq!(runs[0].last().map(|p| p.0), Some(999.0));
        assert_eq!(runs[1].first().map(|p| p.0), Some(1_100.0));
        let total: usize = runs.iter().map(Vec::len).sum();
        assert!((297..=303).contains(&total), "{total} points");
        assert!(runs.iter().flatten().all(|(_, y)| y.is_finite()));
    }
}
