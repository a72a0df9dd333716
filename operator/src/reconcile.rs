//! The reconciler: the only module that talks to the API server.
//!
//! Fetch, call the pure builders, server-side apply with one field manager,
//! prune what is no longer wanted, write status, publish Events on transitions.

use crate::config::Config;
use crate::crd::VerifiedServer;
use crate::crd::{CRD_NAME, McpEndpoint, McpEndpointStatus};
use crate::error::{BuildError, Error, Result, VerifyError};
use crate::guard::{self, Grant, Refusal};
use crate::metrics::Metrics;
use crate::names::{FIELD_MANAGER, FINALIZER};
use crate::status::{self, Observed, Outcome, Verification};
use crate::{deployment, drift, labels, names, network_policy, rbac, secret, service, verify};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DeleteParams, ListParams, PartialObjectMeta, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, CustomResourceExt, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// Consecutive failures per endpoint; reset on success.
    pub failures: Mutex<HashMap<ObjectRef<McpEndpoint>, u32>>,
    /// Fingerprint ([`verify::fingerprint`]) of each endpoint's last verification
    /// that matched and was recorded in its status.
    pub verified: Mutex<HashMap<ObjectRef<McpEndpoint>, String>>,
}

impl Context {
    pub fn new(client: Client, config: Config, metrics: Arc<Metrics>) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
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

fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// The one apply path for every child: server-side apply, skipped (a read
/// instead of a write) when the live object already is what we would apply.
async fn apply<K>(api: &Api<K>, obj: &K) -> Result<K>
where
    K: Resource + Serialize + DeserializeOwned + Clone + Debug,
{
    let name = obj
        .meta()
        .name
        .clone()
        .ok_or(BuildError::MissingField("metadata.name"))?;
    let fingerprint = drift::fingerprint(&serde_json::to_value(obj).map_err(Error::Serialize)?);
    let mut obj = obj.clone();
    obj.meta_mut()
        .annotations
        .get_or_insert_default()
        .insert(drift::APPLIED.to_string(), fingerprint.clone());
    if let Some(live) = api.get_opt(&name).await? {
        let desired = serde_json::to_value(&obj).map_err(Error::Serialize)?;
        let live_value = serde_json::to_value(&live).map_err(Error::Serialize)?;
        if drift::up_to_date(&live_value, &desired, &fingerprint) {
            return Ok(live);
        }
    }
    Ok(api
        .patch(&name, &apply_params(), &Patch::Apply(&obj))
        .await?)
}

async fn delete<K>(api: &Api<K>, name: &str) -> Result<()>
where
    K: Resource + DeserializeOwned + Clone + Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// An Api for a namespaced kind in `ns`, or for a cluster-scoped kind (`ns` None).
trait ApiFor: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug + Sized {
    fn api_for(client: &Client, ns: Option<&str>) -> Api<Self>;
}

macro_rules! namespaced_api_for {
    ($($k:ty),*) => {$(
        impl ApiFor for $k {
            fn api_for(client: &Client, ns: Option<&str>) -> Api<Self> {
                Api::namespaced(client.clone(), ns.unwrap_or_default())
            }
        }
    )*};
}
macro_rules! cluster_api_for {
    ($($k:ty),*) => {$(
        impl ApiFor for $k {
            fn api_for(client: &Client, _: Option<&str>) -> Api<Self> {
                Api::all(client.clone())
            }
        }
    )*};
}
namespaced_api_for!(Role, RoleBinding);
cluster_api_for!(ClusterRole, ClusterRoleBinding);

/// Deletes every object of kind K (all namespaces, or cluster-scoped) caused by `ep`
/// whose (namespace, name) is not in `keep`.
async fn prune<K: ApiFor>(
    client: &Client,
    ep: &McpEndpoint,
    keep: &BTreeSet<(String, String)>,
) -> Result<()> {
    let all: Api<K> = Api::all(client.clone());
    let lp = ListParams::default().labels(&labels::owner_selector(
        &names::namespace(ep),
        &names::base(ep),
    ));
    for o in all.list_metadata(&lp).await? {
        let key = (o.namespace().unwrap_or_default(), o.name_any());
        if keep.contains(&key) {
            continue;
        }
        let api = K::api_for(client, o.namespace().as_deref());
        info!(endpoint = %status::describe(ep), kind = %K::kind(&()), ns = %key.0, name = %key.1, "removing object no longer granted");
        delete(&api, &key.1).await?;
    }
    Ok(())
}

/// Removes every grant of `ep` (Roles, RoleBindings, ClusterRole, ClusterRoleBinding).
async fn revoke_rbac(client: &Client, ep: &McpEndpoint) -> Result<()> {
    let none = BTreeSet::new();
    prune::<RoleBinding>(client, ep, &none).await?;
    prune::<Role>(client, ep, &none).await?;
    prune::<ClusterRoleBinding>(client, ep, &none).await?;
    prune::<ClusterRole>(client, ep, &none).await?;
    Ok(())
}

/// One reconcile, wrapped in the finalizer.
pub async fn reconcile(ep: Arc<McpEndpoint>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.start();
    let ns = names::namespace(&ep);
    let api: Api<McpEndpoint> = Api::namespaced(ctx.client.clone(), &ns);
    let obj = ObjectRef::from_obj(ep.as_ref());
    let action = finalizer(&api, FINALIZER, ep, |event| async {
        match event {
            Finalizer::Apply(ep) => apply_endpoint(&ep, &ctx).await,
            Finalizer::Cleanup(ep) => cleanup(&ep, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))?;
    ctx.reset_backoff(&obj);
    Ok(action)
}

/// The error policy: count, log, and back off exponentially per object.
pub fn error_policy(ep: Arc<McpEndpoint>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failed(err.metric_label());
    let delay = ctx.next_backoff(ObjectRef::from_obj(ep.as_ref()));
    warn!(endpoint = %status::describe(&ep), error = %err, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn apply_endpoint(ep: &McpEndpoint, ctx: &Context) -> Result<Action> {
    match guard::evaluate(ep, &ctx.config) {
        Ok(grant) => grant_endpoint(ep, &grant, ctx).await,
        Err(refusal) => refuse(ep, &refusal, ctx).await,
    }
}

async fn refuse(ep: &McpEndpoint, refusal: &Refusal, ctx: &Context) -> Result<Action> {
    let client = &ctx.client;
    let ns = names::namespace(ep);
    revoke_rbac(client, ep).await?;
    delete::<Deployment>(&Api::namespaced(client.clone(), &ns), &names::base(ep)).await?;
    let new = status::compute(ep, &Outcome::Refused(refusal), now());
    write_status(ep, new, ctx).await?;
    // Nothing is deployed (status.verified is gone): verify afresh once granted again.
    ctx.remember_verified(ObjectRef::from_obj(ep), None);
    Ok(Action::requeue(REQUEUE))
}

async fn grant_endpoint(ep: &McpEndpoint, grant: &Grant, ctx: &Context) -> Result<Action> {
    let client = &ctx.client;
    let cfg = &ctx.config;
    let ns = names::namespace(ep);
    let mut seen = Observed::default();

    apply(
        &Api::<ServiceAccount>::namespaced(client.clone(), &ns),
        &rbac::service_account(ep),
    )
    .await?;

    // Token: generated (kept across reconciles) or referenced (checked).
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let existing = secrets.get_opt(&names::token_secret(ep)).await?;
    let mut token: Option<String> = None;
    match secret::token_secret(ep, existing.as_ref(), secret::generate_token)? {
        Some(s) => {
            let rotated = existing.as_ref().is_some_and(|e| e.data != s.data);
            apply(&secrets, &s).await?;
            token = secret_value(&s, names::TOKEN_KEY);
            if rotated {
                info!(endpoint = %status::describe(ep), "auth token rotated");
                publish(
                    ctx,
                    ep,
                    false,
                    "TokenRotated",
                    "the generated auth token was rotated".into(),
                )
                .await;
            }
        }
        None => {
            let (name, key) = secret::token_source(ep);
            seen.token_problem = match secrets.get_opt(&name).await? {
                None => Some(format!(
                    "Secret {ns}/{name} (spec.auth.tokenSecretRef) not found"
                )),
                Some(s) if !s.data.as_ref().is_some_and(|d| d.contains_key(&key)) => Some(format!(
                    "Secret {ns}/{name} has no key {key:?} (spec.auth.tokenSecretRef.key)"
                )),
                Some(s) => {
                    token = secret_value(&s, &key);
                    None
                }
            };
        }
    }

    // RBAC: Roles before their bindings; prune what the scope no longer covers.
    let roles = rbac::roles(ep, grant);
    let mut keep = BTreeSet::new();
    for (role, binding) in &roles {
        let rns = role.metadata.namespace.clone().unwrap_or_default();
        apply(&Api::<Role>::namespaced(client.clone(), &rns), role).await?;
        apply(
            &Api::<RoleBinding>::namespaced(client.clone(), &rns),
            binding,
        )
        .await?;
        keep.insert((rns, role.name_any()));
        seen.rules = role.rules.as_ref().map_or(0, Vec::len);
    }
    seen.roles = roles.len();
    prune::<RoleBinding>(client, ep, &keep).await?;
    prune::<Role>(client, ep, &keep).await?;
    let mut keep_cluster = BTreeSet::new();
    if let Some((cr, crb)) = rbac::cluster_role(ep, grant) {
        apply(&Api::<ClusterRole>::all(client.clone()), &cr).await?;
        apply(&Api::<ClusterRoleBinding>::all(client.clone()), &crb).await?;
        keep_cluster.insert((String::new(), cr.name_any()));
        seen.rules += cr.rules.as_ref().map_or(0, Vec::len);
        seen.cluster_roles = 1;
    }
    prune::<ClusterRoleBinding>(client, ep, &keep_cluster).await?;
    prune::<ClusterRole>(client, ep, &keep_cluster).await?;

    // Workload and exposure.
    let desired = deployment::deployment(ep, grant, cfg);
    let deploy = apply(
        &Api::<Deployment>::namespaced(client.clone(), &ns),
        &desired,
    )
    .await?;
    let rolled_out = status::rolled_out(&deploy);
    if let Some(st) = &deploy.status {
        seen.available_replicas = st.available_replicas.unwrap_or(0);
        seen.ready_replicas = st.ready_replicas.unwrap_or(0);
    }
    apply(
        &Api::<Service>::namespaced(client.clone(), &ns),
        &service::service(ep),
    )
    .await?;
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), &ns);
    match network_policy::network_policy(ep, cfg) {
        Some(np) => {
            apply(&policies, &np).await?;
        }
        None => delete(&policies, &names::base(ep)).await?,
    }

    // MCP verification through the Service, only when something it depends on changed.
    let obj = ObjectRef::from_obj(ep);
    let template = serde_json::to_value(desired.spec.as_ref().map(|s| &s.template))
        .map_err(Error::Serialize)?;
    let fingerprint = token.as_deref().map(|t| verify::fingerprint(&template, t));
    seen.verification = match (&fingerprint, &seen.token_problem) {
        _ if !cfg.verify => Verification::Disabled,
        (_, Some(problem)) => Verification::NotAvailable(problem.clone()),
        (None, None) => Verification::NotAvailable("the auth token is empty".into()),
        _ if !rolled_out => {
            Verification::NotAvailable("waiting for the server Deployment to roll out".into())
        }
        (Some(f), None) if ctx.verified_fingerprint(&obj).as_ref() == Some(f) => {
            Verification::Unchanged
        }
        (Some(_), None) => {
            probe(
                ep,
                token.as_deref().unwrap_or_default(),
                &grant.tool_names(),
                ctx,
            )
            .await
        }
    };
    let failure = match &seen.verification {
        Verification::Unreachable(why) => Some(VerifyError::Unreachable(why.clone())),
        Verification::Advertised(server) => {
            let diff = status::tool_diff(&grant.tool_names(), &server.tools);
            (!diff.is_empty()).then(|| VerifyError::ToolsMismatch(diff.message()))
        }
        _ => None,
    };
    let matched = matches!(seen.verification, Verification::Advertised(_)) && failure.is_none();
    let keep = matches!(seen.verification, Verification::Unchanged);

    let new = status::compute(ep, &Outcome::Granted(grant, seen), now());
    write_status(ep, new, ctx).await?;
    if !keep {
        ctx.remember_verified(obj, fingerprint.filter(|_| matched));
    }
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok(Action::requeue(REQUEUE))
}

/// The value of `key` in a Secret, trimmed as the server trims its token file.
fn secret_value(s: &Secret, key: &str) -> Option<String> {
    let bytes = &s.data.as_ref()?.get(key)?.0;
    let text = String::from_utf8_lossy(bytes).trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// One MCP initialize + tools/list against the endpoint's Service with its token.
async fn probe(ep: &McpEndpoint, token: &str, effective: &[String], ctx: &Context) -> Verification {
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(verify::TIMEOUT, ask(ep, token, &ctx.config)).await;
    let elapsed = started.elapsed();
    let verification = match outcome {
        Ok(Ok(server)) => Verification::Advertised(server),
        Ok(Err(why)) => Verification::Unreachable(why),
        Err(_) => Verification::Unreachable(format!("no answer within {:?}", verify::TIMEOUT)),
    };
    let result = match &verification {
        Verification::Advertised(s) if status::tool_diff(effective, &s.tools).is_empty() => {
            "tools_match"
        }
        Verification::Advertised(_) => "tools_mismatch",
        _ => "unreachable",
    };
    ctx.metrics.verified(result, elapsed.as_secs_f64());
    info!(endpoint = %status::describe(ep), result, latency = ?elapsed, "MCP verification");
    verification
}

async fn ask(ep: &McpEndpoint, token: &str, cfg: &Config) -> Result<VerifiedServer, String> {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let map = match &cfg.verify_address_map {
        Some(path) => {
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| format!("reading the address map {}: {e}", path.display()))?;
            let (map, bad) = verify::parse_address_map(&text);
            if !bad.is_empty() {
                warn!(path = %path.display(), lines = ?bad, "ignoring address map lines that are not host=ip:port");
            }
            map
        }
        None => verify::AddressMap::new(),
    };
    let target = verify::target(ep, &map);
    // The token goes to the Service host only: no redirects, no proxies.
    let mut http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(verify::TIMEOUT);
    if let Some(addr) = target.resolve {
        http = http.resolve(&target.host, addr);
    }
    let http = http.build().map_err(|e| e.to_string())?;
    let mut value = http::HeaderValue::from_str(token)
        .map_err(|_| "the token is not a valid header value".to_string())?;
    value.set_sensitive(true);
    let headers = HashMap::from([(http::HeaderName::from_static("x-mcp-auth"), value)]);
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(target.url.clone()).custom_headers(headers),
    );
    let service = ().serve(transport).await.map_err(|e| format!("initialize: {e}"))?;
    let info = service.peer_info().and_then(|i| {
        i.server_info
            .as_ref()
            .map(|s| (s.name.clone(), s.version.clone()))
    });
    let tools = service.list_all_tools().await;
    let _ = service.cancel().await;
    let tools = tools.map_err(|e| format!("tools/list: {e}"))?;
    let (server_name, server_version) = info.unwrap_or_default();
    Ok(VerifiedServer {
        server_name,
        server_version,
        tools: status::catalog_order(tools.into_iter().map(|t| t.name.to_string()).collect()),
    })
}

async fn cleanup(ep: &McpEndpoint, ctx: &Context) -> Result<Action> {
    info!(endpoint = %status::describe(ep), "endpoint deleted: removing cross-namespace and cluster-scoped grants");
    revoke_rbac(&ctx.client, ep).await?;
    ctx.remember_verified(ObjectRef::from_obj(ep), None);
    Ok(Action::await_change())
}

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
    api.patch_status(&ep.name_any(), &apply_params(), &Patch::Apply(&body))
        .await?;
    if let Some((warning, reason, note)) = status::transition(old, &new) {
        info!(endpoint = %status::describe(ep), %reason, "Ready changed");
        publish(ctx, ep, warning, &reason, note).await;
    }
    Ok(())
}

/// Publishes an Event; failures are logged, never fatal.
async fn publish(ctx: &Context, ep: &McpEndpoint, warning: bool, reason: &str, note: String) {
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
    if let Err(e) = ctx.recorder.publish(&ev, &ep.object_ref(&())).await {
        warn!(endpoint = %status::describe(ep), error = %e, "publishing an event failed");
    }
}

/// Maps an object to the endpoint its owner labels name.
fn by_owner_labels<K: Resource>(o: K) -> Option<ObjectRef<McpEndpoint>> {
    let (ns, name) = labels::owner_of(o.labels())?;
    Some(ObjectRef::new(&name).within(&ns))
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
    let eps: Api<McpEndpoint> = Api::all(client.clone());
    eps.list(&ListParams::default().limit(1))
        .await
        .map_err(|e| {
            format!("cannot list McpEndpoints (is the CRD established, is RBAC granted?): {e}")
        })?;
    Ok(())
}

/// Installs or updates the CRD with server-side apply (tests, `--install-crd`-style tooling).
pub async fn install_crd(client: &Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    apply(&crds, &McpEndpoint::crd()).await?;
    Ok(())
}

fn child_config() -> watcher::Config {
    watcher::Config::default().labels(&labels::managed_selector())
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let namespaces: Vec<Option<String>> = if ctx.config.watch_namespaces.is_empty() {
        vec![None]
    } else {
        ctx.config
            .watch_namespaces
            .iter()
            .cloned()
            .map(Some)
            .collect()
    };
    let controllers = namespaces
        .into_iter()
        .map(|ns| run_one(ctx.clone(), ns, shutdown.clone()));
    futures::future::join_all(controllers).await;
}

fn scoped<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn run_one(ctx: Arc<Context>, ns: Option<String>, shutdown: CancellationToken) {
    let client = ctx.client.clone();
    let ns = ns.as_deref();
    info!(
        namespace = ns.unwrap_or("*"),
        "starting the McpEndpoint controller"
    );
    let controller = Controller::new(
        scoped::<McpEndpoint>(&client, ns),
        watcher::Config::default().any_semantic(),
    );
    let store = controller.store();
    controller
        .owns(scoped::<Deployment>(&client, ns), child_config())
        .owns(scoped::<Service>(&client, ns), child_config())
        .owns(scoped::<ServiceAccount>(&client, ns), child_config())
        .owns(scoped::<NetworkPolicy>(&client, ns), child_config())
        // Roles and bindings may live in other namespaces, ClusterRoles nowhere: map by owner labels.
        .watches(
            Api::<Role>::all(client.clone()),
            child_config(),
            by_owner_labels,
        )
        .watches(
            Api::<RoleBinding>::all(client.clone()),
            child_config(),
            by_owner_labels,
        )
        .watches(
            Api::<ClusterRole>::all(client.clone()),
            child_config(),
            by_owner_labels,
        )
        .watches(
            Api::<ClusterRoleBinding>::all(client.clone()),
            child_config(),
            by_owner_labels,
        )
        // Secrets: the generated token (owner labels) and referenced ones (tokenSecretRef).
        .watches(
            scoped::<PartialObjectMeta<Secret>>(&client, ns),
            watcher::Config::default(),
            move |s: PartialObjectMeta<Secret>| {
                let sns = s.namespace().unwrap_or_default();
                let sname = s.name_any();
                let mut out: Vec<ObjectRef<McpEndpoint>> = by_owner_labels(s).into_iter().collect();
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
