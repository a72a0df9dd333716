//! End to end, the way a platform team uses kube-mcp: kubectl apply of an
//! McpEndpoint, the operator (a real process) reconciles it, the kubelet
//! harness runs kube-mcp-server for its pods with the rendered settings and
//! the endpoint's ServiceAccount token, and real MCP clients talk to it.
//! RBAC denials come from the real API server.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::api::{DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Api, Client};
use kube_mcp_tests::fixture::until;
use kube_mcp_tests::kubelet::Kubelet;
use kube_mcp_tests::mcp::{self, McpClient};
use kube_mcp_tests::{TestNamespace, bins, cluster, demo, npm, test_namespace};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn endpoints(client: &Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("kubemcp.io", "v1alpha1", "McpEndpoint");
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, "mcpendpoints"),
    )
}

/// One endpoint served end to end.
struct Served {
    ns: TestNamespace,
    name: String,
    kubelet: Kubelet,
    url: String,
    token: String,
    _operator: tokio::process::Child,
    /// The operator's /metrics URL.
    metrics: String,
    /// The verify address map (stands in for cluster DNS).
    _map: tempfile::NamedTempFile,
}

async fn token_of(client: &Client, ns: &str, secret: &str) -> String {
    let s = Api::<Secret>::namespaced(client.clone(), ns)
        .get(secret)
        .await
        .unwrap();
    String::from_utf8(s.data.unwrap()["token"].0.clone())
        .unwrap()
        .trim()
        .to_string()
}

/// One endpoint served end to end, the operator verifying it over MCP.
async fn serve(prefix: &str, spec: Value) -> Served {
    serve_with_env(prefix, spec, vec![]).await
}

async fn sa_client(s: &Served) -> Client {
    let dep = Api::<Deployment>::namespaced(s.ns.client.clone(), &s.ns.name)
        .get(&s.name)
        .await;
    let sa = dep
        .ok()
        .and_then(|d| d.spec?.template.spec?.service_account_name)
        .unwrap_or_else(|| s.name.clone());
    let token = kube_mcp_tests::service_account_token(&s.ns.client, &s.ns.name, &sa).await;
    kube_mcp_tests::client_with_token(&token).await
}

fn is_forbidden<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> bool {
    matches!(r, Err(kube::Error::Api(s)) if s.code == 403)
}

const READ_ONLY: [&str; 8] = [
    "kubectl_get",
    "kubectl_describe",
    "kubectl_logs",
    "kubectl_context",
    "kubectl_reconnect",
    "explain_resource",
    "list_api_resources",
    "ping",
];

#[tokio::test]
async fn a_read_only_endpoint_reads_its_namespace_and_nothing_more() {
    let s = serve("ro", json!({"access": "ReadOnly"})).await;
    let client = McpClient::connect(&s.url, Some(&s.token)).await.unwrap();
    let mut tools = client.list_tools().await;
    tools.sort();
    let mut want = READ_ONLY.map(String::from).to_vec();
    want.sort();
    assert_eq!(tools, want, "exactly the read-only tools");

    let pods = client
        .call(
            "kubectl_get",
            json!({"resourceType": "pods", "namespace": s.ns.name, "output": "name"}),
        )
        .await;
    assert!(
        !pods.is_error && pods.text.contains(&s.name),
        "kubectl_get in scope works: {pods:?}"
    );

    let err = client
        .try_call("kubectl_apply", json!({"manifest": "kind: ConfigMap"}))
        .await
        .unwrap_err();
    assert!(
        err.contains("kubectl_apply"),
        "a write tool is refused: {err}"
    );

    let other = client
        .call(
            "kubectl_get",
            json!({"resourceType": "pods", "namespace": "default"}),
        )
        .await;
    assert!(
        other.is_error && other.text.contains("outside"),
        "the server refuses another namespace: {other:?}"
    );

    // Even a server bug could not do more: the API server refuses the endpoint's identity.
    let api = sa_client(&s).await;
    assert!(is_forbidden(
        Api::<Pod>::namespaced(api.clone(), "default")
            .list(&ListParams::default())
            .await
    ));
    assert!(
        Api::<Pod>::namespaced(api.clone(), &s.ns.name)
            .list(&ListParams::default())
            .await
            .is_ok()
    );
    let cm = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("nope".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(is_forbidden(
        Api::<ConfigMap>::namespaced(api, &s.ns.name)
            .create(&PostParams::default(), &cm)
            .await
    ));
    client.close().await;
}

#[tokio::test]
async fn secrets_are_masked_or_refused_by_rbac() {
    let masked = serve("sm", json!({"access": "ReadOnly", "secrets": "Masked"})).await;
    let secret: Secret = serde_json::from_value(
        json!({"metadata": {"name": "db"}, "stringData": {"password": "hunter2-e2e"}}),
    )
    .unwrap();
    Api::<Secret>::namespaced(masked.ns.client.clone(), &masked.ns.name)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let client = McpClient::connect(&masked.url, Some(&masked.token))
        .await
        .unwrap();
    for output in ["json", "yaml"] {
        let got = client.call("kubectl_get", json!({"resourceType": "secret", "name": "db", "namespace": masked.ns.name, "output": output})).await;
        assert!(!got.is_error, "{got:?}");
        assert!(
            got.text.contains("***")
                && !got.text.contains("aHVudGVyMi1lMmU")
                && !got.text.contains("hunter2"),
            "{output}: {}",
            got.text
        );
    }
    client.close().await;

    let hidden = serve("sh", json!({"access": "ReadOnly", "secrets": "Hidden"})).await;
    let client = McpClient::connect(&hidden.url, Some(&hidden.token))
        .await
        .unwrap();
    let got = client
        .call(
            "kubectl_get",
            json!({"resourceType": "secrets", "namespace": hidden.ns.name}),
        )
        .await;
    assert!(got.is_error && got.text.contains("hidden"), "{got:?}");
    let api = sa_client(&hidden).await;
    assert!(
        is_forbidden(
            Api::<Secret>::namespaced(api, &hidden.ns.name)
                .list(&ListParams::default())
                .await
        ),
        "no RBAC on secrets when Hidden"
    );
    client.close().await;
}

async fn status_of(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn tokens_hosts_and_rotation_without_restart() {
    let s = serve(
        "auth",
        json!({"access": "ReadOnly", "allowedHosts": ["mcp.team.example.com"]}),
    )
    .await;
    assert_eq!(status_of(&s.url, &[]).await, 401);
    assert_eq!(status_of(&s.url, &[("x-mcp-auth", "wrong")]).await, 401);
    assert_eq!(status_of(&s.url, &[("x-mcp-auth", &s.token)]).await, 200);
    assert_eq!(
        status_of(
            &s.url,
            &[("x-mcp-auth", &s.token), ("host", "evil.example.com")]
        )
        .await,
        403
    );
    assert_eq!(
        status_of(
            &s.url,
            &[("x-mcp-auth", &s.token), ("host", "mcp.team.example.com")]
        )
        .await,
        200
    );
    let in_cluster_host = format!("{}.{}.svc", s.name, s.ns.name);
    assert_eq!(
        status_of(
            &s.url,
            &[("x-mcp-auth", &s.token), ("host", &in_cluster_host)]
        )
        .await,
        200
    );

    let api = endpoints(&s.ns.client, &s.ns.name);
    let patch = json!({"metadata": {"annotations": {"kubemcp.io/rotate-token": "e2e-1"}}});
    api.patch(&s.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let secret_name = format!("{}-token", s.name);
    let client = s.ns.client.clone();
    let ns = s.ns.name.clone();
    let old = s.token.clone();
    let new = until("a rotated token", Duration::from_secs(60), || {
        let (client, ns, secret_name, old) =
            (client.clone(), ns.clone(), secret_name.clone(), old.clone());
        async move {
            let t = token_of(&client, &ns, &secret_name).await;
            (t != old).then_some(t)
        }
    })
    .await;
    let urls_before = s.kubelet.urls();
    until("the new token to work", Duration::from_secs(30), || async {
        s.kubelet.sync().await.ok()?;
        (status_of(&s.url, &[("x-mcp-auth", &new)]).await == 200).then_some(())
    })
    .await;
    assert_eq!(
        status_of(&s.url, &[("x-mcp-auth", &s.token)]).await,
        401,
        "the old token stops working"
    );
    assert_eq!(
        s.kubelet.urls(),
        urls_before,
        "same server process: no restart"
    );
}

/// An in-cluster agent calls with a ServiceAccount token minted for the
/// endpoint's audience (`status.url`), as a projected token is: accepted,
/// while the same account's token for the API server is refused; with
/// `authorize: Caller` each call also needs the agent's own RBAC.
#[tokio::test]
async fn an_agent_calls_with_a_service_account_token_for_the_endpoint() {
    let s = serve(
        "agent",
        json!({"access": "ReadOnly", "secrets": "Hidden",
               "auth": {"modes": ["Token", "Kubernetes"], "authorize": "Caller"}}),
    )
    .await;
    let ns = s.ns.name.clone();
    let audience = format!("http://{}.{ns}.svc:80/mcp", s.name);
    let ep = endpoints(&s.ns.client, &ns).get(&s.name).await.unwrap();
    assert_eq!(ep.data["status"]["url"], json!(audience));
    assert_eq!(
        ep.data["status"]["auth"],
        json!("Generated+Kubernetes/Caller")
    );
    let sa: k8s_openapi::api::core::v1::ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "agent"}})).unwrap();
    Api::namespaced(s.ns.client.clone(), &ns)
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    let token =
        kube_mcp_tests::fixture::service_account_token_for(&s.ns.client, &ns, "agent", &audience)
            .await;
    let for_api = kube_mcp_tests::service_account_token(&s.ns.client, &ns, "agent").await;
    let bearer = |t: &str| format!("Bearer {t}");
    assert_eq!(
        status_of(&s.url, &[("authorization", &bearer(&token))]).await,
        200
    );
    assert_eq!(
        status_of(&s.url, &[("authorization", &bearer(&for_api))]).await,
        401,
        "a token for the API server is not one for the endpoint"
    );
    // The shared token still opens a session (the operator verifies with it).
    assert_eq!(status_of(&s.url, &[("x-mcp-auth", &s.token)]).await, 200);

    let client = McpClient::connect_bearer(&s.url, &token).await.unwrap();
    let args = json!({"resourceType": "configmaps", "namespace": ns, "output": "name"});
    let refused = client.call("kubectl_get", args.clone()).await;
    assert!(
        refused.is_error
            && refused.text.contains("system:serviceaccount:")
            && refused.text.contains("SubjectAccessReview"),
        "the agent holds no right of its own yet: {refused:?}"
    );
    kube_mcp_tests::fixture::kubectl_apply(
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "agent-view", "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": ns}]})
        .to_string(),
        true,
    );
    // Caller answers are cached 10 s; RBAC reaches the authorizer a moment late.
    until(
        "the agent's view to apply",
        Duration::from_secs(40),
        || async { (!client.call("kubectl_get", args.clone()).await.is_error).then_some(()) },
    )
    .await;
    client.close().await;
}

#[tokio::test]
async fn changing_spec_tools_changes_tools_list_after_the_rollout() {
    let s = serve(
        "tools",
        json!({"access": "ReadOnly", "tools": ["kubectl_get", "kubectl_logs"]}),
    )
    .await;
    let client = McpClient::connect(&s.url, Some(&s.token)).await.unwrap();
    assert_eq!(client.list_tools().await, ["kubectl_get", "kubectl_logs"]);
    client.close().await;
    let patch = json!({"spec": {"tools": ["kubectl_get"]}});
    endpoints(&s.ns.client, &s.ns.name).patch(&s.name, &PatchParams::apply("e2e-test"), &Patch::Apply(json!({
        "apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint", "metadata": {"name": s.name}, "spec": {"access": "ReadOnly", "tools": patch["spec"]["tools"]}
    }))).await.unwrap();
    let tools = until(
        "tools/list to change after the rollout",
        Duration::from_secs(120),
        || async {
            let urls = s.kubelet.sync().await.ok()?;
            for url in urls {
                if let Ok(c) = McpClient::connect(&url, Some(&s.token)).await {
                    let t = c.list_tools().await;
                    c.close().await;
                    if t == ["kubectl_get"] {
                        return Some(t);
                    }
                }
            }
            None
        },
    )
    .await;
    assert_eq!(tools, ["kubectl_get"]);
}

#[tokio::test]
async fn the_demo_command_runs_non_interactively() {
    let out = tokio::process::Command::new(bins::path("kube-mcp-demo"))
        .arg("--exit-after-client")
        .arg("--repo")
        .arg(repo())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("tools/list -> 5 tools: kubectl_get, kubectl_describe, kubectl_logs, explain_resource, list_api_resources"), "{stdout}");
    assert!(
        stdout.contains("X-MCP-AUTH") && stdout.contains("[mcp_servers.team_a_readonly]"),
        "client configs: {stdout}"
    );
    assert!(
        stdout.contains("Verified: True (ToolsMatch)"),
        "the operator verified the endpoint: {stdout}"
    );
    assert!(
        stdout.contains("ServiceAccount team-a/triage-agent with a token for audience http://team-a-readonly.team-a.svc:80/mcp")
            && stdout.contains("tools/list -> 5 tools; its token for the API server is refused"),
        "the in-cluster-style client: {stdout}"
    );
    // As root (CI), the demo's endpoint runs on a real node, not the harness.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert!(
            stdout.contains("in a real container on node real-node"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The official Python SDK against an operator-provisioned endpoint.
#[tokio::test]
async fn the_python_sdk_uses_an_operator_provisioned_endpoint() {
    let s = serve("py", json!({"access": "ReadOnly"})).await;
    let python = std::env::var("KUBE_MCP_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/kube-mcp/venv/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    assert!(
        Path::new(&python).exists(),
        "{python} missing: run scripts/test"
    );
    let script = repo().join("tests/clients/py_client.py");
    let args =
        json!({"resourceType": "pods", "namespace": s.ns.name, "output": "name"}).to_string();
    // `--token=` keeps argparse from reading a token as an option, whatever it starts with.
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args([
            "--url",
            &s.url,
            &format!("--token={}", s.token),
            "--call",
            "kubectl_get",
            "--args",
            &args,
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tools"].as_array().unwrap().len(), 8, "{v}");
    assert_eq!(v["call"]["is_error"], false, "{v}");
    assert!(v["call"]["text"].as_str().unwrap().contains(&s.name), "{v}");
}

/// The TypeScript SDK's inspector CLI against an operator-provisioned endpoint.
#[tokio::test]
async fn the_inspector_cli_lists_and_calls_tools_of_an_endpoint() {
    let s = serve(
        "insp",
        json!({"access": "ReadOnly", "tools": ["kubectl_get", "ping"]}),
    )
    .await;
    let header = format!("X-MCP-AUTH: {}", s.token);
    let (ok, out) = npm::run(
        "mcp-inspector",
        &[
            "--cli",
            &s.url,
            "--transport",
            "http",
            "--method",
            "tools/list",
            "--header",
            &header,
        ],
    )
    .await;
    assert!(ok, "{out}");
    let v: Value = serde_json::from_str(&out[out.find('{').unwrap()..])
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    let names: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kubectl_get", "ping"]);
    let (ok, out) = npm::run(
        "mcp-inspector",
        &[
            "--cli",
            &s.url,
            "--transport",
            "http",
            "--method",
            "tools/call",
            "--tool-name",
            "ping",
            "--header",
            &header,
        ],
    )
    .await;
    assert!(ok && out.contains("pong"), "{out}");
    let (ok, out) = npm::run(
        "mcp-inspector",
        &[
            "--cli",
            &s.url,
            "--transport",
            "http",
            "--method",
            "tools/list",
            "--header",
            "X-MCP-AUTH: wrong",
        ],
    )
    .await;
    assert!(
        !ok && out.contains("Unauthorized"),
        "a wrong token is refused: {out}"
    );
}

/// The official MCP conformance suite at both spec revisions it scores
/// (2025-11-25 and 2026-07-28), against the server as the operator
/// configures it (read-only, real cluster; stateless too for 2026-07-28,
/// which needs no session), minus the token, which the suite cannot send.
/// Each revision has a baseline of the scenarios that need the suite's own
/// tools, prompts or resources (tests/conformance/*.yml, each with its
/// reason): any other failure, or a listed scenario that starts passing,
/// fails here. (A 2025-11-25 client of a stateless server has no session to
/// hold a GET stream, so server-sse-multiple-streams cannot pass there.)
#[tokio::test]
async fn the_mcp_conformance_suite_passes_at_both_revisions() {
    let baselines = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    for (stateless, revision) in [
        ("false", "2025-11-25"),
        ("false", "2026-07-28"),
        ("true", "2026-07-28"),
    ] {
        let server = kube_mcp_tests::server::ServerProcess::start(
            &bins::path("kube-mcp-server"),
            &[
                ("ALLOW_ONLY_READONLY_TOOLS", "true"),
                ("KUBE_MCP_STATELESS", stateless),
            ],
        )
        .await;
        let url = format!("http://localhost:{}/mcp", server.port);
        let baseline = baselines.join(format!("{revision}.yml"));
        let (ok, out) = npm::run(
            "conformance",
            &[
                "server",
                "--url",
                &url,
                "--requirements",
                revision,
                "--expected-failures",
                &baseline.to_string_lossy(),
            ],
        )
        .await;
        assert!(
            ok && out.contains("all failures are expected"),
            "conformance at {revision} (stateless: {stateless}) differs from {}:\n{out}",
            baseline.display()
        );
    }
}

/// A confirmation on an operator-made endpoint: stateless, two replicas.
/// A 2026-07-28 client is asked by one replica and its yes finishes the
/// call at the other (both sign with the key in the generated token Secret);
/// a 2025-11-25 client cannot be asked there and gets spec.confirm.fallback.
#[tokio::test]
async fn a_confirmation_asked_by_one_replica_finishes_at_another() {
    let s = serve_with(
        "cfrm",
        json!({"access": "Full", "replicas": 2, "confirm": {"calls": "Destructive", "fallback": "Deny"}}),
        vec![],
        &["--max-access", "Full"],
    )
    .await;
    let urls = until("two replicas serving", Duration::from_secs(90), || async {
        let urls = s.kubelet.sync().await.ok()?;
        for u in &urls {
            let health = reqwest::get(u.replace("/mcp", "/health")).await.ok()?;
            health.status().is_success().then_some(())?;
        }
        (urls.len() == 2).then_some(urls)
    })
    .await;
    let pods = Api::<Pod>::namespaced(s.ns.client.clone(), &s.ns.name);
    let victim: Pod = serde_json::from_value(json!({
        "metadata": {"name": "victim", "labels": {"app": "victim"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &victim).await.unwrap();
    let args =
        json!({"resourceType": "pods", "namespace": s.ns.name, "labelSelector": "app=victim"});
    let alive = || async {
        pods.get_opt("victim")
            .await
            .unwrap()
            .is_some_and(|p| p.metadata.deletion_timestamp.is_none())
    };

    // 2025-11-25 on a stateless endpoint: the fallback (Deny) refuses.
    let old = McpClient::connect_asking(
        reqwest::Client::new(),
        &urls[0],
        Some(&s.token),
        kube_mcp_tests::mcp::Answer::Yes,
        false,
    )
    .await
    .unwrap();
    let refused = old.call("kubectl_delete", args.clone()).await;
    assert!(
        refused.is_error && refused.text.contains("KUBE_MCP_CONFIRM_FALLBACK=deny"),
        "{refused:?}"
    );
    assert!(alive().await);

    // 2026-07-28: asked at one replica, answered at the other.
    let asked = mcp::raw_delete_2026(&urls[0], Some(&s.token), args.clone(), json!({}), true).await;
    let state = mcp::request_state(&asked);
    assert!(alive().await);
    let done = mcp::raw_delete_2026(
        &urls[1],
        Some(&s.token),
        args,
        json!({"requestState": state, "inputResponses": mcp::yes()}),
        true,
    )
    .await;
    assert_eq!(
        done["result"]["isError"],
        false,
        "{done}\n{}",
        s.kubelet.logs()
    );
    assert!(!alive().await);
}

/// An endpoint served by the kubelet harness, with the operator verifying it
/// over MCP through an address map that stands in for cluster DNS.
/// Like [`serve`], with extra environment for the server processes.
async fn serve_with_env(prefix: &str, spec: Value, env: Vec<(String, String)>) -> Served {
    serve_with(prefix, spec, env, &[]).await
}

/// Like [`serve_with_env`], with extra operator flags.
async fn serve_with(
    prefix: &str,
    spec: Value,
    env: Vec<(String, String)>,
    operator_flags: &[&str],
) -> Served {
    let cp = cluster();
    let ns = test_namespace(prefix).await;
    demo::install_crd(&ns.client, &repo()).await.unwrap();
    demo::install_admission(&ns.client, &repo()).await.unwrap();
    let map = tempfile::NamedTempFile::new().unwrap();
    let map_path = map.path().to_str().unwrap().to_string();
    let metrics_addr = format!("127.0.0.1:{}", kube_mcp_tests::server::free_port());
    let operator = demo::spawn_operator(
        cp,
        &[
            "--watch-namespaces",
            &ns.name,
            "--verify-address-map",
            &map_path,
            "--metrics-addr",
            &metrics_addr,
        ]
        .into_iter()
        .chain(operator_flags.iter().copied())
        .collect::<Vec<_>>(),
    )
    .unwrap();
    let name = format!("{prefix}-ep");
    let ep = json!({"apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint", "metadata": {"name": name, "namespace": ns.name}, "spec": spec});
    let api = endpoints(&ns.client, &ns.name);
    api.patch(&name, &PatchParams::apply("e2e-test"), &Patch::Apply(&ep))
        .await
        .unwrap();
    let secret = until(
        "status.tokenSecretName",
        Duration::from_secs(60),
        || async {
            let ep = api.get(&name).await.ok()?;
            ep.data
                .get("status")?
                .get("tokenSecretName")?
                .as_str()
                .map(str::to_string)
        },
    )
    .await;
    let kubelet = Kubelet::new(
        ns.client.clone(),
        cp,
        &ns.name,
        &format!("app.kubernetes.io/instance={name}"),
        &bins::path("kube-mcp-server"),
    )
    .with_env(env);
    let url = kubelet.wait_serving(Duration::from_secs(90)).await.unwrap();
    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/mcp")
        .to_string();
    // What cluster DNS would do: the Service host resolves to the (only) server.
    std::fs::write(
        map.path(),
        format!("{name}.{}.svc=127.0.0.1:{port}\n", ns.name),
    )
    .unwrap();
    let token = token_of(&ns.client, &ns.name, &secret).await;
    Served {
        ns,
        name,
        kubelet,
        url,
        token,
        _operator: operator,
        metrics: format!("http://{metrics_addr}/metrics"),
        _map: map,
    }
}

/// (status, reason, message) of condition `ty` of the endpoint.
async fn condition_of(s: &Served, ty: &str) -> Option<(String, String, String)> {
    let ep = endpoints(&s.ns.client, &s.ns.name)
        .get(&s.name)
        .await
        .ok()?;
    let c = ep
        .data
        .get("status")?
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)?
        .clone();
    let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    Some((field("status"), field("reason"), field("message")))
}

/// The value of a sample of the operator's metrics (0 when absent).
async fn metric(url: &str, sample: &str) -> f64 {
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn the_operator_verifies_an_endpoint_over_mcp() {
    let v = serve_with_env("vfy", json!({"access": "ReadOnly"}), vec![]).await;
    let s = &v;
    let mapped = Instant::now();
    let (_, reason, message) = until("Verified=True", Duration::from_secs(90), || async {
        condition_of(s, "Verified")
            .await
            .filter(|(st, _, _)| st == "True")
    })
    .await;
    let after = mapped.elapsed();
    assert_eq!(reason, "ToolsMatch", "{message}");
    let ep = endpoints(&s.ns.client, &s.ns.name)
        .get(&s.name)
        .await
        .unwrap();
    let status = &ep.data["status"];
    assert_eq!(
        status["verified"]["serverName"], "kube-mcp-server",
        "{status}"
    );
    assert!(
        !status["verified"]["serverVersion"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{status}"
    );
    assert_eq!(status["verified"]["tools"], status["tools"], "{status}");
    let mut tools: Vec<String> = serde_json::from_value(status["tools"].clone()).unwrap();
    tools.sort();
    let mut want = READ_ONLY.map(String::from).to_vec();
    want.sort();
    assert_eq!(tools, want);
    let degraded = condition_of(s, "Degraded").await.unwrap();
    assert_eq!(degraded.0, "False", "{degraded:?}");

    // Settled: a reconcile neither verifies again nor writes.
    let matched = r#"kube_mcp_operator_verifications_total{result="tools_match"}"#;
    assert_eq!(metric(&v.metrics, matched).await, 1.0);
    let reconciles = metric(&v.metrics, "kube_mcp_operator_reconciles_total").await;
    let poke = json!({"metadata": {"annotations": {"e2e/poke": "1"}}});
    let poked = endpoints(&s.ns.client, &s.ns.name)
        .patch(&s.name, &PatchParams::default(), &Patch::Merge(&poke))
        .await
        .unwrap();
    until(
        "the poke to be reconciled",
        Duration::from_secs(30),
        || async {
            (metric(&v.metrics, "kube_mcp_operator_reconciles_total").await > reconciles)
                .then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let now = endpoints(&s.ns.client, &s.ns.name)
        .get(&s.name)
        .await
        .unwrap();
    assert_eq!(
        now.metadata.resource_version, poked.metadata.resource_version,
        "a settled, verified endpoint: no write"
    );
    assert_eq!(metric(&v.metrics, matched).await, 1.0, "not verified again");

    // A rotated token is verified again (the harness delivers it to the server).
    let syncing = s.kubelet.spawn_loop(Duration::from_millis(300));
    let rotated_at = Instant::now();
    let rotate = json!({"metadata": {"annotations": {"kubemcp.io/rotate-token": "e2e-vfy"}}});
    endpoints(&s.ns.client, &s.ns.name)
        .patch(&s.name, &PatchParams::default(), &Patch::Merge(&rotate))
        .await
        .unwrap();
    // The metric counts a probe when it ends; the status shows it after the
    // reconcile that follows, so both are awaited. A probe that ran before the
    // server read the new token may have shown "wrong token" meanwhile.
    until(
        "a verification with the rotated token, shown in the status",
        Duration::from_secs(60),
        || async {
            let shown = condition_of(s, "Verified").await;
            (metric(&v.metrics, matched).await >= 2.0
                && shown.is_some_and(|(st, _, _)| st == "True"))
            .then_some(())
        },
    )
    .await;
    let reverified = rotated_at.elapsed();
    syncing.abort();
    let sum = metric(&v.metrics, "kube_mcp_operator_verify_duration_seconds_sum").await;
    let count = metric(
        &v.metrics,
        "kube_mcp_operator_verify_duration_seconds_count",
    )
    .await;
    eprintln!(
        "verified {after:?} after the address was known, again {reverified:?} after a token rotation; \
         {count} verification(s) in all, mean {:.1} ms",
        1000.0 * sum / count.max(1.0)
    );
}

#[tokio::test]
async fn a_server_advertising_other_tools_degrades_the_endpoint() {
    let v = serve_with_env(
        "vfx",
        json!({"access": "ReadOnly", "tools": ["kubectl_get", "kubectl_logs"]}),
        vec![("ALLOWED_TOOLS".into(), "ping".into())],
    )
    .await;
    let s = &v;
    let (_, reason, message) = until("Degraded=True", Duration::from_secs(90), || async {
        condition_of(s, "Degraded")
            .await
            .filter(|(st, _, _)| st == "True")
    })
    .await;
    assert_eq!(reason, "ToolsMismatch");
    assert!(
        message.contains("missing: kubectl_get, kubectl_logs") && message.contains("extra: ping"),
        "{message}"
    );
    let verified = condition_of(s, "Verified").await.unwrap();
    assert_eq!(
        (verified.0.as_str(), verified.1.as_str()),
        ("False", "ToolsMismatch")
    );
    let ep = endpoints(&s.ns.client, &s.ns.name)
        .get(&s.name)
        .await
        .unwrap();
    assert_eq!(ep.data["status"]["verified"]["tools"], json!(["ping"]));
    assert_eq!(
        ep.data["status"]["tools"],
        json!(["kubectl_get", "kubectl_logs"])
    );
    let ready = condition_of(s, "Ready").await.unwrap();
    assert_eq!(ready.0, "True", "serving, but degraded: {ready:?}");
}
