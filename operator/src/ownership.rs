//! Which objects are the endpoint's own. Pure.
//!
//! The operator never adopts: an object that exists under a child's name but
//! was not created for this endpoint is left as it is, and the endpoint is
//! refused with `NameConflict`. Otherwise creating an McpEndpoint named like
//! someone's Role would rewrite that Role (and whoever it is bound to would
//! get the endpoint's rights), or run the server as someone's ServiceAccount.
//!
//! Ours means: an owner reference with the endpoint's UID (children in the
//! endpoint's namespace), or the `kubemcp.io/owner-uid` label with it
//! (objects in other namespaces and cluster-scoped ones, which cannot carry an
//! owner reference). Names alone never count: an endpoint deleted and created
//! again is another endpoint.

use crate::labels;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// How a desired object says whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// A controller owner reference to the endpoint with this UID.
    Reference(String),
    /// The owner-uid label with this UID.
    Label(String),
}

impl Claim {
    pub fn uid(&self) -> &str {
        match self {
            Claim::Reference(u) | Claim::Label(u) => u,
        }
    }
}

/// The claim of a desired object; None for objects that belong to no
/// endpoint (the CRD the operator installs).
pub fn claim(desired: &ObjectMeta) -> Option<Claim> {
    if let Some(r) = desired
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
    {
        return Some(Claim::Reference(r.uid.clone()));
    }
    desired
        .labels
        .as_ref()?
        .get(labels::OWNER_UID)
        .map(|u| Claim::Label(u.clone()))
}

/// What routing, pruning and the ownership checks read of a live object:
/// its owner labels and the UIDs of its owner references. The child stores
/// keep only this of a child's labels and references ([`crate::stored`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// The owner-namespace and owner-name labels (both, or none).
    endpoint: Option<Box<(Box<str>, Box<str>)>>,
    /// The owner-uid label.
    uid: Option<Box<str>>,
    /// The UIDs of the owner references.
    references: Box<[Box<str>]>,
}

impl Marks {
    pub fn of(meta: &ObjectMeta) -> Marks {
        let label = |key: &str| meta.labels.as_ref()?.get(key).map(|v| v.as_str().into());
        Marks {
            endpoint: meta
                .labels
                .as_ref()
                .and_then(labels::owner_of)
                .map(|(ns, name)| Box::new((ns.into(), name.into()))),
            uid: label(labels::OWNER_UID),
            references: meta
                .owner_references
                .iter()
                .flatten()
                .map(|r| r.uid.as_str().into())
                .collect(),
        }
    }

    /// The endpoint `(namespace, name)` the owner labels point back to.
    pub fn endpoint(&self) -> Option<(&str, &str)> {
        self.endpoint.as_deref().map(|(ns, name)| (&**ns, &**name))
    }
}

/// Whether the live object is the one `claim` describes.
pub fn holds(claim: &Claim, live: &Marks) -> bool {
    match claim {
        Claim::Reference(uid) => live.references.iter().any(|r| **r == **uid),
        Claim::Label(uid) => live.uid.as_deref() == Some(uid.as_str()),
    }
}

/// Whether an object found through the endpoint's owner namespace/name labels
/// may be deleted by the endpoint with `uid`: it names this endpoint's UID, or
/// it predates the UID label (earlier versions) and no other endpoint owns it.
pub fn prunable(live: &Marks, uid: &str) -> bool {
    match live.uid.as_deref() {
        Some(u) => u == uid,
        None => live.references.iter().all(|r| &**r == uid),
    }
}

/// An object under a child's name that is not the endpoint's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub kind: String,
    /// None for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
}

impl Conflict {
    /// `Role team-a/developer`, `ClusterRole kube-mcp:ops:wide`.
    pub fn object(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// The condition message: what collides and what to do about it.
    pub fn message(&self) -> String {
        format!(
            "{} already exists and was not created for this endpoint; the operator does not take over \
             objects it did not create, so nothing is granted or deployed. Rename the endpoint, or \
             rename or delete the existing {}",
            self.object(),
            self.kind
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use std::collections::BTreeMap;

    fn meta(owner: Option<&str>, label: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            owner_references: owner.map(|u| {
                vec![OwnerReference {
                    uid: u.into(),
                    controller: Some(true),
                    ..OwnerReference::default()
                }]
            }),
            labels: label.map(|u| BTreeMap::from([(labels::OWNER_UID.to_string(), u.to_string())])),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn claims() {
        assert_eq!(
            claim(&meta(Some("u1"), Some("u1"))),
            Some(Claim::Reference("u1".into()))
        );
        assert_eq!(
            claim(&meta(None, Some("u1"))),
            Some(Claim::Label("u1".into()))
        );
        assert_eq!(claim(&meta(None, None)), None);
    }

    #[test]
    fn ownership_table() {
        let by_ref = Claim::Reference("u1".into());
        let by_label = Claim::Label("u1".into());
        // (claim, live owner ref uid, live owner-uid label, ours?)
        let cases = [
            (&by_ref, Some("u1"), None, true),
            (&by_ref, Some("u1"), Some("u1"), true),
            (&by_ref, Some("u2"), Some("u1"), false),
            (&by_ref, None, Some("u1"), false),
            (&by_ref, None, None, false),
            (&by_label, None, Some("u1"), true),
            (&by_label, Some("u1"), None, false),
            (&by_label, None, Some("u2"), false),
            (&by_label, None, None, false),
        ];
        for (c, owner, label, want) in cases {
            assert_eq!(
                holds(c, &Marks::of(&meta(owner, label))),
                want,
                "{c:?} {owner:?} {label:?}"
            );
        }
    }

    #[test]
    fn pruning_table() {
        // (live owner ref uid, live owner-uid label, prunable by u1?)
        let cases = [
            (None, Some("u1"), true),
            (None, Some("u2"), false),
            (Some("u2"), Some("u1"), true),
            // Earlier versions: labels without a UID.
            (None, None, true),
            (Some("u1"), None, true),
            (Some("u2"), None, false),
        ];
        for (owner, label, want) in cases {
            assert_eq!(
                prunable(&Marks::of(&meta(owner, label)), "u1"),
                want,
                "{owner:?} {label:?}"
            );
        }
    }

    #[test]
    fn conflict_names_the_object_and_the_fix() {
        let c = Conflict {
            kind: "Role".into(),
            namespace: Some("team-a".into()),
            name: "developer".into(),
        };
        assert!(
            c.message()
                .starts_with("Role team-a/developer already exists")
        );
        assert!(c.message().contains("Rename the endpoint"));
        let c = Conflict {
            kind: "ClusterRole".into(),
            namespace: None,
            name: "kube-mcp:ops:wide".into(),
        };
        assert_eq!(c.object(), "ClusterRole kube-mcp:ops:wide");
    }
}
