//! The one write path for children, with the ownership check no child can skip.
//!
//! A child is first [`fetch`]ed: the live object of its name is read and, if
//! it is not the endpoint's ([`ownership`]), the fetch fails with
//! [`Error::NameConflict`]. Only a [`Checked`] child can be [`apply`]d, so the
//! reconciler checks every child of a pass before it writes the first one:
//! a conflict anywhere means nothing is written. Deletes go through
//! [`delete_owned`] and [`prune`], which delete only the endpoint's own objects.

use crate::crd::McpEndpoint;
use crate::drift;
use crate::error::{BuildError, Error, Result};
use crate::names::FIELD_MANAGER;
use crate::ownership::{self, Claim, Conflict};
use crate::{labels, status};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::fmt::Debug;
use tracing::{debug, info};

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
            && !ownership::holds(c, l.meta())
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

/// Reads the live object of `desired`'s name and checks that it is ours.
pub async fn fetch<K>(api: &Api<K>, desired: K) -> Result<Checked<K>>
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    let live = api.get_opt(&name_of(&desired)?).await?;
    Checked::new(desired, live)
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
pub async fn delete_owned<K>(api: &Api<K>, name: &str, ep: &McpEndpoint) -> Result<()>
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    let Some(live) = api.get_metadata_opt(name).await? else {
        return Ok(());
    };
    let ours = Claim::Reference(ep.uid().unwrap_or_default());
    if !ownership::holds(&ours, &live.metadata) {
        debug!(endpoint = %status::describe(ep), kind = %K::kind(&()), name, "not deleting an object the endpoint does not own");
        return Ok(());
    }
    delete_exact(api, &live.metadata).await
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
namespaced_api_for!(Role, RoleBinding);
cluster_api_for!(ClusterRole, ClusterRoleBinding);

/// Deletes every object of kind K (all namespaces, or cluster-scoped) the
/// endpoint caused whose (namespace, name) is not in `keep`. Found through the
/// owner namespace/name labels, deleted only when [`ownership::prunable`]:
/// an object whose owner UID names another endpoint (an earlier one of the
/// same name, say) is never touched.
pub async fn prune<K: ApiFor>(
    client: &Client,
    ep: &McpEndpoint,
    keep: &BTreeSet<(String, String)>,
) -> Result<()> {
    let uid = ep.uid().unwrap_or_default();
    let all: Api<K> = Api::all(client.clone());
    let lp = ListParams::default().labels(&labels::owner_selector(
        &crate::names::namespace(ep),
        &crate::names::base(ep),
    ));
    for o in all.list_metadata(&lp).await? {
        let key = (o.namespace().unwrap_or_default(), o.name_any());
        if keep.contains(&key) || !ownership::prunable(&o.metadata, &uid) {
            continue;
        }
        let api = K::api_for(client, o.namespace().as_deref());
        info!(endpoint = %status::describe(ep), kind = %K::kind(&()), ns = %key.0, name = %key.1, "removing object no longer granted");
        delete_exact(&api, &o.metadata).await?;
    }
    Ok(())
}

/// Removes every grant of `ep` (Roles, RoleBindings, ClusterRole, ClusterRoleBinding).
pub async fn revoke_rbac(client: &Client, ep: &McpEndpoint) -> Result<()> {
    let none = BTreeSet::new();
    prune::<RoleBinding>(client, ep, &none).await?;
    prune::<Role>(client, ep, &none).await?;
    prune::<ClusterRoleBinding>(client, ep, &none).await?;
    prune::<ClusterRole>(client, ep, &none).await?;
    Ok(())
}
