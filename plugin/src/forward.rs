//! The local end of `connect`: a loopback listener whose connections each
//! become one port-forward stream through the API server to a Ready pod
//! behind the endpoint's Service (what `kubectl port-forward svc/<name>` does).
//! The pod is picked again when its stream cannot be opened, so a rolled pod
//! costs one failed attempt, not the session.

use crate::error::Error;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};

/// The Service's port 80 and the pods it selects.
pub struct Backend {
    pods: Api<Pod>,
    namespace: String,
    service: String,
    selector: String,
    target: IntOrString,
    current: Mutex<Option<(String, u16)>>,
}

impl Backend {
    pub async fn resolve(
        client: &Client,
        namespace: &str,
        service: &str,
        port: i32,
    ) -> Result<Self, Error> {
        let svc = Api::<Service>::namespaced(client.clone(), namespace)
            .get(service)
            .await
            .map_err(|e| {
                if crate::error::is_status(&e, 404) {
                    Error::Endpoint(format!(
                        "the endpoint's Service {namespace}/{service} does not exist yet: the operator creates it (see the endpoint's Ready condition: `kubectl mcp list -n {namespace}`)"
                    ))
                } else {
                    Error::from_kube(e, format!("get services in namespace {namespace}"))
                }
            })?;
        let spec = svc.spec.unwrap_or_default();
        let selector = spec
            .selector
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let target = spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .find(|p| p.port == port)
            .map(|p| p.target_port.unwrap_or(IntOrString::Int(p.port)))
            .ok_or_else(|| {
                Error::Endpoint(format!("Service {namespace}/{service} has no port {port}"))
            })?;
        if selector.is_empty() {
            return Err(Error::Endpoint(format!(
                "Service {namespace}/{service} selects no pods (it has no selector)"
            )));
        }
        Ok(Self {
            pods: Api::namespaced(client.clone(), namespace),
            namespace: namespace.into(),
            service: service.into(),
            selector,
            target,
            current: Mutex::new(None),
        })
    }

    /// A Ready pod and its port, the last one used unless `fresh`.
    pub async fn pick(&self, fresh: bool) -> Result<(String, u16), Error> {
        if !fresh
            && let Some(p) = self
                .current
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        {
            return Ok(p);
        }
        let pods = self
            .pods
            .list(&ListParams::default().labels(&self.selector))
            .await
            .map_err(|e| {
                Error::from_kube(e, format!("list pods in namespace {}", self.namespace))
            })?;
        let picked = pods
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
            .find_map(|p| Some((p.name_any(), container_port(p, &self.target)?)))
            .ok_or_else(|| Error::NoReadyPod {
                namespace: self.namespace.clone(),
                service: self.service.clone(),
                selector: self.selector.clone(),
            })?;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(picked.clone());
        Ok(picked)
    }

    async fn forward(&self, mut sock: TcpStream) -> Result<(), String> {
        let mut last = String::new();
        for fresh in [false, true] {
            let (pod, port) = self.pick(fresh).await.map_err(|e| e.to_string())?;
            match self.pods.portforward(&pod, &[port]).await {
                Ok(mut pf) => {
                    let Some(mut upstream) = pf.take_stream(port) else {
                        return Err(format!("pod {pod}: no stream for port {port}"));
                    };
                    // A client closing its end mid-response is ordinary.
                    let _ = tokio::io::copy_bidirectional(&mut sock, &mut upstream).await;
                    drop(upstream);
                    let _ = pf.join().await;
                    return Ok(());
                }
                Err(e) => last = format!("pod {pod} port {port}: {e}"),
            }
        }
        Err(last)
    }
}

/// The port a Service's targetPort names on `pod` (numbers pass as they are).
fn container_port(pod: &Pod, target: &IntOrString) -> Option<u16> {
    match target {
        IntOrString::Int(n) => u16::try_from(*n).ok(),
        IntOrString::String(name) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Binds 127.0.0.1:`port` (0: a free one).
pub async fn listen(port: u16) -> Result<TcpListener, Error> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| Error::Listen { port, source })
}

/// Forwards every accepted connection until `stop` resolves.
pub async fn serve(listener: TcpListener, backend: Arc<Backend>, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((sock, _)) => {
                    let backend = backend.clone();
                    tokio::spawn(async move {
                        if let Err(e) = backend.forward(sock).await {
                            tracing::warn!(error = %e, "port-forward failed");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "accept failed"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, ContainerPort, PodSpec};

    #[test]
    fn target_ports_resolve_by_name_or_number() {
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    ports: Some(vec![ContainerPort {
                        name: Some("http".into()),
                        container_port: 8080,
                        ..ContainerPort::default()
                    }]),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            ..Pod::default()
        };
        let cases = [
            (IntOrString::String("http".into()), Some(8080)),
            (IntOrString::String("metrics".into()), None),
            (IntOrString::Int(9000), Some(9000)),
            (IntOrString::Int(70000), None),
        ];
        for (target, want) in cases {
            assert_eq!(container_port(&pod, &target), want, "{target:?}");
        }
    }
}
