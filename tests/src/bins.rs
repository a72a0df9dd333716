//! Finds this workspace's binaries (kube-mcp-server, kube-mcp-operator) in
//! the cargo target directory the running executable was built into.

use std::path::PathBuf;

/// The path of workspace binary `name`, built by `cargo build --workspace --bins`.
///
/// # Panics
/// When it has not been built (test start-up): the message says how to build it.
pub fn path(name: &str) -> PathBuf {
    try_path(name).unwrap_or_else(|| {
        panic!("{name} is not built: run `cargo build --workspace --bins` (scripts/test does) and retry")
    })
}

pub fn try_path(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/test-binary or target/<profile>/binary
    exe.ancestors()
        .skip(1)
        .take(3)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
