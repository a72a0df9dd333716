//! The MCP verification itself: one initialize + tools/list against the
//! endpoint's Service with its token ([`crate::verify`] decides where and when).

use crate::config::Config;
use crate::crd::{McpEndpoint, VerifiedServer};
use crate::metrics::Metrics;
use crate::status::{self, Verification};
use crate::verify;
use std::collections::HashMap;
use tracing::{info, warn};

/// Verifies `ep` within [`verify::TIMEOUT`] and records the outcome in the metrics.
pub async fn probe(
    ep: &McpEndpoint,
    token: &str,
    effective: &[String],
    cfg: &Config,
    metrics: &Metrics,
) -> Verification {
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(verify::TIMEOUT, ask(ep, token, cfg)).await;
    let elapsed = started.elapsed();
    let verification = match outcome {
        Ok(Ok(server)) => Verification::Advertised(server),
        Ok(Err(why)) => Verification::Unreachable(why),
        Err(_) => Verification::Unreachable(format!(
            "no answer from {} within {:?}",
            crate::names::url(ep),
            verify::TIMEOUT
        )),
    };
    let result = match &verification {
        Verification::Advertised(s) if status::tool_diff(effective, &s.tools).is_empty() => {
            "tools_match"
        }
        Verification::Advertised(_) => "tools_mismatch",
        _ => "unreachable",
    };
    metrics.verified(result, elapsed.as_secs_f64());
    info!(endpoint = %status::describe(ep), result, latency = ?elapsed, "MCP verification");
    verification
}

/// The messages of an error and its sources, outermost first.
fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![];
    let mut next = Some(e);
    // Bounded: a source chain is short, but nothing guarantees it ends.
    while let Some(err) = next.take().filter(|_| out.len() < 16) {
        out.push(err.to_string());
        next = cause(err);
    }
    out
}

/// The error's cause. Two rmcp wrappers hold theirs in a field that is not
/// declared a source (so `source()` ends the chain right above the DNS or
/// connection error that explains everything).
fn cause<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    use rmcp::service::ClientInitializeError;
    use rmcp::transport::streamable_http_client::StreamableHttpError;
    if let Some(ClientInitializeError::TransportError { error, .. }) = e.downcast_ref() {
        return Some(error);
    }
    if let Some(StreamableHttpError::<reqwest::Error>::Client(inner)) = e.downcast_ref() {
        return Some(inner);
    }
    e.source()
}

async fn ask(ep: &McpEndpoint, token: &str, cfg: &Config) -> Result<VerifiedServer, String> {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let map = match &cfg.verify_address_map {
        Some(path) => {
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| format!("cannot read the address map {}: {e}", path.display()))?;
            let (map, bad) = verify::parse_address_map(&text);
            if !bad.is_empty() {
                warn!(path = %path.display(), lines = ?bad, "ignoring address map lines that are not host=ip:port");
            }
            map
        }
        None => verify::AddressMap::new(),
    };
    let target = verify::target(ep, &map);
    let failed = |step: &str, e: &(dyn std::error::Error + 'static)| {
        verify::failure(&target.url, &target.host, step, &chain(e))
    };
    // The token goes to the Service host only: no redirects, no proxies.
    let mut http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(verify::TIMEOUT);
    if let Some(addr) = target.resolve {
        http = http.resolve(&target.host, addr);
    }
    let http = http.build().map_err(|e| failed("client set-up", &e))?;
    let mut value = http::HeaderValue::from_str(token)
        .map_err(|_| "the token is not a valid HTTP header value".to_string())?;
    value.set_sensitive(true);
    let headers = HashMap::from([(http::HeaderName::from_static("x-mcp-auth"), value)]);
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(target.url.clone()).custom_headers(headers),
    );
    let service = ().serve(transport).await.map_err(|e| failed("initialize", &e))?;
    let info = service.peer_info().and_then(|i| {
        i.server_info
            .as_ref()
            .map(|s| (s.name.clone(), s.version.clone()))
    });
    let tools = service.list_all_tools().await;
    let _ = service.cancel().await;
    let tools = tools.map_err(|e| failed("tools/list", &e))?;
    let (server_name, server_version) = info.unwrap_or_default();
    Ok(VerifiedServer {
        server_name,
        server_version,
        tools: status::catalog_order(tools.into_iter().map(|t| t.name.to_string()).collect()),
    })
}
