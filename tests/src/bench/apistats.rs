//! What the API server went through during a window, from its own
//! /metrics: requests answered, 5xx and 429 answers, and the latency of
//! non-streaming requests (watches and exec/port-forward excluded).

use kube::Client;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct ApiStats {
    pub requests: f64,
    pub errors_5xx: f64,
    pub throttled_429: f64,
    /// Cumulative histogram of request durations: upper bound (s) -> count.
    pub buckets: BTreeMap<Le, f64>,
    pub duration_sum: f64,
    pub duration_count: f64,
}

/// A bucket bound that orders numerically (`+Inf` last).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Le(pub f64);
impl Eq for Le {}
impl PartialOrd for Le {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Le {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn label<'a>(labels: &'a str, key: &str) -> &'a str {
    labels
        .split(&format!("{key}=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("")
}

fn streaming(verb: &str) -> bool {
    matches!(verb, "WATCH" | "CONNECT")
}

/// The samples of a Prometheus text exposition: (name, labels, value).
pub fn samples(text: &str) -> impl Iterator<Item = (&str, &str, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (name_labels, value) = line.rsplit_once(' ')?;
            let v = value.parse::<f64>().ok()?;
            let (name, labels) = name_labels.split_once('{').unwrap_or((name_labels, ""));
            Some((name, labels, v))
        })
}

/// Parses the Prometheus text of the API server's /metrics.
pub fn parse(text: &str) -> ApiStats {
    let mut s = ApiStats::default();
    for (name, labels, v) in samples(text) {
        match name {
            "apiserver_request_total" => {
                s.requests += v;
                let code = label(labels, "code");
                if code.starts_with('5') {
                    s.errors_5xx += v;
                } else if code == "429" {
                    s.throttled_429 += v;
                }
            }
            "apiserver_request_duration_seconds_bucket" if !streaming(label(labels, "verb")) => {
                let le = match label(labels, "le") {
                    "+Inf" => f64::INFINITY,
                    x => x.parse().unwrap_or(f64::INFINITY),
                };
                *s.buckets.entry(Le(le)).or_default() += v;
            }
            "apiserver_request_duration_seconds_sum" if !streaming(label(labels, "verb")) => {
                s.duration_sum += v
            }
            "apiserver_request_duration_seconds_count" if !streaming(label(labels, "verb")) => {
                s.duration_count += v
            }
            _ => {}
        }
    }
    s
}

pub async fn snapshot(client: &Client) -> anyhow::Result<ApiStats> {
    let req = http::Request::get("/metrics").body(vec![])?;
    Ok(parse(&client.request_text(req).await?))
}

/// `b - a`, per field and bucket.
pub fn delta(a: &ApiStats, b: &ApiStats) -> ApiStats {
    ApiStats {
        requests: b.requests - a.requests,
        errors_5xx: b.errors_5xx - a.errors_5xx,
        throttled_429: b.throttled_429 - a.throttled_429,
        buckets: b
            .buckets
            .iter()
            .map(|(le, n)| (*le, n - a.buckets.get(le).copied().unwrap_or(0.0)))
            .collect(),
        duration_sum: b.duration_sum - a.duration_sum,
        duration_count: b.duration_count - a.duration_count,
    }
}

/// The `q` quantile (0..1) of a cumulative histogram, interpolated linearly
/// inside its bucket as Prometheus' histogram_quantile does.
pub fn quantile(buckets: &BTreeMap<Le, f64>, q: f64) -> Option<f64> {
    let total = *buckets.get(&Le(f64::INFINITY))?;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lo, mut below) = (0.0, 0.0);
    for (Le(le), n) in buckets {
        if *n >= rank {
            if le.is_infinite() {
                return Some(lo);
            }
            let inside = n - below;
            let frac = if inside > 0.0 {
                (rank - below) / inside
            } else {
                1.0
            };
            return Some(lo + (le - lo) * frac);
        }
        (lo, below) = (*le, *n);
    }
    None
}

pub fn to_json(d: &ApiStats) -> Value {
    let ms = |s: Option<f64>| s.map(|s| (s * 1000.0 * 10.0).round() / 10.0);
    json!({
        "requests": d.requests,
        "errors_5xx": d.errors_5xx,
        "throttled_429": d.throttled_429,
        "latency_mean_ms": ms((d.duration_count > 0.0).then(|| d.duration_sum / d.duration_count)),
        "latency_p50_ms": ms(quantile(&d.buckets, 0.5)),
        "latency_p99_ms": ms(quantile(&d.buckets, 0.99)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP apiserver_request_total x
apiserver_request_total{code="200",component="apiserver",verb="GET"} 90
apiserver_request_total{code="504",component="apiserver",verb="GET"} 4
apiserver_request_total{code="429",component="apiserver",verb="PATCH"} 6
apiserver_request_duration_seconds_bucket{verb="GET",le="0.1"} 50
apiserver_request_duration_seconds_bucket{verb="GET",le="1"} 100
apiserver_request_duration_seconds_bucket{verb="GET",le="+Inf"} 100
apiserver_request_duration_seconds_bucket{verb="WATCH",le="+Inf"} 7
apiserver_request_duration_seconds_sum{verb="GET"} 20
apiserver_request_duration_seconds_count{verb="GET"} 100
apiserver_request_duration_seconds_count{verb="WATCH"} 7
"#;

    #[test]
    fn parses_codes_and_non_streaming_latency() {
        let s = parse(TEXT);
        assert_eq!(
            (s.requests, s.errors_5xx, s.throttled_429),
            (100.0, 4.0, 6.0)
        );
        assert_eq!(s.duration_count, 100.0);
        assert_eq!(s.buckets.get(&Le(f64::INFINITY)), Some(&100.0));
        // Half the requests within 0.1 s; the 99th percentile interpolated in (0.1, 1].
        assert_eq!(quantile(&s.buckets, 0.5), Some(0.1));
        let p99 = quantile(&s.buckets, 0.99).unwrap();
        assert!((p99 - (0.1 + 0.9 * 0.98)).abs() < 1e-9, "{p99}");
        let d = delta(&ApiStats::default(), &s);
        assert_eq!(to_json(&d)["latency_mean_ms"], 200.0);
        assert_eq!(quantile(&BTreeMap::new(), 0.5), None);
    }
}
