//! docs/benchmarks.md from the run's JSON (docs/benchmarks.json).

use serde_json::Value;
use std::fmt::Write as _;

const SERVERS: [(&str, &str); 3] = [
    ("kube-mcp", "kube-mcp"),
    ("go-peer", "Go peer"),
    ("seed", "seed"),
];

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

pub(crate) fn ms(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

pub(crate) fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

pub(crate) fn x(r: Option<f64>) -> String {
    match r {
        None => "–".into(),
        Some(r) if r >= 10.0 => format!("{r:.0}x"),
        Some(r) if r >= 0.1 => format!("{r:.2}x"),
        Some(r) => format!("{r:.3}x"),
    }
}

/// A rate with one decimal, or – when not measured.
fn per_s(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

/// Target `t`'s calls per second with `clients` clients.
fn calls_per_s(r: &Value, t: &str, clients: &str) -> Option<f64> {
    f(&r["targets"][t]["throughput"][clients]["calls_per_s"])
}

/// The highest throughput concurrency measured, as its JSON key.
fn top_concurrency(r: &Value) -> Option<String> {
    r["config"]["concurrency"]
        .as_array()
        .and_then(|a| a.last())
        .map(Value::to_string)
}

/// Where one throughput call's CPU went, in milliseconds.
struct CallCpu {
    machine: f64,
    client: f64,
    server: Option<f64>,
    rest: f64,
}

fn cpu_per_call(r: &Value, t: &str, clients: &str) -> Option<CallCpu> {
    let v = &r["targets"][t]["throughput"][clients]["cpu_ms_per_call"];
    Some(CallCpu {
        machine: f(&v["machine"])?,
        client: f(&v["client"])?,
        server: f(&v["server"]),
        rest: f(&v["rest"])?,
    })
}

/// The CPU each throughput call cost, split by process, at the highest
/// concurrency: on 2 cores the API server's share bounds every server.
fn cpu_split(o: &mut String, r: &Value) {
    let Some(c) = top_concurrency(r) else {
        return;
    };
    let rows: Vec<(&str, CallCpu)> = [("floor", "floor"), ("kube-mcp", "kube-mcp")]
        .into_iter()
        .chain(SERVERS.into_iter().skip(1))
        .filter_map(|(t, title)| Some((title, cpu_per_call(r, t, &c)?)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let n = r["machine"]["nproc"].as_u64().unwrap_or(1);
    let _ = writeln!(
        o,
        "\nCPU per call at {c} clients (ms; /proc: the machine's busy time, the driver process, \
         the server's main process; the rest is the API server, etcd and kwok, and the seed's \
         kubectl children). On {n} cores no target can serve more than {n} x 1000 / its machine \
         ms per call, calls/s.\n"
    );
    let _ = writeln!(
        o,
        "| target | machine | API server, etcd, kwok | server | client (driver) |\n|---|---|---|---|---|"
    );
    for (title, cpu) in rows {
        let _ = writeln!(
            o,
            "| {title} | {:.2} | {:.2} | {} | {:.2} |",
            cpu.machine,
            cpu.rest,
            cpu.server.map_or("–".into(), |s| format!("{s:.2}")),
            cpu.client
        );
    }
}

pub(crate) fn mib(v: &Value) -> String {
    v.as_f64()
        .map(|b| format!("{:.1}", b / 1048576.0))
        .unwrap_or_else(|| "–".into())
}

fn lat<'a>(r: &'a Value, target: &str, scenario: &str) -> &'a Value {
    match target {
        "go-peer-spaced" => &r["targets"]["go-peer"]["scenarios"][scenario]["spaced"],
        t => &r["targets"][t]["scenarios"][scenario],
    }
}

pub(crate) fn p(r: &Value, target: &str, scenario: &str, q: &str) -> Option<f64> {
    f(&lat(r, target, scenario)["latency"][q])
}

/// Why a cell is empty: skipped, not measured, or errors only.
fn why(r: &Value, target: &str, scenario: &str) -> Option<String> {
    let t = &r["targets"][target];
    if let Some(s) = t["skipped"].as_str() {
        return Some(format!("{target} not measured: {s}"));
    }
    let s = lat(r, target, scenario);
    if let Some(reason) = s["skipped"].as_str() {
        return Some(format!("{target}, {scenario}: skipped: {reason}"));
    }
    if s["ok"].as_u64() == Some(0) {
        return Some(format!(
            "{target}, {scenario}: every call failed ({} of {}); first error: {}",
            s["errors"],
            s["calls"],
            s["first_error"].as_str().unwrap_or("?")
        ));
    }
    None
}

pub fn markdown(r: &Value) -> String {
    let mut o = String::new();
    let scenarios: Vec<(String, String)> = r["scenarios"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["key"].as_str().unwrap_or("").to_string(),
                        s["title"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let _ = writeln!(o, "# Benchmarks\n");
    let _ = writeln!(
        o,
        "Generated by `scripts/bench` (the `kube-mcp-bench` driver in `tests/`) on {}. \
         Every number below comes from that run; the raw data is in \
         [benchmarks.json](benchmarks.json). Re-run `scripts/bench` to regenerate both files.\n",
        r["generated_at"].as_str().unwrap_or("?")
    );
    if let Some(note) = r["note"].as_str().filter(|n| !n.is_empty()) {
        let _ = writeln!(o, "> **Conditions:** {note}\n");
    }
    let m = &r["machine"];
    let v = &r["versions"];
    let _ = writeln!(o, "## Machine and versions\n");
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(
        o,
        "| CPU | {} ({} cores online) |",
        m["cpu_model"].as_str().unwrap_or("?"),
        m["nproc"]
    );
    let _ = writeln!(o, "| memory | {} MiB |", m["mem_total_mib"]);
    let _ = writeln!(
        o,
        "| load average at start / end | {} / {} |",
        m["loadavg_start"].as_str().unwrap_or("?"),
        m["loadavg_end"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        o,
        "| Kubernetes (local control plane, kwok nodes) | {} ({} fake nodes) |",
        v["kubernetes"].as_str().unwrap_or("?"),
        r["config"]["nodes"]
    );
    let _ = writeln!(
        o,
        "| kube-mcp-server, kube-mcp-operator | {} ({}, commit {}{}) |",
        v["kube_mcp"].as_str().unwrap_or("?"),
        v["kube_mcp_build"].as_str().unwrap_or("?"),
        v["git_commit"].as_str().unwrap_or("?"),
        match v["git_uncommitted_in_measured_crates"].as_u64() {
            Some(0) | None => String::new(),
            Some(n) => format!(
                " plus {n} uncommitted changed files in server/ and operator/ of the working tree"
            ),
        }
    );
    let _ = writeln!(
        o,
        "| seed: mcp-server-kubernetes (npm) | {} on node {}, kubectl {} |",
        v["seed"].as_str().unwrap_or("not installed"),
        v["node"].as_str().unwrap_or("?"),
        v["kubectl"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        o,
        "| Go peer: kubernetes-mcp-server (npm, prebuilt binary) | {} |",
        v["go_peer"].as_str().unwrap_or("not installed")
    );
    let c = &r["config"];
    let _ = writeln!(
        o,
        "\nMethod: every server runs as a local process over streamable HTTP on 127.0.0.1 and is driven by the \
         same MCP client (rmcp). Per scenario: {} warm-up calls, then {} sequential calls on one session \
         (bounded to {} s). The floor makes the same API requests directly with a kube::Client \
         (`request_text`, same URLs and Accept headers: a Table list of cells only (`includeObject=None`) in pages of 500 for get pods; the object \
         plus its Events for describe; the log subresource for logs). Throughput: N clients, each with its own \
         session, calling get pods ({} pods) in a loop for {} s. Memory: VmRSS from /proc (the seed: node plus its \
         kubectl children), idle = 2 s after the first answered tools/list, peak = highest sample (every 20 ms; 50 ms for the seed's process tree) during \
         the measurements. Start-up: spawn to the first answered tools/list (median of {}).\n",
        c["warmup"],
        c["calls"],
        c["scenario_limit_s"],
        r["layout"]["small_pods"],
        c["throughput_s"],
        c["startups"]
    );

    // What each server is asked.
    let _ = writeln!(
        o,
        "| scenario | kube-mcp-server and seed | Go peer |\n|---|---|---|"
    );
    for (key, title) in &scenarios {
        let call = |t: &str| {
            let s = lat(r, t, key);
            match (s["tool"].as_str(), s["skipped"].as_str()) {
                (Some(tool), _) => format!("`{tool}` `{}`", s["args"]),
                (None, Some(why)) => format!("not measured: {why}"),
                _ => "–".to_string(),
            }
        };
        let _ = writeln!(
            o,
            "| {title} | {} | {} |",
            call("kube-mcp"),
            call("go-peer")
        );
    }
    let _ = writeln!(o);

    // Goals.
    let _ = writeln!(o, "## Goals\n");
    let _ = writeln!(o, "| goal | measured | met |\n|---|---|---|");
    let small = scenarios.first().map(|s| s.0.clone()).unwrap_or_default();
    for (key, _) in &scenarios {
        let k = p(r, "kube-mcp", key, "p50_ms");
        let g = p(r, "go-peer", key, "p50_ms");
        let s = p(r, "seed", key, "p50_ms");
        // The bar: a long list must cost little beyond the API server's own work.
        let bound = if key.starts_with("get_pods_") && *key != small {
            1.3
        } else {
            1.5
        };
        let _ = writeln!(
            o,
            "| {key}: p50 within {bound}x of the floor | {} |",
            floor_goal(r, key, bound)
        );
        if g.is_some() {
            let _ = writeln!(
                o,
                "| {key}: ahead of the Go peer (p50, back-to-back calls) | {} ms vs {} ms = {} | {} |",
                ms(k),
                ms(g),
                x(ratio(k, g)),
                met(ratio(k, g).map(|r| r < 1.0))
            );
        }
        let gs = p(r, "go-peer-spaced", key, "p50_ms");
        if gs.is_some() {
            let _ = writeln!(
                o,
                "| {key}: ahead of the Go peer (p50, its calls {} ms apart) | {} ms vs {} ms = {} | {} |",
                r["config"]["go_spaced_ms"],
                ms(k),
                ms(gs),
                x(ratio(k, gs)),
                met(ratio(k, gs).map(|r| r < 1.0))
            );
        }
        let rs = ratio(s, k);
        let _ = writeln!(
            o,
            "| {key}: >= 10x faster than the seed (p50) | {} ms vs {} ms: {} faster | {} |",
            ms(k),
            ms(s),
            x(rs),
            met(rs.map(|r| r >= 10.0))
        );
    }
    let idle = f(&r["targets"]["kube-mcp"]["rss_idle_bytes"]);
    let _ = writeln!(
        o,
        "| idle RSS < 20 MiB | {} MiB | {} |",
        mib(&r["targets"]["kube-mcp"]["rss_idle_bytes"]),
        met(idle.map(|b| b < 20.0 * 1048576.0))
    );
    if let Some(c) = top_concurrency(r) {
        let _ = writeln!(
            o,
            "| throughput at {c} clients >= 0.8x the floor | {} |",
            throughput_goal(r, "kube-mcp", &c)
        );
        let stateless = super::variants::Variant::Stateless;
        if r["targets"][stateless.key()]["throughput"][&c]["paired"].is_object() {
            let _ = writeln!(
                o,
                "| throughput at {c} clients >= 0.8x the floor, {} | {} |",
                stateless.title(),
                throughput_goal(r, stateless.key(), &c)
            );
        }
    }
    let op = &r["operator"];
    if op["not_run"].is_string() {
        let _ = writeln!(o, "| 1,000 endpoints converge in < 2 min | not run | – |");
        let _ = writeln!(o, "| 0 steady-state writes | not run | – |");
    } else {
        let conv = f(&op["converge_seconds"]);
        let granted = f(&op["granted_seconds"]);
        let cpu = &op["cpu_during_convergence"];
        let _ = writeln!(
            o,
            "| {} endpoints converge in < 2 min | {}{} | {} |",
            op["endpoints"],
            conv.map(|s| format!("{s:.1} s")).unwrap_or_else(|| format!(
                "not converged: {} of {} Ready after {} s",
                op["ready_at_end"], op["endpoints"], op["converge_limit_seconds"]
            )),
            ready_why(conv, granted, cpu)
                + &kcm_why(conv, &op["controller_manager_client"], &op["endpoints"])
                + &ready_floor(&op["write_floor"], 120.0, conv)
                    .filter(|_| conv.is_none_or(|s| s >= 120.0))
                    .map(|w| format!("; the control plane's floor: {w}"))
                    .unwrap_or_default(),
            met(Some(conv.is_some_and(|s| s < 120.0)))
        );
        // A missed bound with the machine busy: whose CPU it was, while
        // granting when measured, else until all were Ready.
        let why = match (
            granting_cpu(&op["cpu_until_granted"]),
            f(&cpu["machine_busy_seconds"]),
            f(&cpu["cores"]).zip(f(&cpu["wall_seconds"])),
            f(&cpu["operator_seconds"]),
        ) {
            _ if granted.is_some_and(|s| s < 60.0) => String::new(),
            (Some(split), ..) => format!("; until all were granted {split}"),
            (None, Some(busy), Some((c, w)), Some(own)) => format!(
                "; until all were Ready the machine was busy {busy:.0} of {:.0} CPU-s, \
                 the operator's share {own:.1} s (the rest: API server, etcd, kwok)",
                c * w
            ),
            _ => String::new(),
        };
        let why = why
            + &write_floor(&op["write_floor"], 60.0, granted)
                .map(|w| format!("; the operator's floor: {w}"))
                .unwrap_or_default();
        let _ = writeln!(
            o,
            "| {} endpoints: the operator's own work (all RbacReady) in < 60 s | {}{why} | {} |",
            op["endpoints"],
            granted
                .map(|s| format!("{s:.1} s"))
                .unwrap_or_else(|| format!(
                    "not within {} s: {} of {} granted",
                    op["converge_limit_seconds"], op["granted_at_end"], op["endpoints"]
                )),
            met(Some(granted.is_some_and(|s| s < 60.0)))
        );
        let api = &op["apiserver_during_convergence"];
        let bad = f(&api["errors_5xx"])
            .zip(f(&api["throttled_429"]))
            .map(|(a, b)| a + b);
        let _ = writeln!(
            o,
            "| 0 API answers 5xx or 429 while converging | {} 5xx, {} 429 of {} requests | {} |",
            api["errors_5xx"],
            api["throttled_429"],
            api["requests"],
            met(bad.map(|b| b == 0.0))
        );
        let hwm = f(&op["vm_hwm_bytes"]);
        let _ = writeln!(
            o,
            "| operator RSS <= 64 MiB at {} endpoints (VmHWM) | {} MiB | {} |",
            op["endpoints"],
            mib(&op["vm_hwm_bytes"]),
            met(hwm.map(|b| b <= 64.0 * 1048576.0))
        );
        let w = f(&op["steady"]["operator_kind_writes"]);
        let settled = op["converged"] == Value::Bool(true);
        let _ = writeln!(
            o,
            "| 0 steady-state writes ({} s window) | {} write requests to the operator's kinds{} | {} |",
            op["steady"]["window_seconds"],
            w.map(|w| format!("{w:.0}")).unwrap_or_else(|| "?".into()),
            if settled {
                ""
            } else {
                " (but the window began before every endpoint was Ready: not a steady state)"
            },
            if settled {
                met(w.map(|w| w == 0.0))
            } else {
                "–"
            }
        );
    }

    // Latency.
    let _ = writeln!(o, "\n## Tool-call latency (ms)\n");
    let _ = writeln!(
        o,
        "| scenario | floor p50 / p99 | kube-mcp p50 / p99 | Go peer p50 / p99 | Go peer, calls {} ms apart | seed p50 / p99 | kube-mcp vs floor | vs floor, calls alternated | vs Go peer | vs Go peer (spaced) | vs seed |",
        r["config"]["go_spaced_ms"]
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (key, title) in &scenarios {
        let cell = |t: &str| {
            let (a, b) = (p(r, t, key, "p50_ms"), p(r, t, key, "p99_ms"));
            if a.is_none() {
                "–".to_string()
            } else {
                format!("{} / {}", ms(a), ms(b))
            }
        };
        let k = p(r, "kube-mcp", key, "p50_ms");
        let _ = writeln!(
            o,
            "| {title} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell("floor"),
            cell("kube-mcp"),
            cell("go-peer"),
            cell("go-peer-spaced"),
            cell("seed"),
            x(ratio(k, p(r, "floor", key, "p50_ms"))),
            x(f(&lat(r, "kube-mcp", key)["paired"]["ratio_p50"])),
            x(ratio(k, p(r, "go-peer", key, "p50_ms"))),
            x(ratio(k, p(r, "go-peer-spaced", key, "p50_ms"))),
            x(ratio(k, p(r, "seed", key, "p50_ms"))),
        );
    }
    let rt = |t: &str| {
        let v = &r["targets"][t]["round_trip"];
        match (f(&v["latency"]["p50_ms"]), v["skipped"].as_str()) {
            (Some(a), _) => format!("{} / {}", ms(Some(a)), ms(f(&v["latency"]["p99_ms"]))),
            (None, Some(why)) => format!("– ({why})"),
            _ => "–".into(),
        }
    };
    let _ = writeln!(
        o,
        "| MCP round trip: `{}`, no API request (the transport's share of every row above) | – | {} | {} | – | {} | | | | | |",
        super::measure::ROUND_TRIP_TOOL,
        rt("kube-mcp"),
        rt("go-peer"),
        rt("seed"),
    );
    let _ = writeln!(
        o,
        "\nRatios are p50 over p50: below 1x kube-mcp-server is faster. Headline: {}.",
        headline(r, &small)
    );
    let _ = writeln!(
        o,
        "\n\"Calls alternated\": after its own series, each kube-mcp scenario runs again with a floor request \
         before or after every tool call (the order flips each round), so both meet the same machine. The goals \
         are judged on it: on this shared VM the floor alone moves by up to 2x from one minute to the next, and a \
         ratio of two series taken minutes apart carries that drift."
    );
    let _ = writeln!(
        o,
        "\nThe Go peer is measured twice: back-to-back like the others, and with its calls {} ms apart. In its default \
         configuration its calls are paced once an initial burst is spent (see its throughput below: a flat rate \
         whatever the number of clients), so back-to-back calls mostly measure that pacing; the spaced series \
         shows its per-call latency without it.",
        r["config"]["go_spaced_ms"]
    );

    // Errors and skips.
    let mut notes = vec![];
    for (key, _) in &scenarios {
        for t in ["floor", "kube-mcp", "go-peer", "seed"] {
            if let Some(w) = why(r, t, key) {
                if !notes.contains(&w) {
                    notes.push(w);
                }
            } else {
                let s = lat(r, t, key);
                if s["errors"].as_u64().unwrap_or(0) > 0 {
                    notes.push(format!(
                        "{t}, {key}: error rate {} ({} of {}); first error: {}",
                        s["error_rate"],
                        s["errors"],
                        s["calls"],
                        s["first_error"].as_str().unwrap_or("?")
                    ));
                }
                if s["time_bounded"] == Value::Bool(true) {
                    notes.push(format!(
                        "{t}, {key}: stopped at the time bound after {} calls",
                        s["calls"]
                    ));
                }
            }
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(o, "\nNot measured, errors and bounds:\n");
        for n in notes {
            let _ = writeln!(o, "- {}", n.replace('\n', " "));
        }
    }

    // Output size.
    if let Some((key, title)) = scenarios.get(1) {
        let _ = writeln!(o, "\n## Output of {title}\n");
        let _ = writeln!(
            o,
            "| server | bytes of tool output | rows naming a seeded pod |\n|---|---|---|"
        );
        for (t, name) in SERVERS {
            let s = lat(r, t, key);
            if s["ok"].as_u64().unwrap_or(0) > 0 {
                let _ = writeln!(o, "| {name} | {} | {} |", s["bytes"], s["rows"]);
            }
        }
        let fl = lat(r, "floor", key);
        let _ = writeln!(
            o,
            "| floor (API response bodies, JSON Table) | {} | – |",
            fl["bytes"]
        );
    }

    // Throughput.
    let _ = writeln!(
        o,
        "\n## Throughput: get pods ({} pods), calls/s\n",
        r["layout"]["small_pods"]
    );
    let _ = writeln!(
        o,
        "| clients | floor | kube-mcp | Go peer | seed | kube-mcp vs floor | vs Go peer | vs seed |\n|---|---|---|---|---|---|---|---|"
    );
    for c in r["config"]["concurrency"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let c = c.to_string();
        let get = |t: &str| calls_per_s(r, t, &c);
        let cell = |t: &str| per_s(get(t));
        let k = get("kube-mcp");
        let _ = writeln!(
            o,
            "| {c} | {} | {} | {} | {} | {} | {} | {} |",
            cell("floor"),
            cell("kube-mcp"),
            cell("go-peer"),
            cell("seed"),
            x(ratio(k, get("floor"))),
            x(ratio(k, get("go-peer"))),
            x(ratio(k, get("seed")))
        );
    }
    let _ = writeln!(
        o,
        "\n(Throughput ratios: above 1x kube-mcp-server serves more calls per second.)"
    );
    cpu_split(&mut o, r);
    if let Some(c) = top_concurrency(r) {
        let paired = &r["targets"]["kube-mcp"]["throughput"][&c]["paired"];
        if let Some(ratio) = f(&paired["ratio"]) {
            let _ = writeln!(
                o,
                "\nWindows alternated: with {c} clients, kube-mcp's calls and the floor's ran again in turns of \
                 {} s ({} rounds, the order flipping each round): {} vs {} calls/s = {}. The throughput goal is \
                 judged on this, as the latency goals are on alternated calls.",
                paired["window_seconds"],
                paired["rounds"],
                per_s(f(&paired["server"]["calls_per_s"])),
                per_s(f(&paired["floor"]["calls_per_s"])),
                x(Some(ratio))
            );
        }
    }

    // Memory and start-up.
    let _ = writeln!(o, "\n## Memory and start-up\n");
    let _ = writeln!(
        o,
        "| server | idle RSS (MiB) | peak RSS (MiB) | start-up to first tools/list (ms, median) | tools offered |\n|---|---|---|---|---|"
    );
    for (t, name) in SERVERS {
        let s = &r["targets"][t];
        if s["skipped"].is_string() {
            let _ = writeln!(o, "| {name} | – | – | – | not measured |");
            continue;
        }
        let extra = if s["memory_includes_children"] == Value::Bool(true) {
            " (node + kubectl children)"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "| {name}{extra} | {} | {} | {} | {} |",
            mib(&s["rss_idle_bytes"]),
            mib(&s["rss_peak_bytes"]),
            ms(f(&s["startup_median_ms"])),
            s["tools"]
        );
    }

    identity(r, &mut o);
    o.push_str(&super::variants::section(r, &scenarios));

    // Operator.
    let _ = writeln!(o, "\n## Operator scale\n");
    if let Some(reason) = op["not_run"].as_str() {
        let _ = writeln!(o, "Not run: {reason}");
    } else {
        let _ = writeln!(
            o,
            "kube-mcp-operator ({}) as a local process against the same control plane; {} McpEndpoints (`access: ReadOnly`) in {} namespaces, created {} at a time.\n",
            op["build"].as_str().unwrap_or("?"),
            op["endpoints"],
            op["namespaces"],
            r["config"]["create_concurrency"]
        );
        let _ = writeln!(o, "| | |\n|---|---|");
        let _ = writeln!(
            o,
            "| creating the endpoints | {:.1} s |",
            f(&op["create_seconds"]).unwrap_or(f64::NAN)
        );
        let _ = writeln!(
            o,
            "| all Ready (from the first create) | {} |",
            f(&op["converge_seconds"])
                .map(|s| format!("{s:.1} s"))
                .unwrap_or_else(|| format!(
                    "not within {} s ({} Ready)",
                    op["converge_limit_seconds"], op["ready_at_end"]
                ))
        );
        let _ = writeln!(
            o,
            "| all granted: RbacReady, the operator's own work (from the first create) | {} |",
            f(&op["granted_seconds"])
                .map(|s| format!("{s:.1} s"))
                .unwrap_or_else(|| format!(
                    "not within {} s ({} granted)",
                    op["converge_limit_seconds"], op["granted_at_end"]
                ))
        );
        if let Some(w) = write_floor(&op["write_floor"], f64::INFINITY, f(&op["granted_seconds"])) {
            let _ = writeln!(
                o,
                "| the operator's floor: its children written again directly | {w} |"
            );
        }
        if let Some(w) = ready_floor(
            &op["write_floor"],
            f64::INFINITY,
            f(&op["converge_seconds"]),
        ) {
            let _ = writeln!(
                o,
                "| the control plane's floor: those Deployments all Available | {w} |"
            );
        }
        let api = &op["apiserver_during_convergence"];
        let _ = writeln!(
            o,
            "| API server while converging: requests / 5xx / 429 / latency mean, p50, p99 | {} / {} / {} / {} ms, {} ms, {} ms |",
            api["requests"],
            api["errors_5xx"],
            api["throttled_429"],
            api["latency_mean_ms"],
            api["latency_p50_ms"],
            api["latency_p99_ms"]
        );
        let children = op["children"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let _ = writeln!(o, "| objects managed at the end | {children} |");
        let _ = writeln!(
            o,
            "| reconciles until converged | {} |",
            op["reconciles_at_convergence"]
        );
        let own = &op["operator_requests_at_convergence"];
        if let Some(per) = own["per_endpoint"].as_f64() {
            let _ = writeln!(
                o,
                "| the operator's API requests until converged (watches aside) | {per:.1} per endpoint {} |",
                own["by_verb"]
            );
        }
        let st = &op["steady"];
        if op["converged"] != Value::Bool(true) {
            let _ = writeln!(
                o,
                "| note | not every endpoint was Ready when the \"steady state\" window began, so it still saw convergence work |"
            );
        }
        let _ = writeln!(
            o,
            "| steady state ({} s): reconciles | {} |",
            st["window_seconds"], st["reconciles"]
        );
        let _ = writeln!(
            o,
            "| steady state: write requests to the operator's kinds | {} |",
            st["operator_kind_writes"]
        );
        let _ = writeln!(
            o,
            "| steady state: objects whose resourceVersion changed | {} {} |",
            st["objects_changed"], st["objects_changed_by_kind"]
        );
        let _ = writeln!(
            o,
            "| steady state: all mutating API requests (any client) | {} |",
            st["all_mutating_requests"]
        );
        let rs = &op["resync_after_restart"];
        let _ = writeln!(
            o,
            "| restart (full resync): seconds until every endpoint was reconciled / until quiet (no reconciles or writes for 6 s) | {} / {} |",
            rs["seconds_to_reconcile_all"], rs["seconds_until_quiet"]
        );
        let _ = writeln!(o, "| restart: reconciles | {} |", rs["reconciles"]);
        let _ = writeln!(
            o,
            "| restart: write requests to the operator's kinds | {} |",
            rs["operator_kind_writes"]
        );
        let _ = writeln!(
            o,
            "| restart: objects whose resourceVersion changed | {} {} |",
            rs["objects_changed"], rs["objects_changed_by_kind"]
        );
        let _ = writeln!(
            o,
            "| restart: all mutating API requests (any client) | {} |",
            rs["all_mutating_requests"]
        );
        if let Some(split) = granting_cpu(&op["cpu_until_granted"]) {
            let _ = writeln!(
                o,
                "| CPU from the first create until all were granted (/proc) | {split} |"
            );
        }
        let cpu = &op["cpu_during_convergence"];
        if cpu.is_object() {
            let _ = writeln!(
                o,
                "| CPU while converging: the operator / the whole machine busy / available ({} cores x {} s) | {} s / {} s / {} s |",
                cpu["cores"],
                cpu["wall_seconds"],
                cpu["operator_seconds"],
                cpu["machine_busy_seconds"],
                f(&cpu["cores"])
                    .zip(f(&cpu["wall_seconds"]))
                    .map_or(Value::Null, |(c, w)| serde_json::json!((c * w).round())),
            );
        }
        let _ = writeln!(
            o,
            "| operator RSS: start / converged / steady / VmHWM | {} / {} / {} / {} MiB |",
            mib(&op["rss_start_bytes"]),
            mib(&op["rss_converged_bytes"]),
            mib(&op["rss_steady_bytes"]),
            mib(&op["vm_hwm_bytes"])
        );
        let _ = writeln!(
            o,
            "\nWrites are counted from the API server's `apiserver_request_total` (mutating verbs) before and after each window; \"the operator's kinds\" are McpEndpoints (and their status), ServiceAccounts, Roles, RoleBindings, ClusterRoles, ClusterRoleBindings, Secrets, ConfigMaps, Deployments (not their status), Services and NetworkPolicies. Other clients (kwok, the controller-manager) write to some of those kinds too, so a non-zero count is an upper bound on the operator's writes."
        );
    }
    scale(r, &mut o);
    o
}

/// File name of the operator scale plot, next to benchmarks.md.
pub const SCALE_SVG: &str = "benchmarks-operator-scale.svg";

/// "the machine was busy B of A CPU-s: kube-apiserver X, etcd Y, ..." from
/// a window's [`ProcessCpu`](super::procfs::ProcessCpu) (busiest first).
fn granting_cpu(cpu: &Value) -> Option<String> {
    let busy = f(&cpu["machine_busy_seconds"])?;
    let available = f(&cpu["available_seconds"])?;
    let named: Vec<(&str, f64)> = cpu["by_process"]
        .as_array()?
        .iter()
        .filter_map(|p| Some((p[0].as_str()?, f(&p[1])?)))
        .collect();
    let rest = busy - named.iter().map(|(_, s)| s).sum::<f64>();
    let by: Vec<String> = named
        .iter()
        .filter(|(_, s)| *s >= 0.05)
        .map(|(n, s)| format!("{n} {s:.1}"))
        .chain((rest >= 0.05).then(|| format!("other processes {rest:.1}")))
        .collect();
    Some(format!(
        "the machine was busy {busy:.0} of {available:.0} CPU-s ({:.0} %): {}",
        100.0 * busy / available.max(1e-9),
        by.join(", ")
    ))
}

/// What a floor of `floor` seconds says of a goal of `limit` seconds that
/// the run it bounds took `measured`: a floor over the limit means no
/// operator can meet it here, unless the floor took longer than the run
/// itself, which means the machine was busier while the floor ran.
fn floor_verdict(floor: f64, limit: f64, measured: Option<f64>) -> String {
    match measured {
        Some(m) if m < floor => format!(
            ": longer than the run it should bound ({m:.1} s), so the machine was busier \
             while it ran and it bounds nothing in this run"
        ),
        _ if floor >= limit => {
            format!(
                ": over {limit:.0} s by itself, so no operator can meet this goal on this machine"
            )
        }
        _ => String::new(),
    }
}

/// The operator's floor (its children written again directly, see
/// `writes`): how long the API server took for them alone, and what that
/// says of the goal's `limit` seconds for a run that took `measured`.
fn write_floor(w: &Value, limit: f64, measured: Option<f64>) -> Option<String> {
    let secs = f(&w["seconds"])?;
    let busy = granting_cpu(&w["cpu"])
        .map(|c| format!("; meanwhile {c}"))
        .unwrap_or_default();
    let verdict = floor_verdict(secs, limit, measured);
    // Runs before the waves wrote each endpoint's objects one after another.
    let order = if w["waves"].is_u64() {
        "in the operator's three waves"
    } else {
        "one object after another"
    };
    Some(format!(
        "the same {} objects of {} endpoints written directly \
         (server-side apply {order}, {} endpoints at a time, nothing else) took {secs:.1} s{busy}{verdict}",
        w["objects"], w["endpoints"], w["concurrency"]
    ))
}

/// The control plane's floor (see `writes`): how long after the first
/// direct write every Deployment written was Available, the work of
/// kube-controller-manager, the scheduler and kwok alone, and what that
/// says of the goal's `limit` seconds for a run that took `measured`.
fn ready_floor(w: &Value, limit: f64, measured: Option<f64>) -> Option<String> {
    let want = f(&w["deployments"])?;
    let kcm = &w["controller_manager_client"];
    let by_kcm = match (f(&kcm["requests"]), f(&kcm["rate_limiter_wait_seconds"])) {
        (Some(n), Some(wait)) => format!(
            " (kube-controller-manager sent {n:.0} requests meanwhile; its rate limiter held them {wait:.0} s)"
        ),
        _ => String::new(),
    };
    let (took, floor) = match f(&w["available_seconds"]) {
        Some(s) => (
            format!("were all Available {s:.1} s after the first write"),
            s,
        ),
        None => {
            let waited = f(&w["available_limit_seconds"])?;
            (
                format!(
                    "were not all Available {waited:.0} s after the first write ({} of {want:.0})",
                    w["available_at_end"]
                ),
                waited,
            )
        }
    };
    let verdict = floor_verdict(floor, limit, measured);
    Some(format!(
        "the same {want:.0} Deployments, written directly with the other children, {took}{by_kcm}{verdict}"
    ))
}

/// Every operator size measured: the scale runs and the main run.
pub fn scale_points(r: &Value) -> Value {
    let mut rows: Vec<Value> = r["operator_scale"].as_array().cloned().unwrap_or_default();
    let op = &r["operator"];
    if op["not_run"].is_null() && op["endpoints"].is_number() {
        rows.push(serde_json::json!({
            "endpoints": op["endpoints"],
            "granted_seconds": op["granted_seconds"],
            "ready_seconds": op["converge_seconds"],
            "vm_hwm_bytes": op["vm_hwm_bytes"],
            "apiserver": op["apiserver_during_convergence"],
            "cpu_until_granted": op["cpu_until_granted"],
            "main_run": true,
        }));
    }
    rows.sort_by(|a, b| {
        f(&a["endpoints"])
            .unwrap_or(0.0)
            .total_cmp(&f(&b["endpoints"]).unwrap_or(0.0))
    });
    Value::Array(rows)
}

fn scale(r: &Value, o: &mut String) {
    let points = scale_points(r);
    let Some(rows) = points.as_array().filter(|a| a.len() > 1) else {
        return;
    };
    let _ = writeln!(o, "\n### Operator at several sizes\n");
    let _ = writeln!(
        o,
        "Each size other than the main run's ran on a fresh control plane with one kwok node per 100 endpoints (plus two); the main run shares its control plane with the seeded pods.\n\n![operator scale]({SCALE_SVG})\n"
    );
    let _ = writeln!(
        o,
        "| endpoints | all granted (s) | all Ready (s) | operator VmHWM (MiB) | API requests / 5xx / 429 | API latency p50 / p99 (ms) | CPU until all were granted |\n|---|---|---|---|---|---|---|"
    );
    for row in rows {
        if let Some(why) = row["not_run"].as_str() {
            let _ = writeln!(o, "| {} | not run: {why} | | | | | |", row["endpoints"]);
            continue;
        }
        let api = &row["apiserver"];
        let _ = writeln!(
            o,
            "| {}{} | {} | {} | {} | {} / {} / {} | {} / {} | {} |",
            row["endpoints"],
            if row["main_run"] == Value::Bool(true) {
                " (main run)"
            } else {
                ""
            },
            within(row, "granted"),
            within(row, "ready"),
            mib(&row["vm_hwm_bytes"]),
            api["requests"],
            api["errors_5xx"],
            api["throttled_429"],
            api["latency_p50_ms"],
            api["latency_p99_ms"],
            granting_cpu(&row["cpu_until_granted"]).unwrap_or_else(|| "–".into())
        );
    }
}

/// A scale row's time until all were `what` (granted, ready), or how many
/// were when its limit ran out.
fn within(row: &Value, what: &str) -> String {
    match f(&row[format!("{what}_seconds")]) {
        Some(s) => format!("{s:.1}"),
        None => format!(
            "not within {} s ({} of {})",
            row["limit_seconds"],
            row[format!("{what}_at_end")],
            row["endpoints"]
        ),
    }
}

/// What each authentication mode and Caller authorization add per call.
fn identity(r: &Value, o: &mut String) {
    let id = &r["identity"];
    let _ = writeln!(o, "\n## Identity: what knowing the caller costs (ms)\n");
    if let Some(reason) = id["skipped"]
        .as_str()
        .or(id.is_null().then_some("not in this run"))
    {
        let _ = writeln!(o, "Not measured: {reason}");
        return;
    }
    let keys: Vec<(String, String)> = r["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some((
                s["key"].as_str()?.to_string(),
                s["title"].as_str()?.to_string(),
            ))
        })
        .filter(|(k, _)| id["rows"][0]["scenarios"].get(k).is_some())
        .collect();
    let mut head = "| kube-mcp-server with | ".to_string();
    for (_, title) in &keys {
        let _ = write!(head, "{title}: p50 / p90 | ");
    }
    head.push_str(
        "request with a token not seen before: p50 / p90 | a new caller's first call: p50 / p90 |",
    );
    let _ = writeln!(o, "{head}\n|---|{}---|---|", "---|".repeat(keys.len()));
    let mut notes = vec![];
    for row in id["rows"].as_array().into_iter().flatten() {
        let key = row["key"].as_str().unwrap_or("?");
        let mut line = format!("| {} | ", row["title"].as_str().unwrap_or(key));
        if let Some(why) = row["skipped"].as_str() {
            notes.push(format!("{key}: not measured: {why}"));
        }
        for (k, _) in &keys {
            let s = &row["scenarios"][k];
            let _ = write!(
                line,
                "{} / {} | ",
                ms(f(&s["latency"]["p50_ms"])),
                ms(f(&s["latency"]["p90_ms"]))
            );
            if s["errors"].as_u64().is_some_and(|e| e > 0) {
                notes.push(format!(
                    "{key}, {k}: {} of {} calls failed; first error: {}",
                    s["errors"],
                    s["calls"],
                    s["first_error"].as_str().unwrap_or("?")
                ));
            }
        }
        if let Some(e) = row["new_caller_errors"].as_array().and_then(|e| e.first()) {
            notes.push(format!("{key}, a new caller's first call failed: {e}"));
        }
        let (n, c) = (&row["new_token_initialize"], &row["new_caller_first_call"]);
        let _ = writeln!(
            o,
            "{line}{} / {} | {} / {} |",
            ms(f(&n["p50_ms"])),
            ms(f(&n["p90_ms"])),
            ms(f(&c["p50_ms"])),
            ms(f(&c["p90_ms"]))
        );
    }
    let _ = writeln!(
        o,
        "\nOne server per row, the same tool calls; the client is bound to `view`. TokenReview and SubjectAccessReview answers are cached for {} s and the issuer's keys until a token names an unknown one (each JWT's signature and claims are checked on every request), so the tool-call columns are what a client calling steadily pays; the next column is an MCP `initialize` with a token the server has not seen ({} of them per row, each for another caller: a new TokenRequest token, a newly signed JWT; the static token is always the same), the uncached cost of authentication; the last is that caller's first tool call (get one deployment), which with `authorize: Caller` includes an uncached SubjectAccessReview.",
        id["cache_ttl_s"], id["new_tokens"]
    );
    for n in notes {
        let _ = writeln!(o, "\n- {n}");
    }
}

/// Why the endpoints took longer than 2 min to be Ready, as measured: when
/// the operator's part (all granted) ended, and how busy the machine was
/// until the end, and with whose work.
fn ready_why(conv: Option<f64>, granted: Option<f64>, cpu: &Value) -> String {
    if conv.is_some_and(|s| s < 120.0) {
        return String::new();
    }
    match (
        granted,
        f(&cpu["machine_busy_seconds"]),
        f(&cpu["cores"]).zip(f(&cpu["wall_seconds"])),
        f(&cpu["operator_seconds"]),
    ) {
        (Some(g), Some(busy), Some((cores, wall)), Some(own)) if cores * wall > 0.0 => format!(
            "; the operator's part ended when all were granted ({g:.1} s, next row); the rest is the \
             control plane creating, scheduling and readying a pod each. Until all were Ready the machine \
             was busy {busy:.0} of {:.0} CPU-s ({:.0} %), the operator {own:.1} of them",
            cores * wall,
            100.0 * busy / (cores * wall)
        ),
        _ => String::new(),
    }
}

/// kube-controller-manager's part of a slow "all Ready": its requests, their
/// rate, and how long its client-side rate limiter held them.
fn kcm_why(conv: Option<f64>, kcm: &Value, endpoints: &Value) -> String {
    let (Some(n), Some(rate), Some(wait)) = (
        f(&kcm["requests"]),
        f(&kcm["requests_per_s"]),
        f(&kcm["rate_limiter_wait_seconds"]),
    ) else {
        return String::new();
    };
    if conv.is_some_and(|s| s < 120.0) {
        return String::new();
    }
    let per = f(endpoints).map_or(String::new(), |e| {
        format!(" ({:.1} per endpoint)", n / e.max(1.0))
    });
    format!(
        ". kube-controller-manager, which turns each Deployment into a Ready pod, sent {n:.0} requests{per} \
         at {rate:.1}/s, and its client-side rate limiter (--kube-api-qps: 20/s per controller by default) \
         held them {wait:.0} s in total"
    )
}

/// The measured cell and verdict of a "within `bound`x of the floor" goal.
/// The verdict is the paired measurement's (floor and server calls
/// alternated) where the run has one: the two measured apart can meet
/// different machines. Where the bound is missed, it says how much of the
/// gap is the MCP transport alone (a call that makes no API request).
fn floor_goal(r: &Value, key: &str, bound: f64) -> String {
    let (k, fl) = (
        p(r, "kube-mcp", key, "p50_ms"),
        p(r, "floor", key, "p50_ms"),
    );
    let paired = &lat(r, "kube-mcp", key)["paired"];
    let (pk, pf) = (
        f(&paired["server"]["p50_ms"]),
        f(&paired["floor"]["p50_ms"]),
    );
    let (judged, gap, mut cell) = match ratio(pk, pf) {
        Some(rp) => (
            Some(rp),
            pk.zip(pf).map(|(k, fl)| k - fl),
            format!(
                "{} ms vs {} ms = {}, calls alternated ({} pairs); measured apart {} vs {} ms = {}",
                ms(pk),
                ms(pf),
                x(Some(rp)),
                paired["pairs"],
                ms(k),
                ms(fl),
                x(ratio(k, fl))
            ),
        ),
        None => (
            ratio(k, fl),
            k.zip(fl).map(|(k, fl)| k - fl),
            format!("{} ms vs {} ms = {}", ms(k), ms(fl), x(ratio(k, fl))),
        ),
    };
    let rt = f(&r["targets"]["kube-mcp"]["round_trip"]["latency"]["p50_ms"]);
    if let (Some(j), Some(rt), Some(gap)) = (judged, rt, gap)
        && j > bound
    {
        cell.push_str(&format!(
            "; the MCP round trip alone is {} ms of the {} ms gap",
            ms(Some(rt)),
            ms(Some(gap))
        ));
        if let Some(split) = gap_cpu(&paired["cpu_ms_per_call"], pf, bound) {
            cell.push_str(&split);
        }
    }
    format!("{cell} | {}", met(judged.map(|j| j <= bound)))
}

/// Where a missed "within `bound`x of the floor" gap went, from the mean CPU
/// per call in the alternated series: the MCP client's beyond the floor's
/// client (which no server can remove) and the server's, against what the
/// goal allows on top of the floor's `floor_ms`.
fn gap_cpu(cpu: &Value, floor_ms: Option<f64>, bound: f64) -> Option<String> {
    let (fc, mc, sv) = (
        f(&cpu["floor_client"])?,
        f(&cpu["mcp_client"])?,
        f(&cpu["server"])?,
    );
    let allowed = (bound - 1.0) * floor_ms?;
    let client = mc - fc;
    let left = allowed - client;
    let verdict = if left > 0.0 {
        format!("so the server's share would have to fit in {left:.2} ms")
    } else {
        "more than the MCP client alone spends on this answer: out of reach for any server \
         answering the same text to this client"
            .to_string()
    };
    let diff = if client >= 0.0 {
        format!("{client:.2} ms more")
    } else {
        format!("{:.2} ms less", -client)
    };
    Some(format!(
        "; mean CPU per call: the MCP client {mc:.2} ms against the floor's client {fc:.2} ms \
         ({diff}), the server {sv:.2} ms; the goal allows {allowed:.2} ms over the floor, {verdict}"
    ))
}

/// The measured cell and verdict of the throughput goal at `c` clients for
/// target `t` (a kube-mcp configuration): judged on the windows alternated
/// with the floor where the run has them.
fn throughput_goal(r: &Value, t: &str, c: &str) -> String {
    let (k, fl) = (calls_per_s(r, t, c), calls_per_s(r, "floor", c));
    let apart = format!(
        "{} vs {} calls/s = {}",
        per_s(k),
        per_s(fl),
        x(ratio(k, fl))
    );
    let paired = &r["targets"][t]["throughput"][c]["paired"];
    let cpu = |side: &str, what: &str| f(&paired[side]["cpu_ms_per_call"][what]);
    if let (Some(judged), Some(fm), Some(km)) = (
        f(&paired["ratio"]),
        cpu("floor", "machine"),
        cpu("server", "machine"),
    ) {
        let two = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.2}"));
        return format!(
            "{} vs {} calls/s = {}, windows alternated ({} rounds of {} s each); measured apart {apart}; \
             CPU per call (ms, alternated): kube-mcp {km:.2} (the server {}, the MCP client {}, the rest {}), \
             the floor {fm:.2} (its client {}, the rest {}){} | {}",
            per_s(f(&paired["server"]["calls_per_s"])),
            per_s(f(&paired["floor"]["calls_per_s"])),
            x(Some(judged)),
            paired["rounds"],
            paired["window_seconds"],
            two(cpu("server", "server")),
            two(cpu("server", "client")),
            two(cpu("server", "rest")),
            two(cpu("floor", "client")),
            two(cpu("floor", "rest")),
            throughput_bound(r, t, c, fm).unwrap_or_default(),
            met(Some(judged >= 0.8))
        );
    }
    let why = match (cpu_per_call(r, t, c), cpu_per_call(r, "floor", c)) {
        (Some(k), Some(fl)) => format!(
            "; CPU per call (ms): kube-mcp {:.2}, the floor {:.2}; see Throughput{}",
            k.machine,
            fl.machine,
            throughput_bound(r, t, c, fl.machine).unwrap_or_default()
        ),
        _ => String::new(),
    };
    let rt = ratio(k, fl);
    format!("{apart}{why} | {}", met(rt.map(|r| r >= 0.8)))
}

/// The most any MCP server could reach against the floor's `floor_ms` of
/// machine CPU per call: the floor's work plus what a call that makes no
/// API request (`ping`) costs over MCP under the same load. CPU time adds
/// up, and on a saturated machine calls/s is cores / CPU per call, so the
/// ratio can be no higher than floor / (floor + round trip).
fn throughput_bound(r: &Value, t: &str, clients: &str, floor_ms: f64) -> Option<String> {
    let rt = &r["targets"][t]["round_trip"]["throughput"];
    if rt["concurrency"].as_u64() != clients.parse().ok() {
        return None;
    }
    let ping = f(&rt["cpu_ms_per_call"]["machine"])?;
    let bound = floor_ms / (floor_ms + ping);
    let verdict = if bound < 0.8 {
        ": below 0.8x, so out of reach for any MCP server measured with this client on this machine"
    } else {
        ""
    };
    Some(format!(
        ". The MCP round trip alone (`{}`, no API request) costs {ping:.2} ms of machine CPU per call at {clients} clients; \
         a server that added nothing else to the floor's {floor_ms:.2} ms could reach at most {bound:.3}x of the floor{verdict}",
        super::measure::ROUND_TRIP_TOOL,
    ))
}

fn met(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "–",
    }
}

fn headline(r: &Value, key: &str) -> String {
    let k = p(r, "kube-mcp", key, "p50_ms");
    let mut parts = vec![format!("{key}: kube-mcp p50 {} ms", ms(k))];
    if let Some(fl) = ratio(k, p(r, "floor", key, "p50_ms")) {
        parts.push(format!("{} floor", x(Some(fl))));
    }
    if let Some(g) = ratio(k, p(r, "go-peer", key, "p50_ms")) {
        parts.push(format!("{} Go peer", x(Some(g))));
    }
    if let Some(s) = ratio(k, p(r, "seed", key, "p50_ms")) {
        parts.push(format!("{} seed", x(Some(s))));
    }
    parts.join(" = ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn granting_cpu_names_the_busiest_first_as_measured() {
        let cpu = json!({
            "wall_seconds": 50.0, "available_seconds": 100.0, "machine_busy_seconds": 96.4,
            "by_process": [["kube-apiserver", 68.04], ["etcd", 9.0], ["kube-mcp-operator", 7.26], ["watchdog", 0.01]],
        });
        assert_eq!(
            granting_cpu(&cpu).as_deref(),
            Some(
                "the machine was busy 96 of 100 CPU-s (96 %): kube-apiserver 68.0, etcd 9.0, \
                 kube-mcp-operator 7.3, other processes 12.1"
            )
        );
        // An older benchmarks.json has no such window: nothing is claimed.
        assert_eq!(granting_cpu(&Value::Null), None);
    }

    #[test]
    fn a_floor_goal_is_judged_on_the_alternated_calls_where_there_are_some() {
        let run = |paired: Value| {
            json!({"targets": {
                "floor": {"scenarios": {"yaml": {"latency": {"p50_ms": 1.0}}}},
                "kube-mcp": {
                    "round_trip": {"latency": {"p50_ms": 0.2}},
                    "scenarios": {"yaml": {"latency": {"p50_ms": 2.0}, "paired": paired}},
                },
            }})
        };
        // Apart the ratio is 2x; alternated it is 1.25x: the goal is met.
        let met = floor_goal(
            &run(json!({"pairs": 50, "server": {"p50_ms": 2.5}, "floor": {"p50_ms": 2.0}})),
            "yaml",
            1.5,
        );
        assert_eq!(
            met,
            "2.50 ms vs 2.00 ms = 1.25x, calls alternated (50 pairs); measured apart 2.00 vs 1.00 ms = 2.00x | yes"
        );
        // Without a paired series (an older run), the series apart decide,
        // and a miss names the transport's share of the gap.
        let missed = floor_goal(&run(Value::Null), "yaml", 1.5);
        assert_eq!(
            missed,
            "2.00 ms vs 1.00 ms = 2.00x; the MCP round trip alone is 0.20 ms of the 1.00 ms gap | **no**"
        );
    }

    #[test]
    fn the_throughput_goal_names_the_bound_a_round_trip_sets() {
        let r = |ping: f64| {
            json!({"targets": {"kube-mcp": {"round_trip": {"throughput": {
                "concurrency": 32, "cpu_ms_per_call": {"machine": ping}}}}}})
        };
        // 2.65 / (2.65 + 0.80) = 0.768: no server can reach 0.8x.
        let low = throughput_bound(&r(0.80), "kube-mcp", "32", 2.65).unwrap();
        assert!(low.contains("at most 0.768x"), "{low}");
        assert!(low.contains("out of reach"), "{low}");
        // 2.65 / (2.65 + 0.30) = 0.898: reachable in principle; no verdict.
        let high = throughput_bound(&r(0.30), "kube-mcp", "32", 2.65).unwrap();
        assert!(high.contains("at most 0.898x"), "{high}");
        assert!(!high.contains("out of reach"), "{high}");
        // Measured at another concurrency: it bounds nothing here.
        assert_eq!(throughput_bound(&r(0.30), "kube-mcp", "8", 2.65), None);
    }

    #[test]
    fn a_missed_floor_gap_says_how_much_the_client_leaves_the_server() {
        let cpu = json!({"floor_client": 0.5, "mcp_client": 2.5, "server": 4.0});
        // 1.3x of a 20 ms floor allows 6 ms; the client takes 2 more, leaving 4.
        let s = gap_cpu(&cpu, Some(20.0), 1.3).unwrap();
        assert!(s.contains("(2.00 ms more), the server 4.00 ms"), "{s}");
        assert!(s.contains("allows 6.00 ms over the floor"), "{s}");
        assert!(s.ends_with("fit in 4.00 ms"), "{s}");
        // A client cheaper than the floor's leaves the server more than the allowance.
        let cpu = json!({"floor_client": 2.5, "mcp_client": 2.0, "server": 7.0});
        let s = gap_cpu(&cpu, Some(20.0), 1.3).unwrap();
        assert!(
            s.contains("(0.50 ms less)") && s.ends_with("fit in 6.50 ms"),
            "{s}"
        );
        // A client that alone spends more than the allowance: no server fits.
        let cpu = json!({"floor_client": 0.5, "mcp_client": 7.0, "server": 4.0});
        let s = gap_cpu(&cpu, Some(20.0), 1.3).unwrap();
        assert!(
            s.contains("allows 6.00 ms over the floor, more than the MCP client alone"),
            "{s}"
        );
        assert_eq!(gap_cpu(&json!({}), Some(20.0), 1.3), None);
    }

    #[test]
    fn the_operators_floor_says_whether_it_alone_misses_the_goal() {
        let w = |secs: f64| {
            json!({"seconds": secs, "objects": 7000, "endpoints": 1000, "concurrency": 8,
                   "cpu": {"wall_seconds": secs, "available_seconds": 2.0 * secs,
                           "machine_busy_seconds": 1.9 * secs, "by_process": [["kube-apiserver", secs]]}})
        };
        let slow = write_floor(&w(75.0), 60.0, Some(90.0)).unwrap();
        assert!(slow.contains("7000 objects of 1000 endpoints"), "{slow}");
        assert!(slow.contains("took 75.0 s; meanwhile the machine was busy 142 of 150 CPU-s (95 %): kube-apiserver 75.0"), "{slow}");
        assert!(
            slow.ends_with("no operator can meet this goal on this machine"),
            "{slow}"
        );
        let fast = write_floor(&w(40.0), 60.0, Some(90.0)).unwrap();
        assert!(!fast.contains("no operator"), "{fast}");
        // Slower than the operator's own run: the floor met a busier machine.
        let disturbed = write_floor(&w(97.9), 60.0, Some(64.3)).unwrap();
        assert!(
            disturbed.ends_with(
                "took 97.9 s; meanwhile the machine was busy 186 of 196 CPU-s (95 %): kube-apiserver 97.9, other processes 88.1: longer than the run it should bound (64.3 s), so the machine was busier while it ran and it bounds nothing in this run"
            ),
            "{disturbed}"
        );
        assert_eq!(write_floor(&json!({"not_run": "x"}), 60.0, None), None);
    }

    #[test]
    fn the_control_planes_floor_says_whether_it_alone_misses_the_ready_goal() {
        let w = |secs: Option<f64>| {
            json!({"deployments": 1000, "available_seconds": secs, "available_at_end": 640,
                   "available_limit_seconds": 600,
                   "controller_manager_client": {"requests": 13000.0, "rate_limiter_wait_seconds": 2100.0}})
        };
        let slow = ready_floor(&w(Some(231.5)), 120.0, Some(246.0)).unwrap();
        assert!(
            slow.starts_with("the same 1000 Deployments, written directly with the other children, were all Available 231.5 s after the first write (kube-controller-manager sent 13000 requests meanwhile; its rate limiter held them 2100 s)"),
            "{slow}"
        );
        assert!(
            slow.ends_with("no operator can meet this goal on this machine"),
            "{slow}"
        );
        let fast = ready_floor(&w(Some(90.0)), 120.0, Some(110.0)).unwrap();
        assert!(!fast.contains("no operator"), "{fast}");
        let disturbed = ready_floor(&w(Some(231.5)), 120.0, Some(200.0)).unwrap();
        assert!(
            disturbed.ends_with("longer than the run it should bound (200.0 s), so the machine was busier while it ran and it bounds nothing in this run"),
            "{disturbed}"
        );
        let never = ready_floor(&w(None), 120.0, None).unwrap();
        assert!(
            never.contains("were not all Available 600 s after the first write (640 of 1000)"),
            "{never}"
        );
        assert!(
            never.ends_with("no operator can meet this goal on this machine"),
            "{never}"
        );
        // A run from before the floor waited for its Deployments says nothing.
        assert_eq!(ready_floor(&json!({"seconds": 60.0}), 120.0, None), None);
    }

    #[test]
    fn the_throughput_goal_is_judged_on_alternated_windows_where_there_are_some() {
        let cpu = |m: f64| json!({"machine": m, "client": 0.2, "server": 0.6, "rest": m - 0.8});
        let mut r = json!({
            "targets": {
                "floor": {"throughput": {"32": {"calls_per_s": 1000.0, "cpu_ms_per_call": cpu(2.0)}}},
                "kube-mcp": {"throughput": {"32": {"calls_per_s": 600.0, "cpu_ms_per_call": cpu(3.3)}}},
            }
        });
        // Apart: 0.60x, missed.
        assert!(throughput_goal(&r, "kube-mcp", "32").ends_with("| **no**"));
        r["targets"]["kube-mcp"]["throughput"]["32"]["paired"] = json!({
            "ratio": 0.82, "rounds": 5, "window_seconds": 2,
            "floor": {"calls_per_s": 900.0, "cpu_ms_per_call": {"machine": 2.2, "client": 0.2, "rest": 2.0}},
            "server": {"calls_per_s": 738.0, "cpu_ms_per_call": cpu(2.7)},
        });
        let cell = throughput_goal(&r, "kube-mcp", "32");
        assert!(cell.starts_with("738.0 vs 900.0 calls/s = 0.82x, windows alternated (5 rounds of 2 s each); measured apart 600.0 vs 1000.0 calls/s = 0.60x"), "{cell}");
        assert!(cell.contains("kube-mcp 2.70 (the server 0.60, the MCP client 0.20, the rest 1.90), the floor 2.20"), "{cell}");
        assert!(cell.ends_with("| yes"), "{cell}");
        // Another configuration is judged on its own windows, not the default's.
        let stateless = crate::bench::variants::Variant::Stateless.key();
        r["targets"][stateless]["throughput"]["32"] = json!({
            "calls_per_s": 700.0, "cpu_ms_per_call": cpu(2.9),
            "paired": {
                "ratio": 0.78, "rounds": 5, "window_seconds": 2,
                "floor": {"calls_per_s": 900.0, "cpu_ms_per_call": {"machine": 2.2, "client": 0.2, "rest": 2.0}},
                "server": {"calls_per_s": 702.0, "cpu_ms_per_call": cpu(2.8)},
            },
        });
        let cell = throughput_goal(&r, stateless, "32");
        assert!(cell.starts_with("702.0 vs 900.0 calls/s = 0.78x"), "{cell}");
        assert!(cell.contains("measured apart 700.0 vs 1000.0"), "{cell}");
        assert!(cell.ends_with("| **no**"), "{cell}");
    }

    #[test]
    fn a_slow_convergence_says_where_the_time_went() {
        let cpu = json!({"cores": 2, "machine_busy_seconds": 385.0, "operator_seconds": 21.3, "wall_seconds": 245.0});
        let why = ready_why(Some(245.0), Some(121.3), &cpu);
        assert!(why.contains("all were granted (121.3 s"), "{why}");
        assert!(
            why.contains("busy 385 of 490 CPU-s (79 %), the operator 21.3 of them"),
            "{why}"
        );
        // Met: nothing to explain; not measured: nothing claimed.
        assert_eq!(ready_why(Some(100.0), Some(50.0), &cpu), "");
        let kcm = json!({"requests": 14000.0, "requests_per_s": 50.5, "rate_limiter_wait_seconds": 2912.8});
        let k = kcm_why(Some(245.0), &kcm, &json!(1000));
        assert!(
            k.contains("sent 14000 requests (14.0 per endpoint) at 50.5/s"),
            "{k}"
        );
        assert!(k.ends_with("held them 2913 s in total"), "{k}");
        assert_eq!(kcm_why(Some(100.0), &kcm, &json!(1000)), "");
        assert_eq!(
            kcm_why(Some(245.0), &json!({"not_measured": "x"}), &json!(1000)),
            ""
        );
        assert_eq!(ready_why(Some(245.0), None, &cpu), "");
    }

    #[test]
    fn a_scale_size_that_ran_out_of_time_says_how_far_it_got() {
        let row = json!({"endpoints": 3000, "limit_seconds": 600, "granted_seconds": 334.744,
            "granted_at_end": 3000, "ready_seconds": null, "ready_at_end": 1448});
        assert_eq!(within(&row, "granted"), "334.7");
        assert_eq!(within(&row, "ready"), "not within 600 s (1448 of 3000)");
    }
}
