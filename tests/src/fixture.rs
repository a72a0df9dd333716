//! The process-wide control plane for tests.
//!
//! The first call to [`cluster`] in a test process starts one control plane
//! (on its own thread with its own runtime, so it works from inside any
//! `#[tokio::test]`), or attaches to the cluster named by
//! `$KUBE_MCP_KUBECONFIG` (e.g. the one `kube-mcp-dev up` runs). Every other
//! call returns the same one. It is stopped by its watchdog when the test
//! process exits.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Node, ServiceAccount};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use rand::Rng as _;

use crate::controlplane::{ControlPlane, Options};
use crate::node::{NODE_NAME, NodeOptions, RealNode};

static CLUSTER: OnceLock<Result<ControlPlane, String>> = OnceLock::new();

/// Env var naming the kubeconfig of an already running cluster to use.
pub const KUBECONFIG_ENV: &str = "KUBE_MCP_KUBECONFIG";

/// Env var naming the kubeconfig of the control plane `scripts/test`
/// shares between test binaries.
pub const SHARED_KUBECONFIG_ENV: &str = "KUBE_MCP_SHARED_KUBECONFIG";

/// Test binaries that change the cluster for everyone after them, and so
/// start a control plane of their own even when a shared one is offered:
/// they install ValidatingAdmissionPolicies (admission, docs, e2e,
/// packaging), the operator's cluster-wide install (docs, packaging) or a
/// real node that pods would be scheduled on (real_node). The operator's
/// fault tests stop and restart their API server and build their own
/// control plane anyway.
pub const OWN_CONTROL_PLANE: &[&str] = &["admission", "docs", "e2e", "packaging", "real_node"];

/// Whether the test binary at `exe` (cargo names it `<target>-<hash>`) may
/// use the shared control plane.
pub fn may_share(exe: &std::path::Path) -> bool {
    let stem = exe.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let target = stem.rsplit_once('-').map_or(stem, |(t, _)| t);
    !OWN_CONTROL_PLANE.contains(&target)
}

/// The test process's control plane, started on first use.
///
/// # Panics
/// When the control plane cannot be started (test start-up): the message
/// carries the failing component's last log lines.
pub fn cluster() -> &'static ControlPlane {
    let result = CLUSTER.get_or_init(|| {
        std::thread::Builder::new()
            .name("kube-mcp-controlplane".into())
            .spawn(start_or_attach)
            .map_err(|e| format!("spawning the control plane thread: {e}"))
            .and_then(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("the control plane thread panicked".into()))
            })
    });
    match result {
        Ok(cp) => cp,
        Err(e) => panic!("kube-mcp test control plane unavailable: {e}"),
    }
}

fn start_or_attach() -> Result<ControlPlane, String> {
    if let Some(path) = std::env::var_os(KUBECONFIG_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return ControlPlane::attach(&path).map_err(|e| format!("{KUBECONFIG_ENV}: {e}"));
    }
    if let Some(path) = std::env::var_os(SHARED_KUBECONFIG_ENV).filter(|p| !p.is_empty())
        && std::env::current_exe().is_ok_and(|exe| may_share(&exe))
    {
        return attach_shared(&PathBuf::from(path));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("building a runtime: {e}"))?;
    let started = std::time::Instant::now();
    let cp = rt.block_on(async {
        match ControlPlane::start(Options::default()).await {
            // A free port picked at start-up can be taken by another process
            // before the component binds it: one retry with fresh ports.
            Err(crate::Error::ComponentExited {
                component, tail, ..
            }) => {
                eprintln!("kube-mcp: {component} exited during start-up, retrying once:\n{tail}");
                ControlPlane::start(Options::default()).await
            }
            other => other,
        }
    });
    let cp = cp.map_err(|e| e.to_string())?;
    eprintln!(
        "kube-mcp: control plane at {} ready in {:.1}s (data {})",
        cp.server_url(),
        started.elapsed().as_secs_f64(),
        cp.data_dir().display()
    );
    Ok(cp)
}

/// Attaches to the shared control plane after checking that no binary
/// before this one left cluster-wide state that would change what this one
/// sees: a binary that does belongs in [`OWN_CONTROL_PLANE`].
fn attach_shared(path: &std::path::Path) -> Result<ControlPlane, String> {
    let cp = ControlPlane::attach(path).map_err(|e| format!("{SHARED_KUBECONFIG_ENV}: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("building a runtime: {e}"))?;
    let left = rt.block_on(async {
        use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding;
        let client = cp.try_client().await.map_err(|e| e.to_string())?;
        let mut left: Vec<String> = Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())
            .list_metadata(&Default::default())
            .await
            .map_err(|e| format!("listing admission policy bindings: {e}"))?
            .items
            .into_iter()
            .filter_map(|b| b.metadata.name)
            .map(|n| format!("ValidatingAdmissionPolicyBinding {n}"))
            .collect();
        if Api::<Node>::all(client)
            .get_metadata_opt(NODE_NAME)
            .await
            .map_err(|e| format!("reading node {NODE_NAME}: {e}"))?
            .is_some()
        {
            left.push(format!("the real node {NODE_NAME}"));
        }
        Ok::<_, String>(left)
    })?;
    if !left.is_empty() {
        return Err(format!(
            "the shared control plane ({SHARED_KUBECONFIG_ENV}={}) holds {}, left by a test binary \
             that ran before this one: add that binary to fixture::OWN_CONTROL_PLANE",
            path.display(),
            left.join(", ")
        ));
    }
    eprintln!(
        "kube-mcp: using the shared control plane at {}",
        cp.server_url()
    );
    Ok(cp)
}

/// A fresh namespace for one test.
#[derive(Clone)]
pub struct TestNamespace {
    /// An admin client (built on the calling test's runtime).
    pub client: kube::Client,
    /// `<prefix>-<5 random chars>`.
    pub name: String,
}

impl TestNamespace {
    /// Deletes the namespace (without waiting for it to go away).
    pub async fn delete(self) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let _ = api.delete(&self.name, &DeleteParams::background()).await;
    }
}

/// Label put on every namespace [`test_namespace`] creates.
pub const TEST_NAMESPACE_LABEL: &str = "kube-mcp.io/test";

/// Random lowercase alphanumerics.
pub fn random_suffix(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// Creates namespace `<prefix>-<random 5 chars>` and waits until its
/// `default` ServiceAccount exists (so pods can be created in it).
///
/// # Panics
/// On API errors or after 60 s without the ServiceAccount.
pub async fn test_namespace(prefix: &str) -> TestNamespace {
    namespace_with(prefix, serde_json::json!({}), serde_json::json!({})).await
}

/// Like [`test_namespace`], with extra labels and annotations (JSON objects).
///
/// # Panics
/// As [`test_namespace`].
pub async fn namespace_with(
    prefix: &str,
    mut labels: serde_json::Value,
    annotations: serde_json::Value,
) -> TestNamespace {
    let client = admin_client().await;
    let name = format!("{prefix}-{}", random_suffix(5));
    labels[TEST_NAMESPACE_LABEL] = "true".into();
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": name, "labels": labels, "annotations": annotations },
    }))
    .unwrap_or_else(|e| panic!("namespace manifest: {e}"));
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match sas.get_opt("default").await {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(e) => panic!("reading {name}/default ServiceAccount: {e}"),
        }
        if std::time::Instant::now() > deadline {
            panic!(
                "namespace {name}: no default ServiceAccount after 60s (kube-controller-manager down?)"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    TestNamespace { client, name }
}

/// A new admin client for the calling test's runtime (same as
/// `cluster().client().await`).
pub async fn admin_client() -> kube::Client {
    cluster().client().await
}

/// A ServiceAccount token from the TokenRequest API (1 hour), for the API
/// server's own audience.
///
/// # Panics
/// On API errors (e.g. the ServiceAccount does not exist).
pub async fn service_account_token(client: &kube::Client, ns: &str, sa: &str) -> String {
    request_token(client, ns, sa, None).await
}

/// A ServiceAccount token for `audience` (1 hour), as a projected token with
/// that audience is: what an in-cluster agent presents to an MCP endpoint.
///
/// # Panics
/// As [`service_account_token`].
pub async fn service_account_token_for(
    client: &kube::Client,
    ns: &str,
    sa: &str,
    audience: &str,
) -> String {
    request_token(client, ns, sa, Some(vec![audience.to_string()])).await
}

async fn request_token(
    client: &kube::Client,
    ns: &str,
    sa: &str,
    audiences: Option<Vec<String>>,
) -> String {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let req = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences,
            expiration_seconds: Some(3600),
            ..Default::default()
        }),
        ..Default::default()
    };
    let resp: TokenRequest = api
        .create_subresource("token", sa, &PostParams::default(), &req)
        .await
        .unwrap_or_else(|e| panic!("TokenRequest for {ns}/{sa}: {e}"));
    resp.status
        .and_then(|s| s.token)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| panic!("TokenRequest for {ns}/{sa}: no token in the response"))
}

/// A client that authenticates with `token` (server URL and CA of [`cluster`]).
///
/// # Panics
/// When the client cannot be built.
pub async fn client_with_token(token: &str) -> kube::Client {
    cluster()
        .client_with_token(token)
        .await
        .unwrap_or_else(|e| panic!("token client: {e}"))
}

/// The cached `kubectl`, preset with `--kubeconfig` (admin).
pub fn kubectl() -> Command {
    cluster().kubectl()
}

static REAL_NODE: OnceLock<Result<Option<RealNode>, String>> = OnceLock::new();

/// Joins a real node (containerd, runc, kubelet; see [`crate::node`]) to the
/// test process's control plane on first use and returns its name; the
/// attached cluster (`$KUBE_MCP_KUBECONFIG`) must already have one
/// (`kube-mcp-dev up --real-node`).
///
/// # Panics
/// When the node cannot start or join (test start-up): the message says
/// which component refused and carries its last log lines.
pub fn real_node() -> &'static str {
    let result = REAL_NODE.get_or_init(|| {
        let cp = cluster();
        std::thread::Builder::new()
            .name("kube-mcp-real-node".into())
            .spawn(move || start_or_find_node(cp))
            .map_err(|e| format!("spawning the real node thread: {e}"))
            .and_then(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("the real node thread panicked".into()))
            })
    });
    match result {
        Ok(_) => NODE_NAME,
        Err(e) => panic!("kube-mcp real node unavailable: {e}"),
    }
}

fn start_or_find_node(cp: &'static ControlPlane) -> Result<Option<RealNode>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("building a runtime: {e}"))?;
    let started = std::time::Instant::now();
    rt.block_on(async {
        if std::env::var_os(KUBECONFIG_ENV).is_some_and(|p| !p.is_empty()) {
            let client = cp.try_client().await.map_err(|e| e.to_string())?;
            let node = Api::<Node>::all(client)
                .get_opt(NODE_NAME)
                .await
                .map_err(|e| e.to_string())?;
            return match node {
                Some(n) if crate::controlplane::node_ready(&n) => Ok(None),
                _ => Err(format!(
                    "the cluster {KUBECONFIG_ENV} names has no Ready node {NODE_NAME}: \
                     start it with `kube-mcp-dev up --real-node`"
                )),
            };
        }
        let node = RealNode::start(cp, NodeOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        eprintln!(
            "kube-mcp: real node {NODE_NAME} ready in {:.1}s (data {})",
            started.elapsed().as_secs_f64(),
            node.data_dir().display()
        );
        Ok(Some(node))
    })
}

/// A fresh namespace whose pods run on the real node (node selector and
/// toleration added by the API server's PodNodeSelector and
/// PodTolerationRestriction admission plugins), with Pod Security
/// `enforce: <level>` when given.
///
/// # Panics
/// As [`test_namespace`], and when the real node cannot start.
pub async fn real_node_namespace(prefix: &str, pod_security: Option<&str>) -> TestNamespace {
    real_node();
    let mut labels = serde_json::json!({});
    if let Some(level) = pod_security {
        labels["pod-security.kubernetes.io/enforce"] = level.into();
    }
    namespace_with(prefix, labels, crate::node::namespace_annotations()).await
}

/// Polls `f` every 200 ms until it returns `Some`, or panics after `within`
/// naming `what`.
///
/// # Panics
/// When `within` passes without an answer.
pub async fn until<T, F, Fut>(what: &str, within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the cached `kubectl` as admin with `args`, `stdin` on its standard input.
///
/// # Panics
/// When kubectl cannot be started.
pub fn kubectl_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = kubectl()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting kubectl: {e}"));
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .unwrap_or_else(|e| panic!("writing to kubectl: {e}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for kubectl: {e}"))
}

/// `kubectl apply` of `manifest` as admin (`server_side`: with
/// `--server-side`), which must succeed.
///
/// # Panics
/// When the apply fails: the message carries kubectl's error and the manifest.
pub fn kubectl_apply(manifest: &str, server_side: bool) {
    let mut args = vec!["apply", "-f", "-"];
    if server_side {
        args.push("--server-side");
    }
    let out = kubectl_stdin(&args, manifest);
    assert!(
        out.status.success(),
        "kubectl apply: {}\n{manifest}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(test)]
mod tests {
    use super::may_share;
    use std::path::Path;

    #[test]
    fn binaries_that_change_the_cluster_for_everyone_keep_their_own() {
        for (exe, shares) in [
            ("/t/debug/deps/read_tools-0a1b2c3d4e5f6789", true),
            ("/t/debug/deps/write_tools-0a1b2c3d4e5f6789", true),
            ("/t/debug/deps/kube_mcp_tests-0a1b2c3d4e5f6789", true),
            ("/t/debug/deps/admission-0a1b2c3d4e5f6789", false),
            ("/t/debug/deps/packaging-0a1b2c3d4e5f6789", false),
            ("/t/debug/deps/real_node-0a1b2c3d4e5f6789", false),
            ("/t/debug/deps/e2e-0a1b2c3d4e5f6789", false),
            ("/t/debug/deps/docs-0a1b2c3d4e5f6789", false),
            // Not cargo's naming: the whole stem is the name.
            ("/usr/local/bin/docs", false),
        ] {
            assert_eq!(may_share(Path::new(exe)), shares, "{exe}");
        }
    }
}
