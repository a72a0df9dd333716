//! kubectl_patch: strategic, merge and JSON patches.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to patch
    pub resource_type: String,
    /// Name of the resource
    pub name: String,
    /// Namespace of the resource
    pub namespace: Option<String>,
    /// strategic (default), merge or json
    pub patch_type: Option<String>,
    /// The patch: an object (strategic/merge) or an array of operations (json)
    pub patch_data: Option<serde_json::Value>,
    /// Path to a patch file inside the server's allowed directory
    pub patch_file: Option<String>,
    /// Server-side dry run
    #[serde(default)]
    pub dry_run: bool,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_patch",
    })
}
