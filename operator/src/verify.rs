//! Where and when the operator verifies an endpoint over MCP. Pure: the
//! probe itself (HTTP) is in [`crate::reconcile`].
//!
//! The operator completes an MCP initialize and tools/list against the
//! endpoint's Service (`http://<ep>.<ns>.svc:80/mcp`) with the endpoint's
//! token. An address map (`--verify-address-map`, lines `<service host>=<ip:port>`)
//! stands in for cluster DNS where there is none (tests): the request keeps
//! the Service host name (so the server's Host allowlist is exercised as in
//! the cluster), only its resolution and port change. The token is sent to
//! that one host and nowhere else (no redirects, no proxies).

use crate::crd::McpEndpoint;
use crate::names;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Whether the operator can verify `ep`: it holds no identity but the
/// endpoint's token, so endpoints whose spec.auth.modes leave out Token are
/// not verified.
pub fn possible(ep: &McpEndpoint) -> bool {
    ep.spec
        .auth
        .as_ref()
        .is_none_or(|a| a.modes.contains(&crate::crd::AuthMode::Token))
}

/// Budget of one verification (connect, initialize, tools/list).
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Parsed address map: Service host -> address.
pub type AddressMap = BTreeMap<String, SocketAddr>;

/// Parses lines `host=ip:port`; blank lines and `#` comments are skipped.
/// Returns the map and the lines it could not use.
pub fn parse_address_map(text: &str) -> (AddressMap, Vec<String>) {
    let mut map = AddressMap::new();
    let mut bad = vec![];
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line
            .split_once('=')
            .map(|(h, a)| (h.trim(), a.trim().parse()))
        {
            Some((host, Ok(addr))) if !host.is_empty() => {
                map.insert(host.to_ascii_lowercase(), addr);
            }
            _ => bad.push(line.to_string()),
        }
    }
    (map, bad)
}

/// Where one verification connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL requested (its host is always the Service host).
    pub url: String,
    /// The Service host name.
    pub host: String,
    /// Resolution override for `host` (the address map), if any.
    pub resolve: Option<SocketAddr>,
}

/// `<ep>.<ns>.svc`: the host of the endpoint's URL.
pub fn service_host(ep: &McpEndpoint) -> String {
    format!("{}.{}.svc", names::base(ep), names::namespace(ep))
}

/// The endpoint's URL, or the same host on the mapped port resolved to the mapped address.
pub fn target(ep: &McpEndpoint, map: &AddressMap) -> Target {
    let host = service_host(ep);
    match map.get(&host) {
        Some(addr) => Target {
            url: format!("http://{host}:{}/mcp", addr.port()),
            host,
            resolve: Some(*addr),
        },
        None => Target {
            url: names::url(ep),
            host,
            resolve: None,
        },
    }
}

/// What a verification depends on: the pod template the operator applied
/// (settings, image, token source) and the token value. A change means verify again.
pub fn fingerprint(pod_template: &serde_json::Value, token: &str) -> String {
    let mut h = Sha256::new();
    h.update(pod_template.to_string().as_bytes());
    h.update(b"\n");
    h.update(token.trim().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One readable sentence for a failed verification step, from the messages
/// of the error and its sources (outermost first): the outer layers (MCP
/// client, transport worker, HTTP client) only wrap the cause, so the
/// sentence says where and gives the innermost message, e.g.
/// `cannot reach http://ep.a.svc:80/mcp: DNS lookup of ep.a.svc failed (…)`.
pub fn failure(url: &str, host: &str, step: &str, chain: &[String]) -> String {
    let root = chain
        .iter()
        .rev()
        .map(|m| m.trim())
        .find(|m| !m.is_empty())
        .unwrap_or("unknown error");
    let any = |needles: &[&str]| {
        chain.iter().any(|m| {
            let m = m.to_ascii_lowercase();
            needles.iter().any(|n| m.contains(n))
        })
    };
    if any(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
    ]) {
        format!("cannot reach {url}: DNS lookup of {host} failed ({root})")
    } else if any(&["connection refused"]) {
        format!("cannot reach {url}: the connection was refused ({root})")
    } else if any(&[
        "client error (connect)",
        "tcp connect error",
        "error trying to connect",
    ]) {
        format!("cannot reach {url}: {root}")
    } else {
        format!("MCP {step} at {url} failed: {root}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::McpEndpointSpec;
    use crate::guard::tests::ep;
    use serde_json::json;

    #[test]
    fn only_endpoints_that_accept_the_token_are_verified() {
        use crate::crd::{AuthMode, AuthSpec};
        let with = |modes: Option<Vec<AuthMode>>| {
            ep(
                "a",
                McpEndpointSpec {
                    auth: modes.map(|modes| AuthSpec {
                        modes,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
        };
        assert!(possible(&with(None)));
        assert!(possible(&with(Some(vec![
            AuthMode::Token,
            AuthMode::Kubernetes
        ]))));
        assert!(!possible(&with(Some(vec![AuthMode::Kubernetes]))));
        assert!(!possible(&with(Some(vec![AuthMode::Oidc]))));
    }

    #[test]
    fn address_map_lines() {
        let (map, bad) = parse_address_map(
            "# comment\n\nep.a.svc=127.0.0.1:41234\n EP.B.svc = 10.0.0.1:80 \nnope\nx=y\n=1.2.3.4:5\n",
        );
        assert_eq!(map["ep.a.svc"], "127.0.0.1:41234".parse().unwrap());
        assert_eq!(map["ep.b.svc"], "10.0.0.1:80".parse().unwrap());
        assert_eq!(bad, ["nope", "x=y", "=1.2.3.4:5"]);
    }

    #[test]
    fn target_keeps_the_service_host() {
        let e = ep("a", McpEndpointSpec::default());
        let plain = target(&e, &AddressMap::new());
        assert_eq!(plain.url, "http://ep.a.svc:80/mcp");
        assert_eq!(plain.resolve, None);
        let (map, _) = parse_address_map("ep.a.svc=127.0.0.1:41234\nother.a.svc=127.0.0.1:1");
        let mapped = target(&e, &map);
        assert_eq!(mapped.url, "http://ep.a.svc:41234/mcp");
        assert_eq!(mapped.host, "ep.a.svc");
        assert_eq!(mapped.resolve, Some("127.0.0.1:41234".parse().unwrap()));
        // Another namespace's endpoint of the same name is not redirected.
        assert_eq!(
            target(&ep("b", McpEndpointSpec::default()), &map).resolve,
            None
        );
    }

    #[test]
    fn failures_are_one_sentence_with_the_cause() {
        let url = "http://ep.a.svc:80/mcp";
        let s = |v: &[&str]| v.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        let cases = [
            (
                s(&[
                    "Send message error Transport [rmcp::transport::worker::WorkerTransport<rmcp::transport::streamable_http_client::StreamableHttpClientWorker<reqwest::Client>>] error: Client error: error sending request for url (http://ep.a.svc/mcp)",
                    "Client error: error sending request for url (http://ep.a.svc/mcp)",
                    "error sending request for url (http://ep.a.svc/mcp)",
                    "client error (Connect)",
                    "dns error",
                    "failed to lookup address information: Name or service not known",
                ]),
                "cannot reach http://ep.a.svc:80/mcp: DNS lookup of ep.a.svc failed (failed to lookup address information: Name or service not known)",
            ),
            (
                s(&[
                    "error sending request",
                    "client error (Connect)",
                    "tcp connect error",
                    "Connection refused (os error 111)",
                ]),
                "cannot reach http://ep.a.svc:80/mcp: the connection was refused (Connection refused (os error 111))",
            ),
            (
                s(&[
                    "error sending request",
                    "client error (Connect)",
                    "Network is unreachable (os error 101)",
                ]),
                "cannot reach http://ep.a.svc:80/mcp: Network is unreachable (os error 101)",
            ),
            (
                s(&[
                    "Send message error Transport [..] error: Auth required",
                    "Auth required",
                ]),
                "MCP initialize at http://ep.a.svc:80/mcp failed: Auth required",
            ),
            (
                s(&[]),
                "MCP initialize at http://ep.a.svc:80/mcp failed: unknown error",
            ),
        ];
        for (chain, want) in cases {
            let got = failure(url, "ep.a.svc", "initialize", &chain);
            assert_eq!(got, want);
            assert!(!got.contains("WorkerTransport"), "{got}");
        }
    }

    #[test]
    fn fingerprint_follows_template_and_token() {
        let t = json!({"spec": {"containers": [{"image": "a"}]}});
        let f = fingerprint(&t, "tok");
        assert_eq!(f, fingerprint(&t, "tok\n"), "trimmed like the server does");
        assert_ne!(f, fingerprint(&t, "other"));
        assert_ne!(
            f,
            fingerprint(&json!({"spec": {"containers": [{"image": "b"}]}}), "tok")
        );
    }
}
