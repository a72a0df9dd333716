//! `kube-mcp-bench`: benchmarks kube-mcp-server against the seed
//! (mcp-server-kubernetes), the Go peer (kubernetes-mcp-server) and the API
//! server itself, plus the operator at scale, on a fresh local control
//! plane; writes docs/benchmarks.json and docs/benchmarks.md.
//! Run it through `scripts/bench`, which builds and installs what it needs.

use anyhow::{Context as _, Result};
use clap::Parser;
use kube_mcp_tests::bench::targets::{Kind, Programs, Scenario};
use kube_mcp_tests::bench::variants::{OtlpSink, Variant};
use kube_mcp_tests::bench::{identity, measure, operator, procfs, report, scale, seed};
use kube_mcp_tests::controlplane::{ControlPlane, Options};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "kube-mcp-bench",
    about = "Benchmarks kube-mcp-server and kube-mcp-operator against peers and the API server"
)]
struct Cli {
    /// kube-mcp-server binary (default: next to this binary).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// kube-mcp-operator binary (default: next to this binary).
    #[arg(long)]
    operator_bin: Option<PathBuf>,
    /// Where `npm install mcp-server-kubernetes kubernetes-mcp-server` was run.
    #[arg(long, env = "KUBE_MCP_BENCH_PEERS")]
    peers: Option<PathBuf>,
    /// The node binary for the seed.
    #[arg(long, default_value = "node")]
    node: String,
    /// Output directory for benchmarks.json and benchmarks.md.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Which to measure (comma list of floor, kube-mcp, go-peer, seed,
    /// identity: kube-mcp-server per authentication mode, and
    /// kube-mcp-audit-off, kube-mcp-audit-request, kube-mcp-traced,
    /// kube-mcp-stateless: the server again with the audit level, tracing
    /// or sessions changed).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "floor,kube-mcp,go-peer,seed,identity,kube-mcp-audit-off,kube-mcp-audit-request,kube-mcp-traced,kube-mcp-stateless"
    )]
    only: Vec<String>,
    #[arg(long, default_value_t = 100)]
    small: usize,
    #[arg(long, default_value_t = 2000)]
    large: usize,
    /// Fake (kwok) nodes, 110 pods each (default: room for the seeded pods
    /// plus two pods per endpoint, the operator's and its floor's).
    #[arg(long)]
    nodes: Option<usize>,
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    #[arg(long, default_value_t = 50)]
    calls: usize,
    /// Seconds one scenario's measured calls may take at most.
    #[arg(long, default_value_t = 150)]
    scenario_limit: u64,
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Seconds per throughput level.
    #[arg(long, default_value_t = 10)]
    throughput_secs: u64,
    #[arg(long, default_value_t = 20000)]
    throughput_max_calls: usize,
    /// Start-ups per server (the median is reported).
    #[arg(long, default_value_t = 3)]
    startups: usize,
    #[arg(long, default_value_t = 1000)]
    endpoints: usize,
    #[arg(long, default_value_t = 10)]
    op_namespaces: usize,
    #[arg(long, default_value_t = 600)]
    converge_limit: u64,
    #[arg(long, default_value_t = 60)]
    steady_window: u64,
    #[arg(long)]
    skip_operator: bool,
    /// More operator sizes, each on a fresh control plane (convergence, memory
    /// and API server answers only); plotted with --endpoints. 0: none.
    #[arg(long, value_delimiter = ',', default_value = "100,3000")]
    scale_sizes: Vec<usize>,
    /// Seconds each scale size may take to converge.
    #[arg(long, default_value_t = 900)]
    scale_limit: u64,
    /// The Go peer is measured again with calls this many ms apart (0: not).
    #[arg(long, default_value_t = 500)]
    go_spaced_ms: u64,
    /// Only re-render: read a benchmarks.json a run wrote and write
    /// benchmarks.json + benchmarks.md into --out (no measuring).
    #[arg(long)]
    render: Option<PathBuf>,
    /// Free text recorded in the report (e.g. what else ran on the machine).
    #[arg(long, env = "KUBE_MCP_BENCH_NOTE", default_value = "")]
    note: String,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn cmd_out(prog: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(prog).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn which(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        return Some(PathBuf::from(prog));
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(prog))
            .find(|f| f.is_file())
    })
}

fn package_version(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["version"]
        .as_str()
        .map(str::to_string)
}

/// The Go peer's platform binary inside node_modules.
fn go_peer_binary(peers: &Path) -> Option<PathBuf> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let name = format!("kubernetes-mcp-server-{}-{arch}", std::env::consts::OS);
    let p = peers
        .join("node_modules")
        .join(&name)
        .join("bin")
        .join(&name);
    p.is_file().then_some(p)
}

fn write_partial(v: &Value) {
    let _ = std::fs::write(
        std::env::temp_dir().join("kube-mcp-bench-partial.json"),
        serde_json::to_string_pretty(v).unwrap_or_default(),
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,kube_client=off,rmcp=off")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let root = repo_root();
    let out_dir = cli.out.clone().unwrap_or_else(|| root.join("docs"));
    if let Some(path) = &cli.render {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let report: Value = serde_json::from_str(&text)?;
        std::fs::create_dir_all(&out_dir)?;
        std::fs::write(
            out_dir.join("benchmarks.json"),
            serde_json::to_string_pretty(&report)? + "\n",
        )?;
        write_report(&out_dir, &report)?;
        eprintln!(
            "[bench] rendered {} into {}",
            path.display(),
            out_dir.display()
        );
        return Ok(());
    }
    let peers = cli
        .peers
        .clone()
        .unwrap_or_else(|| kube_mcp_tests::controlplane::cache_dir().join("bench"));
    let server_bin = cli
        .server_bin
        .clone()
        .unwrap_or_else(|| sibling("kube-mcp-server"));
    let operator_bin = cli
        .operator_bin
        .clone()
        .unwrap_or_else(|| sibling("kube-mcp-operator"));
    let seed_dir = peers.join("node_modules").join("mcp-server-kubernetes");
    let go_dir = peers.join("node_modules").join("kubernetes-mcp-server");
    let node = which(&cli.node).unwrap_or_else(|| PathBuf::from(&cli.node));
    let mut report = json!({
        "generated_at": jiff::Timestamp::now().to_string(),
        "note": cli.note,
        "machine": kube_mcp_tests::machine::describe(),
    });

    let nodes = cli
        .nodes
        .unwrap_or((cli.small + cli.large + 2 * cli.endpoints) / 100 + 1);
    eprintln!("[bench] starting a control plane with {nodes} fake nodes");
    let cp = ControlPlane::start(Options {
        nodes,
        timeout: Duration::from_secs(300),
        ..Default::default()
    })
    .await
    .context("starting the control plane")?;
    let client = cp.client().await;
    let k8s = client
        .apiserver_version()
        .await
        .map(|v| v.git_version)
        .unwrap_or_default();
    let kubectl = cp.bin_dir().join("kubectl");
    let kubectl_version = cmd_out(&kubectl, &["version", "--client", "-o", "json"])
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| {
            v["clientVersion"]["gitVersion"]
                .as_str()
                .map(str::to_string)
        });
    report["versions"] = json!({
        "kubernetes": k8s,
        "kubectl": kubectl_version,
        "kube_mcp": env!("CARGO_PKG_VERSION"),
        "kube_mcp_build": if server_bin.components().any(|c| c.as_os_str() == "release") { "release" } else { "not a release build" },
        "git_commit": cmd_out("git", &["-C", &root.display().to_string(), "rev-parse", "--short", "HEAD"]),
        "git_uncommitted_in_measured_crates": cmd_out("git", &["-C", &root.display().to_string(), "status", "--porcelain", "--", "server", "operator"])
            .map(|t| t.lines().count()),
        "seed": package_version(&seed_dir),
        "go_peer": package_version(&go_dir),
        "node": cmd_out(&node, &["--version"]),
    });

    eprintln!(
        "[bench] seeding: {} and {} pods, a Deployment, ConfigMaps, Events, a Secret",
        cli.small, cli.large
    );
    let layout = seed::seed(&client, cp.node_names(), cli.small, cli.large)
        .await
        .context("seeding")?;
    eprintln!("[bench] seeded in {:.1}s", layout.seconds);
    let settled = procfs::wait_quiet(Duration::from_secs(60)).await;
    eprintln!("[bench] machine quiet after {settled:.1}s more");
    report["layout"] = json!(layout);
    report["scenarios"] = json!(
        Scenario::ALL
            .iter()
            .map(|s| json!({"key": s.key(&layout), "title": s.title(&layout)}))
            .collect::<Vec<_>>()
    );
    let cfg = measure::Config {
        warmup: cli.warmup,
        calls: cli.calls,
        scenario_limit: Duration::from_secs(cli.scenario_limit),
        concurrency: cli.concurrency.clone(),
        throughput_time: Duration::from_secs(cli.throughput_secs),
        throughput_max_calls: cli.throughput_max_calls,
        startups: cli.startups,
        startup_limit: Duration::from_secs(60),
        spaced_gap: Duration::from_millis(cli.go_spaced_ms),
    };
    report["config"] = json!({
        "warmup": cfg.warmup, "calls": cfg.calls, "scenario_limit_s": cli.scenario_limit,
        "concurrency": cfg.concurrency, "throughput_s": cli.throughput_secs,
        "throughput_max_calls": cfg.throughput_max_calls, "startups": cfg.startups,
        "nodes": nodes, "create_concurrency": seed::CONCURRENCY, "go_spaced_ms": cli.go_spaced_ms,
    });
    let layout = Arc::new(layout);
    let programs = Programs {
        kube_mcp: server_bin.clone(),
        kube_mcp_env: vec![],
        node: node.clone(),
        seed_js: Some(seed_dir.join("dist").join("index.js")).filter(|p| p.is_file()),
        go_peer: go_peer_binary(&peers),
        kubectl_dir: cp.bin_dir().to_path_buf(),
        kubeconfig: cp.kubeconfig_path().to_path_buf(),
    };
    report["programs"] = json!({
        "kube_mcp": programs.kube_mcp, "seed": programs.seed_js, "go_peer": programs.go_peer, "node": programs.node,
        "kubectl": kubectl,
    });
    report["targets"] = json!({});
    write_partial(&report);

    let wanted = |k: &str| cli.only.iter().any(|o| o == k);
    if wanted("floor") {
        eprintln!("[bench] floor: direct API requests");
        report["targets"]["floor"] = measure::floor(client.clone(), &layout, &cfg).await;
        write_partial(&report);
    }
    for kind in [Kind::KubeMcp, Kind::GoPeer, Kind::Seed] {
        if !wanted(kind.key()) {
            report["targets"][kind.key()] = json!({"skipped": "not selected (--only)"});
            continue;
        }
        eprintln!("[bench] {}", kind.title());
        // kube-mcp's scenarios are also measured paired with the floor's.
        let floor = (kind == Kind::KubeMcp).then_some(&client);
        report["targets"][kind.key()] =
            measure::server(kind, &programs, &layout, &cfg, floor).await;
        write_partial(&report);
    }

    for variant in Variant::ALL {
        if !wanted(variant.key()) {
            continue;
        }
        eprintln!("[bench] kube-mcp-server, {}", variant.title());
        let sink = OtlpSink::start().await?;
        let programs = Programs {
            kube_mcp_env: variant.env(&sink.url),
            ..programs.clone()
        };
        let floor = variant.paired().then_some(&client);
        let mut v = measure::server(Kind::KubeMcp, &programs, &layout, &cfg, floor).await;
        if variant == Variant::Traced {
            v["otlp"] = sink.received();
        }
        report["targets"][variant.key()] = v;
        write_partial(&report);
    }

    report["identity"] = if wanted("identity") {
        eprintln!("[bench] identity: kube-mcp-server per authentication mode");
        identity::run(&server_bin, cp.kubeconfig_path(), &client, &layout, &cfg).await
    } else {
        json!({"skipped": "not selected (--only)"})
    };
    write_partial(&report);

    let crd = root.join("crds").join("mcpendpoints.kubemcp.io.yaml");
    report["operator"] = if cli.skip_operator {
        json!({"not_run": "--skip-operator"})
    } else {
        let ocfg = operator::Config {
            endpoints: cli.endpoints,
            namespaces: cli.op_namespaces,
            converge_limit: Duration::from_secs(cli.converge_limit),
            steady_window: Duration::from_secs(cli.steady_window),
            resync_limit: Duration::from_secs(300),
        };
        operator::run(&cp, &operator_bin, &crd, &ocfg).await
    };
    write_partial(&report);
    // The scale sizes bring their own control planes: this one is done.
    cp.stop();
    let sizes: Vec<usize> = cli.scale_sizes.iter().copied().filter(|n| *n > 0).collect();
    report["operator_scale"] = if cli.skip_operator || sizes.is_empty() {
        json!([])
    } else {
        let limit = Duration::from_secs(cli.scale_limit);
        scale::run(&operator_bin, &crd, &sizes, limit).await
    };
    report["machine"]["loadavg_end"] = json!(kube_mcp_tests::machine::loadavg());

    std::fs::create_dir_all(&out_dir)?;
    let json_path = out_dir.join("benchmarks.json");
    let md_path = out_dir.join("benchmarks.md");
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)? + "\n")?;
    write_report(&out_dir, &report)?;
    eprintln!(
        "[bench] wrote {} and {}",
        json_path.display(),
        md_path.display()
    );
    Ok(())
}

/// benchmarks.md and the operator's scale plot (when there are sizes to plot).
fn write_report(out_dir: &Path, report: &Value) -> anyhow::Result<()> {
    std::fs::write(out_dir.join("benchmarks.md"), report::markdown(report))?;
    if let Some(svg) = kube_mcp_tests::bench::scale::svg(&report::scale_points(report)) {
        std::fs::write(out_dir.join(report::SCALE_SVG), svg)?;
    }
    Ok(())
}
