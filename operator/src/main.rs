use anyhow::Context as _;
use clap::Parser;
use kube_mcp_operator::admin::{self, AdminState};
use kube_mcp_operator::config::{Cli, Command};
use kube_mcp_operator::metrics::Metrics;
use kube_mcp_operator::reconcile::{self, Context};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a shutdown waits for the controller (Kubernetes' default grace is 30 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often freed memory is handed back to the system.
const TRIM_EVERY: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Crd) => {
            print!("{}", kube_mcp_operator::crd::crd_yaml()?);
            return Ok(());
        }
        Some(Command::Rbac { name, rules }) => {
            use kube_mcp_operator::operator_rbac;
            match rules {
                true => print!("{}", operator_rbac::rules_yaml()?),
                false => print!("{}", operator_rbac::yaml(name)?),
            }
            return Ok(());
        }
        Some(Command::Admission {
            name,
            namespace,
            service_account,
            helm,
        }) => {
            use kube_mcp_operator::admission;
            match helm {
                true => print!("{}", admission::helm_template()?),
                false => print!(
                    "{}",
                    admission::yaml(&admission::Install {
                        name: name.clone(),
                        namespace: namespace.clone(),
                        service_account: service_account.clone(),
                    })?
                ),
            }
            return Ok(());
        }
        Some(Command::Run) | None => {}
    }
    let mut config = cli.config;
    kube_mcp_catalog::logging::init(
        config.log_format,
        &kube_mcp_operator::config::log_filter(std::env::var("RUST_LOG").ok().as_deref()),
    );
    if config.operator_namespace.is_none() {
        // In a pod without the downward API variable: the ServiceAccount's namespace.
        config.operator_namespace =
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
    }
    // From here on a signal is logged, and stops start-up too.
    let shutdown = CancellationToken::new();
    let signal_stop = shutdown.clone();
    tokio::spawn(async move {
        let signal = kube_mcp_catalog::signal::stop_signal().await;
        tracing::info!(signal, "shutting down: received {signal}");
        signal_stop.cancel();
    });
    let limit = config.rate_limit();
    let metrics = Arc::new(Metrics::default());
    let start = async {
        let (client, throttled, events) = connect(limit, &metrics).await.map_err(|msg| (1, msg))?;
        reconcile::check_crd(&client)
            .await
            .map_err(|msg| (2, msg))?;
        Ok::<_, (i32, String)>((client, throttled, events))
    };
    let (client, throttled, events) = tokio::select! {
        r = start => match r {
            Ok(c) => c,
            Err((code, msg)) => {
                tracing::error!("{msg}");
                eprintln!("kube-mcp-operator: {msg}");
                std::process::exit(code);
            }
        },
        _ = shutdown.cancelled() => return Ok(()),
    };
    if config.network_policies && config.api_server_endpoints.is_empty() {
        match kube_mcp_operator::apiserver::discover(&client).await {
            Ok(found) => config.api_server_endpoints = found,
            Err(e) => tracing::warn!(error = %e, "cannot read the kubernetes Service in default"),
        }
        if config.api_server_endpoints.is_empty() {
            tracing::warn!(
                "the API server's address is unknown: endpoints' NetworkPolicies allow no egress to it \
                 (set --api-server-endpoints)"
            );
        }
    }

    if let Some(w) = config.telemetry.warning(config.network_policies) {
        tracing::warn!("{w}");
    }

    // glibc keeps what a burst freed (the watches' first lists, a wave of
    // reconciles) resident: at 1,000 endpoints a restart's resync left
    // 192 MiB where the same stores had taken 141 MiB.
    tokio::spawn(async {
        let mut every = tokio::time::interval(TRIM_EVERY);
        loop {
            every.tick().await;
            kube_mcp_catalog::memory::release_free();
        }
    });

    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(config.metrics_addr)
        .await
        .with_context(|| format!("binding the admin server to {}", config.metrics_addr))?;
    // The bound address, not the flag: with port 0 only this says where it is.
    tracing::info!(addr = %listener.local_addr()?, "admin server listening (/metrics, /healthz, /readyz)");
    let app = admin::router(AdminState {
        metrics: metrics.clone(),
        ready: ready.clone(),
    });
    let admin_stop = shutdown.clone();
    let admin_task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { admin_stop.cancelled().await })
            .await
    });

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
    let leader_elect = config.leader_elect;
    let ctx = Arc::new(Context::with_clients(throttled, events, config, metrics));
    ready.store(true, Ordering::Relaxed);
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
    // would hang the process. In-flight reconciles get this long.
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
    shutdown.cancel();
    admin_task.await??;
    Ok(())
}

/// Waits for the Lease, runs the controller while holding it, and exits the
/// process when it is lost or the lease task ends. On shutdown the Lease is released.
/// `client` is not rate-limited: a renewal never waits behind reconciles.
async fn run_while_leading(
    client: kube::Client,
    ctx: Arc<Context>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use kube_mcp_operator::leader;
    let env = |k: &str| std::env::var(k).ok();
    let namespace = leader::lease_namespace(
        ctx.config.lease_namespace.as_deref(),
        ctx.config.operator_namespace.as_deref(),
    );
    let hostname =
        env("HOSTNAME").or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok());
    let identity = leader::identity(
        env("POD_NAME").as_deref(),
        hostname.as_deref(),
        std::process::id(),
    );
    let renewals = kube_mcp_operator::renewal::Renewals::new(&namespace, &identity);
    let manager =
        kube_lease_manager::LeaseManagerBuilder::new(renewals.client(client), leader::LEASE_NAME)
            .with_namespace(&namespace)
            .with_identity(&identity)
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
            })?;
    let (mut leading, task) = manager.watch().await;
    tracing::info!(%namespace, lease = leader::LEASE_NAME, %identity, "waiting to become the leader");
    while !*leading.borrow_and_update() {
        tokio::select! {
            _ = shutdown.cancelled() => {
                drop(leading);
                let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
                return Ok(());
            }
            changed = leading.changed() => {
                if changed.is_err() {
                    anyhow::bail!("the lease task ended before this replica became the leader: {}", ended(task).await);
                }
            }
        }
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
    enum Stop {
        Controller,
        Lost,
        TaskEnded,
        Expired(Option<std::time::SystemTime>),
    }
    let stop = {
        let controller = reconcile::run(ctx, shutdown.clone());
        let lost = async {
            loop {
                if leading.changed().await.is_err() {
                    return Stop::TaskEnded;
                }
                if !*leading.borrow_and_update() {
                    return Stop::Lost;
                }
            }
        };
        tokio::select! {
            _ = controller => Stop::Controller,
            s = lost => s,
            last = renewals.expired() => Stop::Expired(last),
        }
    };
    match stop {
        Stop::Controller => {
            // Shutting down: release the Lease so that a standby takes over at once.
            drop(leading);
            match tokio::time::timeout(Duration::from_secs(5), task).await {
                Ok(Ok(Ok(_))) => tracing::info!("released the Lease"),
                other => tracing::warn!(?other, "releasing the Lease failed; it expires by itself"),
            }
            Ok(())
        }
        Stop::Lost => anyhow::bail!(
            "lost the Lease {namespace}/{} (another replica holds it, or it could not be renewed in time)",
            leader::LEASE_NAME
        ),
        Stop::TaskEnded => anyhow::bail!("the lease task ended: {}", ended(task).await),
        Stop::Expired(last) => anyhow::bail!(
            "lost the Lease {namespace}/{}: no renewal confirmed since {}, so it expires for the other replicas \
             {}s after that; stopping {}s before (is the API server reachable?)",
            leader::LEASE_NAME,
            last.map(
                |t| jiff::Timestamp::try_from(t).map_or_else(|e| e.to_string(), |t| t.to_string())
            )
            .unwrap_or_else(|| "never".into()),
            leader::LEASE_DURATION_SECONDS,
            leader::STOP_MARGIN_SECONDS
        ),
    }
}

/// Why the lease task ended.
async fn ended(
    task: tokio::task::JoinHandle<kube_lease_manager::Result<kube_lease_manager::LeaseManager>>,
) -> String {
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
