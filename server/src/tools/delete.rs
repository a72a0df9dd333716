//! kubectl_delete: by name, by selector or by manifest.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to delete
    pub resource_type: Option<String>,
    /// Name of the resource
    pub name: Option<String>,
    /// Namespace of the resource
    pub namespace: Option<String>,
    /// Delete everything matching this label selector
    pub label_selector: Option<String>,
    /// Delete the objects a manifest names
    pub manifest: Option<String>,
    /// Path to a manifest file inside the server's allowed directory
    pub filename: Option<String>,
    /// Delete across every namespace in this server's scope
    #[serde(default)]
    pub all_namespaces: bool,
    /// Delete immediately (grace period 0)
    #[serde(default)]
    pub force: bool,
    /// Grace period in seconds
    pub grace_period_seconds: Option<i64>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_delete",
    })
}
