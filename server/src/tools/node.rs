//! node_management: cordon, uncordon and drain through the Eviction API.
use super::{Ctx, ToolError, ToolResult};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// cordon, drain or uncordon
    pub operation: String,
    /// Name of the node
    pub node_name: Option<String>,
    /// Also delete pods no controller manages
    #[serde(default)]
    pub force: bool,
    /// Grace period for evicted pods (-1: the pod's own)
    pub grace_period: Option<i64>,
    /// Also evict pods using emptyDir volumes
    #[serde(default)]
    pub delete_local_data: bool,
    /// Skip DaemonSet-managed pods
    #[serde(default = "yes")]
    pub ignore_daemonsets: bool,
    /// How long to wait for the drain, e.g. 60s ("0": a bounded default)
    pub timeout: Option<String>,
    /// Show what would happen without doing it
    #[serde(default)]
    pub dry_run: bool,
    /// Must be true for drain to proceed
    #[serde(default)]
    pub confirm_drain: bool,
}

fn yes() -> bool {
    true
}

const TOOL: ToolId = ToolId::NodeManagement;

fn invalid(reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool: TOOL,
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct DrainOpts {
    pub force: bool,
    pub delete_local_data: bool,
    pub ignore_daemonsets: bool,
}

/// What drain does with one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Evict,
    /// Left alone, with the reason (mirror and DaemonSet pods).
    Skip(&'static str),
    /// Stops the drain unless an option allows it, with the option to set.
    Block(&'static str),
}

/// kubectl drain's pod filters, in its order.
pub fn classify(pod: &Pod, o: DrainOpts) -> Verdict {
    let meta = &pod.metadata;
    if meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
    {
        return Verdict::Skip("mirror pod (static, managed by the kubelet)");
    }
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return Verdict::Evict;
    }
    let controller = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    match controller {
        Some(c) if c.kind == "DaemonSet" => {
            return if o.ignore_daemonsets {
                Verdict::Skip("DaemonSet-managed")
            } else {
                Verdict::Block("DaemonSet-managed pod (set ignoreDaemonsets=true to skip it)")
            };
        }
        None if !o.force => {
            return Verdict::Block(
                "not managed by a controller and would be lost (set force=true to delete it anyway)",
            );
        }
        _ => {}
    }
    let empty_dir = pod
        .spec
        .as_ref()
        .is_some_and(|s| s.volumes.iter().flatten().any(|v| v.empty_dir.is_some()));
    if empty_dir && !o.delete_local_data {
        return Verdict::Block(
            "uses emptyDir local storage that would be lost (set deleteLocalData=true to evict it)",
        );
    }
    Verdict::Evict
}

pub fn pod_ref(p: &Pod) -> String {
    format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or_default(),
        p.metadata.name.as_deref().unwrap_or_default()
    )
}

pub async fn run(ctx: &Ctx, args: Args) -> ToolResult {
    let op = args.operation.to_ascii_lowercase();
    if !matches!(op.as_str(), "cordon" | "uncordon" | "drain") {
        return Err(invalid(format!(
            "operation {:?} is not one of cordon, uncordon or drain",
            args.operation
        )));
    }
    let node = args
        .node_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(format!("nodeName is required to {op} a node")))?
        .to_string();
    if !ctx.scope.allows_cluster_scoped() {
        return Err(ToolError::Invalid(
            "nodes are cluster-wide; this server is limited to namespaces and cannot manage nodes"
                .into(),
        ));
    }
    if op == "drain" && !args.confirm_drain && !args.dry_run {
        return Ok(format!(
            "Drain not started: draining node {node} marks it unschedulable (cordon) and evicts every pod on it \
             (DaemonSet pods are {}; pods without a controller are {}; pods with emptyDir data are {}). \
             Workloads on it are disrupted. Call node_management again with confirmDrain=true to proceed, \
             or dryRun=true to list the pods first.",
            if args.ignore_daemonsets {
                "skipped"
            } else {
                "refused"
            },
            if args.force {
                "deleted for good"
            } else {
                "refused"
            },
            if args.delete_local_data {
                "evicted and the data lost"
            } else {
                "refused"
            },
        ));
    }
    let client = ctx.client(None).await?;
    let nodes = Api::<Node>::all(client.clone());
    let current = nodes.get(&node).await?;
    let unschedulable = current
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    let pp = PatchParams {
        field_manager: Some(super::apply::FIELD_MANAGER.into()),
        dry_run: args.dry_run,
        ..Default::default()
    };
    let dry = if args.dry_run { " (dry run)" } else { "" };
    let set_unschedulable = |value: bool| {
        let nodes = nodes.clone();
        let pp = pp.clone();
        let node = node.clone();
        async move {
            nodes
                .patch(
                    &node,
                    &pp,
                    &Patch::Merge(json!({"spec": {"unschedulable": value}})),
                )
                .await
                .map(|_| ())
        }
    };
    match op.as_str() {
        "cordon" | "uncordon" => {
            let want = op == "cordon";
            if unschedulable == want {
                return Ok(format!("node/{node} already {op}ed"));
            }
            set_unschedulable(want).await?;
            Ok(format!("node/{node} {op}ed{dry}"))
        }
        _ => {
            drain(
                ctx,
                &client,
                &node,
                unschedulable,
                &args,
                set_unschedulable(true),
            )
            .await
        }
    }
}

/// What draining a node does to the pods on it, before anything is done.
pub struct DrainPlan {
    pub evict: Vec<Pod>,
    /// `ns/name (why)`
    pub skipped: Vec<String>,
    /// `ns/name: why`; any makes the drain refuse.
    pub blocked: Vec<String>,
}

pub async fn drain_plan(
    client: &kube::Client,
    node: &str,
    args: &Args,
) -> Result<DrainPlan, ToolError> {
    let opts = DrainOpts {
        force: args.force,
        delete_local_data: args.delete_local_data,
        ignore_daemonsets: args.ignore_daemonsets,
    };
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await?;
    let mut plan = DrainPlan {
        evict: vec![],
        skipped: vec![],
        blocked: vec![],
    };
    for p in pods.items {
        match classify(&p, opts) {
            Verdict::Evict => plan.evict.push(p),
            Verdict::Skip(why) => plan.skipped.push(format!("{} ({why})", pod_ref(&p))),
            Verdict::Block(why) => plan.blocked.push(format!("{}: {why}", pod_ref(&p))),
        }
    }
    Ok(plan)
}

async fn drain(
    ctx: &Ctx,
    client: &kube::Client,
    node: &str,
    already_cordoned: bool,
    args: &Args,
    cordon: impl std::future::Future<Output = Result<(), kube::Error>>,
) -> ToolResult {
    let timeout = drain_timeout(ctx, args)?;
    let DrainPlan {
        evict,
        skipped,
        blocked,
    } = drain_plan(client, node, args).await?;
    if !blocked.is_empty() {
        return Err(ToolError::Invalid(format!(
            "cannot drain node {node}; nothing was changed. These pods block it:\n  {}",
            blocked.join("\n  ")
        )));
    }
    let mut out = vec![];
    let dry = if args.dry_run { " (dry run)" } else { "" };
    if already_cordoned {
        out.push(format!("node/{node} already cordoned"));
    } else {
        cordon.await?;
        out.push(format!("node/{node} cordoned{dry}"));
    }
    for s in &skipped {
        out.push(format!("skipping pod {s}"));
    }
    if args.dry_run {
        for p in &evict {
            out.push(format!("evicting pod {} (dry run)", pod_ref(p)));
        }
        out.push(format!("node/{node} drained (dry run)"));
        return Ok(out.join("\n"));
    }
    let deadline = Instant::now() + timeout;
    let grace = args.grace_period.and_then(|g| u32::try_from(g).ok());
    let evicted = evict_all(client, &evict, grace, deadline, &mut out).await;
    let gone = match evicted {
        Ok(pending) => wait_gone(&pending, deadline, timeout).await,
        Err(e) => Err(e),
    };
    if let Err(e) = gone {
        out.push(e);
        return Err(ToolError::Invalid(out.join("\n")));
    }
    out.push(format!("node/{node} drained"));
    Ok(out.join("\n"))
}

/// The drain's `timeout` (0 or none: as long as a tool call may take), capped
/// so that the call answers before the tool timeout cuts it off.
fn drain_timeout(ctx: &Ctx, args: &Args) -> Result<Duration, ToolError> {
    let timeout = super::duration::parse(args.timeout.as_deref().unwrap_or("0"))
        .map_err(|e| invalid(format!("timeout {e}")))?;
    let cap = Duration::from_secs(ctx.settings.tool_timeout_seconds.saturating_sub(2).max(1));
    Ok(if timeout.is_zero() {
        cap
    } else {
        timeout.min(cap)
    })
}

/// An evicted pod: where to look for it and the UID that must be gone.
type Evicted = (Api<Pod>, String, Option<String>);

/// Evicts each pod, retrying while a PodDisruptionBudget refuses (429) until
/// `deadline`; a pod already gone is skipped. Each eviction is reported in
/// `out`; the first other failure ends the drain with its reason.
async fn evict_all(
    client: &kube::Client,
    pods: &[Pod],
    grace: Option<u32>,
    deadline: Instant,
    out: &mut Vec<String>,
) -> Result<Vec<Evicted>, String> {
    let ep = EvictParams {
        delete_options: Some(DeleteParams {
            grace_period_seconds: grace,
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut pending = vec![];
    for p in pods {
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let name = p.metadata.name.clone().unwrap_or_default();
        let api = Api::<Pod>::namespaced(client.clone(), &ns);
        loop {
            match api.evict(&name, &ep).await {
                Ok(_) => {
                    out.push(format!("evicting pod {}", pod_ref(p)));
                    pending.push((api.clone(), name.clone(), p.metadata.uid.clone()));
                    break;
                }
                Err(kube::Error::Api(s)) if s.code == 404 => break,
                // A PodDisruptionBudget does not allow it yet: retry until the deadline.
                Err(kube::Error::Api(s)) if s.code == 429 && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    let budget = matches!(&e, kube::Error::Api(s) if s.code == 429);
                    let mut why =
                        format!("error evicting pod {}: {}", pod_ref(p), ToolError::Api(e));
                    if budget {
                        why.push_str(
                            " (still refused when the drain's timeout ran out: wait until more of \
                             the budget's pods are ready, or give a longer timeout)",
                        );
                    }
                    return Err(why);
                }
            }
        }
    }
    Ok(pending)
}

/// Waits until every evicted pod (that UID) is gone, or says which are left at `deadline`.
async fn wait_gone(
    pending: &[Evicted],
    deadline: Instant,
    timeout: Duration,
) -> Result<(), String> {
    loop {
        let mut left = vec![];
        for (api, name, uid) in pending {
            match api.get_opt(name).await {
                Ok(Some(p)) if p.metadata.uid == *uid => left.push(name.clone()),
                Ok(_) => {}
                Err(e) => return Err(format!("error reading pod {name}: {}", ToolError::Api(e))),
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "timed out after {}s waiting for {} pod(s) to terminate: {}",
                timeout.as_secs(),
                left.len(),
                left.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(owner: Option<&str>, empty_dir: bool, phase: &str, mirror: bool) -> Pod {
        let mut p = json!({"metadata": {"name": "p", "namespace": "n"}, "spec": {"containers": []}, "status": {"phase": phase}});
        if let Some(kind) = owner {
            p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": "o", "uid": "u", "controller": true}]);
        }
        if empty_dir {
            p["spec"]["volumes"] = json!([{"name": "scratch", "emptyDir": {}}]);
        }
        if mirror {
            p["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "x"});
        }
        serde_json::from_value(p).unwrap()
    }

    #[test]
    fn drain_filters() {
        let o = |force, local, ignore_ds| DrainOpts {
            force,
            delete_local_data: local,
            ignore_daemonsets: ignore_ds,
        };
        let cases = [
            (
                pod(Some("ReplicaSet"), false, "Running", false),
                o(false, false, true),
                "evict",
            ),
            (
                pod(Some("DaemonSet"), false, "Running", false),
                o(false, false, true),
                "skip",
            ),
            (
                pod(Some("DaemonSet"), false, "Running", false),
                o(false, false, false),
                "block",
            ),
            (
                pod(None, false, "Running", false),
                o(false, false, true),
                "block",
            ),
            (
                pod(None, false, "Running", false),
                o(true, false, true),
                "evict",
            ),
            (
                pod(None, false, "Succeeded", false),
                o(false, false, true),
                "evict",
            ),
            (
                pod(Some("ReplicaSet"), true, "Running", false),
                o(false, false, true),
                "block",
            ),
            (
                pod(Some("ReplicaSet"), true, "Running", false),
                o(false, true, true),
                "evict",
            ),
            (
                pod(None, false, "Running", true),
                o(false, false, true),
                "skip",
            ),
        ];
        for (i, (p, opts, want)) in cases.into_iter().enumerate() {
            let got = match classify(&p, opts) {
                Verdict::Evict => "evict",
                Verdict::Skip(_) => "skip",
                Verdict::Block(_) => "block",
            };
            assert_eq!(got, want, "case {i}");
        }
    }
}
