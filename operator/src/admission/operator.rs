//! What the operator's own account may write.
//!
//! The operator needs write access to Secrets, ServiceAccounts, Services,
//! Deployments, NetworkPolicies and RBAC objects in every namespace it serves;
//! RBAC cannot narrow that by content. Without this policy, whoever acts as
//! its account could, e.g., create a `kubernetes.io/service-account-token`
//! Secret for a powerful controller in kube-system and read the token back.
//! Bound to the operator's username, these policies let it write only objects
//! labelled as its own (and never take one over), Opaque Secrets only,
//! Deployments only running as `kube-mcp.*` ServiceAccounts and of allowed
//! images, and bindings only of `kube-mcp.*` ServiceAccounts to the role of
//! the same name.
//!
//! The allowed images come from the operator's policy ConfigMap (params), in
//! a policy of their own: the API server resolves params before it evaluates
//! match conditions, so a binding whose ConfigMap is missing would refuse
//! everyone's Secret and Deployment writes with `Deny`; with `Allow` only the
//! image rule lapses, and the operator itself does not start without the
//! ConfigMap.

use super::{
    ALLOWED_IMAGES_KEY, Install, Policy, deny_unless, match_constraints, resource_rule, variable,
};
use crate::labels::{MANAGED_BY, MANAGER};
use crate::names::{CLUSTER_NAME_PREFIX, SERVICE_ACCOUNT_PREFIX};
use serde_json::{Value, json};

/// Writes and deletes: deletes of what it does not manage are refused too.
fn rule(group: &str, resources: &[&str]) -> Value {
    resource_rule(group, &["CREATE", "UPDATE", "DELETE"], resources)
}

fn labelled(of: &str) -> String {
    format!(
        "has({of}.metadata.labels) && '{MANAGED_BY}' in {of}.metadata.labels &&\n  \
         {of}.metadata.labels['{MANAGED_BY}'] == '{MANAGER}'"
    )
}

/// CEL: `<resource> [<namespace>/]<name>` of the request (cluster-scoped
/// requests carry no namespace field at all).
const WHAT: &str = "request.resource.resource + ' ' +\n\
    (has(request.namespace) && request.namespace != '' ? request.namespace + '/' : '') + request.name";

/// A validation for `kinds` only (and not for deletes).
fn for_kinds(kinds: &[&str], expression: &str, message: String) -> Value {
    let kinds = kinds
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    deny_unless(
        format!(
            "!(request.resource.resource in [{kinds}]) || request.operation == 'DELETE' ||\n{expression}"
        ),
        message,
    )
}

const WHO: &str = "'kube-mcp-operator (' + request.userInfo.username + ')";

fn the_operator(i: &Install) -> Value {
    json!([{
        "name": "the-operator",
        "expression": format!("request.userInfo.username == '{}'", i.username()),
    }])
}

/// Everything but the images.
pub fn writes(i: &Install) -> Policy {
    let (sa, cluster, who) = (SERVICE_ACCOUNT_PREFIX, CLUSTER_NAME_PREFIX, WHO);
    let spec = json!({
        "failurePolicy": "Fail",
        "matchConstraints": match_constraints(vec![
            rule("", &["secrets", "serviceaccounts", "services"]),
            rule("apps", &["deployments"]),
            rule("networking.k8s.io", &["networkpolicies"]),
            rule("rbac.authorization.k8s.io", &["roles", "rolebindings", "clusterroles", "clusterrolebindings"]),
        ]),
        "matchConditions": the_operator(i),
        "variables": [
            variable("labelled", &format!("request.operation == 'DELETE' || ({})", labelled("object"))),
            variable("wasLabelled", &format!("request.operation == 'CREATE' || ({})", labelled("oldObject"))),
            variable("podSpec", "object.spec.template.spec"),
        ],
        "validations": [
            deny_unless(
                "variables.labelled && variables.wasLabelled".into(),
                format!("{who} may only write objects labelled {MANAGED_BY}={MANAGER}, and never one it did not create: ' + {WHAT}"),
            ),
            for_kinds(&["secrets"], "!has(object.type) || object.type == 'Opaque'",
                format!("{who} may only write Opaque Secrets: ' + {WHAT} + ' has type ' + object.type")),
            for_kinds(&["deployments"], &format!("has(variables.podSpec.serviceAccountName) && variables.podSpec.serviceAccountName.startsWith('{sa}')"),
                format!("{who} may only run Deployments as {sa}* ServiceAccounts: ' + {WHAT}")),
            for_kinds(&["rolebindings", "clusterrolebindings"], &format!("has(object.subjects) && object.subjects.all(s, s.kind == 'ServiceAccount' && s.name.startsWith('{sa}'))"),
                format!("{who} may only bind {sa}* ServiceAccounts: ' + {WHAT}")),
            for_kinds(&["rolebindings", "clusterrolebindings"], "object.roleRef.name == object.metadata.name &&\n\
                object.roleRef.kind == (request.resource.resource == 'rolebindings' ? 'Role' : 'ClusterRole')",
                format!("{who} may only bind the role named like the binding, of its scope: ' + {WHAT}")),
            for_kinds(&["clusterroles", "clusterrolebindings"], &format!("object.metadata.name.startsWith('{cluster}')"),
                format!("{who} may only name cluster-wide RBAC objects {cluster}*: ' + {WHAT}")),
            for_kinds(&["clusterroles"], "!has(object.aggregationRule)",
                format!("{who} may not write aggregated ClusterRoles: ' + {WHAT}")),
        ],
    });
    Policy {
        suffix: "operator-writes",
        spec,
        param_ref: None,
    }
}

/// The images of the operator's Deployments, against the policy ConfigMap.
pub fn images(i: &Install) -> Policy {
    let who = WHO;
    let spec = json!({
        "failurePolicy": "Fail",
        "paramKind": { "apiVersion": "v1", "kind": "ConfigMap" },
        "matchConstraints": match_constraints(vec![rule("apps", &["deployments"])]),
        "matchConditions": the_operator(i),
        "variables": [
            variable("podSpec", "object.spec.template.spec"),
            variable("images", "\
(has(variables.podSpec.containers) ? variables.podSpec.containers : []).map(c, c.image) +
(has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : []).map(c, c.image)"),
            variable("allowedImages", &format!("\
has(params.data) && '{ALLOWED_IMAGES_KEY}' in params.data
  ? params.data['{ALLOWED_IMAGES_KEY}'].split(',').map(a, a.trim()).filter(a, a != '')
  : []")),
        ],
        "validations": [
            for_kinds(&["deployments"], "variables.images.all(img, variables.allowedImages.exists(a,\n  \
                a.endsWith('*') ? img.startsWith(a.substring(0, size(a) - 1)) : img == a))",
                format!("{who} may only run allowed images (ConfigMap ' + params.metadata.name + ' key {ALLOWED_IMAGES_KEY}: ' +\n\
                    (has(params.data) && '{ALLOWED_IMAGES_KEY}' in params.data ? params.data['{ALLOWED_IMAGES_KEY}'] : '') + '), not ' +\n\
                    variables.images.filter(img, !variables.allowedImages.exists(a,\n  \
                    a.endsWith('*') ? img.startsWith(a.substring(0, size(a) - 1)) : img == a)).join(', ') + ' in ' + {WHAT}")),
        ],
    });
    Policy {
        suffix: "operator-images",
        spec,
        param_ref: Some(json!({
            "name": i.policy_config_map(),
            "namespace": i.namespace,
            "parameterNotFoundAction": "Allow",
        })),
    }
}
