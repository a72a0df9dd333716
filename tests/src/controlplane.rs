//! A local Kubernetes control plane: etcd, kube-apiserver (RBAC on),
//! kube-controller-manager, kube-scheduler and kwok (fake nodes), built from
//! the upstream Go modules by `tests/controlplane/build.sh`, started on free
//! loopback ports with certificates generated at start-up.
//!
//! Every component runs in one process group led by a tiny `sh` watchdog:
//! when the owning process goes away for any reason (panic, SIGKILL, normal
//! exit without running destructors), the watchdog sends SIGTERM then SIGKILL
//! to the group and removes the data directory, so no etcd or API server
//! outlives a test run. A detached control plane (`kube-mcp-dev up`) has no
//! watchdog and is stopped by [`stop_detached`].

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::Api;
use kube::api::PostParams;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use crate::kubeconfig::{self, Credential};
use crate::pki::{self, Pki};

mod faults;
pub mod port_forward;

/// Stage definitions for kwok (node heartbeat, pod ready, ...).
pub const KWOK_STAGES: &str = include_str!("../controlplane/kwok-stages.yaml");
/// Annotation kwok manages nodes by.
pub const KWOK_NODE_ANNOTATION: (&str, &str) = ("kwok.x-k8s.io/node", "fake");
/// Name of the state file in a control plane's data directory.
pub const STATE_FILE: &str = "state.json";

/// Errors starting, attaching to or stopping a control plane.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("building the control plane binaries failed ({status}); see its output above")]
    Build { status: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("generating {what}: {source}")]
    Pki {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{component} exited early ({status}); last lines of {log}:\n{tail}")]
    ComponentExited {
        component: String,
        status: String,
        log: String,
        tail: String,
    },
    #[error("timed out after {secs}s waiting for {what}{details}")]
    Timeout {
        what: String,
        secs: u64,
        details: String,
    },
    #[error("{0}")]
    State(String),
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

/// How to start a control plane.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where data, certificates, kubeconfigs and logs go. `None`: a fresh
    /// temporary directory, removed when the control plane stops.
    pub data_dir: Option<PathBuf>,
    /// Keep running after this process exits (no watchdog); stop with
    /// [`stop_detached`].
    pub detach: bool,
    /// Number of fake (kwok) nodes.
    pub nodes: usize,
    /// Bound on the whole start-up (API server ready, nodes Ready, `default`
    /// ServiceAccount present).
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            data_dir: None,
            detach: false,
            nodes: 2,
            timeout: Duration::from_secs(180),
        }
    }
}

/// One started component, as recorded in the state file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComponentState {
    pub name: String,
    pub pid: i32,
    pub log: PathBuf,
}

/// What `state.json` in the data directory records.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    pub pgid: i32,
    pub components: Vec<ComponentState>,
    pub server_url: String,
    pub kubeconfig: PathBuf,
    pub bin_dir: PathBuf,
    pub data_dir: PathBuf,
    pub nodes: Vec<String>,
    pub detached: bool,
}

impl State {
    /// Reads `<data_dir>/state.json`.
    pub fn read(data_dir: &Path) -> Result<State, Error> {
        let path = data_dir.join(STATE_FILE);
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
    /// What it was started with, so a fault test can start it again alike.
    args: Vec<String>,
}

struct Running {
    pgid: i32,
    procs: Vec<Proc>,
    detached: bool,
}

/// A running (or attached-to) control plane.
pub struct ControlPlane {
    kubeconfig: PathBuf,
    server_url: String,
    ca_pem: String,
    bin_dir: PathBuf,
    data_dir: PathBuf,
    nodes: Vec<String>,
    running: Option<Running>,
    // Dropped after `running` (field order): processes stop, then files go.
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("server_url", &self.server_url)
            .field("kubeconfig", &self.kubeconfig)
            .field("data_dir", &self.data_dir)
            .field("owned", &self.running.is_some())
            .finish()
    }
}

/// The cache root: `$KUBE_MCP_CACHE`, else `~/.cache/kube-mcp`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KUBE_MCP_CACHE") {
        return PathBuf::from(dir);
    }
    home_dir().join(".cache").join("kube-mcp")
}

pub(crate) fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// `build.sh`, compiled in: every clone shares one cargo target dir, so a
/// path compiled into the binary could name another clone's script, or one
/// that was deleted. The binary runs the script it was built with.
pub const BUILD_SCRIPT: &str = include_str!("../controlplane/build.sh");

/// A command that runs `script` (a bash script's text, e.g. [`BUILD_SCRIPT`])
/// with `$0` set to `name`; no file of the source tree is needed.
pub fn script_command(script: &str, name: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(script).arg(name);
    cmd
}

/// Returns the directory holding etcd, kube-apiserver, ..., kubectl, kwok and
/// helm, running `build.sh` first when they are not cached yet (its progress
/// goes to stderr). `$KUBE_MCP_BIN_DIR` overrides the lookup.
pub fn ensure_binaries() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("KUBE_MCP_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if dir.join("kube-apiserver").is_file() {
            return Ok(dir);
        }
        return Err(Error::State(format!(
            "KUBE_MCP_BIN_DIR={} has no kube-apiserver",
            dir.display()
        )));
    }
    build_binaries(script_command(BUILD_SCRIPT, "tests/controlplane/build.sh"))
}

/// Runs the build script `cmd` and returns the bin directory it prints last.
pub fn build_binaries(mut cmd: Command) -> Result<PathBuf, Error> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(io_err("running tests/controlplane/build.sh (bash)"))?;
    if !out.status.success() {
        return Err(Error::Build {
            status: out.status.to_string(),
        });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| PathBuf::from(l.trim()))
        .ok_or_else(|| Error::State("build.sh printed no bin directory".into()))?;
    if !dir.join("kube-apiserver").is_file() {
        return Err(Error::State(format!(
            "build.sh named {} but it has no kube-apiserver",
            dir.display()
        )));
    }
    Ok(dir)
}

/// Free loopback TCP ports, distinct from each other.
pub fn free_ports(n: usize) -> Result<Vec<u16>, Error> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_err("binding a free loopback port"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_err("reading a bound port"))
}

/// True when `pid` names a live (non-zombie) process.
pub fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence/permission.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    if !exists {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(true),
        Err(_) => true,
    }
}

pub(crate) fn signal_group(pgid: i32, sig: libc::c_int) {
    if pgid > 1 {
        // SAFETY: plain syscall; a negative pid addresses the process group.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// Last `n` lines of a log file (for error messages).
pub fn log_tail(path: &Path, n: usize) -> String {
    let Ok(file) = fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}

/// Removes temp data dirs of earlier test processes that died before their
/// watchdog could clean up.
fn gc_stale_temp_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("kube-mcp-cp-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !pid_alive(pid) {
            debug!(dir = %entry.path().display(), "removing stale control plane dir");
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

pub(crate) fn write_file(path: &Path, contents: &str, private: bool) -> Result<(), Error> {
    fs::write(path, contents).map_err(io_err(format!("writing {}", path.display())))?;
    if private {
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(io_err(format!("chmod {}", path.display())))?;
    }
    Ok(())
}

async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

impl ControlPlane {
    /// Builds the binaries if needed, then starts a fresh control plane and
    /// waits until it serves (`/readyz`), its fake nodes are Ready and the
    /// `default` ServiceAccount exists. Needs a tokio runtime (any flavour).
    pub async fn start(opts: Options) -> Result<ControlPlane, Error> {
        let started = Instant::now();
        let bin_dir = ensure_binaries()?;
        let (temp, data_dir) = match &opts.data_dir {
            Some(dir) => {
                fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
                (None, dir.clone())
            }
            None => {
                gc_stale_temp_dirs();
                let t = tempfile::Builder::new()
                    .prefix(&format!("kube-mcp-cp-{}-", std::process::id()))
                    .tempdir()
                    .map_err(io_err("creating a temp dir"))?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        info!(data_dir = %data_dir.display(), bin_dir = %bin_dir.display(), "starting control plane");

        let pki = Pki::generate()?;
        let ports = free_ports(6)?;
        let [
            etcd_port,
            peer_port,
            api_port,
            kcm_port,
            sched_port,
            kwok_port,
        ] = [ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]];
        let server_url = format!("https://127.0.0.1:{api_port}");

        let layout = Layout::create(&data_dir, &pki, &server_url)?;
        let mut cp = ControlPlane {
            kubeconfig: layout.admin_kubeconfig.clone(),
            server_url: server_url.clone(),
            ca_pem: pki.ca.cert_pem.clone(),
            bin_dir: bin_dir.clone(),
            data_dir: data_dir.clone(),
            nodes: (0..opts.nodes).map(|i| format!("kwok-node-{i}")).collect(),
            running: None,
            _temp: temp,
        };

        // The group leader: a watchdog (tests) or a placeholder (detached).
        let leader = spawn_leader(&data_dir, opts.detach)?;
        let pgid = leader.child.id() as i32;
        cp.running = Some(Running {
            pgid,
            procs: vec![leader],
            detached: opts.detach,
        });
        cp.write_state()?;

        let l = &layout;
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let etcd = cp.spawn(
            "etcd",
            &[
                "--name=default".into(),
                format!("--data-dir={}", l.dir.join("etcd").display()),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=default={peer_url}"),
                "--unsafe-no-fsync=true".into(),
                "--log-level=warn".into(),
            ],
            pgid,
            opts.detach,
        )?;
        cp.push(etcd)?;
        let apiserver = cp.spawn(
            "kube-apiserver",
            &[
                format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                format!("--secure-port={api_port}"),
                format!("--cert-dir={}", l.dir.join("apiserver").display()),
                format!("--tls-cert-file={}", l.apiserver_crt.display()),
                format!("--tls-private-key-file={}", l.apiserver_key.display()),
                format!("--client-ca-file={}", l.ca_crt.display()),
                "--authorization-mode=Node,RBAC".into(),
                // Namespaces can pin their pods to the real node (node.rs).
                "--enable-admission-plugins=PodNodeSelector,PodTolerationRestriction".into(),
                "--service-account-issuer=https://kubernetes.default.svc".into(),
                format!("--service-account-key-file={}", l.sa_pub.display()),
                format!("--service-account-signing-key-file={}", l.sa_key.display()),
                "--service-cluster-ip-range=10.96.0.0/16".into(),
                "--allow-privileged=true".into(),
                format!("--kubelet-client-certificate={}", l.admin_crt.display()),
                format!("--kubelet-client-key={}", l.admin_key.display()),
                "--kubelet-preferred-address-types=InternalIP,Hostname".into(),
                "--profiling=false".into(),
            ],
            pgid,
            opts.detach,
        )?;
        cp.push(apiserver)?;
        let deadline = started + opts.timeout;
        cp.wait_ready(started, deadline).await?;
        info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "kube-apiserver ready"
        );
        // Established while the controllers start; kwok reads it at its start.
        let admin = cp.try_client().await?;
        port_forward::install_crd(&admin).await?;

        // After /readyz: their RBAC (bootstrap roles) must exist or they exit.
        let kcm_kc = l.kubeconfig("controller-manager");
        let kcm = cp.spawn(
            "kube-controller-manager",
            &[
                format!("--kubeconfig={}", kcm_kc.display()),
                format!("--authentication-kubeconfig={}", kcm_kc.display()),
                format!("--authorization-kubeconfig={}", kcm_kc.display()),
                format!("--root-ca-file={}", l.ca_crt.display()),
                format!("--service-account-private-key-file={}", l.sa_key.display()),
                format!("--cluster-signing-cert-file={}", l.ca_crt.display()),
                format!("--cluster-signing-key-file={}", l.ca_key.display()),
                "--use-service-account-credentials=true".into(),
                "--controllers=*".into(),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={kcm_port}"),
                format!("--cert-dir={}", l.dir.join("controller-manager").display()),
                "--profiling=false".into(),
            ],
            pgid,
            opts.detach,
        )?;
        cp.push(kcm)?;
        let sched_kc = l.kubeconfig("scheduler");
        let sched = cp.spawn(
            "kube-scheduler",
            &[
                format!("--kubeconfig={}", sched_kc.display()),
                format!("--authentication-kubeconfig={}", sched_kc.display()),
                format!("--authorization-kubeconfig={}", sched_kc.display()),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={sched_port}"),
                format!("--cert-dir={}", l.dir.join("scheduler").display()),
                "--profiling=false".into(),
            ],
            pgid,
            opts.detach,
        )?;
        cp.push(sched)?;

        port_forward::wait_established(&admin, deadline).await?;
        let kwok = cp.spawn(
            "kwok",
            &[
                format!("--kubeconfig={}", l.kubeconfig("kwok").display()),
                format!("--config={}", l.kwok_config.display()),
                "--manage-all-nodes=false".into(),
                format!(
                    "--manage-nodes-with-annotation-selector={}={}",
                    KWOK_NODE_ANNOTATION.0, KWOK_NODE_ANNOTATION.1
                ),
                "--node-ip=127.0.0.1".into(),
                format!("--node-port={kwok_port}"),
                format!("--server-address=127.0.0.1:{kwok_port}"),
                format!("--tls-cert-file={}", l.apiserver_crt.display()),
                format!("--tls-private-key-file={}", l.apiserver_key.display()),
                port_forward::KWOK_FLAG.into(),
            ],
            pgid,
            opts.detach,
        )?;
        cp.push(kwok)?;

        let client = cp.try_client().await?;
        cp.create_nodes(&client).await?;
        cp.wait_nodes_ready(&client, started, deadline).await?;
        cp.wait_default_sa(&client, "default", started, deadline)
            .await?;
        cp.write_state()?;
        info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            server = %cp.server_url,
            "control plane ready"
        );
        Ok(cp)
    }

    /// Attaches to an already running cluster through its kubeconfig (e.g.
    /// the one `kube-mcp-dev up` wrote). Nothing is started or stopped.
    pub fn attach(kubeconfig_path: &Path) -> Result<ControlPlane, Error> {
        let yaml = fs::read_to_string(kubeconfig_path)
            .map_err(io_err(format!("reading {}", kubeconfig_path.display())))?;
        let (server_url, ca_pem) = kubeconfig::server_and_ca(&yaml).ok_or_else(|| {
            Error::State(format!(
                "{}: no current context with a server and CA data",
                kubeconfig_path.display()
            ))
        })?;
        let data_dir = kubeconfig_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let nodes = State::read(&data_dir).map(|s| s.nodes).unwrap_or_default();
        Ok(ControlPlane {
            kubeconfig: kubeconfig_path.to_path_buf(),
            server_url,
            ca_pem,
            bin_dir: ensure_binaries()?,
            data_dir,
            nodes,
            running: None,
            _temp: None,
        })
    }

    /// The admin kubeconfig (client certificate, group `system:masters`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The cluster CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Directory with kubectl, helm, kwok and the control plane binaries.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Data directory (certificates, kubeconfigs, `logs/`, etcd data).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Names of the fake (kwok) nodes.
    pub fn node_names(&self) -> &[String] {
        &self.nodes
    }

    /// The running components (`etcd`, `kube-apiserver`, ...) and their pids;
    /// none for a control plane this process attached to.
    pub fn processes(&self) -> Vec<(String, u32)> {
        self.running
            .iter()
            .flat_map(|r| &r.procs)
            .map(|p| (p.name.clone(), p.child.id()))
            .collect()
    }

    /// Log file of a component (`etcd`, `kube-apiserver`, ...).
    pub fn log_path(&self, component: &str) -> PathBuf {
        self.data_dir.join("logs").join(format!("{component}.log"))
    }

    /// A new admin client. Build one per test: clients are tied to the tokio
    /// runtime they were first used on.
    ///
    /// # Panics
    /// When the kubeconfig cannot be read (test start-up); see [`Self::try_client`].
    pub async fn client(&self) -> kube::Client {
        self.try_client()
            .await
            .unwrap_or_else(|e| panic!("admin client for {}: {e}", self.server_url))
    }

    /// A new admin client, or why not.
    pub async fn try_client(&self) -> Result<kube::Client, Error> {
        let yaml = fs::read_to_string(&self.kubeconfig)
            .map_err(io_err(format!("reading {}", self.kubeconfig.display())))?;
        let config = kubeconfig::client_config(&yaml).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// A new client authenticating with a bearer token.
    pub async fn client_with_token(&self, token: &str) -> Result<kube::Client, Error> {
        let yaml = kubeconfig::render(
            &self.server_url,
            &self.ca_pem,
            "token-user",
            &Credential::Token(token),
        );
        let config = kubeconfig::client_config(&yaml).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// A kubeconfig (YAML) for a bearer token, e.g. to hand to a server process.
    pub fn token_kubeconfig(&self, user: &str, token: &str) -> String {
        kubeconfig::render(
            &self.server_url,
            &self.ca_pem,
            user,
            &Credential::Token(token),
        )
    }

    /// `kubectl` from the cache, preset with `--kubeconfig` (admin).
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new(self.bin_dir.join("kubectl"));
        cmd.arg(format!("--kubeconfig={}", self.kubeconfig.display()));
        cmd
    }

    /// Stops every process (SIGTERM, then SIGKILL after a grace period).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        signal_group(running.pgid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        // The leader ignores SIGTERM; wait for the components only.
        for p in running.procs.iter_mut().skip(1) {
            while Instant::now() < deadline {
                match p.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        signal_group(running.pgid, libc::SIGKILL);
        for p in running.procs.iter_mut() {
            let _ = p.child.wait();
        }
    }

    /// Records a started process (also in the state file, so that an
    /// interrupted detached start-up can still be stopped).
    fn push(&mut self, p: Proc) -> Result<(), Error> {
        if let Some(r) = self.running.as_mut() {
            r.procs.push(p);
        }
        self.write_state()
    }

    fn spawn(&self, name: &str, args: &[String], pgid: i32, detach: bool) -> Result<Proc, Error> {
        let logs = self.data_dir.join("logs");
        let log = logs.join(format!("{name}.log"));
        // Appended to: a component restarted by a fault test keeps its first life's log.
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io_err(format!("creating {}", log.display())))?;
        let err = file.try_clone().map_err(io_err("cloning a log handle"))?;
        let mut cmd = Command::new(self.bin_dir.join(name));
        cmd.args(args)
            .current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .process_group(pgid);
        if detach {
            ignore_sighup(&mut cmd);
        }
        debug!(component = name, ?args, "spawning");
        let child = cmd.spawn().map_err(io_err(format!("starting {name}")))?;
        Ok(Proc {
            name: name.to_string(),
            child,
            log,
            args: args.to_vec(),
        })
    }

    /// Fails when a component has exited.
    fn check_alive(&mut self) -> Result<(), Error> {
        let Some(running) = self.running.as_mut() else {
            return Ok(());
        };
        for p in running.procs.iter_mut() {
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

    fn timeout(&self, what: &str, started: Instant, components: &[&str]) -> Error {
        let mut details = String::new();
        for c in components {
            details.push_str(&format!(
                "\n--- last lines of {} ---\n{}",
                self.log_path(c).display(),
                log_tail(&self.log_path(c), 15)
            ));
        }
        Error::Timeout {
            what: what.to_string(),
            secs: started.elapsed().as_secs(),
            details,
        }
    }

    async fn wait_ready(&mut self, started: Instant, deadline: Instant) -> Result<(), Error> {
        let client = self.try_client().await?;
        loop {
            self.check_alive()?;
            let req = http::Request::get("/readyz")
                .body(Vec::new())
                .map_err(|e| Error::State(format!("building /readyz request: {e}")))?;
            match tokio::time::timeout(Duration::from_secs(5), client.request_text(req)).await {
                Ok(Ok(body)) if body.trim() == "ok" => return Ok(()),
                Ok(Ok(body)) => debug!(%body, "readyz"),
                Ok(Err(e)) => debug!(error = %e, "readyz"),
                Err(_) => debug!("readyz timed out"),
            }
            if Instant::now() > deadline {
                return Err(self.timeout(
                    "kube-apiserver /readyz",
                    started,
                    &["kube-apiserver", "etcd"],
                ));
            }
            sleep(Duration::from_millis(250)).await;
        }
    }

    async fn create_nodes(&self, client: &kube::Client) -> Result<(), Error> {
        let api: Api<Node> = Api::all(client.clone());
        for name in &self.nodes {
            let node: Node = serde_json::from_value(fake_node_json(name))
                .map_err(|e| Error::State(format!("node manifest: {e}")))?;
            match api.create(&PostParams::default(), &node).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn wait_nodes_ready(
        &mut self,
        client: &kube::Client,
        started: Instant,
        deadline: Instant,
    ) -> Result<(), Error> {
        let api: Api<Node> = Api::all(client.clone());
        loop {
            self.check_alive()?;
            let mut ready = 0;
            for name in &self.nodes {
                if let Ok(node) = api.get(name).await
                    && node_ready(&node)
                {
                    ready += 1;
                }
            }
            if ready == self.nodes.len() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.timeout("kwok nodes to turn Ready", started, &["kwok"]));
            }
            sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_default_sa(
        &mut self,
        client: &kube::Client,
        ns: &str,
        started: Instant,
        deadline: Instant,
    ) -> Result<(), Error> {
        let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
        loop {
            self.check_alive()?;
            if api.get_opt("default").await?.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.timeout(
                    "the default ServiceAccount (kube-controller-manager)",
                    started,
                    &["kube-controller-manager"],
                ));
            }
            sleep(Duration::from_millis(200)).await;
        }
    }

    fn state(&self) -> Option<State> {
        let running = self.running.as_ref()?;
        Some(State {
            pgid: running.pgid,
            components: running
                .procs
                .iter()
                .map(|p| ComponentState {
                    name: p.name.clone(),
                    pid: p.child.id() as i32,
                    log: p.log.clone(),
                })
                .collect(),
            server_url: self.server_url.clone(),
            kubeconfig: self.kubeconfig.clone(),
            bin_dir: self.bin_dir.clone(),
            data_dir: self.data_dir.clone(),
            nodes: self.nodes.clone(),
            detached: running.detached,
        })
    }

    fn write_state(&self) -> Result<(), Error> {
        if let Some(state) = self.state() {
            let text = serde_json::to_string_pretty(&state)
                .map_err(|e| Error::State(format!("serializing state: {e}")))?;
            write_file(&self.data_dir.join(STATE_FILE), &text, false)?;
        }
        Ok(())
    }

    /// Leaves the processes running when this value is dropped (detached
    /// mode); returns the recorded state.
    pub fn detach(mut self) -> Option<State> {
        let state = self.state();
        // Forget the Child handles without killing or waiting.
        self.running = None;
        state
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if self.running.as_ref().is_some_and(|r| r.detached) {
            return;
        }
        self.shutdown();
    }
}

/// True when the node's Ready condition is True.
pub fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// What `kubectl logs` returns for any container on a fake node (CRI log
/// format, as kwok reads it).
pub fn fake_container_log(now: jiff::Timestamp) -> String {
    let lines = [
        ("stdout", "kwok fake container: started"),
        ("stdout", "kwok fake container: listening on :8080"),
        ("stderr", "kwok fake container: a line on stderr"),
        ("stdout", "kwok fake container: ready"),
    ];
    lines
        .iter()
        .enumerate()
        .map(|(i, (stream, msg))| {
            let ts = now + jiff::SignedDuration::from_millis(i as i64);
            format!("{ts} {stream} F {msg}\n")
        })
        .collect()
}

/// kwok's configuration: the stages plus a ClusterLogs that serves
/// `container_log` as every fake container's log.
pub fn kwok_config(container_log: &Path) -> String {
    format!(
        "{KWOK_STAGES}---\n\
         apiVersion: kwok.x-k8s.io/v1alpha1\n\
         kind: ClusterLogs\n\
         metadata:\n  name: all-containers\n\
         spec:\n  logs:\n  - logsFile: \"{}\"\n    follow: false\n",
        container_log.display()
    )
}

/// The manifest of a fake node kwok manages.
pub fn fake_node_json(name: &str) -> serde_json::Value {
    let resources = serde_json::json!({"cpu": "32", "memory": "256Gi", "pods": "110"});
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {
                KWOK_NODE_ANNOTATION.0: KWOK_NODE_ANNOTATION.1,
                "node.alpha.kubernetes.io/ttl": "0",
            },
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
            },
        },
        "spec": {},
        "status": {
            "allocatable": resources,
            "capacity": resources,
        },
    })
}

pub(crate) fn ignore_sighup(cmd: &mut Command) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
}

/// Spawns the process-group leader. For tests it is a watchdog that waits for
/// this process to go away, then stops the group and removes the data dir;
/// when detached it only holds the group together.
fn spawn_leader(data_dir: &Path, detach: bool) -> Result<Proc, Error> {
    let log = data_dir.join("logs").join("watchdog.log");
    let file = fs::File::create(&log).map_err(io_err(format!("creating {}", log.display())))?;
    let mut cmd = Command::new("sh");
    if detach {
        cmd.args([
            "-c",
            "trap '' HUP INT TERM; while :; do sleep 3600; done",
            "kube-mcp-holder",
        ]);
        ignore_sighup(&mut cmd);
    } else {
        cmd.args([
            "-c",
            "trap '' HUP INT TERM\n\
             while kill -0 \"$1\" 2>/dev/null; do sleep 1; done\n\
             kill -TERM 0 2>/dev/null\n\
             sleep 2\n\
             rm -rf \"$2\"\n\
             kill -KILL 0",
            "kube-mcp-watchdog",
        ])
        .arg(std::process::id().to_string())
        .arg(data_dir);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .process_group(0);
    let child = cmd.spawn().map_err(io_err("starting the watchdog"))?;
    Ok(Proc {
        name: if detach { "holder" } else { "watchdog" }.to_string(),
        child,
        log,
        args: vec![],
    })
}

/// Files under the data directory.
struct Layout {
    dir: PathBuf,
    ca_crt: PathBuf,
    ca_key: PathBuf,
    apiserver_crt: PathBuf,
    apiserver_key: PathBuf,
    admin_crt: PathBuf,
    admin_key: PathBuf,
    sa_key: PathBuf,
    sa_pub: PathBuf,
    admin_kubeconfig: PathBuf,
    kwok_config: PathBuf,
}

impl Layout {
    fn create(dir: &Path, pki: &Pki, server_url: &str) -> Result<Layout, Error> {
        for sub in [
            "pki",
            "logs",
            "etcd",
            "apiserver",
            "controller-manager",
            "scheduler",
        ] {
            let p = dir.join(sub);
            fs::create_dir_all(&p).map_err(io_err(format!("creating {}", p.display())))?;
        }
        fs::set_permissions(dir.join("etcd"), fs::Permissions::from_mode(0o700))
            .map_err(io_err("chmod etcd dir"))?;
        let p = dir.join("pki");
        let l = Layout {
            dir: dir.to_path_buf(),
            ca_crt: p.join("ca.crt"),
            ca_key: p.join("ca.key"),
            apiserver_crt: p.join("apiserver.crt"),
            apiserver_key: p.join("apiserver.key"),
            admin_crt: p.join("admin.crt"),
            admin_key: p.join("admin.key"),
            sa_key: p.join("sa.key"),
            sa_pub: p.join("sa.pub"),
            admin_kubeconfig: dir.join("kubeconfig"),
            kwok_config: dir.join("kwok.yaml"),
        };
        write_file(&l.ca_crt, &pki.ca.cert_pem, false)?;
        write_file(&l.ca_key, &pki.ca.key_pem, true)?;
        write_file(&l.apiserver_crt, &pki.apiserver.cert_pem, false)?;
        write_file(&l.apiserver_key, &pki.apiserver.key_pem, true)?;
        write_file(&l.admin_crt, &pki.admin.cert_pem, false)?;
        write_file(&l.admin_key, &pki.admin.key_pem, true)?;
        write_file(&l.sa_key, &pki.sa_key_pem, true)?;
        write_file(&l.sa_pub, &pki.sa_pub_pem, false)?;
        let container_log = dir.join("logs").join("kwok-container.log");
        write_file(
            &container_log,
            &fake_container_log(jiff::Timestamp::now()),
            false,
        )?;
        write_file(&l.kwok_config, &kwok_config(&container_log), false)?;
        let ca = &pki.ca.cert_pem;
        let users: [(&str, &str, &pki::CertPair); 4] = [
            ("admin", pki::ADMIN_USER, &pki.admin),
            (
                "controller-manager",
                "system:kube-controller-manager",
                &pki.controller_manager,
            ),
            ("scheduler", "system:kube-scheduler", &pki.scheduler),
            ("kwok", "kube-mcp-kwok", &pki.kwok),
        ];
        for (file, user, pair) in users {
            let yaml = kubeconfig::render(
                server_url,
                ca,
                user,
                &Credential::ClientCert {
                    cert_pem: &pair.cert_pem,
                    key_pem: &pair.key_pem,
                },
            );
            let path = if file == "admin" {
                l.admin_kubeconfig.clone()
            } else {
                l.kubeconfig(file)
            };
            write_file(&path, &yaml, true)?;
        }
        Ok(l)
    }

    fn kubeconfig(&self, component: &str) -> PathBuf {
        self.dir.join("pki").join(format!("{component}.kubeconfig"))
    }
}

/// Stops a detached control plane recorded in `<data_dir>/state.json` and
/// removes the directory. Returns false when nothing was running.
pub fn stop_detached(data_dir: &Path) -> Result<bool, Error> {
    let state = match State::read(data_dir) {
        Ok(s) => s,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            if data_dir.exists() {
                fs::remove_dir_all(data_dir)
                    .map_err(io_err(format!("removing {}", data_dir.display())))?;
            }
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    let any_alive = state.components.iter().any(|c| pid_alive(c.pid));
    signal_group(state.pgid, libc::SIGTERM);
    for c in &state.components {
        // Belt and braces, in case a component left the group.
        if c.name != "holder" && pid_alive(c.pid) {
            // SAFETY: plain syscall.
            unsafe {
                libc::kill(c.pid, libc::SIGTERM);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline
        && state
            .components
            .iter()
            .any(|c| c.name != "holder" && pid_alive(c.pid))
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    signal_group(state.pgid, libc::SIGKILL);
    for c in &state.components {
        if c.name != "holder" && pid_alive(c.pid) {
            warn!(component = %c.name, pid = c.pid, "still alive after SIGTERM; killing");
            // SAFETY: plain syscall.
            unsafe {
                libc::kill(c.pid, libc::SIGKILL);
            }
        }
    }
    fs::remove_dir_all(data_dir).map_err(io_err(format!("removing {}", data_dir.display())))?;
    Ok(any_alive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_node_is_kwok_managed_and_untainted() {
        let node: Node = serde_json::from_value(fake_node_json("n1")).unwrap();
        let ann = node.metadata.annotations.unwrap();
        assert_eq!(
            ann.get("kwok.x-k8s.io/node").map(String::as_str),
            Some("fake")
        );
        assert_eq!(
            node.metadata
                .labels
                .unwrap()
                .get("type")
                .map(String::as_str),
            Some("kwok")
        );
        assert!(node.spec.unwrap().taints.is_none());
        let alloc = node.status.unwrap().allocatable.unwrap();
        assert_eq!(alloc["cpu"].0, "32");
        assert_eq!(alloc["memory"].0, "256Gi");
        assert_eq!(alloc["pods"].0, "110");
    }

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports(6).unwrap();
        let mut sorted = ports.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 6);
    }

    #[test]
    fn stages_parse_as_yaml_documents() {
        assert_eq!(KWOK_STAGES.matches("kind: Stage").count(), 5);
        for doc in KWOK_STAGES.split("\n---\n") {
            let v: serde_json::Value = serde_saphyr::from_str(doc).unwrap();
            assert_eq!(v["apiVersion"], "kwok.x-k8s.io/v1alpha1");
        }
    }

    #[test]
    fn kwok_config_serves_a_log_file() {
        let cfg = kwok_config(Path::new("/data/logs/c.log"));
        let docs: Vec<&str> = cfg.split("\n---\n").collect();
        assert_eq!(docs.len(), 6);
        let logs: serde_json::Value = serde_saphyr::from_str(docs[5]).unwrap();
        assert_eq!(logs["kind"], "ClusterLogs");
        assert_eq!(logs["spec"]["logs"][0]["logsFile"], "/data/logs/c.log");
        let log = fake_container_log(jiff::Timestamp::UNIX_EPOCH);
        assert!(log.starts_with("1970-01-01T00:00:00Z stdout F kwok fake container: started\n"));
        assert_eq!(log.lines().count(), 4);
    }

    #[test]
    fn the_build_script_runs_from_the_binary_without_the_source_tree() {
        // A complete cache for made-up versions: the script only has to find it.
        let cache = tempfile::tempdir().unwrap();
        let out = cache
            .path()
            .join("controlplane/k8s-v9.9.9-etcd-v9.9.9-kwok-v9.9.9-helm-v9.9.9");
        let bin = out.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("kube-apiserver"), "").unwrap();
        std::fs::write(out.join(".complete"), "").unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let mut cmd = script_command(BUILD_SCRIPT, "tests/controlplane/build.sh");
        cmd.current_dir(elsewhere.path())
            .env("KUBE_MCP_CACHE", cache.path());
        for v in [
            "K8S_VERSION",
            "ETCD_VERSION",
            "KWOK_VERSION",
            "HELM_VERSION",
        ] {
            cmd.env(v, "9.9.9");
        }
        // Nothing names a file of this clone, which may be deleted later.
        let clone = env!("CARGO_MANIFEST_DIR");
        assert!(cmd.get_args().all(|a| !a.to_string_lossy().contains(clone)));
        assert_eq!(build_binaries(cmd).unwrap(), bin);
    }

    #[test]
    fn own_pid_is_alive() {
        assert!(pid_alive(std::process::id() as i32));
        assert!(!pid_alive(0));
    }
}
