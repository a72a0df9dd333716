//! Plays the kubelet for kube-mcp-server: there is no container runtime
//! here, so for each Ready pod of an endpoint's Deployment this starts the
//! server binary as a local process with the environment the operator
//! rendered (Secret and ConfigMap references resolved from the API), the
//! pod's Secret volumes mirrored into a directory (and kept in sync, as the
//! kubelet does, so token rotation reaches the process), and cluster access
//! from the pod's ServiceAccount (a TokenRequest token). It stops the
//! process when the pod goes away.

use base64::Engine;
use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar, Pod, Secret};
use kube::api::ListParams;
use kube::{Api, Client};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One server process standing in for one pod.
pub struct Running {
    pub pod: String,
    pub port: u16,
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The harness for one namespace and label selector (one endpoint).
#[derive(Clone)]
pub struct Kubelet {
    client: Client,
    namespace: String,
    selector: String,
    bin: PathBuf,
    api_server: String,
    ca_pem: String,
    /// Variables set last, over the rendered env (tests of a misconfigured server).
    env_overrides: Vec<(String, String)>,
    running: Arc<Mutex<BTreeMap<String, Running>>>,
}

impl Kubelet {
    /// `api_server` and `ca_pem` are how the pods reach the API server.
    pub fn new(
        client: Client,
        cp: &crate::ControlPlane,
        namespace: &str,
        selector: &str,
        bin: &Path,
    ) -> Self {
        Self {
            client,
            namespace: namespace.into(),
            selector: selector.into(),
            bin: bin.into(),
            api_server: cp.server_url().to_string(),
            ca_pem: cp.ca_pem().to_string(),
            env_overrides: vec![],
            running: Arc::default(),
        }
    }

    /// Sets `vars` over the env of every process started from now on (default: none),
    /// e.g. `ALLOWED_TOOLS=ping` for a server that advertises other tools than rendered.
    pub fn with_env(mut self, vars: Vec<(String, String)>) -> Self {
        self.env_overrides = vars;
        self
    }

    /// One pass: start processes for new Ready pods, stop those whose pod is
    /// gone, refresh mirrored Secret volumes. Returns the URLs now served.
    pub async fn sync(&self) -> anyhow::Result<Vec<String>> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let list = pods
            .list(&ListParams::default().labels(&self.selector))
            .await?;
        let ready: Vec<Pod> = list
            .items
            .into_iter()
            .filter(is_ready)
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let names: Vec<String> = ready
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            running.retain(|name, _| names.contains(name));
        }
        for pod in ready {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let known = self
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(&name);
            if known {
                self.refresh_volumes(&pod).await?;
            } else {
                let r = self.start(&pod).await?;
                self.running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name, r);
            }
        }
        Ok(self.urls())
    }

    pub fn urls(&self) -> Vec<String> {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(Running::url)
            .collect()
    }

    /// Makes `kubectl port-forward` to each running pod reach its server
    /// process (kwok forwards by the pod's PortForward object).
    pub async fn forward_ports(&self) -> anyhow::Result<()> {
        let targets: Vec<(String, u16)> = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|r| (r.pod.clone(), r.port))
            .collect();
        for (pod, port) in targets {
            crate::controlplane::port_forward::forward_pod(
                &self.client,
                &self.namespace,
                &pod,
                port,
            )
            .await?;
        }
        Ok(())
    }

    pub fn logs(&self) -> String {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|r| format!("--- {}\n{}", r.pod, r.log()))
            .collect()
    }

    /// Syncs until at least one server answers /health, or fails after `within`.
    pub async fn wait_serving(&self, within: Duration) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(url) = self.sync().await?.into_iter().next() {
                let health = url.replace("/mcp", "/health");
                if reqwest::get(&health)
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
                {
                    return Ok(url);
                }
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!(
                    "no Ready pod for {} in {} served within {within:?}; logs:\n{}",
                    self.selector,
                    self.namespace,
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Keeps syncing in the background (pods come and go, Secrets rotate).
    pub fn spawn_loop(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.sync().await {
                    tracing::warn!(error = %e, "kubelet harness sync failed");
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    pub fn stop_all(&self) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn container(pod: &Pod) -> anyhow::Result<Container> {
        pod.spec
            .as_ref()
            .and_then(|s| s.containers.first().cloned())
            .ok_or_else(|| anyhow::anyhow!("pod has no container"))
    }

    async fn start(&self, pod: &Pod) -> anyhow::Result<Running> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let container = Self::container(pod)?;
        let dir = tempfile::tempdir()?;
        let mounts = self.mirror_volumes(pod, dir.path()).await?;
        let mut env = self
            .resolve_env(pod, container.env.as_deref().unwrap_or_default())
            .await?;
        // Paths inside the pod become paths inside our mirror.
        for value in env.values_mut() {
            let longest = mounts
                .iter()
                .filter(|(mount, _)| value.starts_with(mount.as_str()))
                .max_by_key(|(mount, _)| mount.len());
            if let Some((mount, local)) = longest {
                *value = format!("{}{}", local.display(), &value[mount.len()..]);
            }
        }
        let sa = pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".into());
        let token = crate::service_account_token(&self.client, &self.namespace, &sa).await;
        let port = crate::server::free_port();
        env.insert("K8S_SERVER".into(), self.api_server.clone());
        env.insert("K8S_TOKEN".into(), token);
        env.insert(
            "K8S_CA_DATA".into(),
            base64::engine::general_purpose::STANDARD.encode(&self.ca_pem),
        );
        env.insert("HOST".into(), "127.0.0.1".into());
        env.insert("PORT".into(), port.to_string());
        env.extend(self.env_overrides.iter().cloned());
        let log = dir.path().join("server.log");
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .envs(&env)
            .args(container.args.unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", self.bin.display()))?;
        Ok(Running {
            pod: name,
            port,
            child,
            _dir: dir,
            log,
        })
    }

    /// Secret and ConfigMap volumes written under `root`; returns mountPath -> local dir.
    async fn mirror_volumes(
        &self,
        pod: &Pod,
        root: &Path,
    ) -> anyhow::Result<Vec<(String, PathBuf)>> {
        let container = Self::container(pod)?;
        let volumes = pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.clone())
            .unwrap_or_default();
        let mut out = vec![];
        for m in container.volume_mounts.unwrap_or_default() {
            let Some(v) = volumes.iter().find(|v| v.name == m.name) else {
                continue;
            };
            let local = root.join("volumes").join(&m.name);
            std::fs::create_dir_all(&local)?;
            let files = self.volume_files(v).await?;
            for (file, data) in files {
                write_if_changed(&local.join(file), &data)?;
            }
            out.push((m.mount_path.trim_end_matches('/').to_string(), local));
        }
        Ok(out)
    }

    async fn refresh_volumes(&self, pod: &Pod) -> anyhow::Result<()> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let root = {
            let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            match running.get(&name) {
                Some(r) => r._dir.path().to_path_buf(),
                None => return Ok(()),
            }
        };
        self.mirror_volumes(pod, &root).await.map(|_| ())
    }

    async fn volume_files(
        &self,
        v: &k8s_openapi::api::core::v1::Volume,
    ) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        if let Some(s) = &v.secret {
            let name = s.secret_name.clone().unwrap_or_default();
            let secret = Api::<Secret>::namespaced(self.client.clone(), &self.namespace)
                .get(&name)
                .await?;
            let data: BTreeMap<String, Vec<u8>> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            return Ok(project(&data, s.items.as_deref()));
        }
        if let Some(c) = &v.config_map {
            let cm = Api::<ConfigMap>::namespaced(self.client.clone(), &self.namespace)
                .get(&c.name)
                .await?;
            let data: BTreeMap<String, Vec<u8>> = cm
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect();
            return Ok(project(&data, c.items.as_deref()));
        }
        Ok(vec![])
    }

    async fn resolve_env(
        &self,
        pod: &Pod,
        vars: &[EnvVar],
    ) -> anyhow::Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for v in vars {
            let value = if let Some(value) = &v.value {
                value.clone()
            } else if let Some(from) = &v.value_from {
                if let Some(r) = &from.secret_key_ref {
                    let s = Api::<Secret>::namespaced(self.client.clone(), &self.namespace)
                        .get(&r.name)
                        .await?;
                    let bytes = s
                        .data
                        .unwrap_or_default()
                        .remove(&r.key)
                        .map(|b| b.0)
                        .unwrap_or_default();
                    String::from_utf8(bytes)?
                } else if let Some(r) = &from.config_map_key_ref {
                    let c = Api::<ConfigMap>::namespaced(self.client.clone(), &self.namespace)
                        .get(&r.name)
                        .await?;
                    c.data
                        .unwrap_or_default()
                        .remove(&r.key)
                        .unwrap_or_default()
                } else if let Some(f) = &from.field_ref {
                    match f.field_path.as_str() {
                        "metadata.name" => pod.metadata.name.clone().unwrap_or_default(),
                        "metadata.namespace" => self.namespace.clone(),
                        "spec.serviceAccountName" => pod
                            .spec
                            .as_ref()
                            .and_then(|s| s.service_account_name.clone())
                            .unwrap_or_default(),
                        _ => String::new(),
                    }
                } else {
                    String::new()
                }
            } else {
                String::new()
            };
            out.insert(v.name.clone(), value);
        }
        Ok(out)
    }
}

fn project(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[k8s_openapi::api::core::v1::KeyToPath]>,
) -> Vec<(String, Vec<u8>)> {
    match items {
        Some(items) => items
            .iter()
            .filter_map(|i| data.get(&i.key).map(|d| (i.path.clone(), d.clone())))
            .collect(),
        None => data.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    }
}

fn write_if_changed(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if std::fs::read(path).map(|d| d == data).unwrap_or(false) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // Write then rename, as the kubelet swaps volume contents atomically.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(tmp, path)
}

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
