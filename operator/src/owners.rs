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

use crate::cache;
use crate::crd::McpEndpoint;
use kube::Resource;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Event;
use std::collections::{HashMap, HashSet};

type Index<R> = HashMap<ObjectRef<McpEndpoint>, HashSet<ObjectRef<R>>>;

/// Objects of kind R by the endpoint their owner labels name.
pub struct Owners<R: Resource<DynamicType = ()>> {
    by_owner: Index<R>,
    /// The index a relist is building; it replaces `by_owner` when the list
    /// ends, which drops whatever was deleted while the watch was away.
    relist: Option<Index<R>>,
}

impl<R: Resource<DynamicType = ()>> Default for Owners<R> {
    fn default() -> Self {
        Owners {
            by_owner: HashMap::new(),
            relist: None,
        }
    }
}

impl<R: Resource<DynamicType = ()>> Owners<R> {
    /// Follows one watch event, as the reflector does for the store.
    pub fn event(&mut self, event: &Event<R>) {
        match event {
            Event::Apply(o) => {
                if let Some(ep) = cache::owner(o) {
                    self.by_owner
                        .entry(ep)
                        .or_default()
                        .insert(ObjectRef::from_obj(o));
                }
            }
            Event::Delete(o) => {
                if let Some(ep) = cache::owner(o)
                    && let Some(set) = self.by_owner.get_mut(&ep)
                {
                    set.remove(&ObjectRef::from_obj(o));
                    if set.is_empty() {
                        self.by_owner.remove(&ep);
                    }
                }
            }
            Event::Init => self.relist = Some(HashMap::new()),
            Event::InitApply(o) => {
                if let Some(ep) = cache::owner(o) {
                    let relist = self.relist.get_or_insert_with(HashMap::new);
                    relist.entry(ep).or_default().insert(ObjectRef::from_obj(o));
                }
            }
            Event::InitDone => {
                if let Some(relist) = self.relist.take() {
                    self.by_owner = relist;
                }
            }
        }
    }

    /// The objects the index holds for `ep`.
    pub fn of(&self, ep: &ObjectRef<McpEndpoint>) -> Vec<ObjectRef<R>> {
        self.by_owner
            .get(ep)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::core::ObjectMeta;

    fn owned(name: &str, owner: Option<&str>) -> ConfigMap {
        ConfigMap {
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
        }
    }

    fn names(o: &Owners<ConfigMap>, ep: &str) -> Vec<String> {
        let mut v: Vec<String> = o
            .of(&ObjectRef::new(ep).within("team"))
            .into_iter()
            .map(|r| r.name)
            .collect();
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
}
