//! kubectl_apply: server-side apply of one or many documents.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// YAML or JSON manifest to apply (one or many documents)
    pub manifest: Option<String>,
    /// Path to a manifest file inside the server's allowed directory
    pub filename: Option<String>,
    /// Namespace for objects that do not name one
    pub namespace: Option<String>,
    /// Server-side dry run: validate and show the result without persisting
    #[serde(default)]
    pub dry_run: bool,
    /// Take ownership of fields another manager owns (force conflicts)
    #[serde(default)]
    pub force: bool,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_apply",
    })
}
