//! OpenTelemetry of endpoints' servers: where traces go (the operator's
//! flags), which endpoints export them (`spec.telemetry`), the env that says
//! so, and the NetworkPolicy egress that lets them out. Pure.

use crate::crd::McpEndpoint;
use crate::names;
use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicyEgressRule, NetworkPolicyPeer};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::BTreeMap;

/// The operator's telemetry flags.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct Telemetry {
    /// OTLP collector URL endpoints' servers export traces to, e.g.
    /// http://otel-collector.observability.svc:4317. Default: none, and no endpoint exports traces.
    #[arg(long, env = "KUBE_MCP_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,

    /// OTLP protocol of --otlp-endpoint: grpc (the server's default) or http/protobuf.
    #[arg(long, env = "KUBE_MCP_OTLP_PROTOCOL", global = true)]
    pub otlp_protocol: Option<String>,

    /// service.name of endpoints' traces (spec.telemetry.serviceName wins); `{namespace}` and
    /// `{name}` stand for the endpoint's.
    #[arg(long, env = "KUBE_MCP_OTEL_SERVICE_NAME", default_value = DEFAULT_SERVICE_NAME, global = true)]
    pub otel_service_name: String,

    /// Namespace of the OTLP collector's pods: endpoints' NetworkPolicies let the server reach
    /// them on the --otlp-endpoint port. Without this, --otlp-collector-pod-labels or
    /// --otlp-collector-cidrs, the policies block the traces.
    #[arg(long, env = "KUBE_MCP_OTLP_COLLECTOR_NAMESPACE", global = true)]
    pub otlp_collector_namespace: Option<String>,

    /// Labels of the collector's pods (comma list of key=value), in
    /// --otlp-collector-namespace (default: the endpoint's own namespace).
    #[arg(
        long,
        env = "KUBE_MCP_OTLP_COLLECTOR_POD_LABELS",
        value_delimiter = ',',
        value_parser = parse_label,
        global = true
    )]
    pub otlp_collector_pod_labels: Vec<(String, String)>,

    /// Addresses (CIDRs, comma list) of a collector outside the cluster's pods.
    #[arg(
        long,
        env = "KUBE_MCP_OTLP_COLLECTOR_CIDRS",
        value_delimiter = ',',
        global = true
    )]
    pub otlp_collector_cidrs: Vec<String>,
}

/// Unique per endpoint ('/' occurs in no namespace or endpoint name).
pub const DEFAULT_SERVICE_NAME: &str = "kube-mcp/{namespace}/{name}";

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().into(), v.trim().into())),
        _ => Err(format!(
            "{s:?} is not a label: write key=value, e.g. app.kubernetes.io/name=opentelemetry-collector"
        )),
    }
}

impl Telemetry {
    /// The collector's port: the URL's, else its scheme's default.
    pub fn collector_port(&self) -> Option<u16> {
        let uri: http::Uri = self.otlp_endpoint.as_deref()?.trim().parse().ok()?;
        let default = match uri.scheme_str()? {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        uri.host()?;
        Some(uri.port_u16().unwrap_or(default))
    }

    /// Whether a NetworkPolicy lets traces out (some collector peer is named).
    pub fn has_collector_peer(&self) -> bool {
        self.otlp_collector_namespace.is_some()
            || !self.otlp_collector_pod_labels.is_empty()
            || !self.otlp_collector_cidrs.is_empty()
    }

    /// Why endpoints' traces may not arrive, for a start-up warning.
    pub fn warning(&self, network_policies: bool) -> Option<String> {
        let endpoint = self.otlp_endpoint.as_deref()?;
        if self.collector_port().is_none() {
            return Some(format!(
                "--otlp-endpoint {endpoint:?} is not a URL with a scheme and host (e.g. \
                 http://otel-collector.observability.svc:4317); endpoints' NetworkPolicies cannot \
                 name its port"
            ));
        }
        (network_policies && !self.has_collector_peer()).then(|| {
            format!(
                "endpoints export traces to {endpoint}, but their NetworkPolicies allow egress only \
                 to DNS and the API server: set --otlp-collector-namespace, \
                 --otlp-collector-pod-labels or --otlp-collector-cidrs, or the traces are blocked"
            )
        })
    }
}

/// Whether `ep`'s server exports traces.
pub fn enabled(ep: &McpEndpoint, t: &Telemetry) -> bool {
    let asked = ep.spec.telemetry.as_ref().and_then(|s| s.enabled);
    t.otlp_endpoint.is_some() && asked != Some(false)
}

/// The service name of `ep`'s traces.
pub fn service_name(ep: &McpEndpoint, t: &Telemetry) -> String {
    match ep
        .spec
        .telemetry
        .as_ref()
        .and_then(|s| s.service_name.clone())
    {
        Some(n) => n,
        None => t
            .otel_service_name
            .replace("{namespace}", &names::namespace(ep))
            .replace("{name}", &names::base(ep)),
    }
}

/// The OTel variables besides ENABLE_TELEMETRY (a [`kube_mcp_catalog::settings::Settings`]
/// flag), empty when `ep` exports no traces. The names are the standard ones the
/// server reads ([`kube_mcp_catalog::settings::OTEL_ENV`]).
pub fn env(ep: &McpEndpoint, t: &Telemetry) -> Vec<(String, String)> {
    let Some(endpoint) = t.otlp_endpoint.as_ref().filter(|_| enabled(ep, t)) else {
        return vec![];
    };
    let mut env = vec![("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint.clone())];
    if let Some(p) = &t.otlp_protocol {
        env.push(("OTEL_EXPORTER_OTLP_PROTOCOL".into(), p.clone()));
    }
    env.push(("OTEL_SERVICE_NAME".into(), service_name(ep, t)));
    env.push((
        "OTEL_RESOURCE_ATTRIBUTES".into(),
        format!(
            "k8s.namespace.name={},kubemcp.endpoint={}",
            names::namespace(ep),
            names::base(ep)
        ),
    ));
    env
}

/// The egress rule to the collector, if `ep` exports traces and the
/// operator names where the collector runs.
pub fn egress(ep: &McpEndpoint, t: &Telemetry) -> Option<NetworkPolicyEgressRule> {
    if !enabled(ep, t) || !t.has_collector_peer() {
        return None;
    }
    let port = t.collector_port()?;
    let mut to = vec![];
    if t.otlp_collector_namespace.is_some() || !t.otlp_collector_pod_labels.is_empty() {
        to.push(NetworkPolicyPeer {
            namespace_selector: t.otlp_collector_namespace.as_ref().map(|ns| LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_string(),
                    ns.clone(),
                )])),
                match_expressions: None,
            }),
            pod_selector: Some(LabelSelector {
                match_labels: (!t.otlp_collector_pod_labels.is_empty())
                    .then(|| t.otlp_collector_pod_labels.iter().cloned().collect()),
                match_expressions: None,
            }),
            ip_block: None,
        });
    }
    for cidr in &t.otlp_collector_cidrs {
        to.push(NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.clone(),
                except: None,
            }),
            ..NetworkPolicyPeer::default()
        });
    }
    Some(NetworkPolicyEgressRule {
        to: Some(to),
        ports: Some(vec![crate::network_policy::port(i32::from(port), "TCP")]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{McpEndpointSpec, TelemetrySpec};
    use crate::guard::tests::ep;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        t: Telemetry,
    }

    fn flags(args: &[&str]) -> Telemetry {
        Cli::try_parse_from(std::iter::once("op").chain(args.iter().copied()))
            .unwrap()
            .t
    }

    fn spec(enabled: Option<bool>, service_name: Option<&str>) -> McpEndpoint {
        ep(
            "team-a",
            McpEndpointSpec {
                telemetry: Some(TelemetrySpec {
                    enabled,
                    service_name: service_name.map(String::from),
                }),
                ..Default::default()
            },
        )
    }

    const GRPC: &str = "--otlp-endpoint=http://otel.obs.svc:4317";

    #[test]
    fn env_follows_the_flags_and_the_spec() {
        let off = flags(&[]);
        let on = flags(&[GRPC]);
        let named = flags(&[GRPC, "--otel-service-name=mcp-{name}"]);
        let default_ep = ep("team-a", McpEndpointSpec::default());
        // (flags, endpoint, exported?, service name)
        let cases = [
            (&off, &default_ep, false, ""),
            (&off, &spec(Some(true), None), false, ""),
            (&on, &default_ep, true, "kube-mcp/team-a/ep"),
            (&on, &spec(Some(false), None), false, ""),
            (&on, &spec(None, Some("mine")), true, "mine"),
            (&named, &default_ep, true, "mcp-ep"),
        ];
        for (t, e, exported, name) in cases {
            let env: BTreeMap<_, _> = env(e, t).into_iter().collect();
            assert_eq!(enabled(e, t), exported, "{:?}", e.spec.telemetry);
            if !exported {
                assert!(env.is_empty(), "{env:?}");
                continue;
            }
            assert_eq!(
                env["OTEL_EXPORTER_OTLP_ENDPOINT"],
                "http://otel.obs.svc:4317"
            );
            assert_eq!(env["OTEL_SERVICE_NAME"], name);
            assert_eq!(
                env["OTEL_RESOURCE_ATTRIBUTES"],
                "k8s.namespace.name=team-a,kubemcp.endpoint=ep"
            );
        }
    }

    #[test]
    fn env_names_are_the_servers() {
        let t = flags(&[GRPC, "--otlp-protocol=http/protobuf"]);
        let names: Vec<_> = kube_mcp_catalog::settings::OTEL_ENV
            .iter()
            .map(|v| v.name)
            .collect();
        let e = ep("team-a", McpEndpointSpec::default());
        let env = env(&e, &t);
        assert_eq!(env.len(), 4);
        for (k, _) in env {
            assert!(
                names.contains(&k.as_str()),
                "{k} is not a variable the server reads"
            );
        }
    }

    #[test]
    fn egress_names_the_collector_on_its_port() {
        let e = ep("team-a", McpEndpointSpec::default());
        let rule =
            |args: &[&str]| egress(&e, &flags(args)).map(|r| serde_json::to_value(r).unwrap());
        // (flags, rule)
        let cases: [(&[&str], Option<serde_json::Value>); 6] = [
            (&[GRPC], None),
            (&["--otlp-collector-namespace=obs"], None),
            (
                &[GRPC, "--otlp-collector-namespace=obs"],
                Some(serde_json::json!({
                    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "obs"}}, "podSelector": {}}],
                    "ports": [{"port": 4317, "protocol": "TCP"}]
                })),
            ),
            (
                &[
                    "--otlp-endpoint=https://otel.example.com",
                    "--otlp-collector-pod-labels=app=otel,tier=obs",
                    "--otlp-collector-cidrs=10.1.0.0/16",
                ],
                Some(serde_json::json!({
                    "to": [
                        {"podSelector": {"matchLabels": {"app": "otel", "tier": "obs"}}},
                        {"ipBlock": {"cidr": "10.1.0.0/16"}}
                    ],
                    "ports": [{"port": 443, "protocol": "TCP"}]
                })),
            ),
            (
                &[
                    "--otlp-endpoint=otel:4317",
                    "--otlp-collector-namespace=obs",
                ],
                None,
            ),
            (
                &[
                    "--otlp-endpoint=http://otel.obs:4318",
                    "--otlp-collector-cidrs=10.0.0.9/32",
                ],
                Some(serde_json::json!({
                    "to": [{"ipBlock": {"cidr": "10.0.0.9/32"}}],
                    "ports": [{"port": 4318, "protocol": "TCP"}]
                })),
            ),
        ];
        for (args, want) in cases {
            assert_eq!(rule(args), want, "{args:?}");
        }
        let off = spec(Some(false), None);
        assert!(egress(&off, &flags(&[GRPC, "--otlp-collector-namespace=obs"])).is_none());
    }

    #[test]
    fn warnings_say_what_blocks_the_traces() {
        assert_eq!(flags(&[]).warning(true), None);
        let w = flags(&[GRPC]).warning(true).unwrap();
        assert!(w.contains("--otlp-collector-namespace"), "{w}");
        assert_eq!(flags(&[GRPC]).warning(false), None);
        assert_eq!(
            flags(&[GRPC, "--otlp-collector-namespace=obs"]).warning(true),
            None
        );
        let w = flags(&["--otlp-endpoint=otel:4317"]).warning(true).unwrap();
        assert!(w.contains("not a URL"), "{w}");
        let err = Cli::try_parse_from(["op", "--otlp-collector-pod-labels=app"])
            .err()
            .unwrap();
        assert!(err.to_string().contains("key=value"), "{err}");
    }
}
