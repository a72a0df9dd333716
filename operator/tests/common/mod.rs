//! Helpers shared by the operator's integration tests: an in-process
//! controller against the test control plane, endpoint creation, polling.
#![allow(dead_code)] // each test binary uses a different subset

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client, ResourceExt};
use kube_mcp_operator::config::{Config, MaxAccess};
use kube_mcp_operator::crd::{McpEndpoint, McpEndpointSpec};
use kube_mcp_operator::labels;
use kube_mcp_operator::metrics::Metrics;
use kube_mcp_operator::reconcile::{self, Context};
use kube_mcp_tests::{client_with_token, service_account_token};
use tokio_util::sync::CancellationToken;

pub const WAIT: Duration = Duration::from_secs(60);

/// Polls `f` until it returns Some, or panics after `WAIT`.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn install_crd(client: &Client) {
    reconcile::install_crd(client)
        .await
        .expect("installing the CRD");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    eventually("the CRD to be established", || async {
        let crd = crds.get("mcpendpoints.kubemcp.io").await.ok()?;
        let established = crd
            .status?
            .conditions?
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        established.then_some(())
    })
    .await;
    // The endpoint API answers.
    eventually("the McpEndpoint API", || async {
        Api::<McpEndpoint>::all(client.clone())
            .list(&ListParams::default().limit(1))
            .await
            .ok()
    })
    .await;
}

/// A controller watching `namespaces` only (tests run in parallel, each with its own policy).
pub struct Operator {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    pub ctx: Arc<Context>,
}

impl Operator {
    pub async fn start(client: &Client, config: Config) -> Operator {
        install_crd(client).await;
        Self::start_with(client.clone(), config).await
    }

    /// Runs the controller with `client` (the CRD must be installed).
    pub async fn start_with(client: Client, config: Config) -> Operator {
        let ctx = Arc::new(Context::new(client, config, Arc::new(Metrics::default())));
        let stop = CancellationToken::new();
        let task = tokio::spawn(reconcile::run(ctx.clone(), stop.clone()));
        Operator { stop, task, ctx }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

/// No MCP verification: these tests run no server process, so every
/// verification would fail and be retried (e2e.rs tests verification).
/// Every access level allowed (the default ceiling is ReadOnly).
pub fn config(watch: &[&str], admins: &[&str]) -> Config {
    Config {
        watch_namespaces: watch.iter().map(|s| s.to_string()).collect(),
        admin_namespaces: admins.iter().map(|s| s.to_string()).collect(),
        max_access: MaxAccess::Full,
        verify: false,
        ..Config::default()
    }
}

pub async fn create(client: &Client, ns: &str, name: &str, spec: McpEndpointSpec) -> McpEndpoint {
    let api: Api<McpEndpoint> = Api::namespaced(client.clone(), ns);
    api.create(&PostParams::default(), &McpEndpoint::new(name, spec))
        .await
        .expect("creating the McpEndpoint")
}

pub async fn condition(
    client: &Client,
    ns: &str,
    name: &str,
    ty: &str,
) -> Option<(String, String)> {
    let ep = Api::<McpEndpoint>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .ok()?;
    let c = ep.status?.conditions.into_iter().find(|c| c.type_ == ty)?;
    Some((c.status, c.reason))
}

pub async fn wait_condition(client: &Client, ns: &str, name: &str, ty: &str, want: &str) -> String {
    eventually(&format!("{ns}/{name} {ty}={want}"), || async {
        let (s, reason) = condition(client, ns, name, ty).await?;
        (s == want).then_some(reason)
    })
    .await
}

pub fn code<T>(r: Result<T, kube::Error>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(kube::Error::Api(s)) => s.code,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// A client authenticated as the ServiceAccount of endpoint `ns/endpoint`.
pub async fn sa_client(admin: &Client, ns: &str, endpoint: &str) -> Client {
    let sa = format!("kube-mcp.{endpoint}");
    let token = service_account_token(admin, ns, &sa).await;
    client_with_token(&token).await
}

/// Waits until listing pods in `ns` with `client` answers `want` (the API
/// server's RBAC authorizer sees Role changes through an informer, a few ms late).
pub async fn settle(client: &Client, ns: &str, want: u16) {
    eventually(&format!("list pods in {ns} to answer {want}"), || async {
        let got = code(
            Api::<Pod>::namespaced(client.clone(), ns)
                .list(&ListParams::default())
                .await,
        );
        (got == want).then_some(())
    })
    .await;
}

/// Creates endpoint `ns/name`, waits until it is granted, and returns a
/// client as its ServiceAccount once the API server honours the grant.
pub async fn granted(client: &Client, ns: &str, name: &str, spec: McpEndpointSpec) -> Client {
    create(client, ns, name, spec).await;
    wait_condition(client, ns, name, "RbacReady", "True").await;
    let sa = sa_client(client, ns, name).await;
    settle(&sa, ns, 200).await;
    sa
}

pub async fn owned_rbac(client: &Client, ns: &str, name: &str) -> Vec<String> {
    let lp = ListParams::default().labels(&labels::owner_selector(ns, name));
    let mut out = vec![];
    for r in Api::<Role>::all(client.clone())
        .list_metadata(&lp)
        .await
        .unwrap()
    {
        out.push(format!(
            "Role {}/{}",
            r.namespace().unwrap_or_default(),
            r.name_any()
        ));
    }
    for r in Api::<RoleBinding>::all(client.clone())
        .list_metadata(&lp)
        .await
        .unwrap()
    {
        out.push(format!(
            "RoleBinding {}/{}",
            r.namespace().unwrap_or_default(),
            r.name_any()
        ));
    }
    for r in Api::<ClusterRole>::all(client.clone())
        .list_metadata(&lp)
        .await
        .unwrap()
    {
        out.push(format!("ClusterRole {}", r.name_any()));
    }
    for r in Api::<ClusterRoleBinding>::all(client.clone())
        .list_metadata(&lp)
        .await
        .unwrap()
    {
        out.push(format!("ClusterRoleBinding {}", r.name_any()));
    }
    out
}

/// The Secret the endpoint's Deployment mounts as its token.
pub async fn token_volume(client: &Client, ns: &str, name: &str) -> Option<String> {
    let d = Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .ok()?;
    d.spec?
        .template
        .spec?
        .volumes?
        .first()?
        .secret
        .as_ref()?
        .secret_name
        .clone()
}
