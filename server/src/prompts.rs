//! MCP prompts: k8s-diagnose.

use kube_mcp_catalog::ToolId;
use rmcp::model::{Prompt, PromptArgument, PromptMessage, Role};
use serde_json::{Map, Value};

pub const DIAGNOSE: &str = "k8s-diagnose";

/// The tools the diagnosis calls: the prompt is offered only where all are.
pub const NEEDS: &[ToolId] = &[
    ToolId::KubectlGet,
    ToolId::KubectlDescribe,
    ToolId::KubectlLogs,
];

pub fn list() -> Vec<Prompt> {
    vec![Prompt::new(
        DIAGNOSE,
        Some("Diagnose Kubernetes pods and nodes whose names match a keyword"),
        Some(vec![
            PromptArgument::new("keyword")
                .with_description("Keyword to match pod or node names")
                .with_required(true),
            PromptArgument::new("namespace")
                .with_description("Namespace to look in (default: all in scope)")
                .with_required(false),
        ]),
    )]
}

/// The messages of prompt `name`, or why it cannot be built.
pub fn get(name: &str, args: &Map<String, Value>) -> Result<Vec<PromptMessage>, String> {
    if name != DIAGNOSE {
        return Err(format!(
            "unknown prompt {name:?}; this server offers {DIAGNOSE}"
        ));
    }
    let keyword = args
        .get("keyword")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or("k8s-diagnose needs the argument keyword")?;
    let namespace = args
        .get("namespace")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty());
    Ok(vec![PromptMessage::new_text(
        Role::User,
        diagnose_text(keyword, namespace),
    )])
}

/// The guided diagnosis: which tools to call, with which arguments, in
/// which order, and what to look for.
pub fn diagnose_text(keyword: &str, namespace: Option<&str>) -> String {
    let (where_, list_args, ns_arg) = match namespace {
        Some(ns) => (
            format!("in namespace \"{ns}\""),
            format!("resourceType: \"pods\", namespace: \"{ns}\", output: \"wide\""),
            format!("namespace: \"{ns}\""),
        ),
        None => (
            "in every namespace this server may see".to_string(),
            "resourceType: \"pods\", allNamespaces: true, output: \"wide\"".to_string(),
            "namespace: <the pod's namespace>".to_string(),
        ),
    };
    let (get, describe, logs) = (
        ToolId::KubectlGet.name(),
        ToolId::KubectlDescribe.name(),
        ToolId::KubectlLogs.name(),
    );
    format!(
        r#"Diagnose Kubernetes pods and nodes whose names contain "{keyword}" {where_}.
Use only the tools named below, read-only, and report what you find before suggesting any change.

Step 1 - Find the pods.
  Call {get} with {list_args}.
  Keep the rows whose NAME contains "{keyword}" (case-insensitive). Note STATUS, READY,
  RESTARTS, AGE and NODE for each. If none match, say so, also check
  {get} with resourceType: "nodes", output: "wide" (step 5), and stop there.

Step 2 - Inspect each matching pod that is not Running and Ready, or that restarts.
  Call {describe} with resourceType: "pod", name: <pod>, {ns_arg}.
  Read the container states (Waiting/Terminated reasons such as CrashLoopBackOff,
  ImagePullBackOff, ErrImagePull, OOMKilled, CreateContainerConfigError), the
  conditions (PodScheduled, Initialized, ContainersReady, Ready), resource requests and
  limits, probes, volumes, and the Events at the end (FailedScheduling, FailedMount,
  Unhealthy, BackOff, Killing).

Step 3 - Read the logs.
  Call {logs} with resourceType: "pod", name: <pod>, {ns_arg}, tail: 100
  (add container: <name> for a multi-container pod).
  For a container that restarted, also call it with previous: true to see why the
  last instance died. Look for stack traces, "error", "fatal", failed connections,
  missing configuration or permissions.

Step 4 - Look at what owns the pod and the recent events around it.
  In {describe}, "Controlled By" names the owner (ReplicaSet, StatefulSet, Job,
  DaemonSet); describe it and, for a ReplicaSet, its Deployment ({describe}
  resourceType: "deployment") to compare desired and ready replicas and the rollout.
  Call {get} with resourceType: "events", {ns_arg},
  fieldSelector: "involvedObject.name=<pod>" for the pod's events in time order.

Step 5 - Check the nodes.
  Call {get} with resourceType: "nodes", output: "wide", and keep the nodes whose
  name contains "{keyword}" plus the nodes the pods above run on.
  For each, call {describe} with resourceType: "node", name: <node>: check the
  conditions (Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable),
  taints, cordoning (Unschedulable), capacity against allocated requests, and events.
  (A server limited to some namespaces cannot read nodes; then say so and skip this.)

Step 6 - Report.
  For each pod and node: its state, the root cause you found with the evidence (event,
  log line or field), and a concrete fix (for example: correct the image tag, raise the
  memory limit, fix the ConfigMap or Secret it references, uncordon the node). Say what
  you could not check and why."#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(args: Value) -> Result<String, String> {
        let args = args.as_object().cloned().unwrap_or_default();
        get(DIAGNOSE, &args).map(|m| serde_json::to_string(&m).unwrap())
    }

    #[test]
    fn names_the_tools_and_the_keyword() {
        let t = diagnose_text("web", Some("shop"));
        for want in [
            "\"web\"",
            "namespace: \"shop\"",
            "kubectl_get",
            "kubectl_describe",
            "kubectl_logs",
            "previous: true",
            "resourceType: \"nodes\"",
        ] {
            assert!(t.contains(want), "{want}");
        }
        assert!(!t.contains("allNamespaces"));
        assert!(diagnose_text("web", None).contains("allNamespaces: true"));
    }

    #[test]
    fn arguments_are_checked() {
        assert!(text(json!({"keyword": "api"})).unwrap().contains("api"));
        assert!(text(json!({})).unwrap_err().contains("keyword"));
        assert!(text(json!({"keyword": "  "})).is_err());
        assert!(
            get("other", &Map::new())
                .unwrap_err()
                .contains("k8s-diagnose")
        );
    }
}
