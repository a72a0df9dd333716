//! kubectl_generic: common kubectl verbs mapped onto the native tools.
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// The kubectl command (get, describe, delete, label, annotate, scale, rollout, cordon...)
    pub command: String,
    /// Subcommand, e.g. 'status' for rollout
    pub sub_command: Option<String>,
    /// Resource type
    pub resource_type: Option<String>,
    /// Resource name
    pub name: Option<String>,
    /// Namespace
    pub namespace: Option<String>,
    /// Across all namespaces in scope
    #[serde(default)]
    pub all_namespaces: bool,
    /// Output format
    pub output_format: Option<String>,
    /// Flags as key/value pairs (dangerous flags are refused)
    pub flags: Option<BTreeMap<String, serde_json::Value>>,
    /// Extra positional arguments
    pub args: Option<Vec<String>>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_generic",
    })
}
