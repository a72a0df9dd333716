//! Fuzzing on stable: each target of `kube_mcp_server::fuzz` replays its
//! committed corpus (server/fuzz/corpus/<target>/: seeds, and every crash
//! ever found, as regressions), then runs mutations of the corpus and raw
//! random bytes through proptest, which shrinks a panic to a minimal input.
//!
//! Bounded: `KUBE_MCP_FUZZ_SECONDS` per target (default 2, what CI runs)
//! and `KUBE_MCP_FUZZ_CASES` at most per target. scripts/fuzz runs it
//! longer, with `KUBE_MCP_FUZZ_SAVE=1` writing each minimal crash into the
//! corpus as `crash-<hash>`.

use kube_mcp_server::fuzz::Target;
use kube_mcp_tests::reliability;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus");

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: not a number")),
        _ => default,
    }
}

fn corpus(t: Target) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(CORPUS).join(t.name());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

/// Tokens that matter to the parsers, spliced in by mutations.
const DICTIONARY: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "[*]",
    "..",
    ".",
    ":",
    ",",
    "=",
    "-",
    "--",
    "---\n",
    "\n",
    "\"",
    "'",
    "\\",
    "*",
    "$",
    "@",
    "?(",
    ")",
    "0",
    "-1",
    "99999999999999999999",
    "1e308",
    "null",
    "true",
    "{}",
    "[]",
    "kind",
    "List",
    "items",
    "metadata",
    "/",
    "/api/v1/",
    "namespaces",
    "custom-columns=",
    "jsonrpc",
    "2.0",
    "method",
    "params",
    "id",
    "h",
    "ms",
    "\u{0}",
    "\u{feff}",
    "é",
    "&a",
    "*a",
    "!!binary",
    "<<: *a",
];

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize, usize),
    Flip(usize, u8),
    Splice(usize, usize),
    Repeat(usize, usize),
}

fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
        match *e {
            Edit::Insert(i, b) => {
                let i = at(i, data.len());
                data.insert(i, b);
            }
            Edit::Delete(i, n) => {
                let i = at(i, data.len());
                let end = (i + n % 16).min(data.len());
                data.drain(i..end);
            }
            Edit::Flip(i, bit) => {
                if !data.is_empty() {
                    let i = i % data.len();
                    data[i] ^= 1 << (bit % 8);
                }
            }
            Edit::Splice(i, token) => {
                let i = at(i, data.len());
                let t = DICTIONARY[token % DICTIONARY.len()].as_bytes();
                data.splice(i..i, t.iter().copied());
            }
            Edit::Repeat(i, n) => {
                // A chunk repeated: deep nesting, long lists.
                let i = at(i, data.len());
                let end = (i + 1 + n % 8).min(data.len());
                let chunk = data[i..end].to_vec();
                for _ in 0..(n % 64) {
                    data.splice(i..i, chunk.iter().copied());
                }
            }
        }
        // Inputs stay small: the request body limit is far above what finds bugs.
        data.truncate(64 * 1024);
    }
    data
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, t)| Edit::Splice(i, t)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
}

/// A corpus entry with a few edits, or random bytes.
fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (prop::sample::select(seeds), prop::collection::vec(edit(), 1..8))
            .prop_map(|(seed, edits)| apply(seed, &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

/// Keeps a minimal crash as a regression in the corpus.
fn save(t: Target, data: &[u8]) -> Option<PathBuf> {
    use std::hash::{Hash, Hasher};
    if std::env::var("KUBE_MCP_FUZZ_SAVE").as_deref() != Ok("1") {
        return None;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    let path = PathBuf::from(CORPUS)
        .join(t.name())
        .join(format!("crash-{:016x}", h.finish()));
    std::fs::write(&path, data).ok()?;
    Some(path)
}

#[test]
fn every_corpus_file_runs_without_a_panic() {
    for t in Target::ALL {
        let files = corpus(t);
        assert!(files.len() >= 8, "{}: only {} seeds", t.name(), files.len());
        for (path, data) in files {
            let r = std::panic::catch_unwind(|| t.run(&data));
            assert!(r.is_ok(), "{} panics on {}", t.name(), path.display());
        }
    }
}

#[test]
fn mutated_inputs_run_without_a_panic() {
    let seconds: u64 = env_or("KUBE_MCP_FUZZ_SECONDS", 2);
    let max_cases: u64 = env_or("KUBE_MCP_FUZZ_CASES", 1_000_000);
    let seed: u64 = env_or("KUBE_MCP_FUZZ_SEED", rand_seed());
    let mut figures = serde_json::Map::new();
    let mut crashes = vec![];
    for (n, t) in Target::ALL.into_iter().enumerate() {
        let seeds: Vec<Vec<u8>> = corpus(t).into_iter().map(|(_, d)| d).collect();
        let strategy = input(seeds);
        let started = Instant::now();
        let mut cases = 0u64;
        let mut batch = 0u64;
        // Batches of fresh random streams until the time or the count is up.
        while started.elapsed() < Duration::from_secs(seconds) && cases < max_cases {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&seed.to_le_bytes());
            key[8..16].copy_from_slice(&(n as u64).to_le_bytes());
            key[16..24].copy_from_slice(&batch.to_le_bytes());
            let config = Config {
                cases: 256,
                failure_persistence: None,
                max_shrink_iters: 4096,
                ..Config::default()
            };
            let mut runner =
                TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
            let r = runner.run(&strategy, |data| {
                t.run(&data);
                Ok(())
            });
            cases += 256;
            batch += 1;
            if let Err(TestError::Fail(why, data)) = r {
                let saved = save(t, &data);
                crashes.push(format!(
                    "{}: {why} on {:?} (saved: {saved:?})",
                    t.name(),
                    String::from_utf8_lossy(&data)
                ));
                break;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        figures.insert(
            t.name().into(),
            json!({"cases": cases, "seconds": (secs * 10.0).round() / 10.0,
                   "per_second": (cases as f64 / secs.max(0.001)).round(),
                   "corpus": corpus(t).len()}),
        );
    }
    reliability::record(
        "server-fuzz",
        // A string: JSON readers take numbers as f64, which would round it.
        &json!({"seed": seed.to_string(), "seconds_per_target": seconds, "targets": figures, "crashes": crashes.len()}),
    );
    assert!(
        crashes.is_empty(),
        "replay with KUBE_MCP_FUZZ_SEED={seed}:\n{}",
        crashes.join("\n")
    );
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[test]
fn a_yaml_alias_bomb_is_refused_quickly() {
    // 9^9 nodes if aliases were expanded: serde-saphyr's node budget
    // refuses it. Not in the mutation corpus: each parse takes seconds in a
    // debug build, which would starve the manifest target.
    let path = PathBuf::from(CORPUS).join("../slow/manifest-yaml-bomb");
    let text = std::fs::read_to_string(&path).unwrap();
    let started = Instant::now();
    let r = kube_mcp_server::tools::manifest::parse(&text);
    let err = r.expect_err("the bomb parsed").to_string();
    assert!(err.contains("budget"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
