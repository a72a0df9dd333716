//! A loopback TCP proxy a test can cut, to partition one client (an
//! operator replica, say) from the API server while everything else still
//! reaches it. Point the client's kubeconfig at [`Proxy::url`]: the API
//! server's certificate names 127.0.0.1, whatever the port.
//!
//! [`Proxy::block`] stops every byte both ways and holds new connections
//! unanswered, as a partition does. [`Proxy::heal`] resets every
//! connection opened before it (what is left of TCP connections after a
//! long partition) and lets traffic through again; what a client sent into
//! the partition is dropped, never delivered late.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A running proxy; stops (and closes every connection) when dropped.
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    blocked: watch::Sender<bool>,
    /// The connections of the current generation: cancelled by `heal`.
    generation: Arc<Mutex<CancellationToken>>,
    accepted: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let (blocked, _) = watch::channel(false);
        let generation = Arc::new(Mutex::new(stop.child_token()));
        let accepted = Arc::new(AtomicU64::new(0));
        let proxy = Proxy {
            addr,
            upstream,
            blocked,
            generation: generation.clone(),
            accepted: accepted.clone(),
            stop: stop.clone(),
        };
        let open = proxy.blocked.subscribe();
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    _ = stop.cancelled() => return,
                    c = listener.accept() => c,
                };
                let Ok((conn, _)) = conn else { continue };
                let _ = conn.set_nodelay(true);
                accepted.fetch_add(1, Ordering::Relaxed);
                let cut = generation.lock().unwrap_or_else(|e| e.into_inner()).clone();
                tokio::spawn(relay(conn, upstream, open.clone(), cut));
            }
        });
        Ok(proxy)
    }

    /// Where clients connect: `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>`, for a kubeconfig.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Where it forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Partitions: no byte passes either way until [`Self::heal`].
    pub fn block(&self) {
        self.blocked.send_replace(true);
    }

    /// Ends the partition: connections opened before are reset, new ones pass.
    pub fn heal(&self) {
        let old = {
            let mut g = self.generation.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *g, self.stop.child_token())
        };
        old.cancel();
        self.blocked.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Waits until traffic may pass.
async fn opened(blocked: &mut watch::Receiver<bool>) {
    // Err: the proxy is gone, and `cut` ends the relay.
    let _ = blocked.wait_for(|b| !*b).await;
}

async fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    mut blocked: watch::Receiver<bool>,
    cut: CancellationToken,
) {
    let run = async {
        opened(&mut blocked).await;
        let server = TcpStream::connect(upstream).await?;
        let _ = server.set_nodelay(true);
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        let (a, b) =
            futures::future::join(pump(cr, sw, blocked.clone()), pump(sr, cw, blocked.clone()))
                .await;
        a.and(b)
    };
    tokio::select! {
        _ = cut.cancelled() => {}
        _ = run => {}
    }
}

/// Copies one direction; bytes read while blocked are held until the block
/// ends (and dropped if the connection is reset first).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut blocked: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        opened(&mut blocked).await;
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        opened(&mut blocked).await;
        to.write_all(&buf[..n]).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = c.read(&mut buf).await {
                        if n == 0 || c.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn roundtrip(c: &mut TcpStream, msg: &[u8], within: Duration) -> Option<Vec<u8>> {
        c.write_all(msg).await.ok()?;
        let mut buf = vec![0u8; msg.len()];
        tokio::time::timeout(within, c.read_exact(&mut buf))
            .await
            .ok()?
            .ok()?;
        Some(buf)
    }

    #[tokio::test]
    async fn passes_blocks_and_resets_on_heal() {
        let proxy = Proxy::start(echo_server().await).await.unwrap();
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        let ms = Duration::from_millis(500);
        assert_eq!(
            roundtrip(&mut c, b"one", ms).await.as_deref(),
            Some(&b"one"[..])
        );

        proxy.block();
        assert_eq!(roundtrip(&mut c, b"two", ms).await, None, "blocked");
        let mut during = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut during, b"new", ms).await, None, "blocked");

        proxy.heal();
        // What was sent into the partition is never delivered: the connection is reset.
        let mut rest = [0u8; 8];
        let n = tokio::time::timeout(ms, c.read(&mut rest)).await.unwrap();
        assert!(matches!(n, Ok(0) | Err(_)), "old connection reset: {n:?}");
        let mut after = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(
            roundtrip(&mut after, b"three", ms).await.as_deref(),
            Some(&b"three"[..])
        );
        assert_eq!(proxy.accepted(), 3);
    }
}
