//! The one write path for children, with the ownership check no child can skip.
//!
//! A child is first [`fetch`]ed: the live object of its name is read and, if
//! it is not the endpoint's ([`ownership`]), the fetch fails with
//! [`Error::NameConflict`]. Only a [`Checked`] child can be [`apply`]d, so the
//! reconciler checks every child of a pass before it writes the first one:
//! a conflict anywhere means nothing is written. A pass applies its children
//! through a [`ChildSet`], which then prunes every other object with the
//! endpoint's owner labels, whatever its kind: adding a kind cannot skip
//! pruning. Deletes go through [`delete_owned`] and [`ChildSet::prune`],
//! which delete only the endpoint's own objects.

use crate::cache::{self, Caches, Child};
use crate::crd::McpEndpoint;
use crate::drift;
use crate::error::{BuildError, Error, Result};
use crate::names::FIELD_MANAGER;
use crate::ownership::{self, Claim, Conflict};
use crate::status;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::fmt::Debug;
use tracing::{debug, info, warn};

pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// A desired object whose name is free or already the endpoint's.
pub struct Checked<K> {
    desired: K,
    live: Option<K>,
}

impl<K: Resource<DynamicType = ()>> Checked<K> {
    /// Pairs `desired` with the live object of its name, which must be ours.
    pub fn new(desired: K, live: Option<K>) -> Result<Self> {
        let claim = claim(desired.meta())?;
        if let (Some(c), Some(l)) = (&claim, &live)
            && !ownership::holds(c, &ownership::Marks::of(l.meta()))
        {
            return Err(Error::NameConflict(Conflict {
                kind: K::kind(&()).to_string(),
                namespace: l.namespace(),
                name: l.name_any(),
            }));
        }
        Ok(Checked { desired, live })
    }

    pub fn desired(&self) -> &K {
        &self.desired
    }

    pub fn live(&self) -> Option<&K> {
        self.live.as_ref()
    }
}

fn claim(desired: &ObjectMeta) -> Result<Option<Claim>> {
    match ownership::claim(desired) {
        Some(c) if c.uid().is_empty() => Err(BuildError::MissingField("metadata.uid").into()),
        c => Ok(c),
    }
}

fn name_of<K: Resource>(obj: &K) -> Result<String> {
    Ok(obj
        .meta()
        .name
        .clone()
        .ok_or(BuildError::MissingField("metadata.name"))?)
}

/// Reads the live object of `desired`'s name from the API server and checks
/// that it is ours (kinds without a store: the CRD).
pub async fn fetch_live<K>(api: &Api<K>, desired: K) -> Result<Checked<K>>
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    let live = api.get_opt(&name_of(&desired)?).await?;
    Checked::new(desired, live)
}

/// The live object of `desired`'s name, from the store when it has it, and
/// checks that it is ours. The stores hold only objects with our labels, so
/// a name that someone else's object may hold is read from the API server:
/// that object must still be found.
pub async fn fetch<K: Child>(caches: &Caches, api: &Api<K>, desired: K) -> Result<Checked<K>> {
    let name = name_of(&desired)?;
    let live = live(caches, api, desired.meta().namespace.as_deref(), &name).await?;
    Checked::new(desired, live)
}

/// The object `ns/name`: from the store; none when the watches know the name
/// is free; else from the API server (the store holds only objects with our
/// labels, and the name may be someone else's).
pub async fn live<K: Child>(
    caches: &Caches,
    api: &Api<K>,
    ns: Option<&str>,
    name: &str,
) -> Result<Option<K>> {
    let stored = cache::get::<K>(caches, ns, name).and_then(|o| {
        o.object()
            .inspect_err(|e| warn!(kind = %K::kind(&()), ?ns, name, error = %e, "a stored object does not parse; reading it from the API server"))
            .ok()
    });
    if stored.is_some() || cache::name_free::<K>(caches, ns, name) {
        return Ok(stored);
    }
    Ok(api.get_opt(name).await?)
}

/// Server-side apply with one field manager, skipped (no write) when the live
/// object already is what we would apply.
pub async fn apply<K>(api: &Api<K>, child: Checked<K>) -> Result<K>
where
    K: Resource + Serialize + DeserializeOwned + Clone + Debug,
{
    let Checked { desired, live } = child;
    let name = name_of(&desired)?;
    let fingerprint =
        drift::fingerprint(&serde_json::to_value(&desired).map_err(Error::Serialize)?);
    let mut obj = desired;
    obj.meta_mut()
        .annotations
        .get_or_insert_default()
        .insert(drift::APPLIED.to_string(), fingerprint.clone());
    if let Some(live) = live {
        let desired = serde_json::to_value(&obj).map_err(Error::Serialize)?;
        let live_value = serde_json::to_value(&live).map_err(Error::Serialize)?;
        if drift::up_to_date(&live_value, &desired, &fingerprint) {
            return Ok(live);
        }
    }
    Ok(api
        .patch(&name, &apply_params(), &Patch::Apply(&obj))
        .await?)
}

/// Deletes `meta`'s object, only if it is still the same object (its UID).
async fn delete_exact<K>(api: &Api<K>, meta: &ObjectMeta) -> Result<()>
where
    K: Resource + DeserializeOwned + Clone + Debug,
{
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: meta.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match api
        .delete(&meta.name.clone().unwrap_or_default(), &dp)
        .await
    {
        Ok(_) => Ok(()),
        // Gone, or replaced by another object since we read it: not ours to delete.
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the object `name` in the endpoint's namespace if the endpoint owns
/// it (an owner reference with its UID); anything else of that name stays.
pub async fn delete_owned<K: Child>(
    caches: &Caches,
    api: &Api<K>,
    name: &str,
    ep: &McpEndpoint,
) -> Result<()> {
    let ns = crate::names::namespace(ep);
    let Some(live) = cache::get::<K>(caches, Some(&ns), name) else {
        return Ok(());
    };
    let ours = Claim::Reference(ep.uid().unwrap_or_default());
    if !ownership::holds(&ours, live.marks()) {
        debug!(endpoint = %status::describe(ep), kind = %K::kind(&()), name, "not deleting an object the endpoint does not own");
        return Ok(());
    }
    delete_exact(api, live.meta()).await
}

/// An Api for a namespaced kind in `ns`, or for a cluster-scoped kind (`ns` None).
pub trait ApiFor: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug + Sized {
    fn api_for(client: &Client, ns: Option<&str>) -> Api<Self>;
}

macro_rules! namespaced_api_for {
    ($($k:ty),*) => {$(
        impl ApiFor for $k {
            fn api_for(client: &Client, ns: Option<&str>) -> Api<Self> {
                Api::namespaced(client.clone(), ns.unwrap_or_default())
            }
        }
    )*};
}
macro_rules! cluster_api_for {
    ($($k:ty),*) => {$(
        impl ApiFor for $k {
            fn api_for(client: &Client, _: Option<&str>) -> Api<Self> {
                Api::all(client.clone())
            }
        }
    )*};
}
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
namespaced_api_for!(
    Role,
    RoleBinding,
    Deployment,
    Service,
    ServiceAccount,
    NetworkPolicy
);
cluster_api_for!(ClusterRole, ClusterRoleBinding);

/// Deletes every object of kind K the endpoint caused (found through its
/// owner labels in the store) whose (namespace, name) is not in `keep`,
/// and only when [`ownership::prunable`]: an object whose owner UID names
/// another endpoint (an earlier one of the same name, say) is never touched.
async fn prune<K: ApiFor + Child>(
    client: &Client,
    caches: &Caches,
    ep: &McpEndpoint,
    keep: &BTreeSet<Key>,
) -> Result<()> {
    let uid = ep.uid().unwrap_or_default();
    let owned = cache::owned_by::<K>(
        caches,
        &crate::names::namespace(ep),
        &crate::names::base(ep),
    );
    for o in owned {
        let key = key_of(o.as_ref());
        if keep.contains(&key) || !ownership::prunable(o.marks(), &uid) {
            continue;
        }
        let api = K::api_for(client, o.namespace().as_deref());
        info!(endpoint = %status::describe(ep), kind = %key.0, ns = %key.1, name = %key.2, "removing object no longer wanted");
        delete_exact(&api, o.meta()).await?;
    }
    Ok(())
}

/// Kind, namespace ("" for cluster-scoped) and name.
type Key = (String, String, String);

fn key_of<K: Resource<DynamicType = ()>>(o: &K) -> Key {
    (
        K::kind(&()).to_string(),
        o.namespace().unwrap_or_default(),
        o.name_any(),
    )
}

/// The children one pass applied. Whatever else carries the endpoint's
/// owner labels, of any stored kind, is pruned at the end of the pass.
/// Applies may run at once (`&self`); each keeps its child before it writes.
#[derive(Default)]
pub struct ChildSet {
    applied: std::sync::Mutex<BTreeSet<Key>>,
}

impl ChildSet {
    /// Applies a checked child and keeps it.
    pub async fn apply<K>(&self, api: &Api<K>, child: Checked<K>) -> Result<K>
    where
        K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Debug,
    {
        self.applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key_of(child.desired()));
        apply(api, child).await
    }

    /// [`Self::apply`] in the child's own namespace (or cluster-wide).
    pub async fn apply_in<K: ApiFor + Serialize>(
        &self,
        client: &Client,
        child: Checked<K>,
    ) -> Result<K> {
        let api = K::api_for(client, child.desired().meta().namespace.as_deref());
        self.apply(&api, child).await
    }

    /// [`Self::apply_in`] of a child the endpoint may not have.
    pub async fn apply_opt<K: ApiFor + Serialize>(
        &self,
        client: &Client,
        child: Option<Checked<K>>,
    ) -> Result<Option<K>> {
        match child {
            Some(c) => self.apply_in(client, c).await.map(Some),
            None => Ok(None),
        }
    }

    /// Deletes every other object the endpoint caused: bindings before the
    /// roles they bind (no moment with a binding to a changed role), the
    /// workload before its ServiceAccount.
    pub async fn prune(self, client: &Client, caches: &Caches, ep: &McpEndpoint) -> Result<()> {
        let keep = &self
            .applied
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        prune::<RoleBinding>(client, caches, ep, keep).await?;
        prune::<Role>(client, caches, ep, keep).await?;
        prune::<ClusterRoleBinding>(client, caches, ep, keep).await?;
        prune::<ClusterRole>(client, caches, ep, keep).await?;
        prune::<NetworkPolicy>(client, caches, ep, keep).await?;
        prune::<Service>(client, caches, ep, keep).await?;
        prune::<Deployment>(client, caches, ep, keep).await?;
        prune::<ServiceAccount>(client, caches, ep, keep).await?;
        Ok(())
    }
}

/// Removes every grant of `ep` (Roles, RoleBindings, ClusterRole, ClusterRoleBinding).
pub async fn revoke_rbac(client: &Client, caches: &Caches, ep: &McpEndpoint) -> Result<()> {
    let none = BTreeSet::new();
    prune::<RoleBinding>(client, caches, ep, &none).await?;
    prune::<Role>(client, caches, ep, &none).await?;
    prune::<ClusterRoleBinding>(client, caches, ep, &none).await?;
    prune::<ClusterRole>(client, caches, ep, &none).await?;
    Ok(())
}
