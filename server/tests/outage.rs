//! The API server restarted under load, against the real server binary
//! and a control plane of this test's own: during the outage tool calls
//! fail with a tool error naming the API server, `/ready` says 503 within
//! seconds, and afterwards calls succeed and `/ready` says 200, with the
//! same server process throughout.
//!
//! Figures go to `$KUBE_MCP_RELIABILITY_OUT` (scripts/reliability).

use kube_mcp_catalog::tools::ToolId;
use kube_mcp_tests::reliability::{self, cluster};
use kube_mcp_tests::server::ServerProcess;
use serde_json::json;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");

/// One call's outcome during the outage run.
#[derive(Debug, Clone)]
struct Outcome {
    at: Duration,
    error: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_server_restarted_under_load_fails_calls_clearly_then_recovers() {
    let mut cp = cluster::exclusive().await;
    let kubeconfig = cp.kubeconfig_path().display().to_string();
    let server = ServerProcess::start(Path::new(BIN), &[("KUBECONFIG_PATH", &kubeconfig)]).await;
    let pid = server.pid();
    let t0 = Instant::now();
    let stop = tokio_util::sync::CancellationToken::new();
    let calls: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let ready: Arc<Mutex<Vec<(Duration, u16)>>> = Arc::default();
    let mut tasks = vec![];
    for _ in 0..4 {
        let (c, calls, stop) = (server.client().await, calls.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..10_000 {
                if stop.is_cancelled() {
                    break;
                }
                let r = c
                    .try_call(
                        ToolId::KubectlGet.name(),
                        json!({"resourceType": "namespaces"}),
                    )
                    .await;
                let error = match r {
                    Ok(o) if o.is_error => Some(o.text),
                    Ok(_) => None,
                    Err(e) => Some(format!("protocol error: {e}")),
                };
                calls.lock().unwrap().push(Outcome {
                    at: t0.elapsed(),
                    error,
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    {
        let (base, ready, stop) = (server.base.clone(), ready.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for _ in 0..10_000 {
                if stop.is_cancelled() {
                    break;
                }
                let status = match http.get(format!("{base}/ready")).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                ready.lock().unwrap().push((t0.elapsed(), status));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down_at = t0.elapsed();
    let down_for = cp.restart("kube-apiserver").await.unwrap();
    let up_at = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    let calls = calls.lock().unwrap().clone();
    let ready = ready.lock().unwrap().clone();
    let server_url = cp.server_url().to_string();
    drop(cp);

    let during: Vec<&Outcome> = calls
        .iter()
        .filter(|o| o.at > down_at && o.at < up_at)
        .collect();
    let failed: Vec<&str> = during.iter().filter_map(|o| o.error.as_deref()).collect();
    let before_ok = calls
        .iter()
        .filter(|o| o.at < down_at)
        .all(|o| o.error.is_none());
    // After the API server is back (a second for its caches), every call succeeds.
    let late: Vec<&Outcome> = calls
        .iter()
        .filter(|o| o.at > up_at + Duration::from_secs(2))
        .collect();
    let late_errors: Vec<&str> = late.iter().filter_map(|o| o.error.as_deref()).collect();
    let first_503 = ready
        .iter()
        .find(|(at, s)| *at > down_at && *s == 503)
        .map(|(at, _)| *at - down_at);
    let back_200 = ready
        .iter()
        .find(|(at, s)| *at > down_at + first_503.unwrap_or_default() && *s == 200)
        .map(|(at, _)| at.saturating_sub(up_at));
    let first_ok_after = calls
        .iter()
        .find(|o| o.at > down_at && o.at > up_at && o.error.is_none())
        .map(|o| o.at - up_at);
    reliability::record(
        "server-apiserver-restart",
        &json!({
            "down_seconds": down_for.as_secs_f64(),
            "calls": calls.len(),
            "calls_during_outage": during.len(),
            "failed_during_outage": failed.len(),
            "first_error": failed.first(),
            "errors_after_recovery": late_errors.len(),
            "ready_503_after_seconds": first_503.map(|d| d.as_secs_f64()),
            "ready_200_after_up_seconds": back_200.map(|d| d.as_secs_f64()),
            "first_ok_call_after_up_seconds": first_ok_after.map(|d| d.as_secs_f64()),
            "loadavg": kube_mcp_tests::machine::loadavg(),
        }),
    );
    assert!(before_ok, "calls failed before the outage: {calls:?}");
    assert!(
        !failed.is_empty(),
        "no call failed during a {down_for:?} outage: {during:?}"
    );
    for e in &failed {
        assert!(
            e.contains("cannot reach the API server at") && e.contains(&server_url),
            "an outage error that does not say what happened: {e}"
        );
    }
    let first_503 = first_503.expect("/ready never said 503 during the outage");
    assert!(
        first_503 < Duration::from_secs(5),
        "/ready took {first_503:?} to notice"
    );
    assert!(
        back_200.is_some(),
        "/ready did not come back to 200: {ready:?}"
    );
    assert!(
        !late.is_empty() && late_errors.is_empty(),
        "calls still fail after recovery: {late_errors:?}"
    );
    assert_eq!(server.pid(), pid, "the server was restarted");
    let client = server.client().await;
    let out = client
        .call(
            ToolId::KubectlGet.name(),
            json!({"resourceType": "namespaces"}),
        )
        .await;
    assert!(!out.is_error, "{}", out.text);
}
