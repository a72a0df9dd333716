//! MCP resources: k8s://default/pods, k8s://default/deployments,
//! k8s://default/services, k8s://namespaces, k8s://nodes.

use crate::tools::get::{self, Target};
use crate::tools::{Ctx, ToolError};
use rmcp::model::Resource;
use serde_json::{Value, json};

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

/// The JSON text of a resource: the array of (masked) objects, as the
/// seed returns it. A listing cut at the byte bound becomes
/// `{"items": [...], "truncated": true, "note": "..."}` so it stays JSON.
pub async fn read(ctx: &Ctx, uri: &str) -> Result<String, ToolError> {
    let (namespace, kind) = match uri.strip_prefix("k8s://") {
        Some("namespaces") => (None, "namespaces"),
        Some("nodes") => (None, "nodes"),
        Some(rest) => match rest.split_once('/') {
            Some((ns, kind @ ("pods" | "deployments" | "services"))) => (Some(ns), kind),
            _ => return Err(unknown(uri)),
        },
        None => return Err(unknown(uri)),
    };
    let client = ctx.client(None).await?;
    let r = ctx.resolve(&client, kind).await?;
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

fn unknown(uri: &str) -> ToolError {
    ToolError::Invalid(format!(
        "unknown resource {uri}; this server offers {}",
        URIS.iter()
            .map(|(u, _, _)| *u)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_uri_is_listed_once() {
        let listed: Vec<String> = list().into_iter().map(|r| r.uri.clone()).collect();
        assert_eq!(listed.len(), 5);
        assert!(listed.iter().all(|u| u.starts_with("k8s://")));
    }
}
