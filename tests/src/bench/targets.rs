//! The servers under test (kube-mcp-server, the seed, the Go peer), how each
//! is started, which of its tools answers each scenario, and the floor: the
//! same API requests made directly with a kube::Client.

use super::seed::Layout;
use crate::mcp::McpClient as Client;
use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    KubeMcp,
    Seed,
    GoPeer,
    Floor,
}

impl Kind {
    pub fn key(self) -> &'static str {
        match self {
            Kind::KubeMcp => "kube-mcp",
            Kind::Seed => "seed",
            Kind::GoPeer => "go-peer",
            Kind::Floor => "floor",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::KubeMcp => "kube-mcp-server",
            Kind::Seed => "seed (mcp-server-kubernetes)",
            Kind::GoPeer => "Go peer (kubernetes-mcp-server)",
            Kind::Floor => "floor (direct API requests)",
        }
    }
}

/// Where the programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    pub kube_mcp: PathBuf,
    /// More environment for kube-mcp-server (the audit and trace modes).
    pub kube_mcp_env: Vec<(String, String)>,
    /// `node` and the seed's `dist/index.js`.
    pub node: PathBuf,
    pub seed_js: Option<PathBuf>,
    /// The Go peer's platform binary (run directly, not via its node wrapper).
    pub go_peer: Option<PathBuf>,
    /// Directory with the control plane's kubectl (first on the seed's PATH).
    pub kubectl_dir: PathBuf,
    pub kubeconfig: PathBuf,
}

/// A server process under test.
pub struct Running {
    pub kind: Kind,
    pub child: tokio::process::Child,
    pub pid: u32,
    pub url: String,
    /// Sum the memory of the process's descendants too (the seed's kubectl children).
    pub tree: bool,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Running {
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    pub async fn stop(mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.pid as i32, libc::SIGTERM) };
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        // The seed's kubectl children, if any outlived it.
        for p in super::procfs::descendants(self.pid) {
            // SAFETY: kill(2) on a descendant of our own child.
            unsafe { libc::kill(p as i32, libc::SIGKILL) };
        }
    }
}

/// Spawns `kind` on a free loopback port and returns without waiting.
pub fn spawn(kind: Kind, p: &Programs) -> Result<Running> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("server.log");
    let port = crate::server::free_port();
    let path = std::env::var("PATH").unwrap_or_default();
    let node_dir = p
        .node
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let mut cmd = match kind {
        Kind::KubeMcp => {
            let mut c = tokio::process::Command::new(&p.kube_mcp);
            c.env("KUBECONFIG_PATH", &p.kubeconfig)
                .env("ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT", "1")
                .env("HOST", "127.0.0.1")
                .env("PORT", port.to_string())
                .env("RUST_LOG", "warn")
                .env("PATH", &path)
                .envs(p.kube_mcp_env.iter().map(|(k, v)| (k, v)));
            c
        }
        Kind::Seed => {
            let js = p.seed_js.as_ref().context("the seed is not installed")?;
            let mut c = tokio::process::Command::new(&p.node);
            c.arg(js)
                .env("KUBECONFIG", &p.kubeconfig)
                .env("ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT", "1")
                .env("HOST", "127.0.0.1")
                .env("PORT", port.to_string())
                .env(
                    "PATH",
                    format!("{}:{node_dir}:{path}", p.kubectl_dir.display()),
                );
            c
        }
        Kind::GoPeer => {
            let bin = p.go_peer.as_ref().context("the Go peer is not installed")?;
            let mut c = tokio::process::Command::new(bin);
            c.args([
                "--port",
                &port.to_string(),
                "--bind-address",
                "127.0.0.1",
                "--kubeconfig",
            ])
            .arg(&p.kubeconfig)
            .arg("--disable-multi-cluster")
            .env("PATH", &path);
            c
        }
        Kind::Floor => bail!("the floor is not a process"),
    };
    let file = std::fs::File::create(&log)?;
    let err = file.try_clone()?;
    cmd.env("HOME", dir.path())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", kind.title()))?;
    let pid = child.id().context("no pid")?;
    Ok(Running {
        kind,
        child,
        pid,
        url: format!("http://127.0.0.1:{port}/mcp"),
        tree: kind == Kind::Seed,
        log,
        _dir: dir,
    })
}

/// Spawns `kind` and waits for the first answered tools/list; returns the
/// server, the time from spawn to that answer, and the tools it offers.
pub async fn start(
    kind: Kind,
    p: &Programs,
    within: Duration,
) -> Result<(Running, Duration, Vec<rmcp::model::Tool>)> {
    let t0 = Instant::now();
    let mut r = spawn(kind, p)?;
    let mut last = String::new();
    while t0.elapsed() < within {
        if let Ok(Some(status)) = r.child.try_wait() {
            bail!(
                "{} exited early ({status}):\n{}",
                kind.title(),
                r.log_tail(30)
            );
        }
        match Client::connect(&r.url, None).await {
            Ok(c) => match c.try_tools().await {
                Ok(tools) => {
                    let took = t0.elapsed();
                    c.close().await;
                    return Ok((r, took, tools));
                }
                Err(e) => last = e,
            },
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let tail = r.log_tail(30);
    r.stop().await;
    bail!(
        "{} did not answer tools/list within {within:?} (last error: {last}):\n{tail}",
        kind.title()
    )
}

/// What is measured per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    GetPodsSmall,
    GetPodsLarge,
    GetDeploymentYaml,
    DescribePod,
    LogsTail100,
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::GetPodsSmall,
        Scenario::GetPodsLarge,
        Scenario::GetDeploymentYaml,
        Scenario::DescribePod,
        Scenario::LogsTail100,
    ];

    pub fn key(self, l: &Layout) -> String {
        match self {
            Scenario::GetPodsSmall => format!("get_pods_{}", l.small_pods),
            Scenario::GetPodsLarge => format!("get_pods_{}", l.large_pods),
            Scenario::GetDeploymentYaml => "get_deployment_yaml".into(),
            Scenario::DescribePod => "describe_pod".into(),
            Scenario::LogsTail100 => "logs_tail_100".into(),
        }
    }

    pub fn title(self, l: &Layout) -> String {
        match self {
            Scenario::GetPodsSmall => format!("get pods ({} pods, wide table)", l.small_pods),
            Scenario::GetPodsLarge => format!("get pods ({} pods, wide table)", l.large_pods),
            Scenario::GetDeploymentYaml => "get one deployment as YAML".into(),
            Scenario::DescribePod => "describe a pod".into(),
            Scenario::LogsTail100 => "pod logs, tail 100".into(),
        }
    }

    /// The tool call that answers this scenario on `kind`, or why there is none.
    pub fn call(self, kind: Kind, l: &Layout) -> Result<(&'static str, Value), String> {
        let ns_pods = |ns: &str| {
            (
                ns.to_string(),
                json!({"resourceType": "pods", "namespace": ns, "output": "wide"}),
            )
        };
        match (kind, self) {
            (Kind::KubeMcp | Kind::Seed, Scenario::GetPodsSmall) => Ok(("kubectl_get", ns_pods(&l.small_ns).1)),
            (Kind::KubeMcp | Kind::Seed, Scenario::GetPodsLarge) => Ok(("kubectl_get", ns_pods(&l.large_ns).1)),
            (Kind::KubeMcp | Kind::Seed, Scenario::GetDeploymentYaml) => Ok((
                "kubectl_get",
                json!({"resourceType": "deployments", "name": l.deployment, "namespace": l.apps_ns, "output": "yaml"}),
            )),
            (Kind::KubeMcp | Kind::Seed, Scenario::DescribePod) => Ok((
                "kubectl_describe",
                json!({"resourceType": "pods", "name": l.pod, "namespace": l.small_ns}),
            )),
            (Kind::KubeMcp | Kind::Seed, Scenario::LogsTail100) => Ok((
                "kubectl_logs",
                json!({"resourceType": "pod", "name": l.pod, "namespace": l.small_ns, "tail": 100}),
            )),
            (Kind::GoPeer, Scenario::GetPodsSmall) => Ok(("pods_list_in_namespace", json!({"namespace": l.small_ns}))),
            (Kind::GoPeer, Scenario::GetPodsLarge) => Ok(("pods_list_in_namespace", json!({"namespace": l.large_ns}))),
            (Kind::GoPeer, Scenario::GetDeploymentYaml) => Ok((
                "resources_get",
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": l.deployment, "namespace": l.apps_ns}),
            )),
            (Kind::GoPeer, Scenario::DescribePod) => Err(
                "no describe tool: pods_get/resources_get return the object as YAML without its events, which is not the same work".into(),
            ),
            (Kind::GoPeer, Scenario::LogsTail100) => Ok(("pods_log", json!({"name": l.pod, "namespace": l.small_ns, "tail": 100}))),
            (Kind::Floor, _) => Ok(("(direct)", Value::Null)),
        }
    }
}

/// The Accept header kube-mcp-server lists tables with.
pub const ACCEPT_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
const PAGE: u32 = 500;

#[derive(Deserialize)]
struct ListHead {
    #[serde(default)]
    metadata: ListMeta,
}
#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    continue_: Option<String>,
}
#[derive(Deserialize)]
struct ObjHead {
    metadata: ObjMeta,
}
#[derive(Deserialize)]
struct ObjMeta {
    #[serde(default)]
    uid: String,
}

fn get(url: String, accept: &str) -> Result<http::Request<Vec<u8>>> {
    Ok(http::Request::get(url)
        .header(http::header::ACCEPT, accept)
        .body(vec![])?)
}

/// The floor: what each scenario asks of the API server, done directly.
/// Returns the bytes received.
pub async fn floor(client: &kube::Client, s: Scenario, l: &Layout) -> Result<usize> {
    match s {
        Scenario::GetPodsSmall | Scenario::GetPodsLarge => {
            let ns = if s == Scenario::GetPodsSmall {
                &l.small_ns
            } else {
                &l.large_ns
            };
            let mut bytes = 0;
            let mut cont: Option<String> = None;
            for _ in 0..1000 {
                // The server's request: a plain table needs the cells only.
                let mut url =
                    format!("/api/v1/namespaces/{ns}/pods?limit={PAGE}&includeObject=None");
                if let Some(c) = &cont {
                    url.push_str("&continue=");
                    url.push_str(&urlencode(c));
                }
                let text = client.request_text(get(url, ACCEPT_TABLE)?).await?;
                bytes += text.len();
                let head: ListHead = serde_json::from_str(&text)?;
                cont = head.metadata.continue_.filter(|c| !c.is_empty());
                if cont.is_none() {
                    break;
                }
            }
            Ok(bytes)
        }
        Scenario::GetDeploymentYaml => {
            let url = format!(
                "/apis/apps/v1/namespaces/{}/deployments/{}",
                l.apps_ns, l.deployment
            );
            Ok(client
                .request_text(get(url, "application/json")?)
                .await?
                .len())
        }
        Scenario::DescribePod => {
            let url = format!("/api/v1/namespaces/{}/pods/{}", l.small_ns, l.pod);
            let pod = client.request_text(get(url, "application/json")?).await?;
            let uid = serde_json::from_str::<ObjHead>(&pod)?.metadata.uid;
            let sel = format!(
                "involvedObject.name={},involvedObject.kind=Pod,involvedObject.uid={uid},involvedObject.namespace={}",
                l.pod, l.small_ns
            );
            let url = format!(
                "/api/v1/namespaces/{}/events?fieldSelector={}&limit={PAGE}",
                l.small_ns,
                urlencode(&sel)
            );
            let ev = client.request_text(get(url, "application/json")?).await?;
            Ok(pod.len() + ev.len())
        }
        Scenario::LogsTail100 => {
            let url = format!(
                "/api/v1/namespaces/{}/pods/{}/log?tailLines=100",
                l.small_ns, l.pod
            );
            Ok(client.request_text(get(url, "*/*")?).await?.len())
        }
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
