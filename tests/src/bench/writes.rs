//! The operator's floor: the objects it wrote for N endpoints, written
//! again directly into fresh namespaces (server-side apply, as many
//! endpoints at once as the operator reconciles, each endpoint's objects in
//! the operator's three waves), with nothing else to do.
//! No operator can grant N endpoints faster than the API server takes their
//! children on the same machine, with the same control plane reacting to
//! them (each Deployment still becomes a pod). Nor can its endpoints all be
//! Ready sooner than those Deployments all become Available: that is the
//! control plane's work (kube-controller-manager, the scheduler, kwok).

use super::paging;
use super::procfs;
use super::stats::round3;
use crate::controlplane::ControlPlane;
use anyhow::{Context as _, Result};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The operator's `--concurrency` default: endpoints reconciled at once.
pub const CONCURRENCY: usize = 8;
const MANAGER: &str = "kube-mcp-bench-floor";

/// The namespaced kinds the operator may write for an endpoint, in the order
/// it applies them (kinds it did not write for these endpoints list empty).
pub(super) fn kinds() -> Vec<ApiResource> {
    vec![
        ApiResource::erase::<ServiceAccount>(&()),
        ApiResource::erase::<Role>(&()),
        ApiResource::erase::<RoleBinding>(&()),
        ApiResource::erase::<Secret>(&()),
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<Deployment>(&()),
        ApiResource::erase::<Service>(&()),
        ApiResource::erase::<NetworkPolicy>(&()),
    ]
}

/// An object as its writer sent it, moved from namespace `from` to `to`:
/// what the API server filled in (uid, versions, status, the Service's
/// cluster IPs, a Deployment's revision) is dropped, every string that
/// names the old namespace (RoleBinding subjects, the server's scope, a
/// NetworkPolicy's selector) names the new one, and the owner reference goes
/// (the endpoint is not there).
pub fn replayed(obj: &Value, from: &str, to: &str) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in obj.as_object().into_iter().flatten() {
        if k != "metadata" && k != "status" {
            out.insert(k.clone(), v.clone());
        }
    }
    let meta = &obj["metadata"];
    let annotations: serde_json::Map<String, Value> = meta["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.starts_with("deployment.kubernetes.io/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert(
        "metadata".into(),
        json!({"name": meta["name"], "namespace": to, "labels": meta["labels"], "annotations": annotations}),
    );
    if let Some(spec) = out.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    let mut v = Value::Object(out);
    rename(&mut v, from, to);
    v
}

fn rename(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_string(),
        Value::Array(a) => a.iter_mut().for_each(|x| rename(x, from, to)),
        Value::Object(m) => m.values_mut().for_each(|x| rename(x, from, to)),
        _ => {}
    }
}

/// One endpoint's children, in apply order, with the kind each is.
type Group = Vec<(ApiResource, Value)>;

/// The wave the operator applies a kind in (`reconcile::apply_children`):
/// what refers to nothing of its own first, all at once; then the bindings;
/// then the Deployment. Writing an endpoint's objects one after another
/// instead made the floor a round trip per object slower than the operator
/// it should bound.
fn wave(kind: &str) -> usize {
    match kind {
        "RoleBinding" | "ClusterRoleBinding" => 1,
        "Deployment" => 2,
        _ => 0,
    }
}

/// A group's objects by wave, each wave's in apply order.
fn waves(group: Group) -> [Group; 3] {
    let mut out: [Group; 3] = Default::default();
    for (ar, obj) in group {
        out[wave(&ar.kind)].push((ar, obj));
    }
    out
}

/// The operator's children in `namespaces` (selected by `managed`), grouped
/// by the endpoint that owns them and moved to the namespace at the same
/// place in `to`.
async fn collect(
    client: &Client,
    namespaces: &[String],
    to: &[String],
    managed: &str,
) -> Result<(Vec<Group>, usize)> {
    let target: BTreeMap<&str, &String> = namespaces.iter().map(String::as_str).zip(to).collect();
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut n = 0;
    for ar in kinds() {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let api = &api;
        let lp = ListParams::default().labels(managed);
        let items = paging::all(lp, |lp| async move { api.list(&lp).await })
            .await
            .with_context(|| format!("listing {}", ar.plural))?;
        for o in items {
            let ns = o.metadata.namespace.clone().unwrap_or_default();
            let Some(to) = target.get(ns.as_str()) else {
                continue;
            };
            let owner = o
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|r| r.kind == "McpEndpoint")
                .map(|r| r.name.clone())
                .unwrap_or_default();
            let mut v = serde_json::to_value(&o)?;
            v["apiVersion"] = json!(ar.api_version);
            v["kind"] = json!(ar.kind);
            groups
                .entry((ns.clone(), owner))
                .or_default()
                .push((ar.clone(), replayed(&v, &ns, to)));
            n += 1;
        }
    }
    Ok((groups.into_values().collect(), n))
}

/// Writes the operator's children for the endpoints in `namespaces` again,
/// directly, and reports how long the API server took and who was busy,
/// then how long until every Deployment written was Available (waiting up
/// to `limit` from the first write).
pub async fn run(
    cp: &ControlPlane,
    client: &Client,
    namespaces: &[String],
    managed: &str,
    limit: Duration,
) -> Result<Value> {
    let to = super::operator::create_namespaces(client, "kmb-floor-", namespaces.len()).await?;
    let (groups, objects) = collect(client, namespaces, &to, managed).await?;
    let waited = procfs::wait_quiet(Duration::from_secs(60)).await;
    let endpoints = groups.len();
    eprintln!(
        "[bench] operator floor: writing {objects} objects of {endpoints} endpoints directly, {CONCURRENCY} endpoints at a time, each in three waves"
    );
    let deployments = groups
        .iter()
        .flatten()
        .filter(|(ar, _)| ar.kind == "Deployment")
        .count();
    let api0 = super::apistats::snapshot(client).await?;
    let cpu = procfs::ProcessCpu::now(&cp.processes());
    let kcm = super::kcm::Window::open(cp).await;
    let t0 = Instant::now();
    let params = PatchParams::apply(MANAGER).force();
    futures::stream::iter(groups)
        .map(|group| {
            let params = params.clone();
            async move {
                for wave in waves(group) {
                    futures::future::try_join_all(wave.into_iter().map(|(ar, obj)| {
                        let params = &params;
                        async move {
                            let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
                            let name = obj["metadata"]["name"].as_str().unwrap_or_default();
                            let api: Api<DynamicObject> =
                                Api::namespaced_with(client.clone(), ns, &ar);
                            api.patch(name, params, &Patch::Apply(&obj))
                                .await
                                .with_context(|| format!("applying {} {ns}/{name}", ar.kind))
                        }
                    }))
                    .await?;
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_for_each(|()| async { Ok(()) })
        .await?;
    let took = t0.elapsed().as_secs_f64();
    let cpu = cpu.since();
    let api = super::apistats::delta(&api0, &super::apistats::snapshot(client).await?);
    eprintln!("[bench] operator floor: {objects} objects written in {took:.1}s");
    let (available, available_s) =
        all_available(client, &to, managed, deployments, t0, limit).await;
    let kcm = kcm.close().await;
    eprintln!(
        "[bench] operator floor: {available} of {deployments} Deployments Available after {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    Ok(json!({
        "endpoints": endpoints,
        "objects": objects,
        "concurrency": CONCURRENCY,
        "waves": 3,
        "field_manager": MANAGER,
        "seconds": round3(took),
        "waited_quiet_seconds": round3(waited),
        "cpu": cpu,
        "apiserver": super::apistats::to_json(&api),
        "kinds": kinds().iter().map(|k| k.kind.clone()).collect::<Vec<_>>(),
        "deployments": deployments,
        "available_at_end": available,
        "available_seconds": available_s.map(round3),
        "available_limit_seconds": limit.as_secs(),
        "controller_manager_client": kcm,
    }))
}

/// Waits until `want` Deployments labelled `managed` in `namespaces` are
/// Available (every replica), or until `limit` after `t0`; returns how many
/// were and, when all were, the seconds since `t0`. A watch, not repeated
/// lists: the wait must not load the API server it is timing.
async fn all_available(
    client: &Client,
    namespaces: &[String],
    managed: &str,
    want: usize,
    t0: Instant,
    limit: Duration,
) -> (usize, Option<f64>) {
    use kube::runtime::watcher::{self, Event};
    let api: Api<Deployment> = Api::all(client.clone());
    let mut events = std::pin::pin!(watcher::watcher(
        api,
        watcher::Config::default().labels(managed)
    ));
    let mut available = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::from_std(t0 + limit);
    while available.len() < want {
        let event = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(Ok(e))) => e,
            Ok(Some(Err(e))) => {
                eprintln!("[bench] operator floor: watching Deployments: {e}");
                continue;
            }
            Ok(None) | Err(_) => break,
        };
        let (Event::Apply(d) | Event::InitApply(d)) = event else {
            continue;
        };
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        if !namespaces.contains(&ns) {
            continue;
        }
        let key = (ns, d.metadata.name.clone().unwrap_or_default());
        if is_available(&d) {
            available.insert(key);
        } else {
            available.remove(&key);
        }
    }
    let n = available.len();
    (n, (n >= want).then(|| t0.elapsed().as_secs_f64()))
}

/// Every replica the Deployment asks for is available.
fn is_available(d: &Deployment) -> bool {
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let have = d
        .status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0);
    have >= want
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_is_available_when_every_replica_it_asks_for_is() {
        let d = |replicas: Option<i32>, available: Option<i32>| -> Deployment {
            serde_json::from_value(json!({
                "spec": {"replicas": replicas, "selector": {}, "template": {}},
                "status": {"availableReplicas": available},
            }))
            .unwrap()
        };
        assert!(is_available(&d(Some(1), Some(1))));
        assert!(is_available(&d(None, Some(1))), "replicas defaults to 1");
        assert!(!is_available(&d(Some(2), Some(1))));
        assert!(!is_available(&d(Some(1), None)), "no status yet");
        assert!(is_available(&d(Some(0), None)), "scaled to zero");
    }

    #[test]
    fn an_endpoint_is_written_in_the_operators_waves() {
        let obj = |kind: &str| (ApiResource::erase::<ConfigMap>(&()), json!({"kind": kind}));
        let mut group: Group = vec![];
        for kind in kinds().iter().map(|k| k.kind.clone()) {
            let (mut ar, v) = obj(&kind);
            ar.kind = kind;
            group.push((ar, v));
        }
        let kinds_of = |g: &Group| g.iter().map(|(ar, _)| ar.kind.clone()).collect::<Vec<_>>();
        let [first, bindings, last] = waves(group);
        assert_eq!(
            kinds_of(&first),
            [
                "ServiceAccount",
                "Role",
                "Secret",
                "ConfigMap",
                "Service",
                "NetworkPolicy"
            ]
        );
        assert_eq!(kinds_of(&bindings), ["RoleBinding"]);
        assert_eq!(kinds_of(&last), ["Deployment"]);
    }

    #[test]
    fn a_replayed_object_is_what_was_sent_in_the_new_namespace() {
        let svc = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {
                "name": "ep-0001", "namespace": "kmb-op-1", "uid": "u", "resourceVersion": "9",
                "labels": {"app": "ep"}, "managedFields": [{}],
                "ownerReferences": [{"kind": "McpEndpoint", "name": "ep-0001"}],
                "annotations": {"deployment.kubernetes.io/revision": "1", "kubemcp.io/x": "y"},
            },
            "spec": {"clusterIP": "10.0.0.9", "clusterIPs": ["10.0.0.9"], "ports": [{"port": 80}]},
            "status": {"loadBalancer": {}},
        });
        let v = replayed(&svc, "kmb-op-1", "kmb-floor-1");
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "ep-0001", "namespace": "kmb-floor-1", "labels": {"app": "ep"},
                             "annotations": {"kubemcp.io/x": "y"}},
                "spec": {"ports": [{"port": 80}]},
            })
        );
        let rb = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "b", "namespace": "kmb-op-1"},
            "subjects": [{"kind": "ServiceAccount", "name": "s", "namespace": "kmb-op-1"}],
            "roleRef": {"kind": "Role", "name": "kmb-op-10"},
        });
        let v = replayed(&rb, "kmb-op-1", "kmb-floor-1");
        assert_eq!(v["subjects"][0]["namespace"], "kmb-floor-1");
        // Only whole strings naming the namespace move.
        assert_eq!(v["roleRef"]["name"], "kmb-op-10");
    }
}
