//! kubectl_apply: server-side apply of one or many documents.
use super::manifest::{self, Target};
use super::{Ctx, ToolError, ToolResult};
use kube::api::{Patch, PatchParams};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// The field manager of every write this server makes.
pub const FIELD_MANAGER: &str = "kube-mcp-server";

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// YAML or JSON manifest to apply (one or many documents)
    pub manifest: Option<String>,
    /// Path to a manifest file inside the server's allowed directory
    pub filename: Option<String>,
    /// Namespace for objects that do not name one
    pub namespace: Option<String>,
    /// Server-side dry run: validate and show the result without persisting
    #[serde(default)]
    pub dry_run: bool,
    /// Take ownership of fields another manager owns (force conflicts)
    #[serde(default)]
    pub force: bool,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> ToolResult {
    let text = manifest::text(
        ctx,
        ToolId::KubectlApply,
        args.manifest.as_deref(),
        args.filename.as_deref(),
    )
    .await?;
    let mut objects = manifest::parse(&text)?;
    objects.iter_mut().for_each(server_owned_fields_removed);
    let client = ctx.client(args.context.as_deref()).await?;
    let targets = manifest::resolve_all(ctx, &client, objects, args.namespace.as_deref()).await?;
    let lines = apply_targets(&client, &targets, args.dry_run, args.force).await?;
    Ok(ctx.bound(lines.join("\n")))
}

/// Drops the metadata the server owns, so the output of kubectl_get can be
/// applied again: an apply body must not carry managedFields, and a stale
/// resourceVersion or uid would turn the apply into a conflict.
pub fn server_owned_fields_removed(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "selfLink",
        ] {
            m.remove(k);
        }
    }
}

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// Compares an object before and after an apply by content, without the
/// fields the server rewrites on every request and without `status`:
/// controllers write status between our read and our apply, so a
/// resourceVersion comparison would call an identical apply "configured".
pub fn outcome(before: Option<&Value>, after: &Value) -> Outcome {
    let Some(before) = before else {
        return Outcome::Created;
    };
    if strip(before) != strip(after) {
        Outcome::Configured
    } else {
        Outcome::Unchanged
    }
}

fn strip(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    if let Some(m) = v["metadata"].as_object_mut() {
        for k in ["managedFields", "resourceVersion", "generation"] {
            m.remove(k);
        }
    }
    v
}

/// Applies resolved objects. Unless `dry_run`, every object is first
/// applied as a server dry run, so an invalid object anywhere in the
/// manifest stops it before anything is written (objects whose namespace
/// the same manifest creates are only checked by the real apply).
pub async fn apply_targets(
    client: &kube::Client,
    targets: &[Target],
    dry_run: bool,
    force: bool,
) -> Result<Vec<String>, ToolError> {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    if force {
        params = params.force();
    }
    for t in targets {
        if t.name.is_empty() {
            return Err(ToolError::Invalid(format!(
                "{} has only metadata.generateName; apply needs metadata.name (use kubectl_create for generated names)",
                t.resource.api.kind
            )));
        }
    }
    let new_namespaces: BTreeSet<&str> = targets
        .iter()
        .filter(|t| t.resource.api.group.is_empty() && t.resource.api.kind == "Namespace")
        .map(|t| t.name.as_str())
        .collect();
    if !dry_run && targets.len() > 1 {
        let check = params.clone().dry_run();
        for t in targets {
            if t.namespace
                .as_deref()
                .is_some_and(|n| new_namespaces.contains(n))
            {
                continue;
            }
            t.api(client)
                .patch(&t.name, &check, &Patch::Apply(&t.object))
                .await
                .map_err(|e| failed(t, e, "nothing was applied"))?;
        }
    }
    if dry_run {
        params = params.dry_run();
    }
    let mut lines = vec![];
    for (i, t) in targets.iter().enumerate() {
        let api = t.api(client);
        let before = api
            .get_opt(&t.name)
            .await
            .map_err(|e| failed(t, e, &done_so_far(i)))?
            .map(|o| serde_json::to_value(o).unwrap_or_default());
        let after = api
            .patch(&t.name, &params, &Patch::Apply(&t.object))
            .await
            .map_err(|e| failed(t, e, &done_so_far(i)))?;
        let after = serde_json::to_value(after).unwrap_or_default();
        let o = outcome(before.as_ref(), &after);
        let suffix = if dry_run { " (server dry run)" } else { "" };
        lines.push(format!("{} {}{suffix}", t.display(), o.word()));
    }
    Ok(lines)
}

fn done_so_far(i: usize) -> String {
    if i == 0 {
        "nothing was applied".into()
    } else {
        format!("the {i} object(s) before it were applied")
    }
}

fn failed(t: &Target, e: kube::Error, note: &str) -> ToolError {
    let ns = t
        .namespace
        .as_deref()
        .map(|n| format!(" in namespace {n}"))
        .unwrap_or_default();
    ToolError::Invalid(format!(
        "{}{ns}: {}; {note}",
        t.display(),
        ToolError::Api(e)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_owned_metadata_is_dropped() {
        let mut v = json!({"metadata": {"name": "a", "namespace": "n", "resourceVersion": "5", "uid": "u",
            "managedFields": [], "creationTimestamp": "t", "generation": 2, "labels": {"k": "v"}}});
        server_owned_fields_removed(&mut v);
        assert_eq!(
            v,
            json!({"metadata": {"name": "a", "namespace": "n", "labels": {"k": "v"}}})
        );
    }

    #[test]
    fn outcome_table() {
        let obj = |rv: &str, data: &str| json!({"metadata": {"name": "a", "resourceVersion": rv, "managedFields": [{"time": rv}]}, "data": {"k": data}});
        let with_status = |rv: &str, data: &str, ready: i64| {
            let mut v = obj(rv, data);
            v["status"] = json!({"readyReplicas": ready});
            v
        };
        let cases = [
            (None, obj("1", "x"), Outcome::Created),
            (Some(obj("1", "x")), obj("1", "x"), Outcome::Unchanged),
            (Some(obj("1", "x")), obj("2", "y"), Outcome::Configured),
            (Some(obj("1", "x")), obj("1", "y"), Outcome::Configured),
            // A controller wrote status (and so bumped resourceVersion) meanwhile.
            (
                Some(with_status("1", "x", 0)),
                with_status("3", "x", 1),
                Outcome::Unchanged,
            ),
        ];
        for (before, after, want) in cases {
            assert_eq!(outcome(before.as_ref(), &after), want, "{before:?} {after}");
        }
    }
}
