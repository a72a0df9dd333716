//! The server as an OAuth 2.1 protected resource (the MCP authorization
//! spec): its identifier, its metadata document (RFC 9728), and the
//! `WWW-Authenticate` challenges (RFC 6750) that point clients to it.

use super::Failure;
use serde_json::{Value, json};

/// The root of the metadata's well-known path.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// This server as a resource: where it is and who issues tokens for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The canonical URL clients use (RFC 8707: no fragment, no trailing slash).
    pub url: String,
    /// Path of the metadata document: the well-known root plus the URL's path.
    pub metadata_path: String,
    /// Absolute URL of the metadata document.
    pub metadata_url: String,
    pub authorization_servers: Vec<String>,
    pub scopes: Vec<String>,
}

impl Resource {
    /// `url` must be an absolute http(s) URL without query or fragment.
    pub fn new(
        url: &str,
        authorization_servers: Vec<String>,
        scopes: Vec<String>,
    ) -> Result<Self, String> {
        let how = "give the URL clients use for the MCP endpoint, e.g. https://mcp.example.com/mcp";
        let parsed = url::Url::parse(url.trim())
            .map_err(|e| format!("KUBE_MCP_RESOURCE_URL {url:?} is not a URL ({e}); {how}"))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return Err(format!(
                "KUBE_MCP_RESOURCE_URL {url:?} is not an http(s) URL with a host; {how}"
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!(
                "KUBE_MCP_RESOURCE_URL {url:?} has a query or fragment; {how}"
            ));
        }
        let path = parsed.path().trim_end_matches('/').to_string();
        let origin = parsed.origin().ascii_serialization();
        let metadata_path = format!("{WELL_KNOWN}{path}");
        Ok(Self {
            url: format!("{origin}{path}"),
            metadata_url: format!("{origin}{metadata_path}"),
            metadata_path,
            authorization_servers,
            scopes,
        })
    }

    /// The RFC 9728 document.
    pub fn document(&self) -> Value {
        let mut doc = json!({
            "resource": self.url,
            "bearer_methods_supported": ["header"],
            "resource_name": "kube-mcp-server",
        });
        if !self.authorization_servers.is_empty() {
            doc["authorization_servers"] = json!(self.authorization_servers);
        }
        if !self.scopes.is_empty() {
            doc["scopes_supported"] = json!(self.scopes);
        }
        doc
    }
}

/// An auth-param value: quoted-string content without quotes or backslashes.
fn quoted(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '\''
            } else {
                c
            }
        })
        .collect();
    format!("\"{clean}\"")
}

/// The `WWW-Authenticate` value for a refusal; `None` for refusals that are
/// not about the token (the server could not check it).
pub fn challenge(failure: &Failure, resource: Option<&Resource>) -> Option<String> {
    let mut params: Vec<(&str, String)> = vec![];
    match failure {
        Failure::Missing => {}
        Failure::Invalid(why) => {
            params.push(("error", quoted("invalid_token")));
            params.push(("error_description", quoted(why)));
        }
        Failure::InsufficientScope(needed) => {
            params.push(("error", quoted("insufficient_scope")));
            params.push(("scope", quoted(&needed.join(" "))));
            params.push((
                "error_description",
                quoted(&format!(
                    "the token lacks the scope(s) {}",
                    needed.join(" ")
                )),
            ));
        }
        Failure::Unavailable(_) => return None,
    }
    if let Some(r) = resource {
        params.push(("resource_metadata", quoted(&r.metadata_url)));
        if matches!(failure, Failure::Missing) && !r.scopes.is_empty() {
            params.push(("scope", quoted(&r.scopes.join(" "))));
        }
    }
    if params.is_empty() {
        return Some("Bearer".into());
    }
    let list: Vec<String> = params
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    Some(format!("Bearer {}", list.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Resource {
        Resource::new(
            "https://mcp.example.com/mcp/",
            vec!["https://idp.example.com".into()],
            vec!["mcp:tools".into()],
        )
        .unwrap()
    }

    #[test]
    fn urls_are_canonical() {
        let r = r();
        assert_eq!(r.url, "https://mcp.example.com/mcp");
        assert_eq!(r.metadata_path, "/.well-known/oauth-protected-resource/mcp");
        assert_eq!(
            r.metadata_url,
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        let root = Resource::new("http://127.0.0.1:8080", vec![], vec![]).unwrap();
        assert_eq!(root.url, "http://127.0.0.1:8080");
        assert_eq!(root.metadata_path, WELL_KNOWN);
        for bad in [
            "mcp.example.com/mcp",
            "ftp://x/mcp",
            "https://x/mcp?a=1",
            "https://x/mcp#f",
        ] {
            let e = Resource::new(bad, vec![], vec![]).unwrap_err();
            assert!(
                e.contains("KUBE_MCP_RESOURCE_URL") && e.contains("e.g."),
                "{e}"
            );
        }
    }

    #[test]
    fn the_document_names_resource_issuers_and_scopes() {
        assert_eq!(
            r().document(),
            json!({
                "resource": "https://mcp.example.com/mcp",
                "authorization_servers": ["https://idp.example.com"],
                "scopes_supported": ["mcp:tools"],
                "bearer_methods_supported": ["header"],
                "resource_name": "kube-mcp-server",
            })
        );
        let bare = Resource::new("https://x/mcp", vec![], vec![])
            .unwrap()
            .document();
        assert!(
            bare.get("authorization_servers").is_none() && bare.get("scopes_supported").is_none()
        );
    }

    #[test]
    fn challenges() {
        let meta = "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\"";
        let cases = [
            (Failure::Missing, None, Some("Bearer".to_string())),
            (
                Failure::Missing,
                Some(r()),
                Some(format!("Bearer {meta}, scope=\"mcp:tools\"")),
            ),
            (
                Failure::Invalid("it \"expired\"".into()),
                Some(r()),
                Some(format!(
                    "Bearer error=\"invalid_token\", error_description=\"it 'expired'\", {meta}"
                )),
            ),
            (
                Failure::Invalid("wrong token".into()),
                None,
                Some("Bearer error=\"invalid_token\", error_description=\"wrong token\"".into()),
            ),
            (
                Failure::InsufficientScope(vec!["a".into(), "b".into()]),
                Some(r()),
                Some(format!(
                    "Bearer error=\"insufficient_scope\", scope=\"a b\", error_description=\"the token lacks the scope(s) a b\", {meta}"
                )),
            ),
            (Failure::Unavailable("down".into()), Some(r()), None),
        ];
        for (f, res, want) in cases {
            assert_eq!(challenge(&f, res.as_ref()), want, "{f:?}");
        }
    }
}
