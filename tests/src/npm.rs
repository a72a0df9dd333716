//! The npm packages scripts/test installs (node@22, the MCP inspector CLI,
//! the conformance suite), run by tests.

use std::path::PathBuf;
use std::time::Duration;

/// The node binary and the script of `bin` (KUBE_MCP_NODE_DIR, else the cache's).
pub fn tool(bin: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::var("KUBE_MCP_NODE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/kube-mcp/node")
        });
    let node = dir.join("node_modules/node/bin/node");
    let script = dir.join("node_modules/.bin").join(bin);
    assert!(
        node.exists() && script.exists(),
        "{} or {} missing: run scripts/test, which installs them from npm",
        node.display(),
        script.display()
    );
    (node, script)
}

/// Runs `bin` of the npm packages with `args` (bounded to three minutes):
/// whether it succeeded, and its stdout and stderr.
pub async fn run(bin: &str, args: &[&str]) -> (bool, String) {
    let (node, script) = tool(bin);
    let path = format!(
        "{}:{}",
        node.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(&node)
            .arg(&script)
            .args(args)
            .env("PATH", path)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("node tool timed out")
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
