//! Latency, throughput, memory and start-up of one server (or the floor).

use super::procfs::{self, PeakSampler};
use super::seed::Layout;
use super::stats::{self, round3};
use super::targets::{self, Kind, Programs, Scenario};
use crate::mcp::McpClient as Client;
use anyhow::Result;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Config {
    pub warmup: usize,
    pub calls: usize,
    /// Bound on one scenario's measured calls (fewer calls when reached).
    pub scenario_limit: Duration,
    pub concurrency: Vec<usize>,
    pub throughput_time: Duration,
    pub throughput_max_calls: usize,
    pub startups: usize,
    pub startup_limit: Duration,
    /// The Go peer is measured a second time with calls this far apart.
    pub spaced_gap: Duration,
}

/// The seed's tool that answers without asking the API server.
pub const ROUND_TRIP_TOOL: &str = "ping";

/// How calls are made: over MCP, or directly (the floor).
#[derive(Clone)]
pub enum Driver {
    Mcp {
        url: String,
        tool: &'static str,
        args: Value,
    },
    Floor {
        client: kube::Client,
        scenario: Scenario,
        layout: Arc<Layout>,
    },
}

pub enum Conn {
    Mcp(Client, &'static str, Value),
    Floor(kube::Client, Scenario, Arc<Layout>),
}

/// One call's result.
pub struct Call {
    pub took: Duration,
    pub bytes: usize,
    pub error: Option<String>,
    pub text: String,
}

impl Driver {
    pub async fn connect(&self) -> Result<Conn, String> {
        match self {
            Driver::Mcp { url, tool, args } => Ok(Conn::Mcp(
                Client::connect(url, None).await?,
                tool,
                args.clone(),
            )),
            Driver::Floor {
                client,
                scenario,
                layout,
            } => Ok(Conn::Floor(client.clone(), *scenario, layout.clone())),
        }
    }
}

impl Conn {
    pub async fn call(&self) -> Call {
        let t = Instant::now();
        match self {
            Conn::Mcp(c, tool, args) => match c.try_call(tool, args.clone()).await {
                Ok(o) => Call {
                    took: t.elapsed(),
                    bytes: o.text.len(),
                    error: o.is_error.then(|| head(&o.text)),
                    text: o.text,
                },
                Err(e) => Call {
                    took: t.elapsed(),
                    bytes: 0,
                    error: Some(format!("protocol: {}", head(&e))),
                    text: String::new(),
                },
            },
            Conn::Floor(client, s, l) => match targets::floor(client, *s, l).await {
                Ok(bytes) => Call {
                    took: t.elapsed(),
                    bytes,
                    error: None,
                    text: String::new(),
                },
                Err(e) => Call {
                    took: t.elapsed(),
                    bytes: 0,
                    error: Some(head(&e.to_string())),
                    text: String::new(),
                },
            },
        }
    }

    pub async fn close(self) {
        if let Conn::Mcp(c, _, _) = self {
            c.close().await;
        }
    }
}

fn head(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// Rows of a listing that name a seeded pod.
fn pod_rows(text: &str) -> usize {
    text.lines().filter(|l| l.contains("bench-")).count()
}

/// Warm-ups, then up to `calls` sequential calls, `gap` apart.
pub async fn latency(conn: &Conn, cfg: &Config, gap: Duration) -> Value {
    let start = Instant::now();
    for _ in 0..cfg.warmup {
        if start.elapsed() > cfg.scenario_limit {
            break;
        }
        conn.call().await;
        tokio::time::sleep(gap).await;
    }
    let start = Instant::now();
    let (mut ok, mut bad) = (vec![], vec![]);
    let (mut first_error, mut bytes, mut rows, mut sample) = (None, 0usize, 0usize, String::new());
    for _ in 0..cfg.calls {
        if start.elapsed() > cfg.scenario_limit {
            break;
        }
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
        let c = conn.call().await;
        match c.error {
            None => {
                bytes = c.bytes;
                rows = pod_rows(&c.text);
                if sample.is_empty() {
                    sample = c.text.lines().take(3).collect::<Vec<_>>().join("\n");
                }
                ok.push(c.took);
            }
            Some(e) => {
                first_error.get_or_insert(e);
                bad.push(c.took);
            }
        }
    }
    let n = ok.len() + bad.len();
    json!({
        "calls": n,
        "ok": ok.len(),
        "errors": bad.len(),
        "error_rate": if n == 0 { Value::Null } else { json!(round3(bad.len() as f64 / n as f64)) },
        "first_error": first_error,
        "latency": if ok.is_empty() { Value::Null } else { json!(stats::summarize(&ok)) },
        "error_latency": if bad.is_empty() { Value::Null } else { json!(stats::summarize(&bad)) },
        "bytes": bytes,
        "rows": rows,
        "sample": sample,
        "time_bounded": n < cfg.calls,
        "gap_ms": gap.as_millis() as u64,
    })
}

/// One call, and the CPU this process (the client side) spent on it.
async fn timed(conn: &Conn) -> (Call, Duration) {
    let cpu = procfs::own_cpu();
    let call = conn.call().await;
    (call, procfs::own_cpu().saturating_sub(cpu))
}

/// The floor's call and the server's, alternated (the order flips each
/// round) so that both meet the same machine: on a shared 2-core VM the
/// floor alone moves by 2x between minutes, and a ratio of two runs taken
/// apart measures that drift as much as the server.
///
/// Also where the gap goes, as mean CPU per call: the client's on each side
/// (this process: the MCP client, or the floor's kube::Client) and the
/// server's (`server_pid`, idle while the floor's request runs).
pub async fn paired(floor: &Conn, server: &Conn, cfg: &Config, server_pid: u32) -> Value {
    let start = Instant::now();
    for _ in 0..cfg.warmup {
        floor.call().await;
        server.call().await;
    }
    let (mut fl, mut sv, mut errors) = (vec![], vec![], 0usize);
    let (mut fl_cpu, mut sv_cpu) = (Duration::ZERO, Duration::ZERO);
    let server_cpu0 = procfs::thread_cpu_seconds(server_pid);
    for i in 0..cfg.calls {
        if start.elapsed() > cfg.scenario_limit {
            break;
        }
        let ((a, a_cpu), (b, b_cpu)) = if i % 2 == 0 {
            (timed(floor).await, timed(server).await)
        } else {
            let b = timed(server).await;
            (timed(floor).await, b)
        };
        fl_cpu += a_cpu;
        sv_cpu += b_cpu;
        match (a.error, b.error) {
            (None, None) => {
                fl.push(a.took);
                sv.push(b.took);
            }
            _ => errors += 1,
        }
    }
    let rounds = (fl.len() + errors).max(1) as f64;
    let per_call = |d: Duration| round3(d.as_secs_f64() * 1e3 / rounds);
    let server_cpu = server_cpu0
        .zip(procfs::thread_cpu_seconds(server_pid))
        .map(|(a, b)| round3((b - a) * 1e3 / rounds));
    let (f, s) = (stats::summarize(&fl), stats::summarize(&sv));
    json!({
        "pairs": fl.len(),
        "errors": errors,
        "ratio_p50": (f.p50_ms > 0.0).then(|| round3(s.p50_ms / f.p50_ms)),
        "floor": f,
        "server": s,
        "cpu_ms_per_call": {
            "floor_client": per_call(fl_cpu),
            "mcp_client": per_call(sv_cpu),
            "server": server_cpu,
        },
    })
}

/// `c` clients (each its own session) calling in a loop for a bounded time.
/// `server` is the process whose CPU per call is reported apart (none for
/// the floor, or a server that works through child processes).
pub async fn throughput(driver: &Driver, c: usize, cfg: &Config, server: Option<u32>) -> Value {
    let conns = match warm(driver, c).await {
        Ok(conns) => conns,
        Err(e) => return json!({"concurrency": c, "skipped": format!("connect failed: {e}")}),
    };
    let cpu = procfs::CpuMark::now(server);
    let start = Instant::now();
    let (ok, errors) = call_loop(
        &conns,
        start + cfg.throughput_time,
        cfg.throughput_max_calls,
    )
    .await;
    let secs = start.elapsed().as_secs_f64();
    let cpu_ms_per_call = cpu.per_call(ok.len());
    close(conns).await;
    json!({
        "concurrency": c,
        "cpu_ms_per_call": cpu_ms_per_call,
        "ok": ok.len(),
        "errors": errors,
        "seconds": round3(secs),
        "calls_per_s": round3(ok.len() as f64 / secs),
        "latency": stats::summarize(&ok),
    })
}

/// Every connection calling in a loop until `until`, or until `max` calls
/// were issued over all of them: the latency of each call that succeeded,
/// and how many failed.
async fn call_loop(conns: &[Arc<Conn>], until: Instant, max: usize) -> (Vec<Duration>, usize) {
    let issued = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = conns
        .iter()
        .cloned()
        .map(|conn| {
            let issued = issued.clone();
            tokio::spawn(async move {
                let (mut ok, mut errors) = (vec![], 0usize);
                while Instant::now() < until && issued.fetch_add(1, Ordering::Relaxed) < max {
                    let call = conn.call().await;
                    match call.error {
                        None => ok.push(call.took),
                        Some(_) => errors += 1,
                    }
                }
                (ok, errors)
            })
        })
        .collect();
    let (mut ok, mut errors) = (vec![], 0);
    for task in tasks {
        if let Ok((o, e)) = task.await {
            ok.extend(o);
            errors += e;
        }
    }
    (ok, errors)
}

/// Ends the sessions of connections no task holds any more.
async fn close(conns: Vec<Arc<Conn>>) {
    for conn in conns.into_iter().filter_map(|c| Arc::try_unwrap(c).ok()) {
        conn.close().await;
    }
}

/// The calls and CPU of one side of [`paired_throughput`].
#[derive(Default)]
struct Side {
    ok: usize,
    errors: usize,
    secs: f64,
    machine: f64,
    client: f64,
    server: f64,
}

impl Side {
    fn json(&self, with_server: bool) -> Value {
        let per_call = |s: f64| round3(s * 1e3 / self.ok.max(1) as f64);
        let server = if with_server { self.server } else { 0.0 };
        json!({
            "ok": self.ok,
            "errors": self.errors,
            "seconds": round3(self.secs),
            "calls_per_s": round3(self.ok as f64 / self.secs.max(1e-9)),
            "cpu_ms_per_call": {
                "machine": per_call(self.machine),
                "client": per_call(self.client),
                "server": with_server.then(|| per_call(self.server)),
                "rest": per_call(self.machine - self.client - server),
            },
        })
    }
}

/// `c` connections of `driver`, each warmed by one untimed call (sessions
/// and connections open), shared so that the calling tasks can hold them.
async fn warm(driver: &Driver, c: usize) -> Result<Vec<Arc<Conn>>, String> {
    let mut conns = vec![];
    for _ in 0..c {
        conns.push(Arc::new(driver.connect().await?));
    }
    for conn in &conns {
        conn.call().await;
    }
    Ok(conns)
}

/// Every connection calling in a loop until `until`, into `side`.
async fn window(conns: &[Arc<Conn>], until: Instant, side: &mut Side, server_pid: u32) {
    let (t, machine, client, server) = (
        Instant::now(),
        procfs::machine_busy_seconds(),
        procfs::own_cpu(),
        procfs::thread_cpu_seconds(server_pid),
    );
    let (ok, errors) = call_loop(conns, until, usize::MAX).await;
    side.ok += ok.len();
    side.errors += errors;
    side.secs += t.elapsed().as_secs_f64();
    let d = |a: Option<f64>, b: Option<f64>| a.zip(b).map_or(0.0, |(a, b)| b - a);
    side.machine += d(machine, procfs::machine_busy_seconds());
    side.client += (procfs::own_cpu() - client).as_secs_f64();
    side.server += d(server, procfs::thread_cpu_seconds(server_pid));
}

/// Throughput of the floor and the server with `c` clients each, in
/// windows that alternate (the order flips each round) over
/// `cfg.throughput_time` each: the floor's rate on this VM moves by 1.6x
/// between runs minutes apart, so rates measured apart carry that drift.
pub async fn paired_throughput(
    floor: &Driver,
    server: &Driver,
    c: usize,
    cfg: &Config,
    server_pid: u32,
) -> Value {
    let (fl, sv) = match (warm(floor, c).await, warm(server, c).await) {
        (Ok(fl), Ok(sv)) => (fl, sv),
        (Err(e), _) | (_, Err(e)) => return json!({"skipped": format!("connect failed: {e}")}),
    };
    let win = Duration::from_secs(2);
    let rounds = (cfg.throughput_time.as_secs_f64() / win.as_secs_f64())
        .ceil()
        .max(1.0) as usize;
    let (mut f, mut s) = (Side::default(), Side::default());
    for i in 0..rounds {
        if i % 2 == 0 {
            window(&fl, Instant::now() + win, &mut f, server_pid).await;
            window(&sv, Instant::now() + win, &mut s, server_pid).await;
        } else {
            window(&sv, Instant::now() + win, &mut s, server_pid).await;
            window(&fl, Instant::now() + win, &mut f, server_pid).await;
        }
    }
    close(sv).await;
    let (fr, sr) = (
        f.ok as f64 / f.secs.max(1e-9),
        s.ok as f64 / s.secs.max(1e-9),
    );
    json!({
        "concurrency": c,
        "rounds": rounds,
        "window_seconds": win.as_secs(),
        "ratio": (fr > 0.0).then(|| round3(sr / fr)),
        "floor": f.json(false),
        "server": s.json(true),
    })
}

/// Everything measured for one server: start-up (median of several),
/// idle and peak memory, each scenario's latency, throughput.
/// `floor`: also measure each scenario paired with the floor's requests.
pub async fn server(
    kind: Kind,
    programs: &Programs,
    layout: &Arc<Layout>,
    cfg: &Config,
    floor: Option<&kube::Client>,
) -> Value {
    match server_inner(kind, programs, layout, cfg, floor).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("[bench] {}: not measured: {e:#}", kind.title());
            json!({"skipped": format!("{e:#}")})
        }
    }
}

async fn server_inner(
    kind: Kind,
    programs: &Programs,
    layout: &Arc<Layout>,
    cfg: &Config,
    floor: Option<&kube::Client>,
) -> Result<Value> {
    let mut startups = vec![];
    let mut kept = None;
    for i in 0..cfg.startups.max(1) {
        let (r, took, tools) = targets::start(kind, programs, cfg.startup_limit).await?;
        startups.push(took);
        eprintln!(
            "[bench] {}: tools/list answered {:.0} ms after spawn ({} tools)",
            kind.title(),
            took.as_secs_f64() * 1e3,
            tools.len()
        );
        if i + 1 == cfg.startups.max(1) {
            kept = Some((r, tools));
        } else {
            r.stop().await;
        }
    }
    let (running, tools) = kept.expect("at least one start");
    let names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = procfs::tree_rss(running.pid, running.tree);
    let sampler = PeakSampler::start(
        running.pid,
        running.tree,
        Duration::from_millis(if running.tree { 50 } else { 20 }),
    );

    let mut scenarios = serde_json::Map::new();
    for s in Scenario::ALL {
        let key = s.key(layout);
        let entry = match s.call(kind, layout) {
            Err(reason) => json!({"skipped": reason}),
            Ok((tool, _)) if !names.iter().any(|n| n == tool) => {
                json!({"skipped": format!("the server offers no {tool} tool")})
            }
            Ok((tool, args)) => {
                let driver = Driver::Mcp {
                    url: running.url.clone(),
                    tool,
                    args: args.clone(),
                };
                match driver.connect().await {
                    Err(e) => json!({"skipped": format!("connect failed: {e}")}),
                    Ok(conn) => {
                        let mut v = latency(&conn, cfg, Duration::ZERO).await;
                        if kind == Kind::GoPeer && !cfg.spaced_gap.is_zero() {
                            // Also with calls spaced out, so that a client-side
                            // rate limit does not stand in for per-call latency.
                            v["spaced"] = latency(&conn, cfg, cfg.spaced_gap).await;
                        }
                        if let Some(client) = floor {
                            let fl = Conn::Floor(client.clone(), s, layout.clone());
                            v["paired"] = paired(&fl, &conn, cfg, running.pid).await;
                            eprintln!(
                                "[bench] {} {key} paired with the floor: {} vs {} ms p50 = {}x",
                                kind.title(),
                                v["paired"]["server"]["p50_ms"],
                                v["paired"]["floor"]["p50_ms"],
                                v["paired"]["ratio_p50"]
                            );
                        }
                        conn.close().await;
                        v["tool"] = json!(tool);
                        v["args"] = args;
                        v
                    }
                }
            }
        };
        eprintln!("[bench] {} {key}: {}", kind.title(), brief(&entry));
        scenarios.insert(key, entry);
    }

    // The transport alone: a call that makes no API request.
    let round_trip = if names.iter().any(|n| n == ROUND_TRIP_TOOL) {
        let driver = Driver::Mcp {
            url: running.url.clone(),
            tool: ROUND_TRIP_TOOL,
            args: json!({}),
        };
        match driver.connect().await {
            Err(e) => json!({"skipped": format!("connect failed: {e}")}),
            Ok(conn) => {
                let mut v = latency(&conn, cfg, Duration::ZERO).await;
                conn.close().await;
                // Its CPU per call under the busiest load, against which the
                // throughput goal is judged: what any MCP server adds to the
                // floor's work before it does any of its own.
                if let (Some(_), Some(&c)) = (floor, cfg.concurrency.iter().max()) {
                    v["throughput"] = throughput(&driver, c, cfg, Some(running.pid)).await;
                }
                v
            }
        }
    } else {
        json!({"skipped": format!("the server offers no {ROUND_TRIP_TOOL} tool")})
    };
    eprintln!(
        "[bench] {} MCP round trip: {}",
        kind.title(),
        brief(&round_trip)
    );

    let mut tput = serde_json::Map::new();
    match Scenario::GetPodsSmall.call(kind, layout) {
        Ok((tool, args)) if names.iter().any(|n| n == tool) => {
            let driver = Driver::Mcp {
                url: running.url.clone(),
                tool,
                args,
            };
            let top = cfg.concurrency.iter().max().copied();
            for &c in &cfg.concurrency {
                let pid = (!running.tree).then_some(running.pid);
                let mut v = throughput(&driver, c, cfg, pid).await;
                eprintln!(
                    "[bench] {} throughput x{c}: {} calls/s",
                    kind.title(),
                    v["calls_per_s"]
                );
                if let Some(client) = floor.filter(|_| Some(c) == top) {
                    let fl = Driver::Floor {
                        client: client.clone(),
                        scenario: Scenario::GetPodsSmall,
                        layout: layout.clone(),
                    };
                    v["paired"] = paired_throughput(&fl, &driver, c, cfg, running.pid).await;
                    eprintln!(
                        "[bench] {} throughput x{c} alternated with the floor: {} vs {} calls/s = {}x",
                        kind.title(),
                        v["paired"]["server"]["calls_per_s"],
                        v["paired"]["floor"]["calls_per_s"],
                        v["paired"]["ratio"]
                    );
                }
                tput.insert(c.to_string(), v);
            }
        }
        _ => {}
    }
    let rss_peak = sampler.finish();
    let hwm = procfs::status_kb(running.pid, "VmHWM").unwrap_or(0);
    let rss_end = procfs::tree_rss(running.pid, running.tree);
    let log_tail = running.log_tail(5);
    running.stop().await;
    let mut ms: Vec<f64> = startups
        .iter()
        .map(|d| round3(d.as_secs_f64() * 1e3))
        .collect();
    let all = ms.clone();
    ms.sort_by(f64::total_cmp);
    Ok(json!({
        "tools": names.len(),
        "startup_ms": all,
        "startup_median_ms": ms[ms.len() / 2],
        "rss_idle_bytes": rss_idle,
        "rss_peak_bytes": rss_peak,
        "rss_end_bytes": rss_end,
        "vm_hwm_main_bytes": hwm,
        "memory_includes_children": kind == Kind::Seed,
        "scenarios": scenarios,
        "round_trip": round_trip,
        "throughput": tput,
        "log_tail": log_tail,
    }))
}

/// The floor: each scenario's API requests made directly.
pub async fn floor(client: kube::Client, layout: &Arc<Layout>, cfg: &Config) -> Value {
    let mut scenarios = serde_json::Map::new();
    for s in Scenario::ALL {
        let driver = Driver::Floor {
            client: client.clone(),
            scenario: s,
            layout: layout.clone(),
        };
        let conn = driver.connect().await.expect("floor connects");
        let v = latency(&conn, cfg, Duration::ZERO).await;
        eprintln!("[bench] floor {}: {}", s.key(layout), brief(&v));
        scenarios.insert(s.key(layout), v);
    }
    let mut tput = serde_json::Map::new();
    let driver = Driver::Floor {
        client,
        scenario: Scenario::GetPodsSmall,
        layout: layout.clone(),
    };
    for &c in &cfg.concurrency {
        let v = throughput(&driver, c, cfg, None).await;
        eprintln!(
            "[bench] floor throughput x{c}: {} calls/s",
            v["calls_per_s"]
        );
        tput.insert(c.to_string(), v);
    }
    json!({"scenarios": scenarios, "throughput": tput})
}

fn brief(v: &Value) -> String {
    if let Some(s) = v.get("skipped") {
        return format!("skipped: {s}");
    }
    format!(
        "p50 {} ms, p99 {} ms, {} ok / {} errors, {} bytes{}",
        v["latency"]["p50_ms"],
        v["latency"]["p99_ms"],
        v["ok"],
        v["errors"],
        v["bytes"],
        v["first_error"]
            .as_str()
            .map(|e| format!(" (first error: {e})"))
            .unwrap_or_default()
    )
}
