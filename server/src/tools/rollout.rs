//! kubectl_rollout: status, history, undo, restart, pause, resume.
use super::{CallResult, Ctx, Output, ToolError, ToolResult};
use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet,
};
use kube::Resource as _;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// history, pause, restart, resume, status or undo
    pub sub_command: String,
    /// deployment, daemonset or statefulset
    pub resource_type: String,
    /// Name of the workload
    pub name: String,
    /// Namespace of the workload
    pub namespace: Option<String>,
    /// Revision to show in history
    pub revision: Option<i64>,
    /// Revision to roll back to with undo
    pub to_revision: Option<i64>,
    /// How long status waits, e.g. 30s or 2m
    pub timeout: Option<String>,
    /// Wait for the rollout to finish (bounded by timeout)
    #[serde(default)]
    pub watch: bool,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

const TOOL: ToolId = ToolId::KubectlRollout;
const REVISION: &str = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

fn invalid(reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool: TOOL,
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Deployment,
    DaemonSet,
    StatefulSet,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Self, ToolError> {
        match s.to_ascii_lowercase().as_str() {
            "deployment" | "deployments" | "deploy" | "deployment.apps" | "deployments.apps" => {
                Ok(Kind::Deployment)
            }
            "daemonset" | "daemonsets" | "ds" | "daemonset.apps" | "daemonsets.apps" => {
                Ok(Kind::DaemonSet)
            }
            "statefulset" | "statefulsets" | "sts" | "statefulset.apps" | "statefulsets.apps" => {
                Ok(Kind::StatefulSet)
            }
            other => Err(invalid(format!(
                "resourceType {other:?} has no rollouts; use deployment, daemonset or statefulset"
            ))),
        }
    }

    fn shown(self, name: &str) -> String {
        match self {
            Kind::Deployment => format!("deployment.apps/{name}"),
            Kind::DaemonSet => format!("daemonset.apps/{name}"),
            Kind::StatefulSet => format!("statefulset.apps/{name}"),
        }
    }
}

/// Where a rollout stands: a message, and whether it is finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Done(String),
    Waiting(String),
    Failed(String),
}

/// kubectl's status logic for a Deployment.
pub fn deployment_progress(d: &Deployment) -> Progress {
    let name = d.metadata.name.clone().unwrap_or_default();
    let generation = d.metadata.generation.unwrap_or(0);
    let st = d.status.clone().unwrap_or_default();
    if generation > st.observed_generation.unwrap_or(0) {
        return Progress::Waiting("Waiting for deployment spec update to be observed...".into());
    }
    if st.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    }) {
        return Progress::Failed(format!(
            "deployment {name:?} exceeded its progress deadline"
        ));
    }
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = st.updated_replicas.unwrap_or(0);
    let replicas = st.replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    if updated < want {
        Progress::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {updated} out of {want} new replicas have been updated..."
        ))
    } else if replicas > updated {
        Progress::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            replicas - updated
        ))
    } else if available < updated {
        Progress::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
        ))
    } else {
        Progress::Done(format!("deployment {name:?} successfully rolled out"))
    }
}

/// kubectl's status logic for a DaemonSet.
pub fn daemonset_progress(d: &DaemonSet) -> Progress {
    let name = d.metadata.name.clone().unwrap_or_default();
    let strategy = d
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.type_.clone())
        .unwrap_or_else(|| "RollingUpdate".into());
    if strategy != "RollingUpdate" {
        return Progress::Failed(
            "rollout status is only available for RollingUpdate strategy type".into(),
        );
    }
    let st = d.status.clone().unwrap_or_default();
    if d.metadata.generation.unwrap_or(0) > st.observed_generation.unwrap_or(0) {
        return Progress::Waiting("Waiting for daemon set spec update to be observed...".into());
    }
    let desired = st.desired_number_scheduled;
    let updated = st.updated_number_scheduled.unwrap_or(0);
    let available = st.number_available.unwrap_or(0);
    if updated < desired {
        Progress::Waiting(format!(
            "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
        ))
    } else if available < desired {
        Progress::Waiting(format!(
            "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."
        ))
    } else {
        Progress::Done(format!("daemon set {name:?} successfully rolled out"))
    }
}

/// kubectl's status logic for a StatefulSet.
pub fn statefulset_progress(s: &StatefulSet) -> Progress {
    let spec = s.spec.clone().unwrap_or_default();
    let strategy = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.type_.clone())
        .unwrap_or_else(|| "RollingUpdate".into());
    if strategy != "RollingUpdate" {
        return Progress::Failed(
            "rollout status is only available for RollingUpdate strategy type".into(),
        );
    }
    let st = s.status.clone().unwrap_or_default();
    let observed = st.observed_generation.unwrap_or(0);
    if observed == 0 || s.metadata.generation.unwrap_or(0) > observed {
        return Progress::Waiting("Waiting for statefulset spec update to be observed...".into());
    }
    let want = spec.replicas.unwrap_or(1);
    let ready = st.ready_replicas.unwrap_or(0);
    if ready < want {
        return Progress::Waiting(format!("Waiting for {} pods to be ready...", want - ready));
    }
    let partition = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    if partition > 0 {
        let updated = st.updated_replicas.unwrap_or(0);
        if updated < want - partition {
            return Progress::Waiting(format!(
                "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                want - partition
            ));
        }
        return Progress::Done(format!(
            "partitioned roll out complete: {updated} new pods have been updated..."
        ));
    }
    let update = st.update_revision.unwrap_or_default();
    if update != st.current_revision.unwrap_or_default() {
        return Progress::Waiting(format!(
            "waiting for statefulset rolling update to complete {} pods at revision {update}...",
            st.updated_replicas.unwrap_or(0)
        ));
    }
    Progress::Done(format!(
        "statefulset rolling update complete {} pods at revision {update}...",
        st.current_replicas.unwrap_or(0)
    ))
}

/// The structured result of every subcommand.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutResult {
    pub sub_command: String,
    /// `kind.group/name`, e.g. deployment.apps/web
    pub resource: String,
    pub namespace: String,
    /// `status` only: whether the rollout has finished
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
    /// What the text result says, one entry per line
    pub messages: Vec<String>,
}

pub fn output_schema() -> Map<String, Value> {
    super::schema::<RolloutResult>()
}

pub async fn run(ctx: &Ctx, args: Args) -> CallResult {
    let kind = Kind::parse(&args.resource_type)?;
    let sub = args.sub_command.trim().to_ascii_lowercase();
    let (text, done) = if sub == "status" {
        let client = ctx.client(args.context.as_deref()).await?;
        let ns = ctx.namespace(args.namespace.as_deref()).await?;
        let (text, done) = status(ctx, &client, &ns, kind, &args).await?;
        (text, Some(done))
    } else {
        (act(ctx, &args).await?, None)
    };
    let data = RolloutResult {
        sub_command: sub,
        resource: kind.shown(&args.name),
        namespace: ctx.namespace(args.namespace.as_deref()).await?,
        done,
        messages: text.lines().map(str::to_string).collect(),
    };
    Output::typed(text, &data)
}

async fn act(ctx: &Ctx, args: &Args) -> ToolResult {
    let kind = Kind::parse(&args.resource_type)?;
    let client = ctx.client(args.context.as_deref()).await?;
    let ns = ctx.namespace(args.namespace.as_deref()).await?;
    let shown = kind.shown(&args.name);
    let pp = PatchParams {
        field_manager: Some(super::apply::FIELD_MANAGER.into()),
        ..Default::default()
    };
    match args.sub_command.to_ascii_lowercase().as_str() {
        "history" => history(&client, &ns, kind, &args.name, args.revision).await,
        "undo" => {
            undo(
                &client,
                &ns,
                kind,
                &args.name,
                args.to_revision.unwrap_or(0),
            )
            .await
        }
        "restart" => {
            let paused = kind == Kind::Deployment
                && Api::<Deployment>::namespaced(client.clone(), &ns)
                    .get(&args.name)
                    .await?
                    .spec
                    .and_then(|s| s.paused)
                    .unwrap_or(false);
            if paused {
                return Err(ToolError::Invalid(format!(
                    "can't restart paused {shown} (run rollout resume first)"
                )));
            }
            let now = jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            let patch = Patch::Strategic(
                json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}),
            );
            patch_kind(&client, &ns, kind, &args.name, &pp, &patch).await?;
            Ok(format!("{shown} restarted"))
        }
        sub @ ("pause" | "resume") => {
            if kind != Kind::Deployment {
                return Err(ToolError::Invalid(format!(
                    "{shown}: {sub} is only supported for deployments"
                )));
            }
            let paused = sub == "pause";
            let api = Api::<Deployment>::namespaced(client.clone(), &ns);
            let current = api.get(&args.name).await?;
            if current
                .spec
                .as_ref()
                .and_then(|s| s.paused)
                .unwrap_or(false)
                == paused
            {
                return Ok(format!(
                    "{shown} is already {}",
                    if paused { "paused" } else { "resumed" }
                ));
            }
            api.patch(
                &args.name,
                &pp,
                &Patch::Merge(json!({"spec": {"paused": paused}})),
            )
            .await?;
            Ok(format!(
                "{shown} {}",
                if paused { "paused" } else { "resumed" }
            ))
        }
        other => Err(invalid(format!(
            "subCommand {other:?} is not one of status, history, undo, restart, pause or resume"
        ))),
    }
}

async fn patch_kind(
    client: &kube::Client,
    ns: &str,
    kind: Kind,
    name: &str,
    pp: &PatchParams,
    patch: &Patch<Value>,
) -> Result<(), ToolError> {
    match kind {
        Kind::Deployment => {
            Api::<Deployment>::namespaced(client.clone(), ns)
                .patch(name, pp, patch)
                .await?;
        }
        Kind::DaemonSet => {
            Api::<DaemonSet>::namespaced(client.clone(), ns)
                .patch(name, pp, patch)
                .await?;
        }
        Kind::StatefulSet => {
            Api::<StatefulSet>::namespaced(client.clone(), ns)
                .patch(name, pp, patch)
                .await?;
        }
    }
    Ok(())
}

async fn progress(
    client: &kube::Client,
    ns: &str,
    kind: Kind,
    name: &str,
) -> Result<Progress, ToolError> {
    Ok(match kind {
        Kind::Deployment => deployment_progress(
            &Api::<Deployment>::namespaced(client.clone(), ns)
                .get(name)
                .await?,
        ),
        Kind::DaemonSet => daemonset_progress(
            &Api::<DaemonSet>::namespaced(client.clone(), ns)
                .get(name)
                .await?,
        ),
        Kind::StatefulSet => statefulset_progress(
            &Api::<StatefulSet>::namespaced(client.clone(), ns)
                .get(name)
                .await?,
        ),
    })
}

/// The rollout's progress until done or `timeout`, and whether it is done.
async fn status(
    ctx: &Ctx,
    client: &kube::Client,
    ns: &str,
    kind: Kind,
    args: &Args,
) -> Result<(String, bool), ToolError> {
    let mut wait = super::duration::parse(args.timeout.as_deref().unwrap_or("0"))
        .map_err(|e| invalid(format!("timeout {e}")))?;
    // Leave the call some room inside the server's own bound.
    let cap = Duration::from_secs(ctx.settings.tool_timeout_seconds.saturating_sub(2).max(1));
    if args.watch && wait.is_zero() {
        wait = cap;
    }
    let wait = wait.min(cap);
    let start = Instant::now();
    let mut seen = vec![];
    loop {
        match progress(client, ns, kind, &args.name).await? {
            Progress::Done(m) => {
                seen.push(m);
                return Ok((seen.join("\n"), true));
            }
            Progress::Failed(m) => return Err(ToolError::Invalid(m)),
            Progress::Waiting(m) => {
                if seen.last() != Some(&m) {
                    seen.push(m);
                }
                if start.elapsed() >= wait {
                    if !wait.is_zero() {
                        seen.push(format!(
                            "the rollout had not finished after {}s",
                            wait.as_secs()
                        ));
                    }
                    return Ok((seen.join("\n"), false));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500).min(wait.saturating_sub(start.elapsed())))
            .await;
    }
}

fn owned_by(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, uid: &str) -> bool {
    meta.owner_references.iter().flatten().any(|o| o.uid == uid)
}

/// The ReplicaSets a Deployment owns, with their revisions, oldest first.
async fn replica_sets(
    client: &kube::Client,
    ns: &str,
    d: &Deployment,
) -> Result<Vec<(i64, ReplicaSet)>, ToolError> {
    let uid = d.meta().uid.clone().unwrap_or_default();
    let rs = Api::<ReplicaSet>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    let mut out: Vec<(i64, ReplicaSet)> = rs
        .items
        .into_iter()
        .filter(|r| owned_by(&r.metadata, &uid))
        .filter_map(|r| {
            let rev = r
                .metadata
                .annotations
                .as_ref()?
                .get(REVISION)?
                .parse()
                .ok()?;
            Some((rev, r))
        })
        .collect();
    out.sort_by_key(|(r, _)| *r);
    Ok(out)
}

/// The ControllerRevisions a DaemonSet or StatefulSet owns, oldest first.
async fn controller_revisions(
    client: &kube::Client,
    ns: &str,
    uid: &str,
) -> Result<Vec<ControllerRevision>, ToolError> {
    let list = Api::<ControllerRevision>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    let mut out: Vec<_> = list
        .items
        .into_iter()
        .filter(|c| owned_by(&c.metadata, uid))
        .collect();
    out.sort_by_key(|c| c.revision);
    Ok(out)
}

async fn workload_uid(
    client: &kube::Client,
    ns: &str,
    kind: Kind,
    name: &str,
) -> Result<String, ToolError> {
    Ok(match kind {
        Kind::Deployment => {
            Api::<Deployment>::namespaced(client.clone(), ns)
                .get(name)
                .await?
                .metadata
                .uid
        }
        Kind::DaemonSet => {
            Api::<DaemonSet>::namespaced(client.clone(), ns)
                .get(name)
                .await?
                .metadata
                .uid
        }
        Kind::StatefulSet => {
            Api::<StatefulSet>::namespaced(client.clone(), ns)
                .get(name)
                .await?
                .metadata
                .uid
        }
    }
    .unwrap_or_default())
}

fn change_cause(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(CHANGE_CAUSE).cloned())
        .unwrap_or_else(|| "<none>".into())
}

async fn history(
    client: &kube::Client,
    ns: &str,
    kind: Kind,
    name: &str,
    revision: Option<i64>,
) -> ToolResult {
    let shown = kind.shown(name);
    let rows: Vec<(i64, String, Value)> = match kind {
        Kind::Deployment => {
            let d = Api::<Deployment>::namespaced(client.clone(), ns)
                .get(name)
                .await?;
            replica_sets(client, ns, &d)
                .await?
                .into_iter()
                .map(|(rev, rs)| {
                    let tmpl = rs.spec.as_ref().and_then(|s| s.template.clone());
                    (
                        rev,
                        change_cause(&rs.metadata),
                        serde_json::to_value(tmpl).unwrap_or_default(),
                    )
                })
                .collect()
        }
        _ => {
            let uid = workload_uid(client, ns, kind, name).await?;
            controller_revisions(client, ns, &uid)
                .await?
                .into_iter()
                .map(|c| {
                    let data = c.data.as_ref().map(|d| d.0.clone()).unwrap_or_default();
                    let tmpl = data["spec"]["template"].clone();
                    (c.revision, change_cause(&c.metadata), tmpl)
                })
                .collect()
        }
    };
    match revision.filter(|r| *r > 0) {
        Some(r) => {
            let (_, _, tmpl) = rows.iter().find(|(rev, _, _)| *rev == r).ok_or_else(|| {
                ToolError::Invalid(format!(
                    "unable to find the specified revision {r} of {shown}"
                ))
            })?;
            Ok(format!(
                "{shown} with revision #{r}\nPod Template:\n{}",
                super::manifest::to_yaml(tmpl)
            ))
        }
        None => {
            let mut out = format!("{shown}\nREVISION  CHANGE-CAUSE\n");
            for (rev, cause, _) in &rows {
                out.push_str(&format!("{rev:<9} {cause}\n"));
            }
            if rows.is_empty() {
                out.push_str("(no revisions recorded)\n");
            }
            Ok(out)
        }
    }
}

/// Picks the revision to roll back to: `to` when given (>0), else the
/// newest one older than `current`.
pub fn pick_revision(revisions: &[i64], current: i64, to: i64) -> Result<i64, String> {
    if to > 0 {
        return if revisions.contains(&to) {
            Ok(to)
        } else {
            Err(format!("unable to find specified revision {to} in history"))
        };
    }
    revisions
        .iter()
        .copied()
        .filter(|r| *r < current)
        .max()
        .ok_or_else(|| {
            "no rollout history found: there is no previous revision to roll back to".into()
        })
}

async fn undo(client: &kube::Client, ns: &str, kind: Kind, name: &str, to: i64) -> ToolResult {
    let shown = kind.shown(name);
    let pp = PatchParams {
        field_manager: Some(super::apply::FIELD_MANAGER.into()),
        ..Default::default()
    };
    match kind {
        Kind::Deployment => {
            let api = Api::<Deployment>::namespaced(client.clone(), ns);
            let d = api.get(name).await?;
            if d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false) {
                return Err(ToolError::Invalid(format!(
                    "you cannot rollback a paused deployment; resume {shown} first"
                )));
            }
            let current: i64 = d
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            let sets = replica_sets(client, ns, &d).await?;
            let revs: Vec<i64> = sets.iter().map(|(r, _)| *r).collect();
            let target = pick_revision(&revs, current, to)
                .map_err(|e| ToolError::Invalid(format!("{shown}: {e}")))?;
            let (_, rs) = sets.iter().find(|(r, _)| *r == target).ok_or_else(|| {
                ToolError::Invalid(format!("{shown}: revision {target} vanished"))
            })?;
            let mut tmpl = serde_json::to_value(rs.spec.as_ref().and_then(|s| s.template.clone()))
                .unwrap_or_default();
            if let Some(labels) = tmpl["metadata"]["labels"].as_object_mut() {
                labels.remove("pod-template-hash");
            }
            let now = serde_json::to_value(d.spec.as_ref().map(|s| s.template.clone()))
                .unwrap_or_default();
            if now == tmpl {
                return Ok(format!(
                    "{shown} skipped rollback (current template already matches revision {target})"
                ));
            }
            let ops: json_patch::Patch = serde_json::from_value(json!([
                {"op": "replace", "path": "/spec/template", "value": tmpl}
            ]))
            .map_err(|e| ToolError::Invalid(e.to_string()))?;
            api.patch(name, &pp, &Patch::<Value>::Json(ops)).await?;
            Ok(format!("{shown} rolled back to revision {target}"))
        }
        _ => {
            let uid = workload_uid(client, ns, kind, name).await?;
            let revisions = controller_revisions(client, ns, &uid).await?;
            let current = revisions.iter().map(|c| c.revision).max().unwrap_or(0);
            let revs: Vec<i64> = revisions.iter().map(|c| c.revision).collect();
            let target = pick_revision(&revs, current, to)
                .map_err(|e| ToolError::Invalid(format!("{shown}: {e}")))?;
            let data = revisions
                .iter()
                .find(|c| c.revision == target)
                .and_then(|c| c.data.as_ref().map(|d| d.0.clone()))
                .ok_or_else(|| {
                    ToolError::Invalid(format!("{shown}: revision {target} holds no template"))
                })?;
            patch_kind(client, ns, kind, name, &pp, &Patch::Strategic(data)).await?;
            Ok(format!("{shown} rolled back to revision {target}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(v: Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn deployment_progress_table() {
        let base = |generation: i64, observed: i64, mut status: Value| {
            status["observedGeneration"] = json!(observed);
            deploy(
                json!({"metadata": {"name": "web", "generation": generation},
                "spec": {"replicas": 3, "selector": {}, "template": {}}, "status": status}),
            )
        };
        let cases = [
            (base(2, 1, json!({})), "spec update to be observed", false),
            (
                base(1, 1, json!({"updatedReplicas": 1, "replicas": 3})),
                "1 out of 3 new replicas",
                false,
            ),
            (
                base(1, 1, json!({"updatedReplicas": 3, "replicas": 4})),
                "1 old replicas are pending",
                false,
            ),
            (
                base(
                    1,
                    1,
                    json!({"updatedReplicas": 3, "replicas": 3, "availableReplicas": 2}),
                ),
                "2 of 3 updated replicas are available",
                false,
            ),
            (
                base(
                    1,
                    1,
                    json!({"updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}),
                ),
                "successfully rolled out",
                true,
            ),
        ];
        for (d, want, done) in cases {
            match deployment_progress(&d) {
                Progress::Done(m) => assert!(done && m.contains(want), "{m}"),
                Progress::Waiting(m) => assert!(!done && m.contains(want), "{m}"),
                Progress::Failed(m) => panic!("{m}"),
            }
        }
        let failed = base(
            1,
            1,
            json!({"conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
        );
        assert!(
            matches!(deployment_progress(&failed), Progress::Failed(m) if m.contains("progress deadline"))
        );
    }

    #[test]
    fn revision_choice() {
        let cases = [
            (vec![1, 2, 3], 3, 0, Ok(2)),
            (vec![1, 2, 3], 3, 1, Ok(1)),
            (vec![1, 3], 3, 0, Ok(1)),
            (vec![3], 3, 0, Err("no rollout history")),
            (vec![1, 2], 2, 7, Err("revision 7")),
        ];
        for (revs, cur, to, want) in cases {
            match (pick_revision(&revs, cur, to), want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w),
                (Err(e), Err(w)) => assert!(e.contains(w), "{e}"),
                (g, w) => panic!("{revs:?} {cur} {to}: {g:?} vs {w:?}"),
            }
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(Kind::parse("deploy").unwrap(), Kind::Deployment);
        assert_eq!(Kind::parse("StatefulSet").unwrap(), Kind::StatefulSet);
        assert_eq!(Kind::parse("ds").unwrap(), Kind::DaemonSet);
        assert!(
            Kind::parse("pod")
                .unwrap_err()
                .to_string()
                .contains("no rollouts")
        );
    }
}
