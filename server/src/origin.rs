//! Where an MCP request came from: the caller, the transport, the session
//! and the client's address, as the audit log and the traces name them.

use crate::identity::{Method, Principal};
use axum::extract::ConnectInfo;
use rmcp::RoleServer;
use rmcp::service::RequestContext;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// How a caller proved who it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallerAuth {
    /// Nothing: the server checks no credentials (or speaks stdio to its parent).
    #[default]
    None,
    /// The server's shared token (MCP_AUTH_TOKEN / KUBE_MCP_AUTH_TOKEN_FILE).
    Token,
    /// A ServiceAccount token (TokenReview).
    Kubernetes,
    /// A JWT from the OIDC issuer.
    Oidc,
}

/// Who made a request, as the audit log names it: how it authenticated,
/// and, for per-caller identities, the Kubernetes user name and groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub auth: CallerAuth,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl Caller {
    pub fn with(auth: CallerAuth) -> Self {
        Self {
            auth,
            ..Self::default()
        }
    }

    /// The caller the authentication layer let in; `None`: no credentials
    /// were asked for.
    pub fn of(principal: Option<&Principal>) -> Self {
        let Some(p) = principal else {
            return Self::default();
        };
        Self {
            auth: match p.method {
                Method::Token => CallerAuth::Token,
                Method::Kubernetes => CallerAuth::Kubernetes,
                Method::Oidc => CallerAuth::Oidc,
            },
            subject: p.username.clone(),
            groups: p.groups.clone(),
        }
    }
}

/// The MCP transports, as `network.transport`-like names in records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Stdio,
    /// Streamable HTTP on /mcp.
    Http,
    /// The legacy SSE transport (/sse + /messages).
    Sse,
}

/// The origin of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub transport: Transport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub caller: Caller,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// The header streamable HTTP carries the session id in.
pub const SESSION_HEADER: &str = "mcp-session-id";

impl Origin {
    /// The origin of a request over HTTP, from what the HTTP layer left in
    /// its extensions (the caller, the connection's address).
    pub fn of_http(transport: Transport, parts: &http::request::Parts) -> Self {
        Self::of_headers(transport, &parts.headers, &parts.extensions)
    }

    /// [`Self::of_http`] from a request's headers and extensions.
    pub fn of_headers(
        transport: Transport,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Self {
        Self {
            transport,
            session: headers
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            request_id: None,
            caller: Caller::of(extensions.get::<Arc<Principal>>().map(|p| &**p)),
            client: extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.to_string()),
        }
    }

    /// The origin of an MCP request: streamable HTTP requests carry their
    /// HTTP parts; stdio and legacy SSE ones get their session's `fallback`.
    pub fn of(context: &RequestContext<RoleServer>, fallback: &Origin) -> Self {
        let mut origin = match context.extensions.get::<http::request::Parts>() {
            Some(parts) => Self::of_http(Transport::Http, parts),
            None => fallback.clone(),
        };
        origin.request_id = Some(context.id.to_string());
        origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_origin_reads_the_session_header_caller_and_address() {
        let mut req = http::Request::builder()
            .header(SESSION_HEADER, "abc")
            .body(())
            .unwrap();
        req.extensions_mut()
            .insert(Arc::new(Principal::shared_token()));
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4242))));
        let (parts, ()) = req.into_parts();
        let o = Origin::of_http(Transport::Http, &parts);
        assert_eq!(o.session.as_deref(), Some("abc"));
        assert_eq!(o.caller.auth, CallerAuth::Token);
        assert_eq!(o.client.as_deref(), Some("127.0.0.1:4242"));
        assert_eq!(
            serde_json::to_value(&o).unwrap(),
            serde_json::json!({"transport": "http", "session": "abc", "caller": {"auth": "token"}, "client": "127.0.0.1:4242"})
        );
    }

    #[test]
    fn callers_are_named_from_the_principal() {
        let sa = Principal {
            method: Method::Kubernetes,
            username: Some("system:serviceaccount:a:agent".into()),
            groups: vec!["system:serviceaccounts".into()],
            ..Principal::shared_token()
        };
        for (principal, want) in [
            (None, serde_json::json!({"auth": "none"})),
            (
                Some(Principal::shared_token()),
                serde_json::json!({"auth": "token"}),
            ),
            (
                Some(sa),
                serde_json::json!({"auth": "kubernetes", "subject": "system:serviceaccount:a:agent", "groups": ["system:serviceaccounts"]}),
            ),
        ] {
            let got = serde_json::to_value(Caller::of(principal.as_ref())).unwrap();
            assert_eq!(got, want);
        }
    }
}
