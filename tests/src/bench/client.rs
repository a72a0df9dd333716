//! The one MCP client every server is driven with: rmcp over streamable
//! HTTP (the same SDK as `kube_mcp_tests::mcp`), returning errors instead of
//! panicking so that a misbehaving peer is recorded, not fatal.

use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt as _};
use serde_json::Value;

/// What one tools/call returned.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The text content, joined.
    pub text: String,
    /// `isError` of the result (a tool-level failure).
    pub is_error: bool,
}

pub struct Client {
    service: RunningService<RoleClient, ()>,
}

impl Client {
    pub async fn connect(url: &str) -> Result<Client, String> {
        let config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
        let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
        let service = ().serve(transport).await.map_err(|e| e.to_string())?;
        Ok(Client { service })
    }

    pub async fn tools(&self) -> Result<Vec<rmcp::model::Tool>, String> {
        self.service
            .list_all_tools()
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn call(&self, tool: &str, args: &Value) -> Result<Outcome, String> {
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Value::Object(map) = args {
            params = params.with_arguments(map.clone());
        }
        let result = self
            .service
            .call_tool(params)
            .await
            .map_err(|e| e.to_string())?;
        let text = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Outcome {
            text,
            is_error: result.is_error.unwrap_or(false),
        })
    }

    pub async fn close(self) {
        let _ = self.service.cancel().await;
    }
}
