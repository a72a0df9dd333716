//! Latency summaries.

use serde::Serialize;
use std::time::Duration;

/// Latency of a series of calls, in milliseconds.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    pub n: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// Nearest-rank percentile of sorted samples (`q` in 0..=1).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn summarize(samples: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        return Summary::default();
    }
    Summary {
        n: ms.len(),
        p50_ms: round3(percentile(&ms, 0.50)),
        p90_ms: round3(percentile(&ms, 0.90)),
        p99_ms: round3(percentile(&ms, 0.99)),
        min_ms: round3(ms[0]),
        max_ms: round3(ms[ms.len() - 1]),
        mean_ms: round3(ms.iter().sum::<f64>() / ms.len() as f64),
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        let s = summarize(&[Duration::from_millis(2), Duration::from_millis(4)]);
        assert_eq!((s.n, s.p50_ms, s.max_ms), (2, 2.0, 4.0));
    }
}
