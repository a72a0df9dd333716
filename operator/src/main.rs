use anyhow::Context as _;
use clap::Parser;
use kube_mcp_operator::admin::{self, AdminState};
use kube_mcp_operator::config::{Cli, Command};
use kube_mcp_operator::leader;
use kube_mcp_operator::metrics::Metrics;
use kube_mcp_operator::reconcile::{self, Context};
use kube_mcp_operator::renewal::Renewals;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long a shutdown waits for the controller (Kubernetes' default grace is 30 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often freed memory is handed back to the system.
const TRIM_EVERY: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(manifest) = manifest(cli.command.as_ref())? {
        return print(&manifest);
    }
    let mut config = cli.config;
    kube_mcp_catalog::logging::init(
        config.log_format,
        &kube_mcp_operator::config::log_filter(std::env::var("RUST_LOG").ok().as_deref()),
    );
    if config.operator_namespace.is_none() {
        config.operator_namespace = own_namespace();
    }
    // From here on a signal is logged, and stops start-up too.
    let shutdown = stop_on_signal();
    let metrics = Arc::new(Metrics::default());
    let Some((client, throttled, events)) = start(config.rate_limit(), &metrics, &shutdown).await
    else {
        return Ok(());
    };
    if config.network_policies && config.api_server_endpoints.is_empty() {
        config.api_server_endpoints = api_server_endpoints(&client).await;
    }
    if let Some(w) = config.telemetry.warning(config.network_policies) {
        tracing::warn!("{w}");
    }
    spawn_trim();
    let ready = Arc::new(AtomicBool::new(false));
    let admin = AdminState {
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    let admin_task = serve_admin(config.metrics_addr, admin, shutdown.clone()).await?;
    log_start(&config);
    let leader_elect = config.leader_elect;
    let ctx = Arc::new(Context::with_clients(throttled, events, config, metrics));
    ready.store(true, Ordering::Relaxed);
    run_controller(client, ctx, leader_elect, &shutdown).await;
    shutdown.cancel();
    admin_task.await??;
    Ok(())
}

/// What a printing subcommand prints; `None` for running the controller.
fn manifest(command: Option<&Command>) -> anyhow::Result<Option<String>> {
    use kube_mcp_operator::{admission, crd, operator_rbac};
    Ok(Some(match command {
        None | Some(Command::Run) => return Ok(None),
        Some(Command::Crd) => crd::crd_yaml()?,
        Some(Command::Rbac { rules: true, .. }) => operator_rbac::rules_yaml()?,
        Some(Command::Rbac { name, rules: false }) => operator_rbac::yaml(name)?,
        Some(Command::Admission { helm: true, .. }) => admission::helm_template()?,
        Some(Command::Admission {
            name,
            namespace,
            service_account,
            helm: false,
        }) => admission::yaml(&admission::Install {
            name: name.clone(),
            namespace: namespace.clone(),
            service_account: service_account.clone(),
        })?,
    }))
}

/// Writes to stdout; a reader that stopped early (`| head`) is no error.
fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// In a pod without the downward API variable: the ServiceAccount's namespace.
fn own_namespace() -> Option<String> {
    std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A token cancelled by SIGTERM or SIGINT, which is logged.
fn stop_on_signal() -> CancellationToken {
    let shutdown = CancellationToken::new();
    let signal_stop = shutdown.clone();
    tokio::spawn(async move {
        let signal = kube_mcp_catalog::signal::stop_signal().await;
        tracing::info!(signal, "shutting down: received {signal}");
        signal_stop.cancel();
    });
    shutdown
}

/// The clients of [`connect`] once the CRD is installed; `None` when a signal
/// came first. A failure exits: 1 for the API server, 2 for a missing CRD.
async fn start(
    limit: (u64, Duration),
    metrics: &Arc<Metrics>,
    shutdown: &CancellationToken,
) -> Option<(kube::Client, kube::Client, kube::Client)> {
    let start = async {
        let clients = connect(limit, metrics).await.map_err(|msg| (1, msg))?;
        reconcile::check_crd(&clients.0)
            .await
            .map_err(|msg| (2, msg))?;
        Ok::<_, (i32, String)>(clients)
    };
    tokio::select! {
        r = start => match r {
            Ok(clients) => Some(clients),
            Err((code, msg)) => {
                tracing::error!("{msg}");
                eprintln!("kube-mcp-operator: {msg}");
                std::process::exit(code);
            }
        },
        _ = shutdown.cancelled() => None,
    }
}

/// The API server's addresses for the endpoints' NetworkPolicies, from the
/// `kubernetes` Service; empty (with a warning) when they cannot be read.
async fn api_server_endpoints(client: &kube::Client) -> Vec<std::net::SocketAddr> {
    let found = kube_mcp_operator::apiserver::discover(client)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the kubernetes Service in default");
            Vec::new()
        });
    if found.is_empty() {
        tracing::warn!(
            "the API server's address is unknown: endpoints' NetworkPolicies allow no egress to it \
             (set --api-server-endpoints)"
        );
    }
    found
}

/// glibc keeps what a burst freed (the watches' first lists, a wave of
/// reconciles) resident: at 1,000 endpoints a restart's resync left
/// 192 MiB where the same stores had taken 141 MiB.
fn spawn_trim() {
    tokio::spawn(async {
        let mut every = tokio::time::interval(TRIM_EVERY);
        loop {
            every.tick().await;
            kube_mcp_catalog::memory::release_free();
        }
    });
}

/// Serves /metrics, /healthz and /readyz until `shutdown`.
async fn serve_admin(
    addr: std::net::SocketAddr,
    state: AdminState,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the admin server to {addr}"))?;
    // The bound address, not the flag: with port 0 only this says where it is.
    tracing::info!(addr = %listener.local_addr()?, "admin server listening (/metrics, /healthz, /readyz)");
    let app = admin::router(state);
    Ok(tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }))
}

fn log_start(config: &kube_mcp_operator::config::Config) {
    tracing::info!(
        image = %config.server_image,
        admin_namespaces = ?config.admin_namespaces,
        max_access = ?config.max_access,
        allow_cluster_reads = config.allow_cluster_reads,
        network_policies = config.network_policies,
        api_server_endpoints = ?config.api_server_endpoints,
        verify = config.verify,
        leader_elect = config.leader_elect,
        concurrency = config.concurrency,
        kube_qps = config.kube_qps,
        kube_burst = config.kube_burst,
        "kube-mcp-operator starting"
    );
}

/// Runs the controller (under the Lease with `leader_elect`) until
/// `shutdown`, then gives in-flight reconciles [`SHUTDOWN_GRACE`]. Losing
/// the Lease exits the process.
async fn run_controller(
    client: kube::Client,
    ctx: Arc<Context>,
    leader_elect: bool,
    shutdown: &CancellationToken,
) {
    let controller = async {
        if leader_elect {
            run_while_leading(client, ctx, shutdown.clone()).await
        } else {
            reconcile::run(ctx, shutdown.clone()).await;
            Ok(())
        }
    };
    // kube-runtime's graceful shutdown waits for every watch's first list,
    // which never completes once the watches stop: a signal soon after start
    // would hang the process.
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        r = controller => if let Err(e) = r {
            tracing::error!(error = %e, "leader election failed: exiting");
            eprintln!("kube-mcp-operator: {e:#}");
            std::process::exit(1);
        },
        _ = grace => tracing::warn!(
            "the controller did not stop within {}s of the shutdown; exiting anyway",
            SHUTDOWN_GRACE.as_secs()
        ),
    }
    if !shutdown.is_cancelled() {
        tracing::warn!("shutting down: the controller stopped on its own");
    }
}

type LeaseTask =
    tokio::task::JoinHandle<kube_lease_manager::Result<kube_lease_manager::LeaseManager>>;

/// Waits for the Lease, runs the controller while holding it, and exits the
/// process when it is lost or the lease task ends. On shutdown the Lease is released.
/// `client` is not rate-limited: a renewal never waits behind reconciles.
async fn run_while_leading(
    client: kube::Client,
    ctx: Arc<Context>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (namespace, identity) = lease_holder(&ctx.config);
    let renewals = Renewals::new(&namespace, &identity);
    let manager = lease_manager(renewals.client(client), &namespace, &identity).await?;
    let (mut leading, task) = manager.watch().await;
    tracing::info!(%namespace, lease = leader::LEASE_NAME, %identity, "waiting to become the leader");
    match wait_to_lead(&mut leading, &shutdown).await {
        Waited::Leading => {}
        Waited::Shutdown => {
            drop(leading);
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
            return Ok(());
        }
        Waited::TaskEnded => anyhow::bail!(
            "the lease task ended before this replica became the leader: {}",
            ended(task).await
        ),
    }
    // The lease manager says so; the API server must have confirmed a
    // renewal that leaves time to lead, too.
    let lease_duration = Duration::from_secs(leader::LEASE_DURATION_SECONDS);
    if !renewals.fresh(lease_duration).await {
        anyhow::bail!(
            "became the leader of the Lease {namespace}/{} but no renewal was confirmed within {}s",
            leader::LEASE_NAME,
            leader::LEASE_DURATION_SECONDS
        );
    }
    tracing::info!(%namespace, lease = leader::LEASE_NAME, %identity, "became the leader: starting the controller");
    let lost = tokio::select! {
        _ = reconcile::run(ctx, shutdown.clone()) => None,
        lost = until_lost(&mut leading) => Some(lost),
        last = renewals.expired() => Some(Lost::Expired(last)),
    };
    let Some(lost) = lost else {
        // The controller stopped on shutdown: release the Lease so that a
        // standby takes over at once.
        drop(leading);
        match tokio::time::timeout(Duration::from_secs(5), task).await {
            Ok(Ok(Ok(_))) => tracing::info!("released the Lease"),
            other => tracing::warn!(?other, "releasing the Lease failed; it expires by itself"),
        }
        return Ok(());
    };
    Err(lost.error(&namespace, task).await)
}

/// The Lease's namespace and this replica's identity in it.
fn lease_holder(config: &kube_mcp_operator::config::Config) -> (String, String) {
    let env = |k: &str| std::env::var(k).ok();
    let namespace = leader::lease_namespace(
        config.lease_namespace.as_deref(),
        config.operator_namespace.as_deref(),
    );
    let hostname =
        env("HOSTNAME").or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok());
    let identity = leader::identity(
        env("POD_NAME").as_deref(),
        hostname.as_deref(),
        std::process::id(),
    );
    (namespace, identity)
}

async fn lease_manager(
    client: kube::Client,
    namespace: &str,
    identity: &str,
) -> anyhow::Result<kube_lease_manager::LeaseManager> {
    kube_lease_manager::LeaseManagerBuilder::new(client, leader::LEASE_NAME)
        .with_namespace(namespace)
        .with_identity(identity)
        .with_field_manager(format!("kube-mcp-operator-{identity}"))
        .with_duration(leader::LEASE_DURATION_SECONDS)
        .with_grace(leader::LEASE_GRACE_SECONDS)
        .build()
        .await
        .with_context(|| {
            format!(
                "cannot use the Lease {namespace}/{} (RBAC on leases in coordination.k8s.io?)",
                leader::LEASE_NAME
            )
        })
}

enum Waited {
    Leading,
    Shutdown,
    TaskEnded,
}

async fn wait_to_lead(leading: &mut watch::Receiver<bool>, shutdown: &CancellationToken) -> Waited {
    while !*leading.borrow_and_update() {
        tokio::select! {
            _ = shutdown.cancelled() => return Waited::Shutdown,
            changed = leading.changed() => if changed.is_err() {
                return Waited::TaskEnded;
            },
        }
    }
    Waited::Leading
}

/// How this replica stopped leading while the controller ran.
enum Lost {
    /// The lease manager saw another holder, or could not renew in time.
    Taken,
    TaskEnded,
    /// No renewal was confirmed for too long (since then, if ever).
    Expired(Option<std::time::SystemTime>),
}

async fn until_lost(leading: &mut watch::Receiver<bool>) -> Lost {
    loop {
        if leading.changed().await.is_err() {
            return Lost::TaskEnded;
        }
        if !*leading.borrow_and_update() {
            return Lost::Taken;
        }
    }
}

impl Lost {
    /// The error that exits the process.
    async fn error(self, namespace: &str, task: LeaseTask) -> anyhow::Error {
        match self {
            Lost::Taken => anyhow::anyhow!(
                "lost the Lease {namespace}/{} (another replica holds it, or it could not be renewed in time)",
                leader::LEASE_NAME
            ),
            Lost::TaskEnded => anyhow::anyhow!("the lease task ended: {}", ended(task).await),
            Lost::Expired(last) => anyhow::anyhow!(
                "lost the Lease {namespace}/{}: no renewal confirmed since {}, so it expires for the other replicas \
                 {}s after that; stopping {}s before (is the API server reachable?)",
                leader::LEASE_NAME,
                last.map(|t| jiff::Timestamp::try_from(t)
                    .map_or_else(|e| e.to_string(), |t| t.to_string()))
                    .unwrap_or_else(|| "never".into()),
                leader::LEASE_DURATION_SECONDS,
                leader::STOP_MARGIN_SECONDS
            ),
        }
    }
}

/// Why the lease task ended.
async fn ended(task: LeaseTask) -> String {
    match task.await {
        Ok(Ok(_)) => "it stopped".into(),
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("it panicked or was cancelled: {e}"),
    }
}

/// A client whose errors name the API server, once the API server answered,
/// and two like it that each send at most `limit.0` requests per `limit.1`
/// (the reconcilers', and the Event writer's): a KUBECONFIG list is read the
/// way kubectl reads it (missing files skipped), otherwise kube's inference
/// (~/.kube/config, then in-cluster).
async fn connect(
    limit: (u64, Duration),
    metrics: &Arc<Metrics>,
) -> Result<(kube::Client, kube::Client, kube::Client), String> {
    use kube_mcp_catalog::apiserver;
    let list = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty());
    let config = match list {
        Some(list) => {
            let kc = apiserver::read_kubeconfig_list(&list)
                .map_err(|e| format!("cannot use KUBECONFIG: {e}"))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| format!("cannot use KUBECONFIG: {}", apiserver::chain(&e)))?
        }
        None => kube::Config::infer().await.map_err(|e| {
            format!(
                "no Kubernetes client configuration (KUBECONFIG, ~/.kube/config or in-cluster): {}",
                apiserver::chain(&e)
            )
        })?,
    };
    let url = apiserver::url_of(&config);
    let builder = || {
        let metrics = metrics.clone();
        apiserver::client_builder(config.clone())
            .map(|b| {
                b.with_layer(&tower::util::MapRequestLayer::new(
                    move |req: http::Request<kube::client::Body>| {
                        metrics.count_request(&req);
                        req
                    },
                ))
            })
            .map_err(|e| {
                format!(
                    "cannot build a client for {url}: {}",
                    apiserver::describe(&e, None)
                )
            })
    };
    let client = builder()?.build();
    let limited = || {
        builder().map(|b| {
            b.with_layer(&tower::limit::RateLimitLayer::new(limit.0, limit.1))
                .build()
        })
    };
    let throttled = limited()?;
    // Events get their own limit, as controller-runtime's recorder does.
    let events = limited()?;
    match tokio::time::timeout(Duration::from_secs(30), client.apiserver_version()).await {
        Ok(Ok(v)) => {
            tracing::info!(server = %url, version = %v.git_version, "the API server answers");
            Ok((client, throttled, events))
        }
        Ok(Err(e)) => Err(apiserver::describe(&e, Some(&url))),
        Err(_) => Err(format!("the API server at {url} did not answer within 30s")),
    }
}
