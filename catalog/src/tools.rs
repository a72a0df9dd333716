//! The tool catalog: the one place that names every tool, its access class,
//! what it needs to be offered, the tools it delegates to, and the RBAC rules
//! it needs.
//!
//! The server dispatches, filters and lists tools from it (its input schema
//! and handler hang off [`ToolId`] in the server); the operator derives the
//! Roles it grants from it. No tool name is spelled anywhere else: code
//! refers to a tool by its [`ToolId`].

use serde::Serialize;

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

impl ToolClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolClass::ReadOnly => "ReadOnly",
            ToolClass::Write => "Write",
            ToolClass::Destructive => "Destructive",
        }
    }
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

/// Every tool, by identity. The server's dispatch is an exhaustive match on
/// it, so a tool added here cannot be forgotten there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ToolId {
    KubectlGet,
    KubectlDescribe,
    KubectlLogs,
    KubectlContext,
    KubectlReconnect,
    ExplainResource,
    ListApiResources,
    Ping,
    KubectlApply,
    KubectlCreate,
    KubectlScale,
    KubectlPatch,
    KubectlRollout,
    KubectlDelete,
    KubectlGeneric,
    InstallHelmChart,
    UninstallHelmChart,
    UpgradeHelmChart,
    NodeManagement,
    ExecInPod,
    PortForward,
    StopPortForward,
    Cleanup,
}

impl ToolId {
    /// The catalog entry of this tool.
    pub fn spec(self) -> &'static ToolSpec {
        // Every id has exactly one entry (checked by a test).
        CATALOG.iter().find(|t| t.id == self).unwrap_or(&CATALOG[0])
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }
}

impl std::fmt::Display for ToolId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A condition under which a tool is offered at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Needs {
    /// Nothing beyond its class.
    Nothing,
    /// A cluster-wide scope (`*`): every rule it needs is cluster-scoped.
    ClusterScope,
    /// Secrets shown as stored: a Helm chart can read any Secret the server
    /// can (`lookup`) and print it, so masking cannot hold for it.
    VisibleSecrets,
}

/// One tool of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    pub id: ToolId,
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub class: ToolClass,
    pub idempotent: bool,
    /// Whether the tool reaches outside the cluster (helm repos, local ports).
    pub open_world: bool,
    pub needs: Needs,
    /// Tools whose work this one does on their behalf (kubectl_generic):
    /// each delegated call passes the filter as that tool, and brings that
    /// tool's RBAC rules, so this tool has none of its own.
    pub delegates: &'static [ToolId],
    pub rules: &'static [Rule],
}

impl ToolSpec {
    /// Whether the tool's Kubernetes requests leave the process other than
    /// through the server's checked client: the Helm tools hand the server's
    /// credentials to a `helm` process.
    pub fn bypasses_gate(&self) -> bool {
        matches!(
            self.id,
            ToolId::InstallHelmChart | ToolId::UninstallHelmChart | ToolId::UpgradeHelmChart
        )
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

/// The namespaced kinds a write tool may create, change or delete: the
/// `edit` ClusterRole's set. Left out on purpose: `pods/log` (read-only by
/// nature), `endpoints` and `endpointslices` (writing them redirects a
/// Service's traffic), `events`, `leases` and `controllerrevisions` (written
/// by controllers, not users), `resourcequotas` and `limitranges` (the
/// namespace's limits are the platform's), and `mcpendpoints` (an endpoint
/// that creates endpoints would grant itself more through the operator).
const WRITE_KINDS: &[Rule] = &[
    rule(
        &[""],
        &[
            "pods",
            "services",
            "configmaps",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "serviceaccounts",
        ],
        &[],
    ),
    rule(
        &["apps"],
        &["deployments", "replicasets", "statefulsets", "daemonsets"],
        &[],
    ),
    rule(&["batch"], &["jobs", "cronjobs"], &[]),
    rule(&["autoscaling"], &["horizontalpodautoscalers"], &[]),
    rule(&["policy"], &["poddisruptionbudgets"], &[]),
    rule(
        &["networking.k8s.io"],
        &["ingresses", "networkpolicies"],
        &[],
    ),
    rule(&[""], &[SECRETS], &[]),
];

/// [`WRITE_KINDS`] with `verbs`.
const fn with_verbs<const N: usize>(verbs: &'static [&'static str]) -> [Rule; N] {
    let mut out = [rule(&[], &[], &[]); N];
    let mut i = 0;
    while i < N {
        out[i] = WRITE_KINDS[i];
        out[i].verbs = verbs;
        i += 1;
    }
    out
}

const WRITE_N: usize = WRITE_KINDS.len();
static NS_WRITE: [Rule; WRITE_N] = with_verbs::<WRITE_N>(WRITE);
static NS_DELETE: [Rule; WRITE_N] = with_verbs::<WRITE_N>(DELETE);

const NS_N: usize = NS_KINDS.len();
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

/// The scale subresource is patched; the workload itself is only read.
const SCALE_RULES: &[Rule] = &[
    rule(
        &["apps"],
        &["deployments", "statefulsets", "replicasets"],
        &["get"],
    ),
    rule(
        &["apps"],
        &[
            "deployments/scale",
            "statefulsets/scale",
            "replicasets/scale",
        ],
        &["get", "patch"],
    ),
];

/// Rollouts patch the workload; revisions (ReplicaSets, ControllerRevisions)
/// and pods are only read.
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
        READ,
    ),
    rule(
        &["apps"],
        &["deployments", "daemonsets", "statefulsets"],
        &["patch"],
    ),
    rule(&[""], &["pods"], &["get", "list"]),
];

const NODE_RULES: &[Rule] = &[
    cluster_rule(&[""], &["nodes"], &["get", "list", "patch"]),
    cluster_rule(&[""], &["pods"], &["get", "list"]),
    cluster_rule(&[""], &["pods/eviction"], &["create"]),
    cluster_rule(&["apps"], &["daemonsets"], &["get"]),
];

/// Exec opens `pods/exec` (POST, or a websocket GET authorized as `create`).
const EXEC_RULES: &[Rule] = &[
    rule(&[""], &["pods"], &["get"]),
    rule(&[""], &["pods/exec"], &["get", "create"]),
];

/// Port-forward finds the pod (directly or through a Service) and opens `pods/portforward`.
const PORT_FORWARD_RULES: &[Rule] = &[
    rule(&[""], &["pods", "services"], &["get", "list"]),
    rule(&[""], &["pods/portforward"], &["get", "create"]),
];

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
    ($id:ident, $name:literal, $title:literal, $class:ident, idempotent = $idem:literal, open_world = $ow:literal,
     rules = $rules:expr, $desc:literal) => {
        tool!($id, $name, $title, $class, idempotent = $idem, open_world = $ow, needs = Nothing, delegates = [], rules = $rules, $desc)
    };
    ($id:ident, $name:literal, $title:literal, $class:ident, idempotent = $idem:literal, open_world = $ow:literal,
     needs = $needs:ident, delegates = [$($d:ident),*], rules = $rules:expr, $desc:literal) => {
        ToolSpec {
            id: ToolId::$id,
            name: $name,
            title: $title,
            description: $desc,
            class: ToolClass::$class,
            idempotent: $idem,
            open_world: $ow,
            needs: Needs::$needs,
            delegates: &[$(ToolId::$d),*],
            rules: $rules,
        }
    };
}

pub static CATALOG: &[ToolSpec] = &[
    tool!(
        KubectlGet,
        "kubectl_get",
        "Get resources",
        ReadOnly,
        idempotent = true,
        open_world = false,
        rules = &GET_RULES,
        "Get or list Kubernetes resources by resource type, name, and optionally namespace"
    ),
    tool!(
        KubectlDescribe,
        "kubectl_describe",
        "Describe a resource",
        ReadOnly,
        idempotent = true,
        open_world = false,
        rules = &GET_RULES,
        "Describe Kubernetes resources by resource type, name, and optionally namespace"
    ),
    tool!(
        KubectlLogs,
        "kubectl_logs",
        "Read logs",
        ReadOnly,
        idempotent = true,
        open_world = false,
        rules = LOG_RULES,
        "Get logs from Kubernetes resources like pods, deployments, or jobs"
    ),
    tool!(
        KubectlContext,
        "kubectl_context",
        "Kubeconfig contexts",
        ReadOnly,
        idempotent = false,
        open_world = false,
        rules = &[],
        "Manage Kubernetes contexts - list, get, or set the current context"
    ),
    tool!(
        KubectlReconnect,
        "kubectl_reconnect",
        "Reconnect",
        ReadOnly,
        idempotent = true,
        open_world = false,
        rules = &[],
        "Reconnect to the Kubernetes API server by recreating all API clients. Use this after cluster upgrades (e.g., EKS/GKE control plane upgrades) or credential rotation"
    ),
    tool!(
        ExplainResource,
        "explain_resource",
        "Explain a resource",
        ReadOnly,
        idempotent = true,
        open_world = false,
        rules = &[],
        "Get documentation for a Kubernetes resource or field"
    ),
    tool!(
        ListApiResources,
        "list_api_resources",
        "List API resources",
        ReadOnly,
        idempotent = true,
        open_world = false,
        rules = &[],
        "List the API resources available in the cluster"
    ),
    tool!(
        Ping,
        "ping",
        "Ping",
        ReadOnly,
        idempotent = true,
        open_world = false,
        rules = &[],
        "Verify that the counterpart is still responsive and the connection is alive."
    ),
    tool!(
        KubectlApply,
        "kubectl_apply",
        "Apply a manifest",
        Write,
        idempotent = true,
        open_world = false,
        rules = &NS_WRITE,
        "Apply a Kubernetes YAML manifest from a string or file"
    ),
    tool!(
        KubectlCreate,
        "kubectl_create",
        "Create resources",
        Write,
        idempotent = false,
        open_world = false,
        rules = &NS_WRITE,
        "Create Kubernetes resources using various methods (from file or using subcommands)"
    ),
    tool!(
        KubectlScale,
        "kubectl_scale",
        "Scale a workload",
        Write,
        idempotent = true,
        open_world = false,
        rules = SCALE_RULES,
        "Scale a Kubernetes deployment"
    ),
    tool!(
        KubectlPatch,
        "kubectl_patch",
        "Patch a resource",
        Write,
        idempotent = false,
        open_world = false,
        rules = &NS_WRITE,
        "Update field(s) of a resource using strategic merge patch, JSON merge patch, or JSON patch"
    ),
    tool!(
        KubectlRollout,
        "kubectl_rollout",
        "Manage rollouts",
        Write,
        idempotent = false,
        open_world = false,
        rules = ROLLOUT_RULES,
        "Manage the rollout of a resource (e.g., deployment, daemonset, statefulset)"
    ),
    tool!(
        KubectlDelete,
        "kubectl_delete",
        "Delete resources",
        Destructive,
        idempotent = true,
        open_world = false,
        rules = &NS_DELETE,
        "Delete Kubernetes resources by resource type, name, labels, or from a manifest file"
    ),
    tool!(
        KubectlGeneric,
        "kubectl_generic",
        "Run a kubectl verb",
        Destructive,
        idempotent = false,
        open_world = false,
        needs = Nothing,
        delegates = [
            KubectlGet,
            KubectlDescribe,
            KubectlDelete,
            KubectlPatch,
            KubectlScale,
            KubectlRollout,
            NodeManagement,
            KubectlApply,
            KubectlCreate,
            KubectlLogs,
            ExplainResource,
            ListApiResources
        ],
        rules = &[],
        "Execute any kubectl command with the provided arguments and flags"
    ),
    tool!(
        InstallHelmChart,
        "install_helm_chart",
        "Install a Helm chart",
        Write,
        idempotent = false,
        open_world = true,
        needs = VisibleSecrets,
        delegates = [],
        rules = HELM_RULES,
        "Install a Helm chart with support for both standard and template-based installation"
    ),
    tool!(
        UninstallHelmChart,
        "uninstall_helm_chart",
        "Uninstall a Helm release",
        Destructive,
        idempotent = true,
        open_world = true,
        needs = VisibleSecrets,
        delegates = [],
        rules = HELM_RULES,
        "Uninstall a Helm chart release"
    ),
    tool!(
        UpgradeHelmChart,
        "upgrade_helm_chart",
        "Upgrade a Helm release",
        Write,
        idempotent = false,
        open_world = true,
        needs = VisibleSecrets,
        delegates = [],
        rules = HELM_RULES,
        "Upgrade an existing Helm chart release"
    ),
    tool!(
        NodeManagement,
        "node_management",
        "Cordon, drain, uncordon",
        Destructive,
        idempotent = false,
        open_world = false,
        needs = ClusterScope,
        delegates = [],
        rules = NODE_RULES,
        "Manage Kubernetes nodes with cordon, drain, and uncordon operations"
    ),
    tool!(
        ExecInPod,
        "exec_in_pod",
        "Exec in a pod",
        Write,
        idempotent = false,
        open_world = false,
        rules = EXEC_RULES,
        "Execute a command in a Kubernetes pod or container and return the output. Command must be an array of strings where the first element is the executable"
    ),
    tool!(
        PortForward,
        "port_forward",
        "Forward a port",
        Write,
        idempotent = false,
        open_world = true,
        rules = PORT_FORWARD_RULES,
        "Forward a local port to a port on a Kubernetes resource"
    ),
    tool!(
        StopPortForward,
        "stop_port_forward",
        "Stop a port-forward",
        Write,
        idempotent = true,
        open_world = false,
        rules = &[],
        "Stop a port-forward process"
    ),
    tool!(
        Cleanup,
        "cleanup",
        "Clean up",
        Destructive,
        idempotent = true,
        open_world = false,
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
    fn named_write_rules_never_reach_what_grants_more_or_redirects_traffic() {
        // Helm's wildcard is the one exception, offered only with Secrets visible.
        let never = [
            "mcpendpoints",
            "endpoints",
            "endpointslices",
            "resourcequotas",
            "limitranges",
            "roles",
            "rolebindings",
            "leases",
            "pods/log",
        ];
        for t in CATALOG.iter().filter(|t| t.needs != Needs::VisibleSecrets) {
            for r in t.rules {
                let writes = r
                    .verbs
                    .iter()
                    .any(|v| !["get", "list", "watch"].contains(v));
                for res in r.resources.iter().filter(|_| writes) {
                    assert!(
                        !never.contains(res) && *res != "*",
                        "{} may write {res}",
                        t.name
                    );
                }
            }
        }
    }

    #[test]
    fn every_id_has_exactly_one_entry() {
        let ids: BTreeSet<_> = CATALOG.iter().map(|t| t.id).collect();
        assert_eq!(ids.len(), CATALOG.len());
        for t in CATALOG {
            assert_eq!(t.id.spec().name, t.name);
            assert_eq!(find(t.name).map(|s| s.id), Some(t.id));
        }
    }

    #[test]
    fn delegation_is_one_level_and_brings_no_rules_of_its_own() {
        for t in CATALOG.iter().filter(|t| !t.delegates.is_empty()) {
            assert!(
                t.rules.is_empty(),
                "{}: its delegates bring the rules",
                t.name
            );
            for d in t.delegates {
                assert!(d.spec().delegates.is_empty(), "{} -> {}", t.name, d.name());
                assert!(
                    d.spec().class <= t.class,
                    "{} delegates above its class",
                    t.name
                );
            }
        }
    }

    #[test]
    fn needs_are_where_the_rules_say() {
        for t in CATALOG {
            let all_cluster =
                !t.rules.is_empty() && t.rules.iter().all(|r| r.scope == RuleScope::Cluster);
            assert_eq!(all_cluster, t.needs == Needs::ClusterScope, "{}", t.name);
        }
        assert_eq!(ToolId::InstallHelmChart.spec().needs, Needs::VisibleSecrets);
    }
}
