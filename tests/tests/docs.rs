//! Docs as tests: every shell block of README.md and docs/install.md either
//! runs here, in order, against this binary's own control plane, or is marked
//! `<!-- not-run: reason -->` on the line before its fence. A changed flag,
//! value or path then breaks this test, not a user.
//!
//! There is no container runtime, so this test plays the kubelet for the
//! operator: while the blocks run, whenever an operator Deployment appears or
//! changes, the `kube-mcp-operator` binary runs as it describes
//! (`kube_mcp_tests::installed`), with its ServiceAccount's token; kwok plays
//! it for every other pod.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::ListParams;
use kube::{Api, Client};

use kube_mcp_tests::cluster;
use kube_mcp_tests::installed::InstalledOperator;

const NOT_RUN: &str = "<!-- not-run:";
/// Longest a block may take (they wait for rollouts with their own timeouts).
const BLOCK_DEADLINE: Duration = Duration::from_secs(300);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fenced shell block of a Markdown file.
#[derive(Debug)]
struct Block {
    file: &'static str,
    line: usize,
    code: String,
    /// Why it is not run here, if it is not.
    not_run: Option<String>,
}

fn blocks(file: &'static str) -> Vec<Block> {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim();
        if ["```sh", "```bash", "```shell", "```console"].contains(&fence) {
            let not_run = (0..i)
                .rev()
                .map(|j| lines[j].trim())
                .find(|l| !l.is_empty())
                .and_then(|l| l.strip_prefix(NOT_RUN))
                .map(|r| r.trim_end_matches("-->").trim().to_string());
            let start = i + 1;
            let end = (start..lines.len())
                .find(|&j| lines[j].trim() == "```")
                .unwrap_or_else(|| panic!("{file}:{}: unclosed code block", i + 1));
            out.push(Block {
                file,
                line: i + 1,
                code: lines[start..end].join("\n"),
                not_run,
            });
            i = end;
        }
        i += 1;
    }
    out
}

/// The command lines of a block (comments and blank lines dropped).
fn commands(code: &str) -> Vec<&str> {
    code.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn every_shell_block_runs_or_says_why_not() {
    let install = blocks("docs/install.md");
    let readme = blocks("README.md");
    assert!(install.iter().filter(|b| b.not_run.is_none()).count() >= 8);
    for b in install.iter().chain(&readme) {
        if let Some(reason) = &b.not_run {
            assert!(
                reason.len() > 10,
                "{}:{}: say why the block is not run",
                b.file,
                b.line
            );
        }
    }
    // README's install commands are install.md's, which run.
    let run: String = install
        .iter()
        .filter(|b| b.not_run.is_none())
        .map(|b| b.code.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for b in readme.iter().filter(|b| {
        b.not_run
            .as_deref()
            .is_some_and(|r| r.contains("docs/install.md"))
    }) {
        for cmd in commands(&b.code) {
            assert!(
                run.lines().any(|l| l.trim() == cmd),
                "README.md:{}: `{cmd}` is not a command docs/install.md runs",
                b.line
            );
        }
    }
}

/// Runs the kube-mcp-operator an operator Deployment describes, as a kubelet
/// would: started when one appears, restarted when its spec changes, stopped
/// when it goes.
#[derive(Default)]
struct OperatorKubelet {
    running: Option<(String, i64, InstalledOperator)>,
    log: String,
}

impl OperatorKubelet {
    async fn sync(&mut self, client: &Client) {
        let lp = ListParams::default().labels("app.kubernetes.io/name=kube-mcp-operator");
        let Ok(list) = Api::<Deployment>::all(client.clone()).list(&lp).await else {
            return;
        };
        let want = list.items.into_iter().next().map(|d| {
            let key = format!(
                "{}/{}",
                d.metadata.namespace.clone().unwrap_or_default(),
                d.metadata.name.clone().unwrap_or_default()
            );
            (key, d.metadata.generation.unwrap_or_default(), d)
        });
        let current = self.running.as_ref().map(|(k, g, _)| (k.clone(), *g));
        if current == want.as_ref().map(|(k, g, _)| (k.clone(), *g)) {
            return;
        }
        if let Some((key, _, op)) = self.running.take() {
            self.log
                .push_str(&format!("--- operator {key} stopped:\n{}", op.stop().await));
        }
        if let Some((key, generation, d)) = want {
            let manifest = serde_json::to_value(&d).unwrap();
            let op = InstalledOperator::start(client, &manifest, None, &[]).await;
            self.running = Some((key, generation, op));
        }
    }
}

/// Runs one block with bash (errexit, pipefail) while the operator kubelet keeps up.
async fn run_block(
    b: &Block,
    client: &Client,
    kubelet: &mut OperatorKubelet,
) -> Result<String, String> {
    let cp = cluster();
    let home = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        cp.bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &b.code])
        .current_dir(repo())
        .env("KUBECONFIG", cp.kubeconfig_path())
        .env("PATH", path)
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read = |mut r: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        tokio::spawn(async move {
            let mut s = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut r, &mut s).await;
            s
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let start = Instant::now();
    let status = loop {
        kubelet.sync(client).await;
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > BLOCK_DEADLINE {
            let _ = child.kill().await;
            break None;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    kubelet.sync(client).await;
    let output = format!("{}{}", out.await.unwrap(), err.await.unwrap());
    match status {
        Some(s) if s.success() => Ok(output),
        Some(s) => Err(format!("{s}\n{output}")),
        None => Err(format!("timed out after {BLOCK_DEADLINE:?}\n{output}")),
    }
}

#[tokio::test]
async fn the_install_guide_runs_as_written() {
    let client = cluster().client().await;
    let mut kubelet = OperatorKubelet::default();
    let started = Instant::now();
    let mut ran = 0;
    for b in blocks("docs/install.md").iter().chain(&blocks("README.md")) {
        if b.not_run.is_some() {
            continue;
        }
        let t = Instant::now();
        match run_block(b, &client, &mut kubelet).await {
            Ok(_) => eprintln!("{}:{} ran in {:.1?}", b.file, b.line, t.elapsed()),
            Err(e) => {
                if let Some((_, _, op)) = kubelet.running.take() {
                    kubelet.log.push_str(&op.stop().await);
                }
                panic!(
                    "{}:{} failed:\n{}\n--- output:\n{e}\n--- operator log:\n{}",
                    b.file, b.line, b.code, kubelet.log
                );
            }
        }
        ran += 1;
    }
    assert!(ran >= 8, "only {ran} blocks ran");
    assert!(
        kubelet.running.is_none(),
        "the guide ends with the operator uninstalled"
    );
    eprintln!("{ran} blocks ran in {:.1?}", started.elapsed());
}
