//! On a real node (containerd, runc and a kubelet on this machine; see
//! `kube_mcp_tests::node`): the server image as the operator deploys it,
//! under Pod Security `restricted`, and the tools only a real kubelet can
//! serve: exec_in_pod, port_forward / stop_port_forward and kubectl_logs
//! with `previous`. RBAC is on; nothing is simulated.

use k8s_openapi::api::core::v1::{Event, Pod, Secret};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube_mcp_tests::fixture::until;
use kube_mcp_tests::forward::port_forward;
use kube_mcp_tests::mcp::McpClient;
use kube_mcp_tests::node::{BUSYBOX_IMAGE, NODE_NAME};
use kube_mcp_tests::server::{ServerProcess, free_port};
use kube_mcp_tests::{TestNamespace, bins, cluster, demo, real_node_namespace};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// What Pod Security `restricted` asks of a container.
fn restricted() -> Value {
    json!({
        "runAsNonRoot": true,
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

/// A busybox pod running `script` under `sh -c`, with an emptyDir at /data.
async fn busybox(ns: &TestNamespace, name: &str, script: &str, probe_port: Option<u16>) -> Pod {
    let mut container = json!({
        "name": "main",
        "image": BUSYBOX_IMAGE,
        "imagePullPolicy": "Never",
        "command": ["sh", "-c", script],
        "securityContext": restricted(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    });
    if let Some(port) = probe_port {
        container["ports"] = json!([{"containerPort": port}]);
        container["readinessProbe"] = json!({"tcpSocket": {"port": port}, "periodSeconds": 1});
    }
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "containers": [container],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "terminationGracePeriodSeconds": 1,
        },
    }))
    .unwrap();
    Api::<Pod>::namespaced(ns.client.clone(), &ns.name)
        .create(&PostParams::default(), &pod)
        .await
        .unwrap()
}

fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The pod's container states and events: what a failed wait shows.
async fn describe(ns: &TestNamespace, name: &str) -> String {
    let pod = Api::<Pod>::namespaced(ns.client.clone(), &ns.name)
        .get(name)
        .await
        .ok();
    let statuses = pod
        .and_then(|p| p.status)
        .map(|s| serde_json::to_string_pretty(&s.container_statuses).unwrap_or_default())
        .unwrap_or_default();
    let events = Api::<Event>::namespaced(ns.client.clone(), &ns.name)
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await
        .map(|l| {
            l.items
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.reason.clone().unwrap_or_default(),
                        e.message.clone().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    format!("container statuses: {statuses}\nevents:\n{events}")
}

async fn wait_ready(ns: &TestNamespace, name: &str) -> Pod {
    let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(p) = pods.get(name).await
            && ready(&p)
        {
            return p;
        }
        if Instant::now() > deadline {
            panic!(
                "pod {name} not Ready within 90s\n{}",
                describe(ns, name).await
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// kube-mcp-server with every tool, as the cluster admin.
async fn admin_server() -> ServerProcess {
    ServerProcess::start(&bins::path("kube-mcp-server"), &[]).await
}

#[tokio::test]
async fn exec_in_pod_runs_a_command_in_a_real_container() {
    let ns = real_node_namespace("rn-exec", Some("restricted")).await;
    busybox(&ns, "shell", "touch /data/ready; exec sleep 3600", None).await;
    let pod = wait_ready(&ns, "shell").await;
    assert_eq!(
        pod.spec.unwrap().node_name.as_deref(),
        Some(NODE_NAME),
        "the namespace pins its pods to the real node"
    );
    let server = admin_server().await;
    let client = server.client().await;
    let exec = |command: Value| {
        client.call(
            "exec_in_pod",
            json!({"name": "shell", "namespace": ns.name, "command": command}),
        )
    };

    let out = exec(json!([
        "sh",
        "-c",
        "echo hello from $(hostname); id -u; ls /data"
    ]))
    .await;
    assert!(!out.is_error, "{out:?}");
    assert_eq!(
        out.text.lines().collect::<Vec<_>>(),
        ["hello from shell", "65532", "ready"],
        "the command ran in the container, as its user, seeing its volume"
    );

    let ro = exec(json!(["sh", "-c", "echo x > /written"])).await;
    assert!(ro.is_error, "the root filesystem is read-only: {ro:?}");
    assert!(ro.text.contains("Read-only file system"), "{ro:?}");

    let failed = exec(json!(["sh", "-c", "echo partial; echo broken >&2; exit 3"])).await;
    assert!(failed.is_error, "{failed:?}");
    assert!(
        failed.text.contains("exited with code 3")
            && failed.text.contains("partial")
            && failed.text.contains("broken"),
        "a failing command says how it failed and what it printed: {failed:?}"
    );

    let missing = exec(json!(["no-such-program"])).await;
    assert!(
        missing.is_error && missing.text.contains("no-such-program"),
        "{missing:?}"
    );
    client.close().await;
    ns.delete().await;
}

async fn http_get(addr: &str) -> std::io::Result<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").await?;
    let mut body = String::new();
    s.read_to_string(&mut body).await?;
    Ok(body)
}

#[tokio::test]
async fn port_forward_carries_a_real_connection_until_stopped() {
    let ns = real_node_namespace("rn-pf", Some("restricted")).await;
    busybox(&ns, "web", "exec httpd -f -p 8080 -h /www", Some(8080)).await;
    wait_ready(&ns, "web").await;
    let server = admin_server().await;
    let client = server.client().await;
    let local = free_port();
    let started = client
        .call(
            "port_forward",
            json!({"resourceType": "pod", "resourceName": "web", "namespace": ns.name,
                   "localPort": local, "targetPort": 8080}),
        )
        .await;
    assert!(!started.is_error, "{started:?}");
    let v: Value = serde_json::from_str(&started.text).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let addr = format!("127.0.0.1:{local}");
    assert_eq!(v["localAddress"], addr.as_str());

    for _ in 0..2 {
        let body = http_get(&addr).await.unwrap();
        assert!(
            body.starts_with("HTTP/1.") && body.contains("served from a real container"),
            "a round trip through the API server and the kubelet to busybox httpd: {body}"
        );
    }
    // A connection held open across the stop is closed by it.
    let mut held = tokio::net::TcpStream::connect(&addr).await.unwrap();

    let stopped = client.call("stop_port_forward", json!({"id": id})).await;
    assert!(
        !stopped.is_error && stopped.text.contains(&id),
        "{stopped:?}"
    );
    until(
        "the forward's listener to close",
        Duration::from_secs(5),
        || async { tokio::net::TcpStream::connect(&addr).await.err() },
    )
    .await;
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), held.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the open connection ends with the forward: {read:?}"
    );
    let again = client.call("stop_port_forward", json!({"id": id})).await;
    assert!(again.is_error, "{again:?}");
    client.close().await;
    ns.delete().await;
}

#[tokio::test]
async fn kubectl_logs_reads_a_restarted_containers_previous_log() {
    let ns = real_node_namespace("rn-logs", Some("restricted")).await;
    // The first run exits 1; the kubelet restarts it; the second stays up.
    let script = "n=$(cat /data/n 2>/dev/null || echo 0); n=$((n + 1)); echo $n > /data/n; \
                  echo \"run $n\"; [ $n -ge 2 ] || exit 1; exec sleep 3600";
    busybox(&ns, "crashy", script, None).await;
    let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
    until(
        "the restarted container to run",
        Duration::from_secs(90),
        || async {
            let p = pods.get("crashy").await.ok()?;
            let cs = p.status?.container_statuses?.into_iter().next()?;
            (cs.restart_count >= 1 && cs.state?.running.is_some()).then_some(())
        },
    )
    .await;
    let server = admin_server().await;
    let client = server.client().await;
    let logs = |previous: bool| {
        client.call(
            "kubectl_logs",
            json!({"resourceType": "pod", "name": "crashy", "namespace": ns.name, "previous": previous}),
        )
    };
    let previous = logs(true).await;
    assert!(!previous.is_error, "{previous:?}");
    assert_eq!(previous.text.trim(), "run 1", "{previous:?}");
    let current = until(
        "the second run's log line",
        Duration::from_secs(10),
        || async {
            let c = logs(false).await;
            (!c.is_error && c.text.contains("run 2")).then_some(c)
        },
    )
    .await;
    assert!(!current.text.contains("run 1"), "{current:?}");
    client.close().await;
    ns.delete().await;
}

fn endpoints(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("kubemcp.io", "v1alpha1", "McpEndpoint");
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, "mcpendpoints"),
    )
}

#[tokio::test]
async fn an_endpoint_runs_the_server_image_under_restricted_pod_security() {
    let ns = real_node_namespace("rn-ep", Some("restricted")).await;
    let cp = cluster();
    demo::install_crd(
        &ns.client,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
    )
    .await
    .unwrap();
    let map = tempfile::NamedTempFile::new().unwrap();
    let map_arg = map.path().display().to_string();
    let mut operator = demo::spawn_operator(
        cp,
        &[
            "--verify-address-map",
            &map_arg,
            "--watch-namespaces",
            &ns.name,
        ],
    )
    .unwrap();
    let name = "ep";
    endpoints(&ns.client, &ns.name)
        .patch(
            name,
            &PatchParams::apply("real-node-test"),
            &Patch::Apply(json!({
                "apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint",
                "metadata": {"name": name}, "spec": {"access": "ReadOnly"},
            })),
        )
        .await
        .unwrap();

    // The kubelet runs the image, the probes pass, the pod turns Ready.
    let pods = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
    let pod = until(
        "the endpoint's pod Ready",
        Duration::from_secs(120),
        || async {
            let list = pods
                .list(&ListParams::default().labels("app.kubernetes.io/instance=ep"))
                .await
                .ok()?;
            list.items.into_iter().find(ready)
        },
    )
    .await;
    let spec = pod.spec.clone().unwrap();
    assert_eq!(spec.node_name.as_deref(), Some(NODE_NAME));
    let status = pod.status.clone().unwrap();
    let cs = &status.container_statuses.unwrap()[0];
    assert_eq!(cs.restart_count, 0, "the liveness probe never failed");
    assert!(
        cs.image.ends_with(kube_mcp_tests::node::SERVER_IMAGE),
        "{}",
        cs.image
    );
    let pod_ip = status.pod_ip.unwrap();
    let host = format!("{name}.{}.svc", ns.name);
    std::fs::write(map.path(), format!("{host}={pod_ip}:8080\n")).unwrap();

    let secret = Api::<DynamicObject>::get(&endpoints(&ns.client, &ns.name), name)
        .await
        .unwrap()
        .data["status"]["tokenSecretName"]
        .as_str()
        .unwrap()
        .to_string();
    let token = Api::<Secret>::namespaced(ns.client.clone(), &ns.name)
        .get(&secret)
        .await
        .unwrap()
        .data
        .unwrap()["token"]
        .0
        .clone();
    let token = String::from_utf8(token).unwrap().trim().to_string();

    // 1. Through the pod's address on the node's bridge, under the Service's
    // host name (the server's Host allowlist names it).
    let addr: std::net::SocketAddr = format!("{pod_ip}:8080").parse().unwrap();
    let http = reqwest::Client::builder()
        .resolve(&host, addr)
        .build()
        .unwrap();
    let direct = McpClient::connect_with(http, &format!("http://{host}:8080/mcp"), Some(&token))
        .await
        .unwrap();
    let mut tools = direct.list_tools().await;
    tools.sort();
    assert_eq!(tools.len(), 8, "the read-only tools: {tools:?}");
    let got = direct
        .call(
            "kubectl_get",
            json!({"resourceType": "pods", "namespace": ns.name, "output": "name"}),
        )
        .await;
    assert!(
        !got.is_error && got.text.contains(&pod.metadata.name.clone().unwrap()),
        "the server in the container reads the API through the kubernetes Service \
         with its ServiceAccount token: {got:?}"
    );
    direct.close().await;

    // 2. Through the API server's port-forward to the pod.
    let (local, _forward) = port_forward(pods.clone(), pod.metadata.name.clone().unwrap(), 8080)
        .await
        .unwrap();
    let forwarded = McpClient::connect(&format!("http://127.0.0.1:{local}/mcp"), Some(&token))
        .await
        .unwrap();
    assert_eq!(forwarded.list_tools().await.len(), 8);
    forwarded.close().await;

    // 3. The operator's own MCP check of the endpoint.
    let verified = until(
        "condition Verified=True",
        Duration::from_secs(60),
        || async {
            let ep = endpoints(&ns.client, &ns.name).get(name).await.ok()?;
            let conds = ep.data["status"]["conditions"].as_array()?.clone();
            conds
                .into_iter()
                .find(|c| c["type"] == "Verified" && c["status"] == "True")
        },
    )
    .await;
    assert_eq!(verified["reason"], "ToolsMatch", "{verified}");
    let _ = operator.start_kill();
    ns.delete().await;
}
