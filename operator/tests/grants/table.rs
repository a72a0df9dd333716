//! What each endpoint setting grants its ServiceAccount, written down by hand
//! (independently of the operator's RBAC builder and the catalog's rules):
//! the grants test compares it with the API server's SubjectAccessReview
//! answers, and docs/grants.md is rendered from it.

use kube_mcp_operator::crd::{Access, SecretsPolicy};

/// An endpoint's `spec.namespaces`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Absent: the endpoint's own namespace.
    Own,
    /// A list (from an admin namespace): the own namespace and one more.
    List,
    /// `["*"]` (from an admin namespace).
    All,
}

pub const ACCESS: [Access; 3] = [Access::ReadOnly, Access::NonDestructive, Access::Full];
pub const SECRETS: [SecretsPolicy; 3] = [
    SecretsPolicy::Hidden,
    SecretsPolicy::Masked,
    SecretsPolicy::Visible,
];
pub const SCOPES: [Scope; 3] = [Scope::Own, Scope::List, Scope::All];

/// Where a request goes, seen from the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// The endpoint's own namespace.
    Home,
    /// Another namespace; in scope for `List` and `All`.
    Listed,
    /// A namespace no list names; in scope only for `All`.
    Unlisted,
    /// Cluster-wide: a namespaced kind across all namespaces, or a cluster-scoped kind.
    Cluster,
}

pub const PLACES: [Place; 4] = [Place::Home, Place::Listed, Place::Unlisted, Place::Cluster];

/// Whether a namespaced-kind grant of `scope` reaches `place`.
pub fn reaches(scope: Scope, place: Place) -> bool {
    match scope {
        Scope::Own => place == Place::Home,
        Scope::List => matches!(place, Place::Home | Place::Listed),
        Scope::All => true,
    }
}

pub const VERBS: [&str; 8] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch"];
const DELETE: &[&str] = &["delete", "deletecollection"];

/// A resource probed: (API group, resource or resource/subresource, namespaced?).
pub type Resource = (&'static str, &'static str, bool);

/// Every resource the test asks about: what the tools use plus what an
/// endpoint must never get.
pub const RESOURCES: &[Resource] = &[
    ("", "pods", true),
    ("", "pods/log", true),
    ("", "pods/exec", true),
    ("", "pods/portforward", true),
    ("", "pods/eviction", true),
    ("", "pods/attach", true),
    ("", "services", true),
    ("", "services/proxy", true),
    ("", "endpoints", true),
    ("", "configmaps", true),
    ("", "secrets", true),
    ("", "serviceaccounts", true),
    ("", "serviceaccounts/token", true),
    ("", "persistentvolumeclaims", true),
    ("", "events", true),
    ("", "replicationcontrollers", true),
    ("", "resourcequotas", true),
    ("", "limitranges", true),
    ("apps", "deployments", true),
    ("apps", "deployments/scale", true),
    ("apps", "replicasets", true),
    ("apps", "replicasets/scale", true),
    ("apps", "statefulsets", true),
    ("apps", "statefulsets/scale", true),
    ("apps", "daemonsets", true),
    ("apps", "controllerrevisions", true),
    ("batch", "jobs", true),
    ("batch", "cronjobs", true),
    ("autoscaling", "horizontalpodautoscalers", true),
    ("policy", "poddisruptionbudgets", true),
    ("networking.k8s.io", "ingresses", true),
    ("networking.k8s.io", "networkpolicies", true),
    ("discovery.k8s.io", "endpointslices", true),
    ("events.k8s.io", "events", true),
    ("coordination.k8s.io", "leases", true),
    ("rbac.authorization.k8s.io", "roles", true),
    ("rbac.authorization.k8s.io", "rolebindings", true),
    ("kubemcp.io", "mcpendpoints", true),
    ("kubemcp.io", "mcpendpoints/status", true),
    ("", "nodes", false),
    ("", "namespaces", false),
    ("", "persistentvolumes", false),
    ("storage.k8s.io", "storageclasses", false),
    ("apiextensions.k8s.io", "customresourcedefinitions", false),
    ("rbac.authorization.k8s.io", "clusterroles", false),
    ("rbac.authorization.k8s.io", "clusterrolebindings", false),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        false,
    ),
    ("certificates.k8s.io", "certificatesigningrequests", false),
    ("authentication.k8s.io", "tokenreviews", false),
    ("authorization.k8s.io", "subjectaccessreviews", false),
];

/// What `spec.auth` grants besides the tools' rules, whatever the access,
/// secrets and scope: (the setting, API group, resource, verbs). The matrix
/// above keeps the default auth ([Token], Endpoint) and gets none of it.
pub const IDENTITY: &[(&str, &str, &str, &[&str])] = &[
    (
        "`modes` includes `Kubernetes`",
        "authentication.k8s.io",
        "tokenreviews",
        &["create"],
    ),
    (
        "`authorize: Caller`",
        "authorization.k8s.io",
        "subjectaccessreviews",
        &["create"],
    ),
];

/// Whether an endpoint with these auth settings may `verb` the review `resource` (cluster-wide).
pub fn identity_allowed(kubernetes: bool, caller: bool, verb: &str, resource: &str) -> bool {
    IDENTITY
        .iter()
        .zip([kubernetes, caller])
        .any(|((_, _, r, verbs), on)| on && *r == resource && verbs.contains(&verb))
}

/// Verbs beyond the eight above that would let an endpoint grant itself
/// more; asked on these resources only, and never granted.
pub const SPECIAL: &[(&str, &str, &str, bool)] = &[
    ("escalate", "rbac.authorization.k8s.io", "roles", true),
    ("bind", "rbac.authorization.k8s.io", "roles", true),
    (
        "escalate",
        "rbac.authorization.k8s.io",
        "clusterroles",
        false,
    ),
    ("bind", "rbac.authorization.k8s.io", "clusterroles", false),
    ("impersonate", "", "serviceaccounts", true),
    ("impersonate", "", "users", false),
    ("impersonate", "", "groups", false),
];

/// Which endpoints a row applies to.
#[derive(Debug, Clone, Copy)]
pub struct When {
    pub access: Access,
    /// The secrets modes the row needs (the tools are offered, the rule kept).
    pub secrets: &'static [SecretsPolicy],
    /// Only with `namespaces: ["*"]`.
    pub cluster_wide: bool,
}

const ANY: &[SecretsPolicy] = &[
    SecretsPolicy::Hidden,
    SecretsPolicy::Masked,
    SecretsPolicy::Visible,
];
const SHOWN: &[SecretsPolicy] = &[SecretsPolicy::Masked, SecretsPolicy::Visible];
const VISIBLE: &[SecretsPolicy] = &[SecretsPolicy::Visible];

const fn at_least(access: Access, secrets: &'static [SecretsPolicy]) -> When {
    When {
        access,
        secrets,
        cluster_wide: false,
    }
}

const fn everywhere(access: Access) -> When {
    When {
        access,
        secrets: ANY,
        cluster_wide: true,
    }
}

/// One line of the table: `verbs` on `resources` of `group` ("*": any).
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub when: When,
    pub group: &'static str,
    pub resources: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Rows on cluster-scoped kinds apply cluster-wide only; the others in
    /// every namespace of the scope (and cluster-wide for `*`).
    pub cluster_kinds: bool,
    /// The tools the row is for (the documentation).
    pub why: &'static str,
}

const fn row(
    when: When,
    group: &'static str,
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
    why: &'static str,
) -> Row {
    Row {
        when,
        group,
        resources,
        verbs,
        cluster_kinds: false,
        why,
    }
}

/// A row on cluster-scoped kinds.
const fn cluster(
    when: When,
    group: &'static str,
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
    why: &'static str,
) -> Row {
    Row {
        cluster_kinds: true,
        ..row(when, group, resources, verbs, why)
    }
}

const CORE_READ: &[&str] = &[
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
];
const APPS_READ: &[&str] = &[
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "controllerrevisions",
];
const CORE_WRITE: &[&str] = &[
    "pods",
    "services",
    "configmaps",
    "persistentvolumeclaims",
    "replicationcontrollers",
    "serviceaccounts",
];
const APPS_WRITE: &[&str] = &["deployments", "replicasets", "statefulsets", "daemonsets"];

const READS: &str = "kubectl_get, kubectl_describe, kubectl_logs";
const WRITES: &str =
    "kubectl_apply, kubectl_create, kubectl_patch (kubectl_rollout patches workloads)";
const DELETES: &str = "kubectl_delete";
const HELM: &str = "install_helm_chart, upgrade_helm_chart (Helm charts may hold any kind)";

use Access::{Full, NonDestructive, ReadOnly};

pub const ROWS: &[Row] = &[
    row(at_least(ReadOnly, ANY), "", CORE_READ, READ, READS),
    row(at_least(ReadOnly, ANY), "apps", APPS_READ, READ, READS),
    row(
        at_least(ReadOnly, ANY),
        "batch",
        &["jobs", "cronjobs"],
        READ,
        READS,
    ),
    row(
        at_least(ReadOnly, ANY),
        "autoscaling",
        &["horizontalpodautoscalers"],
        READ,
        READS,
    ),
    row(
        at_least(ReadOnly, ANY),
        "policy",
        &["poddisruptionbudgets"],
        READ,
        READS,
    ),
    row(
        at_least(ReadOnly, ANY),
        "networking.k8s.io",
        &["ingresses", "networkpolicies"],
        READ,
        READS,
    ),
    row(
        at_least(ReadOnly, ANY),
        "discovery.k8s.io",
        &["endpointslices"],
        READ,
        READS,
    ),
    row(
        at_least(ReadOnly, ANY),
        "events.k8s.io",
        &["events"],
        READ,
        READS,
    ),
    row(
        at_least(ReadOnly, ANY),
        "coordination.k8s.io",
        &["leases"],
        READ,
        READS,
    ),
    row(
        at_least(ReadOnly, ANY),
        "kubemcp.io",
        &["mcpendpoints"],
        READ,
        READS,
    ),
    row(
        at_least(ReadOnly, SHOWN),
        "",
        &["secrets"],
        READ,
        "kubectl_get, kubectl_describe (values masked unless Visible)",
    ),
    cluster(
        everywhere(ReadOnly),
        "",
        &["nodes", "namespaces", "persistentvolumes"],
        READ,
        "kubectl_get, kubectl_describe (with --allow-cluster-reads, the default)",
    ),
    cluster(
        everywhere(ReadOnly),
        "storage.k8s.io",
        &["storageclasses"],
        READ,
        "kubectl_get, kubectl_describe (with --allow-cluster-reads)",
    ),
    cluster(
        everywhere(ReadOnly),
        "apiextensions.k8s.io",
        &["customresourcedefinitions"],
        READ,
        "kubectl_get, kubectl_describe (with --allow-cluster-reads)",
    ),
    row(at_least(NonDestructive, ANY), "", CORE_WRITE, WRITE, WRITES),
    row(
        at_least(NonDestructive, ANY),
        "apps",
        APPS_WRITE,
        WRITE,
        WRITES,
    ),
    row(
        at_least(NonDestructive, ANY),
        "batch",
        &["jobs", "cronjobs"],
        WRITE,
        WRITES,
    ),
    row(
        at_least(NonDestructive, ANY),
        "autoscaling",
        &["horizontalpodautoscalers"],
        WRITE,
        WRITES,
    ),
    row(
        at_least(NonDestructive, ANY),
        "policy",
        &["poddisruptionbudgets"],
        WRITE,
        WRITES,
    ),
    row(
        at_least(NonDestructive, ANY),
        "networking.k8s.io",
        &["ingresses", "networkpolicies"],
        WRITE,
        WRITES,
    ),
    row(
        at_least(NonDestructive, SHOWN),
        "",
        &["secrets"],
        WRITE,
        WRITES,
    ),
    row(
        at_least(NonDestructive, ANY),
        "apps",
        &[
            "deployments/scale",
            "replicasets/scale",
            "statefulsets/scale",
        ],
        &["get", "patch"],
        "kubectl_scale",
    ),
    row(
        at_least(NonDestructive, ANY),
        "",
        &["pods/exec"],
        &["get", "create"],
        "exec_in_pod",
    ),
    row(
        at_least(NonDestructive, ANY),
        "",
        &["pods/portforward"],
        &["get", "create"],
        "port_forward",
    ),
    row(
        at_least(NonDestructive, VISIBLE),
        "*",
        &["*"],
        &["get", "list", "watch", "create", "update", "patch"],
        HELM,
    ),
    row(at_least(Full, ANY), "", CORE_WRITE, DELETE, DELETES),
    row(at_least(Full, ANY), "apps", APPS_WRITE, DELETE, DELETES),
    row(
        at_least(Full, ANY),
        "batch",
        &["jobs", "cronjobs"],
        DELETE,
        DELETES,
    ),
    row(
        at_least(Full, ANY),
        "autoscaling",
        &["horizontalpodautoscalers"],
        DELETE,
        DELETES,
    ),
    row(
        at_least(Full, ANY),
        "policy",
        &["poddisruptionbudgets"],
        DELETE,
        DELETES,
    ),
    row(
        at_least(Full, ANY),
        "networking.k8s.io",
        &["ingresses", "networkpolicies"],
        DELETE,
        DELETES,
    ),
    row(at_least(Full, SHOWN), "", &["secrets"], DELETE, DELETES),
    row(
        at_least(Full, VISIBLE),
        "*",
        &["*"],
        &["delete"],
        "uninstall_helm_chart, and Helm upgrades that remove objects",
    ),
    cluster(
        everywhere(Full),
        "",
        &["nodes"],
        &["get", "list", "patch"],
        "node_management (cordon, uncordon, drain)",
    ),
    row(
        everywhere(Full),
        "",
        &["pods/eviction"],
        &["create"],
        "node_management (drain)",
    ),
];

impl Row {
    pub fn applies(&self, access: Access, secrets: SecretsPolicy, scope: Scope) -> bool {
        access >= self.when.access
            && self.when.secrets.contains(&secrets)
            && (!self.when.cluster_wide || scope == Scope::All)
            && (!self.cluster_kinds || scope == Scope::All)
    }

    fn matches(&self, verb: &str, group: &str, resource: &str) -> bool {
        self.verbs.contains(&verb)
            && (self.group == "*" || self.group == group)
            && (self.resources == ["*"] || self.resources.contains(&resource))
    }
}

/// Whether an endpoint with these settings may `verb` the `resource` at `place`.
pub fn allowed(
    access: Access,
    secrets: SecretsPolicy,
    scope: Scope,
    verb: &str,
    (group, resource, namespaced): Resource,
    place: Place,
) -> bool {
    ROWS.iter().any(|r| {
        let lands = if namespaced {
            // A namespaced kind: in the scope's namespaces; cluster-wide only through `*`.
            !r.cluster_kinds && reaches(scope, place)
        } else {
            // A cluster-scoped kind exists only cluster-wide, and only a `*`
            // endpoint's ClusterRole reaches it: its cluster rows, or a
            // wildcard namespaced row (Helm), which a ClusterRole extends to them.
            place == Place::Cluster
                && scope == Scope::All
                && (r.cluster_kinds || r.resources == ["*"])
        };
        lands && r.applies(access, secrets, scope) && r.matches(verb, group, resource)
    })
}
