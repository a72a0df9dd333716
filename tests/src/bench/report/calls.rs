//! The tool calls' sections: latency, errors, output size, throughput and
//! the CPU it cost, memory and start-up.

use super::{
    SERVERS, Scenarios, calls_per_s, f, lat, mib, ms, p, per_s, ratio, top_concurrency, why, x,
};
use serde_json::Value;
use std::fmt::Write as _;

pub(super) fn latency(o: &mut String, r: &Value, scenarios: &Scenarios) {
    let small = scenarios.first().map(|s| s.0.as_str()).unwrap_or_default();
    let _ = writeln!(o, "\n## Tool-call latency (ms)\n");
    let _ = writeln!(
        o,
        "| scenario | floor p50 / p99 | kube-mcp p50 / p99 | Go peer p50 / p99 | Go peer, calls {} ms apart | seed p50 / p99 | kube-mcp vs floor | vs floor, calls alternated | vs Go peer | vs Go peer (spaced) | vs seed |",
        r["config"]["go_spaced_ms"]
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (key, title) in scenarios {
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
        crate::bench::measure::ROUND_TRIP_TOOL,
        rt("kube-mcp"),
        rt("go-peer"),
        rt("seed"),
    );
    let _ = writeln!(
        o,
        "\nRatios are p50 over p50: below 1x kube-mcp-server is faster. Headline: {}.",
        headline(r, small)
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

/// Errors and skips.
pub(super) fn notes(o: &mut String, r: &Value, scenarios: &Scenarios) {
    let mut notes = vec![];
    for (key, _) in scenarios {
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
}

/// The size of the large list's answer.
pub(super) fn output(o: &mut String, r: &Value, scenarios: &Scenarios) {
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
}

pub(super) fn throughput(o: &mut String, r: &Value) {
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
    cpu_split(o, r);
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
}

/// Where one throughput call's CPU went, in milliseconds.
pub(super) struct CallCpu {
    pub machine: f64,
    pub client: f64,
    pub server: Option<f64>,
    pub rest: f64,
}

impl CallCpu {
    /// From a `cpu_ms_per_call` object of the run's JSON.
    pub(super) fn of(v: &Value) -> Option<Self> {
        Some(CallCpu {
            machine: f(&v["machine"])?,
            client: f(&v["client"])?,
            server: f(&v["server"]),
            rest: f(&v["rest"])?,
        })
    }
}

pub(super) fn cpu_per_call(r: &Value, t: &str, clients: &str) -> Option<CallCpu> {
    CallCpu::of(&r["targets"][t]["throughput"][clients]["cpu_ms_per_call"])
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

pub(super) fn memory(o: &mut String, r: &Value) {
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
}
