//! A real MCP client for tests: the official Rust SDK (rmcp) over
//! streamable HTTP, with the few calls tests need, answering the server's
//! questions (elicitation, 2026-07-28 input requests) as a test tells it.

use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, FormElicitationCapability, GetPromptRequestParams,
    Implementation, ProtocolVersion, ReadResourceRequestParams, ResourceContents,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{
    ClientHandler, ClientLifecycleMode, ClientServiceExt, ErrorData, RoleClient, ServiceExt,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The result of a tools/call that the server answered with a result
/// (possibly a tool-level error).
#[derive(Debug, Clone)]
pub struct CallOutcome {
    pub text: String,
    pub is_error: bool,
    pub structured: Option<Value>,
}

/// How the client answers the server's questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Answer {
    /// Declares no elicitation capability (like most clients today).
    #[default]
    Unsupported,
    /// Accepts with `{"confirm": true}`.
    Yes,
    /// Declines.
    No,
    /// Never answers.
    Never,
}

/// The client side of the server's questions: answers as told and keeps
/// every message it was asked.
#[derive(Debug, Clone, Default)]
pub struct Asker {
    answer: Answer,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Asker {
    pub fn new(answer: Answer) -> Self {
        Self {
            answer,
            asked: Arc::default(),
        }
    }

    /// The messages of the questions asked so far.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl ClientHandler for Asker {
    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        if self.answer != Answer::Unsupported {
            caps.elicitation =
                Some(ElicitationCapability::new().with_form(FormElicitationCapability::default()));
        }
        ClientConfig::new(caps, Implementation::new("kube-mcp-tests", "0"))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request
            && let Ok(mut asked) = self.asked.lock()
        {
            asked.push(message.clone());
        }
        match self.answer {
            Answer::Yes => {
                Ok(ElicitResult::new(ElicitationAction::Accept)
                    .with_content(json!({"confirm": true})))
            }
            Answer::Never => std::future::pending().await,
            Answer::No | Answer::Unsupported => Ok(ElicitResult::new(ElicitationAction::Decline)),
        }
    }
}

/// The HTTP client of the tests' MCP clients. The server closes a keep-alive
/// connection idle for its header timeout (10 s; hyper's header timer also
/// runs while a connection waits for its next request), and reqwest keeps
/// pooled connections 90 s by default: a request sent on one just as the
/// server closes it fails before reaching it (1 call in 17,424 under the
/// soak's load). Like any client of such a server, keep idle connections
/// for less than the server does.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

pub struct McpClient {
    pub service: RunningService<RoleClient, Asker>,
    pub asker: Asker,
}

/// A transport to `url` with the token (if any) in X-MCP-AUTH.
fn transport(
    http: reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> Result<StreamableHttpClientTransport<reqwest::Client>, String> {
    transport_with(http, url, token, &[])
}

/// [`transport`] sending `extra` headers on every request too.
fn transport_with(
    http: reqwest::Client,
    url: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
) -> Result<StreamableHttpClientTransport<reqwest::Client>, String> {
    let mut headers = HashMap::new();
    for (k, v) in extra {
        headers.insert(
            http::HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?,
            http::HeaderValue::from_str(v).map_err(|e| e.to_string())?,
        );
    }
    if let Some(t) = token {
        headers.insert(
            http::HeaderName::from_static("x-mcp-auth"),
            http::HeaderValue::from_str(t).map_err(|e| e.to_string())?,
        );
    }
    let config =
        StreamableHttpClientTransportConfig::with_uri(url.to_string()).custom_headers(headers);
    Ok(StreamableHttpClientTransport::with_client(http, config))
}

impl McpClient {
    /// Connects and completes initialize. The token, if any, goes in X-MCP-AUTH.
    pub async fn connect(url: &str, token: Option<&str>) -> Result<Self, String> {
        Self::connect_with(http_client(), url, token).await
    }

    /// Connects sending `token` as `Authorization: Bearer` (ServiceAccount
    /// and OIDC tokens, as MCP clients send OAuth access tokens).
    pub async fn connect_bearer(url: &str, token: &str) -> Result<Self, String> {
        let config =
            StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(token);
        let transport = StreamableHttpClientTransport::with_client(http_client(), config);
        let asker = Asker::new(Answer::Unsupported);
        let service = asker.clone().serve(transport).await.map_err(|e| why(&e))?;
        Ok(Self { service, asker })
    }

    /// [`Self::connect`] over a given HTTP client (e.g. one that resolves a
    /// Service host name to a pod's address, so the Host header is the
    /// Service's).
    pub async fn connect_with(
        http: reqwest::Client,
        url: &str,
        token: Option<&str>,
    ) -> Result<Self, String> {
        Self::connect_asking(http, url, token, Answer::Unsupported, false).await
    }

    /// Connects answering questions with `answer`: with `modern`, at the
    /// 2026-07-28 revision (server/discover, no session, per-request
    /// metadata, input-required results); else with initialize (2025-11-25).
    pub async fn connect_asking(
        http: reqwest::Client,
        url: &str,
        token: Option<&str>,
        answer: Answer,
        modern: bool,
    ) -> Result<Self, String> {
        let asker = Asker::new(answer);
        let transport = transport(http, url, token)?;
        let service = if modern {
            let lifecycle = ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            };
            asker
                .clone()
                .serve_with_lifecycle(transport, lifecycle)
                .await
        } else {
            asker.clone().serve(transport).await
        }
        .map_err(|e| why(&e))?;
        Ok(Self { service, asker })
    }

    /// [`Self::connect_with`], sending `extra` headers on every request
    /// (e.g. a W3C `traceparent`).
    pub async fn connect_with_headers(
        http: reqwest::Client,
        url: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Self, String> {
        let asker = Asker::new(Answer::Unsupported);
        let transport = transport_with(http, url, token, extra)?;
        let service = asker.clone().serve(transport).await.map_err(|e| why(&e))?;
        Ok(Self { service, asker })
    }

    pub fn server_name(&self) -> Option<String> {
        self.service
            .peer_info()
            .and_then(|i| i.server_info.as_ref().map(|s| s.name.clone()))
    }

    pub async fn list_tools(&self) -> Vec<String> {
        let tools = self
            .service
            .list_all_tools()
            .await
            .unwrap_or_else(|e| panic!("tools/list failed: {}", why(&e)));
        tools.into_iter().map(|t| t.name.to_string()).collect()
    }

    pub async fn tools(&self) -> Vec<rmcp::model::Tool> {
        self.try_tools()
            .await
            .unwrap_or_else(|e| panic!("tools/list failed: {e}"))
    }

    /// tools/list; a failure is `Err` (for drivers that record, not panic).
    pub async fn try_tools(&self) -> Result<Vec<rmcp::model::Tool>, String> {
        self.service.list_all_tools().await.map_err(|e| why(&e))
    }

    /// tools/call; a JSON-RPC error (unknown or filtered tool) is `Err`.
    pub async fn try_call(&self, tool: &str, args: Value) -> Result<CallOutcome, String> {
        self.try_call_with_meta(tool, args, Value::Null).await
    }

    /// [`Self::try_call`] with `params._meta` (an object, e.g. a W3C
    /// `traceparent`; anything else sends none).
    pub async fn try_call_with_meta(
        &self,
        tool: &str,
        args: Value,
        meta: Value,
    ) -> Result<CallOutcome, String> {
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Value::Object(map) = args {
            params = params.with_arguments(map);
        }
        if let Value::Object(map) = meta {
            params.meta = Some(rmcp::model::RequestMetaObject(rmcp::model::MetaObject(map)));
        }
        let result = self
            .service
            .call_tool(params)
            .await
            .map_err(|e| e.to_string())?;
        let text = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(CallOutcome {
            text,
            is_error: result.is_error.unwrap_or(false),
            structured: result.structured_content,
        })
    }

    /// tools/call that must be answered with a result.
    pub async fn call(&self, tool: &str, args: Value) -> CallOutcome {
        self.try_call(tool, args)
            .await
            .unwrap_or_else(|e| panic!("tools/call {tool} failed at the protocol level: {e}"))
    }

    pub async fn list_resources(&self) -> Vec<String> {
        let r = self
            .service
            .list_all_resources()
            .await
            .unwrap_or_else(|e| panic!("resources/list failed: {}", why(&e)));
        r.into_iter().map(|r| r.uri.clone()).collect()
    }

    pub async fn read_resource(&self, uri: &str) -> Result<String, String> {
        let r = self
            .service
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .map_err(|e| e.to_string())?;
        Ok(r.contents
            .into_iter()
            .filter_map(|c| match c {
                ResourceContents::TextResourceContents { text, .. } => Some(text),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"))
    }

    pub async fn get_prompt(&self, name: &str, args: Value) -> Result<String, String> {
        let mut params = GetPromptRequestParams::new(name);
        if let Value::Object(map) = args {
            params = params.with_arguments(map);
        }
        let r = self
            .service
            .get_prompt(params)
            .await
            .map_err(|e| e.to_string())?;
        Ok(serde_json::to_string(&r.messages).unwrap_or_default())
    }

    pub async fn close(self) {
        let _ = self.service.cancel().await;
    }
}

/// One raw 2026-07-28 `kubectl_delete` tools/call (no session; capabilities
/// in `_meta`; the token, if any, in X-MCP-AUTH) with `extra` params
/// (requestState, inputResponses), and its JSON-RPC answer: what a client
/// the test fully controls sends, the untrusted party included.
pub async fn raw_delete_2026(
    url: &str,
    token: Option<&str>,
    args: Value,
    extra: Value,
    elicitation: bool,
) -> Value {
    let caps = if elicitation {
        json!({"elicitation": {"form": {}}})
    } else {
        json!({})
    };
    let mut params = json!({
        "name": "kubectl_delete",
        "arguments": args,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": caps,
        },
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        params[k] = v.clone();
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "kubectl_delete");
    if let Some(t) = token {
        req = req.header("x-mcp-auth", t);
    }
    let text = req
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
        .text()
        .await
        .unwrap_or_default();
    // A JSON body, or the data line of an SSE event.
    let json = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or(&text);
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The inputResponses of a yes to the server's confirmation.
pub fn yes() -> Value {
    json!({"confirm": {"action": "accept", "content": {"confirm": true}}})
}

/// The requestState of an input-required result (panics on anything else).
pub fn request_state(answer: &Value) -> String {
    assert_eq!(answer["result"]["resultType"], "input_required", "{answer}");
    answer["result"]["requestState"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestState: {answer}"))
        .to_string()
}

/// An error with its causes ("a: b: c"), so a transport failure says
/// whether the connection was refused, reset or cut short.
fn why(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
