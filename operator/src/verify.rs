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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::McpEndpointSpec;
    use crate::guard::tests::ep;
    use serde_json::json;

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
