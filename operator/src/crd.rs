//! The `McpEndpoint` custom resource (`kubemcp.io/v1alpha1`): types only.
//!
//! Defaults live in the schema (not only in serde) so that what GitOps tools
//! apply and what the API server stores agree. Tool names are validated by an
//! enum generated from the server's catalog, so no name is spelled here.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::{Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// API group of the CRD.
pub const GROUP: &str = "kubemcp.io";
/// Served and stored version.
pub const VERSION: &str = "v1alpha1";
/// `metadata.name` of the CRD.
pub const CRD_NAME: &str = "mcpendpoints.kubemcp.io";

/// The ceiling of what an endpoint's tools may do.
#[derive(
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
)]
pub enum Access {
    /// Only read-only tools.
    #[default]
    ReadOnly,
    /// Read-only and write tools, nothing destructive.
    NonDestructive,
    /// Every tool, destructive ones included.
    Full,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadOnly => "ReadOnly",
            Access::NonDestructive => "NonDestructive",
            Access::Full => "Full",
        }
    }
}

/// What the server shows of Secrets.
#[derive(
    Serialize, Deserialize, schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash,
)]
pub enum SecretsPolicy {
    /// No RBAC on secrets at all; the server refuses them.
    Hidden,
    /// Values are replaced by `***`.
    #[default]
    Masked,
    /// Values are shown as stored.
    Visible,
}

/// Where the endpoint's auth token comes from.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// A Secret in the endpoint's namespace holding the token; absent: the operator generates one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeyRef>,
}

/// A key of a Secret in the endpoint's namespace.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct SecretKeyRef {
    /// Secret name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret's data.
    #[serde(default = "default_token_key")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

fn default_token_key() -> String {
    crate::names::TOKEN_KEY.to_string()
}

/// Who may reach the endpoint's pods.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSpec {
    /// Peers allowed to connect; absent: pods of the endpoint's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_from: Option<Vec<NetworkPeer>>,
}

/// One allowed peer: the pods matching both selectors (either may be absent).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPeer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
}

/// An MCP endpoint: a kube-mcp-server deployment with least-privilege RBAC.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "kubemcp.io",
    version = "v1alpha1",
    kind = "McpEndpoint",
    plural = "mcpendpoints",
    shortname = "mcpe",
    category = "kube-mcp",
    doc = "An MCP endpoint: a kube-mcp-server deployment whose tools, namespaces and RBAC are the least the spec asks for.",
    namespaced,
    status = "McpEndpointStatus",
    cel,
    validation = Rule::new("size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')").message("metadata.name must be a DNS-1035 label (at most 63 characters, a-z, 0-9, '-', starting with a letter): it names the endpoint's Service"),
    printcolumn(name = "Access", type_ = "string", json_path = ".spec.access"),
    printcolumn(name = "Tools", type_ = "integer", json_path = ".status.toolCount"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "URL", type_ = "string", json_path = ".status.url"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct McpEndpointSpec {
    /// Ceiling of the tool classes offered: ReadOnly, NonDestructive or Full.
    #[serde(default)]
    pub access: Access,

    /// Allowlist of tool names inside the access ceiling; absent: every tool the ceiling allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "tool_names_schema")]
    pub tools: Option<Vec<String>>,

    /// Namespaces the endpoint may reach (at most 10); absent: its own namespace. `["*"]` means cluster-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "namespaces_schema")]
    #[x_kube(validation = Rule::new("!self.exists(n, n == '*') || size(self) == 1").message("'*' (cluster-wide) must be the only entry of namespaces"))]
    pub namespaces: Option<Vec<String>>,

    /// Hidden (no RBAC on Secrets), Masked (values shown as ***) or Visible.
    #[serde(default)]
    pub secrets: SecretsPolicy,

    /// Authentication of MCP clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSpec>,

    /// Extra Host header values accepted (the in-cluster Service names always are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "hosts_schema")]
    pub allowed_hosts: Vec<String>,

    /// Browser origins allowed to call the endpoint; empty: requests with an Origin header are refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "origins_schema")]
    pub allowed_origins: Vec<String>,

    /// Number of server pods (1..=10).
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 10))]
    pub replicas: i32,

    /// Server image; absent: the operator's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,

    /// Resources of the server container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// Network exposure of the server pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,
}

impl Default for McpEndpointSpec {
    fn default() -> Self {
        Self {
            access: Access::default(),
            tools: None,
            namespaces: None,
            secrets: SecretsPolicy::default(),
            auth: None,
            allowed_hosts: vec![],
            allowed_origins: vec![],
            replicas: default_replicas(),
            image: None,
            resources: None,
            network: None,
        }
    }
}

fn default_replicas() -> i32 {
    1
}

/// What the operator observed and granted.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct McpEndpointStatus {
    /// Ready, RbacReady, Available, Verified, Degraded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// In-cluster URL of the MCP endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Secret holding the token clients must send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_name: Option<String>,
    /// The effective tool set (ceiling and allowlist applied).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Number of effective tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_count: Option<i32>,
    /// The namespaces the endpoint may reach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Ready server pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// What the server answered the operator's last completed MCP initialize and tools/list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<VerifiedServer>,
}

/// The server as the operator saw it through the endpoint's Service.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedServer {
    /// `serverInfo.name` of the initialize result.
    #[serde(default)]
    pub server_name: String,
    /// `serverInfo.version` of the initialize result.
    #[serde(default)]
    pub server_version: String,
    /// The tools tools/list advertised (catalog order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
}

fn tool_names_schema(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = kube_mcp_catalog::tools::names().collect();
    json_schema!({
        "type": "array",
        "items": { "type": "string", "enum": names },
        "x-kubernetes-list-type": "set",
    })
}

/// A DNS-1123 label (a namespace name) or `*`.
pub const NAMESPACE_PATTERN: &str = r"^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$";

/// Most entries of `spec.namespaces`. The admission policies check, for the
/// creator, a few permissions per namespace, and CEL caps how many `authorizer`
/// checks one policy may make (docs/security.md); wider endpoints use `["*"]`.
pub const MAX_NAMESPACES: usize = 10;

fn namespaces_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_NAMESPACES,
        "items": { "type": "string", "maxLength": 63, "pattern": NAMESPACE_PATTERN },
        "x-kubernetes-list-type": "set",
    })
}

/// A lower-case DNS name or IPv4 address, with an optional port.
pub const HOST_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$";

fn hosts_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "string", "maxLength": 253, "pattern": HOST_PATTERN },
        "x-kubernetes-list-type": "set",
    })
}

/// `scheme://host[:port]`, no path.
pub const ORIGIN_PATTERN: &str = r"^https?://[^/\s]+$";

fn origins_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "string", "maxLength": 2048, "pattern": ORIGIN_PATTERN },
        "x-kubernetes-list-type": "set",
    })
}

/// The CRD rendered as YAML, as committed in `crds/`.
pub fn crd_yaml() -> Result<String, serde_saphyr::SerializeError> {
    serde_saphyr::to_string(&McpEndpoint::crd())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn committed_crd_matches_the_code() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crds/mcpendpoints.kubemcp.io.yaml"
        );
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == crd_yaml().unwrap(),
            "crds/mcpendpoints.kubemcp.io.yaml drifted from McpEndpoint::crd(); regenerate with \
             `cargo run -p kube-mcp-operator -- crd > crds/mcpendpoints.kubemcp.io.yaml`"
        );
    }

    #[test]
    fn crd_shape() {
        let crd = McpEndpoint::crd();
        assert_eq!(crd.metadata.name.as_deref(), Some(CRD_NAME));
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(crd.spec.names.short_names, Some(vec!["mcpe".to_string()]));
        let v = &crd.spec.versions[0];
        assert!(v.subresources.as_ref().unwrap().status.is_some());
        let cols: Vec<_> = v
            .additional_printer_columns
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(cols, ["Access", "Tools", "Ready", "URL", "Age"]);
    }

    fn spec_schema() -> serde_json::Value {
        let crd = McpEndpoint::crd();
        let s = crd.spec.versions[0]
            .schema
            .clone()
            .unwrap()
            .open_api_v3_schema
            .unwrap();
        serde_json::to_value(s).unwrap()["properties"]["spec"].clone()
    }

    #[test]
    fn defaults_are_in_the_schema() {
        let s = spec_schema();
        assert_eq!(s["properties"]["access"]["default"], json!("ReadOnly"));
        assert_eq!(s["properties"]["secrets"]["default"], json!("Masked"));
        assert_eq!(s["properties"]["replicas"]["default"], json!(1));
        assert_eq!(s["properties"]["replicas"]["minimum"], json!(1.0));
        assert_eq!(s["properties"]["replicas"]["maximum"], json!(10.0));
    }

    #[test]
    fn tool_enum_is_the_catalog() {
        let s = spec_schema();
        let names: Vec<String> = kube_mcp_catalog::tools::names().map(String::from).collect();
        assert_eq!(s["properties"]["tools"]["items"]["enum"], json!(names));
    }

    #[test]
    fn status_conditions_are_a_list_map() {
        let crd = McpEndpoint::crd();
        let s = crd.spec.versions[0]
            .schema
            .clone()
            .unwrap()
            .open_api_v3_schema
            .unwrap();
        let st =
            serde_json::to_value(s).unwrap()["properties"]["status"]["properties"]["conditions"]
                .clone();
        assert_eq!(st["x-kubernetes-list-type"], json!("map"));
        assert_eq!(st["x-kubernetes-list-map-keys"], json!(["type"]));
    }

    #[test]
    fn star_must_stand_alone() {
        let ep = |ns: &[&str]| {
            json!({
                "apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint",
                "metadata": {"name": "x", "namespace": "a"},
                "spec": {"namespaces": ns},
            })
        };
        let check = |ns: &[&str]| {
            let v = ep(ns);
            let e: McpEndpoint = serde_json::from_value(v).unwrap();
            e.validate_cel()
        };
        assert!(check(&["a", "b"]).is_ok());
        assert!(check(&["*"]).is_ok());
        assert!(check(&["*", "b"]).is_err());
    }

    #[test]
    fn name_must_be_a_dns_1035_label() {
        let check = |name: &str| {
            let mut e = McpEndpoint::new(name, McpEndpointSpec::default());
            e.metadata.namespace = Some("a".into());
            e.validate_cel()
        };
        assert!(check("team-a-readonly").is_ok());
        assert!(check("1abc").is_err());
        assert!(check(&"a".repeat(64)).is_err());
    }

    #[test]
    fn spec_defaults_deserialize() {
        let s: McpEndpointSpec = serde_json::from_value(json!({})).unwrap();
        assert_eq!(s, McpEndpointSpec::default());
        assert_eq!(s.access, Access::ReadOnly);
        assert_eq!(s.secrets, SecretsPolicy::Masked);
        assert_eq!(s.replicas, 1);
    }
}
