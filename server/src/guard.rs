//! DNS-rebinding protection: the Host allowlist (seed defaults plus
//! configured hosts) and the browser Origin allowlist.

use crate::config::Settings;

const LOOPBACK: &[&str] = &["localhost", "127.0.0.1", "[::1]", "::1"];

/// A request the guard refused, and why (shown to the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("{0}")]
    Host(String),
    #[error("{0}")]
    Origin(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostGuard {
    enabled: bool,
    /// (host, optional port); a portless entry matches any port.
    hosts: Vec<(String, Option<u16>)>,
    origins: Vec<String>,
}

fn split_host(value: &str) -> (String, Option<u16>) {
    let v = value.trim().to_ascii_lowercase();
    if let Some(rest) = v.strip_prefix('[') {
        // [v6]:port
        if let Some((h, p)) = rest.split_once(']') {
            let port = p.strip_prefix(':').and_then(|p| p.parse().ok());
            return (format!("[{h}]"), port);
        }
    }
    match v.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h.to_string(), Some(port)),
            Err(_) => (v.clone(), None),
        },
        _ if v.contains(':') => (format!("[{v}]"), None), // bare IPv6
        _ => (v, None),
    }
}

impl HostGuard {
    pub fn from_settings(s: &Settings) -> Self {
        let mut hosts: Vec<(String, Option<u16>)> =
            LOOPBACK.iter().map(|h| split_host(h)).collect();
        let bind = s.host.trim();
        if !bind.is_empty() && !["0.0.0.0", "::", "[::]"].contains(&bind) {
            hosts.push(split_host(bind));
        }
        hosts.extend(
            s.allowed_hosts
                .iter()
                .filter(|h| !h.trim().is_empty())
                .map(|h| split_host(h)),
        );
        let origins = s
            .allowed_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        Self {
            enabled: s.dns_rebinding_protection,
            hosts,
            origins,
        }
    }

    /// `Err` says which check refused, and why.
    pub fn check(&self, host: Option<&str>, origin: Option<&str>) -> Result<(), Denied> {
        if let Some(origin) = origin
            && !self.origin_allowed(origin)
        {
            return Err(Denied::Origin(format!(
                "Origin {origin:?} is not allowed; add it to KUBE_MCP_ALLOWED_ORIGINS"
            )));
        }
        if !self.enabled {
            return Ok(());
        }
        let Some(host) = host else {
            return Err(Denied::Host("the request has no Host header".into()));
        };
        let (h, p) = split_host(host);
        if self
            .hosts
            .iter()
            .any(|(ah, ap)| *ah == h && (ap.is_none() || *ap == p))
        {
            Ok(())
        } else {
            Err(Denied::Host(format!(
                "Host {host:?} is not allowed; add it to DNS_REBINDING_ALLOWED_HOST"
            )))
        }
    }

    /// Browsers on the same machine (loopback origins) and configured origins.
    fn origin_allowed(&self, origin: &str) -> bool {
        let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        let Some((scheme, rest)) = o.split_once("://") else {
            return false;
        };
        let (host, port) = split_host(rest);
        if ["http", "https"].contains(&scheme) && LOOPBACK.iter().any(|l| split_host(l).0 == host) {
            return true;
        }
        self.origins.iter().any(|allowed| {
            if let Some(prefix) = allowed.strip_suffix(":*") {
                // The scheme must match exactly: `http` is not a prefix match for `https`.
                let Some((a_scheme, a_host)) = prefix.split_once("://") else {
                    return false;
                };
                a_scheme == scheme && split_host(a_host).0 == host
            } else {
                *allowed == o || (port.is_none() && *allowed == format!("{scheme}://{host}"))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(host: &str, allowed: &[&str], origins: &[&str]) -> HostGuard {
        HostGuard::from_settings(&Settings {
            host: host.into(),
            allowed_hosts: allowed.iter().map(|s| s.to_string()).collect(),
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
    }

    #[test]
    fn host_table() {
        let g = guard("0.0.0.0", &["mcp.example.com", "svc.ns.svc:8080"], &[]);
        for (host, ok) in [
            ("localhost", true),
            ("localhost:3000", true),
            ("127.0.0.1:9", true),
            ("[::1]:3000", true),
            ("LOCALHOST", true),
            ("mcp.example.com", true),
            ("mcp.example.com:443", true),
            ("svc.ns.svc:8080", true),
            ("svc.ns.svc:9090", false),
            ("svc.ns.svc", false),
            ("evil.example.com", false),
            ("0.0.0.0:3000", false),
        ] {
            assert_eq!(g.check(Some(host), None).is_ok(), ok, "{host}");
        }
        assert!(g.check(None, None).is_err());
    }

    #[test]
    fn bind_host_is_allowed_unless_all_interfaces() {
        assert!(
            guard("10.1.2.3", &[], &[])
                .check(Some("10.1.2.3:3000"), None)
                .is_ok()
        );
        assert!(
            guard("::", &[], &[])
                .check(Some("[::]:3000"), None)
                .is_err()
        );
    }

    #[test]
    fn protection_off_allows_any_host_but_still_checks_origin() {
        let g = HostGuard::from_settings(&Settings {
            dns_rebinding_protection: false,
            ..Default::default()
        });
        assert!(g.check(Some("evil.example.com"), None).is_ok());
        assert!(
            g.check(Some("evil.example.com"), Some("https://evil.example.com"))
                .is_err()
        );
    }

    #[test]
    fn origin_table() {
        let g = guard(
            "localhost",
            &[],
            &[
                "https://app.example.com",
                "http://dev.example.com:*",
                "https://sec.example.com:*",
            ],
        );
        for (origin, ok) in [
            ("https://app.example.com", true),
            ("https://app.example.com/", true),
            ("http://app.example.com", false),
            ("http://dev.example.com:5173", true),
            ("https://dev.example.com:5173", false),
            ("http://localhost:6274", true),
            ("https://evil.example.com", false),
            ("null", false),
            ("https://sec.example.com:8443", true),
            ("http://sec.example.com:8443", false),
        ] {
            assert_eq!(
                g.check(Some("localhost"), Some(origin)).is_ok(),
                ok,
                "{origin}"
            );
        }
    }
}
