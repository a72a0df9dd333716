//! An McpEndpoint never grants more than its creator holds.
//!
//! For each namespace of the endpoint's scope (`''`, cluster-wide, for `*`)
//! the requesting user must hold what the endpoint's ServiceAccount would be
//! granted there, by kind of power: reading Secrets (unless `secrets: Hidden`),
//! creating and changing workloads (NonDestructive and Full), deleting (Full);
//! and `use` on `mcpendpoints/image` for an image override; and, cluster-wide,
//! create on the reviews `spec.auth` makes the server's (tokenreviews for the
//! Kubernetes mode, subjectaccessreviews for Caller). One validation per
//! permission, so a denial names the one missing.
//!
//! CEL charges each `authorizer` check 350,000 of a 10,000,000 budget per
//! policy, so one policy can make at most 28 checks; the checks are split
//! over three policies (20, 21 and 10 for ten namespaces), and
//! `spec.namespaces` is capped at [`MAX_NAMESPACES`] in the CRD.

use super::{Policy, deny_unless, match_constraints, resource_rule, variable};
use crate::crd::{GROUP, MAX_NAMESPACES};
use serde_json::{Value, json};

/// The namespaces checked: the spec's (`''` for `*`), else the endpoint's own.
const SCOPE: &str = "\
has(object.spec.namespaces) && size(object.spec.namespaces) > 0
  ? object.spec.namespaces.map(n, n == '*' ? '' : n)
  : [request.namespace]";

/// One permission the creator must hold in each namespace of the scope.
struct Need {
    group: &'static str,
    resource: &'static str,
    verb: &'static str,
    /// CEL: whether the endpoint would be granted it.
    when: &'static str,
    /// CEL string: why the endpoint would be granted it.
    because: &'static str,
    /// What the creator can do instead.
    instead: &'static str,
}

const SECRETS: &str = "variables.secrets != 'Hidden'";
const WRITES: &str = "variables.access != 'ReadOnly'";
const DELETES: &str = "variables.access == 'Full'";

fn secrets(verb: &'static str) -> Need {
    Need {
        group: "",
        resource: "secrets",
        verb,
        when: SECRETS,
        because: "'spec.secrets is ' + variables.secrets + ', so the endpoint could read Secrets'",
        instead: "Set spec.secrets: Hidden",
    }
}

fn deployments(verb: &'static str, when: &'static str, because: &'static str) -> Need {
    Need {
        group: "apps",
        resource: "deployments",
        verb,
        when,
        because,
        instead: "Lower spec.access",
    }
}

const WRITE_BECAUSE: &str =
    "'spec.access is ' + variables.access + ', so the endpoint could create and change workloads'";
const DELETE_BECAUSE: &str = "'spec.access is Full, so the endpoint could delete workloads'";

/// The validation of `need` at scope index `i`.
fn check(i: usize, need: &Need) -> Value {
    let Need {
        group,
        resource,
        verb,
        when,
        because,
        instead,
    } = need;
    let qualified = if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    };
    deny_unless(
        format!(
            "size(variables.scope) <= {i} || !({when}) ||\n\
             authorizer.group('{group}').resource('{resource}').namespace(variables.scope[{i}]).check('{verb}').allowed()"
        ),
        format!(
            "{because} + ' ' + variables.places[{i}] + '; its creator must hold {verb} on {qualified} there, and ' +\n\
             request.userInfo.username + ' does not. {instead}, or ask for that permission.'"
        ),
    )
}

/// The image override needs `use` on the virtual subresource `mcpendpoints/image`.
fn image() -> Value {
    deny_unless(
        format!(
            "!has(object.spec.image) || object.spec.image == '' ||\n\
             authorizer.group('{GROUP}').resource('mcpendpoints').subresource('image')\n  \
             .namespace(request.namespace).name(object.metadata.name).check('use').allowed()"
        ),
        format!(
            "'spec.image overrides the server image, which needs its creator to hold use on ' +\n\
             'mcpendpoints/image ({GROUP}) in namespace ' + request.namespace + ': ' +\n\
             request.userInfo.username + ' does not. Remove spec.image, or ask for that permission.'"
        ),
    )
}

fn spec(validations: Vec<Value>) -> Value {
    json!({
        "failurePolicy": "Fail",
        "matchConstraints": match_constraints(vec![resource_rule(GROUP, super::CREATE_UPDATE, &["mcpendpoints"])]),
        // Metadata, finalizer and status edits (the operator, Argo CD) grant nothing new.
        "matchConditions": [{
            "name": "spec-changed",
            "expression": "request.operation == 'CREATE' || object.spec != oldObject.spec",
        }],
        "variables": [
            variable("scope", SCOPE),
            variable("places", "variables.scope.map(n, n == '' ? 'cluster-wide' : 'in namespace ' + n)"),
            variable("access", "has(object.spec.access) ? object.spec.access : 'ReadOnly'"),
            variable("secrets", "has(object.spec.secrets) ? object.spec.secrets : 'Masked'"),
        ],
        "validations": validations,
    })
}

fn per_namespace(needs: &[Need]) -> Vec<Value> {
    (0..MAX_NAMESPACES)
        .flat_map(|i| needs.iter().map(move |n| check(i, n)))
        .collect()
}

/// A cluster-wide review the endpoint's server would be granted for
/// `spec.auth`: its creator must hold create on it (cluster-wide) too.
fn review(group: &str, resource: &str, when: &str, because: &str, instead: &str) -> Value {
    deny_unless(
        format!(
            "!({when}) ||\n\
             authorizer.group('{group}').resource('{resource}').check('create').allowed()"
        ),
        format!(
            "{because} + '; its creator must hold create on {resource}.{group} (cluster-wide), and ' +\n\
             request.userInfo.username + ' does not. {instead}, or ask for that permission.'"
        ),
    )
}

/// TokenReviews (the Kubernetes mode) and SubjectAccessReviews (Caller).
fn reviews() -> Value {
    let mut s = spec(vec![
        review(
            "authentication.k8s.io",
            "tokenreviews",
            "'Kubernetes' in variables.modes",
            "'spec.auth.modes includes Kubernetes, so the endpoint could create TokenReviews'",
            "Remove Kubernetes from spec.auth.modes",
        ),
        review(
            "authorization.k8s.io",
            "subjectaccessreviews",
            "variables.authorize == 'Caller'",
            "'spec.auth.authorize is Caller, so the endpoint could create SubjectAccessReviews'",
            "Set spec.auth.authorize: Endpoint",
        ),
    ]);
    if let Some(vars) = s["variables"].as_array_mut() {
        vars.push(variable(
            "modes",
            "has(object.spec.auth) && has(object.spec.auth.modes) ? object.spec.auth.modes : ['Token']",
        ));
        vars.push(variable(
            "authorize",
            "has(object.spec.auth) && has(object.spec.auth.authorize) ? object.spec.auth.authorize : 'Endpoint'",
        ));
    }
    s
}

/// The four policies: Secrets reads, writes (and the image), deletes, reviews.
pub fn policies() -> Vec<Policy> {
    let mut writes = per_namespace(&[
        deployments("create", WRITES, WRITE_BECAUSE),
        deployments("patch", WRITES, WRITE_BECAUSE),
    ]);
    writes.push(image());
    vec![
        Policy {
            suffix: "endpoint-secrets",
            spec: spec(per_namespace(&[secrets("get"), secrets("list")])),
            param_ref: None,
        },
        Policy {
            suffix: "endpoint-writes",
            spec: spec(writes),
            param_ref: None,
        },
        Policy {
            suffix: "endpoint-deletes",
            spec: spec(per_namespace(&[deployments(
                "delete",
                DELETES,
                DELETE_BECAUSE,
            )])),
            param_ref: None,
        },
        Policy {
            suffix: "endpoint-reviews",
            spec: reviews(),
            param_ref: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CEL caps one policy evaluation at 10,000,000 cost units and charges
    /// 350,000 per authorizer check: more than 28 checks fail at run time.
    #[test]
    fn no_policy_can_exceed_the_authorizer_budget() {
        for p in policies() {
            let checks: usize = p.spec["validations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["expression"].as_str().unwrap().matches(".check(").count())
                .sum();
            assert!(checks <= 28, "{}: {checks} checks", p.suffix);
            for v in p.spec["validations"].as_array().unwrap() {
                let e = v["expression"].as_str().unwrap();
                assert!(e.matches(".check(").count() <= 2, "over 1,000,000: {e}");
            }
        }
    }

    #[test]
    fn every_index_of_the_cap_is_checked() {
        let secrets = &policies()[0].spec["validations"];
        assert_eq!(secrets.as_array().unwrap().len(), 2 * MAX_NAMESPACES);
        let last = format!("variables.scope[{}]", MAX_NAMESPACES - 1);
        assert!(secrets.to_string().contains(&last));
    }
}
