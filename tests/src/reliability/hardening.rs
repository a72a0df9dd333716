//! The report's sections on the server's hardening runs
//! (server/tests/abuse.rs, outage.rs, fuzz.rs): slow clients, abandoned
//! sessions, the API server restarted under load, and fuzzing.

use super::report::num;
use serde_json::Value;
use std::fmt::Write as _;

pub fn sections(o: &mut String, r: &Value) {
    let runs = &r["runs"];
    let any = [
        "server-slowloris",
        "server-sessions",
        "server-apiserver-restart",
    ]
    .iter()
    .any(|k| runs.get(*k).is_some());
    if any {
        let _ = writeln!(o, "\n## Server against bad clients and a lost API server\n");
    }
    if let Some(s) = runs.get("server-slowloris") {
        let _ = writeln!(
            o,
            "**Slowloris.** {} raw TCP clients each send an unfinished request head and one \
             more header line every 250 ms, against a header timeout of {} s \
             (`KUBE_MCP_HEADER_TIMEOUT_SECONDS`; 10 s by default). The server closed them after \
             {}–{} ms. A tool call took {} ms before they connected, {} ms while they were \
             held, {} ms from a client that connected meanwhile.\n",
            num(&s["clients"]),
            num(&s["header_timeout_seconds"]),
            num(&s["held_ms"]["min"]),
            num(&s["held_ms"]["max"]),
            num(&s["call_ms"]["before"]),
            num(&s["call_ms"]["during"]),
            num(&s["call_ms"]["new_client_during"]),
        );
    }
    if let Some(s) = runs.get("server-sessions") {
        let _ = writeln!(
            o,
            "**Abandoned sessions** ({} size). {} sessions per round, 32 at a time: half \
             streamable HTTP (initialize, never DELETE), half legacy SSE (dropped after the \
             first event), with sessions idle for {} s closed. VmRSS idle before: {} MiB.\n",
            num(&s["size"]),
            num(&s["sessions"]),
            num(&s["idle_seconds"]),
            num(&s["rss_idle_mib"]),
        );
        let _ = writeln!(
            o,
            "| round | opened in (s) | opens/s | held after opening (http, sse) | all closed after (s) | RSS peak (MiB) | RSS after (MiB) |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|");
        for (i, round) in s["rounds"].as_array().into_iter().flatten().enumerate() {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {}, {} | {} | {} | {} |",
                i + 1,
                num(&round["open_seconds"]),
                num(&round["opens_per_second"]),
                num(&round["held_after_opening"]["http"]),
                num(&round["held_after_opening"]["sse"]),
                num(&round["all_closed_after_seconds"]),
                num(&round["rss_mib"]["peak"]),
                num(&round["rss_mib"]["after"]),
            );
        }
        let _ = writeln!(
            o,
            "\nAfter each round VmRSS is back within a few MiB of idle, and the second round \
             ends where the first did: nothing is kept per session. glibc keeps what a burst \
             freed unless asked; the server trims its heap (`malloc_trim`) once sessions \
             have closed.\n"
        );
    }
    if let Some(s) = runs.get("server-apiserver-restart") {
        let _ = writeln!(
            o,
            "**API server restarted under load.** 4 MCP clients call `kubectl_get` every \
             100 ms and `/ready` is polled every 250 ms while kube-apiserver is stopped and \
             started again (down {} s). {} of {} calls during the outage failed, each with a \
             tool error naming the API server (`{}`); `/ready` answered 503 {} s after the \
             stop and 200 {} s after the API server was back; the first call succeeded {} s \
             after; {} calls failed after recovery. The same server process throughout.\n",
            num(&s["down_seconds"]),
            num(&s["failed_during_outage"]),
            num(&s["calls_during_outage"]),
            num(&s["first_error"]),
            num(&s["ready_503_after_seconds"]),
            num(&s["ready_200_after_up_seconds"]),
            num(&s["first_ok_call_after_up_seconds"]),
            num(&s["errors_after_recovery"]),
        );
    }
    if let Some(s) = runs.get("server-fuzz") {
        let _ = writeln!(o, "\n## Fuzzing\n");
        let _ = writeln!(
            o,
            "`server/tests/fuzz.rs` on stable (proptest): each target replays its corpus \
             (`server/fuzz/corpus/<target>`) and runs mutations of it and random bytes for {} s \
             (seed {}). Crashes: {}.\n",
            num(&s["seconds_per_target"]),
            num(&s["seed"]),
            num(&s["crashes"]),
        );
        let _ = writeln!(o, "| target | corpus files | cases | cases/s |");
        let _ = writeln!(o, "|---|---|---|---|");
        for (name, t) in s["targets"].as_object().into_iter().flatten() {
            let _ = writeln!(
                o,
                "| {name} | {} | {} | {} |",
                num(&t["corpus"]),
                num(&t["cases"]),
                num(&t["per_second"]),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_each_run_it_finds() {
        let r = json!({"runs": {
            "server-slowloris": {"clients": 50, "header_timeout_seconds": 2, "held_ms": {"min": 2001, "max": 2010},
                                 "call_ms": {"before": 60, "during": 12, "new_client_during": 9}},
            "server-sessions": {"size": "ci", "sessions": 2000, "idle_seconds": 2, "rss_idle_mib": 43.7,
                                "rounds": [{"open_seconds": 2.1, "opens_per_second": 950, "held_after_opening": {"http": 940, "sse": 0},
                                            "all_closed_after_seconds": 2.0, "rss_mib": {"peak": 124.8, "after": 50.5}}]},
            "server-apiserver-restart": {"down_seconds": 18.1, "failed_during_outage": 551, "calls_during_outage": 597,
                                         "first_error": "cannot reach the API server at https://127.0.0.1:1",
                                         "ready_503_after_seconds": 0.06, "ready_200_after_up_seconds": 0.0,
                                         "first_ok_call_after_up_seconds": 0.08, "errors_after_recovery": 0},
            "server-fuzz": {"seconds_per_target": 2, "seed": 7, "crashes": 0,
                            "targets": {"duration": {"corpus": 18, "cases": 15000, "per_second": 7500}}}
        }});
        let mut o = String::new();
        sections(&mut o, &r);
        for want in [
            "closed them after 2001–2010 ms",
            "| 1 | 2.10 | 950 | 940, 0 | 2 | 125 | 50.50 |",
            "551 of 597 calls",
            "| duration | 18 | 15000 | 7500 |",
        ] {
            assert!(o.contains(want), "{want:?} not in:\n{o}");
        }
        let mut none = String::new();
        sections(&mut none, &json!({"runs": {}}));
        assert!(none.is_empty(), "{none}");
    }
}
