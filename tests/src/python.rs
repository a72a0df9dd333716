//! The official Python MCP SDK (installed by scripts/test) driving a
//! server through tests/clients/py_client.py.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What one run of the Python client printed.
#[derive(Debug)]
pub struct PyRun {
    pub ok: bool,
    /// The JSON object it printed (Null when it printed none).
    pub out: Value,
    pub stderr: String,
}

/// The venv's python: `KUBE_MCP_PYTHON`, else the cache's.
pub fn python() -> PathBuf {
    let p = std::env::var("KUBE_MCP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/kube-mcp/venv/bin/python")
        });
    assert!(
        p.exists(),
        "{} is missing: run scripts/test, which installs the Python MCP SDK",
        p.display()
    );
    p
}

/// Runs py_client.py with `args` (bounded to two minutes).
pub async fn run(args: &[&str]) -> PyRun {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/py_client.py");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python())
            .arg(&script)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("py_client.py {args:?} did not finish in 120s"))
    .unwrap_or_else(|e| panic!("cannot run py_client.py: {e}"));
    PyRun {
        ok: out.status.success(),
        out: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
