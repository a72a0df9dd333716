//! Prometheus metrics: tool calls by tool and outcome, their latency,
//! HTTP responses by status, and the sessions held by transport.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub tool: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabel {
    pub tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabel {
    pub transport: &'static str,
}

pub struct Metrics {
    registry: Registry,
    /// Set when scraped: the session stores are the truth.
    pub sessions: Family<TransportLabel, Gauge>,
    pub calls: Family<CallLabels, Counter>,
    pub latency: Family<ToolLabel, Histogram>,
    pub http: Family<StatusLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("kube_mcp");
        let calls = Family::<CallLabels, Counter>::default();
        let latency = Family::<ToolLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        let http = Family::<StatusLabel, Counter>::default();
        let sessions = Family::<TransportLabel, Gauge>::default();
        registry.register(
            "tool_calls",
            "Tool calls by tool and outcome",
            calls.clone(),
        );
        registry.register(
            "tool_call_duration_seconds",
            "Tool call latency",
            latency.clone(),
        );
        registry.register(
            "http_responses",
            "HTTP responses by status code",
            http.clone(),
        );
        registry.register(
            "sessions",
            "MCP sessions held, by transport (http: streamable HTTP, sse: legacy SSE)",
            sessions.clone(),
        );
        Self {
            registry,
            sessions,
            calls,
            latency,
            http,
        }
    }
}

impl Metrics {
    pub fn record_call(&self, tool: &str, outcome: &'static str, took: Duration) {
        self.calls
            .get_or_create(&CallLabels {
                tool: tool.to_string(),
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&ToolLabel {
                tool: tool.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_calls_and_latency() {
        let m = Metrics::default();
        m.record_call("kubectl_get", "ok", Duration::from_millis(3));
        m.http.get_or_create(&StatusLabel { status: 401 }).inc();
        m.sessions
            .get_or_create(&TransportLabel { transport: "sse" })
            .set(3);
        let text = m.encode();
        assert!(
            text.contains(r#"kube_mcp_tool_calls_total{tool="kubectl_get",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(text.contains("kube_mcp_tool_call_duration_seconds_count{tool=\"kubectl_get\"} 1"));
        assert!(text.contains(r#"kube_mcp_http_responses_total{status="401"} 1"#));
        assert!(
            text.contains(r#"kube_mcp_sessions{transport="sse"} 3"#),
            "{text}"
        );
    }

    #[test]
    fn the_dashboard_queries_every_server_metric_and_no_other() {
        use kube_mcp_catalog::dashboard::{self, OPERATOR_PREFIX};
        let path = format!("{}/{}", env!("CARGO_MANIFEST_DIR"), dashboard::PATH);
        let board = std::fs::read_to_string(&path).unwrap();
        let m = Metrics::default();
        m.record_call("kubectl_get", "ok", Duration::from_millis(3));
        m.http.get_or_create(&StatusLabel { status: 200 }).inc();
        // A family with no sample is not encoded at all: give each one.
        m.sessions
            .get_or_create(&TransportLabel { transport: "http" })
            .set(1);
        let text = m.encode();
        let exposed = dashboard::exposed(&text);
        let queried = dashboard::mentioned(&board);
        let ours: Vec<_> = queried
            .iter()
            .filter(|n| !n.starts_with(OPERATOR_PREFIX))
            .collect();
        for name in &ours {
            assert!(
                exposed.contains(*name),
                "{path} queries {name}, which the server does not expose:\n{text}"
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
