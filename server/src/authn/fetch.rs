//! GETs of the OIDC issuer's JSON documents over HTTPS: rustls with the ring
//! provider kube already uses, the given CA or the system's roots, no
//! redirects, bounded in time and size.
//!
//! hyper directly rather than reqwest: reqwest's rustls without a bundled
//! provider would make every other reqwest client built in the same
//! workspace build (the test crates') panic unless a provider were installed
//! first.

use super::AuthnError;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest discovery or key document read.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct Fetcher {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, AuthnError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AuthnError::Config(format!("TLS for the OIDC issuer: {e}")))?;
    let Some(path) = ca_file else {
        use rustls_platform_verifier::BuilderVerifierExt;
        return Ok(builder
            .with_platform_verifier()
            .map_err(|e| {
                AuthnError::Config(format!(
                    "the system's trusted CAs cannot be loaded ({e}); set KUBE_MCP_OIDC_CA_FILE"
                ))
            })?
            .with_no_client_auth());
    };
    let bad = |why: String| {
        AuthnError::Config(format!("KUBE_MCP_OIDC_CA_FILE {}: {why}", path.display()))
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("not PEM certificates ({e})")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("not a CA certificate ({e})")))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

impl Fetcher {
    /// Trusts the CAs in `ca_file`, or the system's when there is none.
    pub fn new(ca_file: Option<&Path>) -> Result<Self, AuthnError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(ca_file)?)
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// Reads a JSON document; the error says which URL and what went wrong.
    pub async fn get_json(&self, url: &str) -> Result<Value, String> {
        let fail = |why: String| format!("GET {url}: {why}");
        let uri: http::Uri = url.parse().map_err(|e| fail(format!("not a URL ({e})")))?;
        let req = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| fail(e.to_string()))?;
        let read = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| fail(error_chain(&e)))?;
            if !resp.status().is_success() {
                return Err(fail(format!("HTTP {}", resp.status())));
            }
            Limited::new(resp.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .map_err(
                    |e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                        Some(_) => fail(format!("larger than {MAX_DOCUMENT_BYTES} bytes")),
                        None => fail(error_chain(e.as_ref())),
                    },
                )
        };
        let body = tokio::time::timeout(REQUEST_TIMEOUT, read)
            .await
            .map_err(|_| fail(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())))??;
        serde_json::from_slice(&body).map_err(|e| fail(format!("not JSON ({e})")))
    }
}

/// An error with its causes (hyper's own text omits TLS and DNS details).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}
