//! MCP resources: k8s://default/pods, k8s://default/deployments,
//! k8s://default/services, k8s://namespaces, k8s://nodes, and the template
//! k8s://{namespace}/{resourceType} for any namespaced kind in scope.

use crate::discovery::DiscoveryError;
use crate::tools::get::{self, Target};
use crate::tools::{Ctx, ToolError};
use rmcp::model::{Resource, ResourceTemplate};
use serde_json::{Value, json};

/// Every namespaced kind's listing in a namespace of the scope.
pub const TEMPLATE: &str = "k8s://{namespace}/{resourceType}";

pub const URIS: &[(&str, &str, &str)] = &[
    (
        "k8s://default/pods",
        "Kubernetes Pods",
        "Pods in the default namespace",
    ),
    (
        "k8s://default/deployments",
        "Kubernetes Deployments",
        "Deployments in the default namespace",
    ),
    (
        "k8s://default/services",
        "Kubernetes Services",
        "Services in the default namespace",
    ),
    (
        "k8s://namespaces",
        "Kubernetes Namespaces",
        "All namespaces",
    ),
    ("k8s://nodes", "Kubernetes Nodes", "All nodes"),
];

pub fn list() -> Vec<Resource> {
    URIS.iter()
        .map(|(uri, name, desc)| {
            let mut r = Resource::new(*uri, *name);
            r.description = Some(desc.to_string());
            r.mime_type = Some("application/json".into());
            r
        })
        .collect()
}

pub fn templates() -> Vec<ResourceTemplate> {
    let mut t = ResourceTemplate::new(TEMPLATE, "Kubernetes objects by namespace and type")
        .with_description(
            "The objects of one type in one namespace, e.g. k8s://team-a/configmaps (completion offers the namespaces in scope and the types the cluster serves)",
        );
    t.mime_type = Some("application/json".into());
    vec![t]
}

/// Whether `uri` is a fixed resource or fits the template (`k8s://ns/type`).
pub fn is_known(uri: &str) -> bool {
    URIS.iter().any(|(u, _, _)| *u == uri) || template_parts(uri).is_some()
}

fn template_parts(uri: &str) -> Option<(&str, &str)> {
    let (ns, kind) = uri.strip_prefix("k8s://")?.split_once('/')?;
    let ok = |p: &str| !p.is_empty() && !p.contains('/');
    (ok(ns) && ok(kind)).then_some((ns, kind))
}

/// The JSON text of a resource: the array of (masked) objects, as the
/// seed returns it. A listing cut at the byte bound becomes
/// `{"items": [...], "truncated": true, "note": "..."}` so it stays JSON.
pub async fn read(ctx: &Ctx, uri: &str) -> Result<String, ToolError> {
    let (namespace, kind) = match uri.strip_prefix("k8s://") {
        Some("namespaces") => (None, "namespaces"),
        Some("nodes") => (None, "nodes"),
        _ => match template_parts(uri) {
            Some((ns, kind)) => (Some(ns), kind),
            None => return Err(unknown(uri)),
        },
    };
    let client = ctx.client(None).await?;
    let r = match ctx.resolve(&client, kind).await {
        Err(ToolError::Discovery(DiscoveryError::Unknown(_))) => return Err(unknown(uri)),
        other => other?,
    };
    if namespace.is_some() && !r.namespaced {
        return Err(ToolError::Invalid(format!(
            "{} is cluster-scoped; k8s://{{namespace}}/{{resourceType}} lists namespaced kinds (k8s://namespaces and k8s://nodes are resources of their own)",
            r.qualified_plural()
        )));
    }
    let targets = match namespace {
        Some(ns) => {
            let ns = ctx.namespace(Some(ns)).await?;
            vec![Target::List(get::collection_url(&r, Some(&ns)))]
        }
        None if ctx.scope.allows_cluster_scoped() => {
            vec![Target::List(get::collection_url(&r, None))]
        }
        None => return Err(get::cluster_scoped_refused(ctx, &r)),
    };
    let max = ctx.settings.max_output_bytes;
    let g = get::gather(
        ctx,
        &client,
        &targets,
        &Default::default(),
        None,
        get::budget(max),
        |page| {
            get::page_items(&r, page)
                .into_iter()
                .map(|o| get::Entry {
                    key: None,
                    // Pretty JSON costs about 1.3x the compact size.
                    bytes: serde_json::to_string(&o)
                        .map(|t| t.len() * 4 / 3)
                        .unwrap_or(0),
                    row: o,
                })
                .collect()
        },
    )
    .await?;
    let n = g.entries.len();
    let items = Value::Array(g.entries.into_iter().map(|e| e.row).collect());
    let v = match g.cut {
        None => items,
        Some(more) => json!({
            "items": items,
            "truncated": true,
            "note": get::cut_note(n, more, max, false),
        }),
    };
    Ok(crate::format::json(&v))
}

/// A URI that names no resource here (a kind the cluster does not serve).
#[derive(Debug, thiserror::Error)]
#[error("unknown resource {uri}; this server offers {known} and {TEMPLATE}")]
pub struct Unknown {
    pub uri: String,
    known: String,
}

fn unknown(uri: &str) -> ToolError {
    ToolError::UnknownResource(Unknown {
        uri: uri.to_string(),
        known: URIS
            .iter()
            .map(|(u, _, _)| *u)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_uris_table() {
        let cases = [
            ("k8s://team-a/configmaps", true),
            ("k8s://default/pods", true),
            ("k8s://namespaces", true),
            ("k8s://nodes", true),
            ("k8s://team-a/", false),
            ("k8s:///pods", false),
            ("k8s://a/b/c", false),
            ("k8s://other", false),
            ("test://static-text", false),
        ];
        for (uri, known) in cases {
            assert_eq!(is_known(uri), known, "{uri}");
        }
        assert_eq!(templates()[0].uri_template, TEMPLATE);
    }

    #[test]
    fn every_uri_is_listed_once() {
        let listed: Vec<String> = list().into_iter().map(|r| r.uri.clone()).collect();
        assert_eq!(listed.len(), 5);
        assert!(listed.iter().all(|u| u.starts_with("k8s://")));
    }
}
