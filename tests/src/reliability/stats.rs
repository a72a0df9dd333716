//! The arithmetic of a soak: the trend of a series (least-squares line)
//! and rates.

/// Least-squares line through `(x, y)` points: `(slope, intercept)`;
/// None with fewer than two distinct x.
pub fn line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= f64::EPSILON {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

/// The `q` quantile (0..=1, nearest rank) of `sorted` (ascending); None
/// when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = (q.clamp(0.0, 1.0) * last as f64).round() as usize;
    sorted.get(rank.min(last)).copied()
}

/// VmRSS of process `pid` in KiB, from /proc/<pid>/status.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&xs, 0.5), Some(51.0));
        assert_eq!(quantile(&xs, 0.99), Some(99.0));
        assert_eq!(quantile(&xs, 1.0), Some(100.0));
        assert_eq!(quantile(&xs, 0.0), Some(1.0));
        assert_eq!(quantile(&[7.0], 0.99), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn reads_this_process_rss() {
        assert!(rss_kib(std::process::id()).is_some_and(|k| k > 0));
    }

    type Case<'a> = (&'a [(f64, f64)], Option<(f64, f64)>);

    #[test]
    fn fits_lines() {
        let cases: &[Case] = &[
            (&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)], Some((2.0, 1.0))),
            (&[(0.0, 7.0), (10.0, 7.0)], Some((0.0, 7.0))),
            // Noise around a flat line fits flat.
            (
                &[(0.0, 9.0), (1.0, 11.0), (2.0, 9.0), (3.0, 11.0)],
                Some((0.4, 9.4)),
            ),
            (&[(1.0, 1.0)], None),
            (&[(1.0, 1.0), (1.0, 5.0)], None),
            (&[], None),
        ];
        for (points, want) in cases {
            let got = line(points).map(|(s, i)| ((s * 1e9).round() / 1e9, (i * 1e9).round() / 1e9));
            assert_eq!(got, *want, "{points:?}");
        }
    }
}
