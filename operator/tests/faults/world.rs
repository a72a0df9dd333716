//! One fault scenario's world: its namespaces, the real operator binary
//! run by a supervisor that restarts it when it exits (as its Deployment
//! would), each replica optionally behind its own cuttable proxy, and the
//! driver that sends the workload to the API server.

use crate::checks;
use crate::model::{Model, Op, Places};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use kube_mcp_operator::crd::McpEndpoint;
use kube_mcp_operator::{labels, leader};
use kube_mcp_tests::controlplane::ControlPlane;
use kube_mcp_tests::proxy::Proxy;
use kube_mcp_tests::reliability::{cluster, process::Supervised};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-operator");
/// Bound on one operation's retries (the API server may be down meanwhile).
const OP_WITHIN: Duration = Duration::from_secs(120);

pub struct Replica {
    pub proc: Supervised,
    pub proxy: Option<Proxy>,
    pub metrics_port: u16,
}

impl Replica {
    /// `kube_mcp_operator_reconciles_total` of the current life.
    pub async fn reconciles(&self) -> Option<u64> {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics_port);
        let body = reqwest::get(url).await.ok()?.text().await.ok()?;
        body.lines()
            .find_map(|l| l.strip_prefix("kube_mcp_operator_reconciles_total "))
            .and_then(|v| v.trim().parse().ok())
    }
}

pub struct World {
    pub client: Client,
    pub model: Arc<Mutex<Model>>,
    pub replicas: Arc<tokio::sync::Mutex<Vec<Replica>>>,
    /// Operations sent so far (the batch's progress).
    pub sent: Arc<AtomicUsize>,
    pub seed: u64,
    keeper: CancellationToken,
    dir: tempfile::TempDir,
}

async fn namespace(client: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}", kube_mcp_tests::fixture::random_suffix(5));
    let ns: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": {kube_mcp_tests::fixture::TEST_NAMESPACE_LABEL: "true"}},
    }))
    .unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
    name
}

/// Retries `f` until it succeeds or [`OP_WITHIN`] passes.
async fn retry<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = kube::Result<()>>,
{
    let start = Instant::now();
    loop {
        match f().await {
            Ok(()) => return,
            Err(e) if start.elapsed() > OP_WITHIN => panic!("{what}: still failing: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

fn ignore(code: u16) -> impl Fn(kube::Result<()>) -> kube::Result<()> {
    move |r| match r {
        Err(kube::Error::Api(s)) if s.code == code => Ok(()),
        other => other,
    }
}

impl World {
    /// Namespaces, the CRD, and `replicas` operator replicas (leader
    /// election on; behind proxies with `proxied`).
    pub async fn new(cp: &ControlPlane, label: &str, replicas: usize, proxied: bool) -> World {
        let client = cp.client().await;
        let places = Places {
            team: namespace(&client, &format!("{label}-team")).await,
            ops: namespace(&client, &format!("{label}-ops")).await,
            listed: namespace(&client, &format!("{label}-listed")).await,
            unlisted: namespace(&client, &format!("{label}-unlisted")).await,
        };
        retry("installing the CRD", || async {
            kube_mcp_operator::reconcile::install_crd(&client)
                .await
                .map_err(|e| kube::Error::Service(e.to_string().into()))
        })
        .await;
        retry("the McpEndpoint API", || async {
            Api::<McpEndpoint>::all(client.clone())
                .list(&ListParams::default().limit(1))
                .await
                .map(|_| ())
        })
        .await;
        let seed = std::env::var("KUBE_MCP_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        eprintln!("{label}: seed {seed} (replay with KUBE_MCP_FAULT_SEED={seed})");
        let dir = tempfile::Builder::new()
            .prefix(&format!("kube-mcp-{label}-"))
            .tempdir()
            .unwrap();
        let mut started = vec![];
        for r in 0..replicas {
            started.push(
                start_replica(cp, &places, &format!("{label}-op-{r}"), proxied, dir.path()).await,
            );
        }
        let replicas = Arc::new(tokio::sync::Mutex::new(started));
        let keeper = CancellationToken::new();
        tokio::spawn(keep(replicas.clone(), keeper.clone()));
        World {
            client,
            model: Arc::new(Mutex::new(Model::new(places, label, seed))),
            replicas,
            sent: Arc::default(),
            seed,
            keeper,
            dir,
        }
    }

    pub fn places(&self) -> Places {
        self.model.lock().unwrap().places.clone()
    }

    /// Creates `n` endpoints and waits until they are granted.
    pub async fn seed_endpoints(&self, n: usize, within: Duration) -> Duration {
        for _ in 0..n {
            let op = self.model.lock().unwrap().add();
            self.send(op).await;
        }
        self.converge(within).await
    }

    /// Sends one operation (recorded in the model already), retrying
    /// through outages.
    pub async fn send(&self, op: Op) {
        let (ns, name, spec, rotation) = {
            let m = self.model.lock().unwrap();
            let i = match op {
                Op::Create(i) | Op::Reshape(i) | Op::Rotate(i) | Op::Delete(i) => i,
            };
            let e = &m.endpoints[i];
            (e.home.clone(), e.name.clone(), m.spec(i), e.rotations)
        };
        let api: Api<McpEndpoint> = Api::namespaced(self.client.clone(), &ns);
        let what = format!("{op:?} {ns}/{name}");
        match op {
            Op::Create(_) => {
                let ep = McpEndpoint::new(&name, spec);
                retry(&what, || async {
                    ignore(409)(api.create(&PostParams::default(), &ep).await.map(|_| ()))
                })
                .await
            }
            Op::Reshape(_) => {
                let patch = json!({"spec": {
                    "access": spec.access,
                    "secrets": spec.secrets,
                    "namespaces": spec.namespaces,
                }});
                retry(&what, || async {
                    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .map(|_| ())
                })
                .await
            }
            Op::Rotate(_) => {
                let patch = json!({"metadata": {"annotations": {labels::ROTATE_TOKEN: format!("r{rotation}")}}});
                retry(&what, || async {
                    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .map(|_| ())
                })
                .await
            }
            Op::Delete(_) => {
                retry(&what, || async {
                    ignore(404)(
                        api.delete(&name, &DeleteParams::default())
                            .await
                            .map(|_| ()),
                    )
                })
                .await
            }
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends `n` operations, `pace` apart, in the background.
    pub fn batch(self: &Arc<Self>, n: usize, pace: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            for _ in 0..n {
                let op = me.model.lock().unwrap().next_op();
                me.send(op).await;
                tokio::time::sleep(pace).await;
            }
        })
    }

    /// Waits until `sent` operations have gone out (bounded).
    pub async fn wait_sent(&self, sent: usize) {
        let start = Instant::now();
        while self.sent.load(Ordering::Relaxed) < sent && start.elapsed() < OP_WITHIN {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every endpoint is as the model says, its grants exactly
    /// the table's; panics with the reasons (and the operator log) after `within`.
    pub async fn converge(&self, within: Duration) -> Duration {
        let model = || self.model.lock().unwrap();
        let status = checks::settle(within, || async {
            let m = model().clone();
            checks::unconverged(&self.client, &m).await
        })
        .await;
        if let Err(why) = status {
            panic!(
                "not converged within {within:?}:\n{}\n{}",
                why.join("\n"),
                self.logs().await
            );
        }
        // The RBAC authorizer learns of Role changes through an informer.
        let grants = checks::settle(Duration::from_secs(30), || async {
            let m = model().clone();
            Ok(checks::grant_mismatches(&self.client, &m).await)
        })
        .await;
        match grants {
            Ok(_) => {}
            Err(why) => panic!(
                "grants differ from the table after convergence:\n{}\n{}",
                why.join("\n"),
                self.logs().await
            ),
        }
        status.unwrap_or_default()
    }

    /// The Lease holder, if any.
    pub async fn holder(&self) -> Option<String> {
        let ops = self.places().ops;
        Api::<Lease>::namespaced(self.client.clone(), &ops)
            .get_opt(leader::LEASE_NAME)
            .await
            .ok()??
            .spec?
            .holder_identity
            .filter(|h| !h.is_empty())
    }

    /// Every replica's log, for failure messages.
    pub async fn logs(&self) -> String {
        let replicas = self.replicas.lock().await;
        replicas
            .iter()
            .map(|r| {
                let log = r.proc.log();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                format!(
                    "--- {} (last 60 lines) ---\n{}",
                    r.proc.name(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Deletes every endpoint and waits until they are gone, then returns
    /// the RBAC objects still there (goal: none); stops the operators and
    /// deletes the namespaces.
    pub async fn tear_down(self) -> Vec<String> {
        let places = self.places();
        let names: Vec<(String, String)> = self
            .model
            .lock()
            .unwrap()
            .live()
            .map(|e| (e.home.clone(), e.name.clone()))
            .collect();
        for (ns, name) in &names {
            let api: Api<McpEndpoint> = Api::namespaced(self.client.clone(), ns);
            retry("deleting an endpoint", || async {
                ignore(404)(api.delete(name, &DeleteParams::default()).await.map(|_| ()))
            })
            .await;
        }
        for e in self.model.lock().unwrap().endpoints.iter_mut() {
            e.deleted = true;
        }
        let gone = checks::settle(Duration::from_secs(120), || async {
            let m = self.model.lock().unwrap().clone();
            checks::unconverged(&self.client, &m).await
        })
        .await;
        if let Err(why) = gone {
            panic!(
                "endpoints not deleted:\n{}\n{}",
                why.join("\n"),
                self.logs().await
            );
        }
        // Home-namespace grants go by garbage collection (owner references).
        let left = checks::settle(Duration::from_secs(60), || async {
            let m = self.model.lock().unwrap().clone();
            checks::orphans(&self.client, &m).await
        })
        .await;
        self.keeper.cancel();
        for r in self.replicas.lock().await.iter_mut() {
            r.proc.kill().await;
        }
        for ns in [&places.team, &places.ops, &places.listed, &places.unlisted] {
            let _ = Api::<Namespace>::all(self.client.clone())
                .delete(ns, &DeleteParams::background())
                .await;
        }
        drop(self.dir);
        left.err().unwrap_or_default()
    }
}

async fn start_replica(
    cp: &ControlPlane,
    places: &Places,
    name: &str,
    proxied: bool,
    dir: &std::path::Path,
) -> Replica {
    let (kubeconfig, proxy) = match proxied {
        true => {
            let proxy = Proxy::start(cluster::apiserver_addr(cp)).await.unwrap();
            let path = dir.join(format!("{name}.kubeconfig"));
            std::fs::write(&path, cluster::kubeconfig_via(cp, &proxy.url())).unwrap();
            (path, Some(proxy))
        }
        false => (cp.kubeconfig_path().to_path_buf(), None),
    };
    let metrics_port = kube_mcp_tests::server::free_port();
    let args: Vec<String> = [
        "run",
        "--leader-elect=true",
        &format!("--lease-namespace={}", places.ops),
        &format!("--watch-namespaces={},{}", places.team, places.ops),
        &format!("--admin-namespaces={}", places.ops),
        "--max-access=Full",
        "--verify=false",
        &format!("--metrics-addr=127.0.0.1:{metrics_port}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let kubeconfig = kubeconfig.display().to_string();
    let env = [
        ("KUBECONFIG", kubeconfig.as_str()),
        ("POD_NAME", name),
        ("RUST_LOG", "info,kube=warn"),
        (kube_mcp_catalog::logging::FORMAT_ENV, "json"),
    ];
    let log = dir.join(format!("{name}.log"));
    Replica {
        proc: Supervised::start(name, std::path::Path::new(BIN), &args, &env, &log),
        proxy,
        metrics_port,
    }
}

/// Restarts replicas that exited, every 100 ms, until cancelled (bounded: 2 h).
async fn keep(replicas: Arc<tokio::sync::Mutex<Vec<Replica>>>, stop: CancellationToken) {
    for _ in 0..72_000 {
        for r in replicas.lock().await.iter_mut() {
            if let Some(exit) = r.proc.restart_if_exited() {
                eprintln!(
                    "{} exited ({:?}) at {:?}: restarting after a back-off",
                    r.proc.name(),
                    exit.status,
                    exit.at
                );
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// The `timestamp` of the first JSON log line after `after` whose message
/// or error contains `text`.
pub fn logged_at(log: &str, text: &str, after: jiff::Timestamp) -> Option<jiff::Timestamp> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            let f = &v["fields"];
            [&f["message"], &f["error"]]
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.contains(text)))
        })
        .filter_map(|v| v["timestamp"].as_str()?.parse::<jiff::Timestamp>().ok())
        .find(|t| *t > after)
}
