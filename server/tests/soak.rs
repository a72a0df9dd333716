//! The server under load: many real MCP clients (rmcp, streamable HTTP)
//! calling a mixed workload for a bounded window against the real server
//! binary, while its memory is sampled. Nothing may fail, and memory must
//! stay flat: no growth per call.
//!
//! Sizes: `KUBE_MCP_RELIABILITY=ci` (default: 60 s) or `long` (10 min);
//! figures go to `$KUBE_MCP_RELIABILITY_OUT` (scripts/reliability).

use kube_mcp_catalog::tools::ToolId;
use kube_mcp_tests::mcp::McpClient;
use kube_mcp_tests::reliability::{self, Budget, stats};
use kube_mcp_tests::server::ServerProcess;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");
/// Samples before this are warm-up (connections, caches, allocator arenas).
const WARM_UP: Duration = Duration::from_secs(10);
/// Growth of VmRSS after warm-up that fails the run. A leak of 1 KiB per
/// call over a 60 s run on this machine (thousands of calls) exceeds it;
/// allocator noise stays well below.
const MAX_GROWTH_MIB: f64 = 32.0;

/// One call's outcome.
struct Sample {
    tool: ToolId,
    millis: f64,
    error: Option<String>,
}

/// The workload, in turn: get, describe, logs, and apply as a dry run.
fn workload(ns: &str, client: usize) -> [(ToolId, Value); 4] {
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: soak-{client}\n  namespace: {ns}\ndata:\n  k: v\n"
    );
    [
        (
            ToolId::KubectlGet,
            json!({"resourceType": "pods", "namespace": ns}),
        ),
        (
            ToolId::KubectlDescribe,
            json!({"resourceType": "pod", "name": "soak", "namespace": ns}),
        ),
        (
            ToolId::KubectlLogs,
            json!({"resourceType": "pod", "name": "soak", "namespace": ns, "tail": 5}),
        ),
        (
            ToolId::KubectlApply,
            json!({"manifest": manifest, "dryRun": true}),
        ),
    ]
}

async fn run_client(c: McpClient, ns: String, id: usize, until: Instant) -> Vec<Sample> {
    let calls = workload(&ns, id);
    let mut out = vec![];
    // Bounded by time, and by count in case the clock misbehaves.
    for n in 0..1_000_000usize {
        if Instant::now() >= until {
            break;
        }
        let (tool, args) = &calls[(n + id) % calls.len()];
        let start = Instant::now();
        let error = match c.try_call(tool.name(), args.clone()).await {
            Ok(o) if o.is_error => Some(o.text),
            Ok(_) => None,
            Err(e) => Some(e),
        };
        out.push(Sample {
            tool: *tool,
            millis: start.elapsed().as_secs_f64() * 1e3,
            error,
        });
    }
    c.close().await;
    out
}

fn latency(samples: &[&Sample]) -> Value {
    let mut ms: Vec<f64> = samples.iter().map(|s| s.millis).collect();
    ms.sort_by(f64::total_cmp);
    let q = |q| stats::quantile(&ms, q).map(|x| (x * 100.0).round() / 100.0);
    json!({"p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": q(1.0)})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_load_holds_without_errors_or_memory_growth() {
    let budget = Budget::from_env();
    let ns = kube_mcp_tests::test_namespace("soak").await;
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "soak"},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
    }))
    .unwrap();
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(ns.client.clone(), &ns.name);
    pods.create(&Default::default(), &pod).await.unwrap();
    kube_mcp_tests::fixture::until("the soak pod running", Duration::from_secs(90), || async {
        let p = pods.get("soak").await.ok()?;
        (p.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;

    let server = ServerProcess::start(Path::new(BIN), &[]).await;
    let pid = server.pid().unwrap();
    let mut clients = vec![];
    for _ in 0..budget.clients {
        clients.push(server.client().await);
    }
    let window = Duration::from_secs(budget.load_seconds);
    let started = Instant::now();
    let until = started + window;

    let rss: Arc<Mutex<Vec<(f64, f64)>>> = Arc::default();
    let sampler = {
        let rss = rss.clone();
        tokio::spawn(async move {
            while Instant::now() < until {
                if let Some(kib) = stats::rss_kib(pid) {
                    let t = started.elapsed().as_secs_f64();
                    rss.lock().unwrap().push((t, kib as f64 / 1024.0));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(run_client(c, ns.name.clone(), i, until)))
        .collect();
    let mut samples = vec![];
    for t in tasks {
        samples.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    sampler.await.unwrap();

    let all: Vec<&Sample> = samples.iter().collect();
    let errors: Vec<&str> = samples.iter().filter_map(|s| s.error.as_deref()).collect();
    let mut by_tool = serde_json::Map::new();
    for (tool, _) in workload("", 0) {
        let of: Vec<&Sample> = samples.iter().filter(|s| s.tool == tool).collect();
        let mut v = latency(&of);
        v["calls"] = json!(of.len());
        v["errors"] = json!(of.iter().filter(|s| s.error.is_some()).count());
        by_tool.insert(tool.name().into(), v);
    }
    let rss = rss.lock().unwrap().clone();
    let steady: Vec<(f64, f64)> = rss
        .iter()
        .copied()
        .filter(|(t, _)| *t >= WARM_UP.as_secs_f64())
        .collect();
    let calls_per_second = samples.len() as f64 / elapsed;
    // MiB per second -> KiB per minute, and bytes per call at the rate seen.
    let slope = stats::line(&steady).map(|(s, _)| s);
    let growth = match (steady.first(), steady.last()) {
        (Some(a), Some(b)) => b.1 - a.1,
        _ => 0.0,
    };
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let figures = json!({
        "size": budget.size,
        "clients": budget.clients,
        "seconds": budget.load_seconds,
        "calls": samples.len(),
        "calls_per_second": round(calls_per_second),
        "errors": errors.len(),
        "first_error": errors.first(),
        "latency": latency(&all),
        "by_tool": by_tool,
        "rss": {
            "samples": rss.len(),
            "start_mib": steady.first().map(|s| round(s.1)),
            "end_mib": steady.last().map(|s| round(s.1)),
            "max_mib": rss.iter().map(|s| s.1).reduce(f64::max).map(round),
            "slope_kib_per_min": slope.map(|s| round(s * 1024.0 * 60.0)),
            "slope_bytes_per_call": slope.map(|s| round(s * 1024.0 * 1024.0 / calls_per_second.max(1.0))),
        },
        "loadavg": kube_mcp_tests::machine::loadavg(),
    });
    reliability::record("server-load", &figures);

    assert!(
        errors.is_empty(),
        "{} of {} calls failed; first: {}",
        errors.len(),
        samples.len(),
        errors[0]
    );
    assert!(
        samples.len() > budget.clients,
        "hardly any call went through"
    );
    assert!(
        growth < MAX_GROWTH_MIB,
        "VmRSS grew {growth:.1} MiB after warm-up over {} calls: {rss:?}",
        samples.len()
    );
    server.terminate().await;
    ns.delete().await;
}
