//! A control plane of this test process's own, for tests that inject
//! faults into it (restart the API server, freeze etcd). Never the cluster
//! `$KUBE_MCP_KUBECONFIG` names: that one is shared with other test
//! binaries, and its processes are not ours to stop.

use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::controlplane::{ControlPlane, Options};

static OWN: Mutex<Option<ControlPlane>> = Mutex::const_new(None);

/// The process's own control plane, started on first use (about 10 s), held
/// by one test at a time: faults in one test must not land in another's
/// run. Whatever a failed test left frozen is thawed first.
///
/// # Panics
/// When the control plane cannot start (test start-up).
pub async fn exclusive() -> MappedMutexGuard<'static, ControlPlane> {
    let mut guard = OWN.lock().await;
    match guard.as_ref() {
        Some(cp) => {
            for component in ["etcd", "kube-apiserver"] {
                let _ = cp.resume(component);
            }
        }
        None => {
            let started = std::time::Instant::now();
            let cp = ControlPlane::start(Options::default())
                .await
                .unwrap_or_else(|e| panic!("starting a control plane for fault tests: {e}"));
            eprintln!(
                "kube-mcp: own control plane for fault tests at {} ready in {:.1}s",
                cp.server_url(),
                started.elapsed().as_secs_f64()
            );
            *guard = Some(cp);
        }
    }
    MutexGuard::map(guard, |cp| match cp {
        Some(cp) => cp,
        None => unreachable!("started above"),
    })
}

/// The admin kubeconfig of `cp` with its API server reached at `url`
/// instead (a [`crate::proxy::Proxy`] in front of it).
pub fn kubeconfig_via(cp: &ControlPlane, url: &str) -> String {
    let yaml = std::fs::read_to_string(cp.kubeconfig_path())
        .unwrap_or_else(|e| panic!("reading {}: {e}", cp.kubeconfig_path().display()));
    assert!(
        yaml.contains(cp.server_url()),
        "the admin kubeconfig does not name {}",
        cp.server_url()
    );
    yaml.replace(cp.server_url(), url)
}

/// The API server's loopback address.
pub fn apiserver_addr(cp: &ControlPlane) -> std::net::SocketAddr {
    let hostport = cp
        .server_url()
        .trim_start_matches("https://")
        .trim_end_matches('/');
    hostport
        .parse()
        .unwrap_or_else(|e| panic!("API server address {hostport:?}: {e}"))
}
