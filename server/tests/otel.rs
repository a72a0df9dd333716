//! OpenTelemetry through the real binary: an OTLP receiver in the test
//! (the collector's own protobuf types; HTTP /v1/traces under axum, and the
//! gRPC TraceService under tonic) receives what a tool call exports, over
//! both protocols, with the parent the client sent (the `_meta` traceparent
//! and the HTTP header).

use axum::body::Bytes;
use axum::response::IntoResponse;
use kube_mcp_tests::fixture::until;
use kube_mcp_tests::mcp::McpClient;
use kube_mcp_tests::server::{ServerProcess, free_port};
use kube_mcp_tests::test_namespace;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};
use prost::Message;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");

/// A span as received, with its resource's attributes.
#[derive(Debug, Clone)]
struct Received {
    resource: Vec<(String, String)>,
    span: Span,
}

type Store = Arc<Mutex<Vec<Received>>>;

fn keep(store: &Store, req: ExportTraceServiceRequest) {
    let mut all = store.lock().unwrap();
    for rs in req.resource_spans {
        let resource = rs
            .resource
            .map(|r| {
                r.attributes
                    .iter()
                    .map(|kv| (kv.key.clone(), text(&kv.value)))
                    .collect()
            })
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for span in ss.spans {
                all.push(Received {
                    resource: Vec::clone(&resource),
                    span,
                });
            }
        }
    }
}

fn text(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Any::StringValue(s)) => s.clone(),
        Some(Any::IntValue(i)) => i.to_string(),
        Some(Any::BoolValue(b)) => b.to_string(),
        Some(Any::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| text(&kv.value))
}

struct Grpc(Store);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        keep(&self.0, request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// An OTLP receiver on a loopback port.
struct Receiver {
    store: Store,
    endpoint: String,
    protocol: &'static str,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn http() -> Self {
        let store = Store::default();
        let s = store.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: Bytes| async move {
                // A body that is not OTLP protobuf is refused (and the test
                // then times out waiting for its spans).
                match ExportTraceServiceRequest::decode(body) {
                    Ok(req) => {
                        keep(&s, req);
                        let ok = ExportTraceServiceResponse::default().encode_to_vec();
                        ([("content-type", "application/x-protobuf")], ok).into_response()
                    }
                    Err(_) => axum::http::StatusCode::BAD_REQUEST.into_response(),
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            store,
            endpoint: format!("http://127.0.0.1:{port}"),
            protocol: "http/protobuf",
            task,
        }
    }

    async fn grpc() -> Self {
        let store = Store::default();
        let port = free_port();
        let svc = TraceServiceServer::new(Grpc(store.clone()));
        let task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(svc)
                .serve(([127, 0, 0, 1], port).into())
                .await
                .unwrap();
        });
        Self {
            store,
            endpoint: format!("http://127.0.0.1:{port}"),
            protocol: "grpc",
            task,
        }
    }

    /// Waits (at most 20 s) until a span satisfies `found`.
    async fn wait_for(&self, what: &str, found: impl Fn(&Received) -> bool) -> Received {
        let what = format!("a {what} span over {}", self.protocol);
        until(&what, Duration::from_secs(20), || {
            let hit = self
                .store
                .lock()
                .unwrap()
                .iter()
                .find(|r| found(r))
                .cloned();
            async move { hit }
        })
        .await
    }

    fn children_of(&self, parent: &Span) -> Vec<Span> {
        self.store
            .lock()
            .unwrap()
            .iter()
            .filter(|r| {
                r.span.parent_span_id == parent.span_id && r.span.trace_id == parent.trace_id
            })
            .map(|r| r.span.clone())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const HEADER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const HEADER_SPAN: &str = "00f067aa0ba902b7";
const META_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const META_SPAN: &str = "b7ad6b7169203331";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn tool_call_traces(receiver: Receiver) {
    let ns = test_namespace("otel").await;
    let server = ServerProcess::start(
        Path::new(BIN),
        &[
            ("ENABLE_TELEMETRY", "true"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", receiver.protocol),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment.name=test",
            ),
            ("KUBE_MCP_NAMESPACES", &ns.name),
        ],
    )
    .await;
    let traceparent = format!("00-{HEADER_TRACE}-{HEADER_SPAN}-01");
    let client = McpClient::connect_with_headers(
        reqwest::Client::new(),
        &server.url,
        None,
        &[("traceparent", &traceparent)],
    )
    .await
    .unwrap();

    // 1. The HTTP header is the parent.
    let ok = client
        .call(
            "kubectl_get",
            json!({"resourceType": "pods", "namespace": ns.name}),
        )
        .await;
    assert!(!ok.is_error, "{}", ok.text);
    let call = receiver
        .wait_for("tools/call kubectl_get", |r| {
            r.span.name == "tools/call kubectl_get" && hex(&r.span.trace_id) == HEADER_TRACE
        })
        .await;
    let span = &call.span;
    assert_eq!(hex(&span.parent_span_id), HEADER_SPAN);
    assert_eq!(span.kind, SpanKind::Server as i32);
    for (k, v) in [
        ("mcp.method.name", "tools/call"),
        ("gen_ai.tool.name", "kubectl_get"),
        ("gen_ai.operation.name", "execute_tool"),
        ("network.transport", "tcp"),
    ] {
        assert_eq!(attr(span, k).as_deref(), Some(v), "{k} on {span:#?}");
    }
    assert!(attr(span, "jsonrpc.request.id").is_some(), "{span:#?}");
    assert!(
        attr(span, "mcp.session.id").is_some_and(|s| !s.is_empty()),
        "{span:#?}"
    );
    assert!(attr(span, "error.type").is_none());
    let service: Vec<&(String, String)> = call.resource.iter().collect();
    assert!(
        service.contains(&&("service.name".into(), "kube-mcp-server".into())),
        "{service:?}"
    );
    assert!(
        service.contains(&&("deployment.environment.name".into(), "test".into())),
        "{service:?}"
    );

    // Its Kubernetes requests are its children: CLIENT spans of the same trace.
    let pods = format!("/namespaces/{}/pods", ns.name);
    let kube = until(
        "the pods request as a child span",
        Duration::from_secs(20),
        || {
            let hit = receiver
                .children_of(span)
                .into_iter()
                .find(|c| attr(c, "http.url").is_some_and(|u| u.contains(&pods)));
            async move { hit }
        },
    )
    .await;
    assert_eq!(kube.kind, SpanKind::Client as i32);
    assert_eq!(attr(&kube, "http.method").as_deref(), Some("GET"));
    assert_eq!(attr(&kube, "http.status_code").as_deref(), Some("200"));

    // 2. `_meta.traceparent` wins over the header, which becomes a link.
    let meta = json!({"traceparent": format!("00-{META_TRACE}-{META_SPAN}-01")});
    let failed = client
        .try_call_with_meta(
            "kubectl_get",
            json!({"resourceType": "pod", "name": "no-such-pod", "namespace": ns.name}),
            meta,
        )
        .await
        .unwrap();
    assert!(failed.is_error);
    let call = receiver
        .wait_for("the _meta-parented call", |r| {
            hex(&r.span.trace_id) == META_TRACE && r.span.kind == SpanKind::Server as i32
        })
        .await;
    let span = &call.span;
    assert_eq!(span.name, "tools/call kubectl_get");
    assert_eq!(hex(&span.parent_span_id), META_SPAN);
    let links: Vec<(String, String)> = span
        .links
        .iter()
        .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
        .collect();
    assert_eq!(links, [(HEADER_TRACE.to_string(), HEADER_SPAN.to_string())]);
    // A tool error, the conventions' way.
    assert_eq!(attr(span, "error.type").as_deref(), Some("tool_error"));
    assert_eq!(
        span.status.as_ref().map(|s| s.code),
        Some(StatusCode::Error as i32)
    );
    // The audit record names the same trace.
    let audit: Vec<Value> = server
        .stdout()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        audit
            .iter()
            .any(|r| r["trace_id"] == META_TRACE && r["outcome"] == "tool_error"),
        "{audit:#?}"
    );

    // 3. A JSON-RPC error carries its code.
    assert!(client.try_call("no_such_tool", json!({})).await.is_err());
    let unknown = receiver
        .wait_for("tools/call no_such_tool", |r| {
            r.span.name == "tools/call no_such_tool"
        })
        .await;
    assert_eq!(attr(&unknown.span, "error.type").as_deref(), Some("-32602"));
    client.close().await;
    ns.delete().await;
}

#[tokio::test]
async fn a_tool_call_is_traced_over_grpc() {
    tool_call_traces(Receiver::grpc().await).await;
}

#[tokio::test]
async fn a_tool_call_is_traced_over_http_protobuf() {
    tool_call_traces(Receiver::http().await).await;
}

#[tokio::test]
async fn telemetry_asked_for_without_an_endpoint_says_so_and_exports_nothing() {
    let server = ServerProcess::start(Path::new(BIN), &[("ENABLE_TELEMETRY", "true")]).await;
    let client = server.client().await;
    assert_eq!(client.call("ping", json!({})).await.text, "pong");
    client.close().await;
    let log = server.log();
    assert!(log.contains("OTEL_EXPORTER_OTLP_ENDPOINT is not"), "{log}");
}

#[tokio::test]
async fn an_unknown_protocol_stops_start_up_with_the_choices() {
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("ENABLE_TELEMETRY", "1")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("http/json") && err.contains("grpc"), "{err}");
}
