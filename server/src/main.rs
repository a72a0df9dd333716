//! kube-mcp-server: flags/env -> settings -> cluster access -> transport.

use anyhow::Context;
use kube_mcp_catalog::{apiserver, logging};
use kube_mcp_server::audit::Audit;
use kube_mcp_server::authn::Authenticator;
use kube_mcp_server::cluster::ClusterAccess;
use kube_mcp_server::config::{Settings, Transport};
use kube_mcp_server::filter::ToolFilter;
use kube_mcp_server::guard::HostGuard;
use kube_mcp_server::handler::McpHandler;
use kube_mcp_server::http;
use kube_mcp_server::metrics::Metrics;
use kube_mcp_server::serve;
use kube_mcp_server::telemetry::{self, Telemetry};
use kube_mcp_server::tools::Ctx;
use rmcp::ServiceExt;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    let settings = Settings::from_args_and_env(std::env::args_os()).unwrap_or_else(|e| e.exit());
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| format!("info,{}", logging::QUIET_TRANSPORT));
    let (telemetry, layers) = match start_telemetry(&settings) {
        Ok(Some((t, layer))) => (Some(t), vec![layer]),
        Ok(None) => (None, vec![]),
        Err(e) => {
            eprintln!("kube-mcp-server: {e}");
            std::process::exit(2);
        }
    };
    logging::init_with(settings.log_format, &filter, layers);
    match &telemetry {
        Some(t) => {
            tracing::info!(protocol = ?t.protocol, "exporting OpenTelemetry traces (ENABLE_TELEMETRY)")
        }
        None if settings.enable_telemetry => tracing::warn!(
            "ENABLE_TELEMETRY is set but OTEL_EXPORTER_OTLP_ENDPOINT is not: no traces are exported"
        ),
        None => {}
    }
    let result = run(settings).await;
    if let Some(t) = telemetry {
        t.shutdown();
    }
    if let Err(e) = result {
        eprintln!("kube-mcp-server: {e:#}");
        std::process::exit(1);
    }
}

fn start_telemetry(
    settings: &Settings,
) -> Result<Option<(Telemetry, logging::ExtraLayer)>, telemetry::TelemetryError> {
    match telemetry::wanted(settings.enable_telemetry, |k| std::env::var(k).ok())? {
        Some(protocol) => Telemetry::start(protocol).map(Some),
        None => Ok(None),
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let filter = match ToolFilter::from_settings(&settings) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("kube-mcp-server: {e}");
            std::process::exit(2);
        }
    };
    if settings.list_tools {
        let list: Vec<_> = filter
            .tools()
            .map(|t| {
                serde_json::json!({
                    "name": t.name,
                    "title": t.title,
                    "description": t.description,
                    "class": t.class,
                    "annotations": kube_mcp_server::handler::annotations(t),
                    "inputSchema": (kube_mcp_server::tools::entry(t.id).schema)(),
                    "rbac": t.rules,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    let access = ClusterAccess::from_env()?;
    let url = apiserver::url_of(&access.config(None).await?);
    tracing::info!(source = %access.source, context = access.context.as_deref().unwrap_or("-"), server = %url, "cluster access");
    let settings = Arc::new(settings);
    for why in &filter.dropped {
        tracing::info!("not offered: {why}");
    }
    let audit = match Audit::from_settings(&settings) {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("kube-mcp-server: {e}");
            std::process::exit(2);
        }
    };
    // TokenReviews go out with the server's own credentials, not a tool's gated client.
    let reviews = apiserver::client_builder(access.config(None).await?)?.build();
    let ctx = Arc::new(Ctx::connect(settings.clone(), filter, access).await?);
    tokio::spawn(probe_api_server(ctx.clone(), url));
    let handler = McpHandler::new(ctx, Arc::new(Metrics::default())).with_audit(audit);
    let shutdown = CancellationToken::new();
    tokio::spawn(signal_shutdown(shutdown.clone()));
    match settings.transport() {
        Transport::Stdio => {
            let running = handler
                .serve(rmcp::transport::stdio())
                .await
                .context("stdio transport")?;
            tokio::select! {
                r = running.waiting() => {
                    r.context("stdio transport")?;
                    tracing::info!("shutting down: the client closed stdin");
                }
                _ = shutdown.cancelled() => {}
            }
        }
        Transport::Http | Transport::Sse => {
            let auth = Authenticator::from_settings(&settings, Some(reviews))?;
            serve_http(&settings, handler, auth, shutdown).await?
        }
    }
    Ok(())
}

async fn serve_http(
    settings: &Settings,
    handler: McpHandler,
    auth: Authenticator,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let guard = HostGuard::from_settings(settings);
    let loopback = ["localhost", "127.0.0.1", "::1"].contains(&settings.host.as_str());
    let modes: Vec<&str> = auth.modes.iter().map(|m| m.as_str()).collect();
    tracing::info!(auth = %modes.join(","), authorize = ?settings.authorize, "client authentication");
    auth.warm().await;
    if auth.is_open() && !loopback {
        tracing::warn!(host = %settings.host, "no MCP_AUTH_TOKEN: anyone who reaches this port can use the cluster credentials");
    }
    if !settings.dns_rebinding_protection {
        tracing::warn!("DNS-rebinding protection is off (DNS_REBINDING_PROTECTION=false)");
    }
    let limits = http::Limits::from_settings(settings);
    let app = http::router(
        handler,
        guard,
        auth,
        settings.stateless,
        limits,
        shutdown.clone(),
    );
    let addr = format!("{}:{}", settings.host, settings.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(addr = %listener.local_addr()?, transport = ?settings.transport(), stateless = settings.stateless, "listening (MCP on /mcp, legacy SSE on /sse)");
    serve::serve(
        listener,
        app,
        serve::ConnLimits::from_settings(settings),
        shutdown,
    )
    .await;
    Ok(())
}

async fn signal_shutdown(token: CancellationToken) {
    let signal = kube_mcp_catalog::signal::stop_signal().await;
    tracing::info!(signal, "shutting down: received {signal}");
    token.cancel();
}

/// Says at start-up whether the API server answers, so a wrong URL, CA or
/// token shows in the log before the first tool call fails on it.
async fn probe_api_server(ctx: Arc<Ctx>, url: String) {
    let client = match ctx.client(None).await {
        Ok(c) => c,
        Err(e) => return tracing::warn!("no client for the API server at {url}: {e}"),
    };
    match tokio::time::timeout(Duration::from_secs(10), client.apiserver_version()).await {
        Ok(Ok(v)) => {
            tracing::info!(server = %url, version = %v.git_version, "the API server answers")
        }
        Ok(Err(e)) => tracing::warn!(
            "{}; tool calls fail until this is fixed",
            apiserver::describe(&e, Some(&url))
        ),
        Err(_) => tracing::warn!(server = %url, "the API server did not answer within 10s"),
    }
}
