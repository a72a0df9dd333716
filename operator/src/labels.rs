//! Label and annotation keys, in one place.

use crate::crd::McpEndpoint;
use crate::names;
use kube::ResourceExt;
use std::collections::BTreeMap;

pub const NAME: &str = "app.kubernetes.io/name";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const COMPONENT: &str = "app.kubernetes.io/component";
/// Namespace of the endpoint that caused an object (on every child).
pub const OWNER_NAMESPACE: &str = "kubemcp.io/owner-namespace";
/// Name of the endpoint that caused an object (on every child).
pub const OWNER_NAME: &str = "kubemcp.io/owner-name";
/// UID of the endpoint that caused an object (on every child): what makes a
/// cross-namespace or cluster-scoped object ours, since it cannot carry an
/// owner reference.
pub const OWNER_UID: &str = "kubemcp.io/owner-uid";
/// A Secret may serve as the token of the endpoint this label names
/// (`spec.auth.tokenSecretRef`); the operator reads no other Secret.
pub const TOKEN_FOR: &str = "kubemcp.io/token-for";

pub const APP_NAME: &str = "kube-mcp-server";
pub const MANAGER: &str = "kube-mcp-operator";
pub const PART_OF_VALUE: &str = "kube-mcp";
pub const COMPONENT_VALUE: &str = "mcp-endpoint";

/// Pod-template annotation: a hash of the rendered settings, so a change rolls pods.
pub const CONFIG_HASH: &str = "kubemcp.io/config-hash";
/// Endpoint annotation: change its value to rotate the generated token.
pub const ROTATE_TOKEN: &str = "kubemcp.io/rotate-token";
/// Token Secret annotation: the rotate-token value the current token was made for.
pub const ROTATED_FOR: &str = "kubemcp.io/rotated-for";

/// Selector of everything this operator manages (for child watches).
pub fn managed_selector() -> String {
    format!("{MANAGED_BY}={MANAGER}")
}

/// Selector of everything this operator does not manage (the names a child
/// must not take).
pub fn foreign_selector() -> String {
    format!("{MANAGED_BY}!={MANAGER}")
}

/// The labels every child of `ep` carries.
pub fn labels(ep: &McpEndpoint) -> BTreeMap<String, String> {
    let mut l = selector(ep);
    l.insert(MANAGED_BY.into(), MANAGER.into());
    l.insert(PART_OF.into(), PART_OF_VALUE.into());
    l.insert(COMPONENT.into(), COMPONENT_VALUE.into());
    l.insert(OWNER_NAMESPACE.into(), names::namespace(ep));
    l.insert(OWNER_NAME.into(), names::base(ep));
    l.insert(OWNER_UID.into(), ep.uid().unwrap_or_default());
    l
}

/// The labels selecting the endpoint's pods (stable: never add keys here).
pub fn selector(ep: &McpEndpoint) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME.to_string(), APP_NAME.to_string()),
        (INSTANCE.to_string(), names::base(ep)),
    ])
}

/// Label selector string of the objects caused by the endpoint `ns/name`.
pub fn owner_selector(ns: &str, name: &str) -> String {
    format!("{MANAGED_BY}={MANAGER},{OWNER_NAMESPACE}={ns},{OWNER_NAME}={name}")
}

/// The endpoint `(namespace, name)` an object's labels point back to.
pub fn owner_of(labels: &BTreeMap<String, String>) -> Option<(&str, &str)> {
    Some((labels.get(OWNER_NAMESPACE)?, labels.get(OWNER_NAME)?))
}
