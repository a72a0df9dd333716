//! The MCP face of the server: tools/list and tools/call from the catalog
//! through the filter, resources, the prompt, and logging/setLevel.

use crate::call::{self, Call, Session};
use crate::identity::Principal;
use crate::metrics::Metrics;
use crate::tools::{self, Ctx, ToolError};
use crate::{prompts, resources};
use kube_mcp_catalog::{ToolClass, ToolId, ToolSpec};
use rmcp::handler::server::ServerHandler;
use rmcp::model::*;
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The MCP annotations of a catalog entry.
pub fn annotations(spec: &ToolSpec) -> ToolAnnotations {
    let mut a = ToolAnnotations::new()
        .read_only(spec.class == ToolClass::ReadOnly)
        .destructive(spec.class == ToolClass::Destructive)
        .idempotent(spec.idempotent)
        .open_world(spec.open_world);
    a.title = Some(spec.title.to_string());
    a
}

/// The MCP tool definition advertised in tools/list.
pub fn to_tool(spec: &ToolSpec) -> Tool {
    Tool::new(
        spec.name,
        spec.description,
        Arc::new((tools::entry(spec.id).schema)()),
    )
    .with_annotations(annotations(spec))
}

#[derive(Clone)]
pub struct McpHandler {
    pub ctx: Arc<Ctx>,
    pub metrics: Arc<Metrics>,
    tools: Arc<Vec<Tool>>,
    session: Arc<Session>,
}

impl McpHandler {
    pub fn new(ctx: Arc<Ctx>, metrics: Arc<Metrics>) -> Self {
        // Built once: in stateless HTTP mode a handler is made per request.
        let tools = Arc::new(ctx.filter.tools().map(to_tool).collect());
        Self {
            ctx,
            metrics,
            tools,
            session: Arc::default(),
        }
    }

    /// The handler for a new MCP session: shares everything but the
    /// session's own choices.
    pub fn for_session(&self) -> Self {
        self.for_caller(None)
    }

    /// The handler for a session opened by `caller` (legacy SSE, whose
    /// messages carry no HTTP request of their own to the handler).
    pub fn for_caller(&self, caller: Option<Arc<Principal>>) -> Self {
        Self {
            session: Arc::new(Session::for_caller(caller)),
            ..self.clone()
        }
    }

    /// Who made an MCP request: the caller its HTTP request authenticated
    /// as (streamable HTTP), else the session's.
    fn caller_of(&self, context: &RequestContext<RoleServer>) -> Option<Arc<Principal>> {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<Arc<Principal>>().cloned())
            .or_else(|| self.session.caller.clone())
    }

    fn prompt_offered(&self) -> bool {
        prompts::NEEDS.iter().all(|t| self.ctx.filter.allows(*t))
    }

    /// Runs one tool call, bounded in time, and records it.
    pub async fn run_tool(
        &self,
        name: &str,
        args: Option<JsonObject>,
    ) -> Result<CallToolResult, McpError> {
        self.run_tool_as(name, args, self.session.caller.clone())
            .await
    }

    /// [`Self::run_tool`] for `caller`.
    pub async fn run_tool_as(
        &self,
        name: &str,
        args: Option<JsonObject>,
        caller: Option<Arc<Principal>>,
    ) -> Result<CallToolResult, McpError> {
        let Some(spec) = kube_mcp_catalog::find(name) else {
            return Err(McpError::invalid_params(
                format!("unknown tool {name:?}; tools/list shows the tools this server offers"),
                None,
            ));
        };
        if !self.ctx.filter.allows(spec.id) {
            return Err(McpError::invalid_params(
                format!(
                    "tool {name:?} is not enabled on this server (ALLOWED_TOOLS / ALLOW_ONLY_READONLY_TOOLS / ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS)"
                ),
                None,
            ));
        }
        let started = Instant::now();
        let limit = Duration::from_secs(self.ctx.settings.tool_timeout_seconds.max(1));
        let call = Call::by(self.session.clone(), caller);
        let run = tokio::time::timeout(limit, tools::call(&self.ctx, spec.id, args));
        let result = match call::within(call.clone(), run).await {
            Ok(r) => r,
            Err(_) => Err(ToolError::Timeout(spec.id)),
        };
        let took = started.elapsed();
        let outcome = match &result {
            Ok(_) => "ok",
            Err(ToolError::Api(_)) => "api_error",
            Err(ToolError::NotOffered(_)) => "refused",
            Err(ToolError::Timeout(_)) => "timeout",
            Err(_) => "invalid",
        };
        self.metrics.record_call(spec.name, outcome, took);
        tracing::info!(
            tool = spec.name,
            outcome,
            duration_ms = took.as_millis() as u64,
            "tool call"
        );
        // The gate masked every Secret value on the way in; what it masked is
        // also cut from the text going out, errors included.
        Ok(match result {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(
                self.ctx.bound(call.redact(&text)),
            )]),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(call.redact(&e.to_string()))]),
        })
    }
}

impl ServerHandler for McpHandler {
    // Logging is deprecated by SEP-2577, but clients of the 2025 protocol
    // revisions (and the conformance suite) still call logging/setLevel.
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        let caps = ServerCapabilities::builder()
            .enable_logging()
            .enable_prompts()
            .enable_resources()
            .enable_tools()
            .build();
        let mut info = ServerConfig::new(caps).with_instructions(
            "Kubernetes tools with native API access. Tools are filtered by this server's policy; \
             namespaced calls outside its namespace scope are refused; Secret values are masked unless configured otherwise.",
        );
        info.server_info = Implementation::new("kube-mcp-server", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.run_tool_as(&request.name, request.arguments, self.caller_of(&context))
            .await
            .map(Into::into)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        // The resources are kubectl_get listings: offered only where it is.
        let list = if self.ctx.filter.allows(ToolId::KubectlGet) {
            resources::list()
        } else {
            vec![]
        };
        Ok(ListResourcesResult::with_all_items(list))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if !self.ctx.filter.allows(ToolId::KubectlGet)
            || !resources::URIS.iter().any(|(u, _, _)| *u == request.uri)
        {
            return Err(McpError::resource_not_found(
                format!("unknown resource {}", request.uri),
                None,
            ));
        }
        let call = Call::by(self.session.clone(), self.caller_of(&context));
        match call::within(call.clone(), resources::read(&self.ctx, &request.uri)).await {
            Ok(text) => {
                let text = call.redact(&text);
                let contents = ResourceContents::TextResourceContents {
                    uri: request.uri,
                    mime_type: Some("application/json".into()),
                    text: self.ctx.bound(text),
                    meta: None,
                };
                Ok(ReadResourceResult::new(vec![contents]).into())
            }
            Err(e) => Err(McpError::internal_error(call.redact(&e.to_string()), None)),
        }
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(
            if self.prompt_offered() {
                prompts::list()
            } else {
                vec![]
            },
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        if !self.prompt_offered() {
            return Err(McpError::invalid_params(
                format!(
                    "prompt {:?} is not offered: it needs the tools {}, and this server does not enable them all",
                    request.name,
                    prompts::NEEDS
                        .iter()
                        .map(|t| t.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None,
            ));
        }
        let args = request.arguments.unwrap_or_default();
        prompts::get(&request.name, &args)
            .map(|messages| GetPromptResult::new(messages).into())
            .map_err(|e| McpError::invalid_params(e, None))
    }

    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        tracing::info!(level = ?request.level, "client asked for a log level");
        Ok(())
    }
}
