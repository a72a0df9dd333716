//! list_api_resources: what the cluster serves, from discovery.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Only resources of this API group ('' or 'core' for the core group)
    pub api_group: Option<String>,
    /// If set, only namespaced (true) or only cluster-scoped (false) resources
    pub namespaced: Option<bool>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
    /// Only resources that support all these verbs
    pub verbs: Option<Vec<String>>,
    /// Output format: wide (default), name or no-headers
    pub output: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "list_api_resources",
    })
}
