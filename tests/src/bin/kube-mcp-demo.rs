//! `kube-mcp-demo`: the whole product on this machine in one command.
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Local control plane + operator + a read-only McpEndpoint + a real MCP client")]
struct Args {
    /// Exit after the MCP client has listed the tools (for CI).
    #[arg(long)]
    exit_after_client: bool,
    /// Let the kubelet harness start kube-mcp-server as a local process
    /// instead of joining a real node (the default where this machine can
    /// run one: root on Linux).
    #[arg(long)]
    no_real_node: bool,
    /// The repository root (holds crds/ and config/samples/).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    repo: PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let opts = kube_mcp_tests::demo::DemoOptions {
        exit_after_client: args.exit_after_client,
        real_node: !args.no_real_node,
        repo_root: args.repo,
    };
    if let Err(e) = kube_mcp_tests::demo::run(opts).await {
        eprintln!("kube-mcp-demo: {e:#}");
        std::process::exit(1);
    }
}
