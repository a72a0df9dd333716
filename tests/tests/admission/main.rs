//! The admission policies of config/admission against the real API server:
//! each rule is played by the party it guards against (an endpoint creator
//! wanting more than they hold, an endpoint's ServiceAccount, the operator's
//! own account), through impersonation or real ServiceAccount tokens.
//!
//! The control plane is this binary's own; config/default (which includes
//! config/admission) is installed once. A policy loads a moment after it is
//! created, so each test first waits for a denial from the policy it
//! exercises before it trusts an admission.

mod grants;
mod operator;
mod workloads;

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kube::api::{DynamicObject, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use kube_mcp_tests::{cluster, kubectl};

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(mut cmd: Command) -> String {
    let out = cmd.current_dir(repo()).output().expect("running a command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Installs config/default (CRD, operator RBAC and policy ConfigMap, the
/// admission policies) once per test process.
fn install() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let mut apply = kubectl();
        apply.args(["apply", "--server-side", "-k", "config/default"]);
        run(apply);
        let mut wait = kubectl();
        wait.args([
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/mcpendpoints.kubemcp.io",
        ]);
        run(wait);
    });
}

/// Builds a typed object from JSON (test fixtures).
fn obj<K: DeserializeOwned>(v: Value) -> K {
    serde_json::from_value(v).expect("a well-formed fixture")
}

/// An admin client that acts as `user` in `groups` (Impersonate-* headers).
async fn impersonating(user: &str, groups: &[&str]) -> Client {
    let yaml = std::fs::read_to_string(cluster().kubeconfig_path()).unwrap();
    let mut cfg = kube_mcp_tests::kubeconfig::client_config(&yaml)
        .await
        .unwrap();
    cfg.auth_info.impersonate = Some(user.into());
    cfg.auth_info.impersonate_groups = Some(groups.iter().map(|g| g.to_string()).collect());
    Client::try_from(cfg).unwrap()
}

/// The outcome of a write: Ok, or the API server's message.
fn outcome<T>(r: Result<T, kube::Error>) -> Result<(), String> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) => Err(format!("{} ({})", s.message, s.code)),
        Err(e) => Err(e.to_string()),
    }
}

const DEADLINE: Duration = Duration::from_secs(30);

/// Retries `f` until it is refused by the ValidatingAdmissionPolicy `policy`
/// (policies and RBAC load a moment after they are written); returns the message.
async fn denied_by<F, Fut>(policy: &str, mut f: F) -> String
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    loop {
        let last = f().await;
        match &last {
            Err(m)
                if m.contains(&format!(
                    "ValidatingAdmissionPolicy 'kube-mcp-operator-{policy}'"
                )) =>
            {
                assert!(m.ends_with("(403)"), "a denial is a 403: {m}");
                return m.clone();
            }
            _ if start.elapsed() > DEADLINE => {
                panic!("not refused by {policy} within {DEADLINE:?}: {last:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Retries `f` until it succeeds (RBAC bindings load a moment after they are written).
async fn admitted<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    loop {
        match f().await {
            Ok(()) => return,
            Err(e) if start.elapsed() > DEADLINE => panic!("not admitted within {DEADLINE:?}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn endpoints(client: &Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("kubemcp.io", "v1alpha1", "McpEndpoint");
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, "mcpendpoints"),
    )
}

/// Create parameters; denials are probed with dry runs (admission runs in
/// full), so a probe that lands before its policy loads leaves nothing behind.
fn post(dry_run: bool) -> PostParams {
    PostParams {
        dry_run,
        ..PostParams::default()
    }
}

/// Patch parameters; like [`post`], a dry run for probes.
fn patch_params(dry_run: bool) -> PatchParams {
    PatchParams {
        dry_run,
        ..PatchParams::default()
    }
}

/// Creates the McpEndpoint `ns/name` with `spec` as `client`.
async fn create_endpoint(
    client: &Client,
    ns: &str,
    name: &str,
    spec: Value,
    dry_run: bool,
) -> Result<(), String> {
    let ep: DynamicObject = obj(json!({
        "apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint",
        "metadata": {"name": name, "namespace": ns}, "spec": spec,
    }));
    outcome(endpoints(client, ns).create(&post(dry_run), &ep).await)
}

/// Applies `manifest` (YAML or JSON) with kubectl as admin.
fn admin_apply(manifest: &str) {
    kube_mcp_tests::fixture::kubectl_apply(manifest, true);
}

/// A ServiceAccount `name` in `ns` holding `rules` there; a client with its token.
async fn service_account_with(admin: &Client, ns: &str, name: &str, rules: Value) -> Client {
    admin_apply(
        &json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": name, "namespace": ns}, "rules": rules},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": name, "namespace": ns},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
             "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]},
        ]})
        .to_string(),
    );
    let token = kube_mcp_tests::service_account_token(admin, ns, name).await;
    kube_mcp_tests::client_with_token(&token).await
}
