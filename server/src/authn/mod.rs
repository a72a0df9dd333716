//! Who is calling over HTTP: the shared static token, Kubernetes
//! ServiceAccount tokens (TokenReview) and OIDC JWTs, in any combination
//! (`KUBE_MCP_AUTH_MODES`). A caller's token proves who it is and nothing
//! more: it never becomes the credentials of a Kubernetes request.

pub mod claims;
mod fetch;
pub mod jwks;
pub mod kubernetes;
pub mod oidc;
pub mod resource;

use crate::auth::TokenCheck;
use crate::config::{AuthMode, Authorize, Settings};
use crate::identity::Principal;
use base64::Engine;
use http::StatusCode;
use resource::Resource;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Why a request was not let in. The texts reach the client, so they say
/// what to fix and never carry the token or its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No credentials at all.
    Missing,
    /// Credentials this server does not accept (401, `invalid_token`).
    Invalid(String),
    /// A good token without the scopes every call needs (403).
    InsufficientScope(Vec<String>),
    /// The server could not check the token (503).
    Unavailable(String),
}

impl Failure {
    pub fn status(&self) -> StatusCode {
        match self {
            Failure::Missing | Failure::Invalid(_) => StatusCode::UNAUTHORIZED,
            Failure::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Failure::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The message for the response body.
    pub fn message(&self, modes: &[AuthMode]) -> String {
        match self {
            Failure::Missing => format!(
                "Unauthorized: send {} in the Authorization: Bearer header (or X-MCP-AUTH)",
                how_to_send(modes)
            ),
            Failure::Invalid(why) => format!("Unauthorized: {why}"),
            Failure::InsufficientScope(s) => format!(
                "Forbidden: the token lacks the scope(s) {}; request them from the issuer",
                s.join(" ")
            ),
            Failure::Unavailable(why) => format!("Service Unavailable: {why}"),
        }
    }
}

fn how_to_send(modes: &[AuthMode]) -> String {
    let names: Vec<&str> = modes
        .iter()
        .map(|m| match m {
            AuthMode::Token => "the server's token",
            AuthMode::Kubernetes => "a ServiceAccount token for this server's audience",
            AuthMode::Oidc => "an access token from the OIDC issuer",
        })
        .collect();
    names.join(" or ")
}

/// A configuration the server cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Token(#[from] crate::auth::AuthError),
}

/// sha256 of a token: cache keys never hold the token itself.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A JWT's claims read without checking anything: only to choose which
/// check applies and to bound cache lifetimes.
pub fn unverified_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The credentials a request presents: X-MCP-AUTH (the seed's header) wins
/// over `Authorization: Bearer`; tokens in the URL are never read.
pub fn presented(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get("x-mcp-auth")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Every way in this server accepts.
pub struct Authenticator {
    pub modes: Vec<AuthMode>,
    token: Option<TokenCheck>,
    kubernetes: Option<kubernetes::TokenReviewer>,
    oidc: Option<oidc::OidcVerifier>,
    pub resource: Option<Resource>,
}

/// The modes in effect: as configured, else the token when one is set.
pub fn effective_modes(s: &Settings) -> Vec<AuthMode> {
    if !s.auth_modes.is_empty() {
        let mut m = s.auth_modes.clone();
        m.dedup();
        return m;
    }
    let token_set = s.auth_token_file.is_some()
        || s.auth_token
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty());
    if token_set {
        vec![AuthMode::Token]
    } else {
        vec![]
    }
}

impl Authenticator {
    /// No authentication: every request is let in (loopback use).
    pub fn open() -> Self {
        Self {
            modes: vec![],
            token: None,
            kubernetes: None,
            oidc: None,
            resource: None,
        }
    }

    /// From the settings. `reviews` is a client with the server's own
    /// credentials, without the gate (TokenReview is not a tool's request).
    pub fn from_settings(
        settings: &Settings,
        reviews: Option<kube::Client>,
    ) -> Result<Self, AuthnError> {
        let modes = effective_modes(settings);
        let has = |m| modes.contains(&m);
        let token = if has(AuthMode::Token) {
            Some(match (&settings.auth_token, &settings.auth_token_file) {
                (_, Some(path)) => {
                    TokenCheck::from_file(path.clone(), std::time::Duration::from_secs(1))?
                }
                (Some(t), None) if !t.trim().is_empty() => TokenCheck::from_token(t),
                _ => {
                    return Err(AuthnError::Config(
                        "KUBE_MCP_AUTH_MODES includes token, but no token is set: set MCP_AUTH_TOKEN or KUBE_MCP_AUTH_TOKEN_FILE".into(),
                    ));
                }
            })
        } else {
            if settings.auth_token.is_some() || settings.auth_token_file.is_some() {
                return Err(AuthnError::Config(
                    "a token is set (MCP_AUTH_TOKEN / KUBE_MCP_AUTH_TOKEN_FILE) but KUBE_MCP_AUTH_MODES does not include token; add token or unset it".into(),
                ));
            }
            None
        };
        if settings.authorize == Authorize::Caller
            && !has(AuthMode::Kubernetes)
            && !has(AuthMode::Oidc)
        {
            return Err(AuthnError::Config(
                "KUBE_MCP_AUTHORIZE=caller needs callers with a user name: add kubernetes or oidc to KUBE_MCP_AUTH_MODES".into(),
            ));
        }
        let needs_resource = has(AuthMode::Kubernetes) || has(AuthMode::Oidc);
        let resource = match (&settings.resource_url, needs_resource) {
            (Some(url), _) => {
                let issuers = settings
                    .oidc_issuer_url
                    .iter()
                    .filter(|_| has(AuthMode::Oidc))
                    .cloned()
                    .collect();
                Some(
                    Resource::new(url, issuers, oidc::required_scopes(settings))
                        .map_err(AuthnError::Config)?,
                )
            }
            (None, true) => {
                return Err(AuthnError::Config(
                    "the kubernetes and oidc modes need KUBE_MCP_RESOURCE_URL: the URL clients use for this server's MCP endpoint (e.g. https://mcp.example.com/mcp), which tokens must be issued for".into(),
                ));
            }
            (None, false) => None,
        };
        let audiences: Vec<String> = match (&resource, settings.audiences.is_empty()) {
            (Some(r), true) => vec![r.url.clone()],
            _ => settings
                .audiences
                .iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
        };
        let kubernetes = if has(AuthMode::Kubernetes) {
            let client = reviews.ok_or_else(|| {
                AuthnError::Config("the kubernetes mode needs cluster access".into())
            })?;
            Some(kubernetes::TokenReviewer::new(client, audiences.clone()))
        } else {
            None
        };
        let oidc = if has(AuthMode::Oidc) {
            let issuer = settings.oidc_issuer_url.as_deref().ok_or_else(|| {
                AuthnError::Config("the oidc mode needs KUBE_MCP_OIDC_ISSUER_URL".into())
            })?;
            Some(oidc::OidcVerifier::new(settings, issuer, audiences)?)
        } else {
            None
        };
        Ok(Self {
            modes,
            token,
            kubernetes,
            oidc,
            resource,
        })
    }

    /// Whether requests without credentials are let in.
    pub fn is_open(&self) -> bool {
        self.modes.is_empty()
    }

    /// Start-up work that can fail without stopping the server.
    pub async fn warm(&self) {
        if let Some(o) = &self.oidc {
            o.warm().await;
        }
    }

    /// Who the request's credentials name; `None` when auth is off.
    pub async fn authenticate(
        &self,
        headers: &http::HeaderMap,
    ) -> Result<Option<Arc<Principal>>, Failure> {
        if self.is_open() {
            return Ok(None);
        }
        let Some(token) = presented(headers) else {
            return Err(Failure::Missing);
        };
        if let Some(t) = &self.token
            && t.matches(token)
        {
            return Ok(Some(Arc::new(Principal::shared_token())));
        }
        let issuer =
            unverified_claims(token).and_then(|c| c.get("iss")?.as_str().map(str::to_string));
        match (&self.oidc, &self.kubernetes) {
            (Some(o), _) if issuer.as_deref() == Some(o.issuer()) => {
                o.verify(token).await.map(|p| Some(Arc::new(p)))
            }
            (_, Some(k)) if issuer.is_some() => k.review(token).await.map(Some),
            (Some(o), None) if issuer.is_some() => o.verify(token).await.map(|p| Some(Arc::new(p))),
            _ if self.token.is_some() && self.modes.len() == 1 => {
                Err(Failure::Invalid("wrong token".into()))
            }
            _ => Err(Failure::Invalid(format!(
                "not a token this server accepts; send {}",
                how_to_send(&self.modes)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn presented_credentials() {
        type Case<'a> = (&'a [(&'static str, &'a str)], Option<&'a str>);
        let cases: &[Case] = &[
            (&[], None),
            (&[("x-mcp-auth", "a")], Some("a")),
            (&[("authorization", "Bearer b")], Some("b")),
            (&[("authorization", "bearer b")], Some("b")),
            (&[("authorization", "BEARER  b ")], Some("b")),
            (&[("authorization", "Basic b")], None),
            (&[("authorization", "Bearer ")], None),
            (
                &[("authorization", "Bearer b"), ("x-mcp-auth", "a")],
                Some("a"),
            ),
        ];
        for (h, want) in cases {
            assert_eq!(presented(&headers(h)), *want, "{h:?}");
        }
    }

    fn settings(f: impl FnOnce(&mut Settings)) -> Settings {
        let mut s = Settings::default();
        f(&mut s);
        s
    }

    #[test]
    fn modes_and_their_requirements() {
        assert!(effective_modes(&Settings::default()).is_empty());
        let tok = settings(|s| s.auth_token = Some("t".into()));
        assert_eq!(effective_modes(&tok), [AuthMode::Token]);
        let bad: &[(Settings, &str)] = &[
            (
                settings(|s| s.auth_modes = vec![AuthMode::Token]),
                "no token is set",
            ),
            (
                settings(|s| {
                    s.auth_modes = vec![AuthMode::Oidc];
                    s.auth_token = Some("t".into());
                }),
                "does not include token",
            ),
            (
                settings(|s| s.auth_modes = vec![AuthMode::Oidc]),
                "KUBE_MCP_RESOURCE_URL",
            ),
            (
                settings(|s| {
                    s.auth_modes = vec![AuthMode::Oidc];
                    s.resource_url = Some("https://m/mcp".into());
                }),
                "KUBE_MCP_OIDC_ISSUER_URL",
            ),
            (
                settings(|s| {
                    s.auth_token = Some("t".into());
                    s.authorize = Authorize::Caller;
                }),
                "add kubernetes or oidc",
            ),
        ];
        for (s, want) in bad {
            let e = Authenticator::from_settings(s, None)
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    #[tokio::test]
    async fn the_static_token_alone_behaves_as_before() {
        let a =
            Authenticator::from_settings(&settings(|s| s.auth_token = Some("s3cret".into())), None)
                .unwrap();
        assert!(a.resource.is_none());
        let p = a
            .authenticate(&headers(&[("x-mcp-auth", "s3cret")]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(*p, Principal::shared_token());
        assert_eq!(a.authenticate(&headers(&[])).await, Err(Failure::Missing));
        assert_eq!(
            a.authenticate(&headers(&[("authorization", "Bearer nope")]))
                .await,
            Err(Failure::Invalid("wrong token".into()))
        );
        let open = Authenticator::open();
        assert_eq!(open.authenticate(&headers(&[])).await, Ok(None));
    }

    #[test]
    fn unverified_claims_read_the_payload() {
        let enc = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let t = format!(
            "{}.{}.sig",
            enc(serde_json::json!({"alg": "ES256"})),
            enc(serde_json::json!({"iss": "x"}))
        );
        assert_eq!(unverified_claims(&t).unwrap()["iss"], "x");
        assert!(unverified_claims("opaque-token").is_none());
    }
}
