//! kubectl_describe: the object in readable form plus its recent Events.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to describe (e.g., pods, deployments, services)
    pub resource_type: String,
    /// Name of the resource to describe
    pub name: String,
    /// Namespace of the resource (optional - defaults to the server's default namespace)
    pub namespace: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
    /// If true, look for the resource in every namespace in scope
    #[serde(default)]
    pub all_namespaces: bool,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_describe",
    })
}
