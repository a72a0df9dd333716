//! Smoke tests of the local control plane: real kube-apiserver, RBAC on,
//! kwok nodes. Each test makes its own namespaces and clients.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use kube_mcp_tests::{client_with_token, cluster, kubectl, service_account_token, test_namespace};

fn manifest<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn status_code(r: Result<impl Sized, kube::Error>) -> Option<u16> {
    match r {
        Ok(_) => Some(200),
        Err(kube::Error::Api(s)) => Some(s.code),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

async fn list_pods(client: &Client, ns: &str) -> Option<u16> {
    status_code(
        Api::<Pod>::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await,
    )
}

#[tokio::test]
async fn rbac_is_enforced_for_service_account_tokens() {
    let ns = test_namespace("smoke-rbac").await;
    let other = test_namespace("smoke-other").await;
    let sas: Api<ServiceAccount> = Api::namespaced(ns.client.clone(), &ns.name);
    sas.create(
        &PostParams::default(),
        &manifest(serde_json::json!({"metadata": {"name": "reader"}})),
    )
    .await
    .unwrap();

    let token = service_account_token(&ns.client, &ns.name, "reader").await;
    let reader = client_with_token(&token).await;

    // No RBAC yet: the real API server denies.
    assert_eq!(list_pods(&reader, &ns.name).await, Some(403));

    let rb: RoleBinding = manifest(serde_json::json!({
        "metadata": {"name": "reader-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns.name}],
    }));
    Api::<RoleBinding>::namespaced(ns.client.clone(), &ns.name)
        .create(&PostParams::default(), &rb)
        .await
        .unwrap();

    // RBAC changes reach the authorizer through an informer: poll briefly.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match list_pods(&reader, &ns.name).await {
            Some(200) => break,
            Some(403) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => panic!("listing pods after the RoleBinding: {other:?}"),
        }
    }
    // Only in that namespace.
    assert_eq!(list_pods(&reader, &other.name).await, Some(403));
    let all = Api::<Pod>::all(reader.clone())
        .list(&ListParams::default())
        .await;
    assert_eq!(status_code(all), Some(403));
    // `view` cannot write.
    let write = Api::<ServiceAccount>::namespaced(reader, &ns.name)
        .create(
            &PostParams::default(),
            &manifest(serde_json::json!({"metadata": {"name": "nope"}})),
        )
        .await;
    assert_eq!(status_code(write), Some(403));
}

#[tokio::test]
async fn deployment_gets_a_ready_pod_on_a_kwok_node() {
    let ns = test_namespace("smoke-deploy").await;
    let deploy: Deployment = manifest(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
            },
        },
    }));
    Api::<Deployment>::namespaced(ns.client.clone(), &ns.name)
        .create(&PostParams::default(), &deploy)
        .await
        .unwrap();

    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let started = Instant::now();
    let pod = loop {
        let list = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .unwrap();
        let ready = list.items.into_iter().find(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        if let Some(p) = ready {
            break p;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no Ready pod after 60s; kwok log:\n{}",
            kube_mcp_tests::controlplane::log_tail(&cluster().log_path("kwok"), 20)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap();
    assert!(node.starts_with("kwok-node-"), "scheduled to {node}");
    let status = pod.status.clone().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert!(status.pod_ip.is_some());
    eprintln!(
        "pod Ready on {node} after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // Logs come through the API server from kwok's kubelet endpoint.
    let name = pod.metadata.name.clone().unwrap();
    let logs = pods.logs(&name, &Default::default()).await.unwrap();
    assert!(logs.contains("kwok fake container: started"), "{logs}");

    // The Deployment controller sees it as available.
    let deploys: Api<Deployment> = Api::namespaced(ns.client.clone(), &ns.name);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = deploys.get("web").await.unwrap();
        if d.status.and_then(|s| s.available_replicas) == Some(1) {
            break;
        }
        assert!(Instant::now() < deadline, "deployment never available");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[test]
fn kubectl_from_the_cache_sees_the_kwok_nodes() {
    let out = kubectl()
        .args(["get", "nodes", "-l", "type=kwok", "-o", "name"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("node/kwok-node-0"), "{stdout}");
    let version = kubectl().args(["version", "-o", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&version.stdout).unwrap();
    assert_eq!(v["serverVersion"]["gitVersion"], "v1.36.3");
}

#[tokio::test]
async fn admin_is_system_masters_and_tokens_carry_the_sa_identity() {
    let ns = test_namespace("smoke-whoami").await;
    let token = service_account_token(&ns.client, &ns.name, "default").await;
    let sa = client_with_token(&token).await;
    let review = serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
    });
    let req = http::Request::post("/apis/authentication.k8s.io/v1/selfsubjectreviews")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&review).unwrap())
        .unwrap();
    let who: serde_json::Value = sa.request(req).await.unwrap();
    assert_eq!(
        who["status"]["userInfo"]["username"],
        format!("system:serviceaccount:{}:default", ns.name)
    );
    let req = http::Request::post("/apis/authentication.k8s.io/v1/selfsubjectreviews")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&review).unwrap())
        .unwrap();
    let admin: serde_json::Value = ns.client.request(req).await.unwrap();
    assert_eq!(admin["status"]["userInfo"]["username"], "kube-mcp-admin");
    let groups = admin["status"]["userInfo"]["groups"].to_string();
    assert!(groups.contains("system:masters"), "{groups}");
}
