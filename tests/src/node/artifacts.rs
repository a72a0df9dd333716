//! What a real node runs: its binaries (`tests/node/build.sh`) and the
//! images it imports (`scripts/image`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::controlplane::{Error, io_err};

/// Runs a build script that prints a directory on its last stdout line
/// (progress on stderr) and checks that `expect` is in it.
fn run_script(mut cmd: Command, what: &str, expect: &str) -> Result<PathBuf, Error> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(io_err(format!("running {what}")))?;
    if !out.status.success() {
        return Err(Error::State(format!(
            "{what} failed ({}); see its output above",
            out.status
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| PathBuf::from(l.trim()))
        .ok_or_else(|| Error::State(format!("{what} printed no directory")))?;
    if !dir.join(expect).exists() {
        return Err(Error::State(format!(
            "{what} named {} but it has no {expect}",
            dir.display()
        )));
    }
    Ok(dir)
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The directory with kubelet, containerd, ctr, the shim, runc and `cni/`,
/// running `tests/node/build.sh` first when they are not cached
/// (`$KUBE_MCP_NODE_BIN_DIR` overrides).
pub fn ensure_binaries() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("KUBE_MCP_NODE_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut cmd = Command::new("bash");
    cmd.arg(repo_file("node/build.sh"));
    run_script(cmd, "tests/node/build.sh", "kubelet")
}

/// The directory with the image tars (`kube-mcp-server.tar`, `test/*.tar`):
/// `$KUBE_MCP_IMAGES`, else what `scripts/image --test-images` builds (with
/// the cargo profile `$KUBE_MCP_IMAGE_PROFILE`, default `dev`: the release
/// build takes three times as long and tests nothing more).
pub fn ensure_images() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("KUBE_MCP_IMAGES") {
        return Ok(PathBuf::from(dir));
    }
    let profile = std::env::var("KUBE_MCP_IMAGE_PROFILE").unwrap_or_else(|_| "dev".into());
    let mut cmd = Command::new("bash");
    cmd.arg(repo_file("../scripts/image"))
        .args(["--profile", &profile])
        .arg("--test-images");
    run_script(cmd, "scripts/image", "test/pause.tar")
}

/// Every image tar in `dir` and `dir/test`.
pub(super) fn image_tars(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut tars = vec![];
    for d in [dir.to_path_buf(), dir.join("test")] {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "tar") {
                tars.push(e.path());
            }
        }
    }
    tars.sort();
    if !tars.iter().any(|t| t.ends_with("test/pause.tar")) {
        return Err(Error::State(format!(
            "{} has no test/pause.tar (run scripts/image --test-images)",
            dir.display()
        )));
    }
    Ok(tars)
}
