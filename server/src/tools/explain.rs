//! explain_resource: field documentation from the API server's OpenAPI v3.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Resource or field path to explain (e.g. 'pods' or 'deployment.spec.template')
    pub resource: String,
    /// API version to use (e.g. 'apps/v1')
    pub api_version: Option<String>,
    /// Print the fields of fields (all levels)
    #[serde(default)]
    pub recursive: bool,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
    /// Output format: plaintext (default) or plaintext-openapiv2
    pub output: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "explain_resource",
    })
}
