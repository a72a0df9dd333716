//! Clients that misbehave, against the real server binary: slowloris
//! headers, dribbled bodies, connections beyond the cap, bad JSON-RPC, and
//! thousands of abandoned sessions. Each answer must be bounded in time and
//! say what was wrong, and the server must keep serving well-behaved
//! clients throughout. (The API server going away: server/tests/outage.rs.)
//!
//! Sizes as server/tests/soak.rs (`KUBE_MCP_RELIABILITY`); figures go to
//! `$KUBE_MCP_RELIABILITY_OUT` (scripts/reliability).

use kube_mcp_catalog::tools::ToolId;
use kube_mcp_tests::reliability::{self, Budget, stats};
use kube_mcp_tests::server::ServerProcess;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");
const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
/// The test servers' header and body timeouts (seconds).
const SLOW: &str = "2";
/// What a timeout may overrun on a loaded 2-core CI machine.
const SLACK: Duration = Duration::from_secs(8);

fn bin() -> &'static Path {
    Path::new(BIN)
}

async fn slow_server() -> ServerProcess {
    ServerProcess::start(
        bin(),
        &[
            ("KUBE_MCP_HEADER_TIMEOUT_SECONDS", SLOW),
            ("KUBE_MCP_BODY_TIMEOUT_SECONDS", SLOW),
        ],
    )
    .await
}

/// Waits until the server closes `tcp` (EOF, an error, or an answer),
/// for at most `within`; returns what it answered.
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> Option<String> {
    let mut buf = vec![0u8; 1024];
    let mut got = String::new();
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline.into(), tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
}

/// A slowloris client: an unfinished request head, one more header line
/// every 250 ms. Returns how long the server let it hang on, or None when
/// it was still open after `give_up`.
async fn slowloris(port: u16, give_up: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    tcp.write_all(b"POST /mcp HTTP/1.1\r\nhost: localhost\r\n")
        .await
        .ok()?;
    let mut buf = [0u8; 256];
    for i in 0..(give_up.as_millis() / 250) {
        tokio::select! {
            // EOF, an error or an answer (408): the server is done with it.
            _ = tcp.read(&mut buf) => return Some(started.elapsed()),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                if tcp.write_all(format!("x-slow-{i}: a\r\n").as_bytes()).await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}

async fn timed_call(c: &kube_mcp_tests::mcp::McpClient) -> Duration {
    let t = Instant::now();
    let out = c
        .call(
            ToolId::KubectlGet.name(),
            json!({"resourceType": "namespaces"}),
        )
        .await;
    assert!(!out.is_error, "{}", out.text);
    t.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slowloris_clients_are_cut_off_while_others_are_served() {
    let server = slow_server().await;
    let client = server.client().await;
    let before = timed_call(&client).await;
    let give_up = Duration::from_secs(2) + SLACK + SLACK;
    let lorises: Vec<_> = (0..50)
        .map(|_| tokio::spawn(slowloris(server.port, give_up)))
        .collect();
    // A silent connection: no byte at all.
    let mut silent = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // While 50 slow clients hold connections, a well-behaved one is served.
    let during = timed_call(&client).await;
    let fresh = server.client().await;
    let fresh_during = timed_call(&fresh).await;
    let mut held = vec![];
    for l in lorises {
        held.push(
            l.await
                .unwrap()
                .expect("a slowloris connection was never closed"),
        );
    }
    let longest = held.iter().max().copied().unwrap_or_default();
    let shortest = held.iter().min().copied().unwrap_or_default();
    assert!(
        closed_within(&mut silent, SLACK).await.is_some(),
        "a silent connection stayed open"
    );
    eprintln!(
        "slowloris: 50 clients held {shortest:?}..{longest:?}; calls before {before:?}, during {during:?}, new client {fresh_during:?}"
    );
    assert!(
        shortest >= Duration::from_millis(1500),
        "closed before the 2 s header timeout: {shortest:?}"
    );
    assert!(longest <= Duration::from_secs(2) + SLACK, "{longest:?}");
    assert!(
        during < Duration::from_secs(5) && fresh_during < Duration::from_secs(5),
        "calls slowed down: {during:?}, {fresh_during:?}"
    );
    // A kept-alive connection quiet for longer than the header timeout is
    // closed by the server; the client reconnects and is served.
    tokio::time::sleep(Duration::from_secs(3)).await;
    timed_call(&client).await;
    reliability::record(
        "server-slowloris",
        &json!({
            "clients": 50,
            "header_timeout_seconds": 2,
            "held_ms": {"min": shortest.as_millis(), "max": longest.as_millis()},
            "call_ms": {"before": before.as_millis(), "during": during.as_millis(), "new_client_during": fresh_during.as_millis()},
        }),
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let server = ServerProcess::start(
        bin(),
        &[
            ("KUBE_MCP_HEADER_TIMEOUT_SECONDS", SLOW),
            ("KUBE_MCP_MAX_CONNECTIONS", "8"),
        ],
    )
    .await;
    // ServerProcess's health check has gone; the cap is free again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut silent = vec![];
    for _ in 0..8 {
        silent.push(
            TcpStream::connect(("127.0.0.1", server.port))
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The ninth waits in the listen backlog until the header timeout frees a slot.
    let started = Instant::now();
    let health = tokio::time::timeout(
        Duration::from_secs(2) + SLACK,
        reqwest::get(format!("{}/health", server.base)),
    )
    .await
    .expect("no answer once slots were free")
    .unwrap();
    let waited = started.elapsed();
    assert!(health.status().is_success());
    assert!(
        waited >= Duration::from_millis(1000),
        "answered in {waited:?} with every slot held: no cap"
    );
}

#[tokio::test]
async fn a_dribbled_body_gets_408_and_legacy_sse_outlives_the_header_timeout() {
    let server = slow_server().await;
    let mut tcp = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    tcp.write_all(
        b"POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
          accept: application/json, text/event-stream\r\ncontent-length: 100\r\n\r\n{\"jsonrpc\":",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let answer = closed_within(&mut tcp, Duration::from_secs(2) + SLACK)
        .await
        .expect("no answer to a dribbled body");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("KUBE_MCP_BODY_TIMEOUT_SECONDS"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(1500));

    // An SSE stream is a response being written, not a request being
    // read: the header timeout does not cut it.
    let http = reqwest::Client::new();
    let mut sse = http
        .get(format!("{}/sse", server.base))
        .send()
        .await
        .unwrap();
    let first = sse.chunk().await.unwrap().unwrap();
    let first = String::from_utf8_lossy(&first).to_string();
    let path = first
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no endpoint event: {first}"))
        .to_string();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let posted = http
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(INIT)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), reqwest::StatusCode::ACCEPTED);
    let mut seen = String::new();
    while !seen.contains("protocolVersion") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), sse.chunk())
            .await
            .expect("the SSE stream went quiet")
            .unwrap()
            .expect("the SSE stream ended");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// A raw MCP POST of `body` to `url`, with the headers streamable HTTP wants.
fn mcp_post(http: &reqwest::Client, url: &str, body: &str) -> reqwest::RequestBuilder {
    http.post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string())
}

/// POSTs `body` to `url` (with a session id if given); status and JSON
/// answer (the first SSE data line, if it came as a stream).
async fn post(url: &str, session: Option<&str>, body: &str) -> (reqwest::StatusCode, Value) {
    let mut req = mcp_post(&reqwest::Client::new(), url, body);
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let json = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .find(|l| !l.trim().is_empty())
        .unwrap_or(&text);
    (
        status,
        serde_json::from_str(json).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn bad_json_rpc_gets_json_rpc_errors_saying_what_was_wrong() {
    let server = ServerProcess::start(bin(), &[]).await;
    let messages = format!("{}/messages?sessionId=none", server.base);
    let cases: &[(&str, &str, i64, &str)] = &[
        (&server.url, "{not json", -32700, "not JSON"),
        (&messages, "{not json", -32700, "not JSON"),
        (
            &server.url,
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            -32600,
            "batch",
        ),
        (&server.url, r#""hello""#, -32600, "a JSON object"),
    ];
    for (url, body, code, says) in cases {
        let (status, answer) = post(url, None, body).await;
        assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], json!(code), "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    // An unknown method inside a session: -32601 with the request's id.
    let r = mcp_post(&reqwest::Client::new(), &server.url, INIT)
        .send()
        .await
        .unwrap();
    let session = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
    r.text().await.unwrap();
    post(
        &server.url,
        Some(&session),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    let (_, answer) = post(
        &server.url,
        Some(&session),
        r#"{"jsonrpc":"2.0","id":77,"method":"no/such/method"}"#,
    )
    .await;
    assert_eq!(answer["error"]["code"], json!(-32601), "{answer}");
    assert_eq!(answer["id"], json!(77), "{answer}");
    // A standard method with bad params: -32602 saying what is wrong, not
    // "method not found".
    let (_, answer) = post(
        &server.url,
        Some(&session),
        r#"{"jsonrpc":"2.0","id":78,"method":"tools/call","params":{"name":5}}"#,
    )
    .await;
    assert_eq!(answer["error"]["code"], json!(-32602), "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("tools/call") && m.contains("invalid type")),
        "{answer}"
    );
    // And the server still serves.
    let client = server.client().await;
    assert!(!client.list_tools().await.is_empty());
}

/// The sessions the server holds, per transport, from /metrics.
async fn sessions_held(base: &str) -> (u64, u64) {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let of = |t: &str| {
        let key = format!("kube_mcp_sessions{{transport=\"{t}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /metrics:\n{text}"))
    };
    (of("http"), of("sse"))
}

async fn until_no_sessions(base: &str, within: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < within {
        if sessions_held(base).await == (0, 0) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "sessions still held after {within:?}: {:?}",
        sessions_held(base).await
    )
}

/// What VmRSS may stay above idle once every abandoned session is gone.
/// (glibc keeps a burst's ~75 MiB unless the server trims after sessions close.)
const MAX_KEPT_MIB: f64 = 16.0;

fn mib(kib: Option<u64>) -> f64 {
    (kib.unwrap_or(0) as f64 / 1024.0 * 100.0).round() / 100.0
}

/// Opens `n` sessions, 32 at a time, and abandons them: half streamable
/// HTTP (initialize, never DELETE), half legacy SSE (dropped after the
/// first event). Returns the seconds it took and the refusals.
async fn churn(server: &ServerProcess, n: usize) -> (f64, Vec<String>) {
    use futures::StreamExt;
    let http = reqwest::Client::new();
    let refused = Arc::new(Mutex::new(vec![]));
    let started = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let (http, refused) = (http.clone(), refused.clone());
            let (url, sse) = (server.url.clone(), format!("{}/sse", server.base));
            async move {
                let r = if i % 2 == 0 {
                    mcp_post(&http, &url, INIT).send().await
                } else {
                    http.get(&sse).send().await
                };
                match r {
                    Ok(mut r) if r.status().is_success() => {
                        let _ = r.chunk().await;
                    }
                    Ok(r) => refused.lock().unwrap().push(r.status().to_string()),
                    Err(e) => refused.lock().unwrap().push(e.to_string()),
                }
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    let refused = refused.lock().unwrap().clone();
    (started.elapsed().as_secs_f64(), refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abandoned_sessions_expire_and_memory_comes_back() {
    let budget = Budget::from_env();
    let n = budget.sessions;
    let cap = n.to_string();
    let server = ServerProcess::start(
        bin(),
        &[
            ("KUBE_MCP_SESSION_IDLE_SECONDS", "2"),
            ("KUBE_MCP_MAX_SESSIONS", &cap),
        ],
    )
    .await;
    let pid = server.pid().unwrap();
    let warm = server.client().await;
    timed_call(&warm).await;
    warm.close().await;
    until_no_sessions(&server.base, Duration::from_secs(20)).await;
    let idle = stats::rss_kib(pid);
    // Two rounds: the first shows what the allocator keeps after a burst,
    // the second that nothing is kept per session (a leak would grow again).
    let mut rounds = vec![];
    for _ in 0..2 {
        let (open_seconds, refused) = churn(&server, n).await;
        let peak = stats::rss_kib(pid);
        let held = sessions_held(&server.base).await;
        let expired_in = until_no_sessions(&server.base, Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = stats::rss_kib(pid);
        assert!(
            refused.is_empty(),
            "{} refused: {:?}",
            refused.len(),
            &refused[..refused.len().min(5)]
        );
        rounds.push(json!({
            "open_seconds": (open_seconds * 100.0).round() / 100.0,
            "opens_per_second": (n as f64 / open_seconds).round(),
            "held_after_opening": {"http": held.0, "sse": held.1},
            "all_closed_after_seconds": (expired_in.as_secs_f64() * 10.0).round() / 10.0,
            "rss_mib": {"peak": mib(peak), "after": mib(after)},
        }));
    }
    let after = |r: usize| rounds[r]["rss_mib"]["after"].as_f64().unwrap_or(0.0);
    reliability::record(
        "server-sessions",
        &json!({
            "size": budget.size,
            "sessions": n,
            "idle_seconds": 2,
            "rss_idle_mib": mib(idle),
            "rounds": rounds,
            "loadavg": kube_mcp_tests::machine::loadavg(),
        }),
    );
    assert!(
        after(1) - after(0) < 8.0,
        "VmRSS grew from {} to {} MiB over a second round of {n} sessions: a per-session leak",
        after(0),
        after(1)
    );
    assert!(
        after(1) - mib(idle) < MAX_KEPT_MIB,
        "VmRSS {} MiB idle, {} MiB after {n} sessions expired",
        mib(idle),
        after(1)
    );
    let client = server.client().await;
    timed_call(&client).await;
}
