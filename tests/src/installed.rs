//! kube-mcp-operator as a package installs it, run as a local process (there
//! is no container runtime): the Deployment's args and env (ConfigMap
//! references resolved as the kubelet would), a kubeconfig holding a token of
//! its ServiceAccount, so it has exactly the RBAC the package grants and runs
//! under the package's admission policies.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::{Api, Client};
use serde_json::Value;

use crate::{cluster, service_account_token};

/// The operator binary: `$KUBE_MCP_OPERATOR_BIN`, else the one built next to
/// the running test executable.
pub fn operator_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("KUBE_MCP_OPERATOR_BIN") {
        return PathBuf::from(p);
    }
    crate::bins::path("kube-mcp-operator")
}

/// A running installed operator; killed when dropped.
pub struct InstalledOperator {
    child: tokio::process::Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl InstalledOperator {
    /// Starts the operator of the Deployment manifest `deploy` (installed in the
    /// cluster: its ServiceAccount and ConfigMaps exist), watching only `watch`
    /// if given, with `extra_env` on top of the manifest's env; waits for /readyz.
    ///
    /// # Panics
    /// When the manifest lacks what a Deployment has, or the operator is not ready in 30 s.
    pub async fn start(
        client: &Client,
        deploy: &Value,
        watch: Option<&str>,
        extra_env: &[(&str, &str)],
    ) -> InstalledOperator {
        let pod = &deploy["spec"]["template"]["spec"];
        let sa = pod["serviceAccountName"]
            .as_str()
            .expect("serviceAccountName");
        let ns = deploy["metadata"]["namespace"].as_str().expect("namespace");
        let container = &pod["containers"][0];

        let token = service_account_token(client, ns, sa).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, cluster().token_kubeconfig(sa, &token)).expect("kubeconfig");
        let log = dir.path().join("operator.log");
        let port = crate::server::free_port();

        let mut cmd = tokio::process::Command::new(operator_bin());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("KUBECONFIG", &kubeconfig)
            .env(
                "POD_NAME",
                format!("kube-mcp-operator-{}", watch.unwrap_or(ns)),
            );
        for e in container["env"].as_array().into_iter().flatten() {
            let name = e["name"].as_str().expect("env name");
            if let Some(v) = e["value"].as_str() {
                cmd.env(name, v);
            }
            let cm = &e["valueFrom"]["configMapKeyRef"];
            if let (Some(cm_name), Some(key)) = (cm["name"].as_str(), cm["key"].as_str()) {
                let map = Api::<ConfigMap>::namespaced(client.clone(), ns)
                    .get(cm_name)
                    .await
                    .unwrap_or_else(|e| panic!("ConfigMap {ns}/{cm_name} for {name}: {e}"));
                let value = map.data.unwrap_or_default().remove(key);
                cmd.env(
                    name,
                    value.unwrap_or_else(|| panic!("{ns}/{cm_name} has no {key}")),
                );
            }
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        for a in container["args"].as_array().into_iter().flatten() {
            let a = a.as_str().expect("string args");
            if a.starts_with("--metrics-addr") {
                cmd.arg(format!("--metrics-addr=127.0.0.1:{port}"));
            } else {
                cmd.arg(a);
            }
        }
        if let Some(w) = watch {
            cmd.arg(format!("--watch-namespaces={w}"));
        }
        let file = std::fs::File::create(&log).expect("operator log");
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting the operator: {e}"));
        let op = InstalledOperator {
            child,
            log,
            _dir: dir,
        };

        let http = reqwest::Client::new();
        let probe = |path: &str| {
            let (http, url) = (http.clone(), format!("http://127.0.0.1:{port}{path}"));
            async move {
                match http.get(&url).send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("{url}: {}", r.status())),
                    Err(e) => Err(format!("{url}: {e}")),
                }
            }
        };
        let start = Instant::now();
        while probe("/readyz").await.is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the operator did not become ready; log:\n{}",
                op.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        probe("/healthz")
            .await
            .expect("/healthz answers once /readyz does");
        op
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Lines showing the API server refused the operator something.
    pub fn denials(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                l.contains("forbidden") || l.contains("code: 403")
            })
            .map(str::to_string)
            .collect()
    }

    /// Stops the process; returns its log.
    pub async fn stop(mut self) -> String {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.log()
    }
}
