//! port_forward / stop_port_forward: local listeners forwarding through the API server.
use super::{Ctx, ToolError, ToolResult};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::{AbortHandle, JoinSet};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// pod or service
    pub resource_type: String,
    /// Name of the pod or service
    pub resource_name: String,
    /// Local port to listen on (127.0.0.1)
    pub local_port: u16,
    /// Port on the pod or service
    pub target_port: u16,
    /// Namespace of the resource
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StopArgs {
    /// Id returned by port_forward
    pub id: String,
}

const TOOL: ToolId = ToolId::PortForward;
const MAX_FORWARDS: usize = 32;

struct Forward {
    handle: AbortHandle,
    description: String,
}

/// The port-forwards this server holds, so cleanup can stop them all.
#[derive(Default)]
pub struct Registry {
    forwards: Mutex<BTreeMap<String, Forward>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Forward>> {
        self.forwards.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops every forward; returns how many there were.
    pub fn stop_all(&self) -> usize {
        let mut map = self.lock();
        let n = map.len();
        for (_, f) in std::mem::take(&mut *map) {
            f.handle.abort();
        }
        n
    }

    /// Stops one forward; returns its description.
    pub fn stop(&self, id: &str) -> Option<String> {
        let f = self.lock().remove(id)?;
        f.handle.abort();
        Some(f.description)
    }

    /// The running forwards as `id: description`.
    pub fn list(&self) -> Vec<String> {
        self.lock()
            .iter()
            .map(|(id, f)| format!("{id}: {}", f.description))
            .collect()
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn insert(&self, id: String, handle: AbortHandle, description: String) {
        self.lock().insert(
            id,
            Forward {
                handle,
                description,
            },
        );
    }
}

fn invalid(reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool: TOOL,
        reason: reason.into(),
    }
}

fn pod_ready(p: &Pod) -> bool {
    let st = p.status.as_ref();
    st.and_then(|s| s.phase.as_deref()) == Some("Running")
        && st
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The container port a service port leads to on `pod`: a numeric
/// targetPort, or a named one looked up in the pod's containers.
pub fn container_port(svc: &Service, service_port: u16, pod: &Pod) -> Result<u16, String> {
    let ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let Some(p) = ports.iter().find(|p| p.port == i32::from(service_port)) else {
        let known: Vec<String> = ports.iter().map(|p| p.port.to_string()).collect();
        return Err(format!(
            "the service has no port {service_port}; its ports are {}",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ));
    };
    match &p.target_port {
        None => Ok(service_port),
        Some(IntOrString::Int(n)) => {
            u16::try_from(*n).map_err(|_| format!("targetPort {n} is out of range"))
        }
        Some(IntOrString::String(name)) => pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .flat_map(|c| c.ports.iter().flatten())
            .find(|cp| cp.name.as_deref() == Some(name.as_str()))
            .and_then(|cp| u16::try_from(cp.container_port).ok())
            .ok_or_else(|| format!("no container of the chosen pod names a port {name:?}")),
    }
}

pub async fn start(ctx: &Ctx, args: Args) -> ToolResult {
    if args.target_port == 0 {
        return Err(invalid("targetPort must be 1-65535"));
    }
    if ctx.forwards.len() >= MAX_FORWARDS {
        return Err(ToolError::Invalid(format!(
            "{MAX_FORWARDS} port-forwards are already running; stop some with stop_port_forward or cleanup"
        )));
    }
    let client = ctx.client(None).await?;
    let ns = ctx.namespace(args.namespace.as_deref()).await?;
    let pods = Api::<Pod>::namespaced(client.clone(), &ns);
    let (pod, port, shown) = match args.resource_type.to_ascii_lowercase().as_str() {
        "pod" | "pods" | "po" => (
            args.resource_name.clone(),
            args.target_port,
            format!("pod/{}", args.resource_name),
        ),
        "service" | "services" | "svc" => {
            let svc = Api::<Service>::namespaced(client, &ns);
            let (pod, port) = behind_service(&svc, &pods, &ns, &args).await?;
            let shown = format!("service/{} (pod {pod})", args.resource_name);
            (pod, port, shown)
        }
        other => {
            return Err(invalid(format!(
                "resourceType {other:?} is not pod or service"
            )));
        }
    };
    probe(&pods, &ns, &pod, port).await?;
    let listener = TcpListener::bind(("127.0.0.1", args.local_port))
        .await
        .map_err(|e| {
            ToolError::Invalid(format!(
                "cannot listen on 127.0.0.1:{}: {e}",
                args.local_port
            ))
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| ToolError::Invalid(format!("cannot read the listener's address: {e}")))?;
    let id = format!("pf-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let description = format!("127.0.0.1:{} -> {ns}/{shown}:{port}", local.port());
    // Connections made later stay part of this call (its caller's authorization).
    let task = tokio::spawn(crate::call::inherit(serve(listener, pods, pod, port)));
    ctx.forwards
        .insert(id.clone(), task.abort_handle(), description.clone());
    Ok(serde_json::to_string_pretty(&json!({
        "success": true,
        "id": id,
        "localAddress": local.to_string(),
        "message": format!("Forwarding {description}; stop it with stop_port_forward id={id}"),
    }))
    .unwrap_or_default())
}

/// The pod a service forwards to (a ready one, else a running one) and the
/// container port behind `args.target_port`.
async fn behind_service(
    svc: &Api<Service>,
    pods: &Api<Pod>,
    ns: &str,
    args: &Args,
) -> Result<(String, u16), ToolError> {
    let name = &args.resource_name;
    let svc = svc.get(name).await?;
    let selector = svc
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ToolError::Invalid(format!(
                "service {ns}/{name} has no selector, so no pod to forward to"
            ))
        })?;
    let sel = selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let list = pods.list(&ListParams::default().labels(&sel)).await?;
    let running = |p: &&Pod| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    let chosen = list
        .items
        .iter()
        .find(|p| pod_ready(p))
        .or_else(|| list.items.iter().find(running))
        .ok_or_else(|| {
            ToolError::Invalid(format!(
                "service {ns}/{name} selects no running pod ({sel})"
            ))
        })?;
    let port = container_port(&svc, args.target_port, chosen)
        .map_err(|e| ToolError::Invalid(format!("service {ns}/{name}: {e}")))?;
    Ok((chosen.metadata.name.clone().unwrap_or_default(), port))
}

/// Opens one port-forward and closes it, so that an API server or kubelet
/// that cannot forward says so now rather than on the first connection.
async fn probe(pods: &Api<Pod>, ns: &str, pod: &str, port: u16) -> Result<(), ToolError> {
    let probe = tokio::time::timeout(Duration::from_secs(15), pods.portforward(pod, &[port])).await;
    match probe {
        Err(_) => Err(ToolError::Invalid(format!(
            "port-forward to pod {ns}/{pod}:{port} did not open within 15s"
        ))),
        Ok(Err(e @ kube::Error::Api(_))) => Err(e.into()),
        Ok(Err(e)) => Err(ToolError::Invalid(format!(
            "the API server could not open a port-forward to pod {ns}/{pod}:{port}: {e} \
             (the pod's node must serve port-forward through its kubelet; simulated nodes such as kwok's do not)"
        ))),
        Ok(Ok(mut pf)) => {
            let err = pf.take_error(port);
            pf.abort();
            if let Some(err) = err
                && let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(200), err).await
            {
                return Err(ToolError::Invalid(format!(
                    "port-forward to pod {ns}/{pod}:{port} failed: {msg}"
                )));
            }
            Ok(())
        }
    }
}

/// Accepts connections and forwards each through its own port-forward
/// stream. Aborting the task drops the JoinSet, which aborts every connection.
async fn serve(listener: TcpListener, pods: Api<Pod>, pod: String, port: u16) {
    let mut conns = JoinSet::new();
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        while conns.try_join_next().is_some() {}
        let pods = pods.clone();
        let pod = pod.clone();
        conns.spawn(crate::call::inherit(async move {
            let Ok(mut pf) = pods.portforward(&pod, &[port]).await else {
                return;
            };
            let errors = pf.take_error(port);
            if let Some(mut upstream) = pf.take_stream(port) {
                let _ = tokio::io::copy_bidirectional(&mut sock, &mut upstream).await;
                drop(upstream);
            }
            if let Some(errors) = errors
                && let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(1), errors).await
            {
                tracing::warn!(pod = %pod, port, "port-forward connection failed: {msg}");
            }
            let _ = pf.join().await;
        }));
    }
}

pub async fn stop(ctx: &Ctx, args: StopArgs) -> ToolResult {
    match ctx.forwards.stop(&args.id) {
        Some(d) => Ok(format!("Stopped port-forward {}: {d}", args.id)),
        None => {
            let running = ctx.forwards.list();
            Err(ToolError::Invalid(format!(
                "no port-forward with id {:?}; running: {}",
                args.id,
                if running.is_empty() {
                    "none".into()
                } else {
                    running.join("; ")
                }
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ports_map_to_container_ports() {
        let svc: Service = serde_json::from_value(json!({"spec": {"ports": [
            {"port": 80, "targetPort": 8080}, {"port": 81, "targetPort": "web"}, {"port": 82}]}}))
        .unwrap();
        let pod: Pod = serde_json::from_value(json!({"spec": {"containers": [
            {"name": "c", "ports": [{"name": "web", "containerPort": 9090}]}]}}))
        .unwrap();
        assert_eq!(container_port(&svc, 80, &pod), Ok(8080));
        assert_eq!(container_port(&svc, 81, &pod), Ok(9090));
        assert_eq!(container_port(&svc, 82, &pod), Ok(82));
        assert!(
            container_port(&svc, 99, &pod)
                .unwrap_err()
                .contains("80, 81, 82")
        );
    }
}
