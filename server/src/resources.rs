//! MCP resources: k8s://default/pods, k8s://default/deployments,
//! k8s://default/services, k8s://namespaces, k8s://nodes.

use crate::tools::{Ctx, ToolError};
use rmcp::model::Resource;

pub const URIS: &[(&str, &str, &str)] = &[
    (
        "k8s://default/pods",
        "Kubernetes Pods",
        "Pods in the default namespace",
    ),
    (
        "k8s://default/deployments",
        "Kubernetes Deployments",
        "Deployments in the default namespace",
    ),
    (
        "k8s://default/services",
        "Kubernetes Services",
        "Services in the default namespace",
    ),
    (
        "k8s://namespaces",
        "Kubernetes Namespaces",
        "All namespaces",
    ),
    ("k8s://nodes", "Kubernetes Nodes", "All nodes"),
];

pub fn list() -> Vec<Resource> {
    URIS.iter()
        .map(|(uri, name, desc)| {
            let mut r = Resource::new(*uri, *name);
            r.description = Some(desc.to_string());
            r.mime_type = Some("application/json".into());
            r
        })
        .collect()
}

/// The JSON text of a resource.
pub async fn read(_ctx: &Ctx, uri: &str) -> Result<String, ToolError> {
    Err(ToolError::Invalid(format!(
        "resource {uri} is not available yet"
    )))
}
