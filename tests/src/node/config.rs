//! The configuration files of a real node: containerd's, the CNI network's
//! and the kubelet's. Every path lives under the node's own directory, so
//! nothing is written to /etc, /var/lib or /opt.

use std::path::Path;

use super::{BRIDGE, GATEWAY, NODE_LABEL, PAUSE_IMAGE, POD_SUBNET, SERVICE_IP, TAINT_KEY};

/// Paths under a node's directory.
#[derive(Clone, Debug)]
pub struct Paths {
    pub dir: std::path::PathBuf,
}

impl Paths {
    pub fn containerd_config(&self) -> std::path::PathBuf {
        self.dir.join("containerd.toml")
    }
    pub fn containerd_socket(&self) -> std::path::PathBuf {
        self.dir.join("containerd").join("containerd.sock")
    }
    pub fn cni_conf_dir(&self) -> std::path::PathBuf {
        self.dir.join("cni").join("net.d")
    }
    pub fn kubelet_config(&self) -> std::path::PathBuf {
        self.dir.join("kubelet.json")
    }
    pub fn kubelet_kubeconfig(&self) -> std::path::PathBuf {
        self.dir.join("pki").join("kubelet.kubeconfig")
    }
    pub fn kubelet_root(&self) -> std::path::PathBuf {
        self.dir.join("kubelet")
    }
    pub fn ca_cert(&self) -> std::path::PathBuf {
        self.dir.join("pki").join("ca.crt")
    }
    pub fn log(&self, component: &str) -> std::path::PathBuf {
        self.dir.join("logs").join(format!("{component}.log"))
    }
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// containerd 2.x (config version 3): state, sockets, runc's state and the
/// pods' network namespaces under the node's directory; the pause image is
/// the one imported from tests/node/pause.c; cgroupfs (no systemd here).
pub fn containerd(paths: &Paths, bin: &Path) -> String {
    let d = p(&paths.dir);
    format!(
        r#"version = 3
# Nothing from the host's /etc/containerd.
imports = []
root = "{d}/containerd/root"
state = "{d}/containerd/state"
# NRI and CDI would read and write host-wide paths (/var/run/nri, /etc/cdi).
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"

[plugins.'io.containerd.internal.v1.opt']
  path = "{d}/containerd/opt"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "{PAUSE_IMAGE}"

[plugins.'io.containerd.cri.v1.runtime']
  netns_mounts_under_state_dir = true
  # No process here may lower its OOM score (CAP_SYS_RESOURCE is not in the
  # machine's bounding set): keep the kubelet's -998 for sandboxes at ours.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = "{bin}/runc"
      Root = "{d}/containerd/runc"
      SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["{bin}/cni"]
    conf_dir = "{cni}"

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"#,
        sock = p(&paths.containerd_socket()),
        bin = p(bin),
        cni = p(&paths.cni_conf_dir()),
    )
}

/// The pods' network: a bridge the node creates itself (with the gateway
/// address), no masquerading and no default route. A pod reaches the pods
/// beside it, this machine's gateway address and the `kubernetes` Service
/// address (which this machine answers): nothing else, since this machine
/// does not forward (`isGateway: false` keeps the bridge plugin from turning
/// forwarding on).
pub fn cni(paths: &Paths) -> serde_json::Value {
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": "kube-mcp",
        "plugins": [{
            "type": "bridge",
            "bridge": BRIDGE,
            "isGateway": false,
            "ipMasq": false,
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "dataDir": p(&paths.dir.join("cni").join("ipam")),
                "ranges": [[{"subnet": POD_SUBNET, "gateway": GATEWAY}]],
                "routes": [{"dst": format!("{SERVICE_IP}/32")}],
            },
        }],
    })
}

/// The kubelet's configuration: cgroup v1 allowed (this host has no v2),
/// cgroupfs, serving on the bridge address only, client certificates from
/// the cluster CA and webhook authorization (the API server's exec, logs and
/// port-forward requests), tainted so that only pods that tolerate it land
/// here, and no image garbage collection (the images are imported, not
/// pulled: a collected image could not come back).
pub fn kubelet(paths: &Paths, port: u16, healthz_port: u16) -> serde_json::Value {
    let d = &paths.dir;
    serde_json::json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": false,
        "cgroupDriver": "cgroupfs",
        // Without CAP_SYS_RESOURCE (see containerd's restrict_oom_score_adj)
        // the kubelet cannot lower its own OOM score either.
        "oomScoreAdj": 0,
        "containerRuntimeEndpoint": format!("unix://{}", p(&paths.containerd_socket())),
        "address": GATEWAY,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "authentication": {
            "anonymous": {"enabled": false},
            "webhook": {"enabled": true},
            "x509": {"clientCAFile": p(&paths.ca_cert())},
        },
        "authorization": {"mode": "Webhook"},
        "podLogsDir": p(&d.join("pod-logs")),
        "volumePluginDir": p(&d.join("volume-plugins")),
        "registerWithTaints": [{"key": TAINT_KEY, "value": "true", "effect": "NoSchedule"}],
        // No cluster DNS, and the host's resolvers are not the pods' business.
        "resolvConf": "",
        "failSwapOn": false,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "maxPods": 30,
        "serializeImagePulls": false,
        "nodeStatusReportFrequency": "10s",
        "nodeStatusUpdateFrequency": "5s",
        "syncFrequency": "10s",
        "shutdownGracePeriod": "0s",
    })
}

/// Command-line flags the kubelet takes besides `--config`.
pub fn kubelet_args(paths: &Paths, node: &str) -> Vec<String> {
    vec![
        format!("--config={}", p(&paths.kubelet_config())),
        format!("--kubeconfig={}", p(&paths.kubelet_kubeconfig())),
        format!("--root-dir={}", p(&paths.kubelet_root())),
        format!(
            "--cert-dir={}",
            p(&paths.dir.join("pki").join("kubelet-serving"))
        ),
        format!("--hostname-override={node}"),
        format!("--node-ip={GATEWAY}"),
        format!("--node-labels={}={}", NODE_LABEL.0, NODE_LABEL.1),
        "--v=2".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths {
            dir: "/tmp/node-x".into(),
        }
    }

    #[test]
    fn containerd_keeps_everything_under_the_node_dir() {
        let cfg = containerd(&paths(), Path::new("/cache/bin"));
        for needle in [
            "root = \"/tmp/node-x/containerd/root\"",
            "state = \"/tmp/node-x/containerd/state\"",
            "address = \"/tmp/node-x/containerd/containerd.sock\"",
            "BinaryName = \"/cache/bin/runc\"",
            "SystemdCgroup = false",
            "netns_mounts_under_state_dir = true",
            "sandbox = \"kube-mcp.local/pause:1\"",
            "conf_dir = \"/tmp/node-x/cni/net.d\"",
        ] {
            assert!(cfg.contains(needle), "missing {needle}:\n{cfg}");
        }
    }

    #[test]
    fn pods_get_no_default_route_and_no_forwarding() {
        let cni = cni(&paths());
        let bridge = &cni["plugins"][0];
        assert_eq!(bridge["isGateway"], false);
        assert_eq!(bridge["ipMasq"], false);
        assert_eq!(
            bridge["ipam"]["routes"],
            serde_json::json!([{"dst": "10.96.0.1/32"}])
        );
        assert_eq!(bridge["ipam"]["dataDir"], "/tmp/node-x/cni/ipam");
    }

    #[test]
    fn kubelet_allows_cgroup_v1_and_serves_on_the_bridge() {
        let k = kubelet(&paths(), 10250, 10248);
        assert_eq!(k["failCgroupV1"], false);
        assert_eq!(k["cgroupDriver"], "cgroupfs");
        assert_eq!(k["address"], GATEWAY);
        assert_eq!(k["authentication"]["anonymous"]["enabled"], false);
        assert_eq!(k["registerWithTaints"][0]["key"], TAINT_KEY);
        let args = kubelet_args(&paths(), "n");
        assert!(args.contains(&"--node-labels=kube-mcp.io/node=real".to_string()));
    }
}
