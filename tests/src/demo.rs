//! The README's main command: a local control plane, the CRD, the operator,
//! a per-team read-only McpEndpoint, its server (the kube-mcp-server image in
//! a real container on a real node; where this machine cannot run one, the
//! kubelet harness starts the binary instead), ready-to-paste client
//! configuration, and a real MCP client listing the endpoint's tools.

use crate::controlplane::{ControlPlane, Options};
use crate::mcp::McpClient;
use crate::node::{NodeOptions, RealNode};
use anyhow::Context;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Api, Client};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod agent;
mod serve;

pub const NAMESPACE: &str = "team-a";
pub const ENDPOINT: &str = "team-a-readonly";

pub struct DemoOptions {
    /// Exit after the client has listed the tools (for tests and CI).
    pub exit_after_client: bool,
    /// Run the endpoint on a real node when this machine can (root, Linux).
    pub real_node: bool,
    pub repo_root: PathBuf,
}

fn step(started: Instant, what: &str) {
    eprintln!("[demo +{:>5.1}s] {what}", started.elapsed().as_secs_f64());
}

fn endpoint_api(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("kubemcp.io", "v1alpha1", "McpEndpoint");
    Api::namespaced_with(
        client.clone(),
        NAMESPACE,
        &ApiResource::from_gvk_with_plural(&gvk, "mcpendpoints"),
    )
}

/// The documents of a YAML file.
fn read_docs(path: &Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_saphyr::from_multiple(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Applies every document of a YAML file with server-side apply.
pub async fn apply_file(client: &Client, path: &Path) -> anyhow::Result<()> {
    apply_docs(client, read_docs(path)?).await
}

/// Applies documents with server-side apply.
async fn apply_docs(client: &Client, docs: Vec<serde_json::Value>) -> anyhow::Result<()> {
    for doc in docs.into_iter().filter(|d| d.is_object()) {
        let obj: DynamicObject = serde_json::from_value(doc)?;
        let name = obj.metadata.name.clone().unwrap_or_default();
        let tm = obj
            .types
            .clone()
            .context("a document without apiVersion/kind")?;
        let gvk = GroupVersionKind::try_from(&tm)?;
        let (ar, caps) = kube::discovery::pinned_kind(client, &gvk).await?;
        let api: Api<DynamicObject> = match (caps.scope, &obj.metadata.namespace) {
            (kube::discovery::Scope::Namespaced, Some(ns)) => {
                Api::namespaced_with(client.clone(), ns, &ar)
            }
            (kube::discovery::Scope::Namespaced, None) => {
                Api::default_namespaced_with(client.clone(), &ar)
            }
            _ => Api::all_with(client.clone(), &ar),
        };
        api.patch(
            &name,
            &PatchParams::apply("kube-mcp-demo").force(),
            &Patch::Apply(&obj),
        )
        .await?;
    }
    Ok(())
}

pub async fn install_crd(client: &Client, root: &Path) -> anyhow::Result<()> {
    apply_file(client, &root.join("crds/mcpendpoints.kubemcp.io.yaml")).await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let crd = crds.get("mcpendpoints.kubemcp.io").await?;
        let established = crd.status.and_then(|s| s.conditions).is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        });
        if established {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the CRD was not Established within 30s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Installs the admission policies of config/admission (what every package
/// installs), so demos and tests run under them.
pub async fn install_admission(client: &Client, root: &Path) -> anyhow::Result<()> {
    apply_file(client, &root.join("config/admission/policies.yaml")).await
}

/// Runs the kube-mcp-operator binary against `cp` with extra flags; it is
/// killed when the returned child is dropped.
pub fn spawn_operator(cp: &ControlPlane, args: &[&str]) -> anyhow::Result<tokio::process::Child> {
    let bin = crate::bins::try_path("kube-mcp-operator")
        .context("kube-mcp-operator is not built: run `cargo build --workspace --bins`")?;
    let port = crate::server::free_port();
    let log = std::fs::File::create(cp.data_dir().join(format!("operator-{port}.log")))?;
    tokio::process::Command::new(bin)
        .arg("run")
        .args(args)
        .env("KUBECONFIG", cp.kubeconfig_path())
        .env("KUBE_MCP_METRICS_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info,kube=warn")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting kube-mcp-operator")
}

/// Waits until the endpoint reports a token Secret and URL in its status.
async fn wait_status(client: &Client, within: Duration) -> anyhow::Result<(String, String)> {
    let api = endpoint_api(client);
    let deadline = Instant::now() + within;
    loop {
        let ep = api.get(ENDPOINT).await?;
        let status = ep.data.get("status");
        let url = status.and_then(|s| s.get("url")).and_then(|v| v.as_str());
        let secret = status
            .and_then(|s| s.get("tokenSecretName"))
            .and_then(|v| v.as_str());
        if let (Some(url), Some(secret)) = (url, secret) {
            return Ok((url.to_string(), secret.to_string()));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "McpEndpoint {ENDPOINT} has no status.url/tokenSecretName after {within:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The Verified condition as `Status (Reason): message`, once it is True or
/// `within` has passed.
async fn wait_verified(client: &Client, within: Duration) -> String {
    let api = endpoint_api(client);
    let deadline = Instant::now() + within;
    let mut last = "no Verified condition yet".to_string();
    while Instant::now() < deadline {
        if let Ok(ep) = api.get(ENDPOINT).await {
            let conds = ep.data["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if let Some(c) = conds.iter().find(|c| c["type"] == "Verified") {
                last = format!(
                    "{} ({}): {}",
                    c["status"].as_str().unwrap_or("?"),
                    c["reason"].as_str().unwrap_or("?"),
                    c["message"].as_str().unwrap_or("")
                );
                if c["status"] == "True" {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    last
}

pub fn client_configs(name: &str, url: &str, token: &str) -> String {
    let json = serde_json::json!({"mcpServers": {name: {"type": "http", "url": url, "headers": {"X-MCP-AUTH": token}}}});
    let vscode = serde_json::json!({"servers": {name: {"type": "http", "url": url, "headers": {"X-MCP-AUTH": token}}}});
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    format!(
        "Claude Desktop / Gemini CLI (mcpServers):\n{}\n\nVS Code (.vscode/mcp.json):\n{}\n\nCodex (~/.codex/config.toml), with `export X_MCP_AUTH={token}`:\n[mcp_servers.{}]\nurl = \"{url}\"\nenv_http_headers = {{ \"X-MCP-AUTH\" = \"X_MCP_AUTH\" }}\n",
        pretty(&json),
        pretty(&vscode),
        name.replace('-', "_"),
    )
}

pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    step(
        started,
        "starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)",
    );
    let cp = ControlPlane::start(Options::default())
        .await
        .context("starting the control plane")?;
    step(
        started,
        &format!(
            "control plane ready: {} (kubeconfig {})",
            cp.server_url(),
            cp.kubeconfig_path().display()
        ),
    );
    let client = cp.client().await;
    let node = if opts.real_node {
        step(
            started,
            "joining a real node (containerd, runc, kubelet; the first run builds them and the images)",
        );
        match RealNode::start(&cp, NodeOptions::default()).await {
            Ok(node) => Some(node),
            Err(e) => {
                step(
                    started,
                    &format!(
                        "no real node on this machine ({e}); the kubelet harness plays the node"
                    ),
                );
                None
            }
        }
    } else {
        None
    };
    step(
        started,
        "installing the McpEndpoint CRD and the admission policies",
    );
    install_crd(&client, &opts.repo_root).await?;
    install_admission(&client, &opts.repo_root).await?;
    step(started, "starting kube-mcp-operator");
    // Stands in for cluster DNS: the operator verifies the endpoint over MCP
    // at the address the kubelet harness gives its server.
    let verify_map = cp.data_dir().join("verify-address-map");
    std::fs::write(&verify_map, "")?;
    let verify_arg = verify_map.display().to_string();
    let mut operator = spawn_operator(&cp, &["--verify-address-map", &verify_arg])?;
    let ns: Api<Namespace> = Api::all(client.clone());
    let mut metadata = serde_json::json!({"name": NAMESPACE});
    if node.is_some() {
        // The team's pods go to the real node, under Pod Security "restricted".
        metadata["annotations"] = crate::node::namespace_annotations();
        metadata["labels"] =
            serde_json::json!({"pod-security.kubernetes.io/enforce": "restricted"});
    }
    ns.patch(
        NAMESPACE,
        &PatchParams::apply("kube-mcp-demo"),
        &Patch::Apply(
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}),
        ),
    )
    .await?;
    step(
        started,
        &format!(
            "applying config/samples/{ENDPOINT}.yaml, with spec.auth.modes [Token, Kubernetes]"
        ),
    );
    let sample = read_docs(
        &opts
            .repo_root
            .join(format!("config/samples/{ENDPOINT}.yaml")),
    )?;
    apply_docs(
        &client,
        sample
            .into_iter()
            .map(agent::with_service_account_tokens)
            .collect(),
    )
    .await?;
    let (url, secret_name) = match wait_status(&client, Duration::from_secs(60)).await {
        Ok(v) => v,
        Err(e) => {
            anyhow::bail!(
                "{e}\n(operator logs: {}/operator-*.log)",
                cp.data_dir().display()
            );
        }
    };
    let served = match &node {
        Some(_) => serve::real(&client, started).await?,
        None => serve::harness(&client, &cp, started).await?,
    };
    let local = served.local.clone();
    std::fs::write(
        &verify_map,
        format!("{ENDPOINT}.{NAMESPACE}.svc={}\n", served.verify_addr),
    )?;
    let secret = Api::<Secret>::namespaced(client.clone(), NAMESPACE)
        .get(&secret_name)
        .await?;
    let token = secret
        .data
        .and_then(|mut d| d.remove("token"))
        .map(|b| String::from_utf8_lossy(&b.0).trim().to_string())
        .context("the token Secret has no key `token`")?;
    println!("\n=== kube-mcp demo: McpEndpoint {NAMESPACE}/{ENDPOINT} is serving ===");
    println!("In-cluster URL (status.url): {url}");
    println!("Local URL (this machine):    {local}");
    println!("Token (Secret {secret_name}, key token): {token}");
    println!(
        "Kubeconfig for kubectl:      export KUBECONFIG={}\n",
        cp.kubeconfig_path().display()
    );
    println!("{}", client_configs(ENDPOINT, &local, &token));
    step(
        started,
        "a real MCP client (rmcp) lists the endpoint's tools",
    );
    let mcp = McpClient::connect(&local, Some(&token))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let tools = mcp.list_tools().await;
    println!("tools/list -> {} tools: {}", tools.len(), tools.join(", "));
    let pods = mcp
        .call(
            "kubectl_get",
            serde_json::json!({"resourceType": "pods", "namespace": NAMESPACE, "output": "wide"}),
        )
        .await;
    println!("kubectl_get pods -n {NAMESPACE}:\n{}", pods.text);
    mcp.close().await;
    step(
        started,
        "an in-cluster-style client calls with its own ServiceAccount token",
    );
    println!("{}", agent::run(&client, &local, &url).await?);
    step(
        started,
        "waiting for the operator's own MCP check (condition Verified)",
    );
    println!(
        "Verified: {}",
        wait_verified(&client, Duration::from_secs(30)).await
    );
    if opts.exit_after_client {
        step(started, "done (--exit-after-client)");
    } else {
        step(started, "running; press Ctrl-C to stop and clean up");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            status = operator.wait() => eprintln!("kube-mcp-operator exited: {status:?}"),
        }
    }
    drop(served);
    let _ = operator.start_kill();
    drop(node);
    drop(cp);
    step(started, "stopped and cleaned up");
    Ok(())
}
