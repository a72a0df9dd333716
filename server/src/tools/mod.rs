//! The tools, one module each, and what they share: the context a call runs
//! in, the error a call can end with, and the dispatch from a name.

pub mod api_resources;
pub mod apply;
pub mod context;
pub mod create;
pub mod delete;
pub mod describe;
pub mod duration;
pub mod exec;
pub mod explain;
pub mod files;
pub mod flags;
pub mod generic;
pub mod get;
pub mod helm;
pub mod logs;
pub mod manifest;
pub mod node;
pub mod patch;
pub mod port_forward;
pub mod rollout;
pub mod scale;

use crate::cluster::{ClusterAccess, ClusterError};
use crate::config::{SecretsMode, Settings};
use crate::discovery::{Discovery, DiscoveryError, Resource};
use crate::scope::{OutOfScope, Scope};
use kube::Client;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::RwLock;

/// Why a tool call failed. The text is shown to the model, so each variant
/// says what was wrong and how to fix it, and none carries secret values.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("invalid arguments for {tool}: {reason}")]
    InvalidArgs { tool: &'static str, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    OutOfScope(#[from] OutOfScope),
    #[error(
        "Secrets are hidden on this server (KUBE_MCP_SECRETS=hidden); no tool reads or writes them"
    )]
    SecretsHidden,
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("{}", api_message(.0))]
    Api(#[from] kube::Error),
    #[error("{tool} is not available yet in kube-mcp-server")]
    NotImplemented { tool: &'static str },
    #[error("{0} timed out; narrow the request or raise KUBE_MCP_TOOL_TIMEOUT_SECONDS")]
    Timeout(&'static str),
}

pub type ToolResult = Result<String, ToolError>;

/// The API server's own words, with the status code and reason it gave.
fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => {
            let hint = match s.code {
                401 => " (the server's credentials were rejected; check its token or kubeconfig)",
                403 => {
                    " (the server's identity lacks RBAC permission for this; ask for a Role that grants it)"
                }
                404 => " (check the name, namespace and resource type)",
                409 => " (the object changed or already exists; read it again and retry)",
                422 => " (the object is invalid; fix the fields named above)",
                _ => "",
            };
            format!(
                "the API server answered {} {}: {}{hint}",
                s.code, s.reason, s.message
            )
        }
        other => format!("the API server could not be reached: {other}"),
    }
}

/// What stays the same between calls: settings, discovery, the live client.
pub struct Ctx {
    pub settings: Arc<Settings>,
    pub scope: Scope,
    pub discovery: Discovery,
    live: RwLock<Live>,
    pub forwards: port_forward::Registry,
}

struct Live {
    access: ClusterAccess,
    context: Option<String>,
    client: Client,
    default_namespace: String,
}

impl Ctx {
    /// Connects with the configured cluster access.
    pub async fn connect(
        settings: Arc<Settings>,
        access: ClusterAccess,
    ) -> Result<Self, ToolError> {
        let config = access.config(None).await?;
        let default_namespace = config.default_namespace.clone();
        let client = Client::try_from(config)?;
        Ok(Self {
            scope: Scope::from_list(&settings.namespaces),
            settings,
            discovery: Discovery::default(),
            live: RwLock::new(Live {
                context: access.context.clone(),
                access,
                client,
                default_namespace,
            }),
            forwards: port_forward::Registry::default(),
        })
    }

    /// The client for a call: the live one, or one for the context the call names.
    pub async fn client(&self, context: Option<&str>) -> Result<Client, ToolError> {
        let live = self.live.read().await;
        match context.filter(|c| !c.is_empty() && Some(*c) != live.context.as_deref()) {
            None => Ok(live.client.clone()),
            Some(c) => Ok(Client::try_from(live.access.config(Some(c)).await?)?),
        }
    }

    pub async fn default_namespace(&self) -> String {
        self.live.read().await.default_namespace.clone()
    }

    /// The namespace a call targets, checked against the scope.
    pub async fn namespace(&self, requested: Option<&str>) -> Result<String, ToolError> {
        let ns = match requested.filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => self.default_namespace().await,
        };
        self.scope.check(&ns)?;
        Ok(ns)
    }

    pub async fn access(&self) -> ClusterAccess {
        self.live.read().await.access.clone()
    }

    pub async fn current_context(&self) -> Option<String> {
        self.live.read().await.context.clone()
    }

    /// Switches later calls to `context`.
    pub async fn set_context(&self, context: &str) -> Result<(), ToolError> {
        let mut live = self.live.write().await;
        let config = live.access.config(Some(context)).await?;
        live.default_namespace = config.default_namespace.clone();
        live.client = Client::try_from(config)?;
        live.context = Some(context.to_string());
        drop(live);
        self.discovery.invalidate().await;
        Ok(())
    }

    /// Recreates the client from the same credentials (after an upgrade or
    /// a credential rotation).
    pub async fn reconnect(&self) -> Result<(), ToolError> {
        let mut live = self.live.write().await;
        let config = live.access.config(live.context.as_deref()).await?;
        live.client = Client::try_from(config)?;
        drop(live);
        self.discovery.invalidate().await;
        Ok(())
    }

    pub fn secrets(&self) -> SecretsMode {
        self.settings.secrets_mode()
    }

    /// Resolves a resource name and refuses Secrets when they are hidden.
    pub async fn resolve(&self, client: &Client, name: &str) -> Result<Resource, ToolError> {
        let r = self.discovery.resolve(client, name).await?;
        if self.secrets() == SecretsMode::Hidden
            && r.api.group.is_empty()
            && r.api.plural == crate::catalog::SECRETS
        {
            return Err(ToolError::SecretsHidden);
        }
        Ok(r)
    }

    /// Masks Secrets inside `v` according to the server's mode.
    pub fn redact(&self, v: &mut Value) {
        crate::mask::redact(v, self.secrets());
    }

    /// Cuts `text` to the configured byte bound with a note saying what was cut.
    pub fn bound(&self, text: String) -> String {
        bound(text, self.settings.max_output_bytes)
    }
}

/// Cuts `text` at a char boundary to at most `max` bytes plus a note.
pub fn bound(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let total = text.len();
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    // End on a whole line where one is near, so tables stay readable.
    if let Some(nl) = text[..cut].rfind('\n')
        && nl > cut / 2
    {
        cut = nl + 1;
    }
    text.truncate(cut);
    text.push_str(&format!(
        "\n[output truncated: showed {cut} of {total} bytes (SPAWN_MAX_BUFFER={max}); narrow it with a namespace, labelSelector, fieldSelector or name]\n"
    ));
    text
}

/// Parses a call's arguments into a tool's argument type.
pub fn parse_args<T: DeserializeOwned>(
    tool: &'static str,
    args: Option<Map<String, Value>>,
) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(args.unwrap_or_default())).map_err(|e| {
        ToolError::InvalidArgs {
            tool,
            reason: e.to_string(),
        }
    })
}

/// Runs the tool `name` (already checked against the filter).
pub async fn call(ctx: &Ctx, name: &'static str, args: Option<Map<String, Value>>) -> ToolResult {
    macro_rules! run {
        ($f:path) => {
            $f(ctx, parse_args(name, args)?).await
        };
    }
    match name {
        "kubectl_get" => run!(get::run),
        "kubectl_describe" => run!(describe::run),
        "kubectl_logs" => run!(logs::run),
        "kubectl_context" => run!(context::run),
        "explain_resource" => run!(explain::run),
        "list_api_resources" => run!(api_resources::run),
        "kubectl_apply" => run!(apply::run),
        "kubectl_create" => run!(create::run),
        "kubectl_scale" => run!(scale::run),
        "kubectl_patch" => run!(patch::run),
        "kubectl_rollout" => run!(rollout::run),
        "kubectl_delete" => run!(delete::run),
        "kubectl_generic" => run!(generic::run),
        "install_helm_chart" => run!(helm::install),
        "upgrade_helm_chart" => run!(helm::upgrade),
        "uninstall_helm_chart" => run!(helm::uninstall),
        "node_management" => run!(node::run),
        "exec_in_pod" => run!(exec::run),
        "port_forward" => run!(port_forward::start),
        "stop_port_forward" => run!(port_forward::stop),
        "cleanup" => {
            let n = ctx.forwards.stop_all();
            Ok(format!("Cleanup done: stopped {n} port-forward(s)."))
        }
        "ping" => Ok("pong".into()),
        "kubectl_reconnect" => {
            ctx.reconnect().await?;
            Ok("Reconnected to the Kubernetes API server: API clients were recreated and discovery will be refreshed.".into())
        }
        other => Err(ToolError::NotImplemented { tool: other }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_cuts_on_a_line_and_says_so() {
        let text = "line one\nline two\nline three\n".to_string();
        let out = bound(text.clone(), 20);
        assert!(out.starts_with("line one\nline two\n"));
        assert!(!out.contains("three"));
        assert!(out.contains("showed 18 of 29 bytes"), "{out}");
        assert_eq!(bound(text.clone(), 100), text);
    }

    #[test]
    fn bound_respects_char_boundaries() {
        let out = bound("ééééé".into(), 3);
        assert!(out.starts_with('é') && !out.starts_with("éé"));
    }

    #[test]
    fn bad_arguments_name_the_tool_and_field() {
        let err = parse_args::<get::Args>("kubectl_get", Some(Map::new()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("kubectl_get") && err.contains("resourceType"),
            "{err}"
        );
    }
}
