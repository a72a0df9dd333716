//! One watch per child kind, kept in a store that every reconcile reads in
//! place of a GET before each apply and a LIST before each prune.
//!
//! At 1,000 endpoints a resync that reads each child from the API server is
//! ~10,000 requests, and a prune that lists each RBAC kind cluster-wide per
//! endpoint is 4,000 lists of everything we manage. The watches the
//! controller needs anyway can answer both. The same watch also triggers the
//! controller (its events are shared with it), so a child changed by someone
//! else is reconciled from the state that triggered it.
//!
//! The stores select this operator's objects by label, so an object someone
//! else created under a child's name is not in them: the caller falls back
//! to a GET when the store has nothing ([`crate::apply::fetch`]), which is
//! what keeps the ownership check (no takeover by name) exact.

use crate::labels;
use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::runtime::reflector::{self, ObjectRef, ReflectHandle, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Events a subscriber may fall behind by before the watch waits for it.
const SHARED_BUFFER: usize = 1024;

/// A store and the namespace it covers (None: all).
pub struct Cached<K: Resource<DynamicType = ()> + Clone + 'static> {
    pub namespace: Option<String>,
    pub store: Store<K>,
}

/// A watch task that must be polled for the stores to fill.
pub type Driver = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Starts nothing: adds the watch's driver to `drivers` and returns its
/// store with `subscribers` handles to its events. Every handle must be
/// polled (a controller's trigger): the watch waits for the slowest.
fn watch<K>(
    api: Api<K>,
    namespace: Option<String>,
    subscribers: usize,
    drivers: &mut Vec<Driver>,
) -> (Cached<K>, Vec<ReflectHandle<K>>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (store, writer) = reflector::store_shared(SHARED_BUFFER);
    let handles = (0..subscribers)
        .filter_map(|_| writer.subscribe())
        .collect();
    let config = watcher::Config::default().labels(&labels::managed_selector());
    let stream = watcher(api, config)
        .default_backoff()
        // Server bookkeeping we never read; it is half of a small object.
        .modify(|o: &mut K| o.managed_fields_mut().clear())
        .reflect_shared(writer);
    drivers.push(Box::pin(drain(stream)));
    (Cached { namespace, store }, handles)
}

async fn drain<S: Stream>(stream: S) {
    // Errors are retried by the watcher's backoff; they are logged there.
    stream.for_each(|_| async {}).await
}

/// A watched scope (None: all namespaces) and its controller's triggers.
pub type ScopeTriggers = (Option<String>, Triggers);

/// One controller's triggers: the events of the stores it reads.
pub struct Triggers {
    pub deployments: ReflectHandle<Deployment>,
    pub services: ReflectHandle<Service>,
    pub service_accounts: ReflectHandle<ServiceAccount>,
    pub network_policies: ReflectHandle<NetworkPolicy>,
    pub roles: ReflectHandle<Role>,
    pub role_bindings: ReflectHandle<RoleBinding>,
    pub cluster_roles: ReflectHandle<ClusterRole>,
    pub cluster_role_bindings: ReflectHandle<ClusterRoleBinding>,
}

/// The stores of one watched scope's namespaced children.
pub struct Namespaced {
    pub deployments: Cached<Deployment>,
    pub services: Cached<Service>,
    pub service_accounts: Cached<ServiceAccount>,
    pub network_policies: Cached<NetworkPolicy>,
}

/// Every store: per watched scope for namespaced children, one cluster-wide
/// each for the RBAC kinds (whose objects may live outside the endpoint's
/// namespace).
pub struct Caches {
    pub scopes: Vec<Namespaced>,
    pub roles: Cached<Role>,
    pub role_bindings: Cached<RoleBinding>,
    pub cluster_roles: Cached<ClusterRole>,
    pub cluster_role_bindings: Cached<ClusterRoleBinding>,
}

impl Caches {
    /// One scope per watched namespace (or one for all). Starts nothing: the
    /// returned drivers run the watches, and each scope's controller must poll
    /// its [`Triggers`] (same order as `scopes`).
    pub fn new(
        client: &Client,
        watch_namespaces: &[String],
    ) -> (Arc<Caches>, Vec<ScopeTriggers>, Vec<Driver>) {
        let mut drivers = vec![];
        let names: Vec<Option<String>> = if watch_namespaces.is_empty() {
            vec![None]
        } else {
            watch_namespaces.iter().cloned().map(Some).collect()
        };
        let n = names.len();
        let (roles, mut r) = watch(Api::all(client.clone()), None, n, &mut drivers);
        let (role_bindings, mut rb) = watch(Api::all(client.clone()), None, n, &mut drivers);
        let (cluster_roles, mut cr) = watch(Api::all(client.clone()), None, n, &mut drivers);
        let (cluster_role_bindings, mut crb) =
            watch(Api::all(client.clone()), None, n, &mut drivers);
        let mut scopes = vec![];
        let mut triggers = vec![];
        for ns in names {
            let (deployments, mut d) =
                watch(scoped(client, ns.as_deref()), ns.clone(), 1, &mut drivers);
            let (services, mut s) =
                watch(scoped(client, ns.as_deref()), ns.clone(), 1, &mut drivers);
            let (service_accounts, mut sa) =
                watch(scoped(client, ns.as_deref()), ns.clone(), 1, &mut drivers);
            let (network_policies, mut np) =
                watch(scoped(client, ns.as_deref()), ns.clone(), 1, &mut drivers);
            scopes.push(Namespaced {
                deployments,
                services,
                service_accounts,
                network_policies,
            });
            // Each watch made exactly the handles asked for.
            let t = (|| {
                Some(Triggers {
                    deployments: d.pop()?,
                    services: s.pop()?,
                    service_accounts: sa.pop()?,
                    network_policies: np.pop()?,
                    roles: r.pop()?,
                    role_bindings: rb.pop()?,
                    cluster_roles: cr.pop()?,
                    cluster_role_bindings: crb.pop()?,
                })
            })();
            if let Some(t) = t {
                triggers.push((ns, t));
            }
        }
        let caches = Caches {
            scopes,
            roles,
            role_bindings,
            cluster_roles,
            cluster_role_bindings,
        };
        (Arc::new(caches), triggers, drivers)
    }

    /// Waits until every store has seen its first full list.
    pub async fn ready(&self) {
        let mut waits: Vec<Pin<Box<dyn Future<Output = _> + Send + '_>>> = vec![
            Box::pin(self.roles.store.wait_until_ready()),
            Box::pin(self.role_bindings.store.wait_until_ready()),
            Box::pin(self.cluster_roles.store.wait_until_ready()),
            Box::pin(self.cluster_role_bindings.store.wait_until_ready()),
        ];
        for s in &self.scopes {
            waits.push(Box::pin(s.deployments.store.wait_until_ready()));
            waits.push(Box::pin(s.services.store.wait_until_ready()));
            waits.push(Box::pin(s.service_accounts.store.wait_until_ready()));
            waits.push(Box::pin(s.network_policies.store.wait_until_ready()));
        }
        // A dropped writer means the operator is stopping; nothing to wait for.
        let _ = futures::future::join_all(waits).await;
    }
}

impl Namespaced {
    /// The namespace this scope's stores cover (None: all).
    pub fn namespace(&self) -> Option<&str> {
        self.deployments.namespace.as_deref()
    }
}

fn scoped<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A child kind with a store in [`Caches`].
pub trait Child: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + 'static {
    /// The store that holds objects of this kind in namespace `ns` (cluster-scoped: "").
    fn cached<'c>(caches: &'c Caches, ns: &str) -> Option<&'c Cached<Self>>;
}

macro_rules! namespaced_child {
    ($($k:ty => $field:ident),*) => {$(
        impl Child for $k {
            fn cached<'c>(caches: &'c Caches, ns: &str) -> Option<&'c Cached<Self>> {
                caches
                    .scopes
                    .iter()
                    .find(|s| s.namespace().is_none_or(|w| w == ns))
                    .map(|s| &s.$field)
            }
        }
    )*};
}
macro_rules! shared_child {
    ($($k:ty => $field:ident),*) => {$(
        impl Child for $k {
            fn cached<'c>(caches: &'c Caches, _: &str) -> Option<&'c Cached<Self>> {
                Some(&caches.$field)
            }
        }
    )*};
}
namespaced_child!(
    Deployment => deployments,
    Service => services,
    ServiceAccount => service_accounts,
    NetworkPolicy => network_policies
);
shared_child!(
    Role => roles,
    RoleBinding => role_bindings,
    ClusterRole => cluster_roles,
    ClusterRoleBinding => cluster_role_bindings
);

/// The stored object `ns/name` of kind K, if the store covering `ns` has it.
pub fn get<K: Child>(caches: &Caches, ns: Option<&str>, name: &str) -> Option<Arc<K>> {
    let cached = K::cached(caches, ns.unwrap_or_default())?;
    let mut key = ObjectRef::<K>::new(name);
    if let Some(ns) = ns {
        key = key.within(ns);
    }
    cached.store.get(&key)
}

/// Every stored object of kind K whose owner labels name the endpoint `ns/name`.
pub fn owned_by<K: Child>(caches: &Caches, ns: &str, name: &str) -> Vec<Arc<K>> {
    K::cached(caches, ns)
        .map(|c| c.store.state())
        .unwrap_or_default()
        .into_iter()
        .filter(|o| {
            labels::owner_of(o.labels()).is_some_and(|(ons, oname)| ons == ns && oname == name)
        })
        .collect()
}
