//! Manifests: one or many YAML or JSON documents (List kinds expanded),
//! resolved to the API endpoints that serve them and checked against the
//! namespace scope and the Secrets mode before anything is written.

use super::{Ctx, ToolError};
use crate::discovery::{DiscoveryError, Resource};
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube_mcp_catalog::ToolId;
use serde_json::Value;

/// Parses manifest text into objects. JSON (an object or an array of
/// objects) and multi-document YAML are accepted; `kind: List` and
/// `*List` documents are expanded into their items; empty documents are skipped.
pub fn parse(text: &str) -> Result<Vec<Value>, ToolError> {
    let trimmed = text.trim_start();
    let docs: Vec<Value> = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Array(items)) => items,
            Ok(v) => vec![v],
            // YAML flow style also starts with `{`; let the YAML parser try.
            Err(json_err) => serde_saphyr::from_multiple::<Value>(text).map_err(|_| {
                ToolError::Invalid(format!("the manifest is not valid JSON: {json_err}"))
            })?,
        }
    } else {
        serde_saphyr::from_multiple::<Value>(text)
            .map_err(|e| ToolError::Invalid(format!("the manifest is not valid YAML: {e}")))?
    };
    let mut out = vec![];
    for (i, doc) in docs.into_iter().enumerate() {
        expand(doc, i + 1, &mut out)?;
    }
    if out.is_empty() {
        return Err(ToolError::Invalid(
            "the manifest holds no objects (give at least one document with apiVersion, kind and metadata.name)"
                .into(),
        ));
    }
    Ok(out)
}

fn expand(doc: Value, n: usize, out: &mut Vec<Value>) -> Result<(), ToolError> {
    match doc {
        Value::Null => Ok(()),
        Value::Object(ref map) => {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
            if kind.ends_with("List")
                && let Some(Value::Array(items)) = map.get("items")
            {
                for item in items.clone() {
                    expand(item, n, out)?;
                }
                return Ok(());
            }
            check_shape(&doc, n)?;
            out.push(doc);
            Ok(())
        }
        other => Err(ToolError::Invalid(format!(
            "document {n} of the manifest is not an object but {}",
            short(&other)
        ))),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn check_shape(doc: &Value, n: usize) -> Result<(), ToolError> {
    let missing = |what: &str| {
        ToolError::Invalid(format!(
            "document {n} of the manifest has no {what}; every object needs apiVersion, kind and metadata.name"
        ))
    };
    fn str_field(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    str_field(doc.get("apiVersion")).ok_or_else(|| missing("apiVersion"))?;
    str_field(doc.get("kind")).ok_or_else(|| missing("kind"))?;
    let meta = doc.get("metadata");
    if str_field(meta.and_then(|m| m.get("name"))).is_none()
        && str_field(meta.and_then(|m| m.get("generateName"))).is_none()
    {
        return Err(missing("metadata.name"));
    }
    Ok(())
}

/// An object of a manifest, resolved and scope-checked.
#[derive(Debug, Clone)]
pub struct Target {
    pub resource: Resource,
    /// Set for namespaced kinds.
    pub namespace: Option<String>,
    /// Empty when the object only has generateName.
    pub name: String,
    pub object: Value,
}

impl Target {
    pub fn api(&self, client: &Client) -> Api<DynamicObject> {
        dynamic_api(client, &self.resource, self.namespace.as_deref())
    }

    /// `deployment.apps/web`, as kubectl prints it.
    pub fn display(&self) -> String {
        object_ref(&self.resource, &self.name)
    }
}

/// An `Api` for a discovered resource in a namespace (or cluster-wide).
pub fn dynamic_api(client: &Client, r: &Resource, ns: Option<&str>) -> Api<DynamicObject> {
    match ns {
        Some(ns) if r.namespaced => Api::namespaced_with(client.clone(), ns, &r.api),
        _ if r.namespaced => Api::all_with(client.clone(), &r.api),
        _ => Api::all_with(client.clone(), &r.api),
    }
}

/// `kind.group/name` in lower case, as kubectl prints results.
pub fn object_ref(r: &Resource, name: &str) -> String {
    let kind = r.api.kind.to_ascii_lowercase();
    if r.api.group.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}.{}/{name}", r.api.group)
    }
}

/// Finds the served resource for `apiVersion` + `kind`, refreshing discovery once on a miss.
pub async fn resolve_kind(
    ctx: &Ctx,
    client: &Client,
    api_version: &str,
    kind: &str,
) -> Result<Resource, ToolError> {
    let find = |all: &[Resource]| {
        all.iter()
            .find(|r| r.api.api_version == api_version && r.api.kind == kind)
            .cloned()
    };
    let found = match find(&ctx.discovery.all(client).await?) {
        Some(r) => Some(r),
        None => find(&ctx.discovery.refresh(client).await?),
    };
    let r = found
        .ok_or_else(|| DiscoveryError::Unknown(format!("{kind} in apiVersion {api_version}")))?;
    if ctx.secrets() == crate::config::SecretsMode::Hidden
        && r.api.group.is_empty()
        && r.api.plural == crate::catalog::SECRETS
    {
        return Err(ToolError::SecretsHidden);
    }
    Ok(r)
}

/// Checks that a cluster-scoped write is allowed: only servers scoped to
/// every namespace touch cluster-scoped objects, except a Namespace that is
/// itself in scope.
pub fn check_cluster_scoped(ctx: &Ctx, r: &Resource, name: &str) -> Result<(), ToolError> {
    if r.namespaced || ctx.scope.allows_cluster_scoped() {
        return Ok(());
    }
    if r.api.group.is_empty() && r.api.kind == "Namespace" {
        return ctx.scope.check(name).map_err(Into::into);
    }
    Err(ToolError::Invalid(format!(
        "{} is cluster-scoped; this server is limited to namespaces and cannot change cluster-scoped objects",
        object_ref(r, name)
    )))
}

/// Resolves every object, filling in the namespace (the object's own, else
/// `default_ns`, else the server's default) and checking scope for each.
/// Nothing is written; any error stops the whole manifest.
pub async fn resolve_all(
    ctx: &Ctx,
    client: &Client,
    objects: Vec<Value>,
    default_ns: Option<&str>,
) -> Result<Vec<Target>, ToolError> {
    let mut out = Vec::with_capacity(objects.len());
    for (i, mut obj) in objects.into_iter().enumerate() {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let resource = resolve_kind(ctx, client, &api_version, &kind)
            .await
            .map_err(|e| ToolError::Invalid(format!("object {} of the manifest: {e}", i + 1)))?;
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let namespace = if resource.namespaced {
            let own = obj["metadata"]["namespace"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            let ns = ctx.namespace(own.as_deref().or(default_ns)).await?;
            obj["metadata"]["namespace"] = Value::String(ns.clone());
            Some(ns)
        } else {
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("namespace");
            }
            check_cluster_scoped(ctx, &resource, &name)?;
            None
        };
        out.push(Target {
            resource,
            namespace,
            name,
            object: obj,
        });
    }
    Ok(out)
}

/// Reads the manifest text from `manifest` or `filename` (exactly one).
pub async fn text(
    ctx: &Ctx,
    tool: ToolId,
    manifest: Option<&str>,
    filename: Option<&str>,
) -> Result<String, ToolError> {
    match (
        manifest.filter(|m| !m.trim().is_empty()),
        filename.filter(|f| !f.is_empty()),
    ) {
        (Some(m), None) => Ok(m.to_string()),
        (None, Some(f)) => {
            super::files::read(ctx.settings.files_dir.as_deref(), "filename", f).await
        }
        (Some(_), Some(_)) => Err(ToolError::InvalidArgs {
            tool,
            reason: "give either manifest or filename, not both".into(),
        }),
        (None, None) => Err(ToolError::InvalidArgs {
            tool,
            reason: "give the objects as manifest (YAML or JSON text) or filename".into(),
        }),
    }
}

/// Renders an object as YAML (falling back to JSON, which is YAML too).
pub fn to_yaml(v: &Value) -> String {
    serde_saphyr::to_string(v)
        .unwrap_or_else(|_| serde_json::to_string_pretty(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
        let cases: &[(&str, Result<usize, &str>)] = &[
            (cm, Ok(1)),
            (&format!("---\n{cm}---\n{cm}---\n"), Ok(2)),
            (&format!("{cm}\n---\n# only a comment\n"), Ok(1)),
            (
                r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#,
                Ok(1),
            ),
            (
                r#"[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}]"#,
                Ok(2),
            ),
            (
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n",
                Ok(2),
            ),
            (
                "{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}",
                Ok(1),
            ),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: a-\n",
                Ok(1),
            ),
            ("", Err("no objects")),
            ("kind: [unclosed", Err("not valid YAML")),
            (r#"{"apiVersion": "v1", "kind": }"#, Err("no kind")),
            (r#"{"apiVersion": "v1", "kind": ["#, Err("not valid JSON")),
            ("apiVersion: v1\nmetadata: {name: a}\n", Err("no kind")),
            (
                "kind: ConfigMap\nmetadata: {name: a}\n",
                Err("no apiVersion"),
            ),
            ("apiVersion: v1\nkind: ConfigMap\n", Err("no metadata.name")),
            ("- a\n- b\n", Err("not an object")),
            (&format!("{cm}---\njust a string\n"), Err("document 2")),
        ];
        for (text, want) in cases {
            match (parse(text), want) {
                (Ok(v), Ok(n)) => assert_eq!(v.len(), *n, "{text}"),
                (Err(e), Err(msg)) => assert!(e.to_string().contains(msg), "{text}: {e}"),
                (got, _) => panic!("{text}: unexpected {got:?}"),
            }
        }
    }
}
