//! The audit log through the real binary against the local control plane:
//! what a platform team reads when asked who did what, where, and with
//! what result. Clients are real (rmcp) or raw HTTP where the point is a
//! refused request; each test plays the untrusted party once.

use kube_mcp_tests::fixture::random_suffix;
use kube_mcp_tests::server::ServerProcess;
use kube_mcp_tests::test_namespace;
use serde_json::{Value, json};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");

fn bin() -> &'static Path {
    Path::new(BIN)
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

/// Every line of `text` as an audit record; a line that is not one fails.
fn records(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            assert_eq!(v["log"], "audit", "{l}");
            v
        })
        .collect()
}

/// A record's Kubernetes requests to the resource API (not discovery).
fn resource_requests(r: &Value) -> Vec<&Value> {
    r["requests"]
        .as_array()
        .map(|a| a.iter().filter(|q| q.get("resource").is_some()).collect())
        .unwrap_or_default()
}

/// The records of calls to `tool`.
fn of_tool<'a>(all: &'a [Value], tool: &str) -> Vec<&'a Value> {
    all.iter().filter(|r| r["tool"] == tool).collect()
}

async fn raw_post(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn each_call_and_refusal_is_one_record_and_no_secret_reaches_any() {
    let ns = test_namespace("audit").await;
    let token = format!("tok-{}", random_suffix(24));
    let secret_value = format!("s3cr3t-{}", random_suffix(20));
    let endpoint = format!("{}/team-ep", ns.name);
    let server = ServerProcess::start(
        bin(),
        &[
            ("MCP_AUTH_TOKEN", &token),
            ("KUBE_MCP_NAMESPACES", &ns.name),
            ("KUBE_MCP_ENDPOINT", &endpoint),
            ("KUBE_MCP_AUDIT_LEVEL", "request"),
            ("ALLOWED_TOOLS", "kubectl_get,kubectl_apply,kubectl_patch"),
        ],
    )
    .await;
    let client = server.client().await;
    let other = server.client().await;

    // A read, a write with a Secret in it, a tool error, a filter refusal
    // and a scope refusal.
    let ok = client
        .call(
            "kubectl_get",
            json!({"resourceType": "pods", "namespace": ns.name}),
        )
        .await;
    assert!(!ok.is_error, "{}", ok.text);
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\nstringData:\n  password: {secret_value}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  mode: fast\n",
        ns = ns.name
    );
    let applied = client
        .call("kubectl_apply", json!({"manifest": manifest}))
        .await;
    assert!(!applied.is_error, "{}", applied.text);
    let patched = client
        .call(
            "kubectl_patch",
            json!({"resourceType": "secret", "name": "db", "namespace": ns.name,
                   "patchData": {"stringData": {"password": secret_value}}}),
        )
        .await;
    assert!(!patched.is_error, "{}", patched.text);
    let missing = client
        .call(
            "kubectl_get",
            json!({"resourceType": "pod", "name": "no-such-pod", "namespace": ns.name}),
        )
        .await;
    assert!(missing.is_error, "{}", missing.text);
    let filtered = client
        .try_call(
            "kubectl_delete",
            json!({"resourceType": "pod", "name": "x"}),
        )
        .await;
    assert!(filtered.is_err(), "{filtered:?}");
    let out_of_scope = other
        .call(
            "kubectl_get",
            json!({"resourceType": "pods", "namespace": "kube-system"}),
        )
        .await;
    assert!(out_of_scope.is_error, "{}", out_of_scope.text);

    // Refused before MCP: no token, a wrong one, a foreign Host.
    let wrong = format!("wrong-{}", random_suffix(16));
    assert_eq!(raw_post(&server.url, &[]).await, 401);
    assert_eq!(raw_post(&server.url, &[("x-mcp-auth", &wrong)]).await, 401);
    assert_eq!(
        raw_post(
            &server.url,
            &[("host", "evil.example.com"), ("x-mcp-auth", &token)]
        )
        .await,
        403
    );
    client.close().await;
    other.close().await;

    let out = server.stdout();
    let all = records(&out);
    for r in &all {
        assert_eq!(r["endpoint"].as_str(), Some(endpoint.as_str()), "{r}");
        assert!(r["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{r}");
    }
    // Nothing secret anywhere: not the Secret's value (plain or base64),
    // not the server's token, not the wrong token a client tried.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&secret_value);
    for needle in [&secret_value, &b64, &token, &wrong] {
        assert!(
            !out.contains(needle.as_str()),
            "{needle} in the audit log:\n{out}"
        );
        assert!(
            !server.log().contains(needle.as_str()),
            "{needle} in the log"
        );
    }

    let gets = of_tool(&all, "kubectl_get");
    assert_eq!(gets.len(), 3, "{gets:#?}");
    let read = gets[0];
    assert_eq!(read["outcome"], "ok");
    assert_eq!(read["class"], "ReadOnly");
    assert_eq!(read["transport"], "http");
    assert_eq!(read["caller"], json!({"auth": "token"}));
    assert_eq!(read["level"], "request");
    assert_eq!(
        read["arguments"],
        json!({"resourceType": "pods", "namespace": ns.name})
    );
    let session = read["session"].as_str().expect("a session id");
    assert!(
        read["client"]
            .as_str()
            .is_some_and(|c| c.starts_with("127.0.0.1:")),
        "{read}"
    );
    assert!(
        read["duration_ms"].as_f64().is_some_and(|d| d > 0.0),
        "{read}"
    );
    assert_eq!(read["output_bytes"].as_u64(), Some(ok.text.len() as u64));
    let list = resource_requests(read)[0];
    assert_eq!(list["verb"], "list", "{read}");
    assert_eq!(list["resource"], "pods");
    assert_eq!(list["namespace"], ns.name.as_str());
    assert_eq!(list["status"], 200);

    // The write: each object it applied, by verb, resource, name and status.
    let apply = of_tool(&all, "kubectl_apply");
    assert_eq!(apply.len(), 1);
    let apply = apply[0];
    assert_eq!(apply["outcome"], "ok");
    assert_eq!(apply["class"], "Write");
    assert_eq!(
        apply["session"].as_str(),
        Some(session),
        "one client, one session"
    );
    // kubectl_apply validates everything with a server-side dry run, then
    // applies: both show.
    let patches = |dry_run: bool| -> Vec<(String, String, u64)> {
        resource_requests(apply)
            .into_iter()
            .filter(|r| r["verb"] == "patch" && r["dry_run"] == dry_run)
            .inspect(|r| assert_eq!(r["namespace"], ns.name.as_str(), "{r}"))
            .map(|w| {
                (
                    w["resource"].as_str().unwrap_or_default().to_string(),
                    w["name"].as_str().unwrap_or_default().to_string(),
                    w["status"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let want = [
        ("secrets".to_string(), "db".to_string(), 201),
        ("configmaps".to_string(), "settings".to_string(), 201),
    ];
    assert_eq!(patches(false), want, "{apply}");
    assert_eq!(patches(true), want, "{apply}");
    let args = apply["arguments"]["manifest"].to_string();
    assert!(
        args.contains("\"password\":\"***\"") && args.contains("\"mode\":\"fast\""),
        "{args}"
    );
    let patch = of_tool(&all, "kubectl_patch")[0];
    assert_eq!(
        patch["arguments"]["patchData"],
        json!({"stringData": {"password": "***"}})
    );

    // A tool error with the API server's answer.
    let error = gets[1];
    assert_eq!(error["outcome"], "tool_error", "{error}");
    assert!(error["reason"].as_str().unwrap().contains("404"), "{error}");
    assert_eq!(resource_requests(error)[0]["status"], 404);

    // The scope refusal: nothing was sent.
    let scope = gets[2];
    assert_eq!(scope["outcome"], "refused", "{scope}");
    assert_eq!(scope["refused_by"], "scope");
    assert_ne!(
        scope["session"].as_str(),
        Some(session),
        "another client's session"
    );
    assert!(
        scope["requests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"].is_null())
    );

    let delete = of_tool(&all, "kubectl_delete");
    assert_eq!(delete.len(), 1);
    assert_eq!(delete[0]["outcome"], "refused");
    assert_eq!(delete[0]["refused_by"], "filter");
    assert_eq!(delete[0]["rule"], "not_enabled");
    assert_eq!(delete[0]["class"], "Destructive");

    // The HTTP refusals.
    let http: Vec<(&str, &str)> = all
        .iter()
        .filter(|r| r["http"].is_object())
        .map(|r| {
            assert_eq!(r["http"], json!({"method": "POST", "path": "/mcp"}), "{r}");
            assert_eq!(r["outcome"], "refused");
            (
                r["refused_by"].as_str().unwrap(),
                r["rule"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        http,
        [
            ("auth", "no_token"),
            ("auth", "invalid_token"),
            ("host", "not_allowed")
        ]
    );
    ns.delete().await;
}

#[tokio::test]
async fn level_off_still_records_writes_and_refusals_into_a_rotated_file() {
    let ns = test_namespace("audit-off").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.log");
    let server = ServerProcess::start(
        bin(),
        &[
            ("KUBE_MCP_NAMESPACES", &ns.name),
            ("KUBE_MCP_AUDIT_LEVEL", "off"),
            ("KUBE_MCP_AUDIT_FILE", file.to_str().unwrap()),
            ("KUBE_MCP_AUDIT_FILE_MAX_BYTES", "1500"),
        ],
    )
    .await;
    let client = server.client().await;
    for i in 0..6 {
        let r = client
            .call(
                "kubectl_get",
                json!({"resourceType": "configmaps", "namespace": ns.name}),
            )
            .await;
        assert!(!r.is_error, "{}", r.text);
        let r = client
            .call(
                "kubectl_create",
                json!({"resourceType": "configmap", "name": format!("c{i}"), "namespace": ns.name,
                       "fromLiteral": ["k=v"]}),
            )
            .await;
        assert!(!r.is_error, "{}", r.text);
    }
    let refused = client
        .call(
            "kubectl_get",
            json!({"resourceType": "pods", "namespace": "default"}),
        )
        .await;
    assert!(refused.is_error);
    client.close().await;
    assert!(server.stdout().is_empty(), "records went to the file only");

    let rotated = dir.path().join("audit.log.1");
    let old = std::fs::read_to_string(&rotated).expect("the file was rotated");
    let now = std::fs::read_to_string(&file).unwrap();
    for text in [&old, &now] {
        assert!(text.len() <= 1500, "{} bytes", text.len());
    }
    let kept = records(&format!("{old}{now}"));
    assert!(!kept.is_empty());
    for r in &kept {
        assert!(
            r.get("arguments").is_none(),
            "no arguments below request: {r}"
        );
        assert_eq!(r["level"], "metadata");
        assert_ne!(
            (r["tool"].as_str(), r["outcome"].as_str()),
            (Some("kubectl_get"), Some("ok")),
            "reads are not recorded at off: {r}"
        );
    }
    let last = kept.last().unwrap();
    assert_eq!(
        (last["tool"].as_str(), last["refused_by"].as_str()),
        (Some("kubectl_get"), Some("scope"))
    );
    assert!(kept.iter().any(|r| {
        r["tool"] == "kubectl_create"
            && resource_requests(r)
                .iter()
                .any(|q| q["verb"] == "create" && q["status"] == 201)
    }));
    ns.delete().await;
}

#[tokio::test]
async fn under_stdio_records_go_to_stderr_and_stdout_stays_the_protocol() {
    use rmcp::ServiceExt;
    use rmcp::transport::TokioChildProcess;
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env_clear()
        .env(
            "KUBECONFIG_PATH",
            kube_mcp_tests::cluster().kubeconfig_path(),
        )
        .env("KUBE_MCP_AUDIT_LEVEL", "metadata")
        .env("RUST_LOG", "warn");
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = ().serve(transport).await.unwrap();
    let r = client
        .call_tool(rmcp::model::CallToolRequestParams::new("ping"))
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text().unwrap().text, "pong");
    client.cancel().await.unwrap();
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stderr.unwrap(), &mut err)
        .await
        .unwrap();
    let audit: Vec<Value> = err
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["log"] == "audit")
        .collect();
    assert_eq!(audit.len(), 1, "{err}");
    assert_eq!(audit[0]["tool"], "ping");
    assert_eq!(audit[0]["transport"], "stdio");
    assert_eq!(audit[0]["caller"], json!({"auth": "none"}));
}

#[tokio::test]
async fn an_unwritable_audit_file_stops_start_up_with_the_reason() {
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env(
            "KUBECONFIG_PATH",
            kube_mcp_tests::cluster().kubeconfig_path(),
        )
        .env("KUBE_MCP_AUDIT_FILE", "/nonexistent-dir/audit.log")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent-dir/audit.log") && err.contains("KUBE_MCP_AUDIT_FILE"),
        "{err}"
    );
}
