//! The accept loop: HTTP/1.1 connections with a deadline on each request's
//! headers (slowloris), a bound on the connections held at once, and a
//! bounded graceful shutdown. `axum::serve` installs no timer, which leaves
//! hyper's header timeout inert, so the loop is ours. HTTP/1.1 only: MCP
//! clients speak it, and hyper's HTTP/1-or-2 detection would wait on a
//! silent client without any deadline.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Open streams (SSE) can hold a graceful shutdown open; this bounds it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// After a failed accept (out of file descriptors): let some close first.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Bounds on connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// A request's headers must arrive within this; it also closes a
    /// kept-alive connection that stays quiet this long.
    pub header_timeout: Duration,
    /// Connections held at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl ConnLimits {
    pub fn from_settings(s: &crate::config::Settings) -> Self {
        Self {
            header_timeout: Duration::from_secs(s.header_timeout_seconds.max(1)),
            max_connections: s.max_connections.max(1),
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets open connections
/// finish for at most [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            _ = shutdown.cancelled() => break,
        };
        let (tcp, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        // Small JSON-RPC replies: without NODELAY, Nagle + delayed ACK add ~40 ms a call.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let app = app.clone();
        // Connect info gives the auth check the client's address for its log line.
        let service = hyper::service::service_fn(move |mut req: http::Request<_>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            app.clone().oneshot(req.map(Body::new))
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(tcp), service));
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = conn.await {
                // Header timeouts land here: the slow client's problem, not ours.
                tracing::debug!(client = %remote, error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
}
