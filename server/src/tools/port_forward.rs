//! port_forward / stop_port_forward: local listeners forwarding through the API server.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// pod or service
    pub resource_type: String,
    /// Name of the pod or service
    pub resource_name: String,
    /// Local port to listen on (127.0.0.1)
    pub local_port: u16,
    /// Port on the pod or service
    pub target_port: u16,
    /// Namespace of the resource
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StopArgs {
    /// Id returned by port_forward
    pub id: String,
}

/// The port-forwards this server holds, so cleanup can stop them all.
#[derive(Default)]
pub struct Registry {
    pub(crate) forwards:
        std::sync::Mutex<std::collections::BTreeMap<String, tokio::task::AbortHandle>>,
}

impl Registry {
    /// Stops every forward; returns how many there were.
    pub fn stop_all(&self) -> usize {
        let mut map = self.forwards.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.len();
        for (_, h) in std::mem::take(&mut *map) {
            h.abort();
        }
        n
    }
}

pub async fn start(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "port_forward",
    })
}

pub async fn stop(_ctx: &super::Ctx, _args: StopArgs) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "stop_port_forward",
    })
}
