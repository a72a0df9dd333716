//! One watch per child kind, kept in a store that every reconcile reads in
//! place of a GET before each apply and a LIST before each prune, and whose
//! events ask for the owning endpoint's reconcile.
//!
//! At 1,000 endpoints a resync that reads each child from the API server is
//! ~10,000 requests, and a prune that lists each RBAC kind cluster-wide per
//! endpoint is 4,000 lists of everything we manage. The watches the
//! controller needs anyway can answer both. Each watch maps an object it
//! sees (created, changed or deleted) to the endpoint its owner labels name
//! and hands that to the controller of the endpoint's namespace
//! ([`Router`]): one watch per kind serves every controller.
//!
//! The stores select this operator's objects by label, so an object someone
//! else created under a child's name is not in them. A second, metadata-only
//! watch per kind keeps just the names of everyone else's objects
//! ([`Cached::foreign`]): a child whose name is in neither is created without
//! asking the API server, and one whose name is taken by someone else is read
//! with a GET for the ownership check (no takeover by name). Without it, a
//! new endpoint cost a GET per child (7 of its ~16 requests) that only ever
//! found nothing. Like the GET it replaces, the index can miss an object
//! created in the last moment before the apply; the watch narrows that window
//! to its own latency.

use crate::crd::McpEndpoint;
use crate::labels;
use crate::owners::Owners;
use crate::stored::Stored;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::core::{ObjectMeta, PartialObjectMeta};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// A store and the namespace it covers (None: all).
pub struct Cached<K: Resource<DynamicType = ()> + Clone + 'static> {
    pub namespace: Option<String>,
    /// Our objects of this kind (the operator's labels), in full ([`Stored`]).
    pub store: Store<Stored<K>>,
    /// Everyone else's objects of this kind: names only.
    pub foreign: Store<PartialObjectMeta<K>>,
    /// Our objects by owning endpoint (what a prune reads).
    owners: Arc<Mutex<Owners<K>>>,
}

/// A watch task that must be polled for the stores to fill.
pub type Driver = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A watched scope (None: all namespaces) and its controller's inbox.
type Route = (
    Option<String>,
    mpsc::UnboundedSender<ObjectRef<McpEndpoint>>,
);

/// Hands "reconcile this endpoint" to the controller watching its namespace.
#[derive(Clone, Default)]
pub struct Router {
    routes: Arc<Vec<Route>>,
}

impl Router {
    /// A route per watched scope (None: all namespaces) and its receivers,
    /// one per controller, in the same order.
    pub fn new(
        scopes: &[Option<String>],
    ) -> (Router, Vec<mpsc::UnboundedReceiver<ObjectRef<McpEndpoint>>>) {
        let (routes, receivers) = scopes
            .iter()
            .map(|ns| {
                let (tx, rx) = mpsc::unbounded_channel();
                ((ns.clone(), tx), rx)
            })
            .unzip();
        (
            Router {
                routes: Arc::new(routes),
            },
            receivers,
        )
    }

    /// Asks the controller of `ep`'s namespace to reconcile it (no controller
    /// watches that namespace: nothing to do).
    pub fn send(&self, ep: ObjectRef<McpEndpoint>) {
        let ns = ep.namespace.as_deref();
        if let Some((_, tx)) = self
            .routes
            .iter()
            .find(|(scope, _)| scope.is_none() || scope.as_deref() == ns)
        {
            // A stopped controller does not need the news.
            let _ = tx.send(ep);
        }
    }
}

/// The endpoint an object's owner labels name.
pub fn owner<K: Resource>(o: &K) -> Option<ObjectRef<McpEndpoint>> {
    let (ns, name) = labels::owner_of(o.labels())?;
    Some(ObjectRef::new(name).within(ns))
}

/// Starts nothing: adds the watches' drivers to `drivers` and returns their
/// stores. Every object of ours the watch sees asks for its owner's reconcile.
fn watch<K>(
    api: Api<Stored<K>>,
    names: Api<PartialObjectMeta<K>>,
    namespace: Option<String>,
    router: &Router,
    drivers: &mut Vec<Driver>,
) -> Cached<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (foreign, names_writer) = reflector::store();
    let others = watcher::Config::default().labels(&labels::foreign_selector());
    drivers.push(Box::pin(
        watcher(names, others)
            .default_backoff()
            // The name is all a collision check needs.
            .modify(|o: &mut PartialObjectMeta<K>| {
                o.metadata = ObjectMeta {
                    name: o.metadata.name.take(),
                    namespace: o.metadata.namespace.take(),
                    ..ObjectMeta::default()
                };
            })
            .reflect(names_writer)
            .for_each(|_| async {}),
    ));
    let (store, writer) = reflector::store();
    let config = watcher::Config::default().labels(&labels::managed_selector());
    let router = router.clone();
    let owners = Arc::new(Mutex::new(Owners::default()));
    let index = owners.clone();
    let stream = watcher(api, config).default_backoff().reflect(writer);
    drivers.push(Box::pin(stream.for_each(move |event| {
        // Errors are retried by the watcher's backoff.
        if let Ok(event) = &event {
            index
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .event(event);
            if let watcher::Event::Apply(o)
            | watcher::Event::Delete(o)
            | watcher::Event::InitApply(o) = event
                && let Some((ns, name)) = o.marks().endpoint()
            {
                router.send(ObjectRef::new(name).within(ns));
            }
        }
        async {}
    })));
    Cached {
        namespace,
        store,
        foreign,
        owners,
    }
}

/// [`watch`] over one watched scope (None: all namespaces).
fn watch_in<K>(
    client: &Client,
    ns: &Option<String>,
    router: &Router,
    drivers: &mut Vec<Driver>,
) -> Cached<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    watch(
        scoped(client, ns.as_deref()),
        scoped(client, ns.as_deref()),
        ns.clone(),
        router,
        drivers,
    )
}

/// [`watch`] over all namespaces (the RBAC kinds).
fn watch_all<K>(client: &Client, router: &Router, drivers: &mut Vec<Driver>) -> Cached<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    watch(
        Api::all(client.clone()),
        Api::all(client.clone()),
        None,
        router,
        drivers,
    )
}

/// The stores of one watched scope's namespaced children.
pub struct Namespaced {
    pub deployments: Cached<Deployment>,
    pub services: Cached<Service>,
    pub service_accounts: Cached<ServiceAccount>,
    pub network_policies: Cached<NetworkPolicy>,
    /// Generated token Secrets (the operator's labels).
    pub secrets: Cached<Secret>,
}

impl Namespaced {
    /// The namespace this scope's stores cover (None: all).
    pub fn namespace(&self) -> Option<&str> {
        self.deployments.namespace.as_deref()
    }
}

/// Every store: per watched scope for namespaced children, one cluster-wide
/// each for the RBAC kinds (whose objects may live outside the endpoint's
/// namespace).
pub struct Caches {
    /// True once every store has seen its first full list.
    ready: tokio::sync::watch::Receiver<bool>,
    pub scopes: Vec<Namespaced>,
    pub roles: Cached<Role>,
    pub role_bindings: Cached<RoleBinding>,
    pub cluster_roles: Cached<ClusterRole>,
    pub cluster_role_bindings: Cached<ClusterRoleBinding>,
}

impl Caches {
    /// One scope per entry of `scopes` (None: all namespaces). Starts
    /// nothing: the returned drivers run the watches.
    pub fn new(
        client: &Client,
        scopes: &[Option<String>],
        router: &Router,
    ) -> (Caches, Vec<Driver>) {
        let mut drivers = vec![];
        let scoped_stores = scopes
            .iter()
            .map(|ns| {
                let d = &mut drivers;
                Namespaced {
                    deployments: watch_in(client, ns, router, d),
                    services: watch_in(client, ns, router, d),
                    service_accounts: watch_in(client, ns, router, d),
                    network_policies: watch_in(client, ns, router, d),
                    secrets: watch_in(client, ns, router, d),
                }
            })
            .collect();
        let (ready_tx, ready) = tokio::sync::watch::channel(false);
        let caches = Caches {
            ready,
            scopes: scoped_stores,
            roles: watch_all(client, router, &mut drivers),
            role_bindings: watch_all(client, router, &mut drivers),
            cluster_roles: watch_all(client, router, &mut drivers),
            cluster_role_bindings: watch_all(client, router, &mut drivers),
        };
        // Store::wait_until_ready wakes only its latest waiter: one task waits
        // for them all and tells every reconcile through a watch channel.
        let stores = caches.stores_ready();
        drivers.push(Box::pin(async move {
            stores.await;
            let _ = ready_tx.send(true);
        }));
        (caches, drivers)
    }

    /// Waits until every store has seen its first full list.
    pub async fn ready(&self) {
        // An error: the readiness task is gone, i.e. the operator is stopping.
        let _ = self.ready.clone().wait_for(|r| *r).await;
    }

    /// Every store's first full list (call once: see [`Caches::new`]).
    fn stores_ready(&self) -> impl Future<Output = ()> + Send + 'static {
        fn one<K: Child>(c: &Cached<K>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            let (store, foreign) = (c.store.clone(), c.foreign.clone());
            // A dropped writer means the operator is stopping; nothing to wait for.
            Box::pin(async move {
                let _ = store.wait_until_ready().await;
                let _ = foreign.wait_until_ready().await;
            })
        }
        let mut waits = vec![
            one(&self.roles),
            one(&self.role_bindings),
            one(&self.cluster_roles),
            one(&self.cluster_role_bindings),
        ];
        for s in &self.scopes {
            waits.push(one(&s.deployments));
            waits.push(one(&s.services));
            waits.push(one(&s.service_accounts));
            waits.push(one(&s.network_policies));
            waits.push(one(&s.secrets));
        }
        async move {
            futures::future::join_all(waits).await;
        }
    }
}

/// An Api over namespace `ns`, or over all namespaces.
pub fn scoped<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A child kind with a store in [`Caches`].
pub trait Child:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
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
    NetworkPolicy => network_policies,
    Secret => secrets
);
shared_child!(
    Role => roles,
    RoleBinding => role_bindings,
    ClusterRole => cluster_roles,
    ClusterRoleBinding => cluster_role_bindings
);

/// The stored object `ns/name` of kind K, if the store covering `ns` has it.
pub fn get<K: Child>(caches: &Caches, ns: Option<&str>, name: &str) -> Option<Arc<Stored<K>>> {
    let cached = K::cached(caches, ns.unwrap_or_default())?;
    cached.store.get(&key(ns, name))
}

/// Whether no object of kind K is named `ns/name`, as far as the watches
/// know: none of ours, none of anyone else's. False when unsure (the stores
/// have not listed yet, or none covers `ns`): then the caller asks.
pub fn name_free<K: Child>(caches: &Caches, ns: Option<&str>, name: &str) -> bool {
    let Some(cached) = K::cached(caches, ns.unwrap_or_default()) else {
        return false;
    };
    *caches.ready.borrow()
        && cached.store.get(&key(ns, name)).is_none()
        && cached.foreign.get(&key(ns, name)).is_none()
}

/// The store key of `ns/name` (None: cluster-scoped).
fn key<K: Resource<DynamicType = ()>>(ns: Option<&str>, name: &str) -> ObjectRef<K> {
    let key = ObjectRef::new(name);
    match ns {
        Some(ns) => key.within(ns),
        None => key,
    }
}

/// Every stored object of kind K whose owner labels name the endpoint
/// `ns/name`: those the owner index holds for it, as the store has them now
/// (the index may lag the store: see [`crate::owners`]).
pub fn owned_by<K: Child>(caches: &Caches, ns: &str, name: &str) -> Vec<Arc<Stored<K>>> {
    let Some(cached) = K::cached(caches, ns) else {
        return vec![];
    };
    let refs = cached
        .owners
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .of(ns, name);
    refs.iter()
        .filter_map(|r| cached.store.get(r))
        .filter(|o| o.marks().endpoint() == Some((ns, name)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_router_reaches_the_controller_of_the_endpoints_namespace() {
        let (router, mut rx) = Router::new(&[Some("a".into()), Some("b".into())]);
        router.send(ObjectRef::new("x").within("b"));
        router.send(ObjectRef::new("y").within("elsewhere"));
        assert_eq!(rx[1].try_recv().ok(), Some(ObjectRef::new("x").within("b")));
        assert!(rx[0].try_recv().is_err() && rx[1].try_recv().is_err());
        let (all, mut rx) = Router::new(&[None]);
        all.send(ObjectRef::new("y").within("elsewhere"));
        assert!(rx[0].try_recv().is_ok());
    }
}
