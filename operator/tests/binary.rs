//! The `kube-mcp-operator` binary as a process against the local control plane.

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use kube::api::PostParams;
use kube_mcp_operator::crd::{McpEndpoint, McpEndpointSpec};
use kube_mcp_operator::reconcile;
use kube_mcp_tests::{cluster, service_account_token, test_namespace};

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-operator");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET over plain HTTP/1.0; (status, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn crd_subcommand_prints_the_committed_crd() {
    let out = Command::new(BIN).arg("crd").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crds/mcpendpoints.kubemcp.io.yaml"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

/// The packaged security artefacts are what the binary prints (one source).
#[test]
fn rbac_and_admission_subcommands_print_the_committed_files() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    for (args, path) in [
        (&["rbac"][..], "config/rbac/cluster_role.yaml"),
        (
            &["rbac", "--rules"][..],
            "charts/kube-mcp/files/operator-rules.yaml",
        ),
        (&["admission"][..], "config/admission/policies.yaml"),
        (
            &["admission", "--helm"][..],
            "charts/kube-mcp/templates/admission.yaml",
        ),
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let committed = std::fs::read_to_string(format!("{root}/{path}")).unwrap();
        assert!(
            String::from_utf8(out.stdout).unwrap() == committed,
            "{path} differs from `kube-mcp-operator {}`: run scripts/generate",
            args.join(" ")
        );
    }
}

#[tokio::test]
async fn run_serves_metrics_and_reconciles() {
    let ns = test_namespace("op-bin").await;
    reconcile::install_crd(&ns.client).await.unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .args([
            "run",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
            "--watch-namespaces",
            &ns.name,
        ])
        .env("KUBECONFIG", cluster().kubeconfig_path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Kill(child);
    let started = Instant::now();
    loop {
        if let Some((200, _)) = get(port, "/readyz") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "operator not ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("binary ready after {:?}", started.elapsed());
    assert_eq!(get(port, "/healthz").unwrap().0, 200);

    let api: Api<McpEndpoint> = Api::namespaced(ns.client.clone(), &ns.name);
    api.create(
        &PostParams::default(),
        &McpEndpoint::new("bin", McpEndpointSpec::default()),
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ep = api.get("bin").await.unwrap();
        let ok = ep.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "RbacReady" && c.status == "True")
        });
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "not reconciled by the binary");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains("kube_mcp_operator_reconciles_total"),
        "{body}"
    );
    assert!(
        body.contains("kube_mcp_operator_reconcile_duration_seconds_bucket"),
        "{body}"
    );
    ns.delete().await;
}

#[tokio::test]
async fn run_exits_with_a_clear_message_without_access_to_the_crd() {
    let ns = test_namespace("op-bin-nocrd").await;
    Api::<ServiceAccount>::namespaced(ns.client.clone(), &ns.name)
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "nobody"}})).unwrap(),
        )
        .await
        .unwrap();
    let token = service_account_token(&ns.client, &ns.name, "nobody").await;
    let dir = std::env::temp_dir().join(format!("kube-mcp-op-{}", ns.name));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, cluster().token_kubeconfig("nobody", &token)).unwrap();
    let out = Command::new(BIN)
        .args([
            "run",
            "--metrics-addr",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mcpendpoints.kubemcp.io"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
    ns.delete().await;
}

/// A kubeconfig file for `server` with a bearer token, in a temp dir.
fn token_kubeconfig_file(dir: &std::path::Path, server: &str, token: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: '{server}', insecure-skip-tls-verify: true}}\n\
         users:\n- name: u\n  user: {{token: {token}}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n"
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn an_unreachable_or_refusing_api_server_is_named_with_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let closed = format!("https://127.0.0.1:{}", free_port());
    let refusing = cluster().server_url().trim_end_matches('/').to_string();
    for (server, token, cause) in [
        (closed.as_str(), "t", "Connection refused"),
        (
            refusing.as_str(),
            "not-a-token",
            "answered 401 Unauthorized",
        ),
    ] {
        let kubeconfig = token_kubeconfig_file(dir.path(), server, token);
        let out = Command::new(BIN)
            .args(["run", "--metrics-addr", "127.0.0.1:0"])
            .env("KUBECONFIG", &kubeconfig)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("kube-mcp-operator: ")
                && last.contains(server)
                && last.contains(cause),
            "{stderr}"
        );
        // Text logs into a pipe: no colour codes, no Debug dump of a Status.
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains("Status {"),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn json_logs_name_the_bound_port_and_the_shutdown_signal() {
    let ns = test_namespace("op-bin-logs").await;
    reconcile::install_crd(&ns.client).await.unwrap();
    // kubectl's rule: a missing file in the list is skipped.
    let list = format!(
        "/nonexistent/kubeconfig:{}",
        cluster().kubeconfig_path().display()
    );
    let mut child = Command::new(BIN)
        .args([
            "run",
            "--metrics-addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .args(["--watch-namespaces", &ns.name, "--verify=false"])
        .env("KUBECONFIG", &list)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id() as i32;
    let guard = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = vec![];
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no 'admin server listening' line:\n{}", lines.join("\n")));
        lines.push(line.clone());
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "a stderr line is not JSON ({e}): {line:?}\n{}",
                lines.join("\n")
            )
        });
        if v["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("admin server listening"))
        {
            break v["fields"]["addr"].as_str().unwrap().to_string();
        }
    };
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    assert_eq!(get(port, "/healthz").map(|r| r.0), Some(200), "{addr}");
    // Past start-up, where a signal has to wait out the shutdown grace
    // (kube-runtime waits for the watches' first lists); either way it exits.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => lines.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("no exit 30 s after SIGTERM ({e}):\n{}", lines.join("\n")),
        }
    }
    reader.join().unwrap();
    let mut child = guard;
    let status = child.0.wait().unwrap();
    let log = lines.join("\n");
    assert!(status.success(), "{status:?}\n{log}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(v["level"].is_string(), "{line}");
    }
    assert!(!log.contains('\u{1b}'), "{log}");
    for needle in [
        "/nonexistent/kubeconfig",
        "the API server answers",
        "shutting down: received SIGTERM",
    ] {
        assert!(log.contains(needle), "no {needle:?} in:\n{log}");
    }
    ns.delete().await;
}
