//! How the watches keep a child: its name and the marks of whose it is
//! parsed, the whole object as the JSON text the API server sent.
//!
//! A store of typed objects costs what k8s-openapi's structs cost: a
//! Deployment of ours is ~21 KB in memory (its pod spec alone ~17 KB, every
//! optional field of every container held inline), against ~4 KB of JSON.
//! Parsed metadata is dear too: a child's labels and annotations, two
//! B-tree maps, came to ~2.3 KB an object (heaptrack at 1,000 endpoints: 20
//! of the 45 MiB peak heap), three times their JSON. Routing, pruning and
//! the ownership checks read only the name and the [`Marks`]; the whole
//! object is parsed ([`Stored::object`]) only for the child a reconcile is
//! about to apply.

use crate::ownership::Marks;
use kube::Resource;
use kube::core::ObjectMeta;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// An object of kind K as a store keeps it.
pub struct Stored<K> {
    /// Name, namespace, UID and resourceVersion only (what the store's keys
    /// and a delete's preconditions read); the rest is in the text.
    pub metadata: ObjectMeta,
    /// Its owner labels and references.
    marks: Marks,
    /// The whole object without managedFields, as JSON text.
    text: Arc<str>,
    kind: PhantomData<fn() -> K>,
}

impl<K: Resource<DynamicType = ()> + DeserializeOwned> Stored<K> {
    /// Keeps `obj` (a JSON object) as stored; managedFields are dropped (server
    /// bookkeeping we never read, often half of a small object).
    pub fn from_value(mut obj: Value) -> Result<Self, serde_json::Error> {
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
        let full = match obj.get("metadata") {
            Some(m) => ObjectMeta::deserialize(m)?,
            None => ObjectMeta::default(),
        };
        Ok(Stored {
            marks: Marks::of(&full),
            metadata: ObjectMeta {
                name: full.name,
                namespace: full.namespace,
                uid: full.uid,
                resource_version: full.resource_version,
                ..ObjectMeta::default()
            },
            text: obj.to_string().into(),
            kind: PhantomData,
        })
    }

    /// The whole object, parsed.
    pub fn object(&self) -> Result<K, serde_json::Error> {
        serde_json::from_str(&self.text)
    }
}

impl<K> Stored<K> {
    /// Whose it is: its owner labels and references.
    pub fn marks(&self) -> &Marks {
        &self.marks
    }
}

// Derives would ask K for Clone and Debug; a Stored<K> holds no K.
impl<K> Clone for Stored<K> {
    fn clone(&self) -> Self {
        Stored {
            metadata: self.metadata.clone(),
            marks: self.marks.clone(),
            text: Arc::clone(&self.text),
            kind: PhantomData,
        }
    }
}

impl<K> fmt::Debug for Stored<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the text: a Secret's data is in it.
        f.debug_struct("Stored")
            .field("namespace", &self.metadata.namespace)
            .field("name", &self.metadata.name)
            .finish_non_exhaustive()
    }
}

impl<'de, K: Resource<DynamicType = ()> + DeserializeOwned> Deserialize<'de> for Stored<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Stored::from_value(Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Stored<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Secret;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "team-a", "uid": "u1",
                "labels": {"app": "web"},
                "managedFields": [{"manager": "kube-mcp-operator", "operation": "Apply"}]
            },
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
            "status": {"availableReplicas": 1}
        })
    }

    #[test]
    fn keeps_the_object_without_managed_fields() {
        let s: Stored<Deployment> = serde_json::from_value(deployment()).unwrap();
        assert_eq!(s.metadata.name.as_deref(), Some("web"));
        assert_eq!(Stored::<Deployment>::kind(&()), "Deployment");
        let d = s.object().unwrap();
        assert_eq!(d.metadata.managed_fields, None);
        assert_eq!(d.metadata.labels.unwrap()["app"], "web");
        assert_eq!(d.spec.unwrap().replicas, Some(2));
        assert_eq!(d.status.unwrap().available_replicas, Some(1));
        let mut want: Deployment = serde_json::from_value(deployment()).unwrap();
        want.metadata.managed_fields = None;
        assert_eq!(s.object().unwrap(), want);
    }

    #[test]
    fn parses_only_the_name_and_the_marks() {
        let mut obj = deployment();
        obj["metadata"]["labels"] = json!({
            crate::labels::OWNER_NAMESPACE: "team-a", crate::labels::OWNER_NAME: "ep",
            crate::labels::OWNER_UID: "ep-uid", "app": "web"
        });
        obj["metadata"]["ownerReferences"] = json!([{"apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint", "name": "ep", "uid": "ep-uid"}]);
        let s: Stored<Deployment> = serde_json::from_value(obj).unwrap();
        assert_eq!(s.marks().endpoint(), Some(("team-a", "ep")));
        let ours = crate::ownership::Claim::Reference("ep-uid".into());
        assert!(crate::ownership::holds(&ours, s.marks()));
        assert!(crate::ownership::prunable(s.marks(), "ep-uid"));
        assert!(!crate::ownership::prunable(s.marks(), "another-uid"));
        let m = &s.metadata;
        assert_eq!((m.uid.as_deref(), m.labels.as_ref()), (Some("u1"), None));
        assert_eq!(s.object().unwrap().metadata.labels.unwrap()["app"], "web");
    }

    #[test]
    fn debug_never_shows_a_secrets_data() {
        let s: Stored<Secret> = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "t", "namespace": "a"},
            "data": {"token": "aHVudGVyMg=="}
        }))
        .unwrap();
        let shown = format!("{s:?}");
        assert!(
            shown.contains("\"t\"") && !shown.contains("aHVudGVyMg"),
            "{shown}"
        );
        assert_eq!(s.object().unwrap().data.unwrap()["token"].0, b"hunter2");
    }

    #[test]
    fn a_list_item_of_the_wrong_shape_is_an_error() {
        let r: Result<Stored<Deployment>, _> = serde_json::from_value(json!({"metadata": "nope"}));
        assert!(r.is_err());
    }
}
