//! kubectl_generic: common kubectl verbs mapped onto the native tools.
use super::{Ctx, ToolError, ToolResult};
use kube::api::{Patch, PatchParams};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// The kubectl command (get, describe, delete, label, annotate, scale, rollout, cordon...)
    pub command: String,
    /// Subcommand, e.g. 'status' for rollout
    pub sub_command: Option<String>,
    /// Resource type
    pub resource_type: Option<String>,
    /// Resource name
    pub name: Option<String>,
    /// Namespace
    pub namespace: Option<String>,
    /// Across all namespaces in scope
    #[serde(default)]
    pub all_namespaces: bool,
    /// Output format
    pub output_format: Option<String>,
    /// Flags as key/value pairs (dangerous flags are refused)
    pub flags: Option<BTreeMap<String, serde_json::Value>>,
    /// Extra positional arguments
    pub args: Option<Vec<String>>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

const TOOL: ToolId = ToolId::KubectlGeneric;
pub const SUPPORTED: &str = "get, describe, delete, label, annotate, scale, rollout, cordon, uncordon, drain, apply, patch, create, logs, explain, api-resources";

fn invalid(reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool: TOOL,
        reason: reason.into(),
    }
}

/// Flags and positional arguments, normalised: flag names without dashes,
/// `--x=v` and `--x v` in args folded into the map.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Inputs {
    pub flags: BTreeMap<String, Value>,
    pub positional: Vec<String>,
}

impl Inputs {
    pub fn new(flags: Option<&BTreeMap<String, Value>>, args: &[String]) -> Self {
        let mut out = Inputs::default();
        for (k, v) in flags.into_iter().flatten() {
            out.flags
                .insert(k.trim_start_matches('-').to_string(), v.clone());
        }
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a.starts_with('-') && a.len() > 1 {
                let key = a.trim_start_matches('-');
                if let Some((k, v)) = key.split_once('=') {
                    out.flags.insert(k.to_string(), json!(v));
                } else if let Some(next) = args.get(i + 1).filter(|n| !n.starts_with('-')) {
                    // `--flag value`, except for flags that are switches.
                    if is_switch(key) {
                        out.flags.insert(key.to_string(), json!(true));
                    } else {
                        out.flags.insert(key.to_string(), json!(next));
                        i += 1;
                    }
                } else {
                    out.flags.insert(key.to_string(), json!(true));
                }
            } else {
                out.positional.push(a.clone());
            }
            i += 1;
        }
        out
    }

    /// The first of `names` that is set, as text.
    pub fn text(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| match self.flags.get(*n)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
    }

    /// The first of `names` that is set, as a switch (`true`, `"true"`, or no value).
    pub fn switch(&self, names: &[&str]) -> Option<bool> {
        names.iter().find_map(|n| match self.flags.get(*n)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => Some(!matches!(s.as_str(), "false" | "0" | "none")),
            Value::Null => Some(true),
            _ => None,
        })
    }

    pub fn number(&self, names: &[&str]) -> Result<Option<i64>, ToolError> {
        match self.text(names) {
            None => Ok(None),
            Some(t) => t
                .parse()
                .map(Some)
                .map_err(|_| invalid(format!("flag --{} needs a number, not {t:?}", names[0]))),
        }
    }
}

fn is_switch(flag: &str) -> bool {
    matches!(
        flag,
        "A" | "all-namespaces"
            | "force"
            | "overwrite"
            | "watch"
            | "w"
            | "recursive"
            | "previous"
            | "p"
            | "timestamps"
            | "ignore-daemonsets"
            | "delete-emptydir-data"
            | "delete-local-data"
            | "confirm-drain"
            | "all"
            | "force-conflicts"
            | "namespaced"
    )
}

/// `type/name` or `type name` from the arguments, the way kubectl reads them.
pub fn target(
    resource_type: Option<&str>,
    name: Option<&str>,
    positional: &mut Vec<String>,
) -> (Option<String>, Option<String>) {
    let nonempty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    let mut rt = nonempty(resource_type);
    let mut nm = nonempty(name);
    if rt.is_none() && !positional.is_empty() {
        rt = Some(positional.remove(0));
    }
    if let Some(t) = rt.clone()
        && let Some((t, n)) = t.split_once('/')
    {
        rt = Some(t.to_string());
        if nm.is_none() {
            nm = Some(n.to_string());
        }
    }
    if nm.is_none() && !positional.is_empty() && !positional[0].contains('=') {
        nm = Some(positional.remove(0));
    }
    (rt, nm)
}

/// `key=value` sets, `key-` removes: the metadata merge patch for label/annotate.
pub fn label_changes(items: &[String]) -> Result<Map<String, Value>, ToolError> {
    let mut out = Map::new();
    for item in items {
        if let Some((k, v)) = item.split_once('=') {
            if k.is_empty() {
                return Err(invalid(format!("{item:?} has no key")));
            }
            out.insert(k.to_string(), json!(v));
        } else if let Some(k) = item.strip_suffix('-').filter(|k| !k.is_empty()) {
            out.insert(k.to_string(), Value::Null);
        } else {
            return Err(invalid(format!(
                "{item:?} is neither key=value (set) nor key- (remove)"
            )));
        }
    }
    if out.is_empty() {
        return Err(invalid(
            "give at least one key=value or key- in args, e.g. [\"tier=web\"]",
        ));
    }
    Ok(out)
}

fn put(map: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        map.insert(key.into(), v);
    }
}

/// What a kubectl_generic call does: another tool's call, or a label /
/// annotate change it makes itself under kubectl_patch's rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Delegate(ToolId, Map<String, Value>),
    Meta(MetaChange),
}

/// A label or annotate command, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaChange {
    pub resource_type: String,
    pub name: String,
    pub namespace: Option<String>,
    /// `labels` or `annotations`.
    pub field: &'static str,
    pub changes: Map<String, Value>,
    pub overwrite: bool,
    pub dry_run: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> super::CallResult {
    match translate(ctx, &args)? {
        Step::Delegate(to, m) => super::delegate(ctx, TOOL, to, m).await,
        Step::Meta(change) => Ok(meta_patch(ctx, &args, &change).await?.into()),
    }
}

/// The call a kubectl command stands for, without running it (the
/// confirmation of a destructive call states it first).
pub fn translate(ctx: &Ctx, args: &Args) -> Result<Step, ToolError> {
    let raw_args = args.args.clone().unwrap_or_default();
    super::flags::screen(
        args.flags.as_ref(),
        &raw_args,
        ctx.settings.files_dir.as_deref(),
    )?;
    let mut input = Inputs::new(args.flags.as_ref(), &raw_args);
    let command = args.command.trim().to_ascii_lowercase();
    let namespace = input
        .text(&["namespace", "n"])
        .or(args.namespace.clone())
        .map(Value::String);
    let all_ns = args.all_namespaces || input.switch(&["all-namespaces", "A"]).unwrap_or(false);
    let context = args.context.clone().map(Value::String);
    let mut sub = args.sub_command.clone().filter(|s| !s.is_empty());
    if sub.is_none()
        && matches!(command.as_str(), "rollout" | "create")
        && !input.positional.is_empty()
    {
        // `rollout status deployment/web`, `create secret generic ...` keep the verb first.
        if command == "rollout" {
            sub = Some(input.positional.remove(0));
        }
    }
    let (rt, name) = target(
        args.resource_type.as_deref(),
        args.name.as_deref(),
        &mut input.positional,
    );
    let mut m = Map::new();
    put(&mut m, "context", context.clone());
    // Every verb runs as the tool it stands for, through the filter.
    macro_rules! call {
        ($tool:ident) => {
            Ok(Step::Delegate(ToolId::$tool, m))
        };
    }
    let rt_v = rt.clone().map(Value::String);
    let name_v = name.clone().map(Value::String);
    let dry_run = input.switch(&["dry-run"]).map(Value::Bool);
    match command.as_str() {
        "get" => {
            put(&mut m, "resourceType", rt_v);
            put(&mut m, "name", name_v);
            put(&mut m, "namespace", namespace);
            put(&mut m, "allNamespaces", Some(json!(all_ns)));
            put(
                &mut m,
                "output",
                args.output_format
                    .clone()
                    .or(input.text(&["output", "o"]))
                    .map(Value::String),
            );
            put(
                &mut m,
                "labelSelector",
                input.text(&["selector", "l"]).map(Value::String),
            );
            put(
                &mut m,
                "fieldSelector",
                input.text(&["field-selector"]).map(Value::String),
            );
            put(
                &mut m,
                "sortBy",
                input.text(&["sort-by"]).map(Value::String),
            );
            call!(KubectlGet)
        }
        "describe" => {
            put(&mut m, "resourceType", rt_v);
            put(&mut m, "name", name_v);
            put(&mut m, "namespace", namespace);
            put(&mut m, "allNamespaces", Some(json!(all_ns)));
            call!(KubectlDescribe)
        }
        "delete" => {
            put(&mut m, "resourceType", rt_v);
            put(&mut m, "name", name_v);
            put(&mut m, "namespace", namespace);
            put(&mut m, "allNamespaces", Some(json!(all_ns)));
            put(
                &mut m,
                "labelSelector",
                input.text(&["selector", "l"]).map(Value::String),
            );
            put(
                &mut m,
                "filename",
                input.text(&["filename", "f"]).map(Value::String),
            );
            put(&mut m, "force", input.switch(&["force"]).map(Value::Bool));
            put(
                &mut m,
                "gracePeriodSeconds",
                input.number(&["grace-period"])?.map(|n| json!(n)),
            );
            call!(KubectlDelete)
        }
        "label" | "annotate" => {
            // Done here, under kubectl_patch's name and rules.
            super::require(ctx, TOOL, ToolId::KubectlPatch)?;
            let (Some(rt), Some(name)) = (rt, name) else {
                return Err(invalid(format!("{command} needs resourceType and name")));
            };
            let changes = label_changes(&input.positional)?;
            let overwrite = input.switch(&["overwrite"]).unwrap_or(false);
            let field = if command == "label" {
                "labels"
            } else {
                "annotations"
            };
            Ok(Step::Meta(MetaChange {
                resource_type: rt,
                name,
                namespace: namespace.and_then(|v| v.as_str().map(str::to_string)),
                field,
                changes,
                overwrite,
                dry_run: dry_run == Some(json!(true)),
            }))
        }
        "scale" => {
            put(&mut m, "resourceType", rt_v);
            put(&mut m, "name", name_v);
            put(&mut m, "namespace", namespace);
            put(
                &mut m,
                "replicas",
                input.number(&["replicas"])?.map(|n| json!(n)),
            );
            call!(KubectlScale)
        }
        "rollout" => {
            put(&mut m, "subCommand", sub.map(Value::String));
            put(&mut m, "resourceType", rt_v);
            put(&mut m, "name", name_v);
            put(&mut m, "namespace", namespace);
            put(
                &mut m,
                "toRevision",
                input.number(&["to-revision"])?.map(|n| json!(n)),
            );
            put(
                &mut m,
                "revision",
                input.number(&["revision"])?.map(|n| json!(n)),
            );
            put(
                &mut m,
                "timeout",
                input.text(&["timeout"]).map(Value::String),
            );
            put(
                &mut m,
                "watch",
                input.switch(&["watch", "w"]).map(Value::Bool),
            );
            call!(KubectlRollout)
        }
        "cordon" | "uncordon" | "drain" => {
            // `kubectl cordon NODE`: the node may come as name or as the first argument.
            let node = name.or(rt).map(Value::String);
            m.remove("context");
            put(&mut m, "operation", Some(json!(command)));
            put(&mut m, "nodeName", node);
            put(&mut m, "force", input.switch(&["force"]).map(Value::Bool));
            put(
                &mut m,
                "gracePeriod",
                input.number(&["grace-period"])?.map(|n| json!(n)),
            );
            put(
                &mut m,
                "deleteLocalData",
                input
                    .switch(&["delete-emptydir-data", "delete-local-data"])
                    .map(Value::Bool),
            );
            put(
                &mut m,
                "ignoreDaemonsets",
                input.switch(&["ignore-daemonsets"]).map(Value::Bool),
            );
            put(
                &mut m,
                "timeout",
                input.text(&["timeout"]).map(Value::String),
            );
            put(&mut m, "dryRun", dry_run);
            put(
                &mut m,
                "confirmDrain",
                input
                    .switch(&["confirm-drain", "confirmDrain"])
                    .map(Value::Bool),
            );
            call!(NodeManagement)
        }
        "apply" => {
            put(
                &mut m,
                "filename",
                input.text(&["filename", "f"]).map(Value::String),
            );
            put(
                &mut m,
                "manifest",
                input.text(&["manifest"]).map(Value::String),
            );
            put(&mut m, "namespace", namespace);
            put(&mut m, "dryRun", dry_run);
            put(
                &mut m,
                "force",
                input.switch(&["force-conflicts"]).map(Value::Bool),
            );
            call!(KubectlApply)
        }
        "patch" => {
            put(&mut m, "resourceType", rt_v);
            put(&mut m, "name", name_v);
            put(&mut m, "namespace", namespace);
            put(
                &mut m,
                "patchType",
                input.text(&["type"]).map(Value::String),
            );
            put(
                &mut m,
                "patchData",
                input.flags.get("patch").or(input.flags.get("p")).cloned(),
            );
            put(
                &mut m,
                "patchFile",
                input.text(&["patch-file"]).map(Value::String),
            );
            put(&mut m, "dryRun", dry_run);
            call!(KubectlPatch)
        }
        "create" => {
            // `create secret generic NAME`, `create service clusterip NAME`: the
            // subcommand is the secret or service type.
            let mut name = name;
            let mut sub = sub;
            let kind = rt.clone().unwrap_or_default().to_ascii_lowercase();
            if sub.is_none() && matches!(kind.as_str(), "secret" | "service" | "svc") {
                sub = name.take();
                if !input.positional.is_empty() {
                    name = Some(input.positional.remove(0));
                }
            }
            let list = |keys: &[&str]| {
                keys.iter().find_map(|k| match input.flags.get(*k)? {
                    Value::Array(a) => Some(Value::Array(a.clone())),
                    Value::String(s) => Some(json!([s])),
                    _ => None,
                })
            };
            put(&mut m, "resourceType", rt_v);
            put(&mut m, "name", name.map(Value::String));
            put(&mut m, "namespace", namespace);
            if matches!(kind.as_str(), "secret") {
                put(&mut m, "secretType", sub.map(Value::String));
            } else if matches!(kind.as_str(), "service" | "svc") {
                put(&mut m, "serviceType", sub.map(Value::String));
            }
            put(
                &mut m,
                "filename",
                input.text(&["filename", "f"]).map(Value::String),
            );
            put(&mut m, "image", input.text(&["image"]).map(Value::String));
            put(
                &mut m,
                "replicas",
                input.number(&["replicas"])?.map(|n| json!(n)),
            );
            put(&mut m, "port", input.number(&["port"])?.map(|n| json!(n)));
            put(
                &mut m,
                "schedule",
                input.text(&["schedule"]).map(Value::String),
            );
            put(
                &mut m,
                "externalName",
                input.text(&["external-name"]).map(Value::String),
            );
            put(&mut m, "fromLiteral", list(&["from-literal"]));
            put(&mut m, "fromFile", list(&["from-file"]));
            put(&mut m, "tcpPort", list(&["tcp"]));
            put(
                &mut m,
                "output",
                args.output_format
                    .clone()
                    .or(input.text(&["output", "o"]))
                    .map(Value::String),
            );
            put(&mut m, "dryRun", dry_run);
            if !input.positional.is_empty() {
                put(&mut m, "command", Some(json!(input.positional)));
            }
            call!(KubectlCreate)
        }
        "logs" => {
            let (rt, name) = match (rt, name) {
                // `logs POD`: a single positional argument is the pod.
                (Some(r), None) => (Some("pod".to_string()), Some(r)),
                other => other,
            };
            put(&mut m, "resourceType", rt.map(Value::String));
            put(&mut m, "name", name.map(Value::String));
            put(&mut m, "namespace", namespace);
            put(
                &mut m,
                "container",
                input.text(&["container", "c"]).map(Value::String),
            );
            put(&mut m, "tail", input.number(&["tail"])?.map(|n| json!(n)));
            put(&mut m, "since", input.text(&["since"]).map(Value::String));
            put(
                &mut m,
                "sinceTime",
                input.text(&["since-time"]).map(Value::String),
            );
            put(
                &mut m,
                "previous",
                input.switch(&["previous", "p"]).map(Value::Bool),
            );
            put(
                &mut m,
                "timestamps",
                input.switch(&["timestamps"]).map(Value::Bool),
            );
            put(
                &mut m,
                "labelSelector",
                input.text(&["selector", "l"]).map(Value::String),
            );
            call!(KubectlLogs)
        }
        "explain" => {
            let resource = match (rt, name) {
                (Some(r), Some(n)) => Some(format!("{r}.{n}")),
                (r, _) => r,
            };
            put(&mut m, "resource", resource.map(Value::String));
            put(
                &mut m,
                "apiVersion",
                input.text(&["api-version"]).map(Value::String),
            );
            put(
                &mut m,
                "recursive",
                input.switch(&["recursive"]).map(Value::Bool),
            );
            call!(ExplainResource)
        }
        "api-resources" => {
            put(
                &mut m,
                "apiGroup",
                input.text(&["api-group"]).map(Value::String),
            );
            put(
                &mut m,
                "namespaced",
                input.switch(&["namespaced"]).map(Value::Bool),
            );
            put(
                &mut m,
                "verbs",
                input
                    .text(&["verbs"])
                    .map(|v| json!(v.split(',').collect::<Vec<_>>())),
            );
            put(
                &mut m,
                "output",
                args.output_format
                    .clone()
                    .or(input.text(&["output", "o"]))
                    .map(Value::String),
            );
            call!(ListApiResources)
        }
        "" => Err(invalid(format!(
            "command is required; supported: {SUPPORTED}"
        ))),
        other => Err(ToolError::Invalid(format!(
            "kubectl {other} is not supported: this server calls the Kubernetes API natively and runs no kubectl; \
             kubectl_generic supports {SUPPORTED} (exec_in_pod and port_forward have their own tools)"
        ))),
    }
}

async fn meta_patch(ctx: &Ctx, args: &Args, c: &MetaChange) -> ToolResult {
    let (rt, name, field, overwrite, dry_run) = (
        c.resource_type.as_str(),
        c.name.as_str(),
        c.field,
        c.overwrite,
        c.dry_run,
    );
    let ns = c.namespace.as_deref();
    let changes = &c.changes;
    let client = ctx.client(args.context.as_deref()).await?;
    let r = ctx.resolve(&client, rt).await?;
    let ns = if r.namespaced {
        Some(ctx.namespace(ns).await?)
    } else {
        super::manifest::check_cluster_scoped(ctx, &r, name)?;
        None
    };
    let api = super::manifest::dynamic_api(&client, &r, ns.as_deref());
    let current = api.get(name).await?;
    let existing = match field {
        "labels" => current.metadata.labels.clone(),
        _ => current.metadata.annotations.clone(),
    }
    .unwrap_or_default();
    for (k, v) in changes {
        if let (Some(old), Some(new)) = (existing.get(k), v.as_str())
            && old != new
            && !overwrite
        {
            return Err(ToolError::Invalid(format!(
                "'{k}' already has a value ({old}), and overwrite is false; pass flags {{\"overwrite\": true}} to change it"
            )));
        }
    }
    let pp = PatchParams {
        field_manager: Some(super::apply::FIELD_MANAGER.into()),
        dry_run,
        ..Default::default()
    };
    api.patch(
        name,
        &pp,
        &Patch::Merge(json!({"metadata": {field: changes}})),
    )
    .await?;
    let verb = if field == "labels" {
        "labeled"
    } else {
        "annotated"
    };
    let suffix = if dry_run { " (server dry run)" } else { "" };
    Ok(format!(
        "{} {verb}{suffix}",
        super::manifest::object_ref(&r, name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn inputs_fold_flags_from_args() {
        let i = Inputs::new(
            Some(&serde_json::from_value(json!({"--replicas": 3, "o": "json"})).unwrap()),
            &strings(&[
                "web",
                "--selector=app=x",
                "--timeout",
                "30s",
                "--overwrite",
                "tier=a",
            ]),
        );
        assert_eq!(i.positional, strings(&["web", "tier=a"]));
        assert_eq!(i.number(&["replicas"]).unwrap(), Some(3));
        assert_eq!(i.text(&["output", "o"]).as_deref(), Some("json"));
        assert_eq!(i.text(&["selector", "l"]).as_deref(), Some("app=x"));
        assert_eq!(i.text(&["timeout"]).as_deref(), Some("30s"));
        assert_eq!(i.switch(&["overwrite"]), Some(true));
    }

    type TargetCase<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        &'a [&'a str],
        (Option<&'a str>, Option<&'a str>),
        &'a [&'a str],
    );

    #[test]
    fn targets() {
        let cases: &[TargetCase] = &[
            (
                Some("pods"),
                Some("web"),
                &[],
                (Some("pods"), Some("web")),
                &[],
            ),
            (
                None,
                None,
                &["deployment/web", "a=b"],
                (Some("deployment"), Some("web")),
                &["a=b"],
            ),
            (
                None,
                None,
                &["pods", "web"],
                (Some("pods"), Some("web")),
                &[],
            ),
            (
                Some("pods"),
                None,
                &["tier=x"],
                (Some("pods"), None),
                &["tier=x"],
            ),
        ];
        for (rt, name, pos, (wrt, wname), rest) in cases {
            let mut p = strings(pos);
            let (r, n) = target(*rt, *name, &mut p);
            assert_eq!((r.as_deref(), n.as_deref()), (*wrt, *wname));
            assert_eq!(p, strings(rest));
        }
    }

    #[test]
    fn label_change_table() {
        let m = label_changes(&strings(&["a=1", "b-", "c=x=y", "d="])).unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"a": "1", "b": null, "c": "x=y", "d": ""})
        );
        for bad in [&["novalue"][..], &["=v"], &[]] {
            assert!(label_changes(&strings(bad)).is_err(), "{bad:?}");
        }
    }
}
