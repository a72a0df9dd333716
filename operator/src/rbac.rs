//! ServiceAccount, Roles, RoleBindings and the ClusterRole of an endpoint,
//! derived from the catalog rules of its effective tools.

use crate::crd::{Access, McpEndpoint, SecretsPolicy};
use crate::guard::{Grant, Scope};
use crate::{meta, names};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use kube_mcp_catalog::tools::{Rule, RuleScope, SECRETS};
use std::collections::{BTreeMap, BTreeSet};

const READ_VERBS: &[&str] = &["get", "list", "watch"];
/// Verbs only a `Full` endpoint is ever granted, whatever a tool's rules say
/// (the helm rules of write-class tools include `delete` on `*`).
const DELETE_VERBS: &[&str] = &["delete", "deletecollection"];

/// The endpoint's ServiceAccount (`kube-mcp.<name>`).
pub fn service_account(ep: &McpEndpoint) -> ServiceAccount {
    let ns = names::namespace(ep);
    ServiceAccount {
        metadata: meta::child(ep, &names::service_account(ep), Some(&ns)),
        automount_service_account_token: Some(true),
        ..ServiceAccount::default()
    }
}

/// The merged policy rules of the grant's tools for one catalog scope.
///
/// Rules are normalised (one rule per API group and verb set, sorted), so the
/// output is deterministic and a no-op apply stays a no-op. With
/// `secrets: Hidden`, every rule on Secrets — and every wildcard resource
/// rule, which would include Secrets — is dropped. Cluster rules keep write
/// verbs only for `access: Full`, and delete verbs are granted to `Full` only.
pub fn rules(grant: &Grant, scope: RuleScope) -> Vec<PolicyRule> {
    // (group, resource) -> verbs
    let mut by_resource: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for tool in &grant.tools {
        for rule in tool.rules.iter().filter(|r| r.scope == scope) {
            for group in rule.api_groups {
                for resource in rule.resources {
                    if grant.secrets == SecretsPolicy::Hidden
                        && (*resource == SECRETS || *resource == "*")
                    {
                        continue;
                    }
                    let verbs = rule
                        .verbs
                        .iter()
                        .filter(|v| {
                            grant.access == Access::Full
                                || (!DELETE_VERBS.contains(v)
                                    && (scope == RuleScope::Namespaced || READ_VERBS.contains(v)))
                        })
                        .map(|v| v.to_string());
                    by_resource
                        .entry((group.to_string(), resource.to_string()))
                        .or_default()
                        .extend(verbs);
                }
            }
        }
    }
    // (group, verbs) -> resources
    let mut by_verbs: BTreeMap<(String, Vec<String>), BTreeSet<String>> = BTreeMap::new();
    for ((group, resource), verbs) in by_resource {
        if verbs.is_empty() {
            continue;
        }
        by_verbs
            .entry((group, verbs.into_iter().collect()))
            .or_default()
            .insert(resource);
    }
    by_verbs
        .into_iter()
        .map(|((group, verbs), resources)| PolicyRule {
            api_groups: Some(vec![group]),
            resources: Some(resources.into_iter().collect()),
            verbs,
            ..PolicyRule::default()
        })
        .collect()
}

/// A catalog rule as written (no filtering: used for the identity rules only).
pub fn policy_rule(r: &Rule) -> PolicyRule {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(strings(r.api_groups)),
        resources: Some(strings(r.resources)),
        verbs: strings(r.verbs),
        ..PolicyRule::default()
    }
}

fn subject(ep: &McpEndpoint) -> Subject {
    Subject {
        kind: "ServiceAccount".into(),
        name: names::service_account(ep),
        namespace: Some(names::namespace(ep)),
        api_group: None,
    }
}

/// A Role and its RoleBinding in each namespace of the scope (none for a cluster scope
/// or when the tools need no namespaced rule).
pub fn roles(ep: &McpEndpoint, grant: &Grant) -> Vec<(Role, RoleBinding)> {
    let Scope::Namespaces(namespaces) = &grant.scope else {
        return vec![];
    };
    let rules = rules(grant, RuleScope::Namespaced);
    if rules.is_empty() {
        return vec![];
    }
    namespaces
        .iter()
        .map(|ns| {
            let name = names::role(ep, ns);
            let role = Role {
                metadata: meta::child(ep, &name, Some(ns)),
                rules: Some(rules.clone()),
            };
            let binding = RoleBinding {
                metadata: meta::child(ep, &name, Some(ns)),
                role_ref: RoleRef {
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    kind: "Role".into(),
                    name,
                },
                subjects: Some(vec![subject(ep)]),
            };
            (role, binding)
        })
        .collect()
}

/// The ClusterRole and binding of an endpoint: for a cluster-wide (`*`)
/// endpoint the namespaced rules everywhere, plus the cluster-scoped catalog
/// rules if the policy allows cluster reads; for any endpoint, the reviews
/// its authentication and authorization need ([`Grant::identity`]). A
/// namespace-scoped endpoint gets no tool rule here: its server refuses
/// every cluster-level request, so a cluster rule would only be a right its
/// ServiceAccount token carries around unused.
pub fn cluster_role(ep: &McpEndpoint, grant: &Grant) -> Option<(ClusterRole, ClusterRoleBinding)> {
    let mut rules = vec![];
    if grant.scope == Scope::Cluster {
        rules.extend(self::rules(grant, RuleScope::Namespaced));
        if grant.cluster_reads {
            rules.extend(self::rules(grant, RuleScope::Cluster));
        }
    }
    rules.extend(grant.identity.iter().map(policy_rule));
    if rules.is_empty() {
        return None;
    }
    let name = names::cluster_role(ep);
    let role = ClusterRole {
        metadata: meta::child(ep, &name, None),
        rules: Some(rules),
        aggregation_rule: None,
    };
    let binding = ClusterRoleBinding {
        metadata: meta::child(ep, &name, None),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name,
        },
        subjects: Some(vec![subject(ep)]),
    };
    Some((role, binding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, MaxAccess};
    use crate::crd::McpEndpointSpec;
    use crate::guard::{evaluate, tests::ep};
    use kube_mcp_catalog::tools::{CATALOG, ToolClass};

    const WRITE_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

    /// Every access level allowed; `admins` may reach other namespaces.
    fn cfg(admins: &[&str]) -> Config {
        Config {
            admin_namespaces: admins.iter().map(|s| s.to_string()).collect(),
            max_access: MaxAccess::Full,
            ..Config::default()
        }
    }

    fn grant(ns: &str, spec: McpEndpointSpec, cfg: &Config) -> (McpEndpoint, Grant) {
        let e = ep(ns, spec);
        let g = evaluate(&e, cfg).unwrap();
        (e, g)
    }

    fn all_verbs(rules: &[PolicyRule]) -> BTreeSet<String> {
        rules.iter().flat_map(|r| r.verbs.clone()).collect()
    }

    fn names_resource(rules: &[PolicyRule], res: &str) -> bool {
        rules
            .iter()
            .any(|r| r.resources.as_ref().unwrap().iter().any(|x| x == res))
    }

    fn spec(access: Access, namespaces: Option<&[&str]>) -> McpEndpointSpec {
        McpEndpointSpec {
            access,
            namespaces: namespaces.map(|v| v.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn read_only_grants_no_write_verb() {
        let (e, g) = grant("a", McpEndpointSpec::default(), &Config::default());
        let roles = roles(&e, &g);
        assert_eq!(roles.len(), 1);
        let rules = roles[0].0.rules.clone().unwrap();
        assert!(!rules.is_empty());
        let verbs = all_verbs(&rules);
        assert!(
            verbs.iter().all(|v| READ_VERBS.contains(&v.as_str())),
            "{verbs:?}"
        );
        // Masked: secrets readable (masking happens in the server).
        assert!(names_resource(&rules, SECRETS));
    }

    #[test]
    fn namespace_scoped_endpoints_get_no_cluster_rule() {
        for access in [Access::ReadOnly, Access::NonDestructive, Access::Full] {
            for scope in [None, Some(&["ops", "b"][..])] {
                let (e, g) = grant("ops", spec(access, scope), &cfg(&["ops"]));
                assert!(cluster_role(&e, &g).is_none(), "{access:?} {scope:?}");
                assert!(!g.cluster_reads);
            }
        }
    }

    #[test]
    fn hidden_secrets_grant_no_rule_on_secrets() {
        for access in [Access::ReadOnly, Access::NonDestructive, Access::Full] {
            let s = McpEndpointSpec {
                access,
                secrets: SecretsPolicy::Hidden,
                ..Default::default()
            };
            let (e, g) = grant("a", s, &cfg(&[]));
            let rules = roles(&e, &g)[0].0.rules.clone().unwrap();
            assert!(!names_resource(&rules, SECRETS), "{access:?}");
            assert!(
                !names_resource(&rules, "*"),
                "{access:?}: a wildcard includes secrets"
            );
        }
    }

    #[test]
    fn non_destructive_writes_but_never_deletes() {
        let (e, g) = grant("a", spec(Access::NonDestructive, None), &cfg(&[]));
        let rules = roles(&e, &g)[0].0.rules.clone().unwrap();
        let verbs = all_verbs(&rules);
        assert!(verbs.contains("create") && verbs.contains("patch"));
        assert!(
            !verbs.contains("delete") && !verbs.contains("deletecollection"),
            "{verbs:?}"
        );
        let (e, g) = grant(
            "ops",
            spec(Access::NonDestructive, Some(&["*"])),
            &cfg(&["ops"]),
        );
        let (cr, _) = cluster_role(&e, &g).unwrap();
        let cluster: Vec<PolicyRule> = rules_of_cluster_kinds(&cr);
        assert!(
            all_verbs(&cluster)
                .iter()
                .all(|v| READ_VERBS.contains(&v.as_str())),
            "cluster-scoped kinds are only read below Full"
        );
    }

    fn rules_of_cluster_kinds(cr: &ClusterRole) -> Vec<PolicyRule> {
        cr.rules
            .iter()
            .flatten()
            .filter(|r| names_resource(std::slice::from_ref(r), "nodes"))
            .cloned()
            .collect()
    }

    #[test]
    fn only_full_cluster_wide_gets_cluster_writes() {
        let (e, g) = grant("ops", spec(Access::Full, Some(&["*"])), &cfg(&["ops"]));
        let (cr, _) = cluster_role(&e, &g).unwrap();
        let verbs = all_verbs(cr.rules.as_ref().unwrap());
        assert!(
            verbs.iter().any(|v| WRITE_VERBS.contains(&v.as_str())),
            "{verbs:?}"
        );
        assert!(names_resource(cr.rules.as_ref().unwrap(), "pods/eviction"));
        let ns = all_verbs(&rules(&g, RuleScope::Namespaced));
        assert!(ns.contains("delete"));
        // Full in one namespace: nothing cluster-wide, no node or eviction right anywhere.
        let (e, g) = grant("a", spec(Access::Full, None), &cfg(&[]));
        assert!(cluster_role(&e, &g).is_none());
        let home = roles(&e, &g)[0].0.rules.clone().unwrap();
        assert!(!names_resource(&home, "nodes") && !names_resource(&home, "pods/eviction"));
    }

    #[test]
    fn tool_set_drives_the_rules() {
        // A read-only tool without rules: nothing to grant.
        let ruleless = CATALOG
            .iter()
            .find(|t| t.class == ToolClass::ReadOnly && t.rules.is_empty())
            .unwrap();
        let s = McpEndpointSpec {
            tools: Some(vec![ruleless.name.into()]),
            ..Default::default()
        };
        let (e, g) = grant("a", s, &Config::default());
        assert!(roles(&e, &g).is_empty());
        assert!(cluster_role(&e, &g).is_none());
        // A read-only tool with only namespaced rules: a Role with exactly its resources.
        let ns_only = CATALOG
            .iter()
            .find(|t| {
                t.class == ToolClass::ReadOnly
                    && !t.rules.is_empty()
                    && t.rules.iter().all(|r| r.scope == RuleScope::Namespaced)
            })
            .unwrap();
        let s = McpEndpointSpec {
            tools: Some(vec![ns_only.name.into()]),
            ..Default::default()
        };
        let (e, g) = grant("a", s, &Config::default());
        let r = roles(&e, &g);
        assert_eq!(r.len(), 1);
        let want: BTreeSet<String> = ns_only
            .rules
            .iter()
            .flat_map(|r| r.resources.iter().map(|s| s.to_string()))
            .collect();
        let got: BTreeSet<String> = r[0]
            .0
            .rules
            .as_ref()
            .unwrap()
            .iter()
            .flat_map(|r| r.resources.clone().unwrap())
            .collect();
        assert_eq!(got, want);
        assert!(cluster_role(&e, &g).is_none());
    }

    #[test]
    fn cluster_reads_follow_the_policy() {
        let wide = spec(Access::ReadOnly, Some(&["*"]));
        let (e, g) = grant("ops", wide.clone(), &cfg(&["ops"]));
        let (cr, _) = cluster_role(&e, &g).unwrap();
        assert!(names_resource(cr.rules.as_ref().unwrap(), "nodes"));
        let no_reads = Config {
            allow_cluster_reads: false,
            ..cfg(&["ops"])
        };
        let (e, g) = grant("ops", wide, &no_reads);
        let (cr, _) = cluster_role(&e, &g).unwrap();
        let rules = cr.rules.unwrap();
        assert!(
            names_resource(&rules, "pods"),
            "namespaced kinds stay cluster-wide"
        );
        assert!(!names_resource(&rules, "nodes") && !names_resource(&rules, "namespaces"));
    }

    #[test]
    fn one_role_per_namespace_with_owner_only_at_home() {
        let (e, g) = grant(
            "ops",
            spec(Access::ReadOnly, Some(&["ops", "b"])),
            &cfg(&["ops"]),
        );
        let r = roles(&e, &g);
        let got: Vec<_> = r
            .iter()
            .map(|(role, rb)| {
                assert_eq!(role.metadata.name, rb.metadata.name);
                (
                    role.metadata.namespace.clone().unwrap(),
                    role.metadata.name.clone().unwrap(),
                    role.metadata.owner_references.is_some(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("ops".into(), "ep".into(), true),
                ("b".into(), "kube-mcp:ops:ep".into(), false)
            ]
        );
        let rb = &r[1].1;
        let subj = &rb.subjects.as_ref().unwrap()[0];
        assert_eq!(
            (subj.name.as_str(), subj.namespace.as_deref()),
            ("kube-mcp.ep", Some("ops"))
        );
        let l = rb.metadata.labels.as_ref().unwrap();
        assert_eq!(l["kubemcp.io/owner-namespace"], "ops");
        assert_eq!(l["kubemcp.io/owner-name"], "ep");
        assert_eq!(l["kubemcp.io/owner-uid"], "0000-uid");
    }

    #[test]
    fn cluster_scope_uses_a_cluster_role() {
        let (e, g) = grant("ops", spec(Access::ReadOnly, Some(&["*"])), &cfg(&["ops"]));
        assert!(roles(&e, &g).is_empty());
        let (cr, crb) = cluster_role(&e, &g).unwrap();
        assert!(names_resource(cr.rules.as_ref().unwrap(), "pods"));
        assert_eq!(cr.metadata.name.as_deref(), Some("kube-mcp:ops:ep"));
        assert_eq!(crb.role_ref.name, "kube-mcp:ops:ep");
        assert!(cr.metadata.owner_references.is_none());
    }

    #[test]
    fn identity_rules_follow_spec_auth_only() {
        use crate::crd::{AuthMode, AuthSpec, Authorize, OidcSpec};
        let review = ("authentication.k8s.io", "tokenreviews");
        let sar = ("authorization.k8s.io", "subjectaccessreviews");
        let oidc = || {
            Some(OidcSpec {
                issuer_url: "https://idp.example.com".into(),
                ..Default::default()
            })
        };
        // (modes, authorize, scope, rules of the ClusterRole beyond the tools')
        let cases = [
            (vec![AuthMode::Token], Authorize::Endpoint, None, vec![]),
            (vec![AuthMode::Oidc], Authorize::Endpoint, None, vec![]),
            (
                vec![AuthMode::Token, AuthMode::Kubernetes],
                Authorize::Endpoint,
                None,
                vec![review],
            ),
            (vec![AuthMode::Oidc], Authorize::Caller, None, vec![sar]),
            (
                vec![AuthMode::Token, AuthMode::Kubernetes],
                Authorize::Caller,
                None,
                vec![review, sar],
            ),
            (
                vec![AuthMode::Kubernetes],
                Authorize::Caller,
                Some(&["*"][..]),
                vec![review, sar],
            ),
        ];
        for (modes, authorize, scope, want) in cases {
            let with_oidc = modes.contains(&AuthMode::Oidc);
            let s = McpEndpointSpec {
                auth: Some(AuthSpec {
                    modes: modes.clone(),
                    authorize,
                    oidc: if with_oidc { oidc() } else { None },
                    ..Default::default()
                }),
                ..spec(Access::ReadOnly, scope)
            };
            let (e, g) = grant("ops", s, &cfg(&["ops"]));
            let reviews: Vec<(String, String)> = cluster_role(&e, &g)
                .map(|(cr, crb)| {
                    assert_eq!(cr.metadata.name.as_deref(), Some("kube-mcp:ops:ep"));
                    assert_eq!(crb.subjects.unwrap()[0].name, "kube-mcp.ep");
                    cr.rules.unwrap()
                })
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r.resources.as_ref().unwrap()[0].ends_with("reviews"))
                .map(|r| {
                    assert_eq!(r.verbs, ["create"], "{modes:?} {authorize:?}");
                    (
                        r.api_groups.unwrap()[0].clone(),
                        r.resources.unwrap()[0].clone(),
                    )
                })
                .collect();
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(g, r)| (g.to_string(), r.to_string()))
                .collect();
            assert_eq!(reviews, want, "{modes:?} {authorize:?} {scope:?}");
            // Namespaced endpoints' ClusterRole holds nothing but the reviews.
            if scope.is_none() {
                let total = cluster_role(&e, &g).map_or(0, |(cr, _)| cr.rules.unwrap().len());
                assert_eq!(total, want.len());
            }
        }
    }

    #[test]
    fn rules_are_merged_and_sorted() {
        let (_, g) = grant("a", spec(Access::Full, None), &cfg(&[]));
        let r = rules(&g, RuleScope::Namespaced);
        let keys: Vec<_> = r
            .iter()
            .map(|r| (r.api_groups.clone(), r.verbs.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "one rule per (group, verbs), sorted");
        assert_eq!(r, rules(&g, RuleScope::Namespaced));
    }
}
