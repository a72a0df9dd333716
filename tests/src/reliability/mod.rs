//! Reliability drivers: faults injected into the operator's world
//! (operator/tests/faults.rs), load against the server
//! (server/tests/soak.rs), and slow, bad and abandoning clients and an API
//! server outage (server/tests/abuse.rs, outage.rs), each bounded in count and time.
//!
//! Two sizes: `ci` (the default, what `scripts/test` runs in a few minutes)
//! and `long` (`KUBE_MCP_RELIABILITY=long`, what `scripts/reliability`
//! runs). With `KUBE_MCP_RELIABILITY_OUT=<dir>` every run also writes its
//! figures to `<dir>/<name>.json`; `kube-mcp-reliability` merges them into
//! docs/reliability.json and renders docs/reliability.md.

pub mod cluster;
pub mod hardening;
pub mod process;
pub mod report;
pub mod stats;

use serde_json::Value;

/// The size switch.
pub const SIZE_ENV: &str = "KUBE_MCP_RELIABILITY";
/// Where runs write their figures (unset: nowhere).
pub const OUT_ENV: &str = "KUBE_MCP_RELIABILITY_OUT";

/// How much each run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// `ci` or `long`.
    pub size: &'static str,
    /// Endpoint operations (creates, updates, rotations, deletes) per fault scenario.
    pub ops: usize,
    /// Endpoints created before the fault (each scenario).
    pub seed_endpoints: usize,
    /// Operator SIGKILLs in the kill scenario.
    pub kills: usize,
    /// Seconds of the mixed MCP load.
    pub load_seconds: u64,
    /// Concurrent MCP clients in the load.
    pub clients: usize,
    /// Sessions opened and abandoned in the session churn (half streamable
    /// HTTP, half legacy SSE).
    pub sessions: usize,
}

impl Budget {
    pub const CI: Budget = Budget {
        size: "ci",
        ops: 40,
        seed_endpoints: 8,
        kills: 6,
        load_seconds: 60,
        clients: 32,
        sessions: 2_000,
    };
    pub const LONG: Budget = Budget {
        size: "long",
        ops: 100,
        seed_endpoints: 16,
        kills: 20,
        load_seconds: 600,
        clients: 32,
        sessions: 10_000,
    };

    /// The size `KUBE_MCP_RELIABILITY` names.
    ///
    /// # Panics
    /// On a value other than `ci` or `long` (a typo would silently run the small size).
    pub fn from_env() -> Budget {
        match std::env::var(SIZE_ENV).as_deref() {
            Err(_) | Ok("") | Ok("ci") => Budget::CI,
            Ok("long") => Budget::LONG,
            Ok(other) => panic!("{SIZE_ENV}={other:?}: use `ci` (the default) or `long`"),
        }
    }
}

/// Records a run's figures: one line on stderr, and `<OUT>/<name>.json`
/// when `KUBE_MCP_RELIABILITY_OUT` is set.
///
/// # Panics
/// When the output directory cannot be written.
pub fn record(name: &str, figures: &Value) {
    eprintln!("reliability {name}: {figures}");
    let Some(dir) = std::env::var_os(OUT_ENV).filter(|d| !d.is_empty()) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(figures).unwrap_or_default();
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_run_does_more_of_everything_but_clients() {
        let (ci, long) = (Budget::CI, Budget::LONG);
        assert!(long.ops > ci.ops && long.kills > ci.kills);
        assert!(long.load_seconds >= 10 * ci.load_seconds);
        assert_eq!((long.ops, long.kills), (100, 20));
        assert_eq!((ci.load_seconds, long.load_seconds), (60, 600));
        assert_eq!(ci.clients, 32);
        assert_eq!((ci.sessions, long.sessions), (2_000, 10_000));
    }
}
