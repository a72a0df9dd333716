//! Turns the figures reliability runs wrote (`KUBE_MCP_RELIABILITY_OUT`)
//! into docs/reliability.json and docs/reliability.md (scripts/reliability
//! calls it), or renders the Markdown again from an existing JSON.
//!
//!   kube-mcp-reliability --merge <runs dir> --note "..." --out docs
//!   kube-mcp-reliability --merge <runs dir> --keep docs/reliability.json --out docs
//!   kube-mcp-reliability --render docs/reliability.json --out docs

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use kube_mcp_tests::reliability::report;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    about = "Merge reliability runs into docs/reliability.json and render docs/reliability.md"
)]
struct Cli {
    /// The directory the runs wrote their `<name>.json` figures to.
    #[arg(long, conflicts_with = "render")]
    merge: Option<PathBuf>,
    /// An existing reliability.json to render again.
    #[arg(long)]
    render: Option<PathBuf>,
    /// An earlier reliability.json whose runs this one did not repeat are kept (and named as such).
    #[arg(long, requires = "merge")]
    keep: Option<PathBuf>,
    /// Written next to the figures (the machine's state, say).
    #[arg(long, default_value = "")]
    note: String,
    /// The commit the runs measured.
    #[arg(long)]
    commit: Option<String>,
    /// Where reliability.json and reliability.md go.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let figures = match (&cli.merge, &cli.render) {
        (Some(dir), None) => {
            let mut merged = report::merge(dir, &cli.note, cli.commit.as_deref())
                .with_context(|| format!("reading the runs in {}", dir.display()))?;
            if merged["runs"].as_object().is_none_or(|r| r.is_empty()) {
                bail!(
                    "no <name>.json figures in {}: did the runs set KUBE_MCP_RELIABILITY_OUT?",
                    dir.display()
                );
            }
            if let Some(old) = &cli.keep {
                let text = std::fs::read_to_string(old)
                    .with_context(|| format!("reading {}", old.display()))?;
                let old = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", old.display()))?;
                report::keep(&mut merged, &old);
            }
            let path = cli.out.join("reliability.json");
            std::fs::write(&path, serde_json::to_string_pretty(&merged)? + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
            merged
        }
        (None, Some(json)) => {
            let text = std::fs::read_to_string(json)
                .with_context(|| format!("reading {}", json.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", json.display()))?
        }
        _ => bail!("give either --merge <runs dir> or --render <reliability.json>"),
    };
    let md = cli.out.join("reliability.md");
    std::fs::write(&md, report::markdown(&figures))
        .with_context(|| format!("writing {}", md.display()))?;
    eprintln!("wrote {}", md.display());
    Ok(())
}
