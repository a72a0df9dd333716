//! What every fault scenario checks, during the run and after recovery:
//! no endpoint is ever granted more than some spec it had (SubjectAccessReviews
//! sampled throughout), every endpoint converges to its spec, no RBAC object
//! is left that no endpoint wants, and no generated token changes unless a
//! rotation was asked.

use crate::model::{Endpoint, Model, PROBES, Places, Probe, allows};
use crate::table::Scope;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use kube_mcp_operator::crd::McpEndpoint;
use kube_mcp_operator::{labels, names};
use kube_mcp_tests::access;
use sha2::Digest as _;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// SubjectAccessReviews in flight at once.
const CONCURRENCY: usize = 12;

/// Asks the API server whether the endpoint's ServiceAccount may do `p`.
pub async fn ask(client: &Client, places: &Places, ep: &Endpoint, p: &Probe) -> kube::Result<bool> {
    let namespace = match p.resource.2 {
        true => places.at(&ep.home, p.place),
        false => String::new(),
    };
    let req = access::Request {
        verb: p.verb,
        group: p.resource.0,
        resource: p.resource.1,
        namespace: &namespace,
    };
    let sa = format!("{}{}", names::SERVICE_ACCOUNT_PREFIX, ep.name);
    access::service_account_may(client, &ep.home, &sa, req).await
}

/// What the samplers saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub questions: u64,
    /// Questions the API server did not answer (it was down).
    pub unanswered: u64,
    /// Grants beyond every spec the endpoint had, one line each.
    pub over: Vec<String>,
    /// Digests of each endpoint's generated token, by endpoint name.
    pub tokens: BTreeMap<String, BTreeSet<String>>,
    pub token_reads: u64,
}

/// Samples grants and tokens in the background until stopped.
pub struct Samplers {
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    seen: Arc<Mutex<Seen>>,
}

impl Samplers {
    pub fn start(client: &Client, model: &Arc<Mutex<Model>>) -> Samplers {
        let stop = CancellationToken::new();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let tasks = vec![
            tokio::spawn(sample_grants(
                client.clone(),
                model.clone(),
                seen.clone(),
                stop.clone(),
            )),
            tokio::spawn(sample_tokens(
                client.clone(),
                model.clone(),
                seen.clone(),
                stop.clone(),
            )),
        ];
        Samplers { stop, tasks, seen }
    }

    pub async fn finish(self) -> Seen {
        self.stop.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Every 250 ms, every probe for up to 6 endpoints (round robin). An answer
/// is judged against the model read after it came back: shapes only grow,
/// so a spec sent while the question was in flight counts.
async fn sample_grants(
    client: Client,
    model: Arc<Mutex<Model>>,
    seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
) {
    let mut next = 0usize;
    // Bounded: an hour of rounds at most, even if never stopped.
    for _ in 0..14_400 {
        let (places, batch): (Places, Vec<usize>) = {
            let m = model.lock().unwrap();
            let n = m.endpoints.len();
            let batch = (0..n.min(6)).map(|k| (next + k) % n.max(1)).collect();
            next = next.wrapping_add(6);
            (m.places.clone(), batch)
        };
        // (endpoint, probe) by index, and owned handles per question: the
        // spawned sampler must be Send for every lifetime, which borrowed
        // captures in the stream are not.
        let questions: Vec<(usize, usize)> = batch
            .iter()
            .flat_map(|&i| (0..PROBES.len()).map(move |j| (i, j)))
            .collect();
        let places = Arc::new(places);
        let answers: Vec<(usize, &Probe, kube::Result<bool>)> = futures::stream::iter(questions)
            .map(|(i, j)| {
                let (client, places, model) = (client.clone(), places.clone(), model.clone());
                async move {
                    let ep = model.lock().unwrap().endpoints[i].clone();
                    let p = &PROBES[j];
                    (i, p, ask(&client, &places, &ep, p).await)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        {
            let m = model.lock().unwrap();
            let mut s = seen.lock().unwrap();
            for (i, p, answer) in answers {
                s.questions += 1;
                let ep = &m.endpoints[i];
                match answer {
                    Err(_) => s.unanswered += 1,
                    Ok(true) if !ep.ever_allows(p) => s.over.push(format!(
                        "{}/{} (shapes {:?}) may {} {:?} at {:?}",
                        ep.home, ep.name, ep.shapes, p.verb, p.resource, p.place
                    )),
                    Ok(_) => {}
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// A token's digest (never the token itself: it goes into messages).
fn digest(value: &[u8]) -> String {
    let d = sha2::Sha256::digest(value);
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The generated tokens of the scenario's endpoints: name -> digest.
pub async fn tokens(client: &Client, places: &Places) -> kube::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let lp = ListParams::default().labels(&labels::managed_selector());
    for ns in places.homes() {
        for s in Api::<Secret>::namespaced(client.clone(), ns)
            .list(&lp)
            .await?
        {
            let Some(owner) = s.labels().get(labels::OWNER_NAME).cloned() else {
                continue;
            };
            if s.name_any() != format!("{owner}-token") {
                continue;
            }
            if let Some(v) = s.data.as_ref().and_then(|d| d.get(names::TOKEN_KEY)) {
                out.insert(owner, digest(&v.0));
            }
        }
    }
    Ok(out)
}

async fn sample_tokens(
    client: Client,
    model: Arc<Mutex<Model>>,
    seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
) {
    let places = model.lock().unwrap().places.clone();
    for _ in 0..14_400 {
        if let Ok(now) = tokens(&client, &places).await {
            let mut s = seen.lock().unwrap();
            s.token_reads += 1;
            for (name, d) in now {
                s.tokens.entry(name).or_default().insert(d);
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(400)) => {}
        }
    }
}

/// Tokens that changed without a rotation: an endpoint seen with more
/// distinct tokens than 1 + the rotations asked for it, or whose token
/// before the fault differs from the one after without a rotation.
pub fn replaced_tokens(
    model: &Model,
    seen: &Seen,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = vec![];
    for ep in model.live() {
        let distinct = seen.tokens.get(&ep.name).map_or(0, BTreeSet::len);
        if distinct > 1 + ep.rotations as usize {
            out.push(format!(
                "{}/{}: {distinct} different tokens seen, {} rotation(s) asked",
                ep.home, ep.name, ep.rotations
            ));
        }
        if ep.rotations == 0
            && let (Some(b), Some(a)) = (before.get(&ep.name), after.get(&ep.name))
            && a != b
        {
            out.push(format!(
                "{}/{}: token replaced across the fault without a rotation",
                ep.home, ep.name
            ));
        }
    }
    out
}

/// Why the scenario has not converged yet (empty: converged): every live
/// endpoint has its newest spec observed with RBAC ready, every deleted one
/// is gone.
pub async fn unconverged(client: &Client, model: &Model) -> kube::Result<Vec<String>> {
    let mut live: BTreeMap<String, McpEndpoint> = BTreeMap::new();
    for ns in model.places.homes() {
        for ep in Api::<McpEndpoint>::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await?
        {
            live.insert(ep.name_any(), ep);
        }
    }
    let mut why = vec![];
    for want in &model.endpoints {
        let got = live.get(&want.name);
        match (want.deleted, got) {
            (true, None) => {}
            (true, Some(_)) => why.push(format!("{}: still there after delete", want.name)),
            (false, None) => why.push(format!("{}: missing", want.name)),
            (false, Some(ep)) => {
                let status = ep.status.as_ref();
                let observed = status.and_then(|s| s.observed_generation);
                let rbac = status.and_then(|s| {
                    s.conditions
                        .iter()
                        .find(|c| c.type_ == "RbacReady")
                        .map(|c| c.status.clone())
                });
                if observed != ep.metadata.generation || rbac.as_deref() != Some("True") {
                    why.push(format!(
                        "{}: generation {:?}, observed {observed:?}, RbacReady {rbac:?}",
                        want.name, ep.metadata.generation
                    ));
                }
            }
        }
    }
    Ok(why)
}

/// Probe answers of live endpoints that differ from the table for their
/// newest shape.
pub async fn grant_mismatches(client: &Client, model: &Model) -> Vec<String> {
    let questions: Vec<(&Endpoint, &Probe)> = model
        .live()
        .flat_map(|e| PROBES.iter().map(move |p| (e, p)))
        .collect();
    futures::stream::iter(questions)
        .map(|(ep, p)| async move {
            let want = allows(ep.shape(), p);
            match ask(client, &model.places, ep, p).await {
                Ok(got) if got == want => None,
                Ok(got) => Some(format!(
                    "{}/{} ({:?}): {} {:?} at {:?}: API server says {got}, table says {want}",
                    ep.home,
                    ep.name,
                    ep.shape(),
                    p.verb,
                    p.resource,
                    p.place
                )),
                Err(e) => Some(format!("{}: SubjectAccessReview failed: {e}", ep.name)),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|m| async move { m })
        .collect()
        .await
}

/// An RBAC object the operator made for this scenario's endpoints.
#[derive(Debug)]
struct Grant {
    kind: &'static str,
    namespace: Option<String>,
    name: String,
    owner: (String, String, String),
}

async fn grants(client: &Client, places: &Places) -> kube::Result<Vec<Grant>> {
    let lp = ListParams::default().labels(&labels::managed_selector());
    let mut metas = vec![];
    macro_rules! collect {
        ($kind:ty, $label:literal) => {
            for o in Api::<$kind>::all(client.clone()).list_metadata(&lp).await? {
                metas.push(($label, o.metadata));
            }
        };
    }
    collect!(Role, "Role");
    collect!(RoleBinding, "RoleBinding");
    collect!(ClusterRole, "ClusterRole");
    collect!(ClusterRoleBinding, "ClusterRoleBinding");
    let homes = places.homes();
    Ok(metas
        .into_iter()
        .filter_map(|(kind, meta)| {
            let l = meta.labels.clone().unwrap_or_default();
            let owner = (
                l.get(labels::OWNER_NAMESPACE)?.clone(),
                l.get(labels::OWNER_NAME)?.clone(),
                l.get(labels::OWNER_UID).cloned().unwrap_or_default(),
            );
            homes.contains(&owner.0.as_str()).then(|| Grant {
                kind,
                namespace: meta.namespace.clone(),
                name: meta.name.clone().unwrap_or_default(),
                owner,
            })
        })
        .collect())
}

/// RBAC objects no endpoint wants: the owner (by namespace, name and uid)
/// is gone, or its scope does not cover the object's namespace, or it is
/// not cluster-wide and holds a cluster-scoped grant.
pub async fn orphans(client: &Client, model: &Model) -> kube::Result<Vec<String>> {
    let mut uids = BTreeMap::new();
    for ns in model.places.homes() {
        for ep in Api::<McpEndpoint>::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await?
        {
            if ep.metadata.deletion_timestamp.is_none() {
                uids.insert(
                    (ns.to_string(), ep.name_any()),
                    ep.uid().unwrap_or_default(),
                );
            }
        }
    }
    let mut out = vec![];
    for g in grants(client, &model.places).await? {
        let (ns, name, uid) = &g.owner;
        let owner = model
            .live()
            .find(|e| &e.home == ns && &e.name == name)
            .filter(|_| uids.get(&(ns.clone(), name.clone())) == Some(uid));
        let wanted = owner.is_some_and(|e| {
            let scope = e.shape().scope;
            match &g.namespace {
                Some(at) => model.places.role_namespaces(&e.home, scope).contains(at),
                None => scope == Scope::All,
            }
        });
        if !wanted {
            out.push(format!(
                "{} {}{} (owner {ns}/{name})",
                g.kind,
                g.namespace
                    .as_ref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                g.name
            ));
        }
    }
    Ok(out)
}

/// Polls `f` every second until it returns no reasons, or `within` passes;
/// returns how long it took, or the last reasons.
pub async fn settle<F, Fut>(within: Duration, mut f: F) -> Result<Duration, Vec<String>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = kube::Result<Vec<String>>>,
{
    let start = Instant::now();
    let mut last = vec!["never checked".to_string()];
    while start.elapsed() < within {
        match f().await {
            Ok(reasons) if reasons.is_empty() => return Ok(start.elapsed()),
            Ok(reasons) => last = reasons,
            Err(e) => last = vec![format!("API error: {e}")],
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(last)
}
