//! HTTP transports: streamable HTTP on /mcp (rmcp under axum) and the
//! legacy SSE transport (GET /sse + POST /messages) for older clients,
//! behind one guard (Host/Origin, then the token); /health, /ready and
//! /metrics stay open for probes and scrapers.

use crate::auth::TokenCheck;
use crate::guard::HostGuard;
use crate::handler::McpHandler;
use crate::metrics::StatusLabel;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct AppState {
    handler: McpHandler,
    guard: Arc<HostGuard>,
    token: TokenCheck,
    sse: Arc<Mutex<HashMap<String, futures::channel::mpsc::Sender<ClientJsonRpcMessage>>>>,
    shutdown: CancellationToken,
}

/// Builds the whole router. `stateless`: no sessions, one handler per request.
pub fn router(
    handler: McpHandler,
    guard: HostGuard,
    token: TokenCheck,
    stateless: bool,
    shutdown: CancellationToken,
) -> Router {
    let state = AppState {
        handler: handler.clone(),
        guard: Arc::new(guard),
        token,
        sse: Arc::default(),
        shutdown: shutdown.clone(),
    };
    // Our guard checks Host and Origin for every MCP route alike, so rmcp's
    // own copy of the check is turned off rather than configured twice.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(!stateless)
        .with_json_response(stateless)
        .with_cancellation_token(shutdown.child_token())
        .disable_allowed_hosts()
        .disable_allowed_origins();
    let mcp = StreamableHttpService::new(
        move || Ok(handler.for_session()),
        LocalSessionManager::default().into(),
        config,
    );
    let protected = Router::new()
        .nest_service("/mcp", mcp)
        .route("/sse", get(sse_connect))
        .route("/messages", post(sse_message))
        .layer(middleware::from_fn_with_state(state.clone(), check_request));
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .merge(protected)
        .layer(middleware::from_fn_with_state(state.clone(), count_status))
        .with_state(state)
}

fn json_error(status: StatusCode, message: String) -> Response {
    let body = json!({"jsonrpc": "2.0", "error": {"code": -32000, "message": message}, "id": null});
    (status, Json(body)).into_response()
}

/// Host/Origin first (403), then the token (401).
async fn check_request(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    // Set when main serves with connect info; absent in router-only tests.
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "-".into());
    if let Err(why) = s.guard.check(host.as_deref(), origin) {
        tracing::warn!(%client, reason = %why, "refused a request (DNS-rebinding protection)");
        return json_error(StatusCode::FORBIDDEN, format!("Forbidden: {why}"));
    }
    if !s.token.allows(headers) {
        // Says which case it was, never what was sent.
        let sent =
            headers.contains_key("x-mcp-auth") || headers.contains_key(header::AUTHORIZATION);
        let reason = if sent { "wrong token" } else { "no token" };
        tracing::warn!(%client, reason, path = %req.uri().path(), "refused a request: 401 Unauthorized");
        let mut resp = json_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: send the server's token in the X-MCP-AUTH header or as Authorization: Bearer".into(),
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return resp;
    }
    next.run(req).await
}

async fn count_status(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    s.handler
        .metrics
        .http
        .get_or_create(&StatusLabel {
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}

/// Ready when the API server answers.
async fn ready(State(s): State<AppState>) -> Response {
    let check = async {
        let client = s
            .handler
            .ctx
            .client(None)
            .await
            .map_err(|e| e.to_string())?;
        client
            .apiserver_version()
            .await
            .map_err(|e| kube_mcp_catalog::apiserver::describe(&e, None))
    };
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Ok(v)) => Json(json!({"status": "ready", "kubernetes": v.git_version})).into_response(),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": e})),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "not ready", "reason": "the API server did not answer within 3s"}),
            ),
        )
            .into_response(),
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let body = s.handler.metrics.encode();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

// ---- legacy SSE transport -----------------------------------------------

/// GET /sse: a session whose first event names the URL to POST messages to.
async fn sse_connect(State(s): State<AppState>) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_server, from_client) = futures::channel::mpsc::channel::<ClientJsonRpcMessage>(64);
    let (to_client, from_server) = futures::channel::mpsc::channel(64);
    s.sse
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), to_server);
    let ct = s.shutdown.child_token();
    let handler = s.handler.for_session();
    let sessions = s.sse.clone();
    let session_id = id.clone();
    let session_ct = ct.clone();
    tokio::spawn(async move {
        let sink = to_client.sink_map_err(std::io::Error::other);
        match handler
            .serve_with_ct((sink, from_client), session_ct.clone())
            .await
        {
            Ok(running) => {
                tokio::select! {
                    _ = running.waiting() => {}
                    _ = session_ct.cancelled() => {}
                }
            }
            Err(e) => tracing::warn!(error = %e, "SSE session ended during initialization"),
        }
        sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&session_id);
    });
    let endpoint = futures::stream::once(async move {
        Ok::<_, Infallible>(
            Event::default()
                .event("endpoint")
                .data(format!("/messages?sessionId={id}")),
        )
    });
    let messages = from_server.map(|m: rmcp::model::ServerJsonRpcMessage| {
        Ok(Event::default()
            .event("message")
            .data(serde_json::to_string(&m).unwrap_or_default()))
    });
    // The session ends when the client goes away (the stream is dropped).
    let guard = DropCancel(ct.clone());
    let stream = endpoint
        .chain(messages)
        .take_until(ct.cancelled_owned())
        .map(move |e| {
            let _keep = &guard;
            e
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

struct DropCancel(CancellationToken);
impl Drop for DropCancel {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[derive(serde::Deserialize)]
struct SessionQuery {
    #[serde(rename = "sessionId")]
    session_id: String,
}

/// POST /messages?sessionId=: one JSON-RPC message into a session; the
/// answer arrives on that session's SSE stream.
async fn sse_message(
    State(s): State<AppState>,
    Query(q): Query<SessionQuery>,
    body: String,
) -> Response {
    let message: ClientJsonRpcMessage = match serde_json::from_str(&body) {
        Ok(m) => m,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("not a JSON-RPC message: {e}"),
            );
        }
    };
    let sender = s
        .sse
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&q.session_id)
        .cloned();
    match sender {
        None => json_error(
            StatusCode::NOT_FOUND,
            format!("no SSE session {:?}; open GET /sse first", q.session_id),
        ),
        Some(mut tx) => match tx.send(message).await {
            Ok(()) => (StatusCode::ACCEPTED, "Accepted").into_response(),
            Err(_) => json_error(StatusCode::GONE, "the SSE session has ended".into()),
        },
    }
}
