//! The MCP face of the server: tools/list and tools/call from the catalog
//! through the filter, resources, the prompt, and logging/setLevel.

use crate::audit::{self, Audit};
use crate::call::{self, Call, Session};
use crate::confirm::{self, Verdict};
use crate::identity::Principal;
use crate::metrics::Metrics;
use crate::origin::Origin;
use crate::telemetry::{self, Named};
use crate::tools::{self, Ctx, ToolError};
use crate::{complete, prompts, resources, result};
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

/// The MCP tool definition advertised in tools/list, with the schema of
/// its structured result where it has one.
pub fn to_tool(spec: &ToolSpec) -> Tool {
    let entry = tools::entry(spec.id);
    let tool = Tool::new(spec.name, spec.description, Arc::new((entry.schema)()))
        .with_annotations(annotations(spec));
    match entry.output_schema {
        Some(schema) => tool.with_raw_output_schema(Arc::new(schema())),
        None => tool,
    }
}

#[derive(Clone)]
pub struct McpHandler {
    pub ctx: Arc<Ctx>,
    pub metrics: Arc<Metrics>,
    pub audit: Arc<Audit>,
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
            audit: Arc::new(Audit::discard()),
            tools,
            session: Arc::default(),
        }
    }

    /// Records every tool call in `audit`.
    pub fn with_audit(self, audit: Arc<Audit>) -> Self {
        Self { audit, ..self }
    }

    /// The handler for a new MCP session: shares everything but the
    /// session's own choices.
    pub fn for_session(&self) -> Self {
        self.for_client(Origin::default(), None)
    }

    /// The handler for a session whose requests do not carry their origin
    /// and caller to the handler (legacy SSE): `origin` and `caller` are the
    /// request that opened it.
    pub fn for_client(&self, origin: Origin, caller: Option<Arc<Principal>>) -> Self {
        Self {
            session: Arc::new(Session::new(origin, caller)),
            ..self.clone()
        }
    }

    /// Where this session's requests come from unless they say.
    pub fn origin(&self) -> &Origin {
        &self.session.origin
    }

    /// The span of an MCP request this session serves.
    fn span(
        &self,
        context: &RequestContext<RoleServer>,
        method: &'static str,
        named: Named<'_>,
    ) -> tracing::Span {
        if !telemetry::active() {
            return tracing::Span::none();
        }
        let origin = Origin::of(context, &self.session.origin);
        telemetry::request_span(context, &origin, method, named)
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

    /// Runs one tool call: the filter, the confirmation the policy asks
    /// for (the user's time is not the tool's), then the tool bounded in
    /// time, recorded (metrics, the log, the audit log), its result
    /// redacted and bounded.
    pub async fn run_tool(
        &self,
        request: CallToolRequestParams,
        rc: &RequestContext<RoleServer>,
        origin: &Origin,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.as_ref();
        let audit = self.audit.begin(name, request.arguments.as_ref());
        let refuse = |rule, message: String| {
            let outcome = audit::Outcome::Refused {
                by: audit::Refuser::Filter,
                rule,
                reason: message.clone(),
            };
            (outcome, McpError::invalid_params(message, None))
        };
        let Some(spec) = kube_mcp_catalog::find(name) else {
            let (outcome, e) = refuse(
                "unknown_tool",
                format!("unknown tool {name:?}; tools/list shows the tools this server offers"),
            );
            self.audit.finish(audit, origin, outcome, None, 0);
            return Err(e);
        };
        if !self.ctx.filter.allows(spec.id) {
            let (outcome, e) = refuse(
                "not_enabled",
                format!(
                    "tool {name:?} is not enabled on this server (ALLOWED_TOOLS / ALLOW_ONLY_READONLY_TOOLS / ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS)"
                ),
            );
            self.audit.finish(audit, origin, outcome, None, 0);
            return Err(e);
        }
        let args = request.arguments.clone().unwrap_or_default();
        let call = Call::by(self.session.clone(), self.caller_of(rc));
        let verdict = call::within(
            call.clone(),
            confirm::check(&self.ctx, spec.id, &args, &request, rc),
        )
        .await;
        match verdict {
            Verdict::Run => {}
            Verdict::Refuse(why) => {
                self.record(spec, "declined", Duration::ZERO);
                let r = result::failure(&call, &why);
                let outcome = audit::Outcome::Refused {
                    by: audit::Refuser::Confirm,
                    rule: "declined",
                    reason: why,
                };
                self.audit
                    .finish(audit, origin, outcome, Some(&call), size(&r));
                return Ok(r.into());
            }
            // The call goes on when the client answers: recorded then.
            Verdict::Ask(question) => return Ok(question.into()),
            Verdict::Reject(e) => {
                let outcome = audit::Outcome::ToolError {
                    reason: e.message.to_string(),
                };
                self.audit.finish(audit, origin, outcome, Some(&call), 0);
                return Err(e);
            }
        }
        let started = Instant::now();
        let limit = Duration::from_secs(self.ctx.settings.tool_timeout_seconds.max(1));
        let run = tokio::time::timeout(limit, tools::call(&self.ctx, spec.id, Some(args)));
        let result = match call::within(call.clone(), run).await {
            Ok(r) => r,
            Err(_) => Err(ToolError::Timeout(spec.id)),
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(ToolError::Api(_)) => "api_error",
            Err(ToolError::NotOffered(_)) => "refused",
            Err(ToolError::Timeout(_)) => "timeout",
            Err(_) => "invalid",
        };
        self.record(spec, outcome, started.elapsed());
        // The gate masked every Secret value on the way in; what it masked is
        // also cut from what goes out, structured content and errors included.
        let outcome = audit::Outcome::of(&result);
        let r = match result {
            Ok(out) => result::success(&self.ctx, &call, out),
            Err(e) => result::failure(&call, &e.to_string()),
        };
        self.audit
            .finish(audit, origin, outcome, Some(&call), size(&r));
        Ok(r.into())
    }

    fn record(&self, spec: &ToolSpec, outcome: &'static str, took: Duration) {
        self.metrics.record_call(spec.name, outcome, took);
        tracing::info!(
            tool = spec.name,
            outcome,
            duration_ms = took.as_millis() as u64,
            "tool call"
        );
    }

    /// resources/read: a kubectl_get listing, masked and bounded.
    async fn read(
        &self,
        request: ReadResourceRequestParams,
        caller: Option<Arc<Principal>>,
    ) -> Result<ReadResourceResponse, McpError> {
        if !self.ctx.filter.allows(ToolId::KubectlGet) || !resources::is_known(&request.uri) {
            return Err(McpError::resource_not_found(
                format!("unknown resource {}", request.uri),
                Some(serde_json::json!({"uri": request.uri})),
            ));
        }
        let call = Call::by(self.session.clone(), caller);
        match call::within(call.clone(), resources::read(&self.ctx, &request.uri)).await {
            Err(ToolError::UnknownResource(e)) => Err(McpError::resource_not_found(
                call.redact(&e.to_string()),
                Some(serde_json::json!({"uri": request.uri})),
            )),
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
}

impl ServerHandler for McpHandler {
    // Logging is deprecated by SEP-2577, but clients of the 2025 protocol
    // revisions (and the conformance suite) still call logging/setLevel.
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        let caps = ServerCapabilities::builder()
            .enable_completions()
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
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let span = self.span(&context, "tools/list", Named::Nothing);
        let list = async { Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone())) };
        telemetry::traced(span, list, |_| false).await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    // rmcp keeps a standard method with bad params as a custom request and
    // would answer "Method not found"; say what is wrong instead.
    async fn on_custom_request(
        &self,
        request: rmcp::model::CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CustomResult, McpError> {
        Err(crate::jsonrpc::unmatched(&request.method, request.params))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let origin = Origin::of(&context, &self.session.origin);
        let span =
            telemetry::request_span(&context, &origin, "tools/call", Named::Tool(&request.name));
        let run = self.run_tool(request, &context, &origin);
        telemetry::traced(
            span,
            run,
            |r| matches!(r, CallToolResponse::Complete(c) if c.is_error == Some(true)),
        )
        .await
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
        let span = self.span(&context, "resources/read", Named::Resource(&request.uri));
        let caller = self.caller_of(&context);
        telemetry::traced(span, self.read(request, caller), |_| false).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let list = if self.ctx.filter.allows(ToolId::KubectlGet) {
            resources::templates()
        } else {
            vec![]
        };
        Ok(ListResourceTemplatesResult::with_all_items(list))
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let offered = (
            self.prompt_offered(),
            self.ctx.filter.allows(ToolId::KubectlGet),
        );
        let run = complete::complete(&self.ctx, &request, offered.0, offered.1);
        match call::within(Call::new(self.session.clone()), run).await {
            Ok(info) => Ok(CompleteResult::new(info)),
            Err(e) => Err(McpError::invalid_params(e.to_string(), None)),
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

/// The bytes of a result's text, as the audit log counts its output.
fn size(r: &CallToolResult) -> usize {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.len()))
        .sum()
}
