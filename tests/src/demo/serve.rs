//! How the demo's endpoint is served: by a real node, or by the kubelet
//! harness where this machine cannot run one.

use super::{ENDPOINT, NAMESPACE, step};
use crate::controlplane::ControlPlane;
use crate::kubelet::Kubelet;
use anyhow::Context;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client};
use std::time::{Duration, Instant};

/// The endpoint's server as this machine serves it.
pub(super) struct Served {
    /// `http://127.0.0.1:PORT/mcp`, what a client on this machine uses.
    pub local: String,
    /// `ip:port` the operator verifies through (in place of cluster DNS).
    pub verify_addr: String,
    /// Keeps a harness process or a port-forward alive.
    _keep: Box<dyn std::any::Any>,
}

/// The endpoint's pod in a real container: the kubelet pulls nothing (the
/// image was imported), runs it under the Deployment's security context and
/// probes it; this machine reaches it through the API server's port-forward.
pub(super) async fn real(client: &Client, started: Instant) -> anyhow::Result<Served> {
    step(
        started,
        "waiting for the endpoint's pod: the kubelet runs the kube-mcp-server image in a real container",
    );
    let pods = Api::<Pod>::namespaced(client.clone(), NAMESPACE);
    let selector = format!("app.kubernetes.io/instance={ENDPOINT}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let pod = loop {
        let list = pods.list(&ListParams::default().labels(&selector)).await?;
        if let Some(p) = list.items.into_iter().find(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        }) {
            break p;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the endpoint's pod was not Ready within 120s (kubectl describe pod -n {NAMESPACE})"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let ip = status.pod_ip.clone().context("the Ready pod has no IP")?;
    let image = status
        .container_statuses
        .and_then(|c| c.into_iter().next())
        .map(|c| c.image)
        .unwrap_or_default();
    println!(
        "Pod {NAMESPACE}/{name} runs {image} in a real container on node {} (IP {ip}), \
         user 65532, read-only root, Pod Security restricted",
        crate::node::NODE_NAME
    );
    let (port, forward) = crate::forward::port_forward(pods, name, 8080).await?;
    Ok(Served {
        local: format!("http://127.0.0.1:{port}/mcp"),
        verify_addr: format!("{ip}:8080"),
        _keep: Box::new(AbortOnDrop(forward)),
    })
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The kubelet harness and its sync loop, stopped together.
struct Harness(Kubelet, tokio::task::JoinHandle<()>);

impl Drop for Harness {
    fn drop(&mut self) {
        self.1.abort();
        self.0.stop_all();
    }
}

/// No container runtime: the kubelet harness starts kube-mcp-server for the pod.
pub(super) async fn harness(
    client: &Client,
    cp: &ControlPlane,
    started: Instant,
) -> anyhow::Result<Served> {
    let server = crate::bins::try_path("kube-mcp-server")
        .context("kube-mcp-server is not built: run `cargo build --workspace --bins`")?;
    let kubelet = Kubelet::new(
        client.clone(),
        cp,
        NAMESPACE,
        &format!("app.kubernetes.io/instance={ENDPOINT}"),
        &server,
    );
    step(
        started,
        "waiting for the endpoint's pod; the kubelet harness runs kube-mcp-server for it",
    );
    let local = kubelet.wait_serving(Duration::from_secs(90)).await?;
    // `kubectl port-forward` and `kubectl mcp connect` reach the process too.
    kubelet.forward_ports().await?;
    let verify_addr = local
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    let sync = kubelet.spawn_loop(Duration::from_secs(2));
    Ok(Served {
        local,
        verify_addr,
        _keep: Box::new(Harness(kubelet, sync)),
    })
}
