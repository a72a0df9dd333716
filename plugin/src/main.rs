//! `kubectl mcp`: a kubectl plugin (kubectl runs `kubectl-mcp` from PATH) for
//! kube-mcp's McpEndpoints: list them, connect an MCP client to one through
//! the API server, and show what one's ServiceAccount may do.

mod clients;
mod cluster;
mod connect;
mod error;
mod forward;
mod grants;
mod list;
mod table;

use clap::{Parser, Subcommand};
use error::Error;
use kube_mcp_operator::names;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "kubectl mcp",
    bin_name = "kubectl mcp",
    version,
    about = "kube-mcp's McpEndpoints from kubectl: list them, connect an MCP client, show their grants"
)]
struct Cli {
    #[command(flatten)]
    kube: cluster::KubeArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The endpoints you can see, with their access, tools and Ready state.
    List {
        /// List across all namespaces.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
    },
    /// Port-forward to an endpoint through the API server, read its token if
    /// you may, print (or --write) the client configuration, and forward
    /// until Ctrl-C.
    Connect(connect::ConnectArgs),
    /// What the endpoint's ServiceAccount may do, as the API server answers.
    ///
    /// One SubjectAccessReview per verb on each resource the tool catalog
    /// names plus sensitive extras (secrets, RBAC, tokens, impersonation,
    /// `*`), in each namespace of the endpoint's scope and cluster-wide, 16
    /// at a time. SubjectAccessReview rather than SelfSubjectRulesReview: it
    /// needs only `create subjectaccessreviews` (the system:auth-delegator
    /// ClusterRole), not `impersonate` on the ServiceAccount, and the answer
    /// is the authorizer's own, not a rule list that some authorizers leave
    /// incomplete.
    Grants {
        /// The McpEndpoint's name.
        endpoint: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUBECTL_MCP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Error> {
    let cluster = cli.kube.connect().await?;
    match cli.command {
        Command::List { all_namespaces } => {
            let place = if all_namespaces {
                list::Where::All
            } else {
                list::Where::One(&cluster.namespace)
            };
            let endpoints = list::fetch(&cluster.client, &place).await?;
            match list::render(&endpoints, &place) {
                Ok(table) => print!("{table}"),
                // kubectl says "No resources found" on stderr and succeeds.
                Err(none) => eprintln!("{none}"),
            }
            Ok(())
        }
        Command::Connect(args) => connect::run(&cluster.client, &cluster.namespace, args).await,
        Command::Grants { endpoint } => {
            let ns = &cluster.namespace;
            let ep = connect::get_endpoint(&cluster.client, ns, &endpoint).await?;
            let scope = ep
                .status
                .as_ref()
                .map(|s| s.namespaces.clone())
                .filter(|n| !n.is_empty())
                .or_else(|| ep.spec.namespaces.clone())
                .unwrap_or_else(|| vec![ns.clone()]);
            let (user, groups) = grants::subject(ns, &names::service_account(&ep));
            let answers =
                grants::ask(&cluster.client, &user, &groups, grants::questions(&scope)).await?;
            print!("{}", grants::render(&user, &answers));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `kubectl mcp ...` command line the docs show (in code blocks,
    /// with or without a `$ ` prompt), as kubectl hands it to the plugin.
    fn documented(text: &str) -> Vec<Vec<String>> {
        text.lines()
            .map(|l| l.trim().trim_start_matches("$ "))
            .filter_map(|l| l.strip_prefix("kubectl mcp "))
            .map(|l| {
                let l = l.split(" #").next().unwrap_or(l);
                std::iter::once("kubectl-mcp")
                    .chain(l.split_whitespace())
                    .map(String::from)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_documented_command_line_parses() {
        for (file, text) in [
            ("README.md", include_str!("../../README.md")),
            ("docs/plugin.md", include_str!("../../docs/plugin.md")),
        ] {
            let lines = documented(text);
            assert!(lines.len() >= 3, "{file} shows the plugin's commands");
            for argv in lines {
                if let Err(e) = Cli::try_parse_from(&argv) {
                    panic!("{file}: `{}` does not parse: {e}", argv.join(" "));
                }
            }
        }
        assert!(
            Cli::try_parse_from(["kubectl-mcp", "connect", "x", "--client", "cursor"]).is_err(),
            "the check can fail"
        );
    }
}
