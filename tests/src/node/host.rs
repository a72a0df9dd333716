//! This machine's side of a real node: the claim on the machine, the pods'
//! bridge, the `kubernetes` Service proxy and the watchdog that tears it all
//! down.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use tracing::info;

use super::{BRIDGE, CLAIM_FILE, GATEWAY, Proc, SERVICE_IP, claim, teardown};
use crate::controlplane::{Error, ignore_sighup, io_err, pid_alive};

/// Forwards every TCP connection to `listen` to `upstream`: the
/// `kubernetes` Service for pods, with no kube-proxy. Runs until killed.
pub async fn serve_proxy(listen: SocketAddr, upstream: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    loop {
        let (mut inbound, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Ok(mut out) = tokio::net::TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
            }
        });
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), Error> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("running {program}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::State(format!(
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Refuses when another live real node holds this machine; tears down one
/// whose owner died without cleaning up.
pub(super) fn take_over_machine() -> Result<(), Error> {
    if let Some((dir, pid)) = claim() {
        if pid_alive(pid) {
            return Err(Error::State(format!(
                "a real node already runs on this machine (directory {}, leader pid {pid}); \
                 stop it first (`kube-mcp-dev down`), or point tests at its cluster with KUBE_MCP_KUBECONFIG",
                dir.display()
            )));
        }
        info!(dir = %dir.display(), "tearing down a real node whose owner is gone");
        teardown(&dir);
        super::remove_dir(&dir);
        let _ = fs::remove_file(CLAIM_FILE);
    }
    // A bridge without a claim is left over from a crash before the claim was written.
    let _ = Command::new("ip")
        .args(["link", "delete", BRIDGE])
        .stderr(Stdio::null())
        .status();
    Ok(())
}

pub(super) fn create_bridge() -> Result<(), Error> {
    run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
    run(
        "ip",
        &["addr", "add", &format!("{GATEWAY}/24"), "dev", BRIDGE],
    )?;
    run(
        "ip",
        &["addr", "add", &format!("{SERVICE_IP}/32"), "dev", BRIDGE],
    )?;
    run("ip", &["link", "set", BRIDGE, "up"])
}

/// The group leader: a watchdog that tears the node down when the owning
/// process goes away, or (detached) a placeholder that holds the group.
pub(super) fn spawn_leader(dir: &Path, detach: bool) -> Result<Proc, Error> {
    let log = dir.join("logs").join("watchdog.log");
    let file = fs::File::create(&log).map_err(io_err(format!("creating {}", log.display())))?;
    let mut cmd = Command::new("sh");
    if detach {
        cmd.args([
            "-c",
            "trap '' HUP INT TERM; while :; do sleep 3600; done",
            "kube-mcp-node-holder",
        ]);
        ignore_sighup(&mut cmd);
    } else {
        cmd.args([
            "-c",
            "trap '' HUP INT TERM\n\
             while kill -0 \"$1\" 2>/dev/null; do sleep 1; done\n\
             kill -TERM 0 2>/dev/null\n\
             sleep 2\n\
             sh \"$2/teardown.sh\" \"$2\"\n\
             rm -rf --one-file-system \"$2\"\n\
             kill -KILL 0",
            "kube-mcp-node-watchdog",
        ])
        .arg(std::process::id().to_string())
        .arg(dir);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .process_group(0);
    let child = cmd.spawn().map_err(io_err("starting the node watchdog"))?;
    Ok(Proc {
        name: if detach { "holder" } else { "watchdog" }.into(),
        child,
        log,
    })
}
