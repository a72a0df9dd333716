//! Prometheus metrics of the reconciler.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerbLabels {
    /// The HTTP method, or WATCH for a watch.
    pub verb: String,
}

/// Reconcile counters and latency.
pub struct Metrics {
    pub reconciles: Counter,
    pub errors: Family<ErrorLabels, Counter>,
    pub duration: Histogram,
    /// MCP verifications by result (`tools_match`, `tools_mismatch`, `unreachable`).
    pub verifications: Family<ResultLabels, Counter>,
    pub verify_duration: Histogram,
    /// Requests this operator sent to the API server, by verb.
    pub api_requests: Family<VerbLabels, Counter>,
    pub registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let reconciles = Counter::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        let verifications = Family::<ResultLabels, Counter>::default();
        let verify_duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        let api_requests = Family::<VerbLabels, Counter>::default();
        let mut registry = Registry::with_prefix("kube_mcp_operator");
        registry.register("reconciles", "McpEndpoint reconciles", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Failed reconciles by error",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile",
            duration.clone(),
        );
        registry.register(
            "verifications",
            "MCP verifications of endpoints by result",
            verifications.clone(),
        );
        registry.register(
            "verify_duration_seconds",
            "Duration of one MCP verification (initialize + tools/list)",
            verify_duration.clone(),
        );
        registry.register(
            "api_requests",
            "Requests sent to the API server, by verb (WATCH: a watch)",
            api_requests.clone(),
        );
        Self {
            reconciles,
            errors,
            duration,
            verifications,
            verify_duration,
            api_requests,
            registry,
        }
    }
}

impl Metrics {
    /// Counts a request to the API server (a layer on the operator's clients).
    pub fn count_request<B>(&self, req: &http::Request<B>) {
        let watch = req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
        let verb = if watch {
            "WATCH"
        } else {
            req.method().as_str()
        };
        self.api_requests
            .get_or_create(&VerbLabels { verb: verb.into() })
            .inc();
    }

    /// Counts a reconcile and returns a timer that records its duration when dropped.
    pub fn start(&self) -> Timer<'_> {
        self.reconciles.inc();
        Timer {
            start: Instant::now(),
            histogram: &self.duration,
        }
    }

    pub fn failed(&self, label: String) {
        self.errors
            .get_or_create(&ErrorLabels { error: label })
            .inc();
    }

    /// Counts a verification and records how long it took.
    pub fn verified(&self, result: &str, seconds: f64) {
        self.verifications
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
        self.verify_duration.observe(seconds);
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

pub struct Timer<'a> {
    start: Instant,
    histogram: &'a Histogram,
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        self.histogram.observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        drop(m.start());
        m.failed("api_403".into());
        let text = m.render();
        assert!(
            text.contains("kube_mcp_operator_reconciles_total 1"),
            "{text}"
        );
        assert!(
            text.contains("kube_mcp_operator_reconcile_errors_total{error=\"api_403\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("kube_mcp_operator_reconcile_duration_seconds_count 1"),
            "{text}"
        );
    }

    #[test]
    fn the_dashboard_queries_every_operator_metric_and_no_other() {
        use kube_mcp_catalog::dashboard::{self, OPERATOR_PREFIX};
        let root = env!("CARGO_MANIFEST_DIR");
        let path = format!("{root}/{}", dashboard::PATH);
        let board = std::fs::read_to_string(&path).unwrap();
        let copy = format!("{root}/../charts/kube-mcp/files/kube-mcp-dashboard.json");
        assert!(
            std::fs::read_to_string(&copy).unwrap_or_default() == board,
            "{copy} differs from {path}; run scripts/generate"
        );
        let m = Metrics::default();
        drop(m.start());
        m.failed("api_403".into());
        m.verified("tools_match", 0.1);
        m.count_request(
            &http::Request::get("/api/v1/pods?watch=true")
                .body(())
                .unwrap(),
        );
        let text = m.render();
        let exposed = dashboard::exposed(&text);
        let ours: Vec<_> = dashboard::mentioned(&board)
            .into_iter()
            .filter(|n| n.starts_with(OPERATOR_PREFIX))
            .collect();
        for name in &ours {
            assert!(
                exposed.contains(name),
                "{path} queries {name}, which the operator does not expose:\n{text}"
            );
        }
        for family in dashboard::families(&text) {
            assert!(
                ours.iter().any(|n| n.starts_with(family)),
                "{path} has no panel for {family}"
            );
        }
    }
}
