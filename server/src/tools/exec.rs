//! exec_in_pod: a command through the API server's exec endpoint.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Pod name
    pub name: String,
    /// Namespace of the pod
    pub namespace: Option<String>,
    /// Command as an array of strings, the executable first
    pub command: Vec<String>,
    /// Container name
    pub container: Option<String>,
    /// Timeout in milliseconds
    pub timeout: Option<u64>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "exec_in_pod",
    })
}
