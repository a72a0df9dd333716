//! kubectl_rollout: status, history, undo, restart, pause, resume.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// history, pause, restart, resume, status or undo
    pub sub_command: String,
    /// deployment, daemonset or statefulset
    pub resource_type: String,
    /// Name of the workload
    pub name: String,
    /// Namespace of the workload
    pub namespace: Option<String>,
    /// Revision to show in history
    pub revision: Option<i64>,
    /// Revision to roll back to with undo
    pub to_revision: Option<i64>,
    /// How long status waits, e.g. 30s or 2m
    pub timeout: Option<String>,
    /// Wait for the rollout to finish (bounded by timeout)
    #[serde(default)]
    pub watch: bool,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_rollout",
    })
}
