//! kubectl_patch: strategic, merge and JSON patches.
use super::manifest::{dynamic_api, object_ref};
use super::{Ctx, ToolError, ToolResult};
use kube::api::{Patch, PatchParams};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to patch
    pub resource_type: String,
    /// Name of the resource
    pub name: String,
    /// Namespace of the resource
    pub namespace: Option<String>,
    /// strategic (default), merge or json
    pub patch_type: Option<String>,
    /// The patch: an object (strategic/merge) or an array of operations (json)
    pub patch_data: Option<serde_json::Value>,
    /// Path to a patch file inside the server's allowed directory
    pub patch_file: Option<String>,
    /// Server-side dry run
    #[serde(default)]
    pub dry_run: bool,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

const TOOL: ToolId = ToolId::KubectlPatch;

fn invalid(reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool: TOOL,
        reason: reason.into(),
    }
}

/// Builds the patch from its type and data, checking they fit together.
/// A string patchData is parsed as JSON or YAML text.
pub fn build(patch_type: Option<&str>, data: Value) -> Result<Patch<Value>, ToolError> {
    let data = match data {
        Value::String(s) => parse_text(&s)?,
        v => v,
    };
    match patch_type
        .unwrap_or("strategic")
        .to_ascii_lowercase()
        .as_str()
    {
        t @ ("strategic" | "merge") => {
            if !data.is_object() {
                return Err(invalid(format!(
                    "a {t} patch must be an object, e.g. {{\"spec\": {{\"replicas\": 2}}}}"
                )));
            }
            Ok(if t == "merge" {
                Patch::Merge(data)
            } else {
                Patch::Strategic(data)
            })
        }
        "json" => {
            if !data.is_array() {
                return Err(invalid(
                    "a json patch must be an array of operations, e.g. [{\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 2}]",
                ));
            }
            let ops: json_patch::Patch = serde_json::from_value(data)
                .map_err(|e| invalid(format!("not a valid JSON patch: {e}")))?;
            Ok(Patch::Json(ops))
        }
        other => Err(invalid(format!(
            "patchType {other:?} is not one of strategic, merge or json"
        ))),
    }
}

fn parse_text(s: &str) -> Result<Value, ToolError> {
    serde_json::from_str(s)
        .or_else(|_| serde_saphyr::from_str::<Value>(s))
        .map_err(|e| invalid(format!("the patch is neither JSON nor YAML: {e}")))
}

pub async fn run(ctx: &Ctx, args: Args) -> ToolResult {
    let data = match (
        args.patch_data,
        args.patch_file.as_deref().filter(|f| !f.is_empty()),
    ) {
        (Some(d), None) => d,
        (None, Some(f)) => parse_text(
            &super::files::read(ctx.settings.files_dir.as_deref(), "patchFile", f).await?,
        )?,
        (Some(_), Some(_)) => return Err(invalid("give either patchData or patchFile, not both")),
        (None, None) => return Err(invalid("give the patch as patchData or patchFile")),
    };
    let patch = build(args.patch_type.as_deref(), data)?;
    let client = ctx.client(args.context.as_deref()).await?;
    let r = ctx.resolve(&client, &args.resource_type).await?;
    let ns = if r.namespaced {
        Some(ctx.namespace(args.namespace.as_deref()).await?)
    } else {
        super::manifest::check_cluster_scoped(ctx, &r, &args.name)?;
        None
    };
    let api = dynamic_api(&client, &r, ns.as_deref());
    let before = api.get(&args.name).await?;
    let pp = PatchParams {
        field_manager: Some(super::apply::FIELD_MANAGER.into()),
        dry_run: args.dry_run,
        ..Default::default()
    };
    let after = api.patch(&args.name, &pp, &patch).await?;
    let before_v = serde_json::to_value(&before).unwrap_or_default();
    let after_v = serde_json::to_value(&after).unwrap_or_default();
    let outcome = super::apply::outcome(Some(&before_v), &after_v);
    let word = if outcome == super::apply::Outcome::Unchanged {
        "patched (no change)"
    } else {
        "patched"
    };
    let suffix = if args.dry_run {
        " (server dry run)"
    } else {
        ""
    };
    Ok(format!("{} {word}{suffix}", object_ref(&r, &args.name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_type_selection() {
        let obj = json!({"spec": {"replicas": 2}});
        let ops = json!([{"op": "replace", "path": "/spec/replicas", "value": 2}]);
        let cases: Vec<(Option<&str>, Value, Result<&str, &str>)> = vec![
            (None, obj.clone(), Ok("strategic")),
            (Some("strategic"), obj.clone(), Ok("strategic")),
            (Some("merge"), obj.clone(), Ok("merge")),
            (Some("MERGE"), obj.clone(), Ok("merge")),
            (Some("json"), ops.clone(), Ok("json")),
            (Some("json"), json!(ops.to_string()), Ok("json")),
            (Some("merge"), json!("spec:\n  replicas: 3\n"), Ok("merge")),
            (Some("json"), obj.clone(), Err("array of operations")),
            (Some("merge"), ops.clone(), Err("must be an object")),
            (
                Some("json"),
                json!([{"op": "frobnicate"}]),
                Err("not a valid JSON patch"),
            ),
            (Some("apply"), obj.clone(), Err("not one of")),
        ];
        for (t, data, want) in cases {
            let got = build(t, data.clone()).map(|p| match p {
                Patch::Strategic(_) => "strategic",
                Patch::Merge(_) => "merge",
                Patch::Json(_) => "json",
                _ => "other",
            });
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{t:?} {data}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e}"),
                (g, w) => panic!(
                    "{t:?} {data}: got {:?}, want {w:?}",
                    g.map_err(|e| e.to_string())
                ),
            }
        }
    }
}
