//! OpenTelemetry traces, the seed's way to switch them on: with
//! `ENABLE_TELEMETRY` true and `OTEL_EXPORTER_OTLP_ENDPOINT` set, every MCP
//! request is a SERVER span named after the MCP semantic conventions
//! (`tools/call kubectl_get`), and each Kubernetes request it makes is a
//! child CLIENT span (kube's own `HTTP` spans, which its client buffer
//! carries over to the worker task). The parent comes from the client: the
//! request's `params._meta.traceparent` (SEP-414), else the HTTP
//! `traceparent` header; when both are there and differ, the header's is a
//! link. Export is OTLP over gRPC (the seed's, and the default) or
//! HTTP/protobuf (`OTEL_EXPORTER_OTLP_PROTOCOL`).
//!
//! Off (the default), nothing is installed: no exporter, no layer, and a
//! request only reads one flag.

use crate::origin::{Origin, Transport};
use kube_mcp_catalog::logging::ExtraLayer;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::Layer as _;

/// Set once the exporter is installed.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The target of this module's spans; only the OpenTelemetry layer enables
/// it (they are TRACE level, below any log filter in use).
pub const TARGET: &str = "kube_mcp::mcp";
/// kube's client spans (one per Kubernetes request).
const KUBE_TARGET: &str = "kube_client::client::builder";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "OTEL_EXPORTER_OTLP_PROTOCOL={0:?} is not supported; use grpc (the default) or http/protobuf"
    )]
    Protocol(String),
    #[error("cannot set up the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// How traces are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

/// What the environment asks for: `None` when telemetry stays off, with
/// the reason to log when it was asked for but cannot be on.
pub fn wanted(
    enabled: bool,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Protocol>, TelemetryError> {
    let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if !enabled
        || (set("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
            && set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none())
    {
        return Ok(None);
    }
    let protocol =
        set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"));
    match protocol.as_deref().map(str::trim) {
        None | Some("grpc") => Ok(Some(Protocol::Grpc)),
        Some("http/protobuf") => Ok(Some(Protocol::HttpProtobuf)),
        Some(other) => Err(TelemetryError::Protocol(other.to_string())),
    }
}

/// The installed exporter; [`Telemetry::shutdown`] flushes what is queued.
pub struct Telemetry {
    provider: SdkTracerProvider,
    pub protocol: Protocol,
}

impl Telemetry {
    /// Sets up the exporter and returns the layer to install with the logs.
    /// Must run inside the Tokio runtime (the gRPC channel lives on it).
    pub fn start(protocol: Protocol) -> Result<(Self, ExtraLayer), TelemetryError> {
        let exporter = match protocol {
            Protocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()?,
            Protocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .build()?,
        };
        let mut resource = opentelemetry_sdk::Resource::builder();
        let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty())
            || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
        if !named {
            resource = resource.with_service_name("kube-mcp-server");
        }
        let resource = resource
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build();
        // Sampler and batching follow OTEL_TRACES_SAMPLER(_ARG) and OTEL_BSP_*.
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("kube-mcp-server");
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                meta.is_span() && (meta.target() == TARGET || meta.target() == KUBE_TARGET)
            }))
            .boxed();
        ACTIVE.store(true, Ordering::Relaxed);
        Ok((Self { provider, protocol }, layer))
    }

    /// Exports what is still queued, then stops.
    pub fn shutdown(self) {
        ACTIVE.store(false, Ordering::Relaxed);
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "traces not exported at shutdown");
        }
    }
}

/// Whether traces are exported.
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// The trace the current request belongs to (for audit records).
pub fn current_trace_id() -> Option<String> {
    if !active() {
        return None;
    }
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// W3C trace context from wherever the client put it.
struct Carrier<'a> {
    traceparent: Option<&'a str>,
    tracestate: Option<&'a str>,
}

impl Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => self.traceparent,
            "tracestate" => self.tracestate,
            _ => None,
        }
    }
    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

/// The remote parent a carrier names, if valid.
fn remote(carrier: &Carrier<'_>) -> Option<opentelemetry::Context> {
    carrier.traceparent?;
    let cx = TraceContextPropagator::new().extract(carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

/// What an MCP request names, for its span's name and attributes.
#[derive(Debug, Clone, Copy)]
pub enum Named<'a> {
    Nothing,
    Tool(&'a str),
    Prompt(&'a str),
    Resource(&'a str),
}

/// The span of one MCP request, with the client's trace as its parent;
/// a disabled span when traces are off.
pub fn request_span(
    context: &RequestContext<RoleServer>,
    origin: &Origin,
    method: &'static str,
    named: Named<'_>,
) -> tracing::Span {
    if !active() {
        return tracing::Span::none();
    }
    let (tool, prompt, uri) = match named {
        Named::Tool(t) => (Some(t), None, None),
        Named::Prompt(p) => (None, Some(p), None),
        Named::Resource(u) => (None, None, Some(u)),
        Named::Nothing => (None, None, None),
    };
    let name = match tool.or(prompt) {
        Some(t) => format!("{method} {t}"),
        None => method.to_string(),
    };
    let span = tracing::trace_span!(
        target: TARGET,
        parent: None,
        "mcp",
        otel.name = %name,
        otel.kind = "server",
        otel.status_code = Empty,
        mcp.method.name = method,
        gen_ai.tool.name = tool,
        gen_ai.operation.name = tool.map(|_| "execute_tool"),
        gen_ai.prompt.name = prompt,
        mcp.resource.uri = uri,
        jsonrpc.request.id = %context.id,
        mcp.session.id = origin.session.as_deref(),
        network.transport = if origin.transport == Transport::Stdio { "pipe" } else { "tcp" },
        client.address = origin.client.as_deref(),
        error.type = Empty,
    );
    let meta = remote(&Carrier {
        traceparent: context.meta.get_traceparent(),
        tracestate: context.meta.get_tracestate(),
    });
    let header = |name: &str, parts: &http::request::Parts| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let http = context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| {
            let tp = header("traceparent", parts);
            let ts = header("tracestate", parts);
            remote(&Carrier {
                traceparent: tp.as_deref(),
                tracestate: ts.as_deref(),
            })
        });
    let parent_set = match (meta, http) {
        (Some(m), h) => {
            let linked = h.filter(|h| h.span().span_context() != m.span().span_context());
            let r = span.set_parent(m);
            if let Some(h) = linked {
                span.add_link(h.span().span_context().clone());
            }
            r
        }
        (None, Some(h)) => span.set_parent(h),
        (None, None) => Ok(()),
    };
    if let Err(e) = parent_set {
        tracing::debug!(error = %e, "the client's trace context was not applied");
    }
    span
}

/// Runs an MCP request's work inside its span, and marks the span failed
/// the MCP conventions' way: `tool_error` for a result that `is_error`
/// says failed, else the JSON-RPC error code.
pub async fn traced<T>(
    span: tracing::Span,
    work: impl Future<Output = Result<T, McpError>>,
    is_error: impl Fn(&T) -> bool,
) -> Result<T, McpError> {
    if span.is_disabled() {
        return work.await;
    }
    let result = work.instrument(span.clone()).await;
    let error = match &result {
        Ok(r) if is_error(r) => Some("tool_error".to_string()),
        Ok(_) => None,
        Err(e) => Some(e.code.0.to_string()),
    };
    if let Some(e) = error {
        span.record("error.type", e.as_str());
        span.record("otel.status_code", "ERROR");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn on_only_with_the_switch_and_an_endpoint() {
        let ep = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317");
        type Case<'a> = (bool, &'a [(&'a str, &'a str)], Option<Protocol>);
        let cases: &[Case] = &[
            (false, &[ep], None),
            (true, &[], None),
            (true, &[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")], None),
            (true, &[ep], Some(Protocol::Grpc)),
            (
                true,
                &[(
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://c:4318/v1/traces",
                )],
                Some(Protocol::Grpc),
            ),
            (
                true,
                &[ep, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
                Some(Protocol::HttpProtobuf),
            ),
            (
                true,
                &[
                    ep,
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                    ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
                ],
                Some(Protocol::Grpc),
            ),
        ];
        for (enabled, vars, want) in cases {
            assert_eq!(
                wanted(*enabled, env(vars)).unwrap(),
                *want,
                "{enabled} {vars:?}"
            );
        }
        let err = wanted(
            true,
            env(&[ep, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("http/json") && err.contains("http/protobuf"),
            "{err}"
        );
    }

    #[test]
    fn a_traceparent_is_a_remote_parent_and_garbage_is_none() {
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let cx = remote(&Carrier {
            traceparent: Some(tp),
            tracestate: None,
        })
        .unwrap();
        let sc = cx.span().span_context().clone();
        assert_eq!(
            sc.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(sc.span_id().to_string(), "b7ad6b7169203331");
        assert!(sc.is_remote());
        for bad in [
            "",
            "00-xyz",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        ] {
            assert!(
                remote(&Carrier {
                    traceparent: Some(bad),
                    tracestate: None
                })
                .is_none(),
                "{bad}"
            );
        }
    }
}
