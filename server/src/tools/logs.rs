//! kubectl_logs: logs of a pod, or of the pods a workload selects.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to get logs from: pod, deployment, job or cronjob
    pub resource_type: String,
    /// Name of the resource
    pub name: String,
    /// Namespace of the resource
    pub namespace: Option<String>,
    /// Container name (required when the pod has more than one container)
    pub container: Option<String>,
    /// Number of lines to show from the end of the logs
    pub tail: Option<i64>,
    /// Show logs newer than a relative duration like 5s, 2m, or 3h
    pub since: Option<String>,
    /// Show logs since an RFC3339 timestamp
    pub since_time: Option<String>,
    /// Include timestamps on each line
    #[serde(default)]
    pub timestamps: bool,
    /// Show the logs of the previous instance of the container
    #[serde(default)]
    pub previous: bool,
    /// Stream new lines for a bounded time (see KUBE_MCP_FOLLOW_SECONDS)
    #[serde(default)]
    pub follow: bool,
    /// Select pods by label instead of by owner
    pub label_selector: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_logs",
    })
}
