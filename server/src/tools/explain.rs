//! explain_resource: field documentation from the API server's OpenAPI v3.
//!
//! `GET /openapi/v3` lists one document per group-version; the document of
//! the resource's group-version is fetched (and cached by its
//! hash-carrying URL), the schema whose `x-kubernetes-group-version-kind`
//! names the kind is found, and the field path is followed through
//! `$ref`/`allOf`/array items, printed like `kubectl explain`.
use super::{CallResult, Ctx, Output, ToolError};
use crate::discovery::Resource;
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Resource or field path to explain (e.g. 'pods' or 'deployment.spec.template')
    pub resource: String,
    /// API version to use (e.g. 'apps/v1')
    pub api_version: Option<String>,
    /// Print the fields of fields (all levels)
    #[serde(default)]
    pub recursive: bool,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
    /// Output format: plaintext (default) or plaintext-openapiv2
    pub output: Option<String>,
}

const TOOL: ToolId = ToolId::ExplainResource;

/// Levels `recursive` descends at most.
pub const MAX_DEPTH: usize = 12;

/// Documents kept in memory; their URLs carry a content hash, so an entry
/// never goes stale.
const CACHE_ENTRIES: usize = 24;

fn cache() -> &'static Mutex<HashMap<String, Arc<Value>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Value>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn bad(reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool: TOOL,
        reason: reason.into(),
    }
}

/// The structured result: what the path names and its fields (one level).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Explanation {
    /// "" for the core group
    pub group: String,
    pub kind: String,
    pub version: String,
    /// The field the path names; absent when it names the resource itself
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldInfo>,
    pub description: String,
    pub fields: Vec<FieldInfo>,
}

/// One field, as `kubectl explain` lists it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FieldInfo {
    pub name: String,
    /// The type as kubectl explain prints it: string, []Container, map[string]string, Object...
    #[serde(rename = "type")]
    pub type_name: String,
    pub required: bool,
    pub description: String,
    /// The values a field of enum type takes
    #[serde(rename = "enum", default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

pub fn output_schema() -> Map<String, Value> {
    super::schema::<Explanation>()
}

pub async fn run(ctx: &Ctx, args: Args) -> CallResult {
    let output = args.output.as_deref().map(str::trim).unwrap_or("plaintext");
    if !matches!(output, "" | "plaintext" | "plaintext-openapiv2") {
        return Err(bad(format!(
            "unknown output {output:?}; use plaintext or plaintext-openapiv2"
        )));
    }
    let client = ctx.client(args.context.as_deref()).await?;
    let mut parts = args.resource.trim().split('.').filter(|p| !p.is_empty());
    let name = parts
        .next()
        .ok_or_else(|| bad("resource must name a resource, e.g. pods or deployment.spec"))?;
    let path: Vec<&str> = parts.collect();
    let r = match args
        .api_version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => ctx.resolve(&client, name).await?,
        Some(av) => {
            // Checks the name (and hidden Secrets) first.
            ctx.resolve(&client, name).await?;
            let all = ctx.discovery.all(&client).await?;
            all.iter()
                .find(|r| r.api.api_version == av && r.matches(name))
                .cloned()
                .ok_or_else(|| bad(format!("{name} is not served in apiVersion {av}")))?
        }
    };
    let doc = document(&client, &r).await?;
    let text = explain(&doc, &r, &path, args.recursive).map_err(ToolError::Invalid)?;
    let data = explanation(&doc, &r, &path).map_err(ToolError::Invalid)?;
    Output::typed(ctx.bound(text), &data)
}

/// The OpenAPI v3 document of the resource's group-version.
async fn document(client: &kube::Client, r: &Resource) -> Result<Arc<Value>, ToolError> {
    let key = if r.api.group.is_empty() {
        format!("api/{}", r.api.version)
    } else {
        format!("apis/{}/{}", r.api.group, r.api.version)
    };
    let index: Value = client.request(get("/openapi/v3")?).await?;
    let url = index
        .pointer(&format!(
            "/paths/{}",
            key.replace('~', "~0").replace('/', "~1")
        ))
        .and_then(|p| p.get("serverRelativeURL"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ToolError::Invalid(format!(
                "the API server publishes no OpenAPI v3 document for {key}"
            ))
        })?
        .to_string();
    if let Some(doc) = cache().lock().ok().and_then(|c| c.get(&url).cloned()) {
        return Ok(doc);
    }
    let doc: Arc<Value> = Arc::new(client.request(get(&url)?).await?);
    if let Ok(mut c) = cache().lock() {
        if c.len() >= CACHE_ENTRIES {
            c.clear();
        }
        c.insert(url, doc.clone());
    }
    Ok(doc)
}

fn get(url: &str) -> Result<http::Request<Vec<u8>>, ToolError> {
    http::Request::get(url)
        .body(vec![])
        .map_err(|e| ToolError::Invalid(format!("bad request URL {url}: {e}")))
}

/// The `components.schemas` entry for the resource's kind.
fn kind_schema<'a>(doc: &'a Value, r: &Resource) -> Option<&'a Value> {
    doc.pointer("/components/schemas")?
        .as_object()?
        .values()
        .find(|s| {
            s.get("x-kubernetes-group-version-kind")
                .and_then(Value::as_array)
                .is_some_and(|gvks| {
                    gvks.iter().any(|g| {
                        let f = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or_default();
                        f("group") == r.api.group
                            && f("version") == r.api.version
                            && f("kind") == r.api.kind
                    })
                })
        })
}

/// The schema a `$ref` (directly or as the single `allOf`) points at, with
/// its name.
fn target<'a>(doc: &'a Value, s: &'a Value) -> (Option<&'a str>, &'a Value) {
    let r = s.get("$ref").and_then(Value::as_str).or_else(|| {
        s.get("allOf")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find_map(|x| x.get("$ref").and_then(Value::as_str)))
    });
    match r.and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => match doc.pointer("/components/schemas").and_then(|s| s.get(name)) {
            Some(t) => (Some(name), t),
            None => (None, s),
        },
        None => (None, s),
    }
}

/// `io.k8s.api.core.v1.PodSpec` -> `PodSpec`.
fn short(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// The type as kubectl explain prints it: `string`, `[]Container`,
/// `map[string]string`, `PodSpec`, `Object`, `IntOrString`.
pub fn type_name(doc: &Value, s: &Value) -> String {
    let (name, t) = target(doc, s);
    if t.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
        return "IntOrString".into();
    }
    let ty = t.get("type").and_then(Value::as_str);
    match (name, ty) {
        (_, Some("array")) => format!(
            "[]{}",
            t.get("items")
                .map(|i| type_name(doc, i))
                .unwrap_or_else(|| "Object".into())
        ),
        (Some(n), Some("object")) | (Some(n), None) => short(n).to_string(),
        (_, Some("object")) => match t.get("additionalProperties") {
            Some(ap) if ap.is_object() => format!("map[string]{}", type_name(doc, ap)),
            _ => "Object".into(),
        },
        (_, Some(ty)) => ty.to_string(),
        (None, None) => "Object".into(),
    }
}

/// The description of a field, or of the type it refers to.
fn description<'a>(doc: &'a Value, s: &'a Value) -> &'a str {
    s.get("description")
        .and_then(Value::as_str)
        .or_else(|| target(doc, s).1.get("description").and_then(Value::as_str))
        .unwrap_or("<empty>")
}

/// The object schema a field leads into (through refs and array items).
fn descend<'a>(doc: &'a Value, s: &'a Value) -> (Option<&'a str>, &'a Value) {
    let (name, t) = target(doc, s);
    if t.get("type").and_then(Value::as_str) == Some("array")
        && let Some(items) = t.get("items")
    {
        return descend(doc, items);
    }
    (name, t)
}

fn required(s: &Value) -> Vec<&str> {
    s.get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Words wrapped to `width` columns, each line indented by `indent`.
pub fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
                out.push_str(&format!("{indent}{line}\n"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(format!("{indent}{line}").trim_end());
        out.push('\n');
    }
    out
}

/// The `kubectl explain` text for `path` under the resource's schema.
pub fn explain(
    doc: &Value,
    r: &Resource,
    path: &[&str],
    recursive: bool,
) -> Result<String, String> {
    let (root, field) = walk(doc, r, path)?;
    let mut out = String::new();
    if !r.api.group.is_empty() {
        out.push_str(&format!("GROUP:      {}\n", r.api.group));
    }
    out.push_str(&format!(
        "KIND:       {}\nVERSION:    {}\n\n",
        r.api.kind, r.api.version
    ));
    let (desc, body) = match field {
        Some((name, f)) => {
            out.push_str(&format!("FIELD: {name} <{}>\n", type_name(doc, f)));
            if let Some(e) = target(doc, f).1.get("enum").and_then(Value::as_array) {
                let vals: Vec<String> = e.iter().map(crate::format::cell).collect();
                out.push_str(&format!("ENUM:\n    {}\n", vals.join(", ")));
            }
            out.push('\n');
            (description(doc, f), descend(doc, f).1)
        }
        None => (description(doc, root), root),
    };
    out.push_str("DESCRIPTION:\n");
    out.push_str(&wrap(desc, "    ", 80));
    if let Some(props) = body.get("properties").and_then(Value::as_object) {
        out.push_str("\nFIELDS:\n");
        let req = required(body);
        let mut seen = vec![];
        fields(doc, props, &req, 1, recursive, &mut seen, &mut out);
    }
    Ok(out)
}

/// The kind's schema and the field `path` names in it (None: the kind itself).
type Walked<'a, 'p> = (&'a Value, Option<(&'p str, &'a Value)>);

fn walk<'a, 'p>(doc: &'a Value, r: &Resource, path: &[&'p str]) -> Result<Walked<'a, 'p>, String> {
    let root = kind_schema(doc, r).ok_or_else(|| {
        format!(
            "the OpenAPI document of {} has no schema for kind {}",
            r.api.api_version, r.api.kind
        )
    })?;
    let mut field: Option<(&'p str, &'a Value)> = None;
    for (i, seg) in path.iter().enumerate() {
        let (_, obj) = descend(doc, field.map(|(_, f)| f).unwrap_or(root));
        let next = obj
            .get("properties")
            .and_then(|p| p.get(*seg))
            .ok_or_else(|| {
                let mut at = vec![r.api.kind.to_ascii_lowercase()];
                at.extend(path[..i].iter().map(|p| p.to_string()));
                format!("field \"{seg}\" does not exist in {}", at.join("."))
            })?;
        field = Some((seg, next));
    }
    Ok((root, field))
}

fn field_info(doc: &Value, name: &str, s: &Value, required: bool) -> FieldInfo {
    FieldInfo {
        name: name.to_string(),
        type_name: type_name(doc, s),
        required,
        description: description(doc, s).to_string(),
        values: target(doc, s)
            .1
            .get("enum")
            .and_then(Value::as_array)
            .map(|e| e.iter().map(crate::format::cell).collect())
            .unwrap_or_default(),
    }
}

/// The structured twin of [`explain`]: the same place, its fields one level deep.
pub fn explanation(doc: &Value, r: &Resource, path: &[&str]) -> Result<Explanation, String> {
    let (root, field) = walk(doc, r, path)?;
    let (description, body) = match field {
        Some((_, f)) => (description(doc, f), descend(doc, f).1),
        None => (description(doc, root), root),
    };
    let req = required(body);
    let fields = body
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(k, v)| field_info(doc, k, v, req.contains(&k.as_str())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Explanation {
        group: r.api.group.clone(),
        kind: r.api.kind.clone(),
        version: r.api.version.clone(),
        field: field.map(|(name, f)| field_info(doc, name, f, false)),
        description: description.to_string(),
        fields,
    })
}

fn fields(
    doc: &Value,
    props: &serde_json::Map<String, Value>,
    req: &[&str],
    depth: usize,
    recursive: bool,
    seen: &mut Vec<String>,
    out: &mut String,
) {
    let pad = "  ".repeat(depth);
    for (k, v) in props {
        let mut line = format!("{pad}{k}\t<{}>", type_name(doc, v));
        if req.contains(&k.as_str()) {
            line.push_str(" -required-");
        }
        out.push_str(&line);
        out.push('\n');
        if recursive {
            let (name, inner) = descend(doc, v);
            let cyclic = name.is_some_and(|n| seen.iter().any(|s| s == n));
            if let Some(p) = inner.get("properties").and_then(Value::as_object) {
                if depth >= MAX_DEPTH || cyclic {
                    out.push_str(&format!("{pad}  ...\n"));
                    continue;
                }
                if let Some(n) = name {
                    seen.push(n.to_string());
                }
                fields(doc, p, &required(inner), depth + 1, true, seen, out);
                if name.is_some() {
                    seen.pop();
                }
            }
        } else {
            out.push_str(&wrap(description(doc, v), &format!("{pad}  "), 80));
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::discovery::ApiResource;
    use serde_json::json;

    fn deployment() -> Resource {
        Resource {
            api: ApiResource {
                group: "apps".into(),
                version: "v1".into(),
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                plural: "deployments".into(),
            },
            namespaced: true,
            singular: "deployment".into(),
            short_names: vec!["deploy".into()],
            verbs: vec![],
            categories: vec![],
            preferred: true,
        }
    }

    fn doc() -> Value {
        json!({"components": {"schemas": {
            "io.k8s.api.apps.v1.Deployment": {
                "description": "Deployment enables declarative updates for Pods and ReplicaSets.",
                "type": "object",
                "x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Deployment"}],
                "properties": {
                    "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema."},
                    "spec": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}], "default": {}, "description": "Specification of the desired behavior."}
                }
            },
            "io.k8s.api.apps.v1.DeploymentSpec": {
                "description": "DeploymentSpec is the specification.",
                "type": "object",
                "required": ["selector"],
                "properties": {
                    "replicas": {"type": "integer", "format": "int32", "description": "Number of desired pods."},
                    "selector": {"allOf": [{"$ref": "#/components/schemas/Sel"}]},
                    "strategy": {"type": "string", "enum": ["Recreate", "RollingUpdate"]},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "containers": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]}},
                    "port": {"x-kubernetes-int-or-string": true, "allOf": [{"$ref": "#/components/schemas/IntOrString"}]},
                    "self": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]}
                }
            },
            "Sel": {"description": "A label selector.", "type": "object", "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "IntOrString": {"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": true},
            "io.k8s.api.core.v1.Container": {"type": "object", "properties": {"name": {"type": "string", "description": "Name of the container."}}}
        }}})
    }

    #[test]
    fn kind_and_fields() {
        let text = explain(&doc(), &deployment(), &[], false).unwrap();
        assert!(text.starts_with("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\nDESCRIPTION:\n    Deployment enables"), "{text}");
        assert!(
            text.contains("FIELDS:\n  apiVersion\t<string>\n    APIVersion defines"),
            "{text}"
        );
        assert!(
            text.contains("  spec\t<DeploymentSpec>\n    Specification of the desired behavior."),
            "{text}"
        );
    }

    #[test]
    fn field_paths_types_and_errors() {
        let d = doc();
        let text = explain(&d, &deployment(), &["spec"], false).unwrap();
        assert!(text.contains("FIELD: spec <DeploymentSpec>"), "{text}");
        for want in [
            "replicas\t<integer>",
            "selector\t<Sel> -required-",
            "labels\t<map[string]string>",
            "containers\t<[]Container>",
            "port\t<IntOrString>",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
        let text = explain(&d, &deployment(), &["spec", "replicas"], false).unwrap();
        assert!(
            text.contains("FIELD: replicas <integer>\n\nDESCRIPTION:\n    Number of desired pods."),
            "{text}"
        );
        let text = explain(&d, &deployment(), &["spec", "strategy"], false).unwrap();
        assert!(
            text.contains("ENUM:\n    Recreate, RollingUpdate"),
            "{text}"
        );
        let text = explain(&d, &deployment(), &["spec", "containers", "name"], false).unwrap();
        assert!(text.contains("FIELD: name <string>"), "{text}");
        let err = explain(&d, &deployment(), &["spec", "nope"], false).unwrap_err();
        assert!(err.contains("\"nope\" does not exist"), "{err}");
    }

    #[test]
    fn recursive_is_bounded_on_cycles() {
        let text = explain(&doc(), &deployment(), &[], true).unwrap();
        assert!(
            text.contains(
                "  spec\t<DeploymentSpec>\n    containers\t<[]Container>\n      name\t<string>"
            ),
            "{text}"
        );
        assert!(
            text.contains("    selector\t<Sel> -required-\n      matchLabels\t<map[string]string>"),
            "{text}"
        );
        // spec.self points back at DeploymentSpec: printed once, then cut.
        assert!(
            text.contains("    self\t<DeploymentSpec>\n      ...\n"),
            "{text}"
        );
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("a b c", "  ", 5), "  a b\n  c\n");
        assert_eq!(wrap("a b c", "  ", 4), "  a\n  b\n  c\n");
        assert_eq!(wrap("one two\nthree", "", 80), "one two\nthree\n");
    }
}
