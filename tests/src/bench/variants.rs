//! What the audit log, tracing and sessions cost: kube-mcp-server measured
//! again with the audit level off and at `request`, with OpenTelemetry
//! traces exported to a local OTLP sink, and stateless (how the operator's
//! endpoints run), against the default run (audit at `metadata`, traces
//! off, sessions).

use super::report::{mib, ms, p, x};
use anyhow::{Context as _, Result};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A kube-mcp-server configuration measured besides the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    AuditOff,
    AuditRequest,
    Traced,
    Stateless,
}

impl Variant {
    pub const ALL: [Variant; 4] = [
        Variant::AuditOff,
        Variant::AuditRequest,
        Variant::Traced,
        Variant::Stateless,
    ];

    /// The `--only` value and the key under `targets` in the report.
    pub fn key(self) -> &'static str {
        match self {
            Variant::AuditOff => "kube-mcp-audit-off",
            Variant::AuditRequest => "kube-mcp-audit-request",
            Variant::Traced => "kube-mcp-traced",
            Variant::Stateless => "kube-mcp-stateless",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Variant::AuditOff => "audit off (reads not recorded)",
            Variant::AuditRequest => "audit at request (with redacted arguments)",
            Variant::Traced => "audit at metadata, traces exported (OTLP http/protobuf)",
            Variant::Stateless => {
                "stateless: no sessions, JSON answers (how the operator's endpoints run)"
            }
        }
    }

    /// Also measured against the floor, as the default run is: a
    /// configuration users deploy as it is, not a cost to compare.
    pub fn paired(self) -> bool {
        self == Variant::Stateless
    }

    /// The server's environment for this variant; `otlp` is the sink's URL.
    pub fn env(self, otlp: &str) -> Vec<(String, String)> {
        let pairs: &[(&str, &str)] = match self {
            Variant::AuditOff => &[("KUBE_MCP_AUDIT_LEVEL", "off")],
            Variant::AuditRequest => &[("KUBE_MCP_AUDIT_LEVEL", "request")],
            Variant::Traced => &[
                ("ENABLE_TELEMETRY", "true"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp),
            ],
            Variant::Stateless => &[("KUBE_MCP_STATELESS", "true")],
        };
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// An OTLP/HTTP endpoint that accepts and counts trace exports (the traced
/// variant's collector; decoding them is the OpenTelemetry tests' job).
pub struct OtlpSink {
    pub url: String,
    exports: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl OtlpSink {
    pub async fn start() -> Result<Self> {
        let exports = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let (e, b) = (exports.clone(), bytes.clone());
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                e.fetch_add(1, Ordering::Relaxed);
                b.fetch_add(body.len() as u64, Ordering::Relaxed);
                // An empty ExportTraceServiceResponse: everything accepted.
                async {
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the OTLP sink")?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url,
            exports,
            bytes,
            task,
        })
    }

    /// Exports and bytes received so far.
    pub fn received(&self) -> Value {
        json!({
            "exports": self.exports.load(Ordering::Relaxed),
            "bytes": self.bytes.load(Ordering::Relaxed),
        })
    }
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The report's section: each variant against the default run.
pub fn section(r: &Value, scenarios: &[(String, String)]) -> String {
    let mut o = String::new();
    let measured: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|v| r["targets"][v.key()]["scenarios"].is_object())
        .collect();
    if measured.is_empty() {
        return o;
    }
    let _ = writeln!(
        o,
        "\n## Other configurations: the audit log, tracing, sessions\n"
    );
    let _ = writeln!(
        o,
        "The default run above records audit at `metadata` (stdout to a file) with traces off, \
         and keeps MCP sessions (answers stream as SSE). Each row is kube-mcp-server measured \
         again the same way with one change; ratios are against the default (above 1x: slower, \
         or more memory). The stateless row is also judged against the floor in Goals.\n"
    );
    let top = r["config"]["concurrency"]
        .as_array()
        .and_then(|a| a.last())
        .map(Value::to_string)
        .unwrap_or_default();
    let mut head = String::from("| configuration | idle RSS (MiB) | peak RSS (MiB) |");
    let mut rule = String::from("|---|---|---|");
    for (_, title) in scenarios {
        let _ = write!(head, " {title}, p50 ms |");
        rule.push_str("---|");
    }
    let _ = write!(head, " calls/s at {top} clients |");
    rule.push_str("---|");
    let _ = writeln!(o, "{head}\n{rule}");
    let tput = |t: &str| r["targets"][t]["throughput"][&top]["calls_per_s"].as_f64();
    let mut row = |t: &str, title: &str| {
        let s = &r["targets"][t];
        let mut line = format!(
            "| {title} | {} | {} |",
            mib(&s["rss_idle_bytes"]),
            mib(&s["rss_peak_bytes"])
        );
        for (key, _) in scenarios {
            let v = p(r, t, key, "p50_ms");
            let base = p(r, "kube-mcp", key, "p50_ms");
            let vs = if t == "kube-mcp" {
                String::new()
            } else {
                format!(" ({})", x(super::report::ratio(v, base)))
            };
            let _ = write!(line, " {}{vs} |", ms(v));
        }
        let calls = tput(t).map(|c| format!("{c:.1}")).unwrap_or("–".into());
        let _ = writeln!(o, "{line} {calls} |");
    };
    row("kube-mcp", "default: audit at metadata, traces off");
    for v in &measured {
        row(v.key(), v.title());
    }
    if let Some(n) = r["targets"][Variant::Traced.key()]["otlp"]["exports"].as_u64() {
        let _ = writeln!(
            o,
            "\nThe traced run's sink received {n} OTLP exports ({} bytes).",
            r["targets"][Variant::Traced.key()]["otlp"]["bytes"]
        );
    }
    o
}
