//! The `McpEndpoint` custom resource (`kubemcp.io/v1alpha1`): types only.
//!
//! Defaults live in the schema (not only in serde) so that what GitOps tools
//! apply and what the API server stores agree. Tool names are validated by an
//! enum generated from the server's catalog, so no name is spelled here.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSON, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
    ValidationRule,
};
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

/// Which tool calls wait for the user's yes before they run.
#[derive(
    Serialize, Deserialize, schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash,
)]
pub enum ConfirmCalls {
    /// Calls that remove or disrupt things: delete, drain, uninstall, cleanup.
    #[default]
    Destructive,
    /// Every call that changes something (destructive ones included).
    Writes,
    /// No call asks.
    Never,
}

/// What happens to a call that needs a confirmation when the client cannot answer one.
#[derive(
    Serialize, Deserialize, schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash,
)]
pub enum ConfirmFallback {
    /// The call is refused, saying why.
    Deny,
    /// The call runs, as it would without confirmations.
    #[default]
    Allow,
}

/// Confirmations before calls that change the cluster.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmSpec {
    /// Which calls state what they will do and wait for the user's yes: Destructive (the default),
    /// Writes or Never. Dry runs never ask.
    #[serde(default)]
    pub calls: ConfirmCalls,
    /// For clients that cannot answer: Allow (the default) or Deny. Endpoints are stateless, so
    /// clients of the 2025-11-25 protocol revision always get the fallback; 2026-07-28 clients
    /// that support elicitation are asked.
    #[serde(default)]
    pub fallback: ConfirmFallback,
}

/// How a client may prove who it is.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// The shared token (generated, or spec.auth.tokenSecretRef).
    Token,
    /// Kubernetes ServiceAccount tokens issued for the endpoint's audiences (TokenReview).
    Kubernetes,
    /// JWTs from the OIDC issuer of spec.auth.oidc.
    Oidc,
}

/// Whose rights a tool call's Kubernetes requests need.
#[derive(
    Serialize, Deserialize, schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash,
)]
pub enum Authorize {
    /// The endpoint's own (its ServiceAccount's RBAC), the same for every caller.
    #[default]
    Endpoint,
    /// Also the caller's own: each request is checked with a SubjectAccessReview for the caller.
    Caller,
}

/// Authentication of MCP clients, and whose rights their calls need.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// A Secret in the endpoint's namespace holding the token; it must carry the label
    /// `kubemcp.io/token-for: <endpoint name>`. Default (absent): the operator generates a token
    /// into the Secret `<endpoint name>-token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeyRef>,
    /// How clients may authenticate; one endpoint may accept several: Token (the shared token),
    /// Kubernetes (ServiceAccount tokens for the endpoint's audiences, checked by TokenReview;
    /// the endpoint's ServiceAccount gets create on tokenreviews) and Oidc (JWTs of
    /// spec.auth.oidc's issuer). Default: [Token]. The operator verifies only endpoints that
    /// accept Token.
    #[serde(default = "default_modes")]
    #[schemars(schema_with = "modes_schema")]
    pub modes: Vec<AuthMode>,
    /// Token audiences the endpoint accepts (Kubernetes and Oidc). Default: its resourceURL, by
    /// default its in-cluster URL `http://<name>.<namespace>.svc:80/mcp` (status.url).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "audiences_schema")]
    pub audiences: Vec<String>,
    /// The URL clients use for the endpoint (e.g. https://mcp.example.com/mcp): the OAuth
    /// protected resource the endpoint announces (RFC 9728) and its default audience.
    /// Default (absent): the in-cluster URL (status.url).
    #[serde(
        default,
        rename = "resourceURL",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1, max = 2048))]
    pub resource_url: Option<String>,
    /// The OIDC issuer whose JWTs the Oidc mode accepts. Required with Oidc, refused without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcSpec>,
    /// Endpoint (default): tool calls act with the endpoint's rights alone. Caller: each
    /// Kubernetes request also needs the caller's own rights (a SubjectAccessReview per request;
    /// the endpoint's ServiceAccount gets create on subjectaccessreviews); needs Kubernetes or
    /// Oidc, whose callers have a user name. Tools that run helm are not offered with Caller.
    #[serde(default)]
    pub authorize: Authorize,
}

impl Default for AuthSpec {
    fn default() -> Self {
        Self {
            token_secret_ref: None,
            modes: default_modes(),
            audiences: vec![],
            resource_url: None,
            oidc: None,
            authorize: Authorize::Endpoint,
        }
    }
}

fn default_modes() -> Vec<AuthMode> {
    vec![AuthMode::Token]
}

fn modes_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "default": ["Token"],
        "minItems": 1,
        "maxItems": 3,
        "items": { "type": "string", "enum": ["Token", "Kubernetes", "Oidc"] },
        "x-kubernetes-list-type": "set",
    })
}

fn audiences_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "maxItems": 16,
        "items": { "type": "string", "minLength": 1, "maxLength": 2048 },
        "x-kubernetes-list-type": "set",
    })
}

/// An OIDC issuer, as the API server's own `--oidc-*` flags describe one.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OidcSpec {
    /// The issuer URL (https://); its discovery document and keys are read from there, so the
    /// endpoint's pods must reach it (see the NetworkPolicy notes in docs/identity.md).
    #[serde(rename = "issuerURL")]
    #[schemars(length(min = 9, max = 2048))]
    pub issuer_url: String,
    /// Scopes every token must carry (from `scope` or `scp`). Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub required_scopes: Vec<String>,
    /// The claim holding the user name. Default: sub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_claim: Option<String>,
    /// Put before the user name, as the API server's --oidc-username-prefix. Default (absent):
    /// `<issuerURL>#` (none for the email claim); `-` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_prefix: Option<String>,
    /// The claim holding the groups (a string or a list). Default: groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<String>,
    /// Put before each group name, e.g. `oidc:`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_prefix: Option<String>,
    /// A ConfigMap in the endpoint's namespace holding the PEM CA certificates the issuer's
    /// certificate must chain to (e.g. a private company CA). Default (absent): the image's
    /// system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_config_map_ref: Option<ConfigMapKeyRef>,
}

/// A key of a ConfigMap in the endpoint's namespace.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct ConfigMapKeyRef {
    /// Name of the ConfigMap.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the ConfigMap's data. Default: ca.crt.
    #[serde(default = "default_ca_key")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

fn default_ca_key() -> String {
    crate::names::OIDC_CA_KEY.to_string()
}

/// The endpoint's OpenTelemetry traces (exported to the operator's --otlp-endpoint).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TelemetrySpec {
    /// Whether the server exports traces. Default: true when the operator has an
    /// --otlp-endpoint (without one there is nowhere to send them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// service.name of the traces. Default: the operator's --otel-service-name
    /// (kube-mcp/<namespace>/<name>).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub service_name: Option<String>,
}

/// A key of a Secret in the endpoint's namespace.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct SecretKeyRef {
    /// Name of the Secret (labelled `kubemcp.io/token-for: <endpoint name>`).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret's data. Default: token.
    #[serde(default = "default_token_key")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

fn default_token_key() -> String {
    crate::names::TOKEN_KEY.to_string()
}

// How much of each tool call the server's audit log records. Not a doc
// comment: schemars would put it over the field's description in the CRD.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditLevel {
    /// Reads are not recorded; writes and refusals still are.
    Off,
    /// Who called which tool, where, with what result; no arguments.
    Metadata,
    /// Metadata plus the arguments, with Secret values and tokens redacted.
    Request,
}

/// The server's audit log.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct AuditSpec {
    /// Off (reads not recorded; writes and refusals still are), Metadata (who called which tool,
    /// where, with what result) or Request (also the arguments, Secret values and tokens
    /// redacted). Default: the operator's --default-audit-level (Metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<AuditLevel>,
}

/// Who may reach the endpoint's pods.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSpec {
    /// Peers allowed to connect. Default (absent): pods of the endpoint's own namespace.
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
// Clippy reads the printcolumn entries' repeated `type_ = "string"` as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
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
    printcolumn(
        name = "Access",
        type_ = "string",
        json_path = ".spec.access",
        description = "spec.access: the ceiling of the tool classes offered"
    ),
    printcolumn(
        name = "Tools",
        type_ = "integer",
        json_path = ".status.toolCount",
        description = "Number of tools offered"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        description = "Why the endpoint is (not) Ready; the Ready condition's message says more"
    ),
    printcolumn(
        name = "Scope",
        type_ = "string",
        json_path = ".status.namespaces",
        priority = 1,
        description = "Namespaces the endpoint reaches ([\"*\"]: all)"
    ),
    printcolumn(
        name = "Secrets",
        type_ = "string",
        json_path = ".spec.secrets",
        priority = 1,
        description = "spec.secrets: Hidden, Masked or Visible"
    ),
    printcolumn(
        name = "Auth",
        type_ = "string",
        json_path = ".status.auth",
        priority = 1,
        description = "How clients authenticate (Generated or Secret token, Kubernetes, Oidc) and /Caller with per-caller authorization"
    ),
    printcolumn(name = "URL", type_ = "string", json_path = ".status.url"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct McpEndpointSpec {
    /// Ceiling of the tool classes offered: ReadOnly (read-only tools), NonDestructive (also tools
    /// that create and change, never delete) or Full (every tool). Default: ReadOnly. The
    /// operator's --max-access caps it.
    #[serde(default)]
    pub access: Access,

    /// Allowlist of tool names inside the access ceiling. Default (absent): every tool the ceiling
    /// allows. A listed tool the ceiling, scope or secrets setting rules out is not offered; the
    /// ToolsDropped condition says which and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "tool_names_schema")]
    pub tools: Option<Vec<String>>,

    /// Namespaces the endpoint may reach. Default (absent): its own namespace. At most 10;
    /// `["*"]` means every namespace. Other namespaces, and `"*"`, are allowed only for endpoints
    /// in one of the operator's admin namespaces (--admin-namespaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "namespaces_schema")]
    #[x_kube(validation = Rule::new("!self.exists(n, n == '*') || size(self) == 1").message("'*' (cluster-wide) must be the only entry of namespaces"))]
    pub namespaces: Option<Vec<String>>,

    /// What the server shows of Secrets: Hidden (no RBAC on Secrets at all), Masked (values shown
    /// as ***) or Visible (values as stored; needed by the Helm tools). Default: Masked.
    #[serde(default)]
    pub secrets: SecretsPolicy,

    /// Authentication of MCP clients. Default: a token the operator generates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(
        validation = Rule::new("!has(self.modes) || !('Oidc' in self.modes) || has(self.oidc)").message("spec.auth.modes includes Oidc: set spec.auth.oidc (at least issuerURL)"),
        validation = Rule::new("!has(self.oidc) || (has(self.modes) && 'Oidc' in self.modes)").message("spec.auth.oidc is set but spec.auth.modes does not include Oidc: add Oidc to modes, or remove oidc"),
        validation = Rule::new("!has(self.oidc) || self.oidc.issuerURL.startsWith('https://')").message("spec.auth.oidc.issuerURL must be an https:// URL (its keys are fetched from there)"),
        validation = Rule::new("!has(self.authorize) || self.authorize != 'Caller' || (has(self.modes) && self.modes.exists(m, m == 'Kubernetes' || m == 'Oidc'))").message("spec.auth.authorize: Caller needs callers with a user name: add Kubernetes or Oidc to spec.auth.modes"),
        validation = Rule::new("!has(self.tokenSecretRef) || !has(self.modes) || 'Token' in self.modes").message("spec.auth.tokenSecretRef is set but spec.auth.modes does not include Token: add Token, or remove tokenSecretRef"),
    )]
    pub auth: Option<AuthSpec>,

    /// Extra Host header values accepted, e.g. mcp.example.com or mcp.example.com:8443 (the
    /// in-cluster Service names always are). Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "hosts_schema")]
    pub allowed_hosts: Vec<String>,

    /// Browser origins allowed to call the endpoint, e.g. https://app.example.com. Default: none,
    /// and requests with an Origin header are refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "origins_schema")]
    pub allowed_origins: Vec<String>,

    /// Number of server pods, 1 to 10. Default: 1.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 10))]
    pub replicas: i32,

    /// Server image. Default (absent): the operator's --server-image. Another image runs only if
    /// the operator's --allowed-images allows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,

    /// Resources of the server container. Default: none set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// Who may connect to the server pods (through a NetworkPolicy, when the operator creates
    /// them). Default: pods of the endpoint's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,

    /// The server's audit log (one JSON record per tool call and refused request, on the pod's
    /// stdout). Default: the operator's --default-audit-level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSpec>,

    /// Confirmations before calls that change the cluster. Default: destructive calls ask,
    /// clients that cannot answer are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<ConfirmSpec>,

    /// OpenTelemetry traces of the server. Default: exported when the operator has an
    /// --otlp-endpoint, under its --otel-service-name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<TelemetrySpec>,
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
            audit: None,
            confirm: None,
            telemetry: None,
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
    /// Ready, RbacReady, Available, ToolsDropped, Verified, Degraded.
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
    /// How clients authenticate, `+`-joined: Generated (the operator's token) or Secret
    /// (spec.auth.tokenSecretRef) for the Token mode, Kubernetes, Oidc; then `/Caller` when
    /// each call also needs the caller's rights. E.g. Generated, Generated+Kubernetes/Caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
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

/// A string array item checked by a CEL rule with a readable message (a
/// `pattern` would report the bare regular expression).
fn checked_items(max_items: u32, max_length: u32, pattern: &str, message: &str) -> Schema {
    json_schema!({
        "type": "array",
        "default": [],
        "maxItems": max_items,
        "items": {
            "type": "string",
            "maxLength": max_length,
            "x-kubernetes-validations": [{
                "rule": format!("self.matches(r'{pattern}')"),
                "message": message,
            }],
        },
        "x-kubernetes-list-type": "set",
    })
}

/// Most entries of `spec.namespaces`. The admission policies check, for the
/// creator, a few permissions per namespace, and CEL caps how many `authorizer`
/// checks one policy may make (docs/security.md); wider endpoints use `["*"]`.
pub const MAX_NAMESPACES: usize = 10;

fn namespaces_schema(_: &mut SchemaGenerator) -> Schema {
    let mut s = checked_items(
        MAX_NAMESPACES as u32,
        63,
        NAMESPACE_PATTERN,
        "must be a namespace name (at most 63 characters of a-z, 0-9 and '-', starting and ending \
         with a letter or digit) or \"*\" for every namespace",
    );
    // Absent means the own namespace: no default, and an empty list is refused.
    s.remove("default");
    s.insert("minItems".into(), 1.into());
    s
}

/// A lower-case DNS name or IPv4 address, with an optional port.
pub const HOST_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$";

fn hosts_schema(_: &mut SchemaGenerator) -> Schema {
    checked_items(
        32,
        253,
        HOST_PATTERN,
        "must be a lower-case host name or IPv4 address with an optional port, no scheme and no \
         path, e.g. mcp.example.com or mcp.example.com:8443",
    )
}

/// `scheme://host[:port]`, no path.
pub const ORIGIN_PATTERN: &str = r"^https?://[^/\s]+$";

fn origins_schema(_: &mut SchemaGenerator) -> Schema {
    checked_items(
        32,
        2048,
        ORIGIN_PATTERN,
        "must be an origin: http:// or https://, a host and an optional port, no path, e.g. \
         https://app.example.com",
    )
}

/// The rule on `metadata.name`: it names the endpoint's Service, so it must
/// be a DNS-1035 label (a Kubernetes name may be longer and contain dots).
pub const NAME_RULE: &str = "size(self) <= 63 && self.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')";

/// The CRD as installed: what kube derives, plus what it cannot express.
///
/// - `spec` is optional and defaults to `{}` (every field has a default), so
///   a bare `kind: McpEndpoint` with a name is a valid ReadOnly endpoint.
/// - `metadata.name` carries its rule, so the error names the field and the
///   value (a rule on the root would report `<nil>`).
/// - descriptions are unwrapped (doc comments' line breaks would show in
///   the middle of sentences in `kubectl explain`).
pub fn definition() -> CustomResourceDefinition {
    let mut crd = McpEndpoint::crd();
    for v in &mut crd.spec.versions {
        let Some(root) = v
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        if let Some(required) = root.required.as_mut() {
            required.retain(|r| r != "spec");
            if required.is_empty() {
                root.required = None;
            }
        }
        let props = root.properties.get_or_insert_default();
        if let Some(spec) = props.get_mut("spec") {
            spec.default = Some(JSON(serde_json::json!({})));
        }
        let name = JSONSchemaProps {
            type_: Some("string".into()),
            x_kubernetes_validations: Some(vec![ValidationRule {
                rule: NAME_RULE.into(),
                message: Some(
                    "must be a DNS-1035 label: at most 63 characters of a-z, 0-9 and '-', starting \
                     with a letter and ending with a letter or digit (it names the endpoint's \
                     Service), e.g. team-a-readonly"
                        .into(),
                ),
                ..ValidationRule::default()
            }]),
            ..JSONSchemaProps::default()
        };
        props.insert(
            "metadata".into(),
            JSONSchemaProps {
                type_: Some("object".into()),
                properties: Some([("name".to_string(), name)].into()),
                ..JSONSchemaProps::default()
            },
        );
        unwrap_descriptions(root);
    }
    crd
}

/// Joins the lines of every description (a blank line stays a paragraph break).
fn unwrap_descriptions(s: &mut JSONSchemaProps) {
    if let Some(d) = s.description.as_mut() {
        *d = d
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    for p in s.properties.iter_mut().flat_map(|m| m.values_mut()) {
        unwrap_descriptions(p);
    }
    if let Some(JSONSchemaPropsOrArray::Schema(items)) = s.items.as_mut() {
        unwrap_descriptions(items);
    }
    if let Some(JSONSchemaPropsOrBool::Schema(extra)) = s.additional_properties.as_mut() {
        unwrap_descriptions(extra);
    }
}

/// The CRD rendered as YAML, as committed in `crds/`.
pub fn crd_yaml() -> Result<String, serde_saphyr::SerializeError> {
    serde_saphyr::to_string(&definition())
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
        assert_eq!(
            cols,
            [
                "Access", "Tools", "Ready", "Reason", "Scope", "Secrets", "Auth", "URL", "Age"
            ]
        );
        let wide: Vec<_> = v
            .additional_printer_columns
            .iter()
            .flatten()
            .filter(|c| c.priority == Some(1))
            .map(|c| (c.name.as_str(), c.json_path.as_str()))
            .collect();
        assert_eq!(
            wide,
            [
                ("Scope", ".status.namespaces"),
                ("Secrets", ".spec.secrets"),
                ("Auth", ".status.auth")
            ]
        );
    }

    fn spec_schema() -> serde_json::Value {
        let crd = definition();
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
    fn spec_is_optional_and_defaults_are_documented() {
        let crd = definition();
        let root = crd.spec.versions[0]
            .schema
            .clone()
            .unwrap()
            .open_api_v3_schema
            .unwrap();
        assert!(root.required.iter().flatten().all(|r| r != "spec"));
        let s = spec_schema();
        assert_eq!(s["default"], json!({}));
        assert_eq!(s["properties"]["allowedHosts"]["default"], json!([]));
        for (field, default) in [
            ("access", "Default: ReadOnly"),
            ("secrets", "Default: Masked"),
            ("replicas", "Default: 1"),
            ("tools", "Default (absent)"),
            ("namespaces", "Default (absent)"),
            ("image", "Default (absent)"),
            ("allowedHosts", "Default: none"),
        ] {
            let d = s["properties"][field]["description"].as_str().unwrap();
            assert!(d.contains(default), "{field}: {d}");
            assert!(
                !d.contains("..="),
                "{field}: Rust syntax in a description: {d}"
            );
        }
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
    fn auth_rules_say_what_is_missing() {
        let check = |auth: serde_json::Value| {
            let e: McpEndpoint = serde_json::from_value(json!({
                "apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint",
                "metadata": {"name": "x", "namespace": "a"},
                "spec": {"auth": auth},
            }))
            .unwrap();
            e.validate_cel().map_err(|e| e.to_string())
        };
        let oidc = json!({"issuerURL": "https://idp.example.com"});
        // (spec.auth, a word of the refusal, or None when accepted)
        let cases = [
            (json!({}), None),
            (
                json!({"modes": ["Token", "Kubernetes"], "authorize": "Caller"}),
                None,
            ),
            (json!({"modes": ["Oidc"], "oidc": oidc}), None),
            (json!({"modes": ["Oidc"]}), Some("set spec.auth.oidc")),
            (json!({"modes": ["Token"], "oidc": oidc}), Some("add Oidc")),
            (
                json!({"modes": ["Oidc"], "oidc": {"issuerURL": "http://idp"}}),
                Some("https://"),
            ),
            (
                json!({"authorize": "Caller"}),
                Some("add Kubernetes or Oidc"),
            ),
            (
                json!({"modes": ["Kubernetes"], "tokenSecretRef": {"name": "s"}}),
                Some("add Token"),
            ),
        ];
        for (auth, refusal) in cases {
            let got = check(auth.clone());
            match refusal {
                None => assert!(got.is_ok(), "{auth}: {got:?}"),
                Some(word) => {
                    let e = got.expect_err(&auth.to_string());
                    assert!(e.contains(word), "{auth}: {e}");
                }
            }
        }
    }

    #[test]
    fn the_name_rule_sits_on_metadata_name_and_descriptions_are_one_paragraph() {
        let crd = serde_json::to_value(definition()).unwrap();
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let rules =
            &root["properties"]["metadata"]["properties"]["name"]["x-kubernetes-validations"];
        assert_eq!(rules[0]["rule"], json!(NAME_RULE));
        assert!(root.get("x-kubernetes-validations").is_none());
        let access = root["properties"]["spec"]["properties"]["access"]["description"]
            .as_str()
            .unwrap();
        assert!(!access.contains('\n'), "{access}");
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
