//! kubectl_get: any kind, by any of its names, through discovery.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to get (e.g., pods, deploy, svc, mcpe, or a CRD's plural/kind/short name)
    pub resource_type: String,
    /// Name of the resource (optional - if not provided, lists all resources of the specified type)
    pub name: Option<String>,
    /// Namespace of the resource (optional - defaults to the server's default namespace)
    pub namespace: Option<String>,
    /// Output format: json (default), yaml, wide, name, table or custom
    pub output: Option<String>,
    /// If true, list across all namespaces in this server's scope
    #[serde(default)]
    pub all_namespaces: bool,
    /// Filter resources by label selector (e.g. 'app=nginx')
    pub label_selector: Option<String>,
    /// Filter resources by field selector (e.g. 'metadata.name=my-pod')
    pub field_selector: Option<String>,
    /// Sort by a JSONPath-like field (e.g. '.metadata.creationTimestamp'); events sort by time by default
    pub sort_by: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_get",
    })
}
