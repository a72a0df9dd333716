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

use crate::authz::{CallerAuthorizer, CallerLayer};
use crate::call;
use crate::cluster::{ClusterAccess, ClusterError};
use crate::config::{Authorize, SecretsMode, Settings};
use crate::discovery::{Discovery, DiscoveryError, Resource};
use crate::filter::ToolFilter;
use crate::gate::{self, GateLayer};
use crate::scope::{OutOfScope, Scope};
use futures::future::BoxFuture;
use kube::Client;
use kube_mcp_catalog::ToolId;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::RwLock;

/// Why a tool call failed. The text is shown to the model, so each variant
/// says what was wrong and how to fix it, and none carries secret values.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("invalid arguments for {tool}: {reason}")]
    InvalidArgs { tool: ToolId, reason: String },
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
    #[error(
        "{0} is not enabled on this server (ALLOWED_TOOLS / ALLOW_ONLY_READONLY_TOOLS / ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS, secrets mode, namespace scope)"
    )]
    NotOffered(ToolId),
    #[error("{0} timed out; narrow the request or raise KUBE_MCP_TOOL_TIMEOUT_SECONDS")]
    Timeout(ToolId),
    #[error(transparent)]
    UnknownResource(#[from] crate::resources::Unknown),
}

pub type ToolResult = Result<String, ToolError>;

/// What a tool call returns: the text every client sees and, for tools
/// whose result is data, the same data as JSON (`structuredContent`).
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub text: String,
    pub structured: Option<Value>,
}

impl Output {
    pub fn data(text: String, structured: Value) -> Self {
        Self {
            text,
            structured: Some(structured),
        }
    }

    /// `text` with `data` (of the type the tool's output schema is made
    /// from) as its structured result.
    pub fn typed<T: serde::Serialize>(text: String, data: &T) -> CallResult {
        let v = serde_json::to_value(data)
            .map_err(|e| ToolError::Invalid(format!("cannot render the structured result: {e}")))?;
        Ok(Self::data(text, v))
    }

    /// `text` that is a JSON object (kubectl_get -o json), also as the
    /// structured result; any other text stays text only.
    pub fn json_text(text: String) -> Self {
        let structured = serde_json::from_str::<Value>(&text)
            .ok()
            .filter(Value::is_object);
        Self { text, structured }
    }
}

impl From<String> for Output {
    fn from(text: String) -> Self {
        Self {
            text,
            structured: None,
        }
    }
}

pub type CallResult = Result<Output, ToolError>;

/// The API server's own words, with the status code and reason it gave.
fn api_message(e: &kube::Error) -> String {
    if let Some(refusal) = gate::refusal(e) {
        return format!("refused by this server: {refusal}");
    }
    match e {
        kube::Error::Api(s) => {
            // 401's hint comes with describe(); these are about the call itself.
            let hint = match s.code {
                403 => {
                    " (the server's identity lacks RBAC permission for this; ask for a Role that grants it)"
                }
                404 => " (check the name, namespace and resource type)",
                409 => " (the object changed or already exists; read it again and retry)",
                422 => " (the object is invalid; fix the fields named above)",
                _ => "",
            };
            format!("{}{hint}", kube_mcp_catalog::apiserver::describe(e, None))
        }
        // No answer: the API server's URL and the root cause.
        other => kube_mcp_catalog::apiserver::describe(other, None),
    }
}

/// What stays the same between calls: settings, discovery, the live client.
pub struct Ctx {
    pub settings: Arc<Settings>,
    /// The tools this server offers; every call, delegated ones too, passes it.
    pub filter: ToolFilter,
    pub scope: Scope,
    gate: GateLayer,
    /// Per-caller authorization, under the gate (KUBE_MCP_AUTHORIZE=caller).
    caller_check: Option<CallerLayer>,
    pub discovery: Discovery,
    live: RwLock<Live>,
    pub forwards: port_forward::Registry,
    /// Which calls ask the user first, and how.
    pub confirm: crate::confirm::Confirmations,
}

struct Live {
    access: ClusterAccess,
    context: Option<String>,
    client: Client,
    default_namespace: String,
}

/// A client for `config` behind the gate: the only kind of client a tool
/// gets. Its transport errors name the API server (under the gate, so the
/// gate's refusals stay recognisable). With per-caller authorization, the
/// caller's review sits between the gate and a buffer (it sends a request
/// only once the review allows it, so it needs a service it can clone).
fn gated(
    config: kube::Config,
    gate: &GateLayer,
    caller: Option<&CallerLayer>,
) -> Result<Client, ToolError> {
    let builder = kube_mcp_catalog::apiserver::client_builder(config)?;
    Ok(match caller {
        None => builder.with_layer(gate).build(),
        Some(c) => builder
            .with_layer(&tower::buffer::BufferLayer::new(1024))
            .with_layer(c)
            .with_layer(gate)
            .build(),
    })
}

impl Ctx {
    /// Connects with the configured cluster access.
    pub async fn connect(
        settings: Arc<Settings>,
        filter: ToolFilter,
        access: ClusterAccess,
    ) -> Result<Self, ToolError> {
        let scope = Scope::from_list(&settings.namespaces);
        let config = access.config(None).await?;
        let gate = GateLayer::new(gate::Policy {
            scope: scope.clone(),
            secrets: settings.secrets_mode(),
            workloads: crate::workload::Rules {
                own_service_account: crate::cluster::service_account_of(&config),
                forbid_secret_refs: settings.secrets_mode() == SecretsMode::Hidden,
            },
        });
        let default_namespace = config.default_namespace.clone();
        let caller_check = match settings.authorize {
            Authorize::Endpoint => None,
            Authorize::Caller => Some(CallerLayer::new(CallerAuthorizer::new(
                kube_mcp_catalog::apiserver::client_builder(config.clone())?.build(),
            ))),
        };
        let client = gated(config, &gate, caller_check.as_ref())?;
        let confirm = crate::confirm::Confirmations::from_settings(&settings)
            .map_err(|e| ToolError::Invalid(e.to_string()))?;
        Ok(Self {
            scope,
            gate,
            caller_check,
            filter,
            settings,
            discovery: Discovery::default(),
            live: RwLock::new(Live {
                context: access.context.clone(),
                access,
                client,
                default_namespace,
            }),
            forwards: port_forward::Registry::default(),
            confirm,
        })
    }

    /// The context a call runs in: the one it names, else the one its
    /// session switched to, else the server's.
    fn wanted_context(context: Option<&str>) -> Option<String> {
        context
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .or_else(|| call::current().and_then(|c| c.session.context()))
    }

    /// The client for a call: the server's, or one for another context
    /// (named by the call or chosen by its session).
    pub async fn client(&self, context: Option<&str>) -> Result<Client, ToolError> {
        let live = self.live.read().await;
        match Self::wanted_context(context).filter(|c| Some(c) != live.context.as_ref()) {
            None => Ok(live.client.clone()),
            Some(c) => {
                self.may_switch_context(&live.access)?;
                gated(
                    live.access.config(Some(&c)).await?,
                    &self.gate,
                    self.caller_check.as_ref(),
                )
            }
        }
    }

    /// Whether calls may use another kubeconfig context than the server's.
    /// A server with a namespace scope or a tool policy was configured for
    /// one cluster; one in a pod has no contexts.
    pub fn may_switch_context(&self, access: &ClusterAccess) -> Result<(), ToolError> {
        let s = &self.settings;
        let why = if access.source == crate::cluster::Source::InCluster {
            Some("it runs in a pod with its ServiceAccount (no kubeconfig contexts)")
        } else if self.caller_check.is_some() {
            Some("it authorizes each caller against its own cluster (KUBE_MCP_AUTHORIZE=caller)")
        } else if !self.scope.is_all() {
            Some("it is limited to some namespaces (KUBE_MCP_NAMESPACES)")
        } else if !s.allowed_tools.is_empty() || s.readonly || s.non_destructive {
            Some(
                "it has a tool policy (ALLOWED_TOOLS / ALLOW_ONLY_*), which holds for its own cluster",
            )
        } else {
            None
        };
        match why {
            Some(w) => Err(ToolError::Invalid(format!(
                "this server does not switch kubeconfig contexts: {w}; leave out `context`"
            ))),
            None => Ok(()),
        }
    }

    pub async fn default_namespace(&self) -> String {
        let live = self.live.read().await;
        match Self::wanted_context(None).filter(|c| Some(c) != live.context.as_ref()) {
            Some(c) => match live.access.config(Some(&c)).await {
                Ok(config) => config.default_namespace,
                Err(_) => live.default_namespace.clone(),
            },
            None => live.default_namespace.clone(),
        }
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

    /// The context the calling session uses.
    pub async fn current_context(&self) -> Option<String> {
        Self::wanted_context(None).or(self.live.read().await.context.clone())
    }

    /// Recreates the client from the same credentials (after an upgrade or
    /// a credential rotation).
    pub async fn reconnect(&self) -> Result<(), ToolError> {
        let mut live = self.live.write().await;
        let config = live.access.config(live.context.as_deref()).await?;
        live.client = gated(config, &self.gate, self.caller_check.as_ref())?;
        drop(live);
        self.discovery.invalidate().await;
        Ok(())
    }

    pub fn secrets(&self) -> SecretsMode {
        self.settings.secrets_mode()
    }

    /// Whether `r` is Secrets on a server that hides them: no tool,
    /// resource or completion shows them.
    pub fn hides(&self, r: &Resource) -> bool {
        self.secrets() == SecretsMode::Hidden
            && r.api.group.is_empty()
            && r.api.plural == crate::catalog::SECRETS
    }

    /// Resolves a resource name and refuses Secrets when they are hidden.
    pub async fn resolve(&self, client: &Client, name: &str) -> Result<Resource, ToolError> {
        let r = self.discovery.resolve(client, name).await?;
        if self.hides(&r) {
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
    tool: ToolId,
    args: Option<Map<String, Value>>,
) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(args.unwrap_or_default())).map_err(|e| {
        ToolError::InvalidArgs {
            tool,
            reason: e.to_string(),
        }
    })
}

/// Parses a tool's arguments without running it.
pub type ArgsCheck = fn(ToolId, Option<Map<String, Value>>) -> Result<(), ToolError>;

/// A tool's handler: its arguments as the client sent them, parsed inside.
pub type Handler =
    for<'a> fn(&'a Ctx, ToolId, Option<Map<String, Value>>) -> BoxFuture<'a, CallResult>;

/// The server side of a catalog entry: its input schema, the schema of its
/// structured result (tools whose every result is data), and its handler.
pub struct Entry {
    pub schema: fn() -> Map<String, Value>,
    pub output_schema: Option<fn() -> Map<String, Value>>,
    pub run: Handler,
    /// Parses arguments as `run` does, and only that (the fuzz target).
    pub parse: ArgsCheck,
}

/// The one table from tool to code: an exhaustive match, so a tool added to
/// the catalog does not compile until it has a handler here, and no tool
/// name is spelled twice.
pub fn entry(id: ToolId) -> Entry {
    macro_rules! with_args {
        ($args:ty, $f:path) => {
            with_args!($args, $f, None)
        };
        ($args:ty, $f:path, $out:expr) => {
            Entry {
                schema: schema::<$args>,
                output_schema: $out,
                run: |ctx, id, args| {
                    Box::pin(async move { $f(ctx, parse_args(id, args)?).await.map(Output::from) })
                },
                parse: |id, args| parse_args::<$args>(id, args).map(drop),
            }
        };
    }
    macro_rules! no_args {
        ($f:expr) => {
            Entry {
                schema: no_args,
                output_schema: None,
                run: |ctx, _, _| Box::pin(async move { $f(ctx).await.map(Output::from) }),
                parse: |_, _| Ok(()),
            }
        };
    }
    use ToolId::*;
    match id {
        KubectlGet => with_args!(get::Args, get::run),
        KubectlDescribe => with_args!(describe::Args, describe::run),
        KubectlLogs => with_args!(logs::Args, logs::run),
        KubectlContext => with_args!(context::Args, context::run, Some(context::output_schema)),
        KubectlReconnect => no_args!(reconnect),
        ExplainResource => with_args!(explain::Args, explain::run, Some(explain::output_schema)),
        ListApiResources => with_args!(
            api_resources::Args,
            api_resources::run,
            Some(api_resources::output_schema)
        ),
        Ping => no_args!(|_| async { Ok("pong".to_string()) }),
        KubectlApply => with_args!(apply::Args, apply::run),
        KubectlCreate => with_args!(create::Args, create::run),
        KubectlScale => with_args!(scale::Args, scale::run),
        KubectlPatch => with_args!(patch::Args, patch::run),
        KubectlRollout => with_args!(rollout::Args, rollout::run, Some(rollout::output_schema)),
        KubectlDelete => with_args!(delete::Args, delete::run),
        KubectlGeneric => with_args!(generic::Args, generic::run),
        InstallHelmChart => with_args!(helm::InstallArgs, helm::install),
        UninstallHelmChart => with_args!(helm::UninstallArgs, helm::uninstall),
        UpgradeHelmChart => with_args!(helm::UpgradeArgs, helm::upgrade),
        NodeManagement => with_args!(node::Args, node::run),
        ExecInPod => with_args!(exec::Args, exec::run),
        PortForward => with_args!(port_forward::Args, port_forward::start),
        StopPortForward => with_args!(port_forward::StopArgs, port_forward::stop),
        Cleanup => no_args!(cleanup),
    }
}

async fn reconnect(ctx: &Ctx) -> ToolResult {
    ctx.reconnect().await?;
    Ok("Reconnected to the Kubernetes API server: API clients were recreated and discovery will be refreshed.".into())
}

async fn cleanup(ctx: &Ctx) -> ToolResult {
    let n = ctx.forwards.stop_all();
    Ok(format!("Cleanup done: stopped {n} port-forward(s)."))
}

/// Runs tool `id`: the one place every call, a delegated one too, passes
/// the filter.
pub async fn call(ctx: &Ctx, id: ToolId, args: Option<Map<String, Value>>) -> CallResult {
    if !ctx.filter.allows(id) {
        return Err(ToolError::NotOffered(id));
    }
    (entry(id).run)(ctx, id, args).await
}

/// `from` doing the work of `to` (kubectl_generic): only a tool `from`
/// declares in the catalog, and only when the filter offers it.
pub async fn delegate(ctx: &Ctx, from: ToolId, to: ToolId, args: Map<String, Value>) -> CallResult {
    require(ctx, from, to)?;
    call(ctx, to, Some(args)).await
}

/// Checks that `from` may do `to`'s work here, for work `from` does itself
/// under `to`'s rules (kubectl_generic's label and annotate).
pub fn require(ctx: &Ctx, from: ToolId, to: ToolId) -> Result<(), ToolError> {
    if !from.spec().delegates.contains(&to) {
        return Err(ToolError::Invalid(format!(
            "{from} does not declare {to} as a delegate in the catalog"
        )));
    }
    if !ctx.filter.allows(to) {
        return Err(ToolError::Invalid(format!(
            "{from} would run {to}, which is not enabled on this server; this command is refused"
        )));
    }
    Ok(())
}

/// A tool's input schema from its argument type: an object, inlined, no title.
pub fn schema<T: schemars::JsonSchema>() -> Map<String, Value> {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    let obj = schema
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut obj: Map<String, Value> = obj
        .into_iter()
        .filter(|(k, _)| k != "$schema" && k != "title")
        .collect();
    obj.entry("type")
        .or_insert_with(|| Value::String("object".into()));
    obj
}

fn no_args() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), Value::String("object".into()));
    m.insert("properties".into(), Value::Object(Map::new()));
    m
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
        let err = parse_args::<get::Args>(ToolId::KubectlGet, Some(Map::new()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("kubectl_get") && err.contains("resourceType"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;
    use kube_mcp_catalog::CATALOG;

    #[test]
    fn every_schema_is_an_object_with_seed_arguments() {
        for t in CATALOG {
            let s = (entry(t.id).schema)();
            assert_eq!(
                s.get("type"),
                Some(&Value::String("object".into())),
                "{}",
                t.name
            );
        }
        let get = (entry(ToolId::KubectlGet).schema)();
        let props = get["properties"].as_object().unwrap();
        for arg in [
            "resourceType",
            "name",
            "namespace",
            "output",
            "allNamespaces",
            "labelSelector",
            "fieldSelector",
            "sortBy",
            "context",
        ] {
            assert!(props.contains_key(arg), "kubectl_get lacks {arg}");
        }
        assert_eq!(get["required"], serde_json::json!(["resourceType"]));
    }
}
