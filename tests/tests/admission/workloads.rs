//! What an endpoint's ServiceAccount may run: never as an endpoint
//! ServiceAccount, and no Secret it cannot read.

use super::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams};
use kube_mcp_tests::test_namespace;

/// What a NonDestructive endpoint may do to workloads (and no Secrets).
fn workload_writer() -> Value {
    json!([
        {"apiGroups": [""], "resources": ["pods", "replicationcontrollers"], "verbs": ["get", "create", "update", "patch"]},
        {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["get", "update", "patch"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"], "verbs": ["get", "create", "update", "patch"]},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["get", "create", "update", "patch"]},
    ])
}

/// The same plus reading Secrets (what a Masked endpoint holds).
fn workload_writer_reading_secrets() -> Value {
    let mut rules = workload_writer();
    rules.as_array_mut().unwrap().push(
        json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}),
    );
    rules
}

fn pod(name: &str, spec: Value) -> Pod {
    let mut spec = spec;
    if spec.get("containers").is_none() {
        spec["containers"] = json!([{"name": "c", "image": "busybox"}]);
    }
    obj(json!({"metadata": {"name": name}, "spec": spec}))
}

async fn create_pod(client: &Client, ns: &str, p: Pod, dry_run: bool) -> Result<(), String> {
    outcome(
        Api::<Pod>::namespaced(client.clone(), ns)
            .create(&post(dry_run), &p)
            .await,
    )
}

fn deployment(name: &str, pod_spec: Value) -> Deployment {
    obj(json!({"metadata": {"name": name}, "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
    }}))
}

#[tokio::test]
async fn an_endpoint_service_account_cannot_run_workloads_as_an_endpoint_service_account() {
    install();
    let ns = test_namespace("adm-runas").await;
    let n = ns.name.as_str();
    let ep = service_account_with(&ns.client, n, "kube-mcp.runner", workload_writer()).await;
    let busybox = json!([{"name": "c", "image": "busybox"}]);

    let msg = denied_by("endpoint-workloads", || {
        create_pod(
            &ep,
            n,
            pod("as-self", json!({"serviceAccountName": "kube-mcp.runner"})),
            true,
        )
    })
    .await;
    assert!(
        msg.contains(&format!(
            "system:serviceaccount:{n}:kube-mcp.runner is an MCP endpoint's ServiceAccount"
        )) && msg.contains("(kube-mcp.runner)"),
        "{msg}"
    );
    // Another endpoint's ServiceAccount, through the deprecated field.
    for sa in ["kube-mcp.other", "app"] {
        admin_apply(
            &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": n}})
                .to_string(),
        );
    }
    let other = pod("as-other", json!({"serviceAccount": "kube-mcp.other"}));
    let msg = denied_by("endpoint-workloads", || {
        create_pod(&ep, n, other.clone(), true)
    })
    .await;
    assert!(msg.contains("(kube-mcp.other)"), "{msg}");
    // Pod templates of controllers.
    let d = deployment(
        "as-self",
        json!({"serviceAccountName": "kube-mcp.runner", "containers": busybox}),
    );
    let deployments = Api::<Deployment>::namespaced(ep.clone(), n);
    denied_by("endpoint-workloads", || {
        let (deployments, d) = (deployments.clone(), d.clone());
        async move { outcome(deployments.create(&post(true), &d).await) }
    })
    .await;
    let cj: CronJob = obj(
        json!({"metadata": {"name": "as-self"}, "spec": {"schedule": "0 * * * *",
        "jobTemplate": {"spec": {"template": {"spec": {"serviceAccountName": "kube-mcp.runner",
            "restartPolicy": "Never", "containers": busybox}}}}}}),
    );
    let cronjobs = Api::<CronJob>::namespaced(ep.clone(), n);
    denied_by("endpoint-workloads", || {
        let (cronjobs, cj) = (cronjobs.clone(), cj.clone());
        async move { outcome(cronjobs.create(&post(true), &cj).await) }
    })
    .await;

    // Any other ServiceAccount (the default one included) is the endpoint's own business.
    admitted(|| create_pod(&ep, n, pod("plain", json!({})), false)).await;
    admitted(|| {
        create_pod(
            &ep,
            n,
            pod("app", json!({"serviceAccountName": "app"})),
            false,
        )
    })
    .await;

    // A Deployment that already runs as the endpoint (the operator's own) may
    // be scaled by it: the pods do not change.
    let server = deployment(
        "server",
        json!({"serviceAccountName": "kube-mcp.runner", "containers": busybox}),
    );
    Api::<Deployment>::namespaced(ns.client.clone(), n)
        .create(&PostParams::default(), &server)
        .await
        .unwrap();
    let scale = json!({"spec": {"replicas": 2}});
    admitted(|| {
        let (deployments, scale) = (deployments.clone(), scale.clone());
        async move {
            outcome(
                deployments
                    .patch("server", &PatchParams::default(), &Patch::Merge(&scale))
                    .await,
            )
        }
    })
    .await;
    let swap =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "evil:1"}]}}}});
    let dry = patch_params(true);
    denied_by("endpoint-workloads", || {
        let (deployments, swap, dry) = (deployments.clone(), swap.clone(), dry.clone());
        async move {
            outcome(
                deployments
                    .patch("server", &dry, &Patch::Strategic(&swap))
                    .await,
            )
        }
    })
    .await;
    ns.delete().await;
}

#[tokio::test]
async fn secrets_hidden_is_a_boundary_for_workloads_too() {
    install();
    let ns = test_namespace("adm-mounts").await;
    let n = ns.name.as_str();
    let hidden = service_account_with(&ns.client, n, "kube-mcp.hidden", workload_writer()).await;
    let masked = service_account_with(
        &ns.client,
        n,
        "kube-mcp.masked",
        workload_writer_reading_secrets(),
    )
    .await;

    let env_ref =
        json!([{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]);
    let cases = [
        (
            "volume",
            json!({"volumes": [{"name": "s", "secret": {"secretName": "db"}}]}),
        ),
        (
            "projected",
            json!({"volumes": [{"name": "s", "projected": {"sources": [
            {"serviceAccountToken": {"path": "t"}}, {"secret": {"name": "db"}}]}}]}),
        ),
        (
            "envfrom",
            json!({"initContainers": [{"name": "i", "image": "busybox", "envFrom": [{"secretRef": {"name": "db"}}]}]}),
        ),
        (
            "env",
            json!({"containers": [{"name": "c", "image": "busybox", "env": env_ref}]}),
        ),
    ];
    for (what, spec) in &cases {
        let p = pod(what, spec.clone());
        let msg = denied_by("endpoint-workloads", || {
            create_pod(&hidden, n, p.clone(), true)
        })
        .await;
        assert!(
            msg.contains(&format!(
                "kube-mcp.hidden may not read Secrets in namespace {n}"
            )),
            "{what}: {msg}"
        );
        admitted(|| create_pod(&masked, n, p.clone(), false)).await;
    }
    // Pulling an image with a registry Secret hands no value to the workload.
    let pull = pod("pull", json!({"imagePullSecrets": [{"name": "registry"}]}));
    admitted(|| create_pod(&hidden, n, pull.clone(), false)).await;

    // Ephemeral containers (kubectl debug) go through their own subresource.
    admitted(|| create_pod(&hidden, n, pod("target", json!({})), false)).await;
    let debug = json!({"spec": {"ephemeralContainers": [{"name": "dbg", "image": "busybox",
        "envFrom": [{"secretRef": {"name": "db"}}]}]}});
    let pods = Api::<Pod>::namespaced(hidden.clone(), n);
    let dry = patch_params(true);
    denied_by("endpoint-workloads", || {
        let (pods, debug, dry) = (pods.clone(), debug.clone(), dry.clone());
        async move {
            outcome(
                pods.patch_subresource(
                    "ephemeralcontainers",
                    "target",
                    &dry,
                    &Patch::Strategic(&debug),
                )
                .await,
            )
        }
    })
    .await;
    ns.delete().await;
}
