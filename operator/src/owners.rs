//! Which stored children each endpoint owns, kept beside a store by the
//! watch that fills it.
//!
//! A prune used to read every stored object of each kind and keep those whose
//! owner labels named the endpoint: nine kinds, a full scan each, for every
//! pass of every endpoint. At 300 endpoints perf put that scan at about a
//! third of the operator's CPU, and it grows with the square of the count.
//! The index answers with the endpoint's own objects.
//!
//! It follows the watch's events, so it may briefly lag the store and may
//! hold an object whose owner labels changed since; readers check each
//! object they get against the store (see [`crate::cache::owned_by`]).

use crate::stored::Stored;
use kube::Resource;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Event;
use std::collections::HashMap;
use std::marker::PhantomData;

/// Child keys (`namespace/name`, or `name` when cluster-scoped) by owner
/// key (`namespace/name`). Plain strings: at 1,000 endpoints and nine kinds
/// the index holds ~9,000 entries, and ObjectRefs in hash sets cost ~850
/// bytes each (RSS grew 5.5 MiB) against ~140 here. An endpoint owns one to
/// three objects of a kind, so a Vec is the set.
type Index = HashMap<Box<str>, Vec<Box<str>>>;

/// Stored objects of kind K by the endpoint their owner labels name.
pub struct Owners<K> {
    by_owner: Index,
    /// The index a relist is building; it replaces `by_owner` when the list
    /// ends, which drops whatever was deleted while the watch was away.
    relist: Option<Index>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Default for Owners<K> {
    fn default() -> Self {
        Owners {
            by_owner: HashMap::new(),
            relist: None,
            kind: PhantomData,
        }
    }
}

impl<K: Resource<DynamicType = ()>> Owners<K> {
    /// Follows one watch event, as the reflector does for the store.
    pub fn event(&mut self, event: &Event<Stored<K>>) {
        match event {
            Event::Apply(o) => add(&mut self.by_owner, o),
            Event::Delete(o) => {
                if let Some(owner) = owner_key(o)
                    && let Some(children) = self.by_owner.get_mut(&*owner)
                {
                    let key = child_key(o);
                    children.retain(|c| **c != *key);
                    if children.is_empty() {
                        self.by_owner.remove(&*owner);
                    }
                }
            }
            Event::Init => self.relist = Some(HashMap::new()),
            Event::InitApply(o) => add(self.relist.get_or_insert_with(HashMap::new), o),
            Event::InitDone => {
                if let Some(relist) = self.relist.take() {
                    self.by_owner = relist;
                }
            }
        }
    }

    /// The objects the index holds for the endpoint `ns/name`.
    pub fn of(&self, ns: &str, name: &str) -> Vec<ObjectRef<Stored<K>>> {
        let owner = join(Some(ns), name);
        let children = self.by_owner.get(&*owner).map(Vec::as_slice);
        children
            .unwrap_or_default()
            .iter()
            .map(|key| match key.split_once('/') {
                Some((ns, name)) => ObjectRef::new(name).within(ns),
                None => ObjectRef::new(key),
            })
            .collect()
    }
}

fn add<K>(index: &mut Index, o: &Stored<K>) {
    if let Some(owner) = owner_key(o) {
        let key = child_key(o);
        let children = index.entry(owner).or_default();
        if !children.contains(&key) {
            children.push(key);
        }
    }
}

fn owner_key<K>(o: &Stored<K>) -> Option<Box<str>> {
    let (ns, name) = o.marks().endpoint()?;
    Some(join(Some(ns), name))
}

fn child_key<K>(o: &Stored<K>) -> Box<str> {
    let meta = &o.metadata;
    join(
        meta.namespace.as_deref(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

/// `namespace/name`, or `name` without a namespace (names and namespaces
/// hold no `/`).
fn join(ns: Option<&str>, name: &str) -> Box<str> {
    match ns {
        Some(ns) => format!("{ns}/{name}").into(),
        None => name.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::core::ObjectMeta;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    fn owned(name: &str, owner: Option<&str>) -> Stored<ConfigMap> {
        stored(ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("team".into()),
                labels: owner.map(|o| {
                    [(labels::OWNER_NAMESPACE, "team"), (labels::OWNER_NAME, o)]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                }),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        })
    }

    fn stored<K: Serialize + Resource<DynamicType = ()> + DeserializeOwned>(o: K) -> Stored<K> {
        Stored::from_value(serde_json::to_value(o).unwrap()).unwrap()
    }

    fn names(o: &Owners<ConfigMap>, ep: &str) -> Vec<String> {
        let mut v: Vec<String> = o.of("team", ep).into_iter().map(|r| r.name).collect();
        v.sort();
        v
    }

    #[test]
    fn follows_applies_deletes_and_relists() {
        let mut o = Owners::default();
        o.event(&Event::Apply(owned("a-sa", Some("a"))));
        o.event(&Event::Apply(owned("a-role", Some("a"))));
        o.event(&Event::Apply(owned("b-sa", Some("b"))));
        o.event(&Event::Apply(owned("stray", None)));
        assert_eq!(names(&o, "a"), ["a-role", "a-sa"]);
        assert_eq!(names(&o, "b"), ["b-sa"]);

        o.event(&Event::Delete(owned("a-role", Some("a"))));
        assert_eq!(names(&o, "a"), ["a-sa"]);
        o.event(&Event::Delete(owned("b-sa", Some("b"))));
        assert!(names(&o, "b").is_empty());
        assert!(
            o.by_owner.len() == 1,
            "an endpoint with nothing left is dropped"
        );

        // A relist: until it ends the old index answers; then a-sa, deleted
        // while the watch was away, is gone.
        o.event(&Event::Init);
        o.event(&Event::InitApply(owned("b-sa", Some("b"))));
        assert_eq!(names(&o, "a"), ["a-sa"]);
        o.event(&Event::InitDone);
        assert!(names(&o, "a").is_empty());
        assert_eq!(names(&o, "b"), ["b-sa"]);
    }

    #[test]
    fn cluster_scoped_children_come_back_without_a_namespace() {
        use k8s_openapi::api::rbac::v1::ClusterRole;
        let mut role = ClusterRole::default();
        role.metadata.name = Some("kube-mcp-team-a".into());
        role.metadata.labels = owned("x", Some("a")).object().unwrap().metadata.labels;
        let mut o = Owners::default();
        o.event(&Event::Apply(stored(role)));
        let got = o.of("team", "a");
        assert_eq!(got, [ObjectRef::new("kube-mcp-team-a")]);
        assert_eq!(got[0].namespace, None);
    }
}
