//! What a workload this server writes may not do: run as the server's own
//! ServiceAccount (an endpoint would become itself, RBAC and all, in a pod
//! it controls), or, with Secrets hidden, reference a Secret (RBAC never
//! checks what a pod mounts, so a pod would read what the server may not).
//!
//! Pure: the gate applies it to every write body of a workload kind. The
//! admission policies shipped with the operator enforce the same in the
//! cluster, for writes that do not come through this server.

use serde_json::Value;

/// The workload kinds (resource plurals) that carry a pod spec.
pub const KINDS: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("", "podtemplates"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
];

pub fn is_workload(group: &str, resource: &str) -> bool {
    KINDS.iter().any(|(g, r)| *g == group && *r == resource)
}

/// The rules in force for one server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// The server's own ServiceAccount (namespace, name), when it runs as one.
    pub own_service_account: Option<(String, String)>,
    /// Secrets are hidden: no workload may reference one.
    pub forbid_secret_refs: bool,
}

impl Rules {
    pub fn active(&self) -> bool {
        self.own_service_account.is_some() || self.forbid_secret_refs
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the workload would run as this server's own ServiceAccount {0}; give it another serviceAccountName"
    )]
    RunsAsServer(String),
    #[error(
        "the workload references a Secret ({0}), and Secrets are hidden on this server (KUBE_MCP_SECRETS=hidden); remove the reference"
    )]
    ReferencesSecret(String),
}

/// The pod spec of a workload object (a Pod, a template, a CronJob's job template).
pub fn pod_spec(obj: &Value) -> Option<&Value> {
    match obj.get("kind").and_then(Value::as_str) {
        Some("Pod") => obj.get("spec"),
        Some("PodTemplate") => obj.pointer("/template/spec"),
        Some("CronJob") => obj.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => obj.pointer("/spec/template/spec"),
    }
}

/// Checks a whole object about to be created or replaced in `namespace`.
pub fn check_object(obj: &Value, namespace: &str, rules: &Rules) -> Result<(), Refusal> {
    let Some(spec) = pod_spec(obj) else {
        return Ok(());
    };
    if let Some((own_ns, own)) = &rules.own_service_account
        && own_ns == namespace
    {
        let sa = spec
            .get("serviceAccountName")
            .or_else(|| spec.get("serviceAccount"))
            .and_then(Value::as_str)
            .unwrap_or("default");
        if sa == own {
            return Err(Refusal::RunsAsServer(format!("{own_ns}/{own}")));
        }
    }
    if rules.forbid_secret_refs
        && let Some(what) = secret_reference(spec)
    {
        return Err(Refusal::ReferencesSecret(what));
    }
    Ok(())
}

/// Checks a patch (strategic, merge or JSON) of a workload: whatever it would
/// add is inside its body, so a reference it adds is found there.
pub fn check_patch(patch: &Value, namespace: &str, rules: &Rules) -> Result<(), Refusal> {
    if let Some((own_ns, own)) = &rules.own_service_account
        && own_ns == namespace
        && sets_service_account(patch, own)
    {
        return Err(Refusal::RunsAsServer(format!("{own_ns}/{own}")));
    }
    if rules.forbid_secret_refs
        && let Some(what) = secret_reference(patch)
    {
        return Err(Refusal::ReferencesSecret(what));
    }
    Ok(())
}

const SA_KEYS: &[&str] = &["serviceAccountName", "serviceAccount"];

/// Whether `v` sets a service account field to `own`, as a key (merge
/// patches, objects) or as a JSON-patch operation on such a path.
fn sets_service_account(v: &Value, own: &str) -> bool {
    match v {
        Value::Object(m) => {
            let op_path = m.get("path").and_then(Value::as_str).unwrap_or_default();
            let on_sa_path = SA_KEYS.iter().any(|k| op_path.ends_with(&format!("/{k}")));
            if on_sa_path {
                // A copy or move fills it from elsewhere: refuse, it cannot be checked.
                let op = m.get("op").and_then(Value::as_str).unwrap_or_default();
                if matches!(op, "copy" | "move")
                    || m.get("value").and_then(Value::as_str) == Some(own)
                {
                    return true;
                }
            }
            m.iter().any(|(k, x)| {
                (SA_KEYS.contains(&k.as_str()) && x.as_str() == Some(own))
                    || sets_service_account(x, own)
            })
        }
        Value::Array(a) => a.iter().any(|x| sets_service_account(x, own)),
        _ => false,
    }
}

/// The first Secret reference inside `v`, described for the message:
/// secret volumes, projected secret sources, envFrom secretRef, env
/// secretKeyRef (imagePullSecrets are not data a container can read).
fn secret_reference(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match k.as_str() {
                    "imagePullSecrets" => continue,
                    "secret" if x.is_object() => {
                        let name = x
                            .get("secretName")
                            .or_else(|| x.get("name"))
                            .and_then(Value::as_str)
                            .unwrap_or("?");
                        return Some(format!("a secret volume or projected source of {name:?}"));
                    }
                    "secretRef" | "secretKeyRef" if x.is_object() => {
                        let name = x.get("name").and_then(Value::as_str).unwrap_or("?");
                        return Some(format!("{k} to {name:?}"));
                    }
                    _ => {}
                }
                if let Some(found) = secret_reference(x) {
                    return Some(found);
                }
            }
            // A JSON-patch operation on a path into a secret reference.
            let path = m.get("path").and_then(Value::as_str).unwrap_or_default();
            ["/secret/", "/secretRef/", "/secretKeyRef/"]
                .iter()
                .chain(["/secret", "/secretRef", "/secretKeyRef"].iter())
                .find(|p| path.contains(*p) && (p.ends_with('/') || path.ends_with(*p)))
                .map(|_| format!("a JSON patch at {path}"))
        }
        Value::Array(a) => a.iter().find_map(secret_reference),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(hidden: bool) -> Rules {
        Rules {
            own_service_account: Some(("team-a".into(), "kube-mcp.ep".into())),
            forbid_secret_refs: hidden,
        }
    }

    fn deploy(pod: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": pod}}})
    }

    #[test]
    fn objects() {
        let r = rules(true);
        let own = deploy(json!({"serviceAccountName": "kube-mcp.ep", "containers": []}));
        assert!(matches!(
            check_object(&own, "team-a", &r),
            Err(Refusal::RunsAsServer(_))
        ));
        assert!(
            check_object(&own, "team-b", &r).is_ok(),
            "another namespace's SA of that name is not ours"
        );
        let legacy = json!({"kind": "Pod", "spec": {"serviceAccount": "kube-mcp.ep"}});
        assert!(check_object(&legacy, "team-a", &r).is_err());
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccountName": "kube-mcp.ep"}}}}}});
        assert!(check_object(&cron, "team-a", &r).is_err());
        for pod in [
            json!({"volumes": [{"name": "v", "secret": {"secretName": "db"}}]}),
            json!({"volumes": [{"name": "v", "projected": {"sources": [{"secret": {"name": "db"}}]}}]}),
            json!({"containers": [{"envFrom": [{"secretRef": {"name": "db"}}]}]}),
            json!({"initContainers": [{"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "p"}}}]}]}),
        ] {
            let o = deploy(pod.clone());
            assert!(
                matches!(
                    check_object(&o, "team-a", &r),
                    Err(Refusal::ReferencesSecret(_))
                ),
                "{pod}"
            );
            assert!(
                check_object(&o, "team-a", &rules(false)).is_ok(),
                "Masked may reference Secrets: {pod}"
            );
        }
        let fine = deploy(
            json!({"imagePullSecrets": [{"name": "reg"}], "containers": [{"env": [{"name": "A", "value": "secret"}]}]}),
        );
        assert!(check_object(&fine, "team-a", &r).is_ok());
        assert!(
            check_object(
                &json!({"kind": "ConfigMap", "data": {"secret": "x"}}),
                "team-a",
                &r
            )
            .is_ok()
        );
    }

    #[test]
    fn patches() {
        let r = rules(true);
        let bad = [
            json!({"spec": {"template": {"spec": {"serviceAccountName": "kube-mcp.ep"}}}}),
            json!([{"op": "replace", "path": "/spec/template/spec/serviceAccountName", "value": "kube-mcp.ep"}]),
            json!([{"op": "copy", "from": "/metadata/name", "path": "/spec/template/spec/serviceAccountName"}]),
            json!({"spec": {"template": {"spec": {"volumes": [{"name": "v", "secret": {"secretName": "db"}}]}}}}),
            json!([{"op": "add", "path": "/spec/template/spec/volumes/-", "value": {"name": "v", "secret": {"secretName": "db"}}}]),
            json!([{"op": "replace", "path": "/spec/template/spec/volumes/0/secret/secretName", "value": "db"}]),
        ];
        for p in bad {
            assert!(check_patch(&p, "team-a", &r).is_err(), "{p}");
        }
        let good = [
            json!({"spec": {"replicas": 3}}),
            json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:2"}]),
            json!({"spec": {"template": {"spec": {"serviceAccountName": "worker"}}}}),
        ];
        for p in good {
            assert!(check_patch(&p, "team-a", &r).is_ok(), "{p}");
        }
    }
}
