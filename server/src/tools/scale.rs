//! kubectl_scale: the scale subresource of a workload.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Name of the workload
    pub name: String,
    /// Namespace of the workload
    pub namespace: Option<String>,
    /// Number of replicas
    pub replicas: i32,
    /// deployment (default), statefulset or replicaset
    pub resource_type: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_scale",
    })
}
