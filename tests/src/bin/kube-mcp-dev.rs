//! `kube-mcp-dev`: runs the local control plane in the background for
//! development (`up`, `down`, `status`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube_mcp_tests::controlplane::{self, ControlPlane, Options, State};
use kube_mcp_tests::node::{self, NodeOptions, RealNode};

#[derive(Parser)]
#[command(
    name = "kube-mcp-dev",
    about = "Local Kubernetes control plane for kube-mcp development"
)]
struct Cli {
    /// State directory (kubeconfig, certificates, logs, etcd data).
    #[arg(long, env = "KUBE_MCP_STATE", global = true)]
    state: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the binaries if needed and start the control plane in the background.
    Up {
        /// Number of fake (kwok) nodes.
        #[arg(long, default_value_t = 2)]
        nodes: usize,
        /// Start-up timeout in seconds (after the binaries are built).
        #[arg(long, default_value_t = 180)]
        timeout: u64,
        /// Also join a real node (containerd, runc, kubelet; needs root):
        /// pods in namespaces annotated for it run in real containers.
        #[arg(long)]
        real_node: bool,
    },
    /// Stop every process `up` started and remove the state directory.
    Down,
    /// Show which components run, the API server URL and the node count.
    Status,
    /// Forward TCP connections (the real node's `kubernetes` Service address
    /// to the API server; started by `up --real-node`).
    #[command(hide = true)]
    Proxy {
        #[arg(long)]
        listen: std::net::SocketAddr,
        #[arg(long)]
        to: std::net::SocketAddr,
    },
}

fn default_state() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".kube-mcp").join("dev")
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kube_client=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let state_dir = cli.state.unwrap_or_else(default_state);
    match cli.command {
        Cmd::Up {
            nodes,
            timeout,
            real_node,
        } => up(state_dir, nodes, timeout, real_node).await,
        Cmd::Down => down(state_dir),
        Cmd::Status => status(state_dir).await,
        Cmd::Proxy { listen, to } => Ok(node::serve_proxy(listen, to).await?),
    }
}

fn alive(state: &State) -> Vec<&controlplane::ComponentState> {
    state
        .components
        .iter()
        .filter(|c| c.name != "holder" && controlplane::pid_alive(c.pid))
        .collect()
}

async fn up(state_dir: PathBuf, nodes: usize, timeout: u64, real_node: bool) -> Result<()> {
    let started = Instant::now();
    let timeout = Duration::from_secs(timeout);
    if let Ok(state) = State::read(&state_dir) {
        let running = alive(&state);
        if running.len() + 1 == state.components.len() {
            eprintln!("kube-mcp-dev: already running at {}", state.server_url);
            if real_node && !node_running(&state_dir) {
                let cp = ControlPlane::attach(&state.kubeconfig)?;
                start_node(&cp, &state_dir, timeout).await?;
            }
            print_hint(&state, started);
            return Ok(());
        }
        eprintln!(
            "kube-mcp-dev: cleaning up a stopped or partial control plane in {}",
            state_dir.display()
        );
    }
    if state_dir.exists() {
        node::stop_detached(&state_dir.join("node"))?;
        controlplane::stop_detached(&state_dir)?;
    }
    eprintln!("kube-mcp-dev: binaries (first run builds them from Go modules, 10-30 min)...");
    let bin = controlplane::ensure_binaries()?;
    eprintln!(
        "kube-mcp-dev: binaries in {} ({:.0}s)",
        bin.display(),
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "kube-mcp-dev: starting etcd, kube-apiserver, controller-manager, scheduler, kwok..."
    );
    let opts = Options {
        data_dir: Some(state_dir.clone()),
        detach: true,
        nodes,
        timeout,
    };
    let cp = match ControlPlane::start(opts).await {
        Ok(cp) => cp,
        Err(e) => {
            let _ = controlplane::stop_detached(&state_dir);
            return Err(e).context("starting the control plane");
        }
    };
    if real_node && let Err(e) = start_node(&cp, &state_dir, timeout).await {
        drop(cp.detach());
        let _ = controlplane::stop_detached(&state_dir);
        return Err(e);
    }
    let state = cp.detach().context("no state recorded")?;
    print_hint(&state, started);
    Ok(())
}

fn node_running(state_dir: &std::path::Path) -> bool {
    node::NodeState::read(&state_dir.join("node")).is_ok_and(|s| {
        s.components
            .iter()
            .skip(1)
            .all(|c| controlplane::pid_alive(c.pid))
    })
}

async fn start_node(
    cp: &ControlPlane,
    state_dir: &std::path::Path,
    timeout: Duration,
) -> Result<()> {
    eprintln!(
        "kube-mcp-dev: joining a real node (containerd, runc, kubelet; first run builds them, ~5 min)..."
    );
    let dir = state_dir.join("node");
    node::stop_detached(&dir)?;
    let opts = NodeOptions {
        data_dir: Some(dir),
        detach: true,
        timeout,
    };
    let node = RealNode::start(cp, opts)
        .await
        .context("starting the real node")?;
    let state = node.detach();
    eprintln!(
        "kube-mcp-dev: real node {} Ready (logs {}); namespaces annotated \
         scheduler.alpha.kubernetes.io/node-selector={}={} and a toleration of {} run their pods on it",
        node::NODE_NAME,
        state.data_dir.join("logs").display(),
        node::NODE_LABEL.0,
        node::NODE_LABEL.1,
        node::TAINT_KEY,
    );
    Ok(())
}

fn print_hint(state: &State, started: Instant) {
    use std::io::Write as _;
    let text = format!(
        "API server:  {}\n\
         kubeconfig:  {}\n\
         logs:        {}\n\
         binaries:    {} (cache: {})\n\
         nodes:       {}\n\
         ready in:    {:.1}s\n\n\
         export KUBECONFIG={}; export PATH={}:$PATH; kubectl get nodes\n\
         (tests reuse it with: export KUBE_MCP_KUBECONFIG={})\n",
        state.server_url,
        state.kubeconfig.display(),
        state.data_dir.join("logs").display(),
        state.bin_dir.display(),
        controlplane::cache_dir().display(),
        state.nodes.join(", "),
        started.elapsed().as_secs_f64(),
        state.kubeconfig.display(),
        state.bin_dir.display(),
        state.kubeconfig.display(),
    );
    // Ignore a closed pipe (`kube-mcp-dev up | head`).
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn down(state_dir: PathBuf) -> Result<()> {
    if node::stop_detached(&state_dir.join("node"))? {
        println!("stopped the real node");
    }
    if controlplane::stop_detached(&state_dir)? {
        println!("stopped; removed {}", state_dir.display());
    } else {
        println!("nothing running in {}", state_dir.display());
    }
    Ok(())
}

async fn status(state_dir: PathBuf) -> Result<()> {
    let state = match State::read(&state_dir) {
        Ok(s) => s,
        Err(_) => {
            println!("not running (no state in {})", state_dir.display());
            std::process::exit(1);
        }
    };
    let running = alive(&state);
    for c in state.components.iter().filter(|c| c.name != "holder") {
        let up = running.iter().any(|r| r.pid == c.pid);
        println!(
            "{:<24} pid {:<8} {}",
            c.name,
            c.pid,
            if up { "running" } else { "STOPPED" }
        );
    }
    if let Ok(node) = node::NodeState::read(&state_dir.join("node")) {
        for c in node.components.iter().skip(1) {
            let up = controlplane::pid_alive(c.pid);
            println!(
                "{:<24} pid {:<8} {}",
                format!("node/{}", c.name),
                c.pid,
                if up { "running" } else { "STOPPED" }
            );
        }
    }
    println!("API server:  {}", state.server_url);
    println!("kubeconfig:  {}", state.kubeconfig.display());
    let cp = ControlPlane::attach(&state.kubeconfig)?;
    let nodes = async {
        let client = cp.try_client().await?;
        let list = Api::<Node>::all(client).list(&Default::default()).await?;
        let ready = list
            .items
            .iter()
            .filter(|n| controlplane::node_ready(n))
            .count();
        anyhow::Ok((list.items.len(), ready))
    };
    match tokio::time::timeout(Duration::from_secs(10), nodes).await {
        Ok(Ok((n, ready))) => println!("nodes:       {n} ({ready} Ready)"),
        Ok(Err(e)) => println!("nodes:       unknown ({e:#})"),
        Err(_) => println!("nodes:       unknown (API server did not answer in 10s)"),
    }
    if running.len() + 1 != state.components.len() {
        std::process::exit(1);
    }
    Ok(())
}
