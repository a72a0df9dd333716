//! What knowing the caller costs: each authentication mode and Caller
//! authorization, per call.

use super::{Scenarios, f, ms};
use serde_json::Value;
use std::fmt::Write as _;

/// What each authentication mode and Caller authorization add per call.
pub(super) fn section(o: &mut String, r: &Value, scenarios: &Scenarios) {
    let id = &r["identity"];
    let _ = writeln!(o, "\n## Identity: what knowing the caller costs (ms)\n");
    if let Some(reason) = id["skipped"]
        .as_str()
        .or(id.is_null().then_some("not in this run"))
    {
        let _ = writeln!(o, "Not measured: {reason}");
        return;
    }
    let keys: Vec<&(String, String)> = scenarios
        .iter()
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
