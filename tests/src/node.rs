//! A real node joined to a local control plane: containerd and runc run the
//! pods, a kubelet at the control plane's version manages them, CNI's bridge
//! plugin wires them to a bridge of their own. Built from the upstream Go
//! modules by `tests/node/build.sh`; the images (pause, kube-mcp-server,
//! busybox) come from `scripts/image` and are imported, never pulled.
//!
//! The node is tainted [`TAINT_KEY`]: only pods that tolerate it land here.
//! [`crate::fixture::real_node_namespace`] makes namespaces whose pods do
//! (the PodNodeSelector and PodTolerationRestriction admission plugins add
//! the node selector and toleration), so a workload needs no change.
//!
//! Pods reach the API server the way they do in a cluster, through the
//! `kubernetes` Service address: this machine holds [`SERVICE_IP`] on the
//! bridge and a small proxy there forwards to the API server on loopback
//! (there is no kube-proxy). Pods have no default route and this machine
//! does not forward, so a pod can reach nothing else.
//!
//! One real node per machine (the bridge, its addresses and the kubelet's
//! cgroups are machine-wide): a claim file says whose it is. Like the
//! control plane, its processes share a process group led by a watchdog
//! that tears everything down when the owning process goes away.

mod artifacts;
pub mod config;
mod host;
mod start;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::controlplane::{ComponentState, Error, io_err, pid_alive, signal_group};

pub use artifacts::{ensure_binaries, ensure_images};
pub use host::serve_proxy;

/// The node's name.
pub const NODE_NAME: &str = "real-node";
/// The label pods select the real node by (also the namespace node selector).
pub const NODE_LABEL: (&str, &str) = ("kube-mcp.io/node", "real");
/// The real node's taint (effect NoSchedule).
pub const TAINT_KEY: &str = "kube-mcp.io/real-node";
/// The pods' bridge.
pub const BRIDGE: &str = "kube-mcp0";
/// The pods' addresses.
pub const POD_SUBNET: &str = "10.88.0.0/24";
/// This machine's address on the bridge: the pods' gateway, the node's
/// InternalIP and the kubelet's listening address.
pub const GATEWAY: &str = "10.88.0.1";
/// The `kubernetes` Service's ClusterIP (first address of the control
/// plane's `--service-cluster-ip-range`), held by this machine on the bridge.
pub const SERVICE_IP: &str = "10.96.0.1";
/// The sandbox image (tests/node/pause.c).
pub const PAUSE_IMAGE: &str = "kube-mcp.local/pause:1";
/// A shell and a few tools (Debian's busybox-static), for tests.
pub const BUSYBOX_IMAGE: &str = "kube-mcp.local/busybox:1";
/// The server image the operator deploys by default, as `scripts/image` tags it.
pub const SERVER_IMAGE: &str = concat!(
    "ghcr.io/kube-mcp/kube-mcp-server:",
    env!("CARGO_PKG_VERSION")
);
/// Names the node directory of the real node this machine runs, and its leader's pid.
pub const CLAIM_FILE: &str = "/run/kube-mcp/real-node";
/// Name of the state file in a node's directory.
pub const STATE_FILE: &str = "node.json";
const TEARDOWN: &str = include_str!("../node/teardown.sh");

/// How to start a real node.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// Where state, configuration and logs go. `None`: a fresh temporary
    /// directory, removed when the node stops.
    pub data_dir: Option<PathBuf>,
    /// Keep running after this process exits; stop with [`stop_detached`].
    pub detach: bool,
    /// Bound on the start-up after the binaries and images are built.
    pub timeout: Duration,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            data_dir: None,
            detach: false,
            timeout: Duration::from_secs(120),
        }
    }
}

/// What `node.json` in the node's directory records.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeState {
    pub pgid: i32,
    pub components: Vec<ComponentState>,
    pub data_dir: PathBuf,
    pub bin_dir: PathBuf,
    pub detached: bool,
}

impl NodeState {
    pub fn read(dir: &Path) -> Result<NodeState, Error> {
        let path = dir.join(STATE_FILE);
        let text =
            fs::read_to_string(&path).map_err(io_err(format!("reading {}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::State(format!("parsing {}: {e}", path.display())))
    }
}

struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

/// A running real node. Dropping it (unless detached) stops it and removes
/// its directory.
pub struct RealNode {
    dir: PathBuf,
    bin_dir: PathBuf,
    pgid: i32,
    procs: Vec<Proc>,
    detached: bool,
    running: bool,
}

impl std::fmt::Debug for RealNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealNode")
            .field("dir", &self.dir)
            .field("pgid", &self.pgid)
            .finish()
    }
}

impl RealNode {
    /// The node's directory (configuration, `logs/`, containerd and kubelet state).
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Log file of a component (`containerd`, `kubelet`, `apiserver-proxy`).
    pub fn log_path(&self, component: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{component}.log"))
    }

    /// Leaves the node running when this value is dropped; returns its state.
    pub fn detach(mut self) -> NodeState {
        let state = self.state();
        self.running = false;
        state
    }

    /// Stops the node and removes its directory.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn state(&self) -> NodeState {
        NodeState {
            pgid: self.pgid,
            components: self
                .procs
                .iter()
                .map(|p| ComponentState {
                    name: p.name.clone(),
                    pid: p.child.id() as i32,
                    log: p.log.clone(),
                })
                .collect(),
            data_dir: self.dir.clone(),
            bin_dir: self.bin_dir.clone(),
            detached: self.detached,
        }
    }

    fn write_state(&self) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(&self.state())
            .map_err(|e| Error::State(format!("serializing node state: {e}")))?;
        let path = self.dir.join(STATE_FILE);
        fs::write(&path, text).map_err(io_err(format!("writing {}", path.display())))
    }

    fn shutdown(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        signal_group(self.pgid, libc::SIGTERM);
        // Nothing of the node's state outlives it: no need for a long grace.
        let deadline = Instant::now() + Duration::from_secs(3);
        // The leader ignores SIGTERM; wait for the components only.
        for p in self.procs.iter_mut().skip(1) {
            while Instant::now() < deadline {
                match p.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        teardown(&self.dir);
        signal_group(self.pgid, libc::SIGKILL);
        for p in self.procs.iter_mut() {
            let _ = p.child.wait();
        }
        remove_dir(&self.dir);
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs the node's teardown script (shims, containers, mounts, cgroups,
/// bridge, claim) for `dir`.
fn teardown(dir: &Path) {
    let script = dir.join("teardown.sh");
    if fs::write(&script, TEARDOWN).is_err() {
        warn!(dir = %dir.display(), "cannot write the teardown script");
        return;
    }
    let status = Command::new("sh")
        .arg(&script)
        .arg(dir)
        .stdin(Stdio::null())
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        warn!(dir = %dir.display(), ?status, "node teardown failed");
    }
}

/// Removes a node directory without crossing into a mount that survived the
/// teardown (a pod volume must never be deleted through its mount point).
fn remove_dir(dir: &Path) {
    let _ = Command::new("rm")
        .arg("-rf")
        .arg("--one-file-system")
        .arg(dir)
        .stdin(Stdio::null())
        .status();
}

/// Stops a detached node recorded in `<dir>/node.json`, tears it down and
/// removes the directory. Returns false when nothing was running.
pub fn stop_detached(dir: &Path) -> Result<bool, Error> {
    let state = match NodeState::read(dir) {
        Ok(s) => s,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            if dir.exists() {
                teardown(dir);
                remove_dir(dir);
            }
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    let components = || state.components.iter().skip(1);
    let any_alive = components().any(|c| pid_alive(c.pid));
    signal_group(state.pgid, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && components().any(|c| pid_alive(c.pid)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    teardown(dir);
    signal_group(state.pgid, libc::SIGKILL);
    remove_dir(dir);
    Ok(any_alive)
}

/// Namespace annotations that put a namespace's pods on the real node: the
/// PodNodeSelector and PodTolerationRestriction admission plugins add the
/// node selector and the toleration of [`TAINT_KEY`] to each pod.
pub fn namespace_annotations() -> serde_json::Value {
    let tolerations =
        serde_json::json!([{"key": TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]);
    serde_json::json!({
        "scheduler.alpha.kubernetes.io/node-selector": format!("{}={}", NODE_LABEL.0, NODE_LABEL.1),
        "scheduler.alpha.kubernetes.io/defaultTolerations": tolerations.to_string(),
    })
}

/// The node directory and leader pid this machine's claim file names, if any.
pub fn claim() -> Option<(PathBuf, i32)> {
    let text = fs::read_to_string(CLAIM_FILE).ok()?;
    let mut lines = text.lines();
    let dir = PathBuf::from(lines.next()?);
    let pid = lines.next()?.trim().parse().ok()?;
    Some((dir, pid))
}
