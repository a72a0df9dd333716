//! The tool catalog: the one place that names every tool, its access class,
//! its MCP annotations, its input schema and the RBAC rules it needs.
//!
//! The server filters and lists tools from it; the operator derives the
//! Roles it grants from it. No tool name is spelled anywhere else.

use rmcp::model::{Tool, ToolAnnotations};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

use crate::tools;

/// How much a tool can change. Matches the seed's filtering sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ToolClass {
    /// Reads only; offered with ALLOW_ONLY_READONLY_TOOLS.
    ReadOnly,
    /// Changes the cluster but does not remove things.
    Write,
    /// Removes or disrupts things; dropped by ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS.
    Destructive,
}

/// Where an RBAC rule applies: in each namespace of the endpoint's scope
/// (a Role) or cluster-wide (a ClusterRole, for cluster-scoped kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RuleScope {
    Namespaced,
    Cluster,
}

/// One RBAC policy rule a tool needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub api_groups: &'static [&'static str],
    pub resources: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub scope: RuleScope,
}

/// The resource every Secret rule names; the operator drops rules on it for
/// endpoints with `secrets: Hidden`.
pub const SECRETS: &str = "secrets";

/// One tool of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub class: ToolClass,
    pub idempotent: bool,
    /// Whether the tool reaches outside the cluster (helm repos, local ports).
    pub open_world: bool,
    pub schema: fn() -> Map<String, Value>,
    pub rules: &'static [Rule],
}

impl ToolSpec {
    pub fn annotations(&self) -> ToolAnnotations {
        let mut a = ToolAnnotations::new()
            .read_only(self.class == ToolClass::ReadOnly)
            .destructive(self.class == ToolClass::Destructive)
            .idempotent(self.idempotent)
            .open_world(self.open_world);
        a.title = Some(self.title.to_string());
        a
    }

    /// The MCP tool definition advertised in tools/list.
    pub fn to_tool(&self) -> Tool {
        Tool::new(self.name, self.description, Arc::new((self.schema)()))
            .with_annotations(self.annotations())
    }
}

/// Finds a tool by exact name.
pub fn find(name: &str) -> Option<&'static ToolSpec> {
    CATALOG.iter().find(|t| t.name == name)
}

/// All tool names, in catalog order.
pub fn names() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|t| t.name)
}

fn schema<T: schemars::JsonSchema>() -> Map<String, Value> {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    let obj = schema
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut obj: Map<String, Value> = obj
        .into_iter()
        .filter(|(k, _)| k != "$schema" && k != "title")
        .collect();
    obj.entry("type")
        .or_insert_with(|| Value::String("object".into()));
    obj
}

fn no_args() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), Value::String("object".into()));
    m.insert("properties".into(), Value::Object(Map::new()));
    m
}

// ---- RBAC building blocks -------------------------------------------------

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch"];
const DELETE: &[&str] = &["delete", "deletecollection"];

/// The namespaced kinds a read tool may show: the `view` ClusterRole's set
/// plus this project's CRD. Secrets are a separate rule so they can be dropped.
const NS_KINDS: &[Rule] = &[
    rule(
        &[""],
        &[
            "pods",
            "pods/log",
            "services",
            "endpoints",
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "serviceaccounts",
            "resourcequotas",
            "limitranges",
        ],
        READ,
    ),
    rule(
        &["apps"],
        &[
            "deployments",
            "replicasets",
            "statefulsets",
            "daemonsets",
            "controllerrevisions",
        ],
        READ,
    ),
    rule(&["batch"], &["jobs", "cronjobs"], READ),
    rule(&["autoscaling"], &["horizontalpodautoscalers"], READ),
    rule(&["policy"], &["poddisruptionbudgets"], READ),
    rule(
        &["networking.k8s.io"],
        &["ingresses", "networkpolicies"],
        READ,
    ),
    rule(&["discovery.k8s.io"], &["endpointslices"], READ),
    rule(&["events.k8s.io"], &["events"], READ),
    rule(&["coordination.k8s.io"], &["leases"], READ),
    rule(&["kubemcp.io"], &["mcpendpoints"], READ),
    rule(&[""], &[SECRETS], READ),
];

const CLUSTER_READ: &[Rule] = &[
    cluster_rule(&[""], &["nodes", "namespaces", "persistentvolumes"], READ),
    cluster_rule(&["storage.k8s.io"], &["storageclasses"], READ),
    cluster_rule(
        &["apiextensions.k8s.io"],
        &["customresourcedefinitions"],
        READ,
    ),
];

const fn rule(
    api_groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
) -> Rule {
    Rule {
        api_groups,
        resources,
        verbs,
        scope: RuleScope::Namespaced,
    }
}

const fn cluster_rule(
    api_groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
) -> Rule {
    Rule {
        api_groups,
        resources,
        verbs,
        scope: RuleScope::Cluster,
    }
}

/// Same kinds as [`NS_KINDS`] with other verbs (log is read-only by nature).
const fn with_verbs<const N: usize>(verbs: &'static [&'static str]) -> [Rule; N] {
    let mut out = [rule(&[], &[], &[]); N];
    let mut i = 0;
    while i < N {
        out[i] = NS_KINDS[i];
        out[i].verbs = verbs;
        i += 1;
    }
    out
}

const NS_N: usize = NS_KINDS.len();
static NS_WRITE: [Rule; NS_N] = with_verbs::<NS_N>(WRITE);
static NS_DELETE: [Rule; NS_N] = with_verbs::<NS_N>(DELETE);

/// Rules for tools that read any namespaced or cluster kind.
const GET_N: usize = NS_N + CLUSTER_READ.len();
static GET_RULES: [Rule; GET_N] = concat_rules::<GET_N>(NS_KINDS, CLUSTER_READ);

const fn concat_rules<const N: usize>(a: &'static [Rule], b: &'static [Rule]) -> [Rule; N] {
    let mut out = [rule(&[], &[], &[]); N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[i + j] = b[j];
        j += 1;
    }
    out
}

const LOG_RULES: &[Rule] = &[
    rule(&[""], &["pods", "pods/log"], &["get", "list"]),
    rule(&["apps"], &["deployments", "replicasets"], &["get", "list"]),
    rule(&["batch"], &["jobs", "cronjobs"], &["get", "list"]),
];

const SCALE_RULES: &[Rule] = &[rule(
    &["apps"],
    &[
        "deployments",
        "deployments/scale",
        "statefulsets",
        "statefulsets/scale",
        "replicasets",
        "replicasets/scale",
    ],
    &["get", "patch", "update"],
)];

const ROLLOUT_RULES: &[Rule] = &[
    rule(
        &["apps"],
        &[
            "deployments",
            "daemonsets",
            "statefulsets",
            "replicasets",
            "controllerrevisions",
        ],
        &["get", "list", "watch", "patch"],
    ),
    rule(&[""], &["pods"], &["get", "list"]),
];

const NODE_RULES: &[Rule] = &[
    cluster_rule(&[""], &["nodes"], &["get", "list", "patch"]),
    cluster_rule(&[""], &["pods"], &["get", "list"]),
    cluster_rule(&[""], &["pods/eviction"], &["create"]),
    cluster_rule(&["apps"], &["daemonsets"], &["get"]),
];

const EXEC_RULES: &[Rule] = &[rule(&[""], &["pods", "pods/exec"], &["get", "create"])];

const PORT_FORWARD_RULES: &[Rule] = &[rule(
    &[""],
    &["pods", "services", "pods/portforward"],
    &["get", "list", "create"],
)];

/// Helm stores releases in Secrets and may create any kind a chart holds;
/// the broad write set is what a Full endpoint with helm tools accepts.
const HELM_RULES: &[Rule] = &[
    rule(
        &[""],
        &[SECRETS],
        &["get", "list", "create", "update", "patch", "delete"],
    ),
    rule(
        &["*"],
        &["*"],
        &[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ],
    ),
];

// ---- the catalog -----------------------------------------------------------

macro_rules! tool {
    ($name:literal, $title:literal, $class:ident, idempotent = $idem:literal, open_world = $ow:literal,
     schema = $schema:expr, rules = $rules:expr, $desc:literal) => {
        ToolSpec {
            name: $name,
            title: $title,
            description: $desc,
            class: ToolClass::$class,
            idempotent: $idem,
            open_world: $ow,
            schema: $schema,
            rules: $rules,
        }
    };
}

pub static CATALOG: &[ToolSpec] = &[
    tool!(
        "kubectl_get",
        "Get resources",
        ReadOnly,
        idempotent = true,
        open_world = false,
        schema = schema::<tools::get::Args>,
        rules = &GET_RULES,
        "Get or list Kubernetes resources by resource type, name, and optionally namespace"
    ),
    tool!(
        "kubectl_describe",
        "Describe a resource",
        ReadOnly,
        idempotent = true,
        open_world = false,
        schema = schema::<tools::describe::Args>,
        rules = &GET_RULES,
        "Describe Kubernetes resources by resource type, name, and optionally namespace"
    ),
    tool!(
        "kubectl_logs",
        "Read logs",
        ReadOnly,
        idempotent = true,
        open_world = false,
        schema = schema::<tools::logs::Args>,
        rules = LOG_RULES,
        "Get logs from Kubernetes resources like pods, deployments, or jobs"
    ),
    tool!(
        "kubectl_context",
        "Kubeconfig contexts",
        ReadOnly,
        idempotent = false,
        open_world = false,
        schema = schema::<tools::context::Args>,
        rules = &[],
        "Manage Kubernetes contexts - list, get, or set the current context"
    ),
    tool!(
        "kubectl_reconnect",
        "Reconnect",
        ReadOnly,
        idempotent = true,
        open_world = false,
        schema = no_args,
        rules = &[],
        "Reconnect to the Kubernetes API server by recreating all API clients. Use this after cluster upgrades (e.g., EKS/GKE control plane upgrades) or credential rotation"
    ),
    tool!(
        "explain_resource",
        "Explain a resource",
        ReadOnly,
        idempotent = true,
        open_world = false,
        schema = schema::<tools::explain::Args>,
        rules = &[],
        "Get documentation for a Kubernetes resource or field"
    ),
    tool!(
        "list_api_resources",
        "List API resources",
        ReadOnly,
        idempotent = true,
        open_world = false,
        schema = schema::<tools::api_resources::Args>,
        rules = &[],
        "List the API resources available in the cluster"
    ),
    tool!(
        "ping",
        "Ping",
        ReadOnly,
        idempotent = true,
        open_world = false,
        schema = no_args,
        rules = &[],
        "Verify that the counterpart is still responsive and the connection is alive."
    ),
    tool!(
        "kubectl_apply",
        "Apply a manifest",
        Write,
        idempotent = true,
        open_world = false,
        schema = schema::<tools::apply::Args>,
        rules = &NS_WRITE,
        "Apply a Kubernetes YAML manifest from a string or file"
    ),
    tool!(
        "kubectl_create",
        "Create resources",
        Write,
        idempotent = false,
        open_world = false,
        schema = schema::<tools::create::Args>,
        rules = &NS_WRITE,
        "Create Kubernetes resources using various methods (from file or using subcommands)"
    ),
    tool!(
        "kubectl_scale",
        "Scale a workload",
        Write,
        idempotent = true,
        open_world = false,
        schema = schema::<tools::scale::Args>,
        rules = SCALE_RULES,
        "Scale a Kubernetes deployment"
    ),
    tool!(
        "kubectl_patch",
        "Patch a resource",
        Write,
        idempotent = false,
        open_world = false,
        schema = schema::<tools::patch::Args>,
        rules = &NS_WRITE,
        "Update field(s) of a resource using strategic merge patch, JSON merge patch, or JSON patch"
    ),
    tool!(
        "kubectl_rollout",
        "Manage rollouts",
        Write,
        idempotent = false,
        open_world = false,
        schema = schema::<tools::rollout::Args>,
        rules = ROLLOUT_RULES,
        "Manage the rollout of a resource (e.g., deployment, daemonset, statefulset)"
    ),
    tool!(
        "kubectl_delete",
        "Delete resources",
        Destructive,
        idempotent = true,
        open_world = false,
        schema = schema::<tools::delete::Args>,
        rules = &NS_DELETE,
        "Delete Kubernetes resources by resource type, name, labels, or from a manifest file"
    ),
    tool!(
        "kubectl_generic",
        "Run a kubectl verb",
        Destructive,
        idempotent = false,
        open_world = false,
        schema = schema::<tools::generic::Args>,
        rules = &NS_DELETE,
        "Execute any kubectl command with the provided arguments and flags"
    ),
    tool!(
        "install_helm_chart",
        "Install a Helm chart",
        Write,
        idempotent = false,
        open_world = true,
        schema = schema::<tools::helm::InstallArgs>,
        rules = HELM_RULES,
        "Install a Helm chart with support for both standard and template-based installation"
    ),
    tool!(
        "uninstall_helm_chart",
        "Uninstall a Helm release",
        Destructive,
        idempotent = true,
        open_world = true,
        schema = schema::<tools::helm::UninstallArgs>,
        rules = HELM_RULES,
        "Uninstall a Helm chart release"
    ),
    tool!(
        "upgrade_helm_chart",
        "Upgrade a Helm release",
        Write,
        idempotent = false,
        open_world = true,
        schema = schema::<tools::helm::UpgradeArgs>,
        rules = HELM_RULES,
        "Upgrade an existing Helm chart release"
    ),
    tool!(
        "node_management",
        "Cordon, drain, uncordon",
        Destructive,
        idempotent = false,
        open_world = false,
        schema = schema::<tools::node::Args>,
        rules = NODE_RULES,
        "Manage Kubernetes nodes with cordon, drain, and uncordon operations"
    ),
    tool!(
        "exec_in_pod",
        "Exec in a pod",
        Write,
        idempotent = false,
        open_world = false,
        schema = schema::<tools::exec::Args>,
        rules = EXEC_RULES,
        "Execute a command in a Kubernetes pod or container and return the output. Command must be an array of strings where the first element is the executable"
    ),
    tool!(
        "port_forward",
        "Forward a port",
        Write,
        idempotent = false,
        open_world = true,
        schema = schema::<tools::port_forward::Args>,
        rules = PORT_FORWARD_RULES,
        "Forward a local port to a port on a Kubernetes resource"
    ),
    tool!(
        "stop_port_forward",
        "Stop a port-forward",
        Write,
        idempotent = true,
        open_world = false,
        schema = schema::<tools::port_forward::StopArgs>,
        rules = &[],
        "Stop a port-forward process"
    ),
    tool!(
        "cleanup",
        "Clean up",
        Destructive,
        idempotent = true,
        open_world = false,
        schema = no_args,
        rules = &[],
        "Cleans up resources created by the server itself (port-forwards and the like)"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn holds_the_23_seed_tools_once_each() {
        let names: BTreeSet<_> = names().collect();
        assert_eq!(CATALOG.len(), 23);
        assert_eq!(names.len(), 23, "a tool name is listed twice");
    }

    #[test]
    fn classes_match_the_seed_sets() {
        let of = |c| {
            CATALOG
                .iter()
                .filter(|t| t.class == c)
                .map(|t| t.name)
                .collect::<BTreeSet<_>>()
        };
        let ro: BTreeSet<_> = [
            "kubectl_get",
            "kubectl_describe",
            "kubectl_logs",
            "kubectl_context",
            "kubectl_reconnect",
            "explain_resource",
            "list_api_resources",
            "ping",
        ]
        .into();
        let destructive: BTreeSet<_> = [
            "kubectl_delete",
            "uninstall_helm_chart",
            "cleanup",
            "kubectl_generic",
            "node_management",
        ]
        .into();
        assert_eq!(of(ToolClass::ReadOnly), ro);
        assert_eq!(of(ToolClass::Destructive), destructive);
    }

    #[test]
    fn read_only_tools_need_no_write_verb() {
        for t in CATALOG.iter().filter(|t| t.class == ToolClass::ReadOnly) {
            for r in t.rules {
                for v in r.verbs {
                    assert!(
                        ["get", "list", "watch"].contains(v),
                        "{} asks for {v}",
                        t.name
                    );
                }
            }
        }
    }

    #[test]
    fn every_schema_is_an_object_with_seed_arguments() {
        for t in CATALOG {
            let s = (t.schema)();
            assert_eq!(
                s.get("type"),
                Some(&Value::String("object".into())),
                "{}",
                t.name
            );
        }
        let get = (find("kubectl_get").unwrap().schema)();
        let props = get["properties"].as_object().unwrap();
        for arg in [
            "resourceType",
            "name",
            "namespace",
            "output",
            "allNamespaces",
            "labelSelector",
            "fieldSelector",
            "sortBy",
            "context",
        ] {
            assert!(props.contains_key(arg), "kubectl_get lacks {arg}");
        }
        assert_eq!(get["required"], serde_json::json!(["resourceType"]));
    }

    #[test]
    fn annotations_follow_the_class() {
        let del = find("kubectl_delete").unwrap().annotations();
        assert_eq!(del.destructive_hint, Some(true));
        assert_eq!(del.read_only_hint, Some(false));
        let get = find("kubectl_get").unwrap().annotations();
        assert_eq!(get.read_only_hint, Some(true));
        assert_eq!(get.destructive_hint, Some(false));
    }
}
