//! The cleanup finalizer, held only while an endpoint has grants the garbage
//! collector cannot take with it.
//!
//! Children in the endpoint's own namespace carry its owner reference and go
//! with it. A Role or RoleBinding in another namespace, and a ClusterRole or
//! ClusterRoleBinding, cannot point at a namespaced owner: only the operator
//! can revoke them, so only then does the endpoint get the finalizer (and
//! keeps it until deleted). Most endpoints are namespace-local: they skip a
//! write and a reconcile when created, and deleting them (or their
//! namespace) never waits for the operator.
//!
//! The patches mirror kube-runtime's own finalizer helper (a JSON patch that
//! tests what it read), which always adds the finalizer.

use crate::crd::McpEndpoint;
use crate::names::FINALIZER;
use kube::ResourceExt;
use serde_json::{Value, json};

/// Whether grants at these namespaces (`None`: cluster-scoped) need the
/// operator to revoke them: any outside `home`.
pub fn needed<'a>(home: &str, grants: impl IntoIterator<Item = Option<&'a str>>) -> bool {
    grants.into_iter().any(|ns| ns != Some(home))
}

/// Whether the endpoint holds the finalizer.
pub fn held(ep: &McpEndpoint) -> bool {
    ep.finalizers().iter().any(|f| f == FINALIZER)
}

/// The JSON patch that adds the finalizer, None when it is held. It fails (422)
/// if the finalizers changed since `ep` was read, and the API server refuses
/// it once the endpoint is being deleted: no grant outside the namespace is
/// ever written without the finalizer that revokes it.
pub fn add(ep: &McpEndpoint) -> Option<Value> {
    if held(ep) {
        return None;
    }
    Some(if ep.finalizers().is_empty() {
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ])
    } else {
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": ep.finalizers()},
            {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER},
        ])
    })
}

/// The JSON patch that removes the finalizer, None when it is not held.
pub fn remove(ep: &McpEndpoint) -> Option<Value> {
    let i = ep.finalizers().iter().position(|f| f == FINALIZER)?;
    let path = format!("/metadata/finalizers/{i}");
    Some(json!([
        {"op": "test", "path": path, "value": FINALIZER},
        {"op": "remove", "path": path},
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::McpEndpointSpec;

    fn ep(finalizers: &[&str]) -> McpEndpoint {
        let mut e = McpEndpoint::new("e", McpEndpointSpec::default());
        e.metadata.namespace = Some("team-a".into());
        e.metadata.finalizers = Some(finalizers.iter().map(|f| f.to_string()).collect());
        e
    }

    #[test]
    fn only_grants_outside_the_namespace_need_the_finalizer() {
        let cases: &[(&[Option<&str>], bool)] = &[
            (&[], false),
            (&[Some("team-a")], false),
            (&[Some("team-a"), Some("team-b")], true),
            (&[None], true),
            (&[Some("team-a"), None], true),
        ];
        for (grants, want) in cases {
            assert_eq!(
                needed("team-a", grants.iter().copied()),
                *want,
                "{grants:?}"
            );
        }
    }

    #[test]
    fn adding_tests_what_was_read_and_keeps_other_finalizers() {
        let p = add(&ep(&[])).unwrap();
        assert_eq!(
            p[0],
            json!({"op": "test", "path": "/metadata/finalizers", "value": null})
        );
        assert_eq!(p[1]["value"], json!([FINALIZER]));
        let p = add(&ep(&["example.com/keep"])).unwrap();
        assert_eq!(p[0]["value"], json!(["example.com/keep"]));
        assert_eq!(
            p[1],
            json!({"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER})
        );
        assert!(add(&ep(&[FINALIZER])).is_none(), "held: nothing to add");
    }

    #[test]
    fn removing_takes_only_ours() {
        let p = remove(&ep(&["example.com/keep", FINALIZER])).unwrap();
        assert_eq!(
            p,
            json!([
                {"op": "test", "path": "/metadata/finalizers/1", "value": FINALIZER},
                {"op": "remove", "path": "/metadata/finalizers/1"},
            ])
        );
        assert!(remove(&ep(&["example.com/keep"])).is_none());
        assert!(held(&ep(&[FINALIZER])) && !held(&ep(&[])));
    }
}
