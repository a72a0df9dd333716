//! The server core over HTTP, end to end: the real binary against the local
//! control plane, driven by real MCP clients (rmcp, the Python SDK) and raw
//! HTTP where status codes are the point.

use kube_mcp_tests::mcp::McpClient;
use kube_mcp_tests::server::ServerProcess;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");

fn bin() -> &'static Path {
    Path::new(BIN)
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

/// POSTs an initialize with the given extra headers; returns the status.
async fn raw_initialize(url: &str, headers: &[(&str, &str)]) -> reqwest::StatusCode {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request").status()
}

#[tokio::test]
async fn tools_list_follows_each_filter_mode() {
    // (environment, tool count, a tool present, a tool absent)
    type Case<'a> = (&'a [(&'a str, &'a str)], usize, &'a str, &'a str);
    let cases: &[Case] = &[
        // Masked by default: helm (charts can read any Secret) is left out.
        (&[], 20, "kubectl_delete", "install_helm_chart"),
        (
            &[("KUBE_MCP_SECRETS", "visible")],
            23,
            "install_helm_chart",
            "",
        ),
        (
            &[("ALLOW_ONLY_READONLY_TOOLS", "true")],
            8,
            "kubectl_get",
            "kubectl_apply",
        ),
        (
            &[("ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS", "true")],
            16,
            "kubectl_apply",
            "kubectl_delete",
        ),
        (
            &[
                ("ALLOWED_TOOLS", "kubectl_get,ping"),
                ("ALLOW_ONLY_READONLY_TOOLS", "true"),
            ],
            2,
            "ping",
            "kubectl_describe",
        ),
    ];
    for (env, count, present, absent) in cases {
        let server = ServerProcess::start(bin(), env).await;
        let client = server.client().await;
        assert_eq!(client.server_name().as_deref(), Some("kube-mcp-server"));
        let tools = client.list_tools().await;
        assert_eq!(tools.len(), *count, "{env:?}: {tools:?}");
        assert!(
            tools.iter().any(|t| t == present),
            "{env:?} lacks {present}"
        );
        assert!(
            absent.is_empty() || !tools.iter().any(|t| t == absent),
            "{env:?} offers {absent}"
        );
        client.close().await;
    }
}

#[tokio::test]
async fn annotations_come_from_the_catalog() {
    let server = ServerProcess::start(bin(), &[]).await;
    let client = server.client().await;
    let tools = client.tools().await;
    let get = tools
        .iter()
        .find(|t| t.name == "kubectl_get")
        .expect("kubectl_get");
    let del = tools
        .iter()
        .find(|t| t.name == "kubectl_delete")
        .expect("kubectl_delete");
    assert_eq!(
        get.annotations.as_ref().and_then(|a| a.read_only_hint),
        Some(true)
    );
    assert_eq!(
        del.annotations.as_ref().and_then(|a| a.destructive_hint),
        Some(true)
    );
    let schema = serde_json::to_value(&get.input_schema).unwrap();
    assert_eq!(schema["required"], json!(["resourceType"]));
}

#[tokio::test]
async fn filtered_and_unknown_tools_get_mcp_errors_naming_them() {
    let server = ServerProcess::start(bin(), &[("ALLOW_ONLY_READONLY_TOOLS", "true")]).await;
    let client = server.client().await;
    let err = client
        .try_call(
            "kubectl_delete",
            json!({"resourceType": "pod", "name": "x"}),
        )
        .await
        .unwrap_err();
    assert!(
        err.contains("kubectl_delete") && err.contains("not enabled"),
        "{err}"
    );
    let err = client
        .try_call("kubectl_nuke", json!({}))
        .await
        .unwrap_err();
    assert!(
        err.contains("kubectl_nuke") && err.contains("unknown tool"),
        "{err}"
    );
    let pong = client.call("ping", json!({})).await;
    assert!(!pong.is_error && pong.text == "pong", "{pong:?}");
    let bad = client
        .call("kubectl_get", json!({"namespace": "default"}))
        .await;
    assert!(
        bad.is_error && bad.text.contains("resourceType"),
        "a missing argument is a tool error naming it: {bad:?}"
    );
}

#[tokio::test]
async fn auth_refuses_missing_and_wrong_tokens_with_401() {
    let server = ServerProcess::start(bin(), &[("MCP_AUTH_TOKEN", "s3cret-token")]).await;
    assert_eq!(raw_initialize(&server.url, &[]).await, 401);
    assert_eq!(
        raw_initialize(&server.url, &[("x-mcp-auth", "wrong")]).await,
        401
    );
    assert_eq!(
        raw_initialize(&server.url, &[("authorization", "Bearer wrong")]).await,
        401
    );
    assert_eq!(
        raw_initialize(&server.url, &[("x-mcp-auth", "s3cret-token")]).await,
        200
    );
    assert_eq!(
        raw_initialize(&server.url, &[("authorization", "Bearer s3cret-token")]).await,
        200
    );
    let body: Value = reqwest::Client::new()
        .post(&server.url)
        .body(INIT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-MCP-AUTH"),
        "{body}"
    );
    // Probes stay open.
    let health = reqwest::get(format!("{}/health", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(McpClient::connect(&server.url, None).await.is_err());
    assert!(
        McpClient::connect(&server.url, Some("s3cret-token"))
            .await
            .is_ok()
    );
    assert!(
        !server.log().contains("s3cret-token"),
        "the token must never be logged"
    );
}

#[tokio::test]
async fn dns_rebinding_protection_refuses_foreign_hosts() {
    let server = ServerProcess::start(
        bin(),
        &[(
            "DNS_REBINDING_ALLOWED_HOST",
            "mcp.example.com,svc.team-a.svc:8080",
        )],
    )
    .await;
    assert_eq!(
        raw_initialize(&server.url, &[("host", "evil.example.com")]).await,
        403
    );
    assert_eq!(
        raw_initialize(&server.url, &[("host", "svc.team-a.svc:9999")]).await,
        403
    );
    assert_eq!(
        raw_initialize(&server.url, &[("host", "mcp.example.com")]).await,
        200
    );
    assert_eq!(
        raw_initialize(&server.url, &[("host", "svc.team-a.svc:8080")]).await,
        200
    );
    assert_eq!(
        raw_initialize(&server.url, &[("host", "localhost:1234")]).await,
        200
    );
    assert_eq!(
        raw_initialize(&server.url, &[("origin", "https://evil.example.com")]).await,
        403
    );
    let off = ServerProcess::start(bin(), &[("DNS_REBINDING_PROTECTION", "false")]).await;
    assert_eq!(
        raw_initialize(&off.url, &[("host", "evil.example.com")]).await,
        200
    );
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let server = ServerProcess::start(bin(), &[]).await;
    let ready: Value = reqwest::get(format!("{}/ready", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert!(
        ready["kubernetes"].as_str().unwrap().starts_with("v1."),
        "{ready}"
    );
    let client = server.client().await;
    client.call("ping", json!({})).await;
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"kube_mcp_tool_calls_total{tool="ping",outcome="ok"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("kube_mcp_tool_call_duration_seconds_bucket"));
    assert!(metrics.contains(r#"kube_mcp_http_responses_total{status="200"}"#));
    assert!(
        server.log().contains("tool=\"ping\"") || server.log().contains("tool=ping"),
        "one log line per call:\n{}",
        server.log()
    );
}

#[tokio::test]
async fn ready_is_503_when_the_api_server_is_unreachable() {
    let server = ServerProcess::start(
        bin(),
        &[("K8S_SERVER", "https://127.0.0.1:1"), ("K8S_TOKEN", "x")],
    )
    .await;
    let resp = reqwest::get(format!("{}/ready", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let health = reqwest::get(format!("{}/health", server.base))
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        200,
        "liveness does not depend on the API server"
    );
}

#[test]
fn unknown_allowed_tool_refuses_start_up_listing_known_names() {
    let out = std::process::Command::new(BIN)
        .env("ALLOWED_TOOLS", "kubectl_get,kubectl_nuke")
        .arg("--list-tools")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kubectl_nuke") && err.contains("Known tools: kubectl_get"),
        "{err}"
    );
}

#[test]
fn list_tools_prints_the_catalog_with_filters() {
    let run = |env: &[(&str, &str)]| -> Vec<Value> {
        let mut cmd = std::process::Command::new(BIN);
        cmd.env_remove("ALLOWED_TOOLS")
            .env_remove("ALLOW_ONLY_READONLY_TOOLS")
            .env_remove("ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS")
            .env_remove("KUBE_MCP_SECRETS")
            .env_remove("KUBE_MCP_NAMESPACES");
        cmd.envs(env.iter().copied()).arg("--list-tools");
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let all = run(&[("KUBE_MCP_SECRETS", "visible")]);
    assert_eq!(all.len(), 23);
    assert_eq!(run(&[]).len(), 20, "masked: no helm tools");
    assert!(
        all.iter().all(|t| t["name"].is_string()
            && t["class"].is_string()
            && t["annotations"].is_object())
    );
    let ro = run(&[("ALLOW_ONLY_READONLY_TOOLS", "true")]);
    assert_eq!(ro.len(), 8);
    assert!(ro.iter().all(|t| t["class"] == "ReadOnly"));
}

#[test]
fn a_broken_cluster_source_fails_start_up_naming_it() {
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("KUBECONFIG_PATH", "/nonexistent/kubeconfig")
        .env("ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("KUBECONFIG_PATH (/nonexistent/kubeconfig)"),
        "{err}"
    );
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no usable cluster access"));
}

#[tokio::test]
async fn a_rotated_token_file_takes_effect_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "first-token\n").unwrap();
    let server = ServerProcess::start(
        bin(),
        &[("KUBE_MCP_AUTH_TOKEN_FILE", file.to_str().unwrap())],
    )
    .await;
    assert_eq!(
        raw_initialize(&server.url, &[("x-mcp-auth", "first-token")]).await,
        200
    );
    let pid = server.pid().expect("the server runs");
    let session = McpClient::connect(&server.url, Some("first-token"))
        .await
        .unwrap();
    std::fs::write(&file, "second-token\n").unwrap();
    let mut rotated = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if raw_initialize(&server.url, &[("x-mcp-auth", "second-token")]).await == 200 {
            rotated = true;
            break;
        }
    }
    assert!(rotated, "the new token never worked");
    assert_eq!(
        raw_initialize(&server.url, &[("x-mcp-auth", "first-token")]).await,
        401
    );
    assert_eq!(server.pid(), Some(pid), "same process, no restart");
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the server is still running"
    );
    drop(session);
}

/// The Python SDK, installed by scripts/test, over both HTTP transports.
#[tokio::test]
async fn python_sdk_over_streamable_http_and_legacy_sse() {
    let python = std::env::var("KUBE_MCP_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/kube-mcp/venv/bin/python")
    });
    assert!(
        Path::new(&python).exists(),
        "{python} is missing: run scripts/test, which installs the Python MCP SDK"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/clients/py_client.py");
    for (transport, env, path) in [
        (
            "http",
            ("ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT", "true"),
            "/mcp",
        ),
        ("sse", ("ENABLE_UNSAFE_SSE_TRANSPORT", "true"), "/sse"),
    ] {
        let server = ServerProcess::start(
            bin(),
            &[
                env,
                ("MCP_AUTH_TOKEN", "py-token"),
                ("ALLOW_ONLY_READONLY_TOOLS", "true"),
            ],
        )
        .await;
        let out = tokio::process::Command::new(&python)
            .args([
                script,
                "--transport",
                transport,
                "--url",
                &format!("{}{path}", server.base),
                "--token",
                "py-token",
                "--call",
                "ping",
            ])
            .args(["--prompt", "k8s-diagnose"])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{transport}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["server"], "kube-mcp-server");
        assert_eq!(v["tools"].as_array().unwrap().len(), 8, "{transport}: {v}");
        assert_eq!(v["call"]["text"], "pong");
        assert_eq!(
            v["annotations"]["kubectl_get"]["read_only_hint"], true,
            "{v}"
        );
        assert!(v["prompt"][0].as_str().unwrap().contains("web"));
    }
}

#[tokio::test]
async fn stdio_transport_serves_the_rust_sdk() {
    use rmcp::ServiceExt;
    use rmcp::transport::TokioChildProcess;
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env_clear()
        .env(
            "KUBECONFIG_PATH",
            kube_mcp_tests::cluster().kubeconfig_path(),
        )
        .env("ALLOW_ONLY_READONLY_TOOLS", "1");
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 8);
    let r = client
        .call_tool(rmcp::model::CallToolRequestParams::new("ping"))
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text().unwrap().text, "pong");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn stateless_mode_answers_without_sessions() {
    let server = ServerProcess::start(bin(), &[("KUBE_MCP_STATELESS", "true")]).await;
    let resp = reqwest::Client::new()
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers().get("mcp-session-id").is_none(),
        "stateless mode hands out no session"
    );
    let client = server.client().await;
    assert_eq!(client.call("ping", json!({})).await.text, "pong");
}

/// The `data:` lines of an SSE body, after checking it holds nothing else
/// a strict client or gateway could trip on.
fn only_events(body: &str) -> Vec<Value> {
    assert!(
        !body.lines().any(|l| l.starts_with("retry:")),
        "no reconnection hint: {body:?}"
    );
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap_or_else(|e| panic!("{d:?}: {e}")))
        .collect()
}

#[tokio::test]
async fn a_session_answers_each_request_with_one_event_and_no_priming() {
    // Like the seed (and the Python SDK), no empty priming event and no
    // `retry:` line before the answer: older MCP clients try to parse the
    // empty data as JSON and fail, strict gateways reject the retry line.
    let server = ServerProcess::start(bin(), &[]).await;
    let http = reqwest::Client::new();
    let post = |session: Option<String>, body: &'static str| {
        let mut req = http
            .post(&server.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .body(body);
        if let Some(id) = session {
            req = req.header("mcp-session-id", id);
        }
        async move {
            tokio::time::timeout(Duration::from_secs(10), req.send())
                .await
                .expect("answered in time")
                .expect("request")
        }
    };
    let init = post(None, INIT).await;
    assert_eq!(init.status(), 200);
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let events = only_events(&init.text().await.unwrap());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["id"], 1);
    assert_eq!(events[0]["result"]["serverInfo"]["name"], "kube-mcp-server");
    let note = post(
        Some(session.clone()),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    assert_eq!(note.status(), 202);
    let call = post(
        Some(session),
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ping","arguments":{}}}"#,
    )
    .await;
    assert_eq!(call.status(), 200);
    let body = tokio::time::timeout(Duration::from_secs(10), call.text())
        .await
        .expect("the stream ends after the answer")
        .unwrap();
    let events = only_events(&body);
    assert_eq!(events.len(), 1, "{body:?}");
    assert_eq!(events[0]["id"], 2);
    assert_eq!(events[0]["result"]["content"][0]["text"], "pong");
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let server = ServerProcess::start(bin(), &[]).await;
    let _client = server.client().await;
    let status = server
        .terminate()
        .await
        .expect("exited within the grace period");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn sessions_are_capped_and_idle_ones_expire() {
    let server = ServerProcess::start(
        bin(),
        &[
            ("KUBE_MCP_MAX_SESSIONS", "2"),
            ("KUBE_MCP_SESSION_IDLE_SECONDS", "2"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let open = || async {
        http.post(&server.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(INIT)
            .send()
            .await
            .expect("request")
    };
    let first = open().await;
    assert!(first.status().is_success());
    let id = first.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(open().await.status().is_success());
    let third = open().await;
    assert_eq!(third.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let body = third.text().await.unwrap();
    assert!(body.contains("KUBE_MCP_MAX_SESSIONS=2"), "{body}");
    // Legacy SSE has its own cap.
    let sse = |n: usize| {
        let url = format!("{}/sse", server.base);
        let http = http.clone();
        async move {
            let mut held = vec![];
            let mut last = reqwest::StatusCode::OK;
            for _ in 0..n {
                let r = http.get(&url).send().await.expect("sse");
                last = r.status();
                held.push(r);
            }
            (last, held)
        }
    };
    let (last, held) = sse(3).await;
    assert_eq!(last, reqwest::StatusCode::SERVICE_UNAVAILABLE);
    drop(held);
    // Idle sessions are closed: the first session id is gone, and a new one opens.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stale = http
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &id)
        .body(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(open().await.status().is_success());
}

#[tokio::test]
async fn every_route_bounds_its_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = ServerProcess::start(bin(), &[]).await;
    // The routes that take a body; the others answer GET only. A raw
    // request announcing 5 MiB: the answer must come before the body does.
    for path in ["/mcp", "/messages?sessionId=none"] {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
             accept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{{",
            5 * 1024 * 1024
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("an answer before the body")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
    }
    // The server is still there for others.
    let client = server.client().await;
    assert!(!client.list_tools().await.is_empty());
}

#[tokio::test]
async fn an_origin_pattern_matches_its_scheme_exactly() {
    let server = ServerProcess::start(
        bin(),
        &[("KUBE_MCP_ALLOWED_ORIGINS", "https://app.example.com:*")],
    )
    .await;
    let ok = raw_initialize(&server.url, &[("origin", "https://app.example.com:8443")]).await;
    assert!(ok.is_success(), "{ok}");
    let plain = raw_initialize(&server.url, &[("origin", "http://app.example.com:8443")]).await;
    assert_eq!(plain, reqwest::StatusCode::FORBIDDEN);
}
