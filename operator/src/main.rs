use anyhow::Context as _;
use clap::Parser;
use kube_mcp_operator::admin::{self, AdminState};
use kube_mcp_operator::config::{Cli, Command};
use kube_mcp_operator::metrics::Metrics;
use kube_mcp_operator::reconcile::{self, Context};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Crd) => {
            print!("{}", kube_mcp_operator::crd::crd_yaml()?);
            return Ok(());
        }
        Some(Command::Rbac { name }) => {
            let role = kube_mcp_operator::operator_rbac::cluster_role(name);
            print!("{}", serde_saphyr::to_string(&role)?);
            return Ok(());
        }
        Some(Command::Run) | None => {}
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn".into()),
        )
        .init();
    let config = cli.config;
    if config.leader_elect {
        anyhow::bail!(
            "--leader-elect is not implemented: run a single replica with `strategy: Recreate`"
        );
    }
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes client configuration (in-cluster or KUBECONFIG)")?;
    if let Err(msg) = reconcile::check_crd(&client).await {
        eprintln!("kube-mcp-operator: {msg}");
        std::process::exit(2);
    }

    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(config.metrics_addr)
        .await
        .with_context(|| format!("binding the admin server to {}", config.metrics_addr))?;
    let shutdown = CancellationToken::new();
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

    let signal_stop = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal_stop.cancel();
    });

    tracing::info!(
        image = %config.server_image,
        admin_namespaces = ?config.admin_namespaces,
        max_access = ?config.max_access,
        allow_cluster_reads = config.allow_cluster_reads,
        network_policies = config.network_policies,
        "kube-mcp-operator starting"
    );
    let ctx = Arc::new(Context::new(client, config, metrics));
    ready.store(true, Ordering::Relaxed);
    reconcile::run(ctx, shutdown.clone()).await;
    shutdown.cancel();
    admin_task.await??;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}
