//! The reconciler: the only module that talks to the API server.
//!
//! Fetch, call the pure builders, check every child's name is free or ours,
//! server-side apply with one field manager ([`crate::apply`]), prune what is
//! no longer wanted, write status, publish Events on transitions.

use crate::apply::{self, Checked};
use crate::cache::{Caches, Router, scoped};
use crate::config::Config;
use crate::crd::{CRD_NAME, McpEndpoint, McpEndpointStatus};
use crate::error::{Error, Result, VerifyError};
use crate::events::Events;
use crate::guard::{self, Grant, Refusal};
use crate::metrics::Metrics;
use crate::names::FIELD_MANAGER;
use crate::ownership::{self, Claim};
use crate::status::{self, Observed, Outcome, Verification};
use crate::verifier::Verifier;
use crate::{deployment, finalizer, names, network_policy, probe, rbac, secret, service, verify};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ListParams, PartialObjectMeta, Patch, PatchParams};
use kube::runtime::controller::{self, Action};
use kube::runtime::events::{Event, EventType, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Periodic re-check (drift correction) of a healthy endpoint.
pub const REQUEUE: Duration = Duration::from_secs(300);
const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Shared state of the reconciler.
pub struct Context {
    pub client: Client,
    pub config: Config,
    /// Events, written beside the reconciles ([`Events`]).
    pub events: Events,
    pub metrics: Arc<Metrics>,
    /// Consecutive failures per endpoint; reset on success.
    pub failures: Mutex<HashMap<ObjectRef<McpEndpoint>, u32>>,
    /// Fingerprint ([`verify::fingerprint`]) of each endpoint's last verification
    /// that matched and was recorded in its status.
    pub verified: Mutex<HashMap<ObjectRef<McpEndpoint>, String>>,
    /// The children as the watches last saw them.
    pub caches: Arc<Caches>,
    /// MCP probes, run beside the reconciles.
    pub verifier: Arc<Verifier>,
    /// One per endpoint being reconciled, across every watched namespace.
    permits: tokio::sync::Semaphore,
    /// Each watched scope's "reconcile this endpoint" requests (from the
    /// child watches and the verifier), taken by [`run`].
    requests: Mutex<Vec<Requests>>,
    /// The watches behind `caches`; stopped with the context.
    watches: Vec<tokio::task::JoinHandle<()>>,
}

/// A watched scope (None: all namespaces) and its controller's requests.
type Requests = (
    Option<String>,
    mpsc::UnboundedReceiver<ObjectRef<McpEndpoint>>,
);

impl Drop for Context {
    fn drop(&mut self) {
        for w in &self.watches {
            w.abort();
        }
    }
}

impl Context {
    /// Starts the child watches (on the current tokio runtime); the
    /// controllers start with [`run`]. Events are written with `client` too.
    pub fn new(client: Client, config: Config, metrics: Arc<Metrics>) -> Self {
        Self::with_clients(client.clone(), client, config, metrics)
    }

    /// [`Context::new`], with Events written by `events` rather than the
    /// reconcilers' client: the operator gives it a rate limit of its own
    /// ([`crate::events`]).
    pub fn with_clients(
        client: Client,
        events: Client,
        config: Config,
        metrics: Arc<Metrics>,
    ) -> Self {
        let scopes: Vec<Option<String>> = if config.watch_namespaces.is_empty() {
            vec![None]
        } else {
            config.watch_namespaces.iter().cloned().map(Some).collect()
        };
        let (router, receivers) = Router::new(&scopes);
        let (caches, drivers) = Caches::new(&client, &scopes, &router);
        Self {
            permits: tokio::sync::Semaphore::new(usize::from(config.concurrency)),
            verifier: Arc::new(Verifier::new(usize::from(config.concurrency), router)),
            caches: Arc::new(caches),
            requests: Mutex::new(scopes.into_iter().zip(receivers).collect()),
            watches: drivers.into_iter().map(tokio::spawn).collect(),
            events: Events::start(events, reporter()),
            client,
            config,
            metrics,
            failures: Mutex::default(),
            verified: Mutex::default(),
        }
    }

    fn verified_fingerprint(&self, obj: &ObjectRef<McpEndpoint>) -> Option<String> {
        self.verified.lock().ok()?.get(obj).cloned()
    }

    fn remember_verified(&self, obj: ObjectRef<McpEndpoint>, fingerprint: Option<String>) {
        if let Ok(mut m) = self.verified.lock() {
            match fingerprint {
                Some(f) => m.insert(obj, f),
                None => m.remove(&obj),
            };
        }
    }

    /// Drops what is remembered of an endpoint that runs nothing: refused, or
    /// gone (the garbage collector deletes one without the finalizer, and no
    /// reconcile sees it go).
    fn forget(&self, obj: &ObjectRef<McpEndpoint>) {
        self.remember_verified(obj.clone(), None);
        self.verifier.forget(obj);
        self.reset_backoff(obj);
    }

    fn reset_backoff(&self, obj: &ObjectRef<McpEndpoint>) {
        if let Ok(mut m) = self.failures.lock() {
            m.remove(obj);
        }
    }

    /// The next delay for `obj`: 1s, 2s, 4s, ... capped at 5 minutes.
    fn next_backoff(&self, obj: ObjectRef<McpEndpoint>) -> Duration {
        let n = match self.failures.lock() {
            Ok(mut m) => {
                let n = m.entry(obj).or_insert(0);
                *n = n.saturating_add(1);
                *n
            }
            Err(_) => 1,
        };
        backoff(n)
    }
}

/// Exponential backoff for the `n`th consecutive failure (n >= 1).
pub fn backoff(n: u32) -> Duration {
    let factor = 1u32
        .checked_shl(n.saturating_sub(1).min(16))
        .unwrap_or(u32::MAX);
    BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_MAX)
}

/// One reconcile: the endpoint's grants, or their cleanup once it is deleted.
pub async fn reconcile(ep: Arc<McpEndpoint>, ctx: Arc<Context>) -> Result<Action> {
    // Until the watches have listed everything, "not in the store" means nothing.
    ctx.caches.ready().await;
    // Bounds the requests a burst of creates sends at once, over every
    // watched namespace's controller together (kube-runtime's own bound,
    // controller::Config::concurrency, set too, is per controller).
    let _permit = ctx.permits.acquire().await;
    let _timer = ctx.metrics.start();
    let obj = ObjectRef::from_obj(ep.as_ref());
    let action = if ep.metadata.deletion_timestamp.is_some() {
        // Without the finalizer, the garbage collector takes everything.
        if finalizer::held(&ep) {
            cleanup(&ep, &ctx).await?;
            patch_finalizers(&ep, finalizer::remove(&ep), &ctx).await?;
        }
        Action::await_change()
    } else {
        apply_endpoint(&ep, &ctx).await?
    };
    ctx.reset_backoff(&obj);
    Ok(action)
}

/// Applies a finalizer patch ([`finalizer::add`], [`finalizer::remove`]), if there is one.
async fn patch_finalizers(
    ep: &McpEndpoint,
    patch: Option<serde_json::Value>,
    ctx: &Context,
) -> Result<()> {
    if let Some(ops) = patch {
        let patch: json_patch::Patch = serde_json::from_value(ops).map_err(Error::Serialize)?;
        let api: Api<McpEndpoint> = Api::namespaced(ctx.client.clone(), &names::namespace(ep));
        api.patch(
            &ep.name_any(),
            &PatchParams::default(),
            &Patch::<()>::Json(patch),
        )
        .await?;
    }
    Ok(())
}

/// The error policy: count, log, and back off exponentially per object.
pub fn error_policy(ep: Arc<McpEndpoint>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failed(err.metric_label());
    let delay = ctx.next_backoff(ObjectRef::from_obj(ep.as_ref()));
    warn!(endpoint = %status::describe(&ep), error = %err, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn apply_endpoint(ep: &McpEndpoint, ctx: &Context) -> Result<Action> {
    let grant = match guard::evaluate(ep, &ctx.config) {
        Ok(grant) => grant,
        Err(refusal) => return refuse(ep, &refusal, ctx).await,
    };
    let token = match token_source(ep, ctx).await? {
        Ok(token) => token,
        Err(refusal) => return refuse(ep, &refusal, ctx).await,
    };
    // On the heap: the pass's future is large (a dozen applies), and a
    // caller awaiting reconcile inline would hold it on its stack.
    match Box::pin(grant_endpoint(ep, &grant, token, ctx)).await {
        Err(Error::NameConflict(conflict)) => {
            warn!(endpoint = %status::describe(ep), object = %conflict.object(), "name conflict: not taking over an object the endpoint did not create");
            refuse(ep, &Refusal::NameConflict(conflict.message()), ctx).await
        }
        other => other,
    }
}

/// Takes away everything a refused endpoint was granted or runs; objects it
/// does not own are never touched.
async fn refuse(ep: &McpEndpoint, refusal: &Refusal, ctx: &Context) -> Result<Action> {
    let client = &ctx.client;
    let ns = names::namespace(ep);
    apply::revoke_rbac(client, &ctx.caches, ep).await?;
    apply::delete_owned(
        &ctx.caches,
        &Api::<Deployment>::namespaced(client.clone(), &ns),
        &names::base(ep),
        ep,
    )
    .await?;
    let new = status::compute(ep, &Outcome::Refused(refusal), now());
    write_status(ep, new, ctx).await?;
    // Nothing is deployed (status.verified is gone): verify afresh once granted again.
    ctx.forget(&ObjectRef::from_obj(ep));
    Ok(Action::requeue(REQUEUE))
}

/// What the operator could read of the token clients must send.
#[derive(Debug, Default)]
struct Token {
    value: Option<String>,
    /// Why the referenced Secret cannot serve (missing Secret or key).
    problem: Option<String>,
}

/// The referenced token Secret (`spec.auth.tokenSecretRef`), read only after
/// its metadata shows it opted in; None for a generated token.
async fn token_source(ep: &McpEndpoint, ctx: &Context) -> Result<Result<Option<Token>, Refusal>> {
    if !secret::is_referenced(ep) {
        return Ok(Ok(None));
    }
    let ns = names::namespace(ep);
    let (name, key) = secret::token_source(ep);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let missing = || Token {
        value: None,
        problem: Some(format!(
            "Secret {ns}/{name} (spec.auth.tokenSecretRef) not found"
        )),
    };
    let Some(meta) = secrets.get_metadata_opt(&name).await? else {
        return Ok(Ok(Some(missing())));
    };
    if let Some(why) = secret::not_opted_in(ep, &meta.metadata) {
        return Ok(Err(Refusal::TokenSecretNotAllowed(why)));
    }
    let Some(s) = secrets.get_opt(&name).await? else {
        return Ok(Ok(Some(missing())));
    };
    // Relabelled between the two reads: the object read decides, and its value goes unused.
    if let Some(why) = secret::not_opted_in(ep, &s.metadata) {
        return Ok(Err(Refusal::TokenSecretNotAllowed(why)));
    }
    let token = if s.data.as_ref().is_some_and(|d| d.contains_key(&key)) {
        Token {
            value: secret_value(&s, &key),
            problem: None,
        }
    } else {
        Token {
            value: None,
            problem: Some(format!(
                "Secret {ns}/{name} has no key {key:?} (spec.auth.tokenSecretRef.key)"
            )),
        }
    };
    Ok(Ok(Some(token)))
}

/// Every child of a granted endpoint, each checked for ownership before any is written.
struct Children {
    service_account: Checked<ServiceAccount>,
    token: Option<Checked<Secret>>,
    roles: Vec<(Checked<Role>, Checked<RoleBinding>)>,
    cluster_role: Option<(Checked<ClusterRole>, Checked<ClusterRoleBinding>)>,
    deployment: Checked<Deployment>,
    service: Checked<Service>,
    network_policy: Option<Checked<NetworkPolicy>>,
}

/// Builds the children and reads the live object of each name; a name held
/// by an object the endpoint does not own fails the whole pass (NameConflict)
/// before anything is written.
async fn plan(ep: &McpEndpoint, grant: &Grant, ctx: &Context) -> Result<Children> {
    let client = &ctx.client;
    let caches = &ctx.caches;
    let ns = names::namespace(ep);
    let service_account = apply::fetch(
        caches,
        &Api::<ServiceAccount>::namespaced(client.clone(), &ns),
        rbac::service_account(ep),
    )
    .await?;
    let token = if secret::is_referenced(ep) {
        None
    } else {
        // Checked before its token is read: someone else's `<name>-token` is never used.
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let name = names::token_secret(ep);
        let mut existing = apply::live(caches, &secrets, Some(&ns), &name).await?;
        // The store can lag this operator's own last write (a watch stalls while
        // etcd does): a token is made only when the API server agrees one is due.
        if secret::makes_fresh(ep, existing.as_ref()) {
            existing = secrets.get_opt(&name).await?;
        }
        let owned = |s: &Secret| {
            let ours = Claim::Reference(ep.uid().unwrap_or_default());
            ownership::holds(&ours, &ownership::Marks::of(s.meta()))
        };
        if let Some(s) = existing.as_ref().filter(|s| !owned(s)) {
            return Err(Error::NameConflict(ownership::Conflict {
                kind: "Secret".into(),
                namespace: s.namespace(),
                name: s.name_any(),
            }));
        }
        let desired = secret::token_secret(ep, existing.as_ref(), secret::generate_token)?;
        desired.map(|d| Checked::new(d, existing)).transpose()?
    };
    let mut roles = vec![];
    for (role, binding) in rbac::roles(ep, grant) {
        let rns = role.metadata.namespace.clone().unwrap_or_default();
        let role =
            apply::fetch(caches, &Api::<Role>::namespaced(client.clone(), &rns), role).await?;
        let binding = apply::fetch(
            caches,
            &Api::<RoleBinding>::namespaced(client.clone(), &rns),
            binding,
        )
        .await?;
        roles.push((role, binding));
    }
    let cluster_role = match rbac::cluster_role(ep, grant) {
        Some((cr, crb)) => Some((
            apply::fetch(caches, &Api::<ClusterRole>::all(client.clone()), cr).await?,
            apply::fetch(caches, &Api::<ClusterRoleBinding>::all(client.clone()), crb).await?,
        )),
        None => None,
    };
    let deployment = apply::fetch(
        caches,
        &Api::<Deployment>::namespaced(client.clone(), &ns),
        deployment::deployment(ep, grant, &ctx.config),
    )
    .await?;
    let service = apply::fetch(
        caches,
        &Api::<Service>::namespaced(client.clone(), &ns),
        service::service(ep),
    )
    .await?;
    let network_policy = match network_policy::network_policy(ep, &ctx.config) {
        Some(np) => {
            let api = Api::<NetworkPolicy>::namespaced(client.clone(), &ns);
            Some(apply::fetch(caches, &api, np).await?)
        }
        None => None,
    };
    Ok(Children {
        service_account,
        token,
        roles,
        cluster_role,
        deployment,
        service,
        network_policy,
    })
}

/// One granted pass, in phases: check every child's name, apply the
/// children ([`apply_children`]), prune what the endpoint no longer causes,
/// verify over MCP, write the status.
async fn grant_endpoint(
    ep: &McpEndpoint,
    grant: &Grant,
    referenced: Option<Token>,
    ctx: &Context,
) -> Result<Action> {
    let children = plan(ep, grant, ctx).await?;
    // Before any grant the garbage collector cannot revoke is written. Once
    // held, it stays until the endpoint is deleted: a grant the scope no
    // longer covers may be pruned from a cache that has not yet seen it.
    if children.reaches_outside(&names::namespace(ep)) {
        patch_finalizers(ep, finalizer::add(ep), ctx).await?;
    }
    let template = pod_template(&children.deployment)?;
    let mut seen = children.observed();
    let generated = children.token.is_some();
    let applied = apply::ChildSet::default();
    let (value, deploy) = apply_children(ep, children, &applied, ctx).await?;
    let token = if generated {
        value
    } else {
        let t = referenced.unwrap_or_default();
        seen.token_problem = t.problem;
        t.value
    };
    if let Some(st) = &deploy.status {
        seen.available_replicas = st.available_replicas.unwrap_or(0);
        seen.ready_replicas = st.ready_replicas.unwrap_or(0);
    }
    // Everything else the endpoint caused goes: Roles in namespaces the scope
    // no longer covers, the NetworkPolicy when policies are off, the
    // ServiceAccount named like the endpoint that earlier versions ran as.
    applied.prune(&ctx.client, &ctx.caches, ep).await?;

    let pass = verify_pass(
        ep,
        grant,
        &template,
        token.as_deref(),
        status::rolled_out(&deploy),
        &seen,
        ctx,
    );
    seen.verification = pass.verification;
    let new = status::compute(ep, &Outcome::Granted(grant, seen), now());
    write_status(ep, new, ctx).await?;
    if !pass.keep {
        ctx.remember_verified(
            ObjectRef::from_obj(ep),
            pass.fingerprint.filter(|_| pass.matched),
        );
    }
    if let Some(e) = pass.failure {
        return Err(e.into());
    }
    Ok(Action::requeue(REQUEUE))
}

impl Children {
    /// Whether a grant lies outside `home`, where no owner reference reaches.
    fn reaches_outside(&self, home: &str) -> bool {
        let roles = self
            .roles
            .iter()
            .map(|(r, _)| r.desired().metadata.namespace.as_deref());
        let cluster = self.cluster_role.iter().map(|_| None);
        finalizer::needed(home, roles.chain(cluster))
    }

    /// What the status reports of the grant itself: the rules and where they are held.
    fn observed(&self) -> Observed {
        let rules = |r: Option<&Vec<_>>| r.map_or(0, Vec::len);
        // Every Role holds the same rules (one per namespace of the scope).
        Observed {
            roles: self.roles.len(),
            rules: self
                .roles
                .last()
                .map_or(0, |(r, _)| rules(r.desired().rules.as_ref()))
                + self
                    .cluster_role
                    .as_ref()
                    .map_or(0, |(cr, _)| rules(cr.desired().rules.as_ref())),
            cluster_roles: usize::from(self.cluster_role.is_some()),
            ..Observed::default()
        }
    }
}

/// Applies the children in three waves, each wave's writes at once (a new
/// endpoint's reconcile waits for three round trips, not eight):
/// 1. what refers to nothing of ours: the ServiceAccount, the token, the
///    Roles, the ClusterRole, the Service, the NetworkPolicy;
/// 2. the bindings, so none refers to a Role not yet there;
/// 3. the Deployment, so no pod of a new template starts before its
///    ServiceAccount, token, grant and NetworkPolicy exist.
///
/// The generated token's value (None for a referenced token) and the applied Deployment.
async fn apply_children(
    ep: &McpEndpoint,
    c: Children,
    applied: &apply::ChildSet,
    ctx: &Context,
) -> Result<(Option<String>, Deployment)> {
    let client = &ctx.client;
    let (roles, bindings): (Vec<_>, Vec<_>) = c.roles.into_iter().unzip();
    let (cluster_role, cluster_binding) = c.cluster_role.unzip();
    let token = c.token;
    let (_, token, _, _, _, _) = futures::try_join!(
        applied.apply_in(client, c.service_account),
        async {
            match token {
                Some(s) => apply_token(ep, s, ctx).await,
                None => Ok(None),
            }
        },
        futures::future::try_join_all(roles.into_iter().map(|r| applied.apply_in(client, r))),
        applied.apply_opt(client, cluster_role),
        applied.apply_in(client, c.service),
        applied.apply_opt(client, c.network_policy),
    )?;
    futures::try_join!(
        futures::future::try_join_all(bindings.into_iter().map(|b| applied.apply_in(client, b))),
        applied.apply_opt(client, cluster_binding),
    )?;
    let deploy = applied.apply_in(client, c.deployment).await?;
    Ok((token, deploy))
}

/// Applies a generated token Secret (kept across reconciles); its value.
async fn apply_token(
    ep: &McpEndpoint,
    s: Checked<Secret>,
    ctx: &Context,
) -> Result<Option<String>> {
    let rotated = s.live().is_some_and(|l| l.data != s.desired().data);
    let value = secret_value(s.desired(), names::TOKEN_KEY);
    let secrets = Api::<Secret>::namespaced(ctx.client.clone(), &names::namespace(ep));
    apply::apply(&secrets, s).await?;
    if rotated {
        info!(endpoint = %status::describe(ep), "auth token rotated");
        publish(
            ctx,
            ep,
            false,
            "TokenRotated",
            "the generated auth token was rotated".into(),
        );
    }
    Ok(value)
}

/// The pod template the verification fingerprint covers (a change re-verifies).
fn pod_template(deployment: &Checked<Deployment>) -> Result<serde_json::Value> {
    serde_json::to_value(deployment.desired().spec.as_ref().map(|s| &s.template))
        .map_err(Error::Serialize)
}

/// What this pass's MCP verification found, and what to remember of it.
struct VerifyPass {
    verification: Verification,
    /// What the verification covered (pod template and token).
    fingerprint: Option<String>,
    /// Advertised exactly the granted tools.
    matched: bool,
    /// Nothing it depends on changed: the last result stands.
    keep: bool,
    failure: Option<VerifyError>,
}

/// Verifies over MCP through the Service, only when something it depends on
/// changed; the probe itself runs off the reconcile path (the verifier).
fn verify_pass(
    ep: &McpEndpoint,
    grant: &Grant,
    template: &serde_json::Value,
    token: Option<&str>,
    rolled_out: bool,
    seen: &Observed,
    ctx: &Context,
) -> VerifyPass {
    let cfg = &ctx.config;
    let obj = ObjectRef::from_obj(ep);
    let fingerprint = token.map(|t| verify::fingerprint(template, t));
    let verification = match (&fingerprint, &seen.token_problem) {
        _ if !cfg.verify || !verify::possible(ep) => Verification::Disabled,
        (_, Some(problem)) => Verification::NotAvailable(problem.clone()),
        (None, None) => Verification::NotAvailable("the auth token is empty".into()),
        _ if !rolled_out => {
            Verification::NotAvailable("waiting for the server Deployment to roll out".into())
        }
        (Some(f), None) if ctx.verified_fingerprint(&obj).as_ref() == Some(f) => {
            Verification::Unchanged
        }
        (Some(f), None) => {
            let (ep, token) = (ep.clone(), token.unwrap_or_default().to_string());
            let (tools, cfg, metrics) = (grant.tool_names(), cfg.clone(), ctx.metrics.clone());
            ctx.verifier.result(&obj, f, move || async move {
                probe::probe(&ep, &token, &tools, &cfg, &metrics).await
            })
        }
    };
    let failure = match &verification {
        Verification::Unreachable(why) => Some(VerifyError::Unreachable(why.clone())),
        Verification::Advertised(server) => {
            let diff = status::tool_diff(&grant.tool_names(), &server.tools);
            (!diff.is_empty()).then(|| VerifyError::ToolsMismatch(diff.message()))
        }
        _ => None,
    };
    VerifyPass {
        matched: matches!(verification, Verification::Advertised(_)) && failure.is_none(),
        keep: matches!(verification, Verification::Unchanged),
        verification,
        fingerprint,
        failure,
    }
}

/// The value of `key` in a Secret, trimmed as the server trims its token file.
fn secret_value(s: &Secret, key: &str) -> Option<String> {
    let bytes = &s.data.as_ref()?.get(key)?.0;
    let text = String::from_utf8_lossy(bytes).trim().to_string();
    (!text.is_empty()).then_some(text)
}

async fn cleanup(ep: &McpEndpoint, ctx: &Context) -> Result<()> {
    info!(endpoint = %status::describe(ep), "endpoint deleted: revoking its grants");
    apply::revoke_rbac(&ctx.client, &ctx.caches, ep).await?;
    ctx.forget(&ObjectRef::from_obj(ep));
    Ok(())
}

/// Revokes the grants of an endpoint that went away without the finalizer,
/// as soon as the watch reports it. The garbage collector would take its
/// Role and RoleBinding too, but late: it watches a kind only from its next
/// discovery sync (every 30 s) after the CRD is installed, it falls behind
/// under load, and `propagationPolicy: Orphan` tells it to keep them. Rights
/// must not outlive the endpoint; the rest (Deployment, Service, token
/// Secret) holds none and is left to the collector and the delete's policy.
async fn revoke_deleted(ep: McpEndpoint, ctx: Arc<Context>) {
    ctx.caches.ready().await;
    for attempt in 1..=REVOKE_ATTEMPTS {
        let result = {
            let _permit = ctx.permits.acquire().await;
            cleanup(&ep, &ctx).await
        };
        match result {
            Ok(()) => return,
            Err(e) if attempt < REVOKE_ATTEMPTS => {
                debug!(endpoint = %status::describe(&ep), error = %e, attempt, "revoking a deleted endpoint's grants failed: retrying");
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => {
                warn!(endpoint = %status::describe(&ep), error = %e, "revoking a deleted endpoint's grants failed: the garbage collector removes its Role and RoleBinding unless the delete orphaned them");
            }
        }
    }
}

/// Tries over about a minute (1 + 2 + 4 + 8 + 16 + 32 s between them).
const REVOKE_ATTEMPTS: u32 = 7;

fn now() -> Time {
    Time(jiff::Timestamp::now())
}

async fn write_status(ep: &McpEndpoint, new: McpEndpointStatus, ctx: &Context) -> Result<()> {
    let old = ep.status.as_ref();
    if old == Some(&new) {
        debug!(endpoint = %status::describe(ep), "status unchanged");
        return Ok(());
    }
    let api: Api<McpEndpoint> = Api::namespaced(ctx.client.clone(), &names::namespace(ep));
    let body = serde_json::json!({
        "apiVersion": McpEndpoint::api_version(&()),
        "kind": McpEndpoint::kind(&()),
        "status": new,
    });
    api.patch_status(&ep.name_any(), &apply::apply_params(), &Patch::Apply(&body))
        .await?;
    if let Some((warning, reason, note)) = status::transition(old, &new) {
        info!(endpoint = %status::describe(ep), %reason, "Ready changed");
        publish(ctx, ep, warning, &reason, note);
    }
    if let Some(note) = status::dropped_transition(old, &new) {
        publish(ctx, ep, true, status::TOOLS_DROPPED, note);
    }
    Ok(())
}

/// Queues an Event; failures are logged, never fatal.
fn publish(ctx: &Context, ep: &McpEndpoint, warning: bool, reason: &str, note: String) {
    let ev = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.into(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    ctx.events.publish(ev, ep.object_ref(&()));
}

/// Who writes the operator's Events.
fn reporter() -> Reporter {
    Reporter {
        controller: FIELD_MANAGER.into(),
        instance: std::env::var("POD_NAME").ok(),
    }
}

/// Fails with a clear message when the CRD is not installed.
pub async fn check_crd(client: &Client) -> Result<(), String> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    match crds.get_opt(CRD_NAME).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(format!(
                "the CustomResourceDefinition {CRD_NAME} is not installed; install it with \
                 `kube-mcp-operator crd | kubectl apply --server-side -f -` (or kubectl apply -f crds/)"
            ));
        }
        Err(e) => {
            return Err(format!(
                "cannot read CustomResourceDefinition {CRD_NAME}: {e}"
            ));
        }
    }
    // Installed together with the operator (one `kubectl apply`, one Helm
    // release), the CRD can exist for a moment before it is served.
    if !crd_established(&crds, CRD_ESTABLISH_WAIT).await {
        return Err(format!(
            "the CustomResourceDefinition {CRD_NAME} is not Established after {}s; \
             see `kubectl describe crd {CRD_NAME}`",
            CRD_ESTABLISH_WAIT.as_secs()
        ));
    }
    let eps: Api<McpEndpoint> = Api::all(client.clone());
    eps.list(&ListParams::default().limit(1))
        .await
        .map_err(|e| {
            format!("cannot list McpEndpoints (is the CRD established, is RBAC granted?): {e}")
        })?;
    Ok(())
}

const CRD_ESTABLISH_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether the CRD reaches Established within `wait`.
async fn crd_established(crds: &Api<CustomResourceDefinition>, wait: std::time::Duration) -> bool {
    let cond = kube::runtime::wait::await_condition(
        crds.clone(),
        CRD_NAME,
        kube::runtime::wait::conditions::is_crd_established(),
    );
    matches!(tokio::time::timeout(wait, cond).await, Ok(Ok(_)))
}

/// Installs or updates the CRD with server-side apply and waits until it is
/// served (tests, `--install-crd`-style tooling).
pub async fn install_crd(client: &Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    apply::apply(
        &crds,
        apply::fetch_live(&crds, crate::crd::definition()).await?,
    )
    .await?;
    crd_established(&crds, CRD_ESTABLISH_WAIT).await;
    Ok(())
}

/// Runs one controller per watched scope until `shutdown` is cancelled. A
/// context's controllers run once: a second call finds no triggers.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let requests = match ctx.requests.lock() {
        Ok(mut r) => std::mem::take(&mut *r),
        Err(_) => vec![],
    };
    let controllers = requests
        .into_iter()
        .map(|(ns, rx)| run_one(ctx.clone(), ns, rx, shutdown.clone()));
    futures::future::join_all(controllers).await;
}

async fn run_one(
    ctx: Arc<Context>,
    ns: Option<String>,
    requests: mpsc::UnboundedReceiver<ObjectRef<McpEndpoint>>,
    shutdown: CancellationToken,
) {
    let client = ctx.client.clone();
    let ns = ns.as_deref();
    info!(
        namespace = ns.unwrap_or("*"),
        concurrency = ctx.config.concurrency,
        "starting the McpEndpoint controller"
    );
    let (store, writer) = reflector::store();
    let endpoints = watcher(
        scoped::<McpEndpoint>(&client, ns),
        watcher::Config::default().any_semantic(),
    )
    // Server bookkeeping we never read, as for the children (cache.rs).
    .modify(|ep: &mut McpEndpoint| ep.managed_fields_mut().clear())
    .reflect(writer)
    .inspect_ok({
        let ctx = ctx.clone();
        move |event| {
            if let watcher::Event::Delete(ep) = event {
                ctx.forget(&ObjectRef::from_obj(ep));
                // A finalizer's holder was cleaned up before it went away.
                if !finalizer::held(ep) {
                    tokio::spawn(revoke_deleted(ep.clone(), ctx.clone()));
                }
            }
        }
    })
    .applied_objects();
    let controller = Controller::for_stream(endpoints, store.clone())
        // Unbounded, the controller spawns a task for every endpoint due (a
        // burst of 1,000 creates: ~3,000 tasks, 3.5 MiB, waiting on
        // `Context::permits`); bounded, the rest wait in its queue as references.
        .with_config(controller::Config::default().concurrency(ctx.config.concurrency))
        // The children's watches (created, changed or deleted: see cache.rs) and
        // finished MCP probes ask for their endpoint's reconcile.
        .reconcile_on(UnboundedReceiverStream::new(requests));
    controller
        // Secrets: the generated token (owner labels) and referenced ones (tokenSecretRef).
        .watches(
            scoped::<PartialObjectMeta<Secret>>(&client, ns),
            watcher::Config::default(),
            move |s: PartialObjectMeta<Secret>| {
                let sns = s.namespace().unwrap_or_default();
                let sname = s.name_any();
                let mut out: Vec<ObjectRef<McpEndpoint>> =
                    crate::cache::owner(&s).into_iter().collect();
                for ep in store.state() {
                    let refs = ep
                        .spec
                        .auth
                        .as_ref()
                        .and_then(|a| a.token_secret_ref.as_ref())
                        .is_some_and(|r| r.name == sname);
                    if refs && ep.namespace().as_deref() == Some(sns.as_str()) {
                        out.push(ObjectRef::from_obj(ep.as_ref()));
                    }
                }
                out
            },
        )
        .graceful_shutdown_on(async move { shutdown.cancelled().await })
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => debug!(endpoint = %obj, "reconciled"),
                Err(e) => debug!(error = %e, "controller event"),
            }
        })
        .await;
    info!("controller stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(20), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
