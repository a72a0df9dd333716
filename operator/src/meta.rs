//! Metadata shared by every child object.

use crate::crd::McpEndpoint;
use crate::{labels, names};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;

/// Metadata of a child named `name` in `namespace` (None: cluster-scoped).
///
/// Children in the endpoint's own namespace carry a controller owner reference
/// (garbage collection); the others only carry the owner labels and are
/// removed by the finalizer.
pub fn child(ep: &McpEndpoint, name: &str, namespace: Option<&str>) -> ObjectMeta {
    let own = names::namespace(ep);
    let owner = match namespace {
        Some(ns) if ns == own => ep.controller_owner_ref(&()).map(|r| vec![r]),
        _ => None,
    };
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels::labels(ep)),
        owner_references: owner,
        ..ObjectMeta::default()
    }
}
