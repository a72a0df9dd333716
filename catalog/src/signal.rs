//! Which signal asks a binary to stop, so both can log why they stop.

/// Waits for SIGINT (Ctrl-C) or SIGTERM and names the one that came.
pub async fn stop_signal() -> &'static str {
    let ctrl_c = async {
        // Without a handler Ctrl-C still kills the process; just never resolve.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => "SIGINT",
        _ = term => "SIGTERM",
    }
}
