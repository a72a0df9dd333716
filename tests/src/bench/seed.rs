//! Seeds the control plane with what the benchmarks read: namespaces with N
//! pods bound straight to kwok nodes, a Deployment, ConfigMaps, Events and a
//! Secret.

use super::paging;
use anyhow::{Context as _, Result, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, Secret};
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use serde::Serialize;
use serde_json::json;
use std::time::{Duration, Instant};

/// How many creates are in flight at once.
pub const CONCURRENCY: usize = 32;

/// What the benchmarks read, by name.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    /// Namespace with `small_pods` pods.
    pub small_ns: String,
    pub small_pods: usize,
    /// Namespace with `large_pods` pods.
    pub large_ns: String,
    pub large_pods: usize,
    /// Namespace of the Deployment.
    pub apps_ns: String,
    pub deployment: String,
    /// A pod (in `small_ns`) with Events about it: describe and logs target.
    pub pod: String,
    /// Seconds spent seeding (creates + waiting for pods Running).
    pub seconds: f64,
}

pub fn pod_name(i: usize) -> String {
    format!("bench-{i:05}")
}

fn pod_json(ns: &str, i: usize, nodes: &[String]) -> serde_json::Value {
    let tier = ["web", "api", "worker"][i % 3];
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(i),
            "namespace": ns,
            "labels": {
                "app": "bench",
                "tier": tier,
                "shard": format!("s{}", i % 10),
            },
        },
        "spec": {
            "nodeName": nodes[i % nodes.len()],
            "containers": [{
                "name": "app",
                "image": "registry.k8s.io/pause:3.10",
                "ports": [{"containerPort": 8080, "name": "http"}],
            }],
        },
    })
}

async fn create_namespace(client: &Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    if api.get_opt(name).await?.is_some() {
        bail!("namespace {name} already exists: seed a fresh control plane");
    }
    let ns: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kube-mcp.io/bench": "true"}},
    }))?;
    api.create(&PostParams::default(), &ns)
        .await
        .with_context(|| format!("creating namespace {name}"))?;
    Ok(())
}

/// Creates `count` pods in `ns`, [`CONCURRENCY`] at a time.
pub async fn create_pods(client: &Client, ns: &str, count: usize, nodes: &[String]) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    futures::stream::iter(0..count)
        .map(|i| {
            let api = api.clone();
            let pod: Pod = serde_json::from_value(pod_json(ns, i, nodes)).expect("pod manifest");
            async move {
                api.create(&PostParams::default(), &pod)
                    .await
                    .with_context(|| format!("creating pod {ns}/{}", pod_name(i)))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await
}

/// Counts the pods in `ns` matching a field selector (paged metadata lists).
pub async fn count_pods(client: &Client, ns: &str, fields: &str) -> Result<usize> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let api = &api;
    let lp = ListParams::default().fields(fields);
    let pods = paging::all(lp, |lp| async move { api.list_metadata(&lp).await })
        .await
        .with_context(|| format!("listing pods in {ns}"))?;
    Ok(pods.len())
}

/// Waits until `want` pods in `ns` are Running (bounded by `within`).
pub async fn wait_running(client: &Client, ns: &str, want: usize, within: Duration) -> Result<()> {
    let start = Instant::now();
    let mut running = 0;
    while start.elapsed() < within {
        running = count_pods(client, ns, "status.phase=Running").await?;
        if running >= want {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bail!("{ns}: only {running} of {want} pods Running after {within:?}")
}

/// Seeds everything; namespaces are named after the counts.
pub async fn seed(client: &Client, nodes: &[String], small: usize, large: usize) -> Result<Layout> {
    let started = Instant::now();
    let small_ns = format!("kmb-pods-{small}");
    let large_ns = format!("kmb-pods-{large}");
    let apps_ns = "kmb-apps".to_string();
    for ns in [&small_ns, &large_ns, &apps_ns] {
        create_namespace(client, ns).await?;
    }
    // Pods need the namespace's default ServiceAccount (admission).
    for ns in [&small_ns, &large_ns, &apps_ns] {
        let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> =
            Api::namespaced(client.clone(), ns);
        let t = Instant::now();
        while sas.get_opt("default").await?.is_none() {
            if t.elapsed() > Duration::from_secs(60) {
                bail!("{ns}: no default ServiceAccount after 60s");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    create_pods(client, &small_ns, small, nodes).await?;
    create_pods(client, &large_ns, large, nodes).await?;

    let deployment = "bench-web".to_string();
    let dep: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": deployment, "namespace": apps_ns, "labels": {"app": "bench-web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "bench-web"}},
            "template": {
                "metadata": {"labels": {"app": "bench-web"}},
                "spec": {"containers": [{
                    "name": "web", "image": "registry.k8s.io/pause:3.10",
                    "ports": [{"containerPort": 8080}],
                    "env": [{"name": "MODE", "value": "bench"}],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }]},
            },
        },
    }))?;
    Api::<Deployment>::namespaced(client.clone(), &apps_ns)
        .create(&PostParams::default(), &dep)
        .await?;

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &small_ns);
    for i in 0..20 {
        let cm: ConfigMap = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("bench-config-{i:02}"), "namespace": small_ns},
            "data": {"app.properties": format!("key{i}=value{i}\nmode=bench\n"), "index": i.to_string()},
        }))?;
        cms.create(&PostParams::default(), &cm).await?;
    }
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bench-secret", "namespace": small_ns},
        "stringData": {"password": "not-a-real-password"},
    }))?;
    Api::<Secret>::namespaced(client.clone(), &small_ns)
        .create(&PostParams::default(), &secret)
        .await?;

    let pod = pod_name(0);
    let target = Api::<Pod>::namespaced(client.clone(), &small_ns)
        .get(&pod)
        .await?;
    let uid = target.metadata.uid.clone().unwrap_or_default();
    let events: Api<Event> = Api::namespaced(client.clone(), &small_ns);
    let now = jiff::Timestamp::now().to_string();
    for i in 0..25 {
        // Five events about the describe target, the rest about other pods.
        let (name, uid) = if i < 5 {
            (pod.clone(), uid.clone())
        } else {
            (pod_name(i), String::new())
        };
        let reason = ["Scheduled", "Pulled", "Created", "Started", "BackOff"][i % 5];
        let ev: Event = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{name}.bench{i:02}"), "namespace": small_ns},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": name, "namespace": small_ns, "uid": uid},
            "reason": reason,
            "message": format!("bench event {i} for {name}"),
            "type": if i % 5 == 4 { "Warning" } else { "Normal" },
            "count": 1,
            "firstTimestamp": now, "lastTimestamp": now,
            "source": {"component": "kube-mcp-bench"},
        }))?;
        events.create(&PostParams::default(), &ev).await?;
    }

    wait_running(client, &small_ns, small, Duration::from_secs(300)).await?;
    wait_running(client, &large_ns, large, Duration::from_secs(600)).await?;
    wait_running(client, &apps_ns, 2, Duration::from_secs(120)).await?;
    Ok(Layout {
        small_ns,
        small_pods: small,
        large_ns,
        large_pods: large,
        apps_ns,
        deployment,
        pod,
        seconds: crate::bench::stats::round3(started.elapsed().as_secs_f64()),
    })
}
