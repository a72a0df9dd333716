//! Names of the objects an endpoint causes, and fixed paths/ports the server uses.

use crate::crd::McpEndpoint;
use kube::ResourceExt;

/// The one field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "kube-mcp-operator";
/// Finalizer that removes cross-namespace and cluster-scoped grants.
pub const FINALIZER: &str = "kubemcp.io/cleanup";
/// Key of the generated token in its Secret.
pub const TOKEN_KEY: &str = "token";
/// Directory the token Secret is mounted at in the server pod.
pub const TOKEN_MOUNT_DIR: &str = "/var/run/kube-mcp/auth";
/// File (inside [`TOKEN_MOUNT_DIR`]) the server reads the token from.
pub const TOKEN_FILE: &str = "/var/run/kube-mcp/auth/token";
/// Key, in the generated token Secret, of the key every replica signs
/// confirmation state with (a 2026-07-28 confirmation may finish on any replica).
pub const CONFIRM_KEY: &str = "confirm-key";
/// File (inside [`TOKEN_MOUNT_DIR`]) the server reads the confirmation key from.
pub const CONFIRM_KEY_FILE: &str = "/var/run/kube-mcp/auth/confirm-key";
/// Default key, and the file name, of the OIDC issuer's CA bundle
/// (`spec.auth.oidc.caConfigMapRef`).
pub const OIDC_CA_KEY: &str = "ca.crt";
/// Directory the OIDC CA bundle is mounted at in the server pod.
pub const OIDC_CA_MOUNT_DIR: &str = "/var/run/kube-mcp/oidc-ca";
/// File (inside [`OIDC_CA_MOUNT_DIR`]) the server reads the OIDC CA bundle from.
pub const OIDC_CA_FILE: &str = "/var/run/kube-mcp/oidc-ca/ca.crt";
/// Container port of the server (named `http`).
pub const SERVER_PORT: i32 = 8080;
/// Service port.
pub const SERVICE_PORT: i32 = 80;
/// Name of the server container.
pub const CONTAINER_NAME: &str = "kube-mcp-server";

/// Name of the endpoint (also of its Deployment, Service, NetworkPolicy and home Role).
pub fn base(ep: &McpEndpoint) -> String {
    ep.name_any()
}

/// Namespace of the endpoint (`default` if somehow absent).
pub fn namespace(ep: &McpEndpoint) -> String {
    ep.namespace().unwrap_or_else(|| "default".into())
}

/// Prefix of every endpoint ServiceAccount: admission policies recognise
/// endpoint identities by the username prefix `system:serviceaccount:<ns>:kube-mcp.`.
pub const SERVICE_ACCOUNT_PREFIX: &str = "kube-mcp.";

/// The endpoint's ServiceAccount: `kube-mcp.<name>`.
pub fn service_account(ep: &McpEndpoint) -> String {
    format!("{SERVICE_ACCOUNT_PREFIX}{}", base(ep))
}

/// The ServiceAccount name earlier versions used (the endpoint's name); an
/// owned one is removed on upgrade.
pub fn legacy_service_account(ep: &McpEndpoint) -> String {
    base(ep)
}

/// The generated token Secret: `<name>-token`.
pub fn token_secret(ep: &McpEndpoint) -> String {
    format!("{}-token", base(ep))
}

/// Role/RoleBinding name in `target` namespace: the endpoint name at home,
/// [`foreign`] elsewhere.
pub fn role(ep: &McpEndpoint, target: &str) -> String {
    if target == namespace(ep) {
        base(ep)
    } else {
        foreign(ep)
    }
}

/// ClusterRole/ClusterRoleBinding name.
pub fn cluster_role(ep: &McpEndpoint) -> String {
    foreign(ep)
}

/// Prefix of cluster-scoped and cross-namespace children (`kube-mcp:<ns>:<name>`);
/// the operator's admission policy allows it only those names.
pub const CLUSTER_NAME_PREFIX: &str = "kube-mcp:";

/// `kube-mcp:<ep-ns>:<ep-name>`: the name of every object outside the
/// endpoint's namespace. ':' occurs in no namespace or endpoint name (RBAC
/// names allow it), so two endpoints never share one; `kube-mcp-<ns>-<name>`
/// did (`team`/`a-prod` and `team-a`/`prod`).
pub fn foreign(ep: &McpEndpoint) -> String {
    format!("{CLUSTER_NAME_PREFIX}{}:{}", namespace(ep), base(ep))
}

/// The in-cluster URL of the MCP endpoint.
pub fn url(ep: &McpEndpoint) -> String {
    format!(
        "http://{}.{}.svc:{SERVICE_PORT}/mcp",
        base(ep),
        namespace(ep)
    )
}
