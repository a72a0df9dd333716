//! What a new user meets running the server on its own: docs/server.md
//! against the real flags and environment, `--help`, bare boolean flags,
//! errors that name the API server and the cause (a real closed port, a real
//! API server refusing a token), the log lines for refused requests and for
//! shutdown, and kubectl's KUBECONFIG rule.

use clap::CommandFactory;
use kube_mcp_server::config::{Settings, extra_env};
use kube_mcp_tests::server::{ServerProcess, free_port};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The variables mcp-server-kubernetes reads (its README), for the Origin column.
const SEED_ENV: &[&str] = &[
    "KUBECONFIG_YAML",
    "KUBECONFIG_JSON",
    "K8S_SERVER",
    "K8S_TOKEN",
    "K8S_CA_DATA",
    "K8S_SKIP_TLS_VERIFY",
    "KUBECONFIG_PATH",
    "KUBECONFIG",
    "K8S_CONTEXT",
    "K8S_NAMESPACE",
    "ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT",
    "ENABLE_UNSAFE_SSE_TRANSPORT",
    "PORT",
    "HOST",
    "MCP_AUTH_TOKEN",
    "DNS_REBINDING_PROTECTION",
    "DNS_REBINDING_ALLOWED_HOST",
    "ALLOWED_TOOLS",
    "ALLOW_ONLY_READONLY_TOOLS",
    "ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS",
    "MASK_SECRETS",
    "SPAWN_MAX_BUFFER",
    "ENABLE_TELEMETRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
];

fn server_doc() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("docs/server.md")).unwrap()
}

/// The env table of docs/server.md: (variable, flag, origin) per row.
fn doc_rows() -> Vec<(String, String, String)> {
    let unquote = |c: &str| c.trim().trim_matches('`').to_string();
    server_doc()
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').collect();
            assert_eq!(cells.len(), 5, "a row has 5 cells: {l}");
            (unquote(cells[0]), unquote(cells[1]), unquote(cells[4]))
        })
        .collect()
}

/// (variable, --flag) for every setting with a variable.
fn flag_env() -> Vec<(String, String)> {
    let mut cmd = Settings::command();
    cmd.build();
    cmd.get_arguments()
        .filter_map(|a| {
            let env = a.get_env()?.to_string_lossy().into_owned();
            Some((env, format!("--{}", a.get_long()?)))
        })
        .collect()
}

/// Names in `std::env::var("X")`, `var_os("X")` and `env("X")` lookups in
/// the server's and the catalog's sources (not `.env(...)`, which sets a
/// child's environment).
fn env_lookups_in_sources() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = vec![];
    walk(&Path::new(ROOT).join("server/src"), &mut files);
    walk(&Path::new(ROOT).join("catalog/src"), &mut files);
    let mut names = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for pat in ["var(\"", "var_os(\"", "env(\""] {
            for (i, _) in text.match_indices(pat) {
                let before = text[..i].chars().last();
                if pat == "env(\"" && before == Some('.') {
                    continue;
                }
                let rest = &text[i + pat.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !name.is_empty() && rest[name.len()..].starts_with('"') {
                    names.insert(name);
                }
            }
        }
    }
    names
}

#[test]
fn the_docs_env_table_is_exactly_what_the_server_reads() {
    let rows = doc_rows();
    let documented: BTreeSet<_> = rows.iter().map(|r| r.0.clone()).collect();
    assert_eq!(documented.len(), rows.len(), "one row per variable");
    let flags = flag_env();
    let known: BTreeSet<String> = flags
        .iter()
        .map(|f| f.0.clone())
        .chain(extra_env().map(|v| v.name.to_string()))
        .collect();
    assert_eq!(
        documented, known,
        "docs/server.md rows vs the server's flags' variables and settings::extra_env()"
    );
    let read = env_lookups_in_sources();
    let unknown: Vec<_> = read.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "the sources read {unknown:?}; add them to settings::OTHER_ENV and docs/server.md"
    );
    assert!(
        read.contains("KUBECONFIG_YAML") && read.contains("RUST_LOG"),
        "{read:?}"
    );
    for (var, flag, origin) in &rows {
        let expected_flag = flags
            .iter()
            .find(|f| &f.0 == var)
            .map(|f| f.1.as_str())
            .unwrap_or("");
        assert_eq!(flag, expected_flag, "the flag column of {var}");
        let seed = SEED_ENV.contains(&var.as_str());
        assert_eq!(origin == "seed", seed, "{var} is marked {origin}");
        assert!(
            ["seed", "kube-mcp", "standard"].contains(&origin.as_str()),
            "{var}: origin {origin}"
        );
        if var.starts_with("KUBE_MCP_") {
            assert_eq!(origin, "kube-mcp", "{var}");
        }
    }
}

#[test]
fn the_docs_http_client_configs_are_the_demos() {
    let text = kube_mcp_tests::demo::client_configs(
        "kubernetes",
        "http://localhost:3000/mcp",
        "change-me",
    );
    let doc = server_doc();
    assert!(
        doc.contains(&format!("```text\n{text}```")),
        "docs/server.md should show the demo's client configs:\n{text}"
    );
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    assert!(readme.contains("docs/server.md"), "README links the doc");
}

#[test]
fn help_shows_every_documented_variable() {
    let out = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for (var, _, _) in doc_rows() {
        assert!(help.contains(&var), "--help does not mention {var}");
    }
}

#[test]
fn boolean_flags_work_bare_and_with_a_value() {
    let tools = |args: &[&str]| -> usize {
        let out = std::process::Command::new(BIN)
            .env_remove("ALLOW_ONLY_READONLY_TOOLS")
            .env_remove("ALLOWED_TOOLS")
            .args(args)
            .arg("--list-tools")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Vec<Value>>(&out.stdout)
            .unwrap()
            .len()
    };
    assert_eq!(tools(&["--readonly"]), 8);
    assert_eq!(tools(&["--readonly=true"]), 8);
    assert_eq!(tools(&["--readonly=false"]), tools(&[]));
    // Bare means true: masked Secrets, so the helm tools (which need visible ones) are dropped.
    assert_eq!(tools(&["--mask-secrets", "--readonly"]), 8);
    assert!(tools(&["--mask-secrets"]) < tools(&["--mask-secrets=false"]));
}

/// Waits until the server's log has a line containing every needle.
async fn log_line(server: &ServerProcess, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = server.log();
        if let Some(l) = log.lines().find(|l| needles.iter().all(|n| l.contains(n))) {
            return l.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {needles:?}; log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a client gets when listing pods through `server` fails.
async fn failed_pod_listing(server: &ServerProcess) -> kube_mcp_tests::mcp::CallOutcome {
    let client = server.client().await;
    let args = json!({"resourceType": "pods", "namespace": "default"});
    let out = client.call("kubectl_get", args).await;
    assert!(out.is_error, "{}", out.text);
    out
}

#[tokio::test]
async fn an_unreachable_api_server_is_named_with_the_cause() {
    let url = format!("https://127.0.0.1:{}", free_port());
    let server =
        ServerProcess::start(Path::new(BIN), &[("K8S_SERVER", &url), ("K8S_TOKEN", "t")]).await;
    let line = log_line(&server, &["cannot reach the API server at", &url]).await;
    assert!(
        line.contains("Connection refused") && line.contains("WARN"),
        "{line}"
    );

    let started = Instant::now();
    let out = failed_pod_listing(&server).await;
    assert!(
        out.text
            .contains(&format!("cannot reach the API server at {url}"))
            && out.text.contains("Connection refused")
            && out.text.contains("is the API server running"),
        "{}",
        out.text
    );
    assert!(!out.text.contains("ServiceError"), "{}", out.text);
    eprintln!("tool error after {:?}: {}", started.elapsed(), out.text);

    let ready: Value = reqwest::get(format!("{}/ready", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reason = ready["reason"].as_str().unwrap();
    assert!(
        reason.contains(&url) && reason.contains("Connection refused"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_rejected_token_shows_code_reason_and_message_never_a_debug_dump() {
    let cp = kube_mcp_tests::cluster();
    let kubeconfig = cp.token_kubeconfig("nobody", "not-a-valid-token");
    let server = ServerProcess::start(Path::new(BIN), &[("KUBECONFIG_YAML", &kubeconfig)]).await;
    let line = log_line(&server, &["answered 401 Unauthorized"]).await;
    assert!(
        line.contains(cp.server_url().trim_end_matches('/')),
        "{line}"
    );
    let out = failed_pod_listing(&server).await;
    assert!(out.text.contains("401 Unauthorized"), "{}", out.text);
    assert!(
        out.text.contains("credentials were rejected"),
        "{}",
        out.text
    );
    for debug in ["Status {", "ApiError", "code: 401"] {
        assert!(!out.text.contains(debug), "{}", out.text);
        assert!(!server.log().contains(debug), "{}", server.log());
    }
}

#[tokio::test]
async fn each_refused_request_is_logged_with_reason_and_client_never_the_token() {
    let token = "the-right-token-4711";
    let wrong = "a-wrong-token-0815";
    let server = ServerProcess::start(Path::new(BIN), &[("MCP_AUTH_TOKEN", token)]).await;
    let http = reqwest::Client::new();
    let post = |h: Option<(&'static str, String)>| {
        let mut req = http.post(&server.url).body("{}");
        if let Some((k, v)) = h {
            req = req.header(k, v);
        }
        req.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 401);
    assert_eq!(
        post(Some(("x-mcp-auth", wrong.into())))
            .await
            .unwrap()
            .status(),
        401
    );
    let auth = ("authorization", format!("Bearer {wrong}"));
    assert_eq!(post(Some(auth)).await.unwrap().status(), 401);
    log_line(&server, &["401", "no token", "127.0.0.1:"]).await;
    log_line(&server, &["401", "wrong token", "127.0.0.1:"]).await;
    let log = server.log();
    assert_eq!(log.matches("refused a request: 401").count(), 3, "{log}");
    assert!(!log.contains(wrong) && !log.contains(token), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "text logs into a file carry no colour codes:\n{log}"
    );
}

#[tokio::test]
async fn a_kubeconfig_list_with_a_missing_file_is_used_like_kubectl() {
    let list = format!(
        "/nonexistent/kubeconfig:{}",
        kube_mcp_tests::cluster().kubeconfig_path().display()
    );
    let server = ServerProcess::start(Path::new(BIN), &[("KUBECONFIG", &list)]).await;
    let client = server.client().await;
    let out = client
        .call("kubectl_get", json!({"resourceType": "namespaces"}))
        .await;
    assert!(
        !out.is_error && out.text.contains("kube-system"),
        "{}",
        out.text
    );
    log_line(&server, &["/nonexistent/kubeconfig", "skipped"]).await;
}

#[tokio::test]
async fn json_logs_without_colour_and_the_shutdown_reason() {
    let server = ServerProcess::start(Path::new(BIN), &[("KUBE_MCP_LOG_FORMAT", "json")]).await;
    log_line(&server, &["the API server answers"]).await;
    let (status, log) = server.terminate_with_log().await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a log file:\n{log}"
    );
    for line in log.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{line}"
        );
    }
    for needle in ["listening", "shutting down: received SIGTERM"] {
        assert!(
            log.lines().any(|l| l.contains(needle)),
            "no {needle:?} in:\n{log}"
        );
    }
}

/// Intended (docs/server.md): one router, so old and new clients share a
/// port; both paths sit behind the same token check.
#[tokio::test]
async fn both_http_modes_serve_mcp_and_sse_behind_the_token() {
    const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let http = reqwest::Client::new();
    for mode in ["http", "sse"] {
        let env = [
            ("MCP_AUTH_TOKEN", "tok"),
            ("ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT", "false"),
            ("ENABLE_UNSAFE_SSE_TRANSPORT", "false"),
            ("KUBE_MCP_LOG_FORMAT", "text"),
        ];
        let mut env = env.to_vec();
        let switch = if mode == "http" { 1 } else { 2 };
        env[switch].1 = "true";
        let server = ServerProcess::start(Path::new(BIN), &env).await;
        log_line(
            &server,
            &[
                "listening",
                &format!("transport={}", if mode == "http" { "Http" } else { "Sse" }),
            ],
        )
        .await;
        let init = |token: Option<&'static str>| {
            let mut req = http
                .post(&server.url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(INIT);
            if let Some(t) = token {
                req = req.header("x-mcp-auth", t);
            }
            req.send()
        };
        assert_eq!(init(None).await.unwrap().status(), 401, "{mode}: /mcp");
        assert_eq!(
            init(Some("tok")).await.unwrap().status(),
            200,
            "{mode}: /mcp"
        );
        let sse = format!("{}/sse", server.base);
        assert_eq!(
            http.get(&sse).send().await.unwrap().status(),
            401,
            "{mode}: /sse"
        );
        let mut resp = http
            .get(&sse)
            .header("x-mcp-auth", "tok")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{mode}: /sse");
        let first = tokio::time::timeout(Duration::from_secs(5), resp.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let first = String::from_utf8_lossy(&first);
        assert!(
            first.contains("event: endpoint") && first.contains("/messages?sessionId="),
            "{first}"
        );
    }
}
