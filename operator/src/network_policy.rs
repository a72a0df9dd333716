//! The endpoint's NetworkPolicy: ingress from allowed peers on the server
//! port, egress only to DNS and the API server.

use crate::config::Config;
use crate::crd::McpEndpoint;
use crate::{labels, meta, names};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

fn port(p: i32, proto: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(p)),
        protocol: Some(proto.into()),
        end_port: None,
    }
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
        let select = |k: &str, v: &str| LabelSelector {
            match_labels: Some(BTreeMap::from([(k.to_string(), v.to_string())])),
            match_expressions: None,
        };
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
            egress: Some(vec![
                NetworkPolicyEgressRule {
                    to: None,
                    ports: Some(vec![port(53, "UDP"), port(53, "TCP")]),
                },
                NetworkPolicyEgressRule {
                    to: None,
                    ports: Some(vec![port(443, "TCP"), port(6443, "TCP")]),
                },
            ]),
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
        let egress_ports: Vec<_> = spec
            .egress
            .unwrap()
            .iter()
            .flat_map(|e| e.ports.clone().unwrap())
            .map(|p| (p.port.unwrap(), p.protocol.unwrap()))
            .collect();
        assert_eq!(
            egress_ports,
            [
                (IntOrString::Int(53), "UDP".to_string()),
                (IntOrString::Int(53), "TCP".to_string()),
                (IntOrString::Int(443), "TCP".to_string()),
                (IntOrString::Int(6443), "TCP".to_string()),
            ]
        );
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
