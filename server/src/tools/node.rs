//! node_management: cordon, uncordon and drain through the Eviction API.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// cordon, drain or uncordon
    pub operation: String,
    /// Name of the node
    pub node_name: Option<String>,
    /// Also delete pods no controller manages
    #[serde(default)]
    pub force: bool,
    /// Grace period for evicted pods (-1: the pod's own)
    pub grace_period: Option<i64>,
    /// Also evict pods using emptyDir volumes
    #[serde(default)]
    pub delete_local_data: bool,
    /// Skip DaemonSet-managed pods
    #[serde(default = "yes")]
    pub ignore_daemonsets: bool,
    /// How long to wait for the drain, e.g. 60s ("0": a bounded default)
    pub timeout: Option<String>,
    /// Show what would happen without doing it
    #[serde(default)]
    pub dry_run: bool,
    /// Must be true for drain to proceed
    #[serde(default)]
    pub confirm_drain: bool,
}

fn yes() -> bool {
    true
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "node_management",
    })
}
