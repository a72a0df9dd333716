//! kubectl_context: list, get or set the kubeconfig context the server uses.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Operation to perform: list contexts, get the current context, or set the current context
    #[serde(default = "default_operation")]
    pub operation: String,
    /// Name of the context to set as current (required for set operation)
    pub name: Option<String>,
    /// When listing contexts, highlight which one is currently active
    #[serde(default = "yes")]
    pub show_current: bool,
    /// Include cluster and user details in the output
    #[serde(default)]
    pub detailed: bool,
    /// Output format: json (default), yaml, name or custom
    pub output: Option<String>,
}

fn default_operation() -> String {
    "list".into()
}
fn yes() -> bool {
    true
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_context",
    })
}
