//! The operator's own ClusterRole (printed by `kube-mcp-operator rbac`; the
//! one source of config/rbac/cluster_role.yaml and of the chart's rules).
//!
//! Three parts: the McpEndpoint API; the children it writes; and the reads a
//! ReadOnly endpoint is granted, derived from the catalog. The last part is
//! there because the API server only lets a user write a Role granting what
//! it holds itself (RBAC escalation prevention): holding those reads lets the
//! operator serve ReadOnly endpoints without `escalate`/`bind`, which would
//! let it grant anything. NonDestructive and Full endpoints need the opt-in
//! [`escalate_rules`].

use crate::labels;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube_mcp_catalog::settings::{SUBJECT_ACCESS_REVIEWS, TOKEN_REVIEWS};
use kube_mcp_catalog::tools::{CATALOG, ToolClass};
use std::collections::{BTreeMap, BTreeSet};

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..PolicyRule::default()
    }
}

/// Server-side apply needs create and patch; the reconciler also reads.
const APPLY: &[&str] = &["get", "list", "watch", "create", "patch", "update"];
/// For kinds the reconciler deletes itself (refused specs, pruned grants);
/// the other children go with their owner (garbage collection).
const APPLY_DELETE: &[&str] = &[
    "get", "list", "watch", "create", "patch", "update", "delete",
];

/// Parts 1 and 2: the McpEndpoint API and what the operator writes.
fn own_rules() -> Vec<PolicyRule> {
    vec![
        // The finalizer is a patch of the main resource; /finalizers is for
        // OwnerReferencesPermissionEnforcement (children set blockOwnerDeletion).
        rule(
            "kubemcp.io",
            &["mcpendpoints"],
            &["get", "list", "watch", "patch", "update"],
        ),
        rule(
            "kubemcp.io",
            &["mcpendpoints/status"],
            &["get", "patch", "update"],
        ),
        rule("kubemcp.io", &["mcpendpoints/finalizers"], &["update"]),
        rule("", &["secrets", "serviceaccounts", "services"], APPLY),
        rule("apps", &["deployments"], APPLY_DELETE),
        rule("networking.k8s.io", &["networkpolicies"], APPLY_DELETE),
        rule(
            "rbac.authorization.k8s.io",
            &[
                "clusterrolebindings",
                "clusterroles",
                "rolebindings",
                "roles",
            ],
            APPLY_DELETE,
        ),
        // kube-runtime's Recorder: create, then patch a series.
        rule("events.k8s.io", &["events"], &["create", "patch"]),
        // Leader election (--leader-elect): the Lease kube-mcp-operator.
        rule(
            "coordination.k8s.io",
            &["leases"],
            &["get", "create", "update", "patch"],
        ),
        // Held only to grant them (escalation prevention) to endpoints with the
        // Kubernetes mode or Caller authorization; the operator makes no review.
        crate::rbac::policy_rule(&TOKEN_REVIEWS),
        crate::rbac::policy_rule(&SUBJECT_ACCESS_REVIEWS),
    ]
}

/// Part 3: every rule of the catalog's read-only tools, merged per API group
/// and verb set.
fn read_only_endpoint_rules() -> Vec<PolicyRule> {
    let mut merged: BTreeMap<(&str, Vec<&str>), BTreeSet<&str>> = BTreeMap::new();
    for tool in CATALOG.iter().filter(|t| t.class == ToolClass::ReadOnly) {
        for r in tool.rules {
            let mut verbs = r.verbs.to_vec();
            verbs.sort_unstable();
            for group in r.api_groups {
                merged
                    .entry((group, verbs.clone()))
                    .or_default()
                    .extend(r.resources.iter().copied());
            }
        }
    }
    merged
        .into_iter()
        .map(|((group, verbs), resources)| {
            rule(group, &resources.into_iter().collect::<Vec<_>>(), &verbs)
        })
        .collect()
}

/// The opt-in for NonDestructive and Full endpoints: write Roles granting
/// verbs the operator does not hold (`escalate`) and bind them (`bind`).
pub fn escalate_rules() -> Vec<PolicyRule> {
    vec![rule(
        "rbac.authorization.k8s.io",
        &["roles", "clusterroles"],
        &["escalate", "bind"],
    )]
}

/// Every rule of the packaged ClusterRole (without the opt-in).
pub fn rules() -> Vec<PolicyRule> {
    let mut all = own_rules();
    all.extend(read_only_endpoint_rules());
    all
}

/// The operator's ClusterRole, named `name`.
pub fn cluster_role(name: &str) -> ClusterRole {
    ClusterRole {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([
                (labels::NAME.to_string(), labels::MANAGER.to_string()),
                (
                    labels::PART_OF.to_string(),
                    labels::PART_OF_VALUE.to_string(),
                ),
            ])),
            ..ObjectMeta::default()
        },
        rules: Some(rules()),
        aggregation_rule: None,
    }
}

const HEADER: &str = "\
# Generated by `kube-mcp-operator rbac`; do not edit (a test compares).
#
# Least-privilege ClusterRole of kube-mcp-operator: the McpEndpoint API, the
# children it writes (server-side apply; delete only where the reconciler
# deletes), and the reads a ReadOnly endpoint is granted (from the tool
# catalog), so it can write those Roles without `escalate`/`bind`.
# NonDestructive and Full endpoints need the opt-in config/full-access
# (Helm: rbac.allowFullAccess=true). What the account can still do, and the
# admission policy that narrows it: docs/security.md.
";

/// config/rbac/cluster_role.yaml.
pub fn yaml(name: &str) -> Result<String, serde_saphyr::SerializeError> {
    Ok(format!(
        "{HEADER}{}",
        serde_saphyr::to_string(&cluster_role(name))?
    ))
}

/// charts/kube-mcp/files/operator-rules.yaml: the rules alone.
pub fn rules_yaml() -> Result<String, serde_saphyr::SerializeError> {
    Ok(format!(
        "# Generated by `kube-mcp-operator rbac --rules`; do not edit (a test compares).\n{}",
        serde_saphyr::to_string(&rules())?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(rules: &[PolicyRule], group: &str, resource: &str, verb: &str) -> bool {
        rules.iter().any(|r| {
            r.api_groups.as_deref() == Some(&[group.to_string()])
                && r.resources
                    .as_ref()
                    .is_some_and(|rs| rs.iter().any(|x| x == resource))
                && r.verbs.iter().any(|v| v == verb)
        })
    }

    #[test]
    fn holds_no_escalation_verb_and_no_wildcard() {
        for r in rules() {
            for v in &r.verbs {
                assert!(!["escalate", "bind", "impersonate", "*"].contains(&v.as_str()));
            }
            assert!(!r.resources.unwrap_or_default().iter().any(|x| x == "*"));
        }
    }

    #[test]
    fn holds_every_read_a_read_only_endpoint_is_granted() {
        let all = rules();
        for tool in CATALOG.iter().filter(|t| t.class == ToolClass::ReadOnly) {
            for r in tool.rules {
                for g in r.api_groups {
                    for res in r.resources {
                        for v in r.verbs {
                            assert!(grants(&all, g, res, v), "{} needs {v} {g}/{res}", tool.name);
                        }
                    }
                }
            }
        }
        assert!(grants(&all, "", "secrets", "list"));
        assert!(grants(&all, "coordination.k8s.io", "leases", "update"));
        assert!(grants(&all, "kubemcp.io", "mcpendpoints/status", "patch"));
    }

    #[test]
    fn the_full_access_overlay_adds_exactly_the_escalate_rules() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/full-access/escalate_role.yaml"
        ))
        .unwrap();
        let role = text.split("\n---\n").next().unwrap();
        let role: ClusterRole = serde_saphyr::from_str(role).unwrap();
        assert_eq!(role.rules.unwrap(), escalate_rules());
    }

    #[test]
    fn the_committed_files_are_generated() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        for (path, want, cmd) in [
            (
                "config/rbac/cluster_role.yaml",
                yaml("kube-mcp-operator").unwrap(),
                "rbac",
            ),
            (
                "charts/kube-mcp/files/operator-rules.yaml",
                rules_yaml().unwrap(),
                "rbac --rules",
            ),
        ] {
            let got = std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_default();
            assert!(
                got == want,
                "{path} drifted from the code: run `cargo run -p kube-mcp-operator -- {cmd} > {path}`"
            );
        }
    }
}
