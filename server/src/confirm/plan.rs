//! What a call would change, stated before it runs: how much it changes
//! (from the tool and its arguments) and, for destructive calls, exactly
//! which objects it touches, read from the cluster first.

use crate::tools::{Ctx, ToolError, delete, generic, helm, node, parse_args};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube_mcp_catalog::{ToolClass, ToolId};
use serde_json::{Map, Value};

/// Names listed in a statement before "and N more".
const SHOWN: usize = 20;
/// Characters of one argument value shown in a statement.
const VALUE_CHARS: usize = 200;

/// How much a call changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Write,
    Destructive,
}

/// The call that really runs: kubectl_generic's command as the tool it
/// stands for, or its own label/annotate change.
#[derive(Debug, Clone, PartialEq)]
pub enum Effective {
    Tool(ToolId, Map<String, Value>),
    Meta(generic::MetaChange),
}

pub fn effective(ctx: &Ctx, id: ToolId, args: &Map<String, Value>) -> Result<Effective, ToolError> {
    if id != ToolId::KubectlGeneric {
        return Ok(Effective::Tool(id, args.clone()));
    }
    let g: generic::Args = parse_args(id, Some(args.clone()))?;
    Ok(match generic::translate(ctx, &g)? {
        generic::Step::Delegate(to, m) => Effective::Tool(to, m),
        generic::Step::Meta(c) => Effective::Meta(c),
    })
}

fn flag(args: &Map<String, Value>, key: &str) -> bool {
    args.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn word(args: &Map<String, Value>, key: &str) -> String {
    args.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The change a call makes; None for a read, a dry run, or a drain not yet
/// confirmed with confirmDrain (which only explains itself).
pub fn change(call: &Effective) -> Option<Change> {
    let (id, args) = match call {
        Effective::Meta(c) => return (!c.dry_run).then_some(Change::Write),
        Effective::Tool(id, args) => (*id, args),
    };
    if flag(args, "dryRun") {
        return None;
    }
    match (id, id.spec().class) {
        (_, ToolClass::ReadOnly) => None,
        (ToolId::KubectlRollout, _)
            if matches!(word(args, "subCommand").as_str(), "status" | "history") =>
        {
            None
        }
        (ToolId::NodeManagement, _) if word(args, "operation") != "drain" => Some(Change::Write),
        (ToolId::NodeManagement, _) if !flag(args, "confirmDrain") => None,
        (_, ToolClass::Destructive) => Some(Change::Destructive),
        (_, ToolClass::Write) => Some(Change::Write),
    }
}

/// `a, b, c` or `a, b, ... and 7 more`.
pub fn names(items: &[String]) -> String {
    let mut shown = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        shown.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    shown
}

/// What the call will do, in one sentence starting with a verb; None when
/// it would change nothing (no object matches), so there is nothing to ask.
pub async fn statement(ctx: &Ctx, call: &Effective) -> Result<Option<String>, ToolError> {
    match call {
        Effective::Tool(ToolId::KubectlDelete, m) => delete_statement(ctx, m).await,
        Effective::Tool(ToolId::NodeManagement, m) if word(m, "operation") == "drain" => {
            drain_statement(ctx, m).await
        }
        Effective::Tool(ToolId::UninstallHelmChart, m) => {
            let a: helm::UninstallArgs = parse_args(ToolId::UninstallHelmChart, Some(m.clone()))?;
            let ns = ctx.namespace(a.namespace.as_deref()).await?;
            Ok(Some(format!(
                "uninstall Helm release {} in namespace {ns}",
                a.name
            )))
        }
        Effective::Tool(ToolId::Cleanup, _) => {
            let running = ctx.forwards.list();
            Ok((!running.is_empty()).then(|| {
                format!(
                    "stop {} port-forward(s): {}",
                    running.len(),
                    names(&running)
                )
            }))
        }
        Effective::Meta(c) => {
            let verb = if c.field == "labels" {
                "label"
            } else {
                "annotate"
            };
            let changes: Vec<String> = c
                .changes
                .iter()
                .map(|(k, v)| match v.as_str() {
                    Some(v) => format!("{k}={v}"),
                    None => format!("{k}-"),
                })
                .collect();
            let ns = ctx.namespace(c.namespace.as_deref()).await?;
            Ok(Some(format!(
                "{verb} {} {} (namespace {ns}): {}",
                c.resource_type,
                c.name,
                changes.join(", ")
            )))
        }
        Effective::Tool(id, m) => Ok(Some(with_arguments(*id, m))),
    }
}

/// A write stated by its tool and arguments: `kubectl_scale with name=web, replicas=3, ...`.
pub fn with_arguments(id: ToolId, args: &Map<String, Value>) -> String {
    let mut pairs: Vec<String> = args
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let shown: String = v.chars().take(VALUE_CHARS).collect();
            let more = if shown.len() < v.len() { "..." } else { "" };
            format!("{k}={shown}{more}")
        })
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        format!("run {id}")
    } else {
        format!("run {id} with {}", pairs.join(", "))
    }
}

async fn delete_statement(ctx: &Ctx, m: &Map<String, Value>) -> Result<Option<String>, ToolError> {
    let a: delete::Args = parse_args(ToolId::KubectlDelete, Some(m.clone()))?;
    let client = ctx.client(a.context.as_deref()).await?;
    let doomed = delete::resolve(ctx, &client, &a).await?;
    if doomed.selection == delete::Selection::Name
        && let Some(t) = doomed.targets.first()
        && t.api(&client).get_opt(&t.name).await?.is_none()
    {
        // The tool reports the 404 itself; nothing would be deleted.
        return Ok(None);
    }
    let targets = &doomed.targets;
    let Some(first) = targets.first() else {
        return Ok(None);
    };
    let one_kind = targets.iter().all(|t| t.resource == first.resource);
    let one_ns = targets.iter().all(|t| t.namespace == first.namespace);
    let n = targets.len();
    let r = &first.resource;
    let kind = if n == 1 { &r.singular } else { &r.api.plural };
    let kind = if r.api.group.is_empty() {
        kind.clone()
    } else {
        format!("{kind}.{}", r.api.group)
    };
    let place = |ns: &Option<String>| match ns {
        Some(ns) => format!(" in {ns}"),
        None => String::new(),
    };
    Ok(Some(if one_kind && one_ns {
        let list: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
        if n == 1 {
            format!("delete {kind} {}{}", first.name, place(&first.namespace))
        } else {
            format!(
                "delete {n} {kind}{}: {}",
                place(&first.namespace),
                names(&list)
            )
        }
    } else {
        let list: Vec<String> = targets
            .iter()
            .map(|t| match &t.namespace {
                Some(ns) => format!("{} {ns}/{}", t.resource.singular, t.name),
                None => format!("{} {}", t.resource.singular, t.name),
            })
            .collect();
        format!("delete {n} objects: {}", names(&list))
    }))
}

async fn drain_statement(ctx: &Ctx, m: &Map<String, Value>) -> Result<Option<String>, ToolError> {
    let a: node::Args = parse_args(ToolId::NodeManagement, Some(m.clone()))?;
    let Some(name) = a.node_name.as_deref().filter(|n| !n.is_empty()) else {
        // The tool says what is missing.
        return Ok(None);
    };
    if !ctx.scope.allows_cluster_scoped() {
        return Ok(None);
    }
    let client = ctx.client(None).await?;
    if Api::<Node>::all(client.clone())
        .get_opt(name)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let plan = node::drain_plan(&client, name, &a).await?;
    if !plan.blocked.is_empty() {
        // The tool refuses before changing anything, naming the pods.
        return Ok(None);
    }
    let pods: Vec<String> = plan.evict.iter().map(node::pod_ref).collect();
    Ok(Some(if pods.is_empty() {
        format!("drain node {name}: cordon it (no pod to evict)")
    } else {
        format!(
            "drain node {name}: cordon it and evict {} pod(s): {}",
            pods.len(),
            names(&pods)
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(id: ToolId, args: Value) -> Effective {
        Effective::Tool(id, args.as_object().unwrap().clone())
    }

    #[test]
    fn change_table() {
        use Change::*;
        let cases = [
            (tool(ToolId::KubectlGet, json!({})), None),
            (
                tool(ToolId::KubectlDelete, json!({"name": "a"})),
                Some(Destructive),
            ),
            (tool(ToolId::KubectlDelete, json!({"dryRun": true})), None),
            (
                tool(ToolId::UninstallHelmChart, json!({"name": "r"})),
                Some(Destructive),
            ),
            (tool(ToolId::Cleanup, json!({})), Some(Destructive)),
            (
                tool(ToolId::KubectlApply, json!({"manifest": "x"})),
                Some(Write),
            ),
            (tool(ToolId::KubectlApply, json!({"dryRun": true})), None),
            (
                tool(ToolId::KubectlRollout, json!({"subCommand": "status"})),
                None,
            ),
            (
                tool(ToolId::KubectlRollout, json!({"subCommand": "History"})),
                None,
            ),
            (
                tool(ToolId::KubectlRollout, json!({"subCommand": "restart"})),
                Some(Write),
            ),
            (
                tool(ToolId::NodeManagement, json!({"operation": "cordon"})),
                Some(Write),
            ),
            (
                tool(ToolId::NodeManagement, json!({"operation": "drain"})),
                None,
            ),
            (
                tool(
                    ToolId::NodeManagement,
                    json!({"operation": "drain", "confirmDrain": true}),
                ),
                Some(Destructive),
            ),
            (
                tool(
                    ToolId::NodeManagement,
                    json!({"operation": "drain", "confirmDrain": true, "dryRun": true}),
                ),
                None,
            ),
            (
                tool(ToolId::StopPortForward, json!({"id": "x"})),
                Some(Write),
            ),
        ];
        for (call, want) in cases {
            assert_eq!(change(&call), want, "{call:?}");
        }
    }

    #[test]
    fn names_are_bounded() {
        let few: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(names(&few), "a, b, c");
        let many: Vec<String> = (0..25).map(|i| format!("p{i}")).collect();
        let shown = names(&many);
        assert!(shown.ends_with("p19 and 5 more"), "{shown}");
    }

    #[test]
    fn writes_are_stated_by_their_arguments() {
        let args =
            json!({"replicas": 3, "name": "web", "resourceType": "deployment", "context": null});
        assert_eq!(
            with_arguments(ToolId::KubectlScale, args.as_object().unwrap()),
            "run kubectl_scale with name=web, replicas=3, resourceType=deployment"
        );
        let long = json!({"manifest": "x".repeat(500)});
        let s = with_arguments(ToolId::KubectlApply, long.as_object().unwrap());
        assert!(s.len() < 260 && s.ends_with("..."), "{s}");
    }
}
