//! A local port forwarded to a pod's port through the API server and the
//! pod's kubelet, one port-forward stream per connection (what
//! `kubectl port-forward` does).

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Listens on a free loopback port and forwards each connection to `port`
/// of `pod`. Returns the local port and the task (abort it to stop).
pub async fn port_forward(
    pods: Api<Pod>,
    pod: String,
    port: u16,
) -> std::io::Result<(u16, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let local = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let pods = pods.clone();
            let pod = pod.clone();
            tokio::spawn(async move {
                let mut pf = match pods.portforward(&pod, &[port]).await {
                    Ok(pf) => pf,
                    Err(e) => {
                        tracing::warn!(%pod, port, error = %e, "port-forward failed");
                        return;
                    }
                };
                if let Some(mut upstream) = pf.take_stream(port) {
                    let _ = tokio::io::copy_bidirectional(&mut sock, &mut upstream).await;
                }
                let _ = pf.join().await;
            });
        }
    });
    Ok((local, task))
}
