//! HTTP transports: streamable HTTP on /mcp (rmcp under axum) and the
//! legacy SSE transport (GET /sse + POST /messages) for older clients,
//! behind one guard (Host/Origin, then the token); /health, /ready and
//! /metrics stay open for probes and scrapers.

use crate::audit::Refuser;
use crate::authn::Failure;
use crate::authn::{Authenticator, resource};
use crate::guard::{Denied, HostGuard};
use crate::handler::McpHandler;
use crate::identity::Principal;
use crate::metrics::StatusLabel;
use crate::origin::{Origin, Transport};
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

/// Bounds on what clients may hold open or send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Sessions held at once, per transport.
    pub max_sessions: usize,
    /// A session idle this long is closed.
    pub idle: Duration,
    /// Largest request body on any route.
    pub max_body_bytes: usize,
    /// A request body must have arrived within this.
    pub body_timeout: Duration,
}

impl Limits {
    pub fn from_settings(s: &crate::config::Settings) -> Self {
        Self {
            max_sessions: s.max_sessions.max(1),
            idle: Duration::from_secs(s.session_idle_seconds.max(1)),
            max_body_bytes: MAX_BODY_BYTES,
            body_timeout: Duration::from_secs(s.body_timeout_seconds.max(1)),
        }
    }
}

/// rmcp's own bound on /mcp; the same for every other route.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// One legacy SSE session: where its messages go, and when it last got one.
struct SseSession {
    to_server: futures::channel::mpsc::Sender<ClientJsonRpcMessage>,
    last_active: std::time::Instant,
    stop: CancellationToken,
    /// Who opened it: its messages must come from the same caller.
    caller: Option<Arc<Principal>>,
}

type SseSessions = Arc<Mutex<HashMap<String, SseSession>>>;

#[derive(Clone)]
struct AppState {
    handler: McpHandler,
    guard: Arc<HostGuard>,
    auth: Arc<Authenticator>,
    sse: SseSessions,
    sessions: Arc<LocalSessionManager>,
    stateless: bool,
    limits: Limits,
    shutdown: CancellationToken,
}

/// Builds the whole router. `stateless`: no sessions, one handler per request.
pub fn router(
    handler: McpHandler,
    guard: HostGuard,
    auth: Authenticator,
    stateless: bool,
    limits: Limits,
    shutdown: CancellationToken,
) -> Router {
    // Idle sessions are closed by rmcp's own keep-alive reaper.
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(limits.idle);
    // No SEP-1699 priming event (empty data, `retry:`) opens a request's
    // stream: the seed sends none, older clients fail to parse it, and strict
    // gateways reject it. It also costs a write per call. See docs/server.md.
    sessions.session_config.sse_retry = None;
    let sessions = Arc::new(sessions);
    let state = AppState {
        handler: handler.clone(),
        guard: Arc::new(guard),
        auth: Arc::new(auth),
        sse: Arc::default(),
        sessions: sessions.clone(),
        stateless,
        limits,
        shutdown: shutdown.clone(),
    };
    tokio::spawn(reap_idle(
        state.sse.clone(),
        sessions.clone(),
        limits.idle,
        shutdown.clone(),
    ));
    // Our guard checks Host and Origin for every MCP route alike, so rmcp's
    // own copy of the check is turned off rather than configured twice.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(!stateless)
        .with_json_response(stateless)
        .with_cancellation_token(shutdown.child_token())
        .disable_allowed_hosts()
        .disable_allowed_origins()
        // No priming either on the initialize answer and the GET stream.
        .with_sse_retry(None);
    let config = config.with_max_request_body_bytes(limits.max_body_bytes);
    let mcp = StreamableHttpService::new(move || Ok(handler.for_session()), sessions, config);
    let protected = Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(state.clone(), cap_sessions))
        .layer(middleware::from_fn(session_closed_status))
        .route("/sse", get(sse_connect))
        .route("/messages", post(sse_message))
        .layer(middleware::from_fn_with_state(state.clone(), read_body))
        .layer(middleware::from_fn_with_state(state.clone(), check_request));
    // RFC 9728 metadata: at the well-known root and with the endpoint's
    // path appended (where MCP clients look first); public by design, and a
    // plain 404 (not a 401) where there is none, so clients stop looking.
    Router::new()
        .route(resource::WELL_KNOWN, get(resource_metadata))
        .route(
            &format!("{}/{{*path}}", resource::WELL_KNOWN),
            get(resource_metadata),
        )
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .merge(protected)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            limits.max_body_bytes,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), count_status))
        .with_state(state)
}

fn too_many_sessions(limits: &Limits, held: usize) -> Response {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "this server holds {held} sessions, its limit (KUBE_MCP_MAX_SESSIONS={}); close sessions you no longer use (HTTP DELETE) or retry later; idle sessions close after {}s",
            limits.max_sessions,
            limits.idle.as_secs()
        ),
    )
}

/// Refuses a new streamable HTTP session (a POST without a session id) once
/// the server holds as many as it may.
async fn cap_sessions(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let opens_session = !s.stateless
        && req.method() == http::Method::POST
        && !req.headers().contains_key("mcp-session-id");
    if opens_session {
        let held = s.sessions.sessions.read().await.len();
        if held >= s.limits.max_sessions {
            tracing::warn!(held, "refused a new MCP session: limit reached");
            return too_many_sessions(&s.limits, held);
        }
    }
    next.run(req).await
}

/// A session closed by HTTP DELETE answers 204 No Content: rmcp says 202
/// Accepted, which the Python SDK (expecting 200 or 204) logs as a failed
/// termination.
async fn session_closed_status(req: Request, next: Next) -> Response {
    let delete = req.method() == http::Method::DELETE;
    let mut resp = next.run(req).await;
    if delete && resp.status() == StatusCode::ACCEPTED {
        *resp.status_mut() = StatusCode::NO_CONTENT;
        *resp.body_mut() = axum::body::Body::empty();
    }
    resp
}

/// Closes legacy SSE sessions that received no message for `idle` (rmcp
/// closes streamable HTTP ones), and gives the memory of closed sessions
/// back to the system.
async fn reap_idle(
    sessions: SseSessions,
    http: Arc<LocalSessionManager>,
    idle: Duration,
    shutdown: CancellationToken,
) {
    let every = (idle / 4).clamp(Duration::from_millis(250), Duration::from_secs(30));
    let mut held_before = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let held = reap_idle_sse(&sessions, idle) + http.sessions.read().await.len();
        if held < held_before {
            kube_mcp_catalog::memory::release_free();
        }
        held_before = held;
    }
}

/// Closes the idle SSE sessions; returns how many are left.
fn reap_idle_sse(sessions: &SseSessions, idle: Duration) -> usize {
    let mut map = sessions.lock().unwrap_or_else(|e| e.into_inner());
    map.retain(|id, session| {
        let keep = session.last_active.elapsed() < idle;
        if !keep {
            tracing::info!(session = %id, "closing an idle SSE session");
            session.stop.cancel();
        }
        keep
    });
    map.len()
}

fn json_error(status: StatusCode, message: String) -> Response {
    let body = json!({"jsonrpc": "2.0", "error": {"code": -32000, "message": message}, "id": null});
    (status, Json(body)).into_response()
}

fn rejected(r: &crate::jsonrpc::Rejection) -> Response {
    (StatusCode::BAD_REQUEST, Json(r.body())).into_response()
}

/// Reads a request's whole body within the body timeout (a client
/// dribbling it is answered 408 and its connection closed), and answers a
/// body on /mcp that is no JSON-RPC message with the JSON-RPC error saying
/// why (rmcp's own answer is a bare 415).
async fn read_body(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(
        *req.method(),
        http::Method::GET | http::Method::HEAD | http::Method::DELETE | http::Method::OPTIONS
    ) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let read = axum::body::to_bytes(body, s.limits.max_body_bytes);
    let bytes = match tokio::time::timeout(s.limits.body_timeout, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|c| c.is::<http_body_util::LengthLimitError>());
            return if too_large {
                json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body is larger than {} bytes",
                        s.limits.max_body_bytes
                    ),
                )
            } else {
                json_error(
                    StatusCode::BAD_REQUEST,
                    format!("could not read the request body: {e}"),
                )
            };
        }
        Err(_) => {
            tracing::warn!(path = %parts.uri.path(), "refused a request: its body did not arrive in time");
            let mut resp = json_error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {}s (KUBE_MCP_BODY_TIMEOUT_SECONDS); send it at once",
                    s.limits.body_timeout.as_secs()
                ),
            );
            // The rest of the body may still be coming: do not read it.
            resp.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            return resp;
        }
    };
    let mcp = parts.uri.path().starts_with("/mcp");
    let resp = next
        .run(Request::from_parts(
            parts,
            axum::body::Body::from(bytes.clone()),
        ))
        .await;
    if mcp
        && resp.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE
        && let Err(r) = crate::jsonrpc::parse(&bytes)
    {
        return rejected(&r);
    }
    resp
}

/// The protected resource metadata document.
async fn resource_metadata(State(s): State<AppState>, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    match &s.auth.resource {
        Some(r) if path == resource::WELL_KNOWN || path == r.metadata_path => (
            [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
            Json(r.document()),
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Host/Origin first (403), then the caller's credentials (401, 403 for a
/// missing scope); each refusal is an audit record. A request let in
/// carries its caller.
async fn check_request(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let refused = |by, rule, reason: &str, req: &Request| {
        let transport = if req.uri().path().starts_with("/mcp") {
            Transport::Http
        } else {
            Transport::Sse
        };
        let origin = Origin::of_headers(transport, req.headers(), req.extensions());
        s.handler.audit.refused_request(
            &origin,
            by,
            rule,
            reason,
            req.method().as_str(),
            req.uri().path(),
        );
    };
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
        let by = match why {
            Denied::Host(_) => Refuser::Host,
            Denied::Origin(_) => Refuser::Origin,
        };
        refused(by, "not_allowed", &why.to_string(), &req);
        return json_error(StatusCode::FORBIDDEN, format!("Forbidden: {why}"));
    }
    match s.auth.authenticate(headers).await {
        Ok(Some(caller)) => {
            req.extensions_mut().insert(caller);
        }
        Ok(None) => {}
        Err(failure) => {
            // Says which case it was, never what was sent.
            let reason = match &failure {
                Failure::Missing => "no token".to_string(),
                Failure::Invalid(why) | Failure::Unavailable(why) => why.clone(),
                Failure::InsufficientScope(s) => format!("missing scope(s) {}", s.join(" ")),
            };
            let status = failure.status();
            tracing::warn!(%client, %reason, path = %req.uri().path(), "refused a request: {status}");
            let rule = match &failure {
                Failure::Missing => "no_token",
                Failure::Invalid(_) => "invalid_token",
                Failure::InsufficientScope(_) => "insufficient_scope",
                Failure::Unavailable(_) => "unavailable",
            };
            refused(Refuser::Auth, rule, &reason, &req);
            let mut resp = json_error(status, failure.message(&s.auth.modes));
            if let Some(c) = resource::challenge(&failure, s.auth.resource.as_ref())
                && let Ok(v) = header::HeaderValue::from_str(&c)
            {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            return resp;
        }
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
    use crate::metrics::TransportLabel;
    let m = &s.handler.metrics;
    let http_sessions = s.sessions.sessions.read().await.len();
    let sse_sessions = s.sse.lock().unwrap_or_else(|e| e.into_inner()).len();
    for (transport, held) in [("http", http_sessions), ("sse", sse_sessions)] {
        m.sessions
            .get_or_create(&TransportLabel { transport })
            .set(i64::try_from(held).unwrap_or(i64::MAX));
    }
    let body = m.encode();
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
async fn sse_connect(State(s): State<AppState>, req: Request) -> Response {
    let caller = req.extensions().get::<Arc<Principal>>().cloned();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_server, from_client) = futures::channel::mpsc::channel::<ClientJsonRpcMessage>(64);
    let (to_client, from_server) = futures::channel::mpsc::channel(64);
    let ct = s.shutdown.child_token();
    {
        let mut map = s.sse.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= s.limits.max_sessions {
            let held = map.len();
            drop(map);
            tracing::warn!(held, "refused a new SSE session: limit reached");
            return too_many_sessions(&s.limits, held);
        }
        map.insert(
            id.clone(),
            SseSession {
                to_server,
                last_active: std::time::Instant::now(),
                stop: ct.clone(),
                caller: caller.clone(),
            },
        );
    }
    let (parts, _) = req.into_parts();
    let origin = Origin {
        session: Some(id.clone()),
        ..Origin::of_http(Transport::Sse, &parts)
    };
    let handler = s.handler.for_client(origin, caller);
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
    caller: Option<axum::Extension<Arc<Principal>>>,
    body: axum::body::Bytes,
) -> Response {
    let caller = caller.map(|axum::Extension(c)| c);
    let message = match crate::jsonrpc::parse(&body) {
        Ok(m) => m,
        Err(r) => return rejected(&r),
    };
    let sender = s
        .sse
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(&q.session_id)
        .map(|session| {
            let same = match (&session.caller, &caller) {
                (Some(a), Some(b)) => a.same_caller(b),
                (None, None) => true,
                _ => false,
            };
            if same {
                session.last_active = std::time::Instant::now();
            }
            same.then(|| session.to_server.clone())
        });
    match sender {
        Some(None) => json_error(
            StatusCode::FORBIDDEN,
            "Forbidden: this SSE session was opened by another caller; open your own with GET /sse"
                .into(),
        ),
        None => json_error(
            StatusCode::NOT_FOUND,
            format!("no SSE session {:?}; open GET /sse first", q.session_id),
        ),
        Some(Some(mut tx)) => match tx.send(message).await {
            Ok(()) => (StatusCode::ACCEPTED, "Accepted").into_response(),
            Err(_) => json_error(StatusCode::GONE, "the SSE session has ended".into()),
        },
    }
}
