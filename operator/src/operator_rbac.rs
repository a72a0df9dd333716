//! The RBAC the operator itself needs (printed by `kube-mcp-operator rbac`),
//! so packaging never drifts from what the reconciler does.
//!
//! The operator grants RBAC derived from the catalog (up to `*` on `*` for a
//! Full endpoint with helm tools). Rather than holding all of that itself, it
//! gets `escalate` and `bind` on Roles and ClusterRoles: the API server then
//! lets it write Roles with permissions it does not hold.

use crate::labels;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..PolicyRule::default()
    }
}

const RW: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

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
        rules: Some(vec![
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
            rule(
                "apiextensions.k8s.io",
                &["customresourcedefinitions"],
                &["get", "list", "watch"],
            ),
            rule("apps", &["deployments"], RW),
            rule("", &["services", "serviceaccounts", "secrets"], RW),
            rule("networking.k8s.io", &["networkpolicies"], RW),
            rule(
                "rbac.authorization.k8s.io",
                &[
                    "roles",
                    "rolebindings",
                    "clusterroles",
                    "clusterrolebindings",
                ],
                RW,
            ),
            rule(
                "rbac.authorization.k8s.io",
                &["roles", "clusterroles"],
                &["escalate", "bind"],
            ),
            rule("events.k8s.io", &["events"], &["create", "patch"]),
            // Leader election (--leader-elect).
            rule(
                "coordination.k8s.io",
                &["leases"],
                &["get", "create", "update", "patch"],
            ),
        ]),
        aggregation_rule: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_escalate_and_bind() {
        let cr = cluster_role("kube-mcp-operator");
        let rules = cr.rules.unwrap();
        assert!(
            rules
                .iter()
                .any(|r| r.verbs.contains(&"escalate".to_string()))
        );
        assert!(rules.iter().any(|r| r.verbs.contains(&"bind".to_string())));
        assert!(rules.iter().any(|r| {
            r.resources
                .as_ref()
                .unwrap()
                .contains(&"mcpendpoints/status".to_string())
        }));
        assert!(rules.iter().any(|r| {
            r.api_groups.as_deref() == Some(&["coordination.k8s.io".to_string()])
                && r.verbs.iter().any(|v| v == "update")
        }));
    }
}
