//! Starting a real node: binaries and images, the bridge, the kubelet's
//! client certificate (a CertificateSigningRequest the admin approves),
//! containerd, the images, the API server proxy and the kubelet.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use tracing::{debug, info};

use super::config::{self, Paths};
use super::{
    BRIDGE, CLAIM_FILE, GATEWAY, NODE_NAME, NodeOptions, Proc, RealNode, SERVICE_IP, TEARDOWN,
    claim, teardown,
};
use crate::controlplane::{
    ControlPlane, Error, free_ports, ignore_sighup, io_err, log_tail, node_ready, pid_alive,
    write_file,
};
use crate::kubeconfig::{self, Credential};
use crate::pki;

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
/// `$KUBE_MCP_IMAGES`, else what `scripts/image --test-images` builds.
pub fn ensure_images() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("KUBE_MCP_IMAGES") {
        return Ok(PathBuf::from(dir));
    }
    let mut cmd = Command::new("bash");
    cmd.arg(repo_file("../scripts/image")).arg("--test-images");
    run_script(cmd, "scripts/image", "test/pause.tar")
}

/// Every image tar in `dir` and `dir/test`.
fn image_tars(dir: &Path) -> Result<Vec<PathBuf>, Error> {
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

/// Forwards every TCP connection to `listen` to `upstream`: the
/// `kubernetes` Service for pods, with no kube-proxy. Runs until killed.
pub async fn serve_proxy(listen: SocketAddr, upstream: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    loop {
        let (mut inbound, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Ok(mut out) = tokio::net::TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
            }
        });
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), Error> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("running {program}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::State(format!(
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Refuses when another live real node holds this machine; tears down one
/// whose owner died without cleaning up.
fn take_over_machine() -> Result<(), Error> {
    if let Some((dir, pid)) = claim() {
        if pid_alive(pid) {
            return Err(Error::State(format!(
                "a real node already runs on this machine (directory {}, leader pid {pid}); \
                 stop it first (`kube-mcp-dev down`), or point tests at its cluster with KUBE_MCP_KUBECONFIG",
                dir.display()
            )));
        }
        info!(dir = %dir.display(), "tearing down a real node whose owner is gone");
        teardown(&dir);
        super::remove_dir(&dir);
        let _ = fs::remove_file(CLAIM_FILE);
    }
    // A bridge without a claim is left over from a crash before the claim was written.
    let _ = Command::new("ip")
        .args(["link", "delete", BRIDGE])
        .stderr(Stdio::null())
        .status();
    Ok(())
}

fn create_bridge() -> Result<(), Error> {
    run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
    run(
        "ip",
        &["addr", "add", &format!("{GATEWAY}/24"), "dev", BRIDGE],
    )?;
    run(
        "ip",
        &["addr", "add", &format!("{SERVICE_IP}/32"), "dev", BRIDGE],
    )?;
    run("ip", &["link", "set", BRIDGE, "up"])
}

/// A client certificate for `system:node:<name>`, the way kubelets get
/// theirs: a CertificateSigningRequest to the kubelet client signer, approved
/// by the admin, signed by the controller-manager.
async fn kubelet_credentials(
    client: &kube::Client,
    started: Instant,
    deadline: Instant,
) -> Result<pki::CertPair, Error> {
    let pki_err = |source| Error::Pki {
        what: "the kubelet's client certificate request".into(),
        source,
    };
    let key = rcgen::KeyPair::generate().map_err(pki_err)?;
    let mut params = pki::client_params(&format!("system:node:{NODE_NAME}"), &["system:nodes"]);
    // The signer adds the issuer's key identifier; a request cannot name it.
    params.use_authority_key_identifier_extension = false;
    let request = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .map_err(pki_err)?;
    let name = format!("{NODE_NAME}-{}", crate::fixture::random_suffix(6));
    let csr: CertificateSigningRequest = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {
            "request": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, request),
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"],
        },
    }))
    .map_err(|e| Error::State(format!("CSR manifest: {e}")))?;
    let api: Api<CertificateSigningRequest> = Api::all(client.clone());
    api.create(&PostParams::default(), &csr).await?;
    let approval = serde_json::json!({"status": {"conditions": [{
        "type": "Approved", "status": "True", "reason": "KubeMcpRealNode",
        "message": "a real node for kube-mcp's tests",
    }]}});
    api.patch_approval(&name, &PatchParams::default(), &Patch::Merge(&approval))
        .await?;
    loop {
        let cert = api
            .get(&name)
            .await?
            .status
            .and_then(|s| s.certificate)
            .filter(|c| !c.0.is_empty());
        if let Some(cert) = cert {
            return Ok(pki::CertPair {
                cert_pem: String::from_utf8_lossy(&cert.0).into_owned(),
                key_pem: key.serialize_pem(),
            });
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: format!("the controller-manager to sign CSR {name}"),
                secs: started.elapsed().as_secs(),
                details: String::new(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The group leader: a watchdog that tears the node down when the owning
/// process goes away, or (detached) a placeholder that holds the group.
fn spawn_leader(dir: &Path, detach: bool) -> Result<Proc, Error> {
    let log = dir.join("logs").join("watchdog.log");
    let file = fs::File::create(&log).map_err(io_err(format!("creating {}", log.display())))?;
    let mut cmd = Command::new("sh");
    if detach {
        cmd.args([
            "-c",
            "trap '' HUP INT TERM; while :; do sleep 3600; done",
            "kube-mcp-node-holder",
        ]);
        ignore_sighup(&mut cmd);
    } else {
        cmd.args([
            "-c",
            "trap '' HUP INT TERM\n\
             while kill -0 \"$1\" 2>/dev/null; do sleep 1; done\n\
             kill -TERM 0 2>/dev/null\n\
             sleep 2\n\
             sh \"$2/teardown.sh\" \"$2\"\n\
             rm -rf --one-file-system \"$2\"\n\
             kill -KILL 0",
            "kube-mcp-node-watchdog",
        ])
        .arg(std::process::id().to_string())
        .arg(dir);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .process_group(0);
    let child = cmd.spawn().map_err(io_err("starting the node watchdog"))?;
    Ok(Proc {
        name: if detach { "holder" } else { "watchdog" }.into(),
        child,
        log,
    })
}

impl RealNode {
    /// Builds the binaries and images if needed, then starts a node, joins
    /// it to `cp` and waits until it is Ready. Needs root (bridge, mounts,
    /// cgroups) and a tokio runtime.
    pub async fn start(cp: &ControlPlane, opts: NodeOptions) -> Result<RealNode, Error> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(Error::State(
                "a real node needs root (bridge, mounts, cgroups)".into(),
            ));
        }
        let bin = ensure_binaries()?;
        let images = image_tars(&ensure_images()?)?;
        let started = Instant::now();
        let deadline = started + opts.timeout;
        take_over_machine()?;
        let dir = match &opts.data_dir {
            Some(d) => d.clone(),
            None => tempfile::Builder::new()
                .prefix(&format!("kube-mcp-node-{}-", std::process::id()))
                .tempdir()
                .map_err(io_err("creating a temp dir"))?
                .keep(),
        };
        let paths = Paths { dir: dir.clone() };
        for sub in ["logs", "pki", "cni/net.d", "containerd"] {
            let p = dir.join(sub);
            fs::create_dir_all(&p).map_err(io_err(format!("creating {}", p.display())))?;
        }
        write_file(&dir.join("teardown.sh"), TEARDOWN, false)?;
        let leader = spawn_leader(&dir, opts.detach)?;
        let mut node = RealNode {
            dir: dir.clone(),
            bin_dir: bin.clone(),
            pgid: leader.child.id() as i32,
            procs: vec![leader],
            detached: opts.detach,
            running: true,
        };
        fs::create_dir_all("/run/kube-mcp").map_err(io_err("creating /run/kube-mcp"))?;
        write_file(
            Path::new(CLAIM_FILE),
            &format!("{}\n{}\n", dir.display(), node.pgid),
            false,
        )?;
        node.write_state()?;
        create_bridge()?;

        let client = cp.try_client().await?;
        let creds = kubelet_credentials(&client, started, deadline).await?;
        let user = format!("system:node:{NODE_NAME}");
        let cred = Credential::ClientCert {
            cert_pem: &creds.cert_pem,
            key_pem: &creds.key_pem,
        };
        let kc = kubeconfig::render(cp.server_url(), cp.ca_pem(), &user, &cred);
        write_file(&paths.kubelet_kubeconfig(), &kc, true)?;
        write_file(&paths.ca_cert(), cp.ca_pem(), false)?;
        write_file(
            &paths.containerd_config(),
            &config::containerd(&paths, &bin),
            false,
        )?;
        let cni = serde_json::to_string_pretty(&config::cni(&paths))
            .map_err(|e| Error::State(format!("CNI config: {e}")))?;
        write_file(
            &paths.cni_conf_dir().join("10-kube-mcp.conflist"),
            &cni,
            false,
        )?;
        let ports = free_ports(2)?;
        let kubelet_cfg =
            serde_json::to_string_pretty(&config::kubelet(&paths, ports[0], ports[1]))
                .map_err(|e| Error::State(format!("kubelet config: {e}")))?;
        write_file(&paths.kubelet_config(), &kubelet_cfg, false)?;

        // The shim and runc are found on PATH.
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let containerd_cfg = paths.containerd_config().display().to_string();
        node.spawn(
            "containerd",
            &bin.join("containerd"),
            &["--config".into(), containerd_cfg],
            &path,
        )?;
        node.wait_containerd(&bin, &paths, started, deadline)?;
        node.import_images(&bin, &paths, &images)?;

        let upstream = cp
            .server_url()
            .trim_start_matches("https://")
            .parse::<SocketAddr>()
            .map_err(|e| Error::State(format!("API server address {}: {e}", cp.server_url())))?;
        let dev = crate::bins::try_path("kube-mcp-dev").ok_or_else(|| {
            Error::State("kube-mcp-dev is not built (cargo build -p kube-mcp-tests --bins)".into())
        })?;
        node.spawn(
            "apiserver-proxy",
            &dev,
            &[
                "proxy".into(),
                format!("--listen={SERVICE_IP}:443"),
                format!("--to={upstream}"),
            ],
            &path,
        )?;
        node.spawn(
            "kubelet",
            &bin.join("kubelet"),
            &config::kubelet_args(&paths, NODE_NAME),
            &path,
        )?;
        node.wait_ready(&client, started, deadline).await?;
        node.write_state()?;
        info!(elapsed_ms = started.elapsed().as_millis() as u64, dir = %dir.display(), "real node ready");
        Ok(node)
    }

    fn spawn(
        &mut self,
        name: &str,
        program: &Path,
        args: &[String],
        path: &str,
    ) -> Result<(), Error> {
        let log = self.log_path(name);
        let file = fs::File::create(&log).map_err(io_err(format!("creating {}", log.display())))?;
        let err = file.try_clone().map_err(io_err("cloning a log handle"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("PATH", path)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .process_group(self.pgid);
        if self.detached {
            ignore_sighup(&mut cmd);
        }
        debug!(component = name, ?args, "spawning");
        let child = cmd.spawn().map_err(io_err(format!("starting {name}")))?;
        self.procs.push(Proc {
            name: name.into(),
            child,
            log,
        });
        self.write_state()
    }

    fn check_alive(&mut self) -> Result<(), Error> {
        for p in self.procs.iter_mut() {
            if let Ok(Some(status)) = p.child.try_wait() {
                return Err(Error::ComponentExited {
                    component: p.name.clone(),
                    status: status.to_string(),
                    log: p.log.display().to_string(),
                    tail: log_tail(&p.log, 25),
                });
            }
        }
        Ok(())
    }

    fn ctr(&self, bin: &Path, paths: &Paths) -> Command {
        let mut cmd = Command::new(bin.join("ctr"));
        cmd.arg("--address")
            .arg(paths.containerd_socket())
            .args(["--namespace", "k8s.io"])
            .stdin(Stdio::null());
        cmd
    }

    fn wait_containerd(
        &mut self,
        bin: &Path,
        paths: &Paths,
        started: Instant,
        deadline: Instant,
    ) -> Result<(), Error> {
        loop {
            self.check_alive()?;
            let ok = self
                .ctr(bin, paths)
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: "containerd's socket".into(),
                    secs: started.elapsed().as_secs(),
                    details: format!("\n{}", log_tail(&self.log_path("containerd"), 15)),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn import_images(&self, bin: &Path, paths: &Paths, tars: &[PathBuf]) -> Result<(), Error> {
        for tar in tars {
            let out = self
                .ctr(bin, paths)
                .args(["images", "import"])
                .arg(tar)
                .output()
                .map_err(io_err("running ctr images import"))?;
            if !out.status.success() {
                return Err(Error::State(format!(
                    "ctr images import {} failed: {}",
                    tar.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        Ok(())
    }

    async fn wait_ready(
        &mut self,
        client: &kube::Client,
        started: Instant,
        deadline: Instant,
    ) -> Result<(), Error> {
        let nodes: Api<Node> = Api::all(client.clone());
        loop {
            self.check_alive()?;
            if let Ok(Some(node)) = nodes.get_opt(NODE_NAME).await
                && node_ready(&node)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: format!("node {NODE_NAME} to turn Ready"),
                    secs: started.elapsed().as_secs(),
                    details: format!(
                        "\n--- kubelet ---\n{}\n--- containerd ---\n{}",
                        log_tail(&self.log_path("kubelet"), 20),
                        log_tail(&self.log_path("containerd"), 10)
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
