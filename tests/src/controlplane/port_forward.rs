//! Port-forward to pods on fake nodes: kwok serves the kubelet's
//! pods/portforward and, with `--enable-crds=PortForward`, forwards a pod's
//! streams to the target its PortForward object (named after the pod) gives.

use super::Error;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::{Api, Client};
use std::time::{Duration, Instant};

pub const CRD_YAML: &str = include_str!("../../controlplane/kwok-portforward-crd.yaml");
const CRD_NAME: &str = "portforwards.kwok.x-k8s.io";
/// The kwok flag that makes it watch PortForward objects.
pub const KWOK_FLAG: &str = "--enable-crds=PortForward";

pub async fn install_crd(client: &Client) -> Result<(), Error> {
    let crd: CustomResourceDefinition = serde_saphyr::from_str(CRD_YAML)
        .map_err(|e| Error::State(format!("kwok-portforward-crd.yaml: {e}")))?;
    match Api::<CustomResourceDefinition>::all(client.clone())
        .create(&PostParams::default(), &crd)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Waits until the CRD is served (kwok lists it once at start).
pub async fn wait_established(client: &Client, deadline: Instant) -> Result<(), Error> {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    loop {
        let established = api.get(CRD_NAME).await?.status.is_some_and(|s| {
            s.conditions
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        });
        if established {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::State(format!(
                "{CRD_NAME} was not established in time"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends every port-forward to pod `ns/pod` to 127.0.0.1:`port`.
pub async fn forward_pod(client: &Client, ns: &str, pod: &str, port: u16) -> Result<(), Error> {
    let gvk = GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "PortForward");
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, "portforwards"),
    );
    let obj = serde_json::json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "PortForward",
        "metadata": {"name": pod, "namespace": ns},
        // No `ports`: every port of the pod goes to the one target.
        "spec": {"forwards": [{"target": {"address": "127.0.0.1", "port": port}}]},
    });
    match api
        .patch(
            pod,
            &PatchParams::apply("kube-mcp-tests").force(),
            &Patch::Apply(&obj),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(Error::State(format!(
            "{CRD_NAME} is not served: this cluster was started before kwok forwarded port-forwards; restart it (kube-mcp-dev down, then up)"
        ))),
        Err(e) => Err(e.into()),
    }
}
