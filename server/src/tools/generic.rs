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
    if matches!(
        args.command.trim().to_ascii_lowercase().as_str(),
        "label" | "annotate"
    ) {
        // Done here, under kubectl_patch's name and rules.
        super::require(ctx, TOOL, ToolId::KubectlPatch)?;
    }
    step(args, Inputs::new(args.flags.as_ref(), &raw_args))
}

/// Where a delegated tool's argument comes from on the kubectl command line.
#[derive(Debug, Clone, Copy)]
enum Flag {
    Text(&'static [&'static str]),
    Switch(&'static [&'static str]),
    Number(&'static [&'static str]),
}
use Flag::{Number, Switch, Text};

/// Each command's flags, as (the tool's argument, the kubectl flag); the
/// resource target, the namespace and `-o` are passed on apart.
type Flags = &'static [(&'static str, Flag)];
const DRY_RUN: (&str, Flag) = ("dryRun", Switch(&["dry-run"]));
const SELECTOR: (&str, Flag) = ("labelSelector", Text(&["selector", "l"]));
const FILENAME: (&str, Flag) = ("filename", Text(&["filename", "f"]));
const GET: Flags = &[
    SELECTOR,
    ("fieldSelector", Text(&["field-selector"])),
    ("sortBy", Text(&["sort-by"])),
];
const DELETE: Flags = &[
    SELECTOR,
    FILENAME,
    ("force", Switch(&["force"])),
    ("gracePeriodSeconds", Number(&["grace-period"])),
];
const SCALE: Flags = &[("replicas", Number(&["replicas"]))];
const ROLLOUT: Flags = &[
    ("toRevision", Number(&["to-revision"])),
    ("revision", Number(&["revision"])),
    ("timeout", Text(&["timeout"])),
    ("watch", Switch(&["watch", "w"])),
];
const NODE: Flags = &[
    ("force", Switch(&["force"])),
    ("gracePeriod", Number(&["grace-period"])),
    (
        "deleteLocalData",
        Switch(&["delete-emptydir-data", "delete-local-data"]),
    ),
    ("ignoreDaemonsets", Switch(&["ignore-daemonsets"])),
    ("timeout", Text(&["timeout"])),
    DRY_RUN,
    ("confirmDrain", Switch(&["confirm-drain", "confirmDrain"])),
];
const APPLY: Flags = &[
    FILENAME,
    ("manifest", Text(&["manifest"])),
    DRY_RUN,
    ("force", Switch(&["force-conflicts"])),
];
const PATCH: Flags = &[
    ("patchType", Text(&["type"])),
    ("patchFile", Text(&["patch-file"])),
    DRY_RUN,
];
const CREATE: Flags = &[
    FILENAME,
    ("image", Text(&["image"])),
    ("replicas", Number(&["replicas"])),
    ("port", Number(&["port"])),
    ("schedule", Text(&["schedule"])),
    ("externalName", Text(&["external-name"])),
    DRY_RUN,
];
const LOGS: Flags = &[
    ("container", Text(&["container", "c"])),
    ("tail", Number(&["tail"])),
    ("since", Text(&["since"])),
    ("sinceTime", Text(&["since-time"])),
    ("previous", Switch(&["previous", "p"])),
    ("timestamps", Switch(&["timestamps"])),
    SELECTOR,
];
const EXPLAIN: Flags = &[
    ("apiVersion", Text(&["api-version"])),
    ("recursive", Switch(&["recursive"])),
];
const API_RESOURCES: Flags = &[
    ("apiGroup", Text(&["api-group"])),
    ("namespaced", Switch(&["namespaced"])),
];

/// Puts each of `flags` that the command line sets into `m`.
fn pass(m: &mut Map<String, Value>, input: &Inputs, flags: Flags) -> Result<(), ToolError> {
    for (key, flag) in flags {
        let v = match *flag {
            Text(names) => input.text(names).map(Value::String),
            Switch(names) => input.switch(names).map(Value::Bool),
            Number(names) => input.number(names)?.map(|n| json!(n)),
        };
        put(m, key, v);
    }
    Ok(())
}

/// The call a kubectl command line stands for (the filter and the files are
/// [`translate`]'s): every verb runs as the tool it stands for.
fn step(args: &Args, mut input: Inputs) -> Result<Step, ToolError> {
    let command = args.command.trim().to_ascii_lowercase();
    let namespace = input
        .text(&["namespace", "n"])
        .or(args.namespace.clone())
        .map(Value::String);
    let all_ns = args.all_namespaces || input.switch(&["all-namespaces", "A"]).unwrap_or(false);
    let mut sub = args.sub_command.clone().filter(|s| !s.is_empty());
    if sub.is_none() && command == "rollout" && !input.positional.is_empty() {
        // `rollout status deployment/web` keeps the verb first.
        sub = Some(input.positional.remove(0));
    }
    let (rt, name) = target(
        args.resource_type.as_deref(),
        args.name.as_deref(),
        &mut input.positional,
    );
    let output = args
        .output_format
        .clone()
        .or(input.text(&["output", "o"]))
        .map(Value::String);
    let mut m = Map::new();
    put(&mut m, "context", args.context.clone().map(Value::String));
    let with_target = |m: &mut Map<String, Value>| {
        put(m, "resourceType", rt.clone().map(Value::String));
        put(m, "name", name.clone().map(Value::String));
        put(m, "namespace", namespace.clone());
    };
    let tool = match command.as_str() {
        "get" => {
            with_target(&mut m);
            put(&mut m, "allNamespaces", Some(json!(all_ns)));
            put(&mut m, "output", output);
            pass(&mut m, &input, GET)?;
            ToolId::KubectlGet
        }
        "describe" => {
            with_target(&mut m);
            put(&mut m, "allNamespaces", Some(json!(all_ns)));
            ToolId::KubectlDescribe
        }
        "delete" => {
            with_target(&mut m);
            put(&mut m, "allNamespaces", Some(json!(all_ns)));
            pass(&mut m, &input, DELETE)?;
            ToolId::KubectlDelete
        }
        "label" | "annotate" => return meta_change(&command, rt, name, namespace, &input),
        "scale" => {
            with_target(&mut m);
            pass(&mut m, &input, SCALE)?;
            ToolId::KubectlScale
        }
        "rollout" => {
            with_target(&mut m);
            put(&mut m, "subCommand", sub.map(Value::String));
            pass(&mut m, &input, ROLLOUT)?;
            ToolId::KubectlRollout
        }
        "cordon" | "uncordon" | "drain" => {
            // `kubectl cordon NODE`: the node may come as name or as the first argument.
            m.remove("context");
            put(&mut m, "operation", Some(json!(command)));
            put(&mut m, "nodeName", name.or(rt).map(Value::String));
            pass(&mut m, &input, NODE)?;
            ToolId::NodeManagement
        }
        "apply" => {
            put(&mut m, "namespace", namespace);
            pass(&mut m, &input, APPLY)?;
            ToolId::KubectlApply
        }
        "patch" => {
            with_target(&mut m);
            let data = input.flags.get("patch").or(input.flags.get("p")).cloned();
            put(&mut m, "patchData", data);
            pass(&mut m, &input, PATCH)?;
            ToolId::KubectlPatch
        }
        "create" => {
            create(&mut m, rt, name, sub, namespace, output, &mut input)?;
            ToolId::KubectlCreate
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
            pass(&mut m, &input, LOGS)?;
            ToolId::KubectlLogs
        }
        "explain" => {
            let resource = match (rt, name) {
                (Some(r), Some(n)) => Some(format!("{r}.{n}")),
                (r, _) => r,
            };
            put(&mut m, "resource", resource.map(Value::String));
            pass(&mut m, &input, EXPLAIN)?;
            ToolId::ExplainResource
        }
        "api-resources" => {
            pass(&mut m, &input, API_RESOURCES)?;
            let verbs = input
                .text(&["verbs"])
                .map(|v| json!(v.split(',').collect::<Vec<_>>()));
            put(&mut m, "verbs", verbs);
            put(&mut m, "output", output);
            ToolId::ListApiResources
        }
        "" => {
            return Err(invalid(format!(
                "command is required; supported: {SUPPORTED}"
            )));
        }
        other => {
            return Err(ToolError::Invalid(format!(
                "kubectl {other} is not supported: this server calls the Kubernetes API natively and runs no kubectl; \
                 kubectl_generic supports {SUPPORTED} (exec_in_pod and port_forward have their own tools)"
            )));
        }
    };
    Ok(Step::Delegate(tool, m))
}

/// `label` / `annotate`: a metadata change made here.
fn meta_change(
    command: &str,
    rt: Option<String>,
    name: Option<String>,
    namespace: Option<Value>,
    input: &Inputs,
) -> Result<Step, ToolError> {
    let (Some(rt), Some(name)) = (rt, name) else {
        return Err(invalid(format!("{command} needs resourceType and name")));
    };
    Ok(Step::Meta(MetaChange {
        resource_type: rt,
        name,
        namespace: namespace.and_then(|v| v.as_str().map(str::to_string)),
        field: if command == "label" {
            "labels"
        } else {
            "annotations"
        },
        changes: label_changes(&input.positional)?,
        overwrite: input.switch(&["overwrite"]).unwrap_or(false),
        dry_run: input.switch(&["dry-run"]) == Some(true),
    }))
}

/// `create`'s arguments. `create secret generic NAME`, `create service
/// clusterip NAME`: the subcommand is the secret or service type.
fn create(
    m: &mut Map<String, Value>,
    rt: Option<String>,
    mut name: Option<String>,
    mut sub: Option<String>,
    namespace: Option<Value>,
    output: Option<Value>,
    input: &mut Inputs,
) -> Result<(), ToolError> {
    let kind = rt.clone().unwrap_or_default().to_ascii_lowercase();
    if sub.is_none() && matches!(kind.as_str(), "secret" | "service" | "svc") {
        sub = name.take();
        if !input.positional.is_empty() {
            name = Some(input.positional.remove(0));
        }
    }
    put(m, "resourceType", rt.map(Value::String));
    put(m, "name", name.map(Value::String));
    put(m, "namespace", namespace);
    match kind.as_str() {
        "secret" => put(m, "secretType", sub.map(Value::String)),
        "service" | "svc" => put(m, "serviceType", sub.map(Value::String)),
        _ => {}
    }
    pass(m, input, CREATE)?;
    let list = |key: &str| match input.flags.get(key)? {
        Value::Array(a) => Some(Value::Array(a.clone())),
        Value::String(s) => Some(json!([s])),
        _ => None,
    };
    put(m, "fromLiteral", list("from-literal"));
    put(m, "fromFile", list("from-file"));
    put(m, "tcpPort", list("tcp"));
    put(m, "output", output);
    if !input.positional.is_empty() {
        put(m, "command", Some(json!(input.positional)));
    }
    Ok(())
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

    /// A kubectl_generic call from a command and its args, as a client sends it.
    fn call(command: &str, rest: &[&str]) -> Args {
        serde_json::from_value(json!({"command": command, "args": rest})).unwrap()
    }

    #[test]
    fn commands_become_the_tool_calls_they_stand_for() {
        let cases = [
            (
                call("get", &["pods", "-n", "x", "-l", "app=web", "-o", "wide"]),
                ToolId::KubectlGet,
                json!({"resourceType": "pods", "namespace": "x", "allNamespaces": false,
                       "labelSelector": "app=web", "output": "wide"}),
            ),
            (
                call("describe", &["deployment/web", "-A"]),
                ToolId::KubectlDescribe,
                json!({"resourceType": "deployment", "name": "web", "allNamespaces": true}),
            ),
            (
                call("delete", &["pod", "web-0", "--grace-period=0", "--force"]),
                ToolId::KubectlDelete,
                json!({"resourceType": "pod", "name": "web-0", "allNamespaces": false,
                       "gracePeriodSeconds": 0, "force": true}),
            ),
            (
                call("scale", &["deployment/web", "--replicas", "3"]),
                ToolId::KubectlScale,
                json!({"resourceType": "deployment", "name": "web", "replicas": 3}),
            ),
            (
                call("rollout", &["status", "deployment/web", "--watch"]),
                ToolId::KubectlRollout,
                json!({"subCommand": "status", "resourceType": "deployment", "name": "web",
                       "watch": true}),
            ),
            (
                call("drain", &["node-1", "--ignore-daemonsets", "--dry-run"]),
                ToolId::NodeManagement,
                json!({"operation": "drain", "nodeName": "node-1", "ignoreDaemonsets": true,
                       "dryRun": true}),
            ),
            (
                call("apply", &["-f", "web.yaml", "--force-conflicts"]),
                ToolId::KubectlApply,
                json!({"filename": "web.yaml", "force": true}),
            ),
            (
                call(
                    "patch",
                    &["deployment", "web", "--type", "merge", "--patch", "{}"],
                ),
                ToolId::KubectlPatch,
                json!({"resourceType": "deployment", "name": "web", "patchType": "merge",
                       "patchData": "{}"}),
            ),
            (
                call("create", &["secret", "generic", "s", "--from-literal=a=b"]),
                ToolId::KubectlCreate,
                json!({"resourceType": "secret", "secretType": "generic", "name": "s",
                       "fromLiteral": ["a=b"]}),
            ),
            (
                call(
                    "create",
                    &["deployment", "web", "--image=nginx", "--replicas=2"],
                ),
                ToolId::KubectlCreate,
                json!({"resourceType": "deployment", "name": "web", "image": "nginx",
                       "replicas": 2}),
            ),
            (
                call("logs", &["web-0", "--tail=5", "-c", "app"]),
                ToolId::KubectlLogs,
                json!({"resourceType": "pod", "name": "web-0", "tail": 5, "container": "app"}),
            ),
            (
                call("explain", &["deployment", "spec", "--recursive"]),
                ToolId::ExplainResource,
                json!({"resource": "deployment.spec", "recursive": true}),
            ),
            (
                call("api-resources", &["--verbs=get,list", "--namespaced"]),
                ToolId::ListApiResources,
                json!({"verbs": ["get", "list"], "namespaced": true}),
            ),
        ];
        for (args, tool, want) in cases {
            let raw = args.args.clone().unwrap_or_default();
            let got = step(&args, Inputs::new(args.flags.as_ref(), &raw));
            match got {
                Ok(Step::Delegate(t, m)) => {
                    assert_eq!((t, Value::Object(m)), (tool, want), "{args:?}")
                }
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn label_and_annotate_are_metadata_changes() {
        let args = call("label", &["pods", "web", "tier=x", "old-", "--overwrite"]);
        let raw = args.args.clone().unwrap_or_default();
        let Ok(Step::Meta(c)) = step(&args, Inputs::new(None, &raw)) else {
            panic!("not a metadata change");
        };
        assert_eq!(
            (
                c.resource_type.as_str(),
                c.name.as_str(),
                c.field,
                c.overwrite
            ),
            ("pods", "web", "labels", true)
        );
        assert_eq!(Value::Object(c.changes), json!({"tier": "x", "old": null}));
    }

    #[test]
    fn bad_commands_say_what_is_wrong() {
        let cases = [
            (
                call("scale", &["deploy/web", "--replicas=many"]),
                "needs a number",
            ),
            (call("annotate", &["pods"]), "needs resourceType and name"),
            (call("exec", &["web-0"]), "kubectl exec is not supported"),
            (call(" ", &[]), "command is required"),
        ];
        for (args, want) in cases {
            let raw = args.args.clone().unwrap_or_default();
            let err = step(&args, Inputs::new(None, &raw))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{args:?}: {err}");
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
