//! The read tools, resources and prompt end to end: the real server binary
//! over streamable HTTP, driven by the rmcp client, against the local
//! control plane (kube-apiserver with RBAC, kwok nodes that serve logs).

use futures::{StreamExt as _, stream};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, PostParams};
use kube::discovery::ApiResource;
use kube_mcp_tests::mcp::{CallOutcome, McpClient};
use kube_mcp_tests::server::ServerProcess;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");

async fn start(env: &[(&str, &str)]) -> (ServerProcess, McpClient) {
    let server = ServerProcess::start(Path::new(BIN), env).await;
    let client = server.client().await;
    (server, client)
}

/// A successful call's text; panics with the server's words otherwise.
async fn ok(c: &McpClient, tool: &str, args: Value) -> String {
    let out = c.call(tool, args.clone()).await;
    assert!(!out.is_error, "{tool} {args} failed: {}", out.text);
    out.text
}

/// A call that must come back as a tool error.
async fn err(c: &McpClient, tool: &str, args: Value) -> String {
    let CallOutcome { text, is_error, .. } = c.call(tool, args.clone()).await;
    assert!(is_error, "{tool} {args} should have failed, got: {text}");
    text
}

async fn create<K>(client: &kube::Client, ns: &str, manifest: Value) -> K
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let obj: K = serde_json::from_value(manifest).expect("manifest");
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create in {ns}: {e}"))
}

fn pod(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
    })
}

/// Waits until `n` pods matching `labels` run in `ns`.
async fn wait_running(client: &kube::Client, ns: &str, labels: &str, n: usize) {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let pods = api
            .list(&kube::api::ListParams::default().labels(labels))
            .await
            .expect("list pods");
        let running = pods
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count();
        if running >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{running}/{n} pods running in {ns} after 90s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('['))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn get_lists_and_objects_in_every_format() {
    let ns = kube_mcp_tests::test_namespace("rt-get").await;
    let k = &ns.client;
    create::<Pod>(
        k,
        &ns.name,
        pod("web-1", json!({"app": "web", "tier": "front"})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    create::<Pod>(k, &ns.name, pod("web-2", json!({"app": "web"}))).await;
    create::<Pod>(k, &ns.name, pod("db-1", json!({"app": "db"}))).await;
    create::<Service>(k, &ns.name, json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}})).await;
    wait_running(k, &ns.name, "app", 3).await;
    let (_server, c) = start(&[]).await;
    let n = ns.name.as_str();

    // json (default): the seed's compact summary for a list.
    let v = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "pods", "namespace": n}),
        )
        .await,
    );
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{v}");
    let web1 = items.iter().find(|i| i["name"] == "web-1").expect("web-1");
    assert_eq!(web1["namespace"], n);
    assert_eq!(web1["kind"], "Pod");
    assert_eq!(web1["status"], "Running");
    assert!(web1["createdAt"].is_string());
    // A single object: the full object.
    let v = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "po", "name": "web-1", "namespace": n}),
        )
        .await,
    );
    assert_eq!(
        v["spec"]["containers"][0]["image"],
        "registry.example/app:1"
    );
    assert!(v["metadata"].get("managedFields").is_none());

    // yaml, list and single.
    let y = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "pods", "namespace": n, "output": "yaml"}),
    )
    .await;
    let yv: Value = serde_saphyr::from_str(&y).expect("yaml list parses");
    assert_eq!(yv["kind"], "List");
    assert_eq!(yv["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(yv["items"][0]["kind"], "Pod");
    let y = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "service", "name": "web", "namespace": n, "output": "yaml"}),
    )
    .await;
    assert!(y.contains("kind: Service") && y.contains("port: 80"), "{y}");

    // name, with a label selector.
    let names = ok(&c, "kubectl_get", json!({"resourceType": "pods", "namespace": n, "output": "name", "labelSelector": "app=web"})).await;
    assert_eq!(names, "pod/web-1\npod/web-2\n");
    let names = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "deploy", "namespace": n, "output": "name"}),
    )
    .await;
    assert_eq!(names, "");

    // table and wide from the API server's Table; wide adds priority>0 columns.
    let t = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "pods", "namespace": n, "output": "table"}),
    )
    .await;
    let rows = table_rows(&t);
    assert_eq!(
        rows[0],
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{t}"
    );
    assert_eq!(rows.len(), 4, "{t}");
    let w = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "pods", "namespace": n, "output": "wide"}),
    )
    .await;
    assert!(
        w.lines()
            .next()
            .is_some_and(|h| h.contains("IP") && h.contains("NODE")),
        "{w}"
    );
    assert!(w.contains("kwok-node-"), "{w}");
    let w = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "pods", "name": "db-1", "namespace": n, "output": "wide"}),
    )
    .await;
    assert_eq!(table_rows(&w).len(), 2, "{w}");

    // field selector and sortBy (newest first is the reverse of creation).
    let t = ok(&c, "kubectl_get", json!({"resourceType": "pods", "namespace": n, "output": "table", "fieldSelector": "metadata.name=db-1"})).await;
    assert_eq!(table_rows(&t).len(), 2, "{t}");
    let names = ok(&c, "kubectl_get", json!({"resourceType": "pods", "namespace": n, "output": "name", "sortBy": ".metadata.name"})).await;
    assert_eq!(names, "pod/db-1\npod/web-1\npod/web-2\n");
    let t = ok(&c, "kubectl_get", json!({"resourceType": "pods", "namespace": n, "output": "table", "sortBy": ".spec.containers[0].name", "labelSelector": "app=web"})).await;
    assert_eq!(table_rows(&t).len(), 3, "{t}");

    // custom columns.
    let t = ok(&c, "kubectl_get", json!({"resourceType": "pods", "namespace": n, "output": "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,APP:.metadata.labels.app", "sortBy": "{.metadata.name}"})).await;
    let rows = table_rows(&t);
    assert_eq!(rows[0], ["NAME", "NODE", "APP"]);
    assert_eq!(rows[1][0], "db-1");
    assert!(rows[1][1].starts_with("kwok-node-"), "{t}");
    assert_eq!(rows[1][2], "db");
    let t = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "pods", "namespace": n, "output": "custom"}),
    )
    .await;
    assert_eq!(table_rows(&t)[0], ["NAME", "NAMESPACE", "AGE"]);

    // allNamespaces adds a NAMESPACE column; cluster-scoped kinds ignore namespace.
    let t = ok(&c, "kubectl_get", json!({"resourceType": "pods", "allNamespaces": true, "output": "table", "labelSelector": "app=db"})).await;
    assert!(t.starts_with("NAMESPACE"), "{t}");
    assert!(
        t.lines().any(|l| l.starts_with(n) && l.contains("db-1")),
        "{t}"
    );
    let t = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "nodes", "namespace": n, "output": "table"}),
    )
    .await;
    assert!(t.contains("kwok-node-0") && t.starts_with("NAME"), "{t}");

    // Events default to time order; json events use the seed's shape.
    let v = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "events", "namespace": n}),
        )
        .await,
    );
    assert!(v["events"].is_array(), "{v}");
    let t = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "events", "namespace": "kube-system", "output": "table"}),
    )
    .await;
    assert!(!t.is_empty());

    // A name with allNamespaces is found in whichever namespace has it.
    let v = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "pod", "name": "db-1", "allNamespaces": true}),
        )
        .await,
    );
    assert_eq!(v["metadata"]["namespace"], n);
    let e = err(
        &c,
        "kubectl_get",
        json!({"resourceType": "pod", "name": "no-such-pod-zz", "allNamespaces": true}),
    )
    .await;
    assert!(e.contains("not found in any namespace"), "{e}");

    // `all`: every kind in the category, one section each (no Secrets).
    let t = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "all", "namespace": n, "output": "table"}),
    )
    .await;
    assert!(
        t.contains("# pods\n") && t.contains("# services\n") && t.contains("web-1"),
        "{t}"
    );
    let v = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "all", "namespace": n}),
        )
        .await,
    );
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"Pod") && kinds.contains(&"Service"), "{v}");

    // An unknown output and an unknown type are argument errors.
    let e = err(
        &c,
        "kubectl_get",
        json!({"resourceType": "pods", "namespace": n, "output": "xml"}),
    )
    .await;
    assert!(e.contains("unknown output"), "{e}");
    let e = err(&c, "kubectl_get", json!({"resourceType": "nosuchthings"})).await;
    assert!(e.contains("doesn't have a resource type"), "{e}");
    ns.delete().await;
}

#[tokio::test]
async fn describe_shows_fields_and_recent_events() {
    let ns = kube_mcp_tests::test_namespace("rt-desc").await;
    let k = &ns.client;
    create::<Deployment>(
        k,
        &ns.name,
        json!({
            "metadata": {"name": "shop", "labels": {"app": "shop"}, "annotations": {"team": "a"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "shop"}},
                     "template": {"metadata": {"labels": {"app": "shop"}},
                                  "spec": {"containers": [{"name": "app", "image": "shop:1"}]}}}
        }),
    )
    .await;
    wait_running(k, &ns.name, "app=shop", 2).await;
    let (_server, c) = start(&[]).await;
    let n = ns.name.as_str();
    let text = ok(
        &c,
        "kubectl_describe",
        json!({"resourceType": "deployment", "name": "shop", "namespace": n}),
    )
    .await;
    for want in [
        "Name:",
        "shop",
        n,
        "Labels:",
        "app=shop",
        "team: a",
        "Kind:",
        "Deployment",
        "Replicas:",
        "Image:",
        "shop:1",
        "Events:",
        "ScalingReplicaSet",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    assert!(
        !text.contains("managedFields") && !text.contains("Managed Fields"),
        "{text}"
    );
    // A pod found across the namespaces in scope.
    let pods: Api<Pod> = Api::namespaced(k.clone(), n);
    let first = pods.list(&Default::default()).await.expect("pods").items[0]
        .metadata
        .name
        .clone()
        .expect("name");
    let text = ok(
        &c,
        "kubectl_describe",
        json!({"resourceType": "pods", "name": first, "allNamespaces": true}),
    )
    .await;
    assert!(
        text.contains(&first)
            && text.contains("Controlled By:")
            && text.contains("ReplicaSet/shop-"),
        "{text}"
    );
    assert!(text.contains("Scheduled"), "pod events: {text}");
    // Cluster-scoped: a node.
    let text = ok(
        &c,
        "kubectl_describe",
        json!({"resourceType": "node", "name": "kwok-node-0"}),
    )
    .await;
    assert!(
        text.contains("Name:") && text.contains("kwok-node-0") && text.contains("Capacity:"),
        "{text}"
    );
    ns.delete().await;
}

#[tokio::test]
async fn secrets_are_masked_in_get_and_describe() {
    let ns = kube_mcp_tests::test_namespace("rt-secret").await;
    let k = &ns.client;
    // "hunter2-s3cr3t" base64; neither form may leave the server.
    create::<Secret>(
        k,
        &ns.name,
        json!({
            "metadata": {"name": "db-creds"},
            "type": "Opaque",
            "data": {"password": "aHVudGVyMi1zM2NyM3Q="},
            "stringData": {"user": "admin-user-plain"}
        }),
    )
    .await;
    let n = ns.name.as_str();
    let leaks = |text: &str| {
        [
            "aHVudGVyMi1zM2NyM3Q",
            "hunter2-s3cr3t",
            "admin-user-plain",
            "YWRtaW4tdXNlci1wbGFpbg",
        ]
        .iter()
        .any(|s| text.contains(s))
    };
    let (_server, c) = start(&[]).await;
    for args in [
        json!({"resourceType": "secret", "name": "db-creds", "namespace": n}),
        json!({"resourceType": "secret", "name": "db-creds", "namespace": n, "output": "yaml"}),
        json!({"resourceType": "secrets", "namespace": n, "output": "yaml"}),
        json!({"resourceType": "secrets", "namespace": n}),
        json!({"resourceType": "secrets", "namespace": n, "output": "wide"}),
        json!({"resourceType": "secrets", "namespace": n, "output": "custom-columns=NAME:.metadata.name,DATA:.data"}),
    ] {
        let text = ok(&c, "kubectl_get", args.clone()).await;
        assert!(!leaks(&text), "{args} leaked a value:\n{text}");
    }
    let v = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "secret", "name": "db-creds", "namespace": n}),
        )
        .await,
    );
    assert_eq!(v["data"]["password"], "***");
    assert_eq!(v["data"]["user"], "***");
    let text = ok(
        &c,
        "kubectl_describe",
        json!({"resourceType": "secret", "name": "db-creds", "namespace": n}),
    )
    .await;
    assert!(!leaks(&text) && text.contains("***"), "{text}");
    drop(c);

    // Hidden: not even the names.
    let (_server2, c) = start(&[("KUBE_MCP_SECRETS", "hidden")]).await;
    let e = err(
        &c,
        "kubectl_get",
        json!({"resourceType": "secrets", "namespace": n}),
    )
    .await;
    assert!(e.contains("hidden"), "{e}");
    // Visible (MASK_SECRETS=false): the value as the API has it.
    let (_server3, c) = start(&[("MASK_SECRETS", "false")]).await;
    let v = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "secret", "name": "db-creds", "namespace": n}),
        )
        .await,
    );
    assert_eq!(v["data"]["password"], "aHVudGVyMi1zM2NyM3Q=");
    ns.delete().await;
}

#[tokio::test]
async fn crd_by_short_name_with_printer_columns_and_explain() {
    let admin = kube_mcp_tests::admin_client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.readtools.kubemcp.io"},
        "spec": {
            "group": "readtools.kubemcp.io",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "shortNames": ["gzm"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "additionalPrinterColumns": [
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "description": "What a gizmo is.", "properties": {
                        "color": {"type": "string", "description": "The gizmo's color."},
                        "size": {"type": "integer"}
                    }}
                }}}
            }]
        }
    }))
    .expect("crd");
    match crds.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("creating the CRD: {e}"),
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = crds.get("gizmos.readtools.kubemcp.io").await.expect("crd");
        let established = c.status.and_then(|s| s.conditions).is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        });
        if established {
            break;
        }
        assert!(Instant::now() < deadline, "CRD not established");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ns = kube_mcp_tests::test_namespace("rt-crd").await;
    let ar = ApiResource {
        group: "readtools.kubemcp.io".into(),
        version: "v1".into(),
        api_version: "readtools.kubemcp.io/v1".into(),
        kind: "Gizmo".into(),
        plural: "gizmos".into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &ns.name, &ar);
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "readtools.kubemcp.io/v1", "kind": "Gizmo",
        "metadata": {"name": "g1"}, "spec": {"color": "teal", "size": 7}
    }))
    .expect("cr");
    // The API server may need a moment before it serves a new CRD.
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = api.create(&PostParams::default(), &obj).await {
        assert!(Instant::now() < deadline, "creating the gizmo: {e}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (_server, c) = start(&[]).await;
    let n = ns.name.as_str();
    let t = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "gzm", "namespace": n, "output": "table"}),
    )
    .await;
    let rows = table_rows(&t);
    assert_eq!(rows[0], ["NAME", "COLOR", "AGE"], "{t}");
    assert_eq!(rows[1][..2], ["g1", "teal"], "{t}");
    let t = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "gizmo", "namespace": n, "output": "wide"}),
    )
    .await;
    assert_eq!(table_rows(&t)[0], ["NAME", "COLOR", "SIZE", "AGE"], "{t}");
    let names = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "gizmos.readtools.kubemcp.io", "namespace": n, "output": "name"}),
    )
    .await;
    assert_eq!(names, "gizmo.readtools.kubemcp.io/g1\n");
    let v = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "Gizmo", "namespace": n}),
        )
        .await,
    );
    assert_eq!(v["items"][0]["kind"], "Gizmo");
    let text = ok(
        &c,
        "kubectl_describe",
        json!({"resourceType": "gzm", "name": "g1", "namespace": n}),
    )
    .await;
    assert!(text.contains("Color:") && text.contains("teal"), "{text}");
    let text = ok(&c, "explain_resource", json!({"resource": "gzm.spec"})).await;
    assert!(
        text.contains("KIND:       Gizmo")
            && text.contains("color\t<string>")
            && text.contains("The gizmo's color."),
        "{text}"
    );
    let text = ok(
        &c,
        "list_api_resources",
        json!({"apiGroup": "readtools.kubemcp.io"}),
    )
    .await;
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("gizmos") && l.contains("gzm") && l.contains("Gizmo")),
        "{text}"
    );
    ns.delete().await;
}

#[tokio::test]
async fn logs_of_pods_workloads_and_cronjobs() {
    let ns = kube_mcp_tests::test_namespace("rt-logs").await;
    let k = &ns.client;
    let n = ns.name.as_str();
    create::<Pod>(k, n, pod("solo", json!({"app": "solo"}))).await;
    create::<Pod>(k, n, json!({
        "metadata": {"name": "duo", "labels": {"app": "duo"}},
        "spec": {"containers": [{"name": "main", "image": "a:1"}, {"name": "sidecar", "image": "b:1"}]}
    })).await;
    create::<Deployment>(
        k,
        n,
        json!({
            "metadata": {"name": "api"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                     "template": {"metadata": {"labels": {"app": "api"}},
                                  "spec": {"containers": [{"name": "app", "image": "api:1"}]}}}
        }),
    )
    .await;
    let cj: CronJob = create(
        k,
        n,
        json!({
            "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "job", "image": "job:1"}]}}}}}
        }),
    )
    .await;
    // The job a schedule would have started, owned by the cronjob.
    create::<Job>(
        k,
        n,
        json!({
            "metadata": {"name": "nightly-1", "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly",
                "uid": cj.metadata.uid.clone().expect("uid"), "controller": true}]},
            "spec": {"template": {"metadata": {"labels": {"app": "nightly"}}, "spec": {
                "restartPolicy": "Never", "containers": [{"name": "job", "image": "job:1"}]}}}
        }),
    )
    .await;
    wait_running(k, n, "app in (solo,duo,api)", 4).await;
    // The job's pod may complete quickly; wait until it exists.
    let deadline = Instant::now() + Duration::from_secs(60);
    let pods: Api<Pod> = Api::namespaced(k.clone(), n);
    while pods
        .list(&kube::api::ListParams::default().labels("app=nightly"))
        .await
        .expect("pods")
        .items
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no job pod");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_server, c) = start(&[]).await;

    let text = ok(
        &c,
        "kubectl_logs",
        json!({"resourceType": "pod", "name": "solo", "namespace": n}),
    )
    .await;
    assert!(
        text.contains("kwok fake container: started") && text.contains("a line on stderr"),
        "{text}"
    );
    assert!(
        !text.contains("==>"),
        "one container needs no header: {text}"
    );
    let text = ok(
        &c,
        "kubectl_logs",
        json!({"resourceType": "pod", "name": "solo", "namespace": n, "tail": 1}),
    )
    .await;
    assert_eq!(text.lines().count(), 1, "{text}");
    let text = ok(&c, "kubectl_logs", json!({"resourceType": "pod", "name": "solo", "namespace": n, "timestamps": true, "tail": 2})).await;
    assert!(
        text.lines().all(|l| l
            .split_whitespace()
            .next()
            .is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok())),
        "{text}"
    );
    let text = ok(&c, "kubectl_logs", json!({"resourceType": "pod", "name": "solo", "namespace": n, "since": "1h", "sinceTime": null})).await;
    assert!(text.contains("kwok fake container"), "{text}");

    // Several containers: one section each; or just the one asked for.
    let text = ok(
        &c,
        "kubectl_logs",
        json!({"resourceType": "pod", "name": "duo", "namespace": n}),
    )
    .await;
    assert!(
        text.contains("==> pod/duo (container main) <==")
            && text.contains("==> pod/duo (container sidecar) <=="),
        "{text}"
    );
    let text = ok(
        &c,
        "kubectl_logs",
        json!({"resourceType": "pod", "name": "duo", "namespace": n, "container": "sidecar"}),
    )
    .await;
    assert!(
        text.contains("kwok fake container") && !text.contains("==>"),
        "{text}"
    );

    // A deployment's pods, prefixed by pod name; a label selector; a cronjob's newest job.
    let text = ok(
        &c,
        "kubectl_logs",
        json!({"resourceType": "deployment", "name": "api", "namespace": n}),
    )
    .await;
    assert_eq!(text.matches("==> pod/api-").count(), 2, "{text}");
    let text = ok(&c, "kubectl_logs", json!({"resourceType": "pod", "name": "", "namespace": n, "labelSelector": "app=api", "tail": 1})).await;
    assert_eq!(text.matches("==> pod/api-").count(), 2, "{text}");
    let text = ok(
        &c,
        "kubectl_logs",
        json!({"resourceType": "cronjob", "name": "nightly", "namespace": n}),
    )
    .await;
    assert!(text.contains("kwok fake container"), "{text}");
    let text = ok(
        &c,
        "kubectl_logs",
        json!({"resourceType": "job", "name": "nightly-1", "namespace": n}),
    )
    .await;
    assert!(text.contains("kwok fake container"), "{text}");

    // follow is bounded in time.
    let started = Instant::now();
    let text = ok(
        &c,
        "kubectl_logs",
        json!({"resourceType": "pod", "name": "solo", "namespace": n, "follow": true}),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "follow took {:?}",
        started.elapsed()
    );
    assert!(
        text.contains("kwok fake container") && text.contains("follow stopped"),
        "{text}"
    );

    // Errors: a missing pod (404), a bad duration, a type without logs.
    let e = err(
        &c,
        "kubectl_logs",
        json!({"resourceType": "pod", "name": "ghost", "namespace": n}),
    )
    .await;
    assert!(e.contains("404"), "{e}");
    let e = err(
        &c,
        "kubectl_logs",
        json!({"resourceType": "pod", "name": "solo", "namespace": n, "since": "yesterday"}),
    )
    .await;
    assert!(e.contains("since"), "{e}");
    let e = err(
        &c,
        "kubectl_logs",
        json!({"resourceType": "service", "name": "x", "namespace": n}),
    )
    .await;
    assert!(e.contains("has no logs"), "{e}");
    ns.delete().await;
}

#[tokio::test]
async fn scope_403_and_404_come_back_as_tool_errors() {
    let a = kube_mcp_tests::test_namespace("rt-scope-a").await;
    let b = kube_mcp_tests::test_namespace("rt-scope-b").await;
    create::<ConfigMap>(&a.client, &a.name, json!({"metadata": {"name": "in-a"}})).await;
    create::<ConfigMap>(&b.client, &b.name, json!({"metadata": {"name": "in-b"}})).await;
    // The scope also names a namespace that does not exist (yet).
    let scope = format!("{},rt-scope-missing", a.name);
    let (_server, c) = start(&[("KUBE_MCP_NAMESPACES", &scope)]).await;
    let e = err(
        &c,
        "kubectl_get",
        json!({"resourceType": "configmaps", "namespace": b.name}),
    )
    .await;
    assert!(e.contains(&b.name) && e.contains("outside"), "{e}");
    let e = err(
        &c,
        "kubectl_describe",
        json!({"resourceType": "configmap", "name": "in-b", "namespace": b.name}),
    )
    .await;
    assert!(e.contains("outside"), "{e}");
    let e = err(
        &c,
        "kubectl_logs",
        json!({"resourceType": "pod", "name": "x", "namespace": b.name}),
    )
    .await;
    assert!(e.contains("outside"), "{e}");
    // allNamespaces lists only the namespaces in scope.
    let names = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "configmaps", "allNamespaces": true, "output": "name"}),
    )
    .await;
    assert!(
        names.contains("configmap/in-a") && !names.contains("in-b"),
        "{names}"
    );
    // Cluster-scoped kinds, Namespaces included, are out of a namespace scope:
    // the server needs no cluster-scoped RBAC rule at all.
    for kind in ["nodes", "namespaces"] {
        let e = err(&c, "kubectl_get", json!({"resourceType": kind})).await;
        assert!(e.contains("cluster-scoped"), "{e}");
    }
    // The resources follow the same scope.
    assert!(c.read_resource("k8s://namespaces").await.is_err());
    let e = c
        .read_resource("k8s://default/pods")
        .await
        .expect_err("default is out of scope");
    assert!(e.contains("outside"), "{e}");
    assert!(c.read_resource("k8s://nodes").await.is_err());

    // 404 from the API server.
    let e = err(
        &c,
        "kubectl_get",
        json!({"resourceType": "configmap", "name": "missing", "namespace": a.name}),
    )
    .await;
    assert!(e.contains("404") && e.contains("missing"), "{e}");
    let e = err(
        &c,
        "kubectl_describe",
        json!({"resourceType": "configmap", "name": "missing", "namespace": a.name}),
    )
    .await;
    assert!(e.contains("404"), "{e}");
    drop(c);

    // 403: a ServiceAccount with no RBAC at all.
    let token = kube_mcp_tests::service_account_token(&a.client, &a.name, "default").await;
    let kubeconfig = kube_mcp_tests::cluster().token_kubeconfig("nobody", &token);
    let (_server2, c) = start(&[("KUBECONFIG_YAML", &kubeconfig)]).await;
    let e = err(
        &c,
        "kubectl_get",
        json!({"resourceType": "configmaps", "namespace": a.name}),
    )
    .await;
    assert!(e.contains("403") && e.contains("forbidden"), "{e}");
    let e = err(
        &c,
        "kubectl_get",
        json!({"resourceType": "pods", "namespace": a.name, "output": "table"}),
    )
    .await;
    assert!(e.contains("403"), "{e}");
    let e = err(
        &c,
        "kubectl_logs",
        json!({"resourceType": "pod", "name": "x", "namespace": a.name}),
    )
    .await;
    assert!(e.contains("403"), "{e}");
    a.delete().await;
    b.delete().await;
}

#[tokio::test]
async fn context_list_get_set_never_shows_credentials() {
    let cp = kube_mcp_tests::cluster();
    let text = std::fs::read_to_string(cp.kubeconfig_path()).expect("kubeconfig");
    let mut kc: Value = serde_saphyr::from_str(&text).expect("kubeconfig yaml");
    let first = kc["contexts"][0].clone();
    let name = first["name"].as_str().expect("context name").to_string();
    let mut second = first.clone();
    second["name"] = json!("second");
    second["context"]["namespace"] = json!("kube-system");
    kc["contexts"]
        .as_array_mut()
        .expect("contexts")
        .push(second);
    let secrets: Vec<String> = kc["users"][0]["user"]
        .as_object()
        .expect("user")
        .values()
        .filter_map(|v| v.as_str().map(|s| s.chars().take(40).collect()))
        .collect();
    assert!(!secrets.is_empty());
    let kc_json = serde_json::to_string(&kc).expect("json");
    let (_server, c) = start(&[("KUBECONFIG_JSON", &kc_json)]).await;

    let v = parse_json(
        &ok(
            &c,
            "kubectl_context",
            json!({"operation": "list", "detailed": true}),
        )
        .await,
    );
    let contexts = v["contexts"].as_array().expect("contexts");
    assert_eq!(contexts.len(), 2, "{v}");
    assert_eq!(contexts[0]["isCurrent"], true);
    assert_eq!(contexts[0]["server"], cp.server_url());
    assert_eq!(contexts[0]["authMethod"], "client-certificate");
    assert_eq!(v["currentContext"], name.as_str());
    let all = v.to_string();
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "a credential leaked: {all}");
    }
    let names = ok(
        &c,
        "kubectl_context",
        json!({"operation": "list", "output": "name"}),
    )
    .await;
    assert_eq!(names, format!("{name}\nsecond\n"));
    let y = ok(
        &c,
        "kubectl_context",
        json!({"operation": "list", "output": "yaml"}),
    )
    .await;
    assert!(y.contains("name: second"), "{y}");
    let t = ok(
        &c,
        "kubectl_context",
        json!({"operation": "list", "output": "custom"}),
    )
    .await;
    assert!(
        t.starts_with("CURRENT   NAME") && t.contains(&format!("*         {name}")),
        "{t}"
    );

    let v = parse_json(
        &ok(
            &c,
            "kubectl_context",
            json!({"operation": "set", "name": "second"}),
        )
        .await,
    );
    assert_eq!(v["success"], true);
    let got = ok(
        &c,
        "kubectl_context",
        json!({"operation": "get", "output": "name"}),
    )
    .await;
    assert_eq!(got, "second\n");
    // Later calls use the new context, and its default namespace.
    let t = ok(&c, "kubectl_get", json!({"resourceType": "serviceaccounts", "output": "name", "fieldSelector": "metadata.name=default"})).await;
    assert_eq!(t, "serviceaccount/default\n");
    let d = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "serviceaccount", "name": "default"}),
        )
        .await,
    );
    assert_eq!(d["metadata"]["namespace"], "kube-system");

    let e = err(
        &c,
        "kubectl_context",
        json!({"operation": "set", "name": "nope"}),
    )
    .await;
    assert!(e.contains("nope") && e.contains("second"), "{e}");
    let e = err(&c, "kubectl_context", json!({"operation": "set"})).await;
    assert!(e.contains("name"), "{e}");
    let e = err(&c, "kubectl_context", json!({"operation": "rename"})).await;
    assert!(e.contains("unknown operation"), "{e}");
}

#[tokio::test]
async fn explain_and_api_resources() {
    let (_server, c) = start(&[]).await;
    let text = ok(&c, "explain_resource", json!({"resource": "pods"})).await;
    assert!(
        text.starts_with("KIND:       Pod\nVERSION:    v1\n"),
        "{text}"
    );
    assert!(
        text.contains("FIELDS:\n  apiVersion\t<string>") && text.contains("spec\t<PodSpec>"),
        "{text}"
    );
    let text = ok(
        &c,
        "explain_resource",
        json!({"resource": "deploy.spec.replicas"}),
    )
    .await;
    assert!(
        text.contains("GROUP:      apps") && text.contains("FIELD: replicas <integer>"),
        "{text}"
    );
    let text = ok(
        &c,
        "explain_resource",
        json!({"resource": "deployment.spec.template", "recursive": true, "apiVersion": "apps/v1"}),
    )
    .await;
    assert!(
        text.contains("FIELD: template <PodTemplateSpec>")
            && text.contains("\n    containers\t<[]Container> -required-"),
        "{text}"
    );
    let text = ok(
        &c,
        "explain_resource",
        json!({"resource": "pod.spec.containers.resources", "output": "plaintext-openapiv2"}),
    )
    .await;
    assert!(text.contains("limits\t<map[string]Quantity>"), "{text}");
    let e = err(&c, "explain_resource", json!({"resource": "pod.spec.nope"})).await;
    assert!(e.contains("\"nope\" does not exist"), "{e}");
    let e = err(
        &c,
        "explain_resource",
        json!({"resource": "deployments", "apiVersion": "v9"}),
    )
    .await;
    assert!(e.contains("v9"), "{e}");

    let text = ok(&c, "list_api_resources", json!({})).await;
    let head = text.lines().next().unwrap_or_default();
    assert!(
        head.starts_with("NAME") && head.contains("SHORTNAMES") && head.contains("VERBS"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("pods ") && l.contains(" po ")),
        "{text}"
    );
    let text = ok(
        &c,
        "list_api_resources",
        json!({"apiGroup": "apps", "output": "name"}),
    )
    .await;
    assert!(
        text.contains("deployments.apps\n") && !text.contains("pods"),
        "{text}"
    );
    let text = ok(
        &c,
        "list_api_resources",
        json!({"apiGroup": "core", "namespaced": false, "output": "no-headers"}),
    )
    .await;
    assert!(
        text.lines().any(|l| l.starts_with("nodes"))
            && !text.contains("NAME ")
            && !text.contains("pods"),
        "{text}"
    );
    let text = ok(
        &c,
        "list_api_resources",
        json!({"verbs": ["create"], "apiGroup": "", "namespaced": true, "output": "name"}),
    )
    .await;
    assert!(
        text.contains("bindings\n") && text.contains("pods\n"),
        "{text}"
    );
    let text = ok(
        &c,
        "list_api_resources",
        json!({"verbs": ["watch"], "apiGroup": "", "output": "name"}),
    )
    .await;
    assert!(
        !text.contains("bindings"),
        "bindings cannot be watched: {text}"
    );
}

#[tokio::test]
async fn resources_and_the_diagnose_prompt() {
    let (_server, c) = start(&[]).await;
    let uris = c.list_resources().await;
    for u in [
        "k8s://default/pods",
        "k8s://default/deployments",
        "k8s://default/services",
        "k8s://namespaces",
        "k8s://nodes",
    ] {
        assert!(uris.iter().any(|x| x == u), "{u} not in {uris:?}");
        let text = c
            .read_resource(u)
            .await
            .unwrap_or_else(|e| panic!("{u}: {e}"));
        assert!(parse_json(&text).is_array(), "{u}: {text}");
    }
    let ns = parse_json(
        &c.read_resource("k8s://namespaces")
            .await
            .expect("namespaces"),
    );
    assert!(
        ns.as_array()
            .expect("array")
            .iter()
            .any(|n| n["metadata"]["name"] == "kube-system")
    );
    let nodes = parse_json(&c.read_resource("k8s://nodes").await.expect("nodes"));
    assert!(
        nodes
            .as_array()
            .expect("array")
            .iter()
            .any(|n| n["metadata"]["name"] == "kwok-node-0")
    );
    let svcs = parse_json(
        &c.read_resource("k8s://default/services")
            .await
            .expect("services"),
    );
    assert!(
        svcs.as_array()
            .expect("array")
            .iter()
            .any(|s| s["metadata"]["name"] == "kubernetes" && s["kind"] == "Service")
    );

    let p = c
        .get_prompt(
            "k8s-diagnose",
            json!({"keyword": "web", "namespace": "shop"}),
        )
        .await
        .expect("prompt");
    for want in [
        "web",
        "shop",
        "kubectl_get",
        "kubectl_describe",
        "kubectl_logs",
        "nodes",
    ] {
        assert!(p.contains(want), "{want}: {p}");
    }
    let p = c
        .get_prompt("k8s-diagnose", json!({"keyword": "api"}))
        .await
        .expect("prompt");
    assert!(p.contains("allNamespaces"), "{p}");
    assert!(c.get_prompt("k8s-diagnose", json!({})).await.is_err());
}

/// 2,000 ConfigMaps: a small SPAWN_MAX_BUFFER gives a bounded, annotated
/// listing (paging stops early); a large one the complete table.
#[tokio::test]
async fn two_thousand_configmaps_page_and_bound() {
    let ns = kube_mcp_tests::test_namespace("rt-page").await;
    let api: Api<ConfigMap> = Api::namespaced(ns.client.clone(), &ns.name);
    let started = Instant::now();
    let results: Vec<Result<ConfigMap, kube::Error>> = stream::iter(0..2000)
        .map(|i| {
            let api = api.clone();
            async move {
                let cm: ConfigMap = serde_json::from_value(json!({
                    "metadata": {"name": format!("cm-{i:04}"), "labels": {"batch": (i % 4).to_string()}},
                    "data": {"k": "v"}
                }))
                .expect("cm");
                api.create(&PostParams::default(), &cm).await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok), "some creates failed");
    eprintln!(
        "created 2000 configmaps in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let n = ns.name.as_str();

    let (_small, c) = start(&[("SPAWN_MAX_BUFFER", "20000")]).await;
    let text = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "configmaps", "namespace": n}),
    )
    .await;
    assert!(text.len() <= 20000, "{} bytes", text.len());
    let v = parse_json(&text);
    let shown = v["items"].as_array().expect("items").len();
    assert!(shown > 10 && shown < 2001, "{shown}");
    assert_eq!(v["truncated"], true);
    let note = v["note"].as_str().expect("note");
    assert!(
        note.contains(&format!("showing {shown} items")) && note.contains("labelSelector"),
        "{note}"
    );
    assert!(note.contains("at least"), "remainingItemCount: {note}");
    let t = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "configmaps", "namespace": n, "output": "table"}),
    )
    .await;
    assert!(t.len() <= 20000, "{} bytes", t.len());
    assert!(
        t.contains("[output bounded: showing") && t.contains("SPAWN_MAX_BUFFER=20000"),
        "{}",
        &t[t.len().saturating_sub(400)..]
    );
    let y = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "configmaps", "namespace": n, "output": "yaml"}),
    )
    .await;
    assert!(
        y.len() <= 20000 && y.contains("# output bounded"),
        "{}",
        y.len()
    );
    // A selector narrows it.
    let t = ok(&c, "kubectl_get", json!({"resourceType": "configmaps", "namespace": n, "output": "name", "fieldSelector": "metadata.name=cm-1999"})).await;
    assert_eq!(t, "configmap/cm-1999\n");
    drop(c);

    let (_large, c) = start(&[("SPAWN_MAX_BUFFER", "8000000")]).await;
    let started = Instant::now();
    let t = ok(
        &c,
        "kubectl_get",
        json!({"resourceType": "configmaps", "namespace": n, "output": "table"}),
    )
    .await;
    eprintln!(
        "full 2001-row table in {:.0} ms, {} bytes",
        started.elapsed().as_secs_f64() * 1000.0,
        t.len()
    );
    let rows = table_rows(&t);
    assert_eq!(rows[0], ["NAME", "DATA", "AGE"]);
    // 2,000 plus kube-root-ca.crt, all pages fetched.
    assert_eq!(rows.len(), 2002, "{}", t.len());
    assert!(!t.contains("output bounded"));
    // Pages are joined in the API server's order (by name): none twice,
    // none lost.
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "rows out of order");
    assert_eq!((names[0], names[1999]), ("cm-0000", "cm-1999"));
    let v = parse_json(
        &ok(
            &c,
            "kubectl_get",
            json!({"resourceType": "cm", "namespace": n, "labelSelector": "batch=1"}),
        )
        .await,
    );
    assert_eq!(v["items"].as_array().map(Vec::len), Some(500));
    ns.delete().await;
}

/// Per-call latency of kubectl_get on 100 pods through the MCP client
/// (printed, not asserted).
#[tokio::test]
async fn latency_of_get_on_100_pods() {
    let ns = kube_mcp_tests::test_namespace("rt-lat").await;
    let api: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let results: Vec<Result<Pod, kube::Error>> = stream::iter(0..100)
        .map(|i| {
            let api = api.clone();
            async move {
                let p: Pod =
                    serde_json::from_value(pod(&format!("p-{i:03}"), json!({"app": "lat"})))
                        .expect("pod");
                api.create(&PostParams::default(), &p).await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok));
    wait_running(&ns.client, &ns.name, "app=lat", 100).await;
    // In process (tools::call on a Ctx): the tool's own cost.
    let path = kube_mcp_tests::cluster()
        .kubeconfig_path()
        .display()
        .to_string();
    let access = kube_mcp_server::cluster::ClusterAccess::from_lookup(|k| {
        (k == "KUBECONFIG_PATH").then(|| path.clone())
    })
    .expect("access");
    let settings = kube_mcp_server::config::Settings::default();
    let filter = kube_mcp_server::filter::ToolFilter::from_settings(&settings).expect("filter");
    let ctx = kube_mcp_server::tools::Ctx::connect(std::sync::Arc::new(settings), filter, access)
        .await
        .expect("ctx");
    for output in ["table", "json"] {
        let mut times = vec![];
        for _ in 0..20 {
            let args = json!({"resourceType": "pods", "namespace": ns.name, "output": output});
            let t = Instant::now();
            let text = kube_mcp_server::tools::call(
                &ctx,
                kube_mcp_catalog::ToolId::KubectlGet,
                args.as_object().cloned(),
            )
            .await
            .expect("kubectl_get")
            .text;
            times.push(t.elapsed());
            assert!(text.contains("p-099"));
        }
        times.sort();
        eprintln!(
            "in-process kubectl_get pods x100 output={output}: median {:.1} ms, min {:.1} ms, max {:.1} ms (20 calls)",
            times[10].as_secs_f64() * 1000.0,
            times[0].as_secs_f64() * 1000.0,
            times[19].as_secs_f64() * 1000.0
        );
    }

    // Through the MCP client and the server's HTTP transport.
    let (_server, c) = start(&[]).await;
    for output in ["table", "json", "wide", "name"] {
        let mut times = vec![];
        for _ in 0..20 {
            let t = Instant::now();
            let text = ok(
                &c,
                "kubectl_get",
                json!({"resourceType": "pods", "namespace": ns.name, "output": output}),
            )
            .await;
            times.push(t.elapsed());
            assert!(text.contains("p-099"));
        }
        times.sort();
        eprintln!(
            "MCP kubectl_get pods x100 output={output}: median {:.1} ms, min {:.1} ms, max {:.1} ms (20 calls)",
            times[10].as_secs_f64() * 1000.0,
            times[0].as_secs_f64() * 1000.0,
            times[19].as_secs_f64() * 1000.0
        );
    }
    ns.delete().await;
}
