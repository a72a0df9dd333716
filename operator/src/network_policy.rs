//! The endpoint's NetworkPolicy: ingress from allowed peers on the server
//! port, egress only to cluster DNS (kube-system pods `k8s-app=kube-dns`) and
//! to the API server's addresses (`Config::api_server_endpoints`), and to the
//! OTLP collector when the endpoint exports traces ([`crate::telemetry::egress`]),
//! and to its OIDC issuer's port when it uses the Oidc mode.

use crate::config::Config;
use crate::crd::{AuthMode, McpEndpoint};
use crate::{labels, meta, names};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

pub(crate) fn port(p: i32, proto: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(p)),
        protocol: Some(proto.into()),
        end_port: None,
    }
}

fn select(k: &str, v: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(k.to_string(), v.to_string())])),
        match_expressions: None,
    }
}

/// DNS to the cluster's DNS pods, and each API server address on its port
/// (one rule per port, so no address is reachable on another's port).
fn egress(cfg: &Config) -> Vec<NetworkPolicyEgressRule> {
    let mut rules = vec![NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(select("kubernetes.io/metadata.name", "kube-system")),
            pod_selector: Some(select("k8s-app", "kube-dns")),
            ip_block: None,
        }]),
        ports: Some(vec![port(53, "UDP"), port(53, "TCP")]),
    }];
    let mut by_port: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for a in &cfg.api_server_endpoints {
        let bits = if a.is_ipv4() { 32 } else { 128 };
        by_port
            .entry(a.port())
            .or_default()
            .push(format!("{}/{bits}", a.ip()));
    }
    for (p, cidrs) in by_port {
        rules.push(NetworkPolicyEgressRule {
            to: Some(
                cidrs
                    .into_iter()
                    .map(|cidr| NetworkPolicyPeer {
                        ip_block: Some(IPBlock { cidr, except: None }),
                        ..NetworkPolicyPeer::default()
                    })
                    .collect(),
            ),
            ports: Some(vec![port(i32::from(p), "TCP")]),
        });
    }
    rules
}

/// Where endpoints with the Oidc mode may fetch their issuer's discovery
/// document and keys. Issuers are usually outside the cluster, at addresses
/// nobody pins, so the default is any address, on the issuer URL's port only.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct IssuerEgress {
    /// Addresses (CIDRs, comma list) endpoints' NetworkPolicies let a server with the Oidc mode
    /// reach, on its issuer URL's port. Default: 0.0.0.0/0,::/0 (any address, that port only).
    #[arg(
        long,
        env = "KUBE_MCP_OIDC_ISSUER_CIDRS",
        value_delimiter = ',',
        default_values_t = default_issuer_cidrs(),
        global = true
    )]
    pub oidc_issuer_cidrs: Vec<String>,
}

fn default_issuer_cidrs() -> Vec<String> {
    vec!["0.0.0.0/0".into(), "::/0".into()]
}

impl Default for IssuerEgress {
    fn default() -> Self {
        Self {
            oidc_issuer_cidrs: default_issuer_cidrs(),
        }
    }
}

/// Egress to the OIDC issuer of an endpoint with the Oidc mode.
fn issuer_egress(ep: &McpEndpoint, cfg: &IssuerEgress) -> Option<NetworkPolicyEgressRule> {
    let auth = ep.spec.auth.as_ref()?;
    if !auth.modes.contains(&AuthMode::Oidc) {
        return None;
    }
    let uri: http::Uri = auth.oidc.as_ref()?.issuer_url.parse().ok()?;
    let issuer_port = uri.port_u16().unwrap_or(443);
    Some(NetworkPolicyEgressRule {
        to: Some(
            cfg.oidc_issuer_cidrs
                .iter()
                .map(|cidr| NetworkPolicyPeer {
                    ip_block: Some(IPBlock {
                        cidr: cidr.clone(),
                        except: None,
                    }),
                    ..NetworkPolicyPeer::default()
                })
                .collect(),
        ),
        ports: Some(vec![port(i32::from(issuer_port), "TCP")]),
    })
}

/// The NetworkPolicy, or None when the operator's policy flag is off.
pub fn network_policy(ep: &McpEndpoint, cfg: &Config) -> Option<NetworkPolicy> {
    if !cfg.network_policies {
        return None;
    }
    let from = match ep.spec.network.as_ref().and_then(|n| n.allow_from.as_ref()) {
        Some(peers) => peers
            .iter()
            .map(|p| NetworkPolicyPeer {
                namespace_selector: p.namespace_selector.clone(),
                pod_selector: p.pod_selector.clone(),
                ip_block: None,
            })
            .collect(),
        // A pod selector alone selects pods of the policy's own namespace.
        None => vec![NetworkPolicyPeer {
            pod_selector: Some(LabelSelector::default()),
            ..NetworkPolicyPeer::default()
        }],
    };
    let mut from = from;
    // The operator's own MCP verification (--verify) comes from its pods.
    if cfg.verify
        && let Some(op_ns) = cfg.operator_namespace.as_deref().filter(|n| !n.is_empty())
    {
        from.push(NetworkPolicyPeer {
            namespace_selector: Some(select("kubernetes.io/metadata.name", op_ns)),
            pod_selector: Some(select(labels::NAME, labels::MANAGER)),
            ip_block: None,
        });
    }
    let ns = names::namespace(ep);
    Some(NetworkPolicy {
        metadata: meta::child(ep, &names::base(ep), Some(&ns)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(labels::selector(ep)),
                match_expressions: None,
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(from),
                ports: Some(vec![port(names::SERVER_PORT, "TCP")]),
            }]),
            egress: Some(
                egress(cfg)
                    .into_iter()
                    .chain(crate::telemetry::egress(ep, &cfg.telemetry))
                    .chain(issuer_egress(ep, &cfg.issuer_egress))
                    .collect(),
            ),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{McpEndpointSpec, NetworkPeer, NetworkSpec};
    use crate::guard::tests::ep;

    #[test]
    fn off_by_flag() {
        let cfg = Config {
            network_policies: false,
            ..Config::default()
        };
        assert!(network_policy(&ep("a", McpEndpointSpec::default()), &cfg).is_none());
    }

    #[test]
    fn default_is_own_namespace_on_8080() {
        let np = network_policy(&ep("a", McpEndpointSpec::default()), &Config::default()).unwrap();
        let spec = np.spec.unwrap();
        let ing = &spec.ingress.unwrap()[0];
        let from = ing.from.as_ref().unwrap();
        assert_eq!(from.len(), 1);
        assert!(from[0].namespace_selector.is_none());
        assert_eq!(from[0].pod_selector, Some(LabelSelector::default()));
        assert_eq!(
            ing.ports.as_ref().unwrap()[0].port,
            Some(IntOrString::Int(8080))
        );
        // Without known API server addresses: DNS only, never "any address".
        let egress = spec.egress.unwrap();
        assert_eq!(egress.len(), 1);
        assert!(egress.iter().all(|e| e.to.is_some()));
    }

    /// (peer, port) pairs an egress list allows.
    fn reachable(egress: &[NetworkPolicyEgressRule]) -> Vec<(String, String)> {
        let mut out = vec![];
        for e in egress {
            for peer in e.to.as_ref().unwrap() {
                let who = match (&peer.ip_block, &peer.pod_selector) {
                    (Some(b), _) => b.cidr.clone(),
                    (None, Some(p)) => format!(
                        "{:?} in {:?}",
                        p.match_labels.as_ref().unwrap(),
                        peer.namespace_selector
                            .as_ref()
                            .unwrap()
                            .match_labels
                            .as_ref()
                            .unwrap()
                    ),
                    _ => panic!("a peer that is neither an address nor pods: {peer:?}"),
                };
                for p in e.ports.as_ref().unwrap() {
                    let port = match p.port.as_ref().unwrap() {
                        IntOrString::Int(n) => n.to_string(),
                        IntOrString::String(s) => s.clone(),
                    };
                    out.push((
                        who.clone(),
                        format!("{port}/{}", p.protocol.as_ref().unwrap()),
                    ));
                }
            }
        }
        out
    }

    #[test]
    fn egress_reaches_only_dns_pods_and_the_api_server() {
        let cfg = Config {
            api_server_endpoints: vec![
                "10.96.0.1:443".parse().unwrap(),
                "192.168.1.10:6443".parse().unwrap(),
                "[fd00::10]:6443".parse().unwrap(),
            ],
            ..Config::default()
        };
        let np = network_policy(&ep("a", McpEndpointSpec::default()), &cfg).unwrap();
        let dns = r#"{"k8s-app": "kube-dns"} in {"kubernetes.io/metadata.name": "kube-system"}"#;
        let want: Vec<(String, String)> = [
            (dns, "53/UDP"),
            (dns, "53/TCP"),
            ("10.96.0.1/32", "443/TCP"),
            ("192.168.1.10/32", "6443/TCP"),
            ("fd00::10/128", "6443/TCP"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(reachable(&np.spec.unwrap().egress.unwrap()), want);
    }

    #[test]
    fn oidc_endpoints_reach_their_issuers_port_only() {
        use crate::crd::{AuthSpec, OidcSpec};
        let with = |modes: Vec<AuthMode>, issuer: &str| {
            ep(
                "a",
                McpEndpointSpec {
                    auth: Some(AuthSpec {
                        modes,
                        oidc: Some(OidcSpec {
                            issuer_url: issuer.into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
        };
        let narrow = Config {
            issuer_egress: IssuerEgress {
                oidc_issuer_cidrs: vec!["203.0.113.0/24".into()],
            },
            ..Config::default()
        };
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        // (endpoint, operator config, egress beyond DNS)
        let cases = [
            (
                ep("a", McpEndpointSpec::default()),
                Config::default(),
                vec![],
            ),
            (
                with(vec![AuthMode::Oidc], "https://idp.example.com"),
                Config::default(),
                pairs(&[("0.0.0.0/0", "443/TCP"), ("::/0", "443/TCP")]),
            ),
            (
                with(
                    vec![AuthMode::Token, AuthMode::Oidc],
                    "https://idp.example.com:8443/realms/x",
                ),
                narrow.clone(),
                pairs(&[("203.0.113.0/24", "8443/TCP")]),
            ),
            (
                with(vec![AuthMode::Token], "https://idp.example.com"),
                Config::default(),
                vec![],
            ),
        ];
        for (e, cfg, want) in cases {
            let egress = network_policy(&e, &cfg)
                .unwrap()
                .spec
                .unwrap()
                .egress
                .unwrap();
            assert_eq!(reachable(&egress[1..]), want, "{:?}", e.spec.auth);
        }
    }

    #[test]
    fn allow_from_is_used() {
        let sel = LabelSelector {
            match_labels: Some(BTreeMap::from([("team".to_string(), "x".to_string())])),
            match_expressions: None,
        };
        let s = McpEndpointSpec {
            network: Some(NetworkSpec {
                allow_from: Some(vec![NetworkPeer {
                    namespace_selector: Some(sel.clone()),
                    pod_selector: None,
                }]),
            }),
            ..Default::default()
        };
        let np = network_policy(&ep("a", s), &Config::default()).unwrap();
        let from = np.spec.unwrap().ingress.unwrap()[0].from.clone().unwrap();
        assert_eq!(from[0].namespace_selector, Some(sel));
    }

    #[test]
    fn the_verifying_operator_is_admitted() {
        let cfg = Config {
            operator_namespace: Some("kube-mcp-system".into()),
            ..Config::default()
        };
        let np = network_policy(&ep("a", McpEndpointSpec::default()), &cfg).unwrap();
        let from = np.spec.unwrap().ingress.unwrap()[0].from.clone().unwrap();
        assert_eq!(from.len(), 2, "own namespace and the operator");
        let op = &from[1];
        assert_eq!(
            op.namespace_selector
                .as_ref()
                .unwrap()
                .match_labels
                .as_ref()
                .unwrap()["kubernetes.io/metadata.name"],
            "kube-mcp-system"
        );
        assert_eq!(
            op.pod_selector
                .as_ref()
                .unwrap()
                .match_labels
                .as_ref()
                .unwrap()[labels::NAME],
            "kube-mcp-operator"
        );
        let off = Config {
            verify: false,
            ..cfg
        };
        let np = network_policy(&ep("a", McpEndpointSpec::default()), &off).unwrap();
        assert_eq!(
            np.spec.unwrap().ingress.unwrap()[0]
                .from
                .as_ref()
                .unwrap()
                .len(),
            1
        );
    }
}
