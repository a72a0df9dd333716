//! A real MCP client for tests: the official Rust SDK (rmcp) over
//! streamable HTTP, with the few calls tests need.

use rmcp::model::{
    CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams, ResourceContents,
};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use std::collections::HashMap;

/// The result of a tools/call that the server answered with a result
/// (possibly a tool-level error).
#[derive(Debug, Clone)]
pub struct CallOutcome {
    pub text: String,
    pub is_error: bool,
}

pub struct McpClient {
    service: RunningService<RoleClient, ()>,
}

impl McpClient {
    /// Connects and completes initialize. The token, if any, goes in X-MCP-AUTH.
    pub async fn connect(url: &str, token: Option<&str>) -> Result<Self, String> {
        Self::connect_with(reqwest::Client::new(), url, token).await
    }

    /// Connects sending `token` as `Authorization: Bearer` (ServiceAccount
    /// and OIDC tokens, as MCP clients send OAuth access tokens).
    pub async fn connect_bearer(url: &str, token: &str) -> Result<Self, String> {
        let config =
            StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(token);
        let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
        let service = ().serve(transport).await.map_err(|e| e.to_string())?;
        Ok(Self { service })
    }

    /// [`Self::connect`] over a given HTTP client (e.g. one that resolves a
    /// Service host name to a pod's address, so the Host header is the
    /// Service's).
    pub async fn connect_with(
        http: reqwest::Client,
        url: &str,
        token: Option<&str>,
    ) -> Result<Self, String> {
        let mut headers = HashMap::new();
        if let Some(t) = token {
            headers.insert(
                http::HeaderName::from_static("x-mcp-auth"),
                http::HeaderValue::from_str(t).map_err(|e| e.to_string())?,
            );
        }
        let config =
            StreamableHttpClientTransportConfig::with_uri(url.to_string()).custom_headers(headers);
        let transport = StreamableHttpClientTransport::with_client(http, config);
        let service = ().serve(transport).await.map_err(|e| e.to_string())?;
        Ok(Self { service })
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
            .unwrap_or_else(|e| panic!("tools/list failed: {e}"));
        tools.into_iter().map(|t| t.name.to_string()).collect()
    }

    pub async fn tools(&self) -> Vec<rmcp::model::Tool> {
        self.try_tools()
            .await
            .unwrap_or_else(|e| panic!("tools/list failed: {e}"))
    }

    /// tools/list; a failure is `Err` (for drivers that record, not panic).
    pub async fn try_tools(&self) -> Result<Vec<rmcp::model::Tool>, String> {
        self.service
            .list_all_tools()
            .await
            .map_err(|e| e.to_string())
    }

    /// tools/call; a JSON-RPC error (unknown or filtered tool) is `Err`.
    pub async fn try_call(&self, tool: &str, args: Value) -> Result<CallOutcome, String> {
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Value::Object(map) = args {
            params = params.with_arguments(map);
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
            .unwrap_or_else(|e| panic!("resources/list failed: {e}"));
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
