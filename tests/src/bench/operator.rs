//! Operator scale: N McpEndpoints, time until all are Ready, API writes in
//! a steady-state window and after a restart (a forced full resync), and
//! the operator's memory at N endpoints.

use super::paging;
use super::procfs;
use super::stats::round3;
use crate::controlplane::ControlPlane;
use anyhow::{Context as _, Result, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Config {
    pub endpoints: usize,
    pub namespaces: usize,
    pub converge_limit: Duration,
    pub steady_window: Duration,
    pub resync_limit: Duration,
}

pub const MANAGED: &str = "app.kubernetes.io/managed-by=kube-mcp-operator";
pub(super) const NS_PREFIX: &str = "kmb-op-";

fn endpoint_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubemcp.io", "v1alpha1", "McpEndpoint"),
        "mcpendpoints",
    )
}

pub(super) struct Operator {
    child: tokio::process::Child,
    pub(super) pid: u32,
    admin: String,
    log: PathBuf,
}

impl Operator {
    pub(super) async fn start(
        bin: &Path,
        kubeconfig: &Path,
        dir: &Path,
        n: usize,
    ) -> Result<Operator> {
        let port = crate::server::free_port();
        let log = dir.join(format!("operator-{n}.log"));
        let file = std::fs::File::create(&log)?;
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("KUBECONFIG", kubeconfig)
            .env("KUBE_MCP_METRICS_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            // No servers run for these endpoints: an MCP check of each would
            // only fail and retry, which is not the steady state measured here.
            .env("KUBE_MCP_VERIFY", "false")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("no pid")?;
        let op = Operator {
            child,
            pid,
            admin: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(60) {
            if let Ok(r) = http.get(format!("{}/readyz", op.admin)).send().await
                && r.status().is_success()
            {
                return Ok(op);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "operator not ready in 60s:\n{}",
            crate::controlplane::log_tail(&op.log, 30)
        )
    }

    /// A CPU snapshot of this operator and the control plane it runs against.
    pub(super) fn with_control_plane(&self, cp: &ControlPlane) -> procfs::ProcessCpu {
        let mut procs = cp.processes();
        procs.push(("kube-mcp-operator".into(), self.pid));
        procfs::ProcessCpu::now(&procs)
    }

    async fn metrics(&self) -> Option<String> {
        reqwest::Client::new()
            .get(format!("{}/metrics", self.admin))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    }

    async fn reconciles(&self) -> Option<f64> {
        self.metrics()
            .await?
            .lines()
            .find(|l| l.starts_with("kube_mcp_operator_reconciles_total"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
    }

    /// The operator's own requests to the API server so far, by verb.
    async fn api_requests(&self) -> BTreeMap<String, f64> {
        let text = self.metrics().await.unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("kube_mcp_operator_api_requests_total{verb=\"")?;
                let (verb, value) = rest.split_once("\"} ")?;
                Some((verb.to_string(), value.trim().parse().ok()?))
            })
            .collect()
    }

    pub(super) async fn stop(mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.pid as i32, libc::SIGTERM) };
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// Mutating requests the API server counted, by `verb resource[/subresource]`.
async fn write_counts(client: &Client) -> Result<BTreeMap<String, f64>> {
    let req = http::Request::get("/metrics").body(vec![])?;
    let text = client.request_text(req).await?;
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let Some((labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let get = |k: &str| {
            labels
                .split(&format!("{k}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string()
        };
        let verb = get("verb");
        if !matches!(
            verb.as_str(),
            "POST" | "PUT" | "PATCH" | "DELETE" | "DELETECOLLECTION" | "APPLY"
        ) {
            continue;
        }
        let (res, sub) = (get("resource"), get("subresource"));
        let key = if sub.is_empty() {
            format!("{verb} {res}")
        } else {
            format!("{verb} {res}/{sub}")
        };
        *out.entry(key).or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
    }
    Ok(out)
}

/// The resources the operator writes (its children and its endpoints'
/// status); Deployment status and Events are written by others too.
fn operator_resource(key: &str) -> bool {
    let res = key.split_once(' ').map(|(_, r)| r).unwrap_or(key);
    matches!(res, "mcpendpoints" | "mcpendpoints/status")
        || managed_kinds().iter().any(|k| k.plural == res)
}

fn delta(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> (BTreeMap<String, f64>, f64) {
    let mut d = BTreeMap::new();
    for (k, v) in b {
        let x = v - a.get(k).copied().unwrap_or(0.0);
        if x > 0.0 {
            d.insert(k.clone(), x);
        }
    }
    let ours = d
        .iter()
        .filter(|(k, _)| operator_resource(k))
        .map(|(_, v)| v)
        .sum::<f64>()
        + 0.0;
    (d, ours)
}

/// Every kind the operator may write for an endpoint: the namespaced ones
/// its floor replays, and the cluster-scoped grants.
fn managed_kinds() -> Vec<ApiResource> {
    let mut kinds = super::writes::kinds();
    kinds.extend([
        ApiResource::erase::<ClusterRole>(&()),
        ApiResource::erase::<ClusterRoleBinding>(&()),
    ]);
    kinds
}

/// resourceVersions of the endpoints and every managed object, by `kind/ns/name`.
async fn versions(client: &Client) -> Result<BTreeMap<String, String>> {
    /// Records the resourceVersion of every `ar` object listed with `lp`.
    async fn add(
        client: &Client,
        ar: &ApiResource,
        lp: ListParams,
        out: &mut BTreeMap<String, String>,
    ) -> Result<()> {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
        let api = &api;
        let items = paging::all(lp, |lp| async move { api.list_metadata(&lp).await }).await?;
        for o in &items {
            let ns = o.metadata.namespace.clone().unwrap_or_default();
            let name = o.metadata.name.clone().unwrap_or_default();
            out.insert(
                format!("{}/{ns}/{name}", ar.kind),
                o.metadata.resource_version.clone().unwrap_or_default(),
            );
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    for ar in managed_kinds() {
        add(client, &ar, ListParams::default().labels(MANAGED), &mut out).await?;
    }
    add(
        client,
        &endpoint_resource(),
        ListParams::default(),
        &mut out,
    )
    .await?;
    Ok(out)
}

fn kind_counts(v: &BTreeMap<String, String>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for k in v.keys() {
        *m.entry(k.split('/').next().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    m
}

/// Objects whose resourceVersion changed (or that appeared/went), by kind.
fn changed(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> (BTreeMap<String, usize>, usize) {
    let mut m = BTreeMap::new();
    let mut total = 0;
    for (k, v) in b {
        if a.get(k) != Some(v) {
            *m.entry(k.split('/').next().unwrap_or("").to_string())
                .or_insert(0) += 1;
            total += 1;
        }
    }
    for k in a.keys().filter(|k| !b.contains_key(*k)) {
        *m.entry(format!("{} (gone)", k.split('/').next().unwrap_or("")))
            .or_insert(0) += 1;
        total += 1;
    }
    (m, total)
}

/// Endpoints listed, and how many have Ready=True and RbacReady=True.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub listed: usize,
    pub ready: usize,
    /// RbacReady=True: the operator's own work is done (children applied,
    /// grants in place); Ready also waits for the control plane's pods.
    pub granted: usize,
}

async fn counts(client: &Client) -> Result<Counts> {
    let eps: Api<DynamicObject> = Api::all_with(client.clone(), &endpoint_resource());
    let eps = &eps;
    let lp = ListParams::default().labels("kube-mcp.io/bench=true");
    let items = paging::all(lp, |lp| async move { eps.list(&lp).await }).await?;
    let mut c = Counts::default();
    for o in &items {
        c.listed += 1;
        let is_true = |ty: &str| {
            o.data
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == ty && c["status"] == "True"))
        };
        c.ready += is_true("Ready") as usize;
        c.granted += is_true("RbacReady") as usize;
    }
    Ok(c)
}

/// Creates `n` ReadOnly endpoints round-robin over `namespaces` (which must exist).
pub(super) async fn create_endpoints(
    client: &Client,
    namespaces: &[String],
    n: usize,
) -> Result<()> {
    let ar = endpoint_resource();
    futures::stream::iter(0..n)
        .map(|i| {
            let ns = namespaces[i % namespaces.len()].clone();
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
            let obj: DynamicObject = serde_json::from_value(json!({
                "apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint",
                "metadata": {"name": format!("ep-{i:04}"), "namespace": ns, "labels": {"kube-mcp.io/bench": "true"}},
                "spec": {"access": "ReadOnly"},
            }))
            .expect("endpoint manifest");
            async move { api.create(&PostParams::default(), &obj).await.with_context(|| format!("creating ep-{i:04}")) }
        })
        .buffer_unordered(super::seed::CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await
}

/// Creates the bench namespaces `<prefix>0..n` (the operator's: [`NS_PREFIX`]).
pub(super) async fn create_namespaces(
    client: &Client,
    prefix: &str,
    n: usize,
) -> Result<Vec<String>> {
    let nss: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    for ns in &nss {
        let obj: Namespace = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )?;
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &obj)
            .await?;
    }
    Ok(nss)
}

/// How convergence went, measured from `t0` (the first create).
pub struct Convergence {
    /// Every endpoint RbacReady: the operator's own work.
    pub granted: Option<Duration>,
    /// Every endpoint Ready (pods too).
    pub ready: Option<Duration>,
    pub last: Counts,
    pub progress: Vec<Value>,
    /// Highest operator RSS sampled while converging.
    pub rss_max: u64,
    /// CPU from the first create until every endpoint was granted, by process.
    pub cpu_granting: Option<Value>,
}

/// Polls the endpoints every 2 s until all are Ready or `limit` passed.
pub(super) async fn converge(
    client: &Client,
    pid: u32,
    endpoints: usize,
    t0: Instant,
    cpu0: &procfs::ProcessCpu,
    limit: Duration,
) -> Convergence {
    let mut c = Convergence {
        granted: None,
        ready: None,
        last: Counts::default(),
        progress: vec![],
        rss_max: 0,
        cpu_granting: None,
    };
    while t0.elapsed() < limit {
        c.rss_max = c.rss_max.max(procfs::rss(pid).unwrap_or(0));
        match counts(client).await {
            Ok(n) => {
                c.last = n;
                let at = t0.elapsed();
                c.progress.push(
                    json!({"s": round3(at.as_secs_f64()), "ready": n.ready, "granted": n.granted}),
                );
                if c.granted.is_none() && n.granted >= endpoints {
                    c.granted = Some(at);
                    c.cpu_granting = Some(cpu0.since());
                }
                if n.ready >= endpoints {
                    c.ready = Some(at);
                    break;
                }
            }
            Err(e) => eprintln!("[bench] operator: listing endpoints: {e}"),
        }
        if c.progress.len().is_multiple_of(5) {
            eprintln!(
                "[bench] operator: {} granted, {} Ready of {endpoints} after {:.0}s",
                c.last.granted,
                c.last.ready,
                t0.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    c
}

/// Applies the CRD and waits until McpEndpoints are served.
pub(super) async fn install_crd(cp: &ControlPlane, client: &Client, crd: &Path) -> Result<()> {
    let out = cp
        .kubectl()
        .args(["apply", "--server-side", "-f"])
        .arg(crd)
        .output()?;
    if !out.status.success() {
        bail!(
            "kubectl apply {}: {}",
            crd.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let eps: Api<DynamicObject> = Api::all_with(client.clone(), &endpoint_resource());
    let t = Instant::now();
    while eps
        .list_metadata(&ListParams::default().limit(1))
        .await
        .is_err()
    {
        if t.elapsed() > Duration::from_secs(60) {
            bail!("the McpEndpoint CRD is not served after 60s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

pub async fn run(cp: &ControlPlane, bin: &Path, crd: &Path, cfg: &Config) -> Value {
    match run_inner(cp, bin, crd, cfg).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("[bench] operator: not run: {e:#}");
            json!({"not_run": format!("{e:#}")})
        }
    }
}

async fn run_inner(cp: &ControlPlane, bin: &Path, crd: &Path, cfg: &Config) -> Result<Value> {
    if !bin.exists() {
        bail!("{} is missing", bin.display());
    }
    let client = cp.client().await;
    install_crd(cp, &client, crd).await?;
    let nss = create_namespaces(&client, NS_PREFIX, cfg.namespaces).await?;
    let dir = tempfile::tempdir()?;
    let op = Operator::start(bin, cp.kubeconfig_path(), dir.path(), 1).await?;
    let rss_start = procfs::rss(op.pid).unwrap_or(0);
    eprintln!(
        "[bench] operator running (pid {}); creating {} McpEndpoints",
        op.pid, cfg.endpoints
    );

    let api0 = super::apistats::snapshot(&client).await?;
    let cpu0 = (procfs::cpu_seconds(op.pid), procfs::machine_busy_seconds());
    let by_process = op.with_control_plane(cp);
    let kcm = super::kcm::Window::open(cp).await;
    let t0 = Instant::now();
    create_endpoints(&client, &nss, cfg.endpoints).await?;
    let created_s = t0.elapsed().as_secs_f64();
    eprintln!(
        "[bench] operator: {} endpoints created in {created_s:.1}s",
        cfg.endpoints
    );
    let conv = converge(
        &client,
        op.pid,
        cfg.endpoints,
        t0,
        &by_process,
        cfg.converge_limit,
    )
    .await;
    let cpu = cpu_json(
        cpu0,
        (procfs::cpu_seconds(op.pid), procfs::machine_busy_seconds()),
        t0.elapsed(),
    );
    let api = super::apistats::delta(&api0, &super::apistats::snapshot(&client).await?);
    let kcm = kcm.close().await;
    let (converged, progress, seen, ready) =
        (conv.ready, conv.progress, conv.last.listed, conv.last.ready);
    eprintln!(
        "[bench] operator: {ready}/{seen} Ready; granted: {:?}, converged: {:?}; API server: {} requests, {} 5xx, {} 429",
        conv.granted, converged, api.requests, api.errors_5xx, api.throttled_429
    );
    let rss_converged = procfs::rss(op.pid).unwrap_or(0);
    let reconciles_converged = op.reconciles().await;
    let own_requests = op.api_requests().await;
    let own_total: f64 = own_requests
        .iter()
        .filter(|(verb, _)| *verb != "WATCH")
        .map(|(_, n)| n)
        .sum();

    // Steady state: let in-flight work settle, then count writes over the window.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let w0 = write_counts(&client).await?;
    let v0 = versions(&client).await?;
    let r0 = op.reconciles().await;
    let rss_series_start = Instant::now();
    let mut rss_max = rss_converged;
    while rss_series_start.elapsed() < cfg.steady_window {
        rss_max = rss_max.max(procfs::rss(op.pid).unwrap_or(0));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let w1 = write_counts(&client).await?;
    let v1 = versions(&client).await?;
    let r1 = op.reconciles().await;
    let (steady_writes, steady_ours) = delta(&w0, &w1);
    let (steady_changed, steady_changed_total) = changed(&v0, &v1);
    let hwm = procfs::status_kb(op.pid, "VmHWM").unwrap_or(0);
    let rss_steady = procfs::rss(op.pid).unwrap_or(0);
    eprintln!(
        "[bench] operator steady {:?}: {steady_ours} writes to operator kinds, {steady_changed_total} objects changed",
        cfg.steady_window
    );
    let log1 = crate::controlplane::log_tail(&op.log, 10);
    op.stop().await;

    // A forced full resync: a restarted operator reconciles every endpoint again.
    let w2 = write_counts(&client).await?;
    let v2 = versions(&client).await?;
    let op = Operator::start(bin, cp.kubeconfig_path(), dir.path(), 2).await?;
    let t = Instant::now();
    let mut resync_s = None;
    let mut quiet_s = None;
    // Done when every endpoint was reconciled and neither the reconcile
    // count nor the writes to the operator's kinds moved for 6 s.
    let (mut last, mut still) = ((-1.0, -1.0), 0);
    while t.elapsed() < cfg.resync_limit {
        let rec = op.reconciles().await.unwrap_or(0.0);
        if resync_s.is_none() && rec >= cfg.endpoints as f64 {
            resync_s = Some(round3(t.elapsed().as_secs_f64()));
        }
        let ours = delta(&w2, &write_counts(&client).await?).1;
        if (rec, ours) == last {
            still += 1;
        } else {
            (last, still) = ((rec, ours), 0);
        }
        if resync_s.is_some() && still >= 3 {
            quiet_s = Some(round3(t.elapsed().as_secs_f64() - 6.0));
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let w3 = write_counts(&client).await?;
    let v3 = versions(&client).await?;
    let r3 = op.reconciles().await;
    let rss_resync = procfs::rss(op.pid).unwrap_or(0);
    let hwm_resync = procfs::status_kb(op.pid, "VmHWM").unwrap_or(0);
    let (resync_writes, resync_ours) = delta(&w2, &w3);
    let (resync_changed, resync_changed_total) = changed(&v2, &v3);
    eprintln!(
        "[bench] operator resync: {resync_ours} writes to operator kinds, {resync_changed_total} objects changed"
    );
    let log2 = crate::controlplane::log_tail(&op.log, 10);
    op.stop().await;

    // Last, with the operator gone: the same children written directly.
    let write_floor = super::writes::run(cp, &client, &nss, MANAGED, cfg.converge_limit)
        .await
        .unwrap_or_else(|e| {
            eprintln!("[bench] operator floor: not run: {e:#}");
            json!({"not_run": format!("{e:#}")})
        });

    Ok(json!({
        "endpoints": cfg.endpoints,
        "build": if bin.components().any(|c| c.as_os_str() == "release") { "release build" } else { "not a release build" },
        "namespaces": cfg.namespaces,
        "spec": {"access": "ReadOnly"},
        "create_seconds": round3(created_s),
        "converged": converged.is_some(),
        "converge_seconds": converged.map(|d| round3(d.as_secs_f64())),
        "granted_seconds": conv.granted.map(|d| round3(d.as_secs_f64())),
        "granted_at_end": conv.last.granted,
        "apiserver_during_convergence": super::apistats::to_json(&api),
        "controller_manager_client": kcm,
        "cpu_during_convergence": cpu,
        "cpu_until_granted": conv.cpu_granting,
        "rss_max_converging_bytes": conv.rss_max,
        "ready_at_end": ready,
        "listed_at_end": seen,
        "converge_limit_seconds": cfg.converge_limit.as_secs(),
        "progress": progress,
        "children": kind_counts(&v1),
        "rss_start_bytes": rss_start,
        "rss_converged_bytes": rss_converged,
        "rss_steady_bytes": rss_steady,
        "rss_max_sampled_bytes": rss_max,
        "vm_hwm_bytes": hwm,
        "reconciles_at_convergence": reconciles_converged,
        "operator_requests_at_convergence": {
            "by_verb": own_requests,
            "per_endpoint": own_total / cfg.endpoints.max(1) as f64,
        },
        "steady": {
            "window_seconds": cfg.steady_window.as_secs(),
            "reconciles": r1.zip(r0).map(|(b, a)| b - a),
            "operator_kind_writes": steady_ours,
            "all_mutating_requests": steady_writes,
            "objects_changed": steady_changed_total,
            "objects_changed_by_kind": steady_changed,
        },
        "resync_after_restart": {
            "reconciles": r3,
            "seconds_to_reconcile_all": resync_s,
            "seconds_until_quiet": quiet_s,
            "operator_kind_writes": resync_ours,
            "all_mutating_requests": resync_writes,
            "objects_changed": resync_changed_total,
            "objects_changed_by_kind": resync_changed,
            "rss_bytes": rss_resync,
            "vm_hwm_bytes": hwm_resync,
        },
        "write_floor": write_floor,
        "log_tail": format!("{log1}\n---\n{log2}"),
    }))
}

/// CPU seconds the operator and the whole machine (control plane, kwok, this
/// driver) used between two samples: how much of a 2-core budget is the operator's.
fn cpu_json(
    before: (Option<f64>, Option<f64>),
    after: (Option<f64>, Option<f64>),
    wall: Duration,
) -> Value {
    let d = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| round3(b - a));
    json!({
        "operator_seconds": d(before.0, after.0),
        "machine_busy_seconds": d(before.1, after.1),
        "wall_seconds": round3(wall.as_secs_f64()),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_writes_are_told_from_everyone_elses() {
        for ours in [
            "PATCH mcpendpoints/status",
            "POST mcpendpoints",
            "APPLY serviceaccounts",
            "PATCH roles",
            "PATCH rolebindings",
            "DELETE clusterroles",
            "DELETE clusterrolebindings",
            "PATCH secrets",
            "PATCH configmaps",
            "PATCH deployments",
            "PATCH services",
            "PATCH networkpolicies",
        ] {
            assert!(operator_resource(ours), "{ours}");
        }
        for theirs in [
            "POST pods",
            "PATCH pods/status",
            "POST events",
            "PUT deployments/status",
        ] {
            assert!(!operator_resource(theirs), "{theirs}");
        }
    }
}
