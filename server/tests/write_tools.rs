//! The write and operations tools end to end: the real server binary over
//! streamable HTTP, driven by a real MCP client, against the local control
//! plane. Every change is read back through the API with an admin client.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, Secret, Service};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client};
use kube_mcp_tests::mcp::{CallOutcome, McpClient};
use kube_mcp_tests::server::ServerProcess;
use kube_mcp_tests::{cluster, test_namespace};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");

/// A server with a files directory, plus its client.
struct Env {
    server: ServerProcess,
    client: McpClient,
    files: tempfile::TempDir,
}

impl Env {
    async fn start(extra: &[(&str, &str)]) -> Env {
        let files = tempfile::tempdir().unwrap();
        let dir = files.path().to_str().unwrap().to_string();
        let mut env: Vec<(&str, &str)> = vec![("KUBE_MCP_FILES_DIR", dir.as_str())];
        env.extend_from_slice(extra);
        let server = ServerProcess::start(Path::new(BIN), &env).await;
        let client = server.client().await;
        Env {
            server,
            client,
            files,
        }
    }

    async fn ok(&self, tool: &str, args: Value) -> String {
        let out = self.client.call(tool, args.clone()).await;
        assert!(
            !out.is_error,
            "{tool} {args} failed: {}\nserver log:\n{}",
            out.text,
            self.server.log()
        );
        out.text
    }

    async fn err(&self, tool: &str, args: Value) -> String {
        let out: CallOutcome = self.client.call(tool, args.clone()).await;
        assert!(
            out.is_error,
            "{tool} {args} should fail but said: {}",
            out.text
        );
        out.text
    }
}

fn cm_yaml(ns: &str, name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  key: {value}\n"
    )
}

fn deploy_yaml(name: &str, replicas: i32, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n"
    )
}

async fn cm_value(client: &Client, ns: &str, name: &str) -> Option<String> {
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .unwrap()
        .and_then(|c| c.data)
        .and_then(|d| d.get("key").cloned())
}

async fn wait_for<F, Fut>(what: &str, within: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn apply_reports_created_configured_unchanged_and_dry_run_writes_nothing() {
    let ns = test_namespace("w-apply").await;
    let env = Env::start(&[]).await;
    let two = format!(
        "{}---\n{}",
        cm_yaml(&ns.name, "one", "a"),
        deploy_yaml("web", 1, "nginx:1")
    );
    let out = env
        .ok(
            "kubectl_apply",
            json!({"manifest": two, "namespace": ns.name}),
        )
        .await;
    assert_eq!(
        out, "configmap/one created\ndeployment.apps/web created",
        "{out}"
    );
    let deploy = Api::<Deployment>::namespaced(ns.client.clone(), &ns.name)
        .get("web")
        .await
        .unwrap();
    let managers: Vec<_> = deploy
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        managers.contains(&"kube-mcp-server".to_string()),
        "{managers:?}"
    );

    let again = env
        .ok(
            "kubectl_apply",
            json!({"manifest": two, "namespace": ns.name}),
        )
        .await;
    assert_eq!(
        again,
        "configmap/one unchanged\ndeployment.apps/web unchanged"
    );

    // Dry run of a change: reported, not written.
    let dry = env
        .ok(
            "kubectl_apply",
            json!({"manifest": cm_yaml(&ns.name, "one", "b"), "dryRun": true}),
        )
        .await;
    assert_eq!(dry, "configmap/one configured (server dry run)");
    assert_eq!(
        cm_value(&ns.client, &ns.name, "one").await.as_deref(),
        Some("a")
    );

    let real = env
        .ok(
            "kubectl_apply",
            json!({"manifest": cm_yaml(&ns.name, "one", "b")}),
        )
        .await;
    assert_eq!(real, "configmap/one configured");
    assert_eq!(
        cm_value(&ns.client, &ns.name, "one").await.as_deref(),
        Some("b")
    );

    // What kubectl_get returns can be applied again (server-owned metadata is dropped).
    let got = env
        .ok("kubectl_get", json!({"resourceType": "configmap", "name": "one", "namespace": ns.name, "output": "json"}))
        .await;
    let mut obj: Value = serde_json::from_str(&got).unwrap();
    obj["data"]["key"] = json!("c");
    let out = env
        .ok("kubectl_apply", json!({"manifest": obj.to_string()}))
        .await;
    assert_eq!(out, "configmap/one configured");
    assert_eq!(
        cm_value(&ns.client, &ns.name, "one").await.as_deref(),
        Some("c")
    );

    // JSON input and a file inside the allowed directory.
    let json_doc = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-json", "namespace": ns.name}, "data": {"key": "j"}});
    env.ok("kubectl_apply", json!({"manifest": json_doc.to_string()}))
        .await;
    assert_eq!(
        cm_value(&ns.client, &ns.name, "from-json").await.as_deref(),
        Some("j")
    );
    std::fs::write(
        env.files.path().join("cm.yaml"),
        cm_yaml(&ns.name, "from-file", "f"),
    )
    .unwrap();
    env.ok("kubectl_apply", json!({"filename": "cm.yaml"}))
        .await;
    assert_eq!(
        cm_value(&ns.client, &ns.name, "from-file").await.as_deref(),
        Some("f")
    );
    ns.delete().await;
}

#[tokio::test]
async fn apply_refuses_bad_input_and_writes_nothing() {
    let ns = test_namespace("w-apply-bad").await;
    let env = Env::start(&[]).await;
    let good = cm_yaml(&ns.name, "first", "x");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"manifest": "kind: [unclosed"}), "not valid YAML"),
        (
            json!({"manifest": format!("{good}---\napiVersion: v1\nkind: Widget\nmetadata: {{name: w}}\n")}),
            "Widget",
        ),
        (
            json!({"manifest": format!("{good}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{}}\n")}),
            "metadata.name",
        ),
        // Invalid for the API server: the dry-run pass stops it before the first object is written.
        (
            json!({"manifest": format!("{good}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: Bad_Name, namespace: {}}}\n", ns.name)}),
            "nothing was applied",
        ),
        (json!({}), "manifest"),
        (json!({"filename": "../../etc/passwd"}), "allowed directory"),
        (
            json!({"filename": "/etc/hostname"}),
            "outside the allowed directory",
        ),
    ];
    for (args, want) in cases {
        let err = env.err("kubectl_apply", args.clone()).await;
        assert!(err.contains(want), "{args}: {err}");
        assert_eq!(
            cm_value(&ns.client, &ns.name, "first").await,
            None,
            "{args} wrote something"
        );
    }

    // A server limited to one namespace refuses others, even inside manifests.
    let scoped = Env::start(&[("KUBE_MCP_NAMESPACES", ns.name.as_str())]).await;
    let err = scoped
        .err(
            "kubectl_apply",
            json!({"manifest": format!("{good}---\n{}", cm_yaml("kube-system", "sneaky", "x"))}),
        )
        .await;
    assert!(err.contains("outside this server's scope"), "{err}");
    assert_eq!(cm_value(&ns.client, &ns.name, "first").await, None);
    assert_eq!(cm_value(&ns.client, "kube-system", "sneaky").await, None);
    let err = scoped
        .err("kubectl_apply", json!({"manifest": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: sneaky}\nrules: []\n"}))
        .await;
    assert!(err.contains("cluster-scoped"), "{err}");

    // Secrets hidden: refused inside manifests too.
    let hidden = Env::start(&[("KUBE_MCP_SECRETS", "hidden")]).await;
    let err = hidden
        .err("kubectl_apply", json!({"manifest": format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: {}}}\nstringData: {{a: b}}\n", ns.name)}))
        .await;
    assert!(err.contains("Secrets are hidden"), "{err}");
    assert!(
        Api::<Secret>::namespaced(ns.client.clone(), &ns.name)
            .get_opt("s")
            .await
            .unwrap()
            .is_none()
    );

    // Without a files directory, filenames are refused with the setting to use.
    let nofiles = ServerProcess::start(Path::new(BIN), &[]).await;
    let c = nofiles.client().await;
    let out = c.call("kubectl_apply", json!({"filename": "x.yaml"})).await;
    assert!(
        out.is_error && out.text.contains("KUBE_MCP_FILES_DIR"),
        "{}",
        out.text
    );
    ns.delete().await;
}

#[tokio::test]
async fn delete_by_name_selector_and_manifest() {
    let ns = test_namespace("w-delete").await;
    let env = Env::start(&[]).await;
    let docs = ["a", "b", "c", "d"]
        .iter()
        .map(|n| cm_yaml(&ns.name, n, "v"))
        .collect::<Vec<_>>()
        .join("---\n");
    env.ok("kubectl_apply", json!({"manifest": docs})).await;
    env.ok(
        "kubectl_generic",
        json!({"command": "label", "resourceType": "configmap", "name": "b", "namespace": ns.name, "args": ["tier=x"]}),
    )
    .await;
    env.ok(
        "kubectl_generic",
        json!({"command": "label", "resourceType": "configmap", "name": "c", "namespace": ns.name, "args": ["tier=x"]}),
    )
    .await;

    let out = env
        .ok(
            "kubectl_delete",
            json!({"resourceType": "configmap", "name": "a", "namespace": ns.name}),
        )
        .await;
    assert_eq!(out, "configmap \"a\" deleted");
    assert_eq!(cm_value(&ns.client, &ns.name, "a").await, None);

    let out = env
        .ok(
            "kubectl_delete",
            json!({"resourceType": "cm", "labelSelector": "tier=x", "namespace": ns.name}),
        )
        .await;
    assert!(
        out.contains("\"b\" deleted") && out.contains("\"c\" deleted"),
        "{out}"
    );
    assert_eq!(cm_value(&ns.client, &ns.name, "b").await, None);
    assert_eq!(
        cm_value(&ns.client, &ns.name, "d").await.as_deref(),
        Some("v")
    );

    let out = env
        .ok(
            "kubectl_delete",
            json!({"manifest": cm_yaml(&ns.name, "d", "v"), "force": true}),
        )
        .await;
    assert_eq!(out, "configmap \"d\" deleted");
    assert_eq!(cm_value(&ns.client, &ns.name, "d").await, None);
    let err = env
        .err(
            "kubectl_delete",
            json!({"manifest": cm_yaml(&ns.name, "d", "v")}),
        )
        .await;
    assert!(
        err.contains("nothing was deleted") && err.contains("not found"),
        "{err}"
    );

    let err = env
        .err(
            "kubectl_delete",
            json!({"resourceType": "configmap", "namespace": ns.name}),
        )
        .await;
    assert!(
        err.contains("name") && err.contains("labelSelector"),
        "{err}"
    );
    let err = env
        .err(
            "kubectl_delete",
            json!({"resourceType": "configmap", "name": "zzz", "namespace": ns.name}),
        )
        .await;
    assert!(err.contains("404"), "{err}");
    let scoped = Env::start(&[("KUBE_MCP_NAMESPACES", ns.name.as_str())]).await;
    let err = scoped
        .err("kubectl_delete", json!({"resourceType": "configmap", "name": "kube-root-ca.crt", "namespace": "kube-system"}))
        .await;
    assert!(err.contains("outside this server's scope"), "{err}");

    // allNamespaces covers only the namespaces in scope.
    let other = test_namespace("w-delete-other").await;
    for n in [&ns.name, &other.name] {
        env.ok("kubectl_apply", json!({"manifest": cm_yaml(n, "sel", "v")}))
            .await;
        env.ok(
            "kubectl_generic",
            json!({"command": "label", "args": ["configmap/sel", "sweep=yes"], "namespace": n}),
        )
        .await;
    }
    let out = scoped
        .ok("kubectl_delete", json!({"resourceType": "configmap", "labelSelector": "sweep=yes", "allNamespaces": true}))
        .await;
    assert_eq!(
        out,
        format!("configmap \"sel\" deleted (namespace {})", ns.name)
    );
    assert_eq!(cm_value(&ns.client, &ns.name, "sel").await, None);
    assert_eq!(
        cm_value(&ns.client, &other.name, "sel").await.as_deref(),
        Some("v")
    );
    other.delete().await;
    ns.delete().await;
}

#[tokio::test]
async fn patch_scale_and_create() {
    let ns = test_namespace("w-patch").await;
    let env = Env::start(&[]).await;
    env.ok(
        "kubectl_apply",
        json!({"manifest": deploy_yaml("web", 1, "nginx:1"), "namespace": ns.name}),
    )
    .await;
    let deployments = Api::<Deployment>::namespaced(ns.client.clone(), &ns.name);
    let replicas = |d: Deployment| d.spec.and_then(|s| s.replicas);

    let out = env
        .ok(
            "kubectl_patch",
            json!({"resourceType": "deployment", "name": "web", "namespace": ns.name,
            "patchData": {"spec": {"replicas": 2}}, "dryRun": true}),
        )
        .await;
    assert_eq!(out, "deployment.apps/web patched (server dry run)");
    assert_eq!(replicas(deployments.get("web").await.unwrap()), Some(1));
    for (t, data, want) in [
        ("strategic", json!({"spec": {"replicas": 2}}), 2),
        ("merge", json!({"spec": {"replicas": 3}}), 3),
        (
            "json",
            json!([{"op": "replace", "path": "/spec/replicas", "value": 4}]),
            4,
        ),
    ] {
        let out = env
            .ok("kubectl_patch", json!({"resourceType": "deploy", "name": "web", "namespace": ns.name, "patchType": t, "patchData": data}))
            .await;
        assert_eq!(out, "deployment.apps/web patched", "{t}");
        assert_eq!(
            replicas(deployments.get("web").await.unwrap()),
            Some(want),
            "{t}"
        );
    }
    std::fs::write(env.files.path().join("p.yaml"), "spec:\n  replicas: 5\n").unwrap();
    env.ok("kubectl_patch", json!({"resourceType": "deployment", "name": "web", "namespace": ns.name, "patchType": "merge", "patchFile": "p.yaml"}))
        .await;
    assert_eq!(replicas(deployments.get("web").await.unwrap()), Some(5));
    let err = env
        .err("kubectl_patch", json!({"resourceType": "deployment", "name": "web", "namespace": ns.name, "patchType": "json", "patchData": {"spec": {}}}))
        .await;
    assert!(err.contains("array of operations"), "{err}");
    let err = env
        .err(
            "kubectl_patch",
            json!({"resourceType": "deployment", "name": "web", "namespace": ns.name}),
        )
        .await;
    assert!(err.contains("patchData"), "{err}");

    // Scale through the scale subresource.
    let out = env
        .ok(
            "kubectl_scale",
            json!({"name": "web", "namespace": ns.name, "replicas": 0}),
        )
        .await;
    assert_eq!(out, "deployment.apps/web scaled");
    assert_eq!(replicas(deployments.get("web").await.unwrap()), Some(0));
    let err = env
        .err(
            "kubectl_scale",
            json!({"name": "web", "namespace": ns.name, "replicas": -1}),
        )
        .await;
    assert!(err.contains("0 or more"), "{err}");
    let err = env
        .err(
            "kubectl_scale",
            json!({"name": "web", "namespace": ns.name}),
        )
        .await;
    assert!(err.contains("replicas"), "{err}");

    // Create: generators, dry run, masked output.
    let out = env
        .ok(
            "kubectl_create",
            json!({"resourceType": "configmap", "name": "gen", "namespace": ns.name,
            "fromLiteral": ["key=lit"], "fromFileContent": ["conf=inline"], "labels": ["team=a"]}),
        )
        .await;
    assert!(
        out.contains("kind: ConfigMap") && out.contains("team: a"),
        "{out}"
    );
    assert_eq!(
        cm_value(&ns.client, &ns.name, "gen").await.as_deref(),
        Some("lit")
    );
    let out = env
        .ok("kubectl_create", json!({"resourceType": "secret", "name": "pw", "namespace": ns.name, "fromLiteral": ["password=hunter2"]}))
        .await;
    assert!(
        out.contains("***") && !out.contains("aHVudGVyMg"),
        "secret leaked: {out}"
    );
    let secret = Api::<Secret>::namespaced(ns.client.clone(), &ns.name)
        .get("pw")
        .await
        .unwrap();
    assert_eq!(secret.data.unwrap()["password"].0, b"hunter2");
    let out = env
        .ok("kubectl_create", json!({"resourceType": "deployment", "name": "gen-web", "namespace": ns.name, "image": "nginx:1.27", "replicas": 2, "dryRun": true, "output": "name"}))
        .await;
    assert!(
        out.starts_with("deployment.apps/gen-web") && out.contains("dry run"),
        "{out}"
    );
    assert!(deployments.get_opt("gen-web").await.unwrap().is_none());
    let out = env
        .ok("kubectl_create", json!({"resourceType": "service", "name": "svc", "namespace": ns.name, "tcpPort": ["80:8080"], "output": "json"}))
        .await;
    let svc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], json!(8080));
    let out = env
        .ok(
            "kubectl_create",
            json!({"manifest": cm_yaml(&ns.name, "created", "m"), "output": "name"}),
        )
        .await;
    assert_eq!(out, "configmap/created");
    let err = env
        .err(
            "kubectl_create",
            json!({"manifest": cm_yaml(&ns.name, "created", "m")}),
        )
        .await;
    assert!(
        err.contains("409") || err.contains("already exists"),
        "{err}"
    );
    let err = env
        .err(
            "kubectl_create",
            json!({"resourceType": "deployment", "name": "x", "namespace": ns.name}),
        )
        .await;
    assert!(err.contains("image is required"), "{err}");
    ns.delete().await;
}

async fn wait_rolled_out(deployments: &Api<Deployment>, name: &str) {
    wait_for("the rollout", Duration::from_secs(60), || async {
        let d = deployments.get(name).await.unwrap();
        let st = d.status.unwrap_or_default();
        d.metadata.generation == st.observed_generation
            && st.updated_replicas == d.spec.as_ref().and_then(|s| s.replicas)
            && st.available_replicas == st.updated_replicas
            && st.replicas == st.updated_replicas
    })
    .await;
}

#[tokio::test]
async fn rollout_status_restart_history_undo_pause() {
    let ns = test_namespace("w-rollout").await;
    let env = Env::start(&[]).await;
    env.ok(
        "kubectl_apply",
        json!({"manifest": deploy_yaml("web", 1, "nginx:1"), "namespace": ns.name}),
    )
    .await;
    let deployments = Api::<Deployment>::namespaced(ns.client.clone(), &ns.name);
    let args = |sub: &str| json!({"subCommand": sub, "resourceType": "deployment", "name": "web", "namespace": ns.name});

    let mut status = args("status");
    status["timeout"] = json!("45s");
    let out = env.ok("kubectl_rollout", status.clone()).await;
    assert!(
        out.ends_with("deployment \"web\" successfully rolled out"),
        "{out}"
    );

    env.ok(
        "kubectl_apply",
        json!({"manifest": deploy_yaml("web", 1, "nginx:2"), "namespace": ns.name}),
    )
    .await;
    env.ok("kubectl_rollout", status.clone()).await;
    wait_rolled_out(&deployments, "web").await;
    let history = env.ok("kubectl_rollout", args("history")).await;
    assert!(
        history.contains("REVISION") && history.contains("\n1 ") && history.contains("\n2 "),
        "{history}"
    );
    let mut rev1 = args("history");
    rev1["revision"] = json!(1);
    let out = env.ok("kubectl_rollout", rev1).await;
    assert!(out.contains("nginx:1"), "{out}");

    let out = env.ok("kubectl_rollout", args("undo")).await;
    assert_eq!(out, "deployment.apps/web rolled back to revision 1");
    let image = |d: Deployment| {
        d.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .clone()
    };
    assert_eq!(
        image(deployments.get("web").await.unwrap()).as_deref(),
        Some("nginx:1")
    );
    wait_rolled_out(&deployments, "web").await;

    let out = env.ok("kubectl_rollout", args("restart")).await;
    assert_eq!(out, "deployment.apps/web restarted");
    let d = deployments.get("web").await.unwrap();
    let ann = d
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap_or_default();
    assert!(
        ann.contains_key("kubectl.kubernetes.io/restartedAt"),
        "{ann:?}"
    );

    assert_eq!(
        env.ok("kubectl_rollout", args("pause")).await,
        "deployment.apps/web paused"
    );
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().paused,
        Some(true)
    );
    let err = env.err("kubectl_rollout", args("restart")).await;
    assert!(err.contains("paused"), "{err}");
    assert_eq!(
        env.ok("kubectl_rollout", args("resume")).await,
        "deployment.apps/web resumed"
    );
    assert_ne!(
        deployments.get("web").await.unwrap().spec.unwrap().paused,
        Some(true)
    );

    let err = env.err("kubectl_rollout", json!({"subCommand": "status", "resourceType": "pod", "name": "x", "namespace": ns.name})).await;
    assert!(err.contains("no rollouts"), "{err}");
    let err = env.err("kubectl_rollout", json!({"subCommand": "explode", "resourceType": "deployment", "name": "web", "namespace": ns.name})).await;
    assert!(err.contains("not one of"), "{err}");
    ns.delete().await;
}

#[tokio::test]
async fn generic_maps_verbs_and_refuses_dangerous_flags() {
    let ns = test_namespace("w-generic").await;
    let env = Env::start(&[]).await;
    env.ok(
        "kubectl_apply",
        json!({"manifest": cm_yaml(&ns.name, "g", "v")}),
    )
    .await;
    env.ok(
        "kubectl_apply",
        json!({"manifest": deploy_yaml("web", 1, "nginx:1"), "namespace": ns.name}),
    )
    .await;
    let out = env
        .ok("kubectl_generic", json!({"command": "annotate", "resourceType": "configmap", "name": "g", "namespace": ns.name, "args": ["note=hello"]}))
        .await;
    assert_eq!(out, "configmap/g annotated");
    let cm = Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name)
        .get("g")
        .await
        .unwrap();
    assert_eq!(cm.metadata.annotations.unwrap()["note"], "hello");
    env.ok(
        "kubectl_generic",
        json!({"command": "label", "args": ["configmap/g", "tier=a"], "namespace": ns.name}),
    )
    .await;
    let err = env
        .err(
            "kubectl_generic",
            json!({"command": "label", "args": ["configmap/g", "tier=b"], "namespace": ns.name}),
        )
        .await;
    assert!(err.contains("overwrite"), "{err}");
    env.ok(
        "kubectl_generic",
        json!({"command": "label", "args": ["configmap/g", "tier-"], "namespace": ns.name}),
    )
    .await;
    let cm = Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name)
        .get("g")
        .await
        .unwrap();
    assert!(!cm.metadata.labels.unwrap_or_default().contains_key("tier"));

    let out = env
        .ok("kubectl_generic", json!({"command": "scale", "resourceType": "deployment", "name": "web", "namespace": ns.name, "flags": {"replicas": 3}}))
        .await;
    assert_eq!(out, "deployment.apps/web scaled");
    let d = Api::<Deployment>::namespaced(ns.client.clone(), &ns.name)
        .get("web")
        .await
        .unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(3));
    let out = env
        .ok("kubectl_generic", json!({"command": "get", "resourceType": "configmaps", "namespace": ns.name, "outputFormat": "name"}))
        .await;
    assert!(out.contains("g"), "{out}");

    for (args, flag) in [
        (
            json!({"command": "get", "resourceType": "pods", "flags": {"server": "https://evil:6443"}}),
            "--server",
        ),
        (
            json!({"command": "get", "resourceType": "pods", "flags": {"token": "abc"}}),
            "--token",
        ),
        (
            json!({"command": "get", "resourceType": "pods", "flags": {"as": "system:admin"}}),
            "--as",
        ),
        (
            json!({"command": "get", "resourceType": "pods", "args": ["--kubeconfig=/etc/k"]}),
            "--kubeconfig",
        ),
        (
            json!({"command": "get", "resourceType": "pods", "flags": {"insecure-skip-tls-verify": true}}),
            "--insecure-skip-tls-verify",
        ),
        (
            json!({"command": "scale", "resourceType": "deployment", "name": "web", "namespace": ns.name, "flags": {"replicas": 9, "as-group": "system:masters"}}),
            "--as-group",
        ),
    ] {
        let err = env.err("kubectl_generic", args.clone()).await;
        assert!(
            err.contains(flag) && err.contains("not allowed"),
            "{args}: {err}"
        );
    }
    let d = Api::<Deployment>::namespaced(ns.client.clone(), &ns.name)
        .get("web")
        .await
        .unwrap();
    assert_eq!(
        d.spec.unwrap().replicas,
        Some(3),
        "a refused call changed the deployment"
    );
    let err = env
        .err("kubectl_generic", json!({"command": "proxy"}))
        .await;
    assert!(
        err.contains("not supported") && err.contains("get, describe"),
        "{err}"
    );
    ns.delete().await;
}

/// A dedicated kwok node, tainted so only this test's pods land on it.
async fn private_node(client: &Client) -> String {
    let name = format!("drain-{}", kube_mcp_tests::fixture::random_suffix(5));
    let mut node = kube_mcp_tests::controlplane::fake_node_json(&name);
    node["spec"] = json!({"taints": [{"key": "kube-mcp.io/drain-test", "value": "true", "effect": "NoSchedule"}]});
    let node: Node = serde_json::from_value(node).unwrap();
    Api::<Node>::all(client.clone())
        .create(&PostParams::default(), &node)
        .await
        .unwrap();
    name
}

#[tokio::test]
async fn node_cordon_uncordon_and_drain_with_evictions() {
    let ns = test_namespace("w-node").await;
    let node = private_node(&ns.client).await;
    let nodes = Api::<Node>::all(ns.client.clone());
    let env = Env::start(&[]).await;
    let unschedulable = |n: Node| n.spec.and_then(|s| s.unschedulable).unwrap_or(false);

    assert_eq!(
        env.ok(
            "node_management",
            json!({"operation": "cordon", "nodeName": node})
        )
        .await,
        format!("node/{node} cordoned")
    );
    assert!(unschedulable(nodes.get(&node).await.unwrap()));
    assert_eq!(
        env.ok(
            "node_management",
            json!({"operation": "uncordon", "nodeName": node})
        )
        .await,
        format!("node/{node} uncordoned")
    );
    assert!(!unschedulable(nodes.get(&node).await.unwrap()));

    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pinned", "namespace": ns.name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "pinned"}}, "template": {"metadata": {"labels": {"app": "pinned"}},
        "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
            "tolerations": [{"key": "kube-mcp.io/drain-test", "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{"name": "app", "image": "nginx"}]}}}});
    env.ok("kubectl_apply", json!({"manifest": deploy.to_string()}))
        .await;
    let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
    let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
    wait_for(
        "2 running pods on the private node",
        Duration::from_secs(60),
        || async {
            pods.list(&on_node)
                .await
                .unwrap()
                .items
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
                .count()
                == 2
        },
    )
    .await;
    let before: Vec<String> = pods
        .list(&on_node)
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();

    // Without confirmDrain nothing happens and the answer says why.
    let out = env
        .ok(
            "node_management",
            json!({"operation": "drain", "nodeName": node}),
        )
        .await;
    assert!(out.contains("confirmDrain=true"), "{out}");
    assert!(!unschedulable(nodes.get(&node).await.unwrap()));

    // An unmanaged pod blocks the drain unless force.
    let bare: Pod = serde_json::from_value(json!({"metadata": {"name": "bare"}, "spec": {"nodeName": node,
        "tolerations": [{"key": "kube-mcp.io/drain-test", "operator": "Exists"}], "containers": [{"name": "c", "image": "x"}]}})).unwrap();
    pods.create(&PostParams::default(), &bare).await.unwrap();
    let err = env
        .err(
            "node_management",
            json!({"operation": "drain", "nodeName": node, "confirmDrain": true}),
        )
        .await;
    assert!(err.contains("bare") && err.contains("force"), "{err}");
    assert!(
        !unschedulable(nodes.get(&node).await.unwrap()),
        "a refused drain cordoned the node"
    );

    let dry = env
        .ok(
            "node_management",
            json!({"operation": "drain", "nodeName": node, "dryRun": true, "force": true}),
        )
        .await;
    for p in &before {
        assert!(dry.contains(p.as_str()), "{dry}");
    }
    assert!(
        !unschedulable(nodes.get(&node).await.unwrap()),
        "dry run cordoned"
    );
    assert_eq!(
        pods.list(&on_node).await.unwrap().items.len(),
        3,
        "dry run evicted"
    );

    // A PodDisruptionBudget that allows no eviction: the drain retries until
    // its timeout, then says what it did and which pod the budget holds.
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "hold", "namespace": ns.name},
        "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "pinned"}}}});
    env.ok("kubectl_apply", json!({"manifest": pdb.to_string()}))
        .await;
    let err = env
        .err("node_management", json!({"operation": "drain", "nodeName": node, "confirmDrain": true, "force": true, "timeout": "3s"}))
        .await;
    eprintln!("drain held by a PodDisruptionBudget:\n{err}");
    assert!(
        err.contains(&format!("node/{node} cordoned"))
            && err.contains("error evicting pod")
            && err.contains("disruption budget")
            && err.contains("longer timeout"),
        "{err}"
    );
    env.ok(
        "kubectl_delete",
        json!({"resourceType": "poddisruptionbudget", "name": "hold", "namespace": ns.name}),
    )
    .await;

    let started = Instant::now();
    let out = env
        .ok("node_management", json!({"operation": "drain", "nodeName": node, "confirmDrain": true, "force": true, "timeout": "45s"}))
        .await;
    eprintln!("drain of 3 kwok pods took {:?}:\n{out}", started.elapsed());
    assert!(out.ends_with(&format!("node/{node} drained")), "{out}");
    assert!(unschedulable(nodes.get(&node).await.unwrap()));
    let after = pods.list(&on_node).await.unwrap().items;
    assert!(
        after
            .iter()
            .all(|p| !before.contains(p.metadata.name.as_ref().unwrap())
                && p.metadata.name.as_deref() != Some("bare")),
        "evicted pods still on the node: {:?}",
        after
            .iter()
            .map(|p| p.metadata.name.clone())
            .collect::<Vec<_>>()
    );

    // A namespace-scoped server does not offer it at all.
    let scoped = Env::start(&[("KUBE_MCP_NAMESPACES", ns.name.as_str())]).await;
    assert!(
        !scoped
            .client
            .list_tools()
            .await
            .iter()
            .any(|t| t == "node_management")
    );
    let err = scoped
        .client
        .try_call(
            "node_management",
            json!({"operation": "cordon", "nodeName": node}),
        )
        .await
        .expect_err("not offered");
    assert!(err.contains("not enabled"), "{err}");
    let err = env
        .err(
            "node_management",
            json!({"operation": "reboot", "nodeName": node}),
        )
        .await;
    assert!(err.contains("not one of"), "{err}");
    let _ = nodes.delete(&node, &DeleteParams::default()).await;
    ns.delete().await;
}

#[tokio::test]
async fn exec_and_port_forward_on_kwok_pods_fail_clearly() {
    let ns = test_namespace("w-exec").await;
    let env = Env::start(&[]).await;
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p", "labels": {"app": "p"}},
        "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 8080, "name": "http"}]}]}})).unwrap();
    let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
    pods.create(&PostParams::default(), &pod).await.unwrap();
    wait_for("the pod to run", Duration::from_secs(60), || async {
        pods.get("p")
            .await
            .unwrap()
            .status
            .and_then(|s| s.phase)
            .as_deref()
            == Some("Running")
    })
    .await;

    // kwok serves the kubelet API but has no ClusterExec configured: the
    // API server's answer must come back as a clear tool error naming the pod.
    let out = env
        .client
        .call(
            "exec_in_pod",
            json!({"name": "p", "namespace": ns.name, "command": ["echo", "hi"], "timeout": 20000}),
        )
        .await;
    assert!(
        out.is_error && out.text.contains("no exec found for container"),
        "{}",
        out.text
    );
    let err = env
        .err(
            "exec_in_pod",
            json!({"name": "p", "namespace": ns.name, "command": []}),
        )
        .await;
    assert!(err.contains("non-empty"), "{err}");

    let port = kube_mcp_tests::server::free_port();
    let out = env.client.call("port_forward", json!({"resourceType": "pod", "resourceName": "p", "localPort": port, "targetPort": 8080, "namespace": ns.name})).await;
    eprintln!(
        "port_forward to a kwok pod: is_error={} {}",
        out.is_error, out.text
    );
    assert!(
        !out.is_error,
        "port_forward opens a local listener: {}",
        out.text
    );
    let v: Value = serde_json::from_str(&out.text).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    // The listener is real: a connection is accepted and forwarded; kwok
    // has no port-forward target configured, so the far end closes it.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let _ = sock.write_all(b"GET / HTTP/1.0\r\n\r\n").await;
    let mut buf = vec![0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf)).await;
    eprintln!("read through the forward: {read:?}");
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "unexpected data through a kwok forward: {read:?}"
    );
    assert!(
        env.ok("stop_port_forward", json!({"id": id}))
            .await
            .contains("Stopped")
    );
    // Through a service: its port 80 names the container port "http" (8080)
    // of the pod it selects.
    let services = Api::<Service>::namespaced(ns.client.clone(), &ns.name);
    for svc in [
        json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "p"},
            "ports": [{"port": 80, "targetPort": "http"}]}}),
        json!({"metadata": {"name": "bare"}, "spec": {"ports": [{"port": 80}]}}),
    ] {
        let svc: Service = serde_json::from_value(svc).unwrap();
        services.create(&PostParams::default(), &svc).await.unwrap();
    }
    let out = env.ok("port_forward", json!({"resourceType": "svc", "resourceName": "web", "localPort": 0, "targetPort": 80, "namespace": ns.name})).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    let message = v["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("{}/service/web (pod p):8080", ns.name)),
        "{out}"
    );
    env.ok("stop_port_forward", json!({"id": v["id"]})).await;
    let err = env.err("port_forward", json!({"resourceType": "service", "resourceName": "bare", "localPort": 0, "targetPort": 80, "namespace": ns.name})).await;
    assert!(err.contains("has no selector"), "{err}");
    let err = env.err("port_forward", json!({"resourceType": "deployment", "resourceName": "p", "localPort": port, "targetPort": 80, "namespace": ns.name})).await;
    assert!(err.contains("pod or service"), "{err}");
    let err = env.err("stop_port_forward", json!({"id": "pf-nope"})).await;
    assert!(err.contains("no port-forward"), "{err}");
    assert!(env.ok("cleanup", json!({})).await.contains("stopped"));
    ns.delete().await;
}

fn write_chart(dir: &Path) -> std::path::PathBuf {
    let chart = dir.join("tiny");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "greeting: hello\n").unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  key: {{ .Values.greeting | quote }}\n",
    )
    .unwrap();
    chart
}

#[tokio::test]
async fn helm_install_upgrade_template_uninstall_of_a_local_chart() {
    let ns = test_namespace("w-helm").await;
    let path = format!(
        "{}:{}",
        cluster().bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Helm is offered only with Secrets visible: a chart can print any Secret it looks up.
    let env = Env::start(&[("PATH", path.as_str()), ("KUBE_MCP_SECRETS", "visible")]).await;
    let chart = write_chart(env.files.path());
    let chart = chart.to_str().unwrap();

    let started = Instant::now();
    let out = env
        .ok("install_helm_chart", json!({"name": "rel", "chart": chart, "namespace": ns.name, "values": {"greeting": "hi"}}))
        .await;
    eprintln!("helm install took {:?}", started.elapsed());
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert_eq!(
        cm_value(&ns.client, &ns.name, "rel-cm").await.as_deref(),
        Some("hi")
    );

    std::fs::write(env.files.path().join("v.yaml"), "greeting: bonjour\n").unwrap();
    let out = env
        .ok(
            "upgrade_helm_chart",
            json!({"name": "rel", "chart": chart, "namespace": ns.name, "valuesFile": "v.yaml"}),
        )
        .await;
    assert!(out.contains("has been upgraded"), "{out}");
    assert_eq!(
        cm_value(&ns.client, &ns.name, "rel-cm").await.as_deref(),
        Some("bonjour")
    );

    let out = env
        .ok(
            "uninstall_helm_chart",
            json!({"name": "rel", "namespace": ns.name}),
        )
        .await;
    assert!(out.contains("uninstalled"), "{out}");
    assert_eq!(cm_value(&ns.client, &ns.name, "rel-cm").await, None);

    let out = env
        .ok(
            "install_helm_chart",
            json!({"name": "tpl", "chart": chart, "namespace": ns.name, "useTemplate": true}),
        )
        .await;
    assert!(out.contains("configmap/tpl-cm created"), "{out}");
    assert_eq!(
        cm_value(&ns.client, &ns.name, "tpl-cm").await.as_deref(),
        Some("hello")
    );

    let err = env
        .err(
            "install_helm_chart",
            json!({"name": "x", "chart": "/etc", "namespace": ns.name}),
        )
        .await;
    assert!(err.contains("outside the allowed directory"), "{err}");
    let err = env
        .err(
            "install_helm_chart",
            json!({"name": "Bad_Name", "chart": chart, "namespace": ns.name}),
        )
        .await;
    assert!(err.contains("release name"), "{err}");

    // A server limited to one namespace refuses a chart that renders objects elsewhere.
    std::fs::write(
        Path::new(chart).join("templates/escape.yaml"),
        "{{ if .Values.escape }}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: escaped\n  namespace: kube-system\n{{ end }}\n",
    )
    .unwrap();
    let scoped_env = [
        ("PATH", path.as_str()),
        ("KUBE_MCP_NAMESPACES", ns.name.as_str()),
        ("KUBE_MCP_SECRETS", "visible"),
    ];
    let scoped = ServerProcess::start(
        Path::new(BIN),
        &[
            &scoped_env[..],
            &[("KUBE_MCP_FILES_DIR", env.files.path().to_str().unwrap())],
        ]
        .concat(),
    )
    .await;
    let sc = scoped.client().await;
    let out = sc.call("install_helm_chart", json!({"name": "esc", "chart": chart, "namespace": ns.name, "values": {"escape": true}})).await;
    assert!(
        out.is_error
            && out.text.contains("outside this server's scope")
            && out.text.contains("nothing was installed"),
        "{}",
        out.text
    );
    assert_eq!(cm_value(&ns.client, "kube-system", "escaped").await, None);
    assert_eq!(cm_value(&ns.client, &ns.name, "esc-cm").await, None);
    let out = sc
        .call(
            "install_helm_chart",
            json!({"name": "inside", "chart": chart, "namespace": ns.name}),
        )
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(
        cm_value(&ns.client, &ns.name, "inside-cm").await.as_deref(),
        Some("hello")
    );

    // No helm on PATH: a clear error naming what to install.
    let bare = Env::start(&[("PATH", "/nonexistent"), ("KUBE_MCP_SECRETS", "visible")]).await;
    let err = bare
        .err(
            "install_helm_chart",
            json!({"name": "x", "chart": "example/tiny", "namespace": ns.name}),
        )
        .await;
    assert!(
        err.contains("helm binary") && err.contains("KUBE_MCP_HELM"),
        "{err}"
    );
    ns.delete().await;
}

#[tokio::test]
async fn statefulset_history_and_undo_use_controller_revisions() {
    use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
    let ns = test_namespace("w-sts").await;
    let env = Env::start(&[]).await;
    let sts = |image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": ns.name},
            "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": image}]}}}})
        .to_string()
    };
    let revisions = Api::<ControllerRevision>::namespaced(ns.client.clone(), &ns.name);
    env.ok("kubectl_apply", json!({"manifest": sts("db:1")}))
        .await;
    wait_for("the first revision", Duration::from_secs(30), || async {
        revisions
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len()
            == 1
    })
    .await;
    env.ok("kubectl_apply", json!({"manifest": sts("db:2")}))
        .await;
    wait_for("the second revision", Duration::from_secs(30), || async {
        revisions
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len()
            == 2
    })
    .await;
    let args = |sub: &str| json!({"subCommand": sub, "resourceType": "statefulset", "name": "db", "namespace": ns.name});
    let history = env.ok("kubectl_rollout", args("history")).await;
    assert!(
        history.contains("\n1 ") && history.contains("\n2 "),
        "{history}"
    );
    let out = env.ok("kubectl_rollout", args("undo")).await;
    assert_eq!(out, "statefulset.apps/db rolled back to revision 1");
    let s = Api::<StatefulSet>::namespaced(ns.client.clone(), &ns.name)
        .get("db")
        .await
        .unwrap();
    let image = s.spec.unwrap().template.spec.unwrap().containers[0]
        .image
        .clone();
    assert_eq!(image.as_deref(), Some("db:1"));
    let err = env.err("kubectl_rollout", args("pause")).await;
    assert!(err.contains("only supported for deployments"), "{err}");
    ns.delete().await;
}
