//! Whether a child needs applying. Server-side apply of an unchanged object
//! changes nothing, but it is still a write request; at 1,000 endpoints a
//! periodic resync would send thousands. A child is skipped only when it
//! carries the fingerprint of the object we would apply now (so fields we
//! stopped setting are still removed by a real apply) and every field we
//! set still has our value (so someone else's edit of our fields is
//! reverted).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Annotation carrying the fingerprint of the last applied desired object.
pub const APPLIED: &str = "kubemcp.io/applied";

/// A short stable fingerprint of the desired object (before the annotation is added).
pub fn fingerprint(desired: &Value) -> String {
    let digest = Sha256::digest(desired.to_string().as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Whether `existing` holds every field of `desired` with the same value.
/// Extra fields (server defaults, status, other managers' fields) are fine.
pub fn covers(existing: &Value, desired: &Value) -> bool {
    match (existing, desired) {
        (Value::Object(e), Value::Object(d)) => d
            .iter()
            .all(|(k, dv)| e.get(k).is_some_and(|ev| covers(ev, dv))),
        (Value::Array(e), Value::Array(d)) => {
            e.len() == d.len() && e.iter().zip(d).all(|(ev, dv)| covers(ev, dv))
        }
        (e, d) => e == d,
    }
}

/// Skip the apply when the live object already is what we would apply.
pub fn up_to_date(existing: &Value, desired_with_fingerprint: &Value, fingerprint: &str) -> bool {
    existing["metadata"]["annotations"][APPLIED].as_str() == Some(fingerprint)
        && covers(existing, desired_with_fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn covers_table() {
        let desired = json!({"metadata": {"name": "a", "labels": {"k": "v"}}, "rules": [{"verbs": ["get"], "resources": ["pods"]}]});
        let cases = [
            (
                json!({"metadata": {"name": "a", "uid": "u", "labels": {"k": "v", "x": "y"}}, "rules": [{"verbs": ["get"], "resources": ["pods"], "apiGroups": [""]}]}),
                true,
            ),
            (
                json!({"metadata": {"name": "a", "labels": {"k": "other"}}, "rules": [{"verbs": ["get"], "resources": ["pods"]}]}),
                false,
            ),
            (
                json!({"metadata": {"name": "a", "labels": {"k": "v"}}, "rules": [{"verbs": ["get", "delete"], "resources": ["pods"]}]}),
                false,
            ),
            (
                json!({"metadata": {"name": "a", "labels": {"k": "v"}}, "rules": []}),
                false,
            ),
            (
                json!({"metadata": {"name": "a"}, "rules": [{"verbs": ["get"], "resources": ["pods"]}]}),
                false,
            ),
        ];
        for (existing, want) in cases {
            assert_eq!(covers(&existing, &desired), want, "{existing}");
        }
    }

    #[test]
    fn a_changed_desired_object_or_a_missing_fingerprint_is_applied() {
        let desired =
            json!({"metadata": {"name": "a", "annotations": {APPLIED: "f1"}}, "data": {"k": "v"}});
        let live = json!({"metadata": {"name": "a", "resourceVersion": "9", "annotations": {APPLIED: "f1"}}, "data": {"k": "v"}});
        assert!(up_to_date(&live, &desired, "f1"));
        assert!(
            !up_to_date(&live, &desired, "f2"),
            "a field we stopped setting must still be removed"
        );
        let edited = json!({"metadata": {"name": "a", "annotations": {APPLIED: "f1"}}, "data": {"k": "changed"}});
        assert!(
            !up_to_date(&edited, &desired, "f1"),
            "someone else's edit of our field is reverted"
        );
        assert_eq!(fingerprint(&json!({"a": 1})), fingerprint(&json!({"a": 1})));
        assert_ne!(fingerprint(&json!({"a": 1})), fingerprint(&json!({"a": 2})));
    }
}
