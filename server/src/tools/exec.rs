//! exec_in_pod: a command through the API server's exec endpoint.
use super::{Ctx, ToolError, ToolResult};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Pod name
    pub name: String,
    /// Namespace of the pod
    pub namespace: Option<String>,
    /// Command as an array of strings, the executable first
    pub command: Vec<String>,
    /// Container name
    pub container: Option<String>,
    /// Timeout in milliseconds
    pub timeout: Option<u64>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

const TOOL: ToolId = ToolId::ExecInPod;
const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// Reads a stream to its end, keeping at most `max` bytes; returns the kept
/// bytes and how many were dropped.
async fn read_bounded<R: AsyncRead + Unpin>(r: Option<R>, max: usize) -> (Vec<u8>, usize) {
    let Some(mut r) = r else {
        return (vec![], 0);
    };
    let mut kept = Vec::new();
    let mut dropped = 0;
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                dropped += n.saturating_sub(room);
            }
        }
    }
    (kept, dropped)
}

fn text(bytes: Vec<u8>, dropped: usize) -> String {
    let mut s = String::from_utf8_lossy(&bytes).into_owned();
    if dropped > 0 {
        s.push_str(&format!("\n[output truncated: {dropped} more bytes]"));
    }
    s
}

pub async fn run(ctx: &Ctx, args: Args) -> ToolResult {
    if args.command.is_empty() || args.command[0].trim().is_empty() {
        return Err(ToolError::InvalidArgs {
            tool: TOOL,
            reason: "command must be a non-empty array, the executable first, e.g. [\"ls\", \"-l\", \"/\"]".into(),
        });
    }
    let client = ctx.client(args.context.as_deref()).await?;
    let ns = ctx.namespace(args.namespace.as_deref()).await?;
    let api = Api::<Pod>::namespaced(client, &ns);
    let mut ap = AttachParams::default()
        .stdin(false)
        .stdout(true)
        .stderr(true)
        .tty(false);
    if let Some(c) = args.container.as_deref().filter(|c| !c.is_empty()) {
        ap = ap.container(c);
    }
    let cap_ms = ctx
        .settings
        .tool_timeout_seconds
        .saturating_sub(1)
        .max(1)
        .saturating_mul(1000);
    let timeout =
        Duration::from_millis(args.timeout.unwrap_or(DEFAULT_TIMEOUT_MS).clamp(1, cap_ms));
    let max = ctx.settings.max_output_bytes;
    let name = args.name.clone();
    let work = async {
        let mut proc = api.exec(&name, args.command.clone(), &ap).await.map_err(|e| match e {
            kube::Error::Api(_) => ToolError::Api(e),
            other => ToolError::Invalid(format!(
                "the API server could not open an exec stream to pod {ns}/{name}: {other} \
                 (the pod's node must serve exec through its kubelet; simulated nodes such as kwok's do not)"
            )),
        })?;
        let status = proc.take_status();
        let ((out, out_dropped), (err, err_dropped)) = tokio::join!(
            read_bounded(proc.stdout(), max),
            read_bounded(proc.stderr(), max)
        );
        let status = match status {
            Some(s) => s.await,
            None => None,
        };
        let _ = proc.join().await;
        Ok::<_, ToolError>((text(out, out_dropped), text(err, err_dropped), status))
    };
    let (stdout, stderr, status) = tokio::time::timeout(timeout, work).await.map_err(|_| {
        ToolError::Invalid(format!(
            "the command in pod {ns}/{} did not finish within {} ms; raise timeout (milliseconds) or run something shorter",
            args.name,
            timeout.as_millis()
        ))
    })??;
    let mut result = stdout;
    if !stderr.is_empty() {
        if !result.is_empty() && !result.ends_with('\n') {
            result.push('\n');
        }
        result.push_str("stderr:\n");
        result.push_str(&stderr);
    }
    match status {
        Some(s) if s.status.as_deref() == Some("Failure") => {
            let code = s
                .details
                .as_ref()
                .and_then(|d| d.causes.as_ref())
                .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
                .and_then(|c| c.message.clone());
            let why = match code {
                Some(c) => format!("exited with code {c}"),
                None => format!("failed: {}", s.message.unwrap_or_default()),
            };
            Err(ToolError::Invalid(format!(
                "the command in pod {ns}/{} {why}\n{result}",
                args.name
            )))
        }
        _ => Ok(ctx.bound(result)),
    }
}
