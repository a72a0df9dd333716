//! What an endpoint's ServiceAccount may run.
//!
//! RBAC decides whether a ServiceAccount may create a workload, not what the
//! workload runs as or mounts. So an endpoint allowed to create workloads
//! could run one as an endpoint ServiceAccount (its own or another
//! endpoint's: the workload holds that token and bypasses the server's
//! filters and masking), or mount a Secret it cannot read and print it.
//! This policy refuses both, for requests from any `kube-mcp.*`
//! ServiceAccount: no workload as a `kube-mcp.*` ServiceAccount, and no
//! Secret reference (volumes, projected sources, envFrom, env secretKeyRef in
//! every kind of container; imagePullSecrets aside) unless the requester
//! may get Secrets in that namespace. That makes `secrets: Hidden` hold,
//! while Masked endpoints (which hold Secrets reads) may deploy real apps.

use super::{CREATE_UPDATE, Policy, deny_unless, match_constraints, resource_rule, variable};
use crate::names::SERVICE_ACCOUNT_PREFIX;
use serde_json::json;

/// The pod spec of every workload kind the policy matches.
fn pod_spec(of: &str) -> String {
    format!(
        "request.resource.resource == 'pods' ? {of}.spec\n\
         : request.resource.resource == 'cronjobs' ? {of}.spec.jobTemplate.spec.template.spec\n\
         : has({of}.spec.template) && has({of}.spec.template.spec) ? {of}.spec.template.spec\n\
         : {{}}"
    )
}

const SERVICE_ACCOUNTS: &str = "\
(has(variables.podSpec.serviceAccountName) ? [variables.podSpec.serviceAccountName] : []) +
(has(variables.podSpec.serviceAccount) ? [variables.podSpec.serviceAccount] : [])";

const CONTAINERS: &str = "\
(has(variables.podSpec.containers) ? variables.podSpec.containers : []) +
(has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : []) +
(has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])";

const REFERENCES_SECRET: &str = "\
(has(variables.podSpec.volumes) && variables.podSpec.volumes.exists(v,
    has(v.secret) ||
    (has(v.projected) && has(v.projected.sources) && v.projected.sources.exists(s, has(s.secret))))) ||
variables.containers.exists(c,
    (has(c.envFrom) && c.envFrom.exists(e, has(e.secretRef))) ||
    (has(c.env) && c.env.exists(e, has(e.valueFrom) && has(e.valueFrom.secretKeyRef))))";

pub fn policy() -> Policy {
    let p = SERVICE_ACCOUNT_PREFIX;
    let spec = json!({
        "failurePolicy": "Fail",
        "matchConstraints": match_constraints(vec![
            resource_rule("", CREATE_UPDATE, &["pods", "pods/ephemeralcontainers", "replicationcontrollers"]),
            resource_rule("apps", CREATE_UPDATE, &["deployments", "replicasets", "statefulsets", "daemonsets"]),
            resource_rule("batch", CREATE_UPDATE, &["jobs", "cronjobs"]),
        ]),
        "matchConditions": [{
            "name": "endpoint-service-account",
            "expression": format!(
                "request.userInfo.username.matches('^system:serviceaccount:[^:]+:{}')",
                p.replace('.', "[.]")
            ),
        }],
        "variables": [
            variable("podSpec", &pod_spec("object")),
            variable("oldPodSpec", &pod_spec("oldObject")),
            // A scale or label edit changes no pod: nothing new runs.
            variable("changed", "request.operation != 'UPDATE' || variables.podSpec != variables.oldPodSpec"),
            variable("serviceAccounts", SERVICE_ACCOUNTS),
            variable("containers", CONTAINERS),
            variable("referencesSecret", REFERENCES_SECRET),
        ],
        "validations": [
            deny_unless(
                format!("!variables.changed || !variables.serviceAccounts.exists(s, s.startsWith('{p}'))"),
                format!(
                    "request.userInfo.username + \" is an MCP endpoint's ServiceAccount: it may not run a workload \
                     as a {p}* ServiceAccount (\" + variables.serviceAccounts.filter(s, s.startsWith('{p}'))[0] +\n\
                     \"), which would hand the workload an endpoint's token. Use another serviceAccountName.\""
                ),
            ),
            deny_unless(
                "!variables.changed || !variables.referencesSecret ||\n\
                 authorizer.group('').resource('secrets').namespace(request.namespace).check('get').allowed()"
                    .into(),
                "request.userInfo.username + \" may not read Secrets in namespace \" + request.namespace +\n\
                 \", so it may not create a workload there that mounts or reads one (volumes, projected sources, \
                 envFrom, env secretKeyRef): the workload could print it.\""
                    .into(),
            ),
        ],
    });
    Policy {
        suffix: "endpoint-workloads",
        spec,
        param_ref: None,
    }
}
