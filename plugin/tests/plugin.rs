//! `kubectl mcp` against a real API server with RBAC: the operator (its
//! controller, in process) turns McpEndpoints into Deployments, the kubelet
//! harness runs kube-mcp-server for their pods, kwok forwards
//! pods/portforward to those processes, and the real `kubectl-mcp` binary
//! (once through the real `kubectl`) lists, connects and asks grants; a real
//! MCP client (rmcp) talks through the forwarded port.

use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use kube_mcp_catalog::ToolId;
use kube_mcp_operator::config::{Config, MaxAccess};
use kube_mcp_operator::crd::{Access, McpEndpoint, McpEndpointSpec, SecretsPolicy};
use kube_mcp_operator::metrics::Metrics;
use kube_mcp_operator::reconcile::{self, Context};
use kube_mcp_tests::access;
use kube_mcp_tests::fixture::until;
use kube_mcp_tests::kubelet::Kubelet;
use kube_mcp_tests::mcp::McpClient;
use kube_mcp_tests::{TestNamespace, bins, cluster, test_namespace};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

fn plugin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kubectl-mcp"))
}

/// The operator's controller for one namespace, stopped on drop.
struct Operator(CancellationToken);

impl Drop for Operator {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

async fn operator(client: &Client, ns: &str) -> Operator {
    reconcile::install_crd(client).await.unwrap();
    until("the McpEndpoint API", WAIT, || async {
        Api::<McpEndpoint>::namespaced(client.clone(), ns)
            .list(&Default::default())
            .await
            .ok()
    })
    .await;
    let config = Config {
        watch_namespaces: vec![ns.into()],
        max_access: MaxAccess::Full,
        // Verification over MCP is e2e.rs's subject; here the pods' Ready is enough.
        verify: false,
        ..Config::default()
    };
    let ctx = Arc::new(Context::new(
        client.clone(),
        config,
        Arc::new(Metrics::default()),
    ));
    let stop = CancellationToken::new();
    tokio::spawn(reconcile::run(ctx, stop.clone()));
    Operator(stop)
}

async fn endpoint(ns: &TestNamespace, name: &str, access: Access, secrets: SecretsPolicy) {
    let spec = McpEndpointSpec {
        access,
        secrets,
        ..McpEndpointSpec::default()
    };
    Api::<McpEndpoint>::namespaced(ns.client.clone(), &ns.name)
        .create(&PostParams::default(), &McpEndpoint::new(name, spec))
        .await
        .unwrap();
    until("the endpoint to turn Ready", WAIT, || async {
        let ep = Api::<McpEndpoint>::namespaced(ns.client.clone(), &ns.name)
            .get(name)
            .await
            .ok()?;
        let ready = kube_mcp_operator::status::ready(ep.status.as_ref())?;
        (ready.status == "True").then_some(())
    })
    .await;
}

/// A kubeconfig file for the namespace's `default` ServiceAccount, which
/// `rules` (if any) are granted to.
async fn restricted_kubeconfig(
    ns: &TestNamespace,
    rules: Vec<PolicyRule>,
) -> tempfile::NamedTempFile {
    if !rules.is_empty() {
        let meta = ObjectMeta {
            name: Some("plugin-user".into()),
            namespace: Some(ns.name.clone()),
            ..ObjectMeta::default()
        };
        Api::<Role>::namespaced(ns.client.clone(), &ns.name)
            .create(
                &PostParams::default(),
                &Role {
                    metadata: meta.clone(),
                    rules: Some(rules),
                },
            )
            .await
            .unwrap();
        Api::<RoleBinding>::namespaced(ns.client.clone(), &ns.name)
            .create(
                &PostParams::default(),
                &RoleBinding {
                    metadata: meta,
                    role_ref: RoleRef {
                        api_group: Some("rbac.authorization.k8s.io".into()),
                        kind: "Role".into(),
                        name: "plugin-user".into(),
                    },
                    subjects: Some(vec![Subject {
                        kind: "ServiceAccount".into(),
                        name: "default".into(),
                        namespace: Some(ns.name.clone()),
                        ..Subject::default()
                    }]),
                },
            )
            .await
            .unwrap();
    }
    let token = kube_mcp_tests::service_account_token(&ns.client, &ns.name, "default").await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        cluster().token_kubeconfig("plugin-user", &token),
    )
    .unwrap();
    file
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let s = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
    PolicyRule {
        api_groups: s(groups),
        resources: s(resources),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..PolicyRule::default()
    }
}

/// Runs the plugin to completion (a `connect` that forwards would not end:
/// the timeout fails the test instead of hanging it).
async fn run(kubeconfig: &Path, args: &[&str]) -> Output {
    let out = tokio::process::Command::new(plugin())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(WAIT, out)
        .await
        .unwrap_or_else(|_| panic!("kubectl-mcp {args:?} did not finish"))
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `connect` in the background: its stdout and stderr, read until it says it forwards.
struct Connected {
    child: tokio::process::Child,
    stdout: String,
    stderr: String,
    more_stderr: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
}

async fn connect(kubeconfig: &Path, args: &[&str]) -> Connected {
    let mut child = tokio::process::Command::new(plugin())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("connect")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = String::new();
    let forwarding = tokio::time::timeout(WAIT, async {
        while let Some(line) = err.next_line().await.unwrap() {
            stderr.push_str(&line);
            stderr.push('\n');
            if line.starts_with("Forwarding ") {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(forwarding, Ok(true)),
        "connect did not start forwarding; stderr:\n{stderr}"
    );
    // Everything printed before "Forwarding" is on stdout by now (flushed per line).
    let mut stdout = String::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_millis(200), out.next_line()).await
    {
        stdout.push_str(&line);
        stdout.push('\n');
    }
    Connected {
        child,
        stdout,
        stderr,
        more_stderr: err,
    }
}

impl Connected {
    /// Stops it as Ctrl-C would; it must exit at once and cleanly. Returns
    /// what it logged after it started forwarding.
    async fn interrupt(mut self) -> String {
        let pid = self.child.id().unwrap() as i32;
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("connect exits on SIGINT")
            .unwrap();
        assert!(status.success(), "connect exits 0 on SIGINT: {status}");
        let mut log = String::new();
        while let Ok(Some(line)) = self.more_stderr.next_line().await {
            log.push_str(&line);
            log.push('\n');
        }
        log
    }
}

#[tokio::test]
async fn connect_forwards_through_the_api_server_and_an_mcp_client_calls_a_tool() {
    let cp = cluster();
    let ns = test_namespace("plugin-connect").await;
    let _op = operator(&ns.client, &ns.name).await;
    endpoint(&ns, "ops", Access::ReadOnly, SecretsPolicy::Masked).await;
    let kubelet = Kubelet::new(
        ns.client.clone(),
        cp,
        &ns.name,
        "app.kubernetes.io/instance=ops",
        &bins::path("kube-mcp-server"),
    );
    kubelet.wait_serving(WAIT).await.unwrap();
    kubelet.forward_ports().await.unwrap();

    // --write merges into a file that holds other settings.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".vscode").join("mcp.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        r#"{"inputs": [], "servers": {"other": {"command": "x"}}}"#,
    )
    .unwrap();
    let admin = cp.kubeconfig_path();
    let c = connect(
        admin,
        &[
            "-n",
            &ns.name,
            "ops",
            "--client",
            "vscode",
            "--write",
            file.to_str().unwrap(),
        ],
    )
    .await;
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["inputs"], json!([]), "kept: {written}");
    assert_eq!(
        written["servers"]["other"]["command"], "x",
        "kept: {written}"
    );
    let entry = &written["servers"]["ops"];
    let url = entry["url"].as_str().unwrap();
    let token = entry["headers"]["X-MCP-AUTH"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{entry}");
    assert!(
        c.stdout.contains(url) && c.stdout.contains("\"servers\""),
        "the configuration is printed too:\n{}",
        c.stdout
    );
    assert!(
        !c.stderr.contains(token),
        "the token is not in the log:\n{}",
        c.stderr
    );

    let client = McpClient::connect(url, Some(token)).await.unwrap();
    let pods = client
        .call(
            ToolId::KubectlGet.name(),
            json!({"resourceType": "pods", "namespace": ns.name, "output": "name"}),
        )
        .await;
    assert!(
        !pods.is_error && pods.text.contains("ops-"),
        "a tool call through the forwarded port lists the endpoint's pod: {pods:?}"
    );
    // A second connection through the same forward (one stream per connection).
    let again = McpClient::connect(url, Some(token)).await.unwrap();
    assert!(!again.list_tools().await.is_empty());
    let wrong = McpClient::connect(url, Some("not-the-token")).await;
    assert!(wrong.is_err(), "the server still checks the token");
    drop((client, again));
    let log = c.interrupt().await;
    assert!(!log.contains("port-forward failed"), "{log}");

    // --no-token: the configuration carries no header and says so.
    let c = connect(
        admin,
        &["-n", &ns.name, "ops", "--client", "gemini", "--no-token"],
    )
    .await;
    assert!(
        c.stdout.contains("\"httpUrl\": \"http://127.0.0.1:")
            && !c.stdout.contains("X-MCP-AUTH")
            && !c.stdout.contains(token),
        "{}",
        c.stdout
    );
    assert!(c.stderr.contains("--no-token"), "{}", c.stderr);
    c.interrupt().await;

    // A user who may read the endpoint but not forward: refused up front, saying what is missing.
    let mut rules = vec![
        rule(&["kubemcp.io"], &["mcpendpoints"], &["get", "list"]),
        rule(&[""], &["services", "pods"], &["get", "list"]),
        // A websocket port-forward is authorized as get too: create alone is not enough.
        rule(&[""], &["pods/portforward"], &["create"]),
    ];
    let user = restricted_kubeconfig(&ns, rules.clone()).await;
    let out = until("the user's Role to apply", WAIT, || async {
        let out = run(user.path(), &["-n", &ns.name, "connect", "ops"]).await;
        text(&out).1.contains("port-forward").then_some(out)
    })
    .await;
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success() && stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "you may not port-forward to pods in namespace {}",
            ns.name
        )) && stderr.contains("`get` on pods/portforward"),
        "{stderr}"
    );

    // One who may forward but not read the token's Secret: placeholder and how to get it.
    rules[2] = rule(&[""], &["pods/portforward"], &["get", "create"]);
    Api::<Role>::namespaced(ns.client.clone(), &ns.name)
        .replace(
            "plugin-user",
            &PostParams::default(),
            &Role {
                metadata: ObjectMeta {
                    name: Some("plugin-user".into()),
                    ..ObjectMeta::default()
                },
                rules: Some(rules),
            },
        )
        .await
        .unwrap();
    until("the user's Role to apply", WAIT, || async {
        let may = allowed(
            &ns.client,
            "default",
            &ns.name,
            "",
            "pods/portforward",
            "get",
        )
        .await;
        may.then_some(())
    })
    .await;
    let c = connect(user.path(), &["-n", &ns.name, "ops", "--client", "codex"]).await;
    assert!(
        c.stdout.contains("[mcp_servers.ops]") && c.stdout.contains("X-MCP-AUTH = \"<token>\""),
        "a placeholder stands in for the token:\n{}",
        c.stdout
    );
    assert!(
        c.stderr
            .contains(&format!("you may not read Secret {}/ops-token", ns.name))
            && c.stderr.contains("kubectl get secret"),
        "says why and how to get it:\n{}",
        c.stderr
    );
    let url = c
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("url = \""))
        .map(|u| u.trim_end_matches('"').to_string())
        .unwrap();
    // The forward itself works for that user.
    let health = reqwest::get(url.replace("/mcp", "/health")).await;
    let ok = health.as_ref().is_ok_and(|r| r.status().is_success());
    let log = c.interrupt().await;
    assert!(ok, "{health:?}; connect's log:\n{log}");
    ns.delete().await;
}

fn table_rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

async fn allowed(
    client: &Client,
    sa: &str,
    ns: &str,
    group: &str,
    resource: &str,
    verb: &str,
) -> bool {
    let req = access::Request {
        verb,
        group,
        resource,
        namespace: ns,
    };
    access::service_account_may(client, ns, sa, req)
        .await
        .unwrap()
}

#[tokio::test]
async fn list_and_grants_answer_like_the_api_server_and_refusals_say_what_to_do() {
    let cp = cluster();
    let ns = test_namespace("plugin-list").await;
    let empty = test_namespace("plugin-empty").await;
    let _op = operator(&ns.client, &ns.name).await;
    endpoint(&ns, "reader", Access::ReadOnly, SecretsPolicy::Hidden).await;
    endpoint(&ns, "writer", Access::NonDestructive, SecretsPolicy::Masked).await;
    let admin = cp.kubeconfig_path();

    // Through the real kubectl, which finds `kubectl-mcp` on PATH.
    let path = format!(
        "{}:{}",
        plugin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::process::Command::new(cp.bin_dir().join("kubectl"))
        .args(["mcp", "list", "-n", &ns.name])
        .env("PATH", &path)
        .env("KUBECONFIG", admin)
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "kubectl mcp list: {stderr}");
    let rows = table_rows(&stdout);
    assert_eq!(
        rows[0],
        ["NAME", "ACCESS", "SECRETS", "TOOLS", "READY", "REASON"],
        "{stdout}"
    );
    assert_eq!(
        rows[1][..5],
        ["reader", "ReadOnly", "Hidden", "8", "True"],
        "{stdout}"
    );
    assert_eq!(
        rows[2][..3],
        ["writer", "NonDestructive", "Masked"],
        "{stdout}"
    );
    assert_eq!(rows.len(), 3, "{stdout}");

    let out = run(admin, &["list", "-A"]).await;
    let (stdout, _) = text(&out);
    assert!(
        stdout.starts_with("NAMESPACE ")
            && table_rows(&stdout)
                .iter()
                .any(|r| r[0] == ns.name && r[1] == "reader"),
        "{stdout}"
    );
    let out = run(admin, &["-n", &empty.name, "list"]).await;
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success() && stdout.is_empty(),
        "{stdout}{stderr}"
    );
    assert_eq!(
        stderr.trim(),
        format!("No McpEndpoints found in {}.", empty.name)
    );

    // grants: the table is what the API server answers, nothing more.
    let out = run(admin, &["-n", &ns.name, "grants", "writer"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "system:serviceaccount:{}:kube-mcp.writer,",
            ns.name
        )),
        "{stdout}"
    );
    let rows = table_rows(&stdout);
    let verbs = |resource: &str| {
        rows.iter()
            .find(|r| r[0] == ns.name && r[1] == resource)
            .map(|r| r[2].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        verbs("pods"),
        "get,list,watch,create,update,patch",
        "{stdout}"
    );
    assert_eq!(
        verbs("deployments.apps"),
        "get,list,watch,create,update,patch",
        "{stdout}"
    );
    assert_eq!(
        verbs("secrets"),
        "get,list,watch,create,update,patch",
        "{stdout}"
    );
    assert_eq!(verbs("pods/exec"), "get,create", "{stdout}");
    assert!(
        !rows.iter().any(|r| r[0] == "*"),
        "a namespace-scoped endpoint holds nothing cluster-wide:\n{stdout}"
    );
    assert!(!rows.iter().any(|r| r[1].starts_with("roles")), "{stdout}");
    // The same questions, asked by the test itself.
    let sa = "kube-mcp.writer";
    for (group, resource, verb, want) in [
        ("", "pods", "patch", true),
        ("apps", "deployments", "create", true),
        ("", "pods", "delete", false),
        ("", "secrets", "delete", false),
        ("rbac.authorization.k8s.io", "roles", "create", false),
    ] {
        assert_eq!(
            allowed(&ns.client, sa, &ns.name, group, resource, verb).await,
            want,
            "{group}/{resource} {verb}"
        );
        let listed = verbs(&if group.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}.{group}")
        });
        assert_eq!(
            listed.split(',').any(|v| v == verb),
            want,
            "{resource} {verb}: {stdout}"
        );
    }
    let out = run(admin, &["-n", &ns.name, "grants", "reader"]).await;
    let (stdout, _) = text(&out);
    assert!(
        !table_rows(&stdout).iter().any(|r| r[1] == "secrets"),
        "secrets: Hidden grants nothing on Secrets:\n{stdout}"
    );

    // An endpoint that does not exist: which namespace, and how to list.
    let out = run(admin, &["-n", &ns.name, "connect", "nope"]).await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!(
            "McpEndpoint \"nope\" not found in namespace {}",
            ns.name
        )) && stderr.contains(&format!("kubectl mcp list -n {}", ns.name)),
        "{stderr}"
    );
    let out = run(admin, &["-n", &ns.name, "grants", "nope"]).await;
    assert!(
        text(&out).1.contains("not found in namespace"),
        "{:?}",
        text(&out)
    );

    // A user without RBAC: each refusal names what it may not do.
    let nobody = restricted_kubeconfig(&empty, vec![]).await;
    let out = run(nobody.path(), &["-n", &ns.name, "list"]).await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!(
            "you may not list mcpendpoints.kubemcp.io in namespace {}",
            ns.name
        )),
        "{stderr}"
    );
    let may_get = restricted_kubeconfig(
        &ns,
        vec![rule(&["kubemcp.io"], &["mcpendpoints"], &["get", "list"])],
    )
    .await;
    let out = until("the user's Role to apply", WAIT, || async {
        let out = run(may_get.path(), &["-n", &ns.name, "grants", "reader"]).await;
        text(&out).1.contains("subjectaccessreviews").then_some(out)
    })
    .await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("you may not create subjectaccessreviews.authorization.k8s.io")
            && stderr.contains("system:auth-delegator"),
        "{stderr}"
    );
    ns.delete().await;
    empty.delete().await;
}
