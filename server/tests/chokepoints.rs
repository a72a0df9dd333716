//! The server's chokepoints played by the untrusted party: an MCP client
//! that wants Secret values, another namespace, or a tool the filter
//! removed. The real binary over streamable HTTP, a real MCP client, the
//! real API server; what was written is read back with an admin client.

use base64::Engine;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::PostParams;
use kube_mcp_tests::mcp::McpClient;
use kube_mcp_tests::server::ServerProcess;
use kube_mcp_tests::{TestNamespace, test_namespace};
use serde_json::{Value, json};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");

/// A Secret whose value is unique to the test, and every form the value
/// can take in text.
struct Planted {
    name: String,
    forms: Vec<String>,
}

async fn plant_secret(ns: &TestNamespace, name: &str) -> Planted {
    let value = format!(
        "s3cr3t-{}-{}",
        name,
        kube_mcp_tests::fixture::random_suffix(12)
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(&value);
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "labels": {"app": "db"}},
        "type": "Opaque",
        "data": {"password": b64, "user": base64::engine::general_purpose::STANDARD.encode("admin")},
    }))
    .unwrap();
    Api::<Secret>::namespaced(ns.client.clone(), &ns.name)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    // Parts of the value too: a leak of half a value is a leak.
    let half = value[..value.len() / 2].to_string();
    Planted {
        name: name.into(),
        forms: vec![value.clone(), b64, half],
    }
}

impl Planted {
    fn assert_absent(&self, what: &str, text: &str) {
        for f in &self.forms {
            assert!(
                !text.contains(f.as_str()),
                "{what} leaked a Secret value ({f}):\n{text}"
            );
        }
    }
}

async fn server(env: &[(&str, &str)]) -> (ServerProcess, McpClient) {
    let s = ServerProcess::start(Path::new(BIN), env).await;
    let c = s.client().await;
    (s, c)
}

/// Calls a tool and returns its text, error or not (protocol errors too).
async fn text(c: &McpClient, tool: &str, args: Value) -> (bool, String) {
    match c.try_call(tool, args).await {
        Ok(o) => (o.is_error, o.text),
        Err(e) => (true, e),
    }
}

#[tokio::test]
async fn json_patches_cannot_read_a_secret_value_out() {
    let ns = test_namespace("cp-patch").await;
    let p = plant_secret(&ns, "db").await;
    let (s, c) = server(&[]).await;
    let target = json!({"resourceType": "secret", "name": p.name, "namespace": ns.name, "patchType": "json"});
    let attacks = [
        // Copied into a field that fails validation: the error would quote it.
        json!([{"op": "copy", "from": "/data/password", "path": "/type"}]),
        // Copied into a label, dry run: the answer would carry it.
        json!([{"op": "copy", "from": "/data/password", "path": "/metadata/labels/x"}]),
        json!([{"op": "move", "from": "/data/password", "path": "/metadata/annotations/x"}]),
        // A yes/no oracle on a guess.
        json!([{"op": "test", "path": "/data/password", "value": "Z3Vlc3M="}]),
    ];
    for (i, ops) in attacks.iter().enumerate() {
        for dry in [true, false] {
            let mut args = target.clone();
            args["patchData"] = ops.clone();
            args["dryRun"] = json!(dry);
            let (err, out) = text(&c, "kubectl_patch", args).await;
            assert!(err, "attack {i} (dry run {dry}) was not refused: {out}");
            assert!(out.contains("refused by this server"), "{out}");
            p.assert_absent("a refused JSON patch", &out);
        }
    }
    // The same through kubectl_generic.
    let (err, out) = text(
        &c,
        "kubectl_generic",
        json!({"command": "patch", "resourceType": "secret", "name": p.name, "namespace": ns.name,
               "flags": {"type": "json", "p": attacks[1].to_string()}}),
    )
    .await;
    assert!(err, "{out}");
    p.assert_absent("kubectl_generic patch", &out);
    // Nothing was copied anywhere.
    let live = Api::<Secret>::namespaced(ns.client.clone(), &ns.name)
        .get(&p.name)
        .await
        .unwrap();
    p.assert_absent(
        "the Secret's metadata",
        &serde_json::to_string(&live.metadata).unwrap(),
    );
    assert_eq!(live.type_.as_deref(), Some("Opaque"));
    // Writes that read nothing still work, and answer masked.
    let (err, out) = text(
        &c,
        "kubectl_patch",
        json!({"resourceType": "secret", "name": p.name, "namespace": ns.name, "patchType": "json",
               "patchData": [{"op": "add", "path": "/metadata/labels/rotated", "value": "yes"}]}),
    )
    .await;
    assert!(!err, "{out}\n{}", s.log());
    p.assert_absent("an allowed patch", &out);
}

#[tokio::test]
async fn errors_and_answers_about_secrets_carry_no_value() {
    let ns = test_namespace("cp-errors").await;
    let p = plant_secret(&ns, "api").await;
    // A Secret applied by kubectl carries its values in last-applied.
    let value = &p.forms[0];
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\n  namespace: {}\nstringData:\n  token: {value}\n",
        ns.name
    );
    kube_mcp_tests::fixture::kubectl_apply(&manifest, false);
    let (s, c) = server(&[]).await;
    // Annotating without overwrite names the existing value in its error.
    let (err, out) = text(
        &c,
        "kubectl_generic",
        json!({"command": "annotate", "resourceType": "secret", "name": "applied", "namespace": ns.name,
               "args": ["kubectl.kubernetes.io/last-applied-configuration=x"]}),
    )
    .await;
    assert!(err, "{out}");
    p.assert_absent("an annotate error", &out);
    // An invalid change to a Secret: the API server's error quotes values.
    let (err, out) = text(
        &c,
        "kubectl_patch",
        json!({"resourceType": "secret", "name": p.name, "namespace": ns.name, "patchType": "merge",
               "patchData": {"type": value}}),
    )
    .await;
    assert!(err, "{out}");
    p.assert_absent("an invalid Secret patch", &out);
    // Every way of showing the Secret.
    for (tool, args) in [
        (
            "kubectl_get",
            json!({"resourceType": "secrets", "namespace": ns.name, "output": "json"}),
        ),
        (
            "kubectl_get",
            json!({"resourceType": "secret", "name": "applied", "namespace": ns.name, "output": "yaml"}),
        ),
        (
            "kubectl_get",
            json!({"resourceType": "secret", "name": p.name, "namespace": ns.name, "output": "jsonpath={.data.password}"}),
        ),
        (
            "kubectl_get",
            json!({"resourceType": "secrets", "namespace": ns.name, "output": "custom-columns=P:.data.password,A:.metadata.annotations"}),
        ),
        // Tables of cells only, of metadata (namespace column) and of whole objects (sort).
        (
            "kubectl_get",
            json!({"resourceType": "secrets", "namespace": ns.name, "output": "wide"}),
        ),
        (
            "kubectl_get",
            json!({"resourceType": "secrets", "allNamespaces": true, "output": "wide"}),
        ),
        (
            "kubectl_get",
            json!({"resourceType": "secrets", "namespace": ns.name, "output": "wide", "sortBy": ".data.password"}),
        ),
        (
            "kubectl_describe",
            json!({"resourceType": "secret", "name": "applied", "namespace": ns.name}),
        ),
        (
            "kubectl_apply",
            json!({"manifest": manifest, "dryRun": true}),
        ),
        ("kubectl_apply", json!({"manifest": manifest})),
        (
            "kubectl_delete",
            json!({"resourceType": "secret", "name": p.name, "namespace": ns.name, "dryRun": true}),
        ),
    ] {
        let (_, out) = text(&c, tool, args.clone()).await;
        p.assert_absent(&format!("{tool} {args}"), &out);
    }
    p.assert_absent("the server's log", &s.log());
}

#[tokio::test]
async fn hidden_refuses_workloads_that_reference_secrets() {
    let ns = test_namespace("cp-hidden").await;
    let (_s, c) = server(&[("KUBE_MCP_SECRETS", "hidden")]).await;
    let with_volume = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: leaky\n  namespace: {}\nspec:\n  selector: {{matchLabels: {{app: l}}}}\n  template:\n    metadata: {{labels: {{app: l}}}}\n    spec:\n      containers: [{{name: c, image: busybox, envFrom: [{{secretRef: {{name: db}}}}]}}]\n",
        ns.name
    );
    let (err, out) = text(&c, "kubectl_apply", json!({"manifest": with_volume})).await;
    assert!(err && out.contains("references a Secret"), "{out}");
    let clean = with_volume.replace(
        "envFrom: [{secretRef: {name: db}}]",
        "env: [{name: A, value: b}]",
    );
    let (err, out) = text(&c, "kubectl_apply", json!({"manifest": clean})).await;
    assert!(!err, "{out}");
    // Adding the reference afterwards, by patch, is refused too.
    let (err, out) = text(
        &c,
        "kubectl_patch",
        json!({"resourceType": "deployment", "name": "leaky", "namespace": ns.name, "patchType": "strategic",
               "patchData": {"spec": {"template": {"spec": {"volumes": [{"name": "s", "secret": {"secretName": "db"}}]}}}}}),
    )
    .await;
    assert!(err && out.contains("references a Secret"), "{out}");
    // And Secrets themselves are unreachable.
    let (err, out) = text(
        &c,
        "kubectl_get",
        json!({"resourceType": "secrets", "namespace": ns.name}),
    )
    .await;
    assert!(err && out.contains("hidden"), "{out}");
}

#[tokio::test]
async fn a_server_never_writes_a_workload_that_runs_as_itself() {
    let ns = test_namespace("cp-self").await;
    let sa = "kube-mcp.ep";
    // The server runs as an endpoint-like ServiceAccount that may edit its namespace.
    kube_mcp_tests::fixture::kubectl_apply(
        &format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {sa}, namespace: {ns}}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: ep-edit, namespace: {ns}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}}\n\
         subjects: [{{kind: ServiceAccount, name: {sa}, namespace: {ns}}}]\n",
            ns = ns.name
        ),
        false,
    );
    let token = kube_mcp_tests::service_account_token(&ns.client, &ns.name, sa).await;
    let kubeconfig = kube_mcp_tests::cluster().token_kubeconfig(sa, &token);
    let (_s, c) = server(&[
        ("KUBECONFIG_YAML", kubeconfig.as_str()),
        ("K8S_NAMESPACE", ns.name.as_str()),
        ("KUBE_MCP_NAMESPACES", ns.name.as_str()),
    ])
    .await;
    let pod = |sa: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p-{}\n  namespace: {}\nspec:\n  serviceAccountName: {sa}\n  containers: [{{name: c, image: busybox}}]\n",
            sa.replace('.', "-"),
            ns.name
        )
    };
    let (err, out) = text(&c, "kubectl_apply", json!({"manifest": pod(sa)})).await;
    assert!(err && out.contains("own ServiceAccount"), "{out}");
    let (err, out) = text(&c, "kubectl_apply", json!({"manifest": pod("default")})).await;
    assert!(!err, "{out}");
    let (err, out) = text(
        &c,
        "kubectl_create",
        json!({"resourceType": "deployment", "name": "d", "namespace": ns.name, "image": "busybox"}),
    )
    .await;
    assert!(!err, "{out}");
    let (err, out) = text(
        &c,
        "kubectl_patch",
        json!({"resourceType": "deployment", "name": "d", "namespace": ns.name, "patchType": "merge",
               "patchData": {"spec": {"template": {"spec": {"serviceAccountName": sa}}}}}),
    )
    .await;
    assert!(err && out.contains("own ServiceAccount"), "{out}");
}

#[tokio::test]
async fn kubectl_generic_runs_only_the_tools_the_filter_offers() {
    let ns = test_namespace("cp-generic").await;
    Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap(),
        )
        .await
        .unwrap();
    let (_s, c) = server(&[("ALLOWED_TOOLS", "kubectl_generic,kubectl_get")]).await;
    let (err, out) = text(
        &c,
        "kubectl_generic",
        json!({"command": "get", "resourceType": "configmaps", "namespace": ns.name}),
    )
    .await;
    assert!(!err && out.contains("c"), "{out}");
    for args in [
        json!({"command": "delete", "resourceType": "configmap", "name": "c", "namespace": ns.name}),
        json!({"command": "label", "resourceType": "configmap", "name": "c", "namespace": ns.name, "args": ["a=b"]}),
        json!({"command": "describe", "resourceType": "configmap", "name": "c", "namespace": ns.name}),
    ] {
        let (err, out) = text(&c, "kubectl_generic", args.clone()).await;
        assert!(err && out.contains("not enabled"), "{args}: {out}");
    }
    assert!(
        Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name)
            .get_opt("c")
            .await
            .unwrap()
            .is_some_and(|c| c.metadata.labels.is_none()),
        "the refused verbs changed nothing"
    );
}

#[tokio::test]
async fn resources_and_the_prompt_follow_the_filter() {
    let (_s, c) = server(&[("ALLOWED_TOOLS", "ping,kubectl_describe")]).await;
    assert!(c.list_resources().await.is_empty());
    assert!(c.read_resource("k8s://default/pods").await.is_err());
    let err = c
        .get_prompt("k8s-diagnose", json!({"keyword": "web"}))
        .await
        .unwrap_err();
    assert!(err.contains("kubectl_get"), "{err}");
    let (_s2, all) = server(&[]).await;
    assert!(!all.list_resources().await.is_empty());
}

#[tokio::test]
async fn a_namespace_scoped_server_reaches_nothing_cluster_wide() {
    let ns = test_namespace("cp-scope").await;
    let (_s, c) = server(&[
        ("KUBE_MCP_NAMESPACES", ns.name.as_str()),
        ("KUBE_MCP_SECRETS", "visible"),
    ])
    .await;
    for args in [
        json!({"resourceType": "nodes"}),
        json!({"resourceType": "namespaces"}),
        json!({"resourceType": "clusterroles"}),
        json!({"resourceType": "pods", "namespace": "kube-system"}),
    ] {
        let (err, out) = text(&c, "kubectl_get", args.clone()).await;
        assert!(err, "{args}: {out}");
    }
    let (err, out) = text(
        &c,
        "kubectl_get",
        json!({"resourceType": "pods", "allNamespaces": true}),
    )
    .await;
    assert!(!err, "all namespaces means all in scope: {out}");
    let tools = c.list_tools().await;
    assert!(!tools.iter().any(|t| t == "node_management"), "{tools:?}");
}

#[tokio::test]
async fn helm_is_offered_only_with_visible_secrets() {
    let (_s, masked) = server(&[]).await;
    let tools = masked.list_tools().await;
    assert!(!tools.iter().any(|t| t.contains("helm")), "{tools:?}");
    let (_s2, visible) = server(&[("KUBE_MCP_SECRETS", "visible")]).await;
    assert!(
        visible
            .list_tools()
            .await
            .iter()
            .any(|t| t == "install_helm_chart")
    );
    // Asked for by name while masked: the server does not start, and says why.
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("ALLOWED_TOOLS", "kubectl_get,install_helm_chart")
        .arg("--list-tools")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("install_helm_chart") && err.contains("visible"),
        "{err}"
    );
}

/// The admin kubeconfig with a second context, `second`, on the same cluster.
fn two_context_kubeconfig() -> String {
    let path = kube_mcp_tests::cluster().kubeconfig_path();
    let mut kc: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut second = kc["contexts"][0].clone();
    second["name"] = json!("second");
    second["context"]["namespace"] = json!("kube-system");
    kc["contexts"].as_array_mut().unwrap().push(second);
    serde_json::to_string(&kc).unwrap()
}

async fn current_context(c: &McpClient) -> String {
    let (err, out) = text(
        c,
        "kubectl_context",
        json!({"operation": "get", "output": "name"}),
    )
    .await;
    assert!(!err, "{out}");
    out.trim().to_string()
}

#[tokio::test]
async fn a_context_switch_belongs_to_the_session_that_asked() {
    let kc = two_context_kubeconfig();
    let (s, a) = server(&[("KUBECONFIG_YAML", kc.as_str())]).await;
    let b = s.client().await;
    let original = current_context(&a).await;
    assert_ne!(original, "second");
    let (err, out) = text(
        &a,
        "kubectl_context",
        json!({"operation": "set", "name": "second"}),
    )
    .await;
    assert!(!err, "{out}");
    assert_eq!(current_context(&a).await, "second");
    assert_eq!(
        current_context(&b).await,
        original,
        "another session is not switched"
    );
    // The switched session works in its context's namespace (kube-system:
    // the API server writes this ConfigMap before it is ready, whereas
    // kube-root-ca.crt comes later from the controller-manager; CI raced it).
    let (err, out) = text(
        &a,
        "kubectl_get",
        json!({"resourceType": "configmaps", "output": "name"}),
    )
    .await;
    assert!(
        !err && out.contains("extension-apiserver-authentication"),
        "{out}"
    );
    // A server with a policy does not switch at all, neither by set nor per call.
    let ns = test_namespace("cp-ctx").await;
    let (_s2, scoped) = server(&[
        ("KUBECONFIG_YAML", kc.as_str()),
        ("KUBE_MCP_NAMESPACES", ns.name.as_str()),
    ])
    .await;
    let (err, out) = text(
        &scoped,
        "kubectl_context",
        json!({"operation": "set", "name": "second"}),
    )
    .await;
    assert!(err && out.contains("does not switch"), "{out}");
    let (err, out) = text(
        &scoped,
        "kubectl_get",
        json!({"resourceType": "pods", "namespace": ns.name, "context": "second"}),
    )
    .await;
    assert!(err && out.contains("does not switch"), "{out}");
    // A stateless server has no session to remember a switch in.
    let (_s3, stateless) = server(&[
        ("KUBECONFIG_YAML", kc.as_str()),
        ("KUBE_MCP_STATELESS", "true"),
    ])
    .await;
    let (err, out) = text(
        &stateless,
        "kubectl_context",
        json!({"operation": "set", "name": "second"}),
    )
    .await;
    assert!(err && out.contains("stateless"), "{out}");
}
