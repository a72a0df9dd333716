//! Starting a real node: the kubelet's client certificate (a
//! CertificateSigningRequest the admin approves), containerd, the images,
//! the API server proxy and the kubelet.

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

use super::artifacts::{ensure_binaries, ensure_images, image_tars};
use super::config::{self, Paths};
use super::host::{create_bridge, spawn_leader, take_over_machine};
use super::{CLAIM_FILE, NODE_NAME, NodeOptions, Proc, RealNode, SERVICE_IP, TEARDOWN};
use crate::controlplane::{
    ControlPlane, Error, free_ports, ignore_sighup, io_err, log_tail, node_ready, write_file,
};
use crate::kubeconfig::{self, Credential};
use crate::pki;

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
