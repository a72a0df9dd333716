//! kubectl_logs: logs of a pod, or of the pods a workload selects.
use super::{Ctx, ToolError, ToolResult, get};
use futures::{AsyncReadExt as _, future::join_all};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, LogParams};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to get logs from: pod, deployment, job or cronjob
    pub resource_type: String,
    /// Name of the resource
    pub name: String,
    /// Namespace of the resource
    pub namespace: Option<String>,
    /// Container name (required when the pod has more than one container)
    pub container: Option<String>,
    /// Number of lines to show from the end of the logs
    pub tail: Option<i64>,
    /// Show logs newer than a relative duration like 5s, 2m, or 3h
    pub since: Option<String>,
    /// Show logs since an RFC3339 timestamp
    pub since_time: Option<String>,
    /// Include timestamps on each line
    #[serde(default)]
    pub timestamps: bool,
    /// Show the logs of the previous instance of the container
    #[serde(default)]
    pub previous: bool,
    /// Stream new lines for a bounded time (see KUBE_MCP_FOLLOW_SECONDS)
    #[serde(default)]
    pub follow: bool,
    /// Select pods by label instead of by owner
    pub label_selector: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

const TOOL: ToolId = ToolId::KubectlLogs;

/// How long `follow` streams at most.
pub const FOLLOW_SECONDS: u64 = 10;

/// Pods read at most for one workload.
const MAX_PODS: usize = 20;

fn bad(reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool: TOOL,
        reason: reason.into(),
    }
}

/// The kinds logs are read from, by any of kubectl's names for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Pod,
    /// A workload whose `spec.selector` picks its pods.
    Selector(&'static str),
    CronJob,
}

pub fn source(resource_type: &str) -> Result<Source, ToolError> {
    let t = resource_type.trim().to_ascii_lowercase();
    let t = t.split_once('.').map(|(b, _)| b.to_string()).unwrap_or(t);
    Ok(match t.as_str() {
        "pod" | "pods" | "po" => Source::Pod,
        "deployment" | "deployments" | "deploy" => Source::Selector("deployments"),
        "replicaset" | "replicasets" | "rs" => Source::Selector("replicasets"),
        "statefulset" | "statefulsets" | "sts" => Source::Selector("statefulsets"),
        "daemonset" | "daemonsets" | "ds" => Source::Selector("daemonsets"),
        "job" | "jobs" => Source::Selector("jobs"),
        "cronjob" | "cronjobs" | "cj" => Source::CronJob,
        other => {
            return Err(bad(format!(
                "resourceType {other:?} has no logs; use pod, deployment, job, cronjob, statefulset, daemonset or replicaset"
            )));
        }
    })
}

/// A LabelSelector object as the query string the API accepts.
pub fn selector_string(sel: &Value) -> String {
    let mut parts = vec![];
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default()
            {
                "In" => parts.push(format!("{key} in ({})", values.join(","))),
                "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
                "Exists" => parts.push(key.to_string()),
                "DoesNotExist" => parts.push(format!("!{key}")),
                _ => {}
            }
        }
    }
    parts.join(",")
}

/// The log request options from the arguments.
pub fn log_params(args: &Args) -> Result<LogParams, ToolError> {
    let since = args
        .since
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let since_time = args
        .since_time
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if since.is_some() && since_time.is_some() {
        return Err(bad("give since or sinceTime, not both"));
    }
    let since_seconds = since
        .map(|s| {
            super::duration::parse(s)
                .ok()
                .map(|d| d.as_secs() as i64)
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(format!("since {s:?} is not a duration like 5s, 2m or 3h")))
        })
        .transpose()?;
    let since_time = since_time
        .map(|t| {
            t.parse::<jiff::Timestamp>()
                .map_err(|e| bad(format!("sinceTime {t:?} is not an RFC3339 time: {e}")))
        })
        .transpose()?;
    if let Some(t) = args.tail
        && t < 0
        && t != -1
    {
        return Err(bad("tail must be a number of lines (or -1 for all)"));
    }
    Ok(LogParams {
        container: args.container.clone().filter(|c| !c.is_empty()),
        tail_lines: args.tail.filter(|t| *t >= 0),
        since_seconds,
        since_time,
        timestamps: args.timestamps,
        previous: args.previous,
        ..Default::default()
    })
}

pub async fn run(ctx: &Ctx, args: Args) -> ToolResult {
    let client = ctx.client(args.context.as_deref()).await?;
    let ns = ctx.namespace(args.namespace.as_deref()).await?;
    let params = log_params(&args)?;
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let max = ctx.settings.max_output_bytes;
    if let Some(text) = one_pod(&pods_api, &args, &params, max).await? {
        return Ok(ctx.bound(with_empty_note(text, &format!("pod/{}", args.name.trim()))));
    }
    let (pods, what) = pods_for(ctx, &client, &pods_api, &ns, &args).await?;
    let follow_for = Duration::from_secs(
        FOLLOW_SECONDS.min(ctx.settings.tool_timeout_seconds.saturating_sub(2).max(1)),
    );

    // One section per pod and container.
    let mut sections = vec![];
    for pod in pods.iter().take(MAX_PODS) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let containers: Vec<String> = match &params.container {
            Some(c) => vec![c.clone()],
            None => pod
                .spec
                .as_ref()
                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default(),
        };
        let many = containers.len() > 1;
        for c in containers {
            let mut lp = params.clone();
            lp.container = (many || params.container.is_some()).then(|| c.clone());
            sections.push((name.clone(), c, lp));
        }
    }
    if sections.is_empty() {
        return Err(ToolError::Invalid(format!(
            "{what} has no pods or containers to read logs from"
        )));
    }
    let share = share_of(max, sections.len());
    let reads = sections.iter().map(|(pod, _, lp)| {
        let api = pods_api.clone();
        async move {
            if args.follow {
                follow(&api, pod, lp, share, follow_for).await
            } else {
                let mut lp = lp.clone();
                lp.limit_bytes = Some(share as i64);
                api.logs(pod, &lp).await.map_err(ToolError::from)
            }
        }
    });
    let results = join_all(reads).await;

    let single = sections.len() == 1;
    if single {
        let text = results
            .into_iter()
            .next()
            .unwrap_or_else(|| Ok(String::new()))?;
        return Ok(ctx.bound(with_empty_note(text, &what)));
    }
    if results.iter().all(Result::is_err) {
        // Every read failed: the first API error says why.
        return match results.into_iter().next() {
            Some(Err(e)) => Err(e),
            _ => Err(ToolError::Invalid(format!(
                "no logs could be read from {what}"
            ))),
        };
    }
    let mut out = String::new();
    if pods.len() > MAX_PODS {
        out.push_str(&format!("[{what}: showing logs of {MAX_PODS} of {} pods; use kubectl_logs on one pod for the others]\n", pods.len()));
    }
    for ((pod, c, _), r) in sections.iter().zip(results) {
        out.push_str(&format!("==> pod/{pod} (container {c}) <==\n"));
        match r {
            Ok(t) if t.is_empty() => out.push_str("(no log lines)\n"),
            Ok(t) => {
                out.push_str(&t);
                if !t.ends_with('\n') {
                    out.push('\n');
                }
            }
            Err(e) => out.push_str(&format!("error: {e}\n")),
        }
    }
    Ok(ctx.bound(out))
}

fn with_empty_note(text: String, what: &str) -> String {
    if text.is_empty() {
        format!("(no log lines from {what} for these options)\n")
    } else {
        text
    }
}

/// Streams logs until `within` passes or `max` bytes arrived.
async fn follow(
    api: &Api<Pod>,
    pod: &str,
    lp: &LogParams,
    max: usize,
    within: Duration,
) -> Result<String, ToolError> {
    let mut lp = lp.clone();
    lp.follow = true;
    lp.limit_bytes = Some(max as i64);
    let mut stream = api.log_stream(pod, &lp).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) | Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() >= max {
                    break;
                }
            }
            Ok(Err(e)) => {
                if buf.is_empty() {
                    return Err(ToolError::Invalid(format!(
                        "reading the log stream of {pod}: {e}"
                    )));
                }
                break;
            }
        }
    }
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    text.push_str(&format!(
        "[follow stopped after at most {}s or {max} bytes]\n",
        within.as_secs()
    ));
    Ok(text)
}

/// The bytes each of `sections` logs may take of the output bound.
fn share_of(max: usize, sections: usize) -> usize {
    (max / sections.max(1)).max(1024)
}

/// The log of a pod named by the arguments, read with one request (what the
/// API server's own log read costs); None when there is no such single read:
/// a selector, a workload, `follow`, or a pod of several containers and none
/// named (the API server answers that one with a 400 that says so, and each
/// container is then read on its own).
async fn one_pod(
    pods: &Api<Pod>,
    args: &Args,
    params: &LogParams,
    max: usize,
) -> Result<Option<String>, ToolError> {
    let selector = args.label_selector.as_deref().map(str::trim);
    let name = args.name.trim();
    if args.follow
        || selector.is_some_and(|s| !s.is_empty())
        || name.is_empty()
        || !matches!(source(&args.resource_type)?, Source::Pod)
    {
        return Ok(None);
    }
    let mut lp = params.clone();
    lp.limit_bytes = Some(share_of(max, 1) as i64);
    match pods.logs(name, &lp).await {
        Ok(text) => Ok(Some(text)),
        Err(kube::Error::Api(e))
            if e.code == 400
                && params.container.is_none()
                && e.message.contains("a container name must be specified") =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The pods to read, and how to name them in messages.
async fn pods_for(
    ctx: &Ctx,
    client: &Client,
    pods: &Api<Pod>,
    ns: &str,
    args: &Args,
) -> Result<(Vec<Pod>, String), ToolError> {
    let name = args.name.trim();
    if let Some(sel) = args
        .label_selector
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let list = pods.list(&ListParams::default().labels(sel)).await?;
        return Ok((
            sorted(list.items),
            format!("pods with labels {sel:?} in {ns}"),
        ));
    }
    if name.is_empty() {
        return Err(bad("name must not be empty (or give labelSelector)"));
    }
    let selector = match source(&args.resource_type)? {
        Source::Pod => return Ok((vec![pods.get(name).await?], format!("pod/{name}"))),
        Source::Selector(plural) => {
            let r = ctx.resolve(client, plural).await?;
            let obj =
                get::get_object(client, &get::collection_url(&r, Some(ns)), name, None).await?;
            selector_of(&obj, &format!("{}/{name}", r.api.kind.to_ascii_lowercase()))?
        }
        Source::CronJob => {
            let job = newest_job(ctx, client, ns, name).await?;
            let job_name = job
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            selector_of(&job, &format!("job/{job_name} of cronjob/{name}"))?
        }
    };
    let list = pods.list(&ListParams::default().labels(&selector)).await?;
    let what = format!("{}/{name}", args.resource_type.trim().to_ascii_lowercase());
    if list.items.is_empty() {
        return Err(ToolError::Invalid(format!(
            "{what} in {ns} has no pods (selector {selector})"
        )));
    }
    Ok((sorted(list.items), what))
}

fn selector_of(obj: &Value, what: &str) -> Result<String, ToolError> {
    let sel = obj
        .pointer("/spec/selector")
        .map(selector_string)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ToolError::Invalid(format!("{what} has no pod selector")))?;
    Ok(sel)
}

/// The most recently created Job a CronJob owns.
async fn newest_job(
    ctx: &Ctx,
    client: &Client,
    ns: &str,
    cronjob: &str,
) -> Result<Value, ToolError> {
    let cj = ctx.resolve(client, "cronjobs").await?;
    // A 404 here names the missing cronjob rather than "no jobs".
    get::get_object(client, &get::collection_url(&cj, Some(ns)), cronjob, None).await?;
    let jobs = ctx.resolve(client, "jobs").await?;
    let mut page = get::list_page(
        client,
        &get::collection_url(&jobs, Some(ns)),
        &ListParams::default(),
        None,
    )
    .await?;
    get::page_items(&jobs, &mut page)
        .into_iter()
        .filter(|j| {
            j.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|o| {
                    o.iter().any(|o| {
                        o.get("kind").and_then(Value::as_str) == Some("CronJob")
                            && o.get("name").and_then(Value::as_str) == Some(cronjob)
                    })
                })
        })
        .max_by_key(|j| {
            j.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
        .ok_or_else(|| {
            ToolError::Invalid(format!(
                "cronjob/{cronjob} in {ns} has no jobs yet, so no logs"
            ))
        })
}

fn sorted(mut pods: Vec<Pod>) -> Vec<Pod> {
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    pods
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors() {
        for (sel, want) in [
            (json!({"matchLabels": {"app": "web"}}), "app=web"),
            (
                json!({"matchLabels": {"a": "1"}, "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["x", "y"]},
                    {"key": "env", "operator": "NotIn", "values": ["prod"]},
                    {"key": "k", "operator": "Exists"},
                    {"key": "n", "operator": "DoesNotExist"}
                ]}),
                "a=1,tier in (x,y),env notin (prod),k,!n",
            ),
            (json!({}), ""),
        ] {
            assert_eq!(selector_string(&sel), want);
        }
    }

    #[test]
    fn sources() {
        for (t, want) in [
            ("pod", Source::Pod),
            ("Pods", Source::Pod),
            ("deploy", Source::Selector("deployments")),
            ("deployment.apps", Source::Selector("deployments")),
            ("job", Source::Selector("jobs")),
            ("cj", Source::CronJob),
        ] {
            assert_eq!(source(t).unwrap(), want, "{t}");
        }
        assert!(
            source("service")
                .unwrap_err()
                .to_string()
                .contains("has no logs")
        );
    }

    fn args(v: Value) -> Args {
        let mut base = json!({"resourceType": "pod", "name": "p"});
        base.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn params() {
        let lp = log_params(&args(json!({"since": "2m", "tail": 5, "timestamps": true}))).unwrap();
        assert_eq!(
            (lp.since_seconds, lp.tail_lines, lp.timestamps),
            (Some(120), Some(5), true)
        );
        let lp = log_params(&args(json!({"sinceTime": "2026-01-01T00:00:00Z"}))).unwrap();
        assert!(lp.since_time.is_some());
        for bad in [
            json!({"since": "2m", "sinceTime": "2026-01-01T00:00:00Z"}),
            json!({"since": "soon"}),
            json!({"sinceTime": "yesterday"}),
            json!({"tail": -7}),
        ] {
            assert!(log_params(&args(bad.clone())).is_err(), "{bad}");
        }
    }
}
