//! Status math: old status + what was observed -> new status. Pure.

use crate::crd::{AuthMode, Authorize, McpEndpoint, McpEndpointStatus, VerifiedServer};
use crate::guard::{Grant, Refusal};
use crate::names;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{Resource, ResourceExt};

pub const READY: &str = "Ready";
pub const RBAC_READY: &str = "RbacReady";
pub const AVAILABLE: &str = "Available";
pub const VERIFIED: &str = "Verified";
pub const DEGRADED: &str = "Degraded";
/// True when tools the spec names (or the access level would allow) are not
/// offered; the message has one sentence per tool saying why.
pub const TOOLS_DROPPED: &str = "ToolsDropped";
/// Ready's reason while no server replica is available: how every endpoint starts.
const NOT_AVAILABLE: &str = "NotAvailable";

/// Conditions this module owns (others are kept as found).
const OWNED: [&str; 6] = [
    READY,
    RBAC_READY,
    AVAILABLE,
    VERIFIED,
    DEGRADED,
    TOOLS_DROPPED,
];

/// `status.auth`: how clients authenticate, `+`-joined (the Token mode shown
/// as where the token comes from: Generated or Secret), then `/Caller` with
/// per-caller authorization. E.g. `Generated`, `Secret+Kubernetes/Caller`.
pub fn auth_mode(ep: &McpEndpoint) -> String {
    let auth = ep.spec.auth.clone().unwrap_or_default();
    let modes: Vec<&str> = auth
        .modes
        .iter()
        .map(|m| match m {
            AuthMode::Token if auth.token_secret_ref.is_some() => "Secret",
            AuthMode::Token => "Generated",
            AuthMode::Kubernetes => "Kubernetes",
            AuthMode::Oidc => "Oidc",
        })
        .collect();
    let mut out = modes.join("+");
    if auth.authorize == Authorize::Caller {
        out.push_str("/Caller");
    }
    out
}

/// The outcome of the MCP verification of a pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Verification {
    /// Nothing relevant changed since the last verification: status keeps what it says.
    #[default]
    Unchanged,
    /// `--verify=false`: no Verified/Degraded condition, no `status.verified`.
    Disabled,
    /// Nothing to ask yet (the Deployment is rolling out, the token is missing): why.
    NotAvailable(String),
    /// initialize or tools/list did not complete (the message says why).
    Unreachable(String),
    /// What the server answered.
    Advertised(VerifiedServer),
}

/// Tools the server should advertise but does not (`missing`), and the reverse (`extra`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolDiff {
    pub missing: Vec<String>,
    pub extra: Vec<String>,
}

impl ToolDiff {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty()
    }

    /// A one-line explanation, e.g. `missing: kubectl_get; extra: ping`.
    pub fn message(&self) -> String {
        let mut parts = vec![];
        if !self.missing.is_empty() {
            parts.push(format!("missing: {}", self.missing.join(", ")));
        }
        if !self.extra.is_empty() {
            parts.push(format!("extra: {}", self.extra.join(", ")));
        }
        parts.join("; ")
    }
}

/// Compares the effective tool set with what the server advertised (order ignored).
pub fn tool_diff(effective: &[String], advertised: &[String]) -> ToolDiff {
    let missing = effective
        .iter()
        .filter(|t| !advertised.contains(t))
        .cloned()
        .collect();
    let mut extra: Vec<String> = advertised
        .iter()
        .filter(|t| !effective.contains(t))
        .cloned()
        .collect();
    extra.sort();
    extra.dedup();
    ToolDiff { missing, extra }
}

/// Advertised tool names in catalog order (unknown names last, sorted), so that a
/// server listing them in another order does not change the status.
pub fn catalog_order(mut tools: Vec<String>) -> Vec<String> {
    let pos = |t: &String| {
        kube_mcp_catalog::tools::names()
            .position(|n| n == t)
            .unwrap_or(usize::MAX)
    };
    tools.sort_by(|a, b| pos(a).cmp(&pos(b)).then_with(|| a.cmp(b)));
    tools.dedup();
    tools
}

/// Whether the Deployment finished rolling out and every wanted replica is
/// available: only then does the Service reach servers with the current settings.
pub fn rolled_out(d: &k8s_openapi::api::apps::v1::Deployment) -> bool {
    let (Some(spec), Some(st)) = (d.spec.as_ref(), d.status.as_ref()) else {
        return false;
    };
    let want = spec.replicas.unwrap_or(1);
    st.observed_generation.is_some()
        && st.observed_generation >= d.metadata.generation
        && st.updated_replicas.unwrap_or(0) == want
        && st.replicas.unwrap_or(0) == want
        && st.available_replicas.unwrap_or(0) >= want
}

/// What the reconciler saw after applying the children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// `status.availableReplicas` of the Deployment.
    pub available_replicas: i32,
    /// `status.readyReplicas` of the Deployment.
    pub ready_replicas: i32,
    /// Why the token source is unusable (a referenced Secret or key is missing), if it is.
    pub token_problem: Option<String>,
    /// Rules granted, and the number of Roles (namespaces) and ClusterRoles holding them.
    pub rules: usize,
    pub roles: usize,
    pub cluster_roles: usize,
    /// The MCP verification of this pass.
    pub verification: Verification,
}

/// The result of one pass.
#[derive(Debug, Clone)]
pub enum Outcome<'a> {
    Granted(&'a Grant, Observed),
    Refused(&'a Refusal),
}

fn cond(
    type_: &str,
    ok: impl Into<Tri>,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: ok.into().as_str().into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time: now.clone(),
    }
}

/// A condition status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn as_str(self) -> &'static str {
        match self {
            Tri::True => "True",
            Tri::False => "False",
            Tri::Unknown => "Unknown",
        }
    }
}

impl From<bool> for Tri {
    fn from(b: bool) -> Self {
        if b { Tri::True } else { Tri::False }
    }
}

/// Puts `new` into `conditions`, keeping the old lastTransitionTime when the status did not change.
fn set(conditions: &mut Vec<Condition>, old: &[Condition], mut new: Condition) {
    if let Some(prev) = old.iter().find(|c| c.type_ == new.type_)
        && prev.status == new.status
    {
        new.last_transition_time = prev.last_transition_time.clone();
    }
    conditions.retain(|c| c.type_ != new.type_);
    conditions.push(new);
}

/// The new status of `ep`.
pub fn compute(ep: &McpEndpoint, outcome: &Outcome<'_>, now: Time) -> McpEndpointStatus {
    let old = ep.status.clone().unwrap_or_default();
    let mut c = Conditions::new(&old.conditions, ep.meta().generation, &now);
    let status = match outcome {
        Outcome::Refused(r) => refused(&mut c, r),
        Outcome::Granted(grant, seen) => {
            serving(&mut c, ep, seen);
            dropped(&mut c, grant);
            let tools = grant.tool_names();
            let verified = verification(&mut c, &tools, &seen.verification, &old.verified);
            McpEndpointStatus {
                url: Some(names::url(ep)),
                token_secret_name: Some(crate::secret::token_source(ep).0),
                tool_count: Some(tools.len() as i32),
                tools,
                namespaces: grant.scope.to_list(),
                ready_replicas: Some(seen.ready_replicas),
                verified,
                ..McpEndpointStatus::default()
            }
        }
    };
    McpEndpointStatus {
        conditions: c.list,
        observed_generation: ep.meta().generation,
        auth: Some(auth_mode(ep)),
        ..status
    }
}

/// The conditions a status is built from: those this operator does not own
/// are carried over, and a condition put again keeps its lastTransitionTime
/// when its status did not change.
struct Conditions<'a> {
    list: Vec<Condition>,
    old: &'a [Condition],
    generation: Option<i64>,
    now: &'a Time,
}

impl<'a> Conditions<'a> {
    fn new(old: &'a [Condition], generation: Option<i64>, now: &'a Time) -> Self {
        let list = old
            .iter()
            .filter(|c| !OWNED.contains(&c.type_.as_str()))
            .cloned()
            .collect();
        Conditions {
            list,
            old,
            generation,
            now,
        }
    }

    fn put(&mut self, type_: &str, ok: impl Into<Tri>, reason: &str, message: String) {
        let new = cond(type_, ok, reason, message, self.generation, self.now);
        set(&mut self.list, self.old, new);
    }

    /// Keeps the old condition of `type_` as it was.
    fn keep(&mut self, type_: &str) {
        self.list
            .extend(self.old.iter().find(|c| c.type_ == type_).cloned());
    }
}

/// A refused spec: nothing is granted, deployed or ready, and each says why.
fn refused(c: &mut Conditions<'_>, r: &Refusal) -> McpEndpointStatus {
    let msg = r.message().to_string();
    c.put(RBAC_READY, false, r.reason(), msg.clone());
    c.put(
        AVAILABLE,
        false,
        r.reason(),
        "nothing is deployed for a refused spec".into(),
    );
    c.put(READY, false, r.reason(), msg);
    McpEndpointStatus {
        tool_count: Some(0),
        ready_replicas: Some(0),
        ..McpEndpointStatus::default()
    }
}

/// RbacReady, Available and Ready of a granted endpoint.
fn serving(c: &mut Conditions<'_>, ep: &McpEndpoint, seen: &Observed) {
    let rbac_msg = format!(
        "{} rules granted through {} Role(s) and {} ClusterRole(s)",
        seen.rules, seen.roles, seen.cluster_roles
    );
    c.put(RBAC_READY, true, "Granted", rbac_msg);
    let available = seen.available_replicas >= 1;
    if available {
        let msg = format!("{} replica(s) available", seen.available_replicas);
        c.put(AVAILABLE, true, "MinimumReplicasAvailable", msg);
    } else {
        let msg = "the server Deployment has no available replica yet".to_string();
        c.put(AVAILABLE, false, "NoReplicasAvailable", msg);
    }
    match (&seen.token_problem, available) {
        (Some(p), _) => c.put(READY, false, "TokenSecretNotFound", p.clone()),
        (None, false) => c.put(
            READY,
            false,
            NOT_AVAILABLE,
            "waiting for a server replica".into(),
        ),
        (None, true) => c.put(
            READY,
            true,
            "Ready",
            format!("serving at {}", names::url(ep)),
        ),
    }
}

/// ToolsDropped: whether every tool the spec names is offered.
fn dropped(c: &mut Conditions<'_>, grant: &Grant) {
    if grant.dropped.is_empty() {
        c.put(
            TOOLS_DROPPED,
            false,
            "AllOffered",
            "every tool spec.tools names (or the access level allows) is offered".into(),
        );
    } else {
        let msg = format!(
            "{} tool(s) not offered: {}",
            grant.dropped.len(),
            grant.dropped.join("; ")
        );
        c.put(TOOLS_DROPPED, true, "NotOffered", msg);
    }
}

/// Verified and Degraded from this pass's MCP verification; the server the
/// status then shows as verified.
fn verification(
    c: &mut Conditions<'_>,
    tools: &[String],
    v: &Verification,
    old: &Option<VerifiedServer>,
) -> Option<VerifiedServer> {
    match v {
        Verification::Disabled => None,
        Verification::Unchanged => {
            c.keep(VERIFIED);
            c.keep(DEGRADED);
            old.clone()
        }
        Verification::NotAvailable(why) => {
            c.put(VERIFIED, Tri::Unknown, "NotAvailable", why.clone());
            let msg = "the server was not verified yet".into();
            c.put(DEGRADED, false, "NotVerified", msg);
            old.clone()
        }
        Verification::Unreachable(why) => {
            c.put(VERIFIED, false, "Unreachable", why.clone());
            let msg = "the server could not be verified".into();
            c.put(DEGRADED, false, "NotVerified", msg);
            old.clone()
        }
        Verification::Advertised(server) => {
            let diff = tool_diff(tools, &server.tools);
            if diff.is_empty() {
                let msg = format!(
                    "{} {} advertises the {} effective tool(s)",
                    server.server_name,
                    server.server_version,
                    tools.len()
                );
                c.put(VERIFIED, true, "ToolsMatch", msg.clone());
                c.put(DEGRADED, false, "ToolsMatch", msg);
            } else {
                let msg = format!(
                    "the server advertises other tools than the effective set: {}",
                    diff.message()
                );
                c.put(VERIFIED, false, "ToolsMismatch", msg.clone());
                c.put(DEGRADED, true, "ToolsMismatch", msg);
            }
            Some(server.clone())
        }
    }
}

/// The Ready condition of a status.
pub fn ready(status: Option<&McpEndpointStatus>) -> Option<&Condition> {
    status?.conditions.iter().find(|c| c.type_ == READY)
}

/// An Event to publish when Ready changed (status or reason): (warning?, reason, note).
/// A new endpoint's first status, NotAvailable while its server rolls out,
/// is no news: every endpoint starts so, and its Event would be one more
/// write per endpoint in a burst of creates. Its next change (Ready, or a
/// Warning) is published.
pub fn transition(
    old: Option<&McpEndpointStatus>,
    new: &McpEndpointStatus,
) -> Option<(bool, String, String)> {
    let new_ready = ready(Some(new))?;
    let rolling_out = new_ready.reason == NOT_AVAILABLE;
    let changed = match ready(old) {
        Some(o) => o.status != new_ready.status || o.reason != new_ready.reason,
        None => !rolling_out,
    };
    if !changed {
        return None;
    }
    let warning = new_ready.status != "True" && !rolling_out;
    Some((warning, new_ready.reason.clone(), new_ready.message.clone()))
}

/// The ToolsDropped message to publish as a Warning Event: when tools became
/// dropped, or the set of dropped tools changed.
pub fn dropped_transition(
    old: Option<&McpEndpointStatus>,
    new: &McpEndpointStatus,
) -> Option<String> {
    let find = |s: Option<&McpEndpointStatus>| {
        s?.conditions
            .iter()
            .find(|c| c.type_ == TOOLS_DROPPED && c.status == "True")
            .map(|c| c.message.clone())
    };
    let now = find(Some(new))?;
    (find(old).as_ref() != Some(&now)).then_some(now)
}

/// Name used in logs.
pub fn describe(ep: &McpEndpoint) -> String {
    format!("{}/{}", ep.namespace().unwrap_or_default(), ep.name_any())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::crd::McpEndpointSpec;
    use crate::guard::{evaluate, tests::ep};

    fn t(s: i64) -> Time {
        Time(jiff::Timestamp::from_second(s).unwrap())
    }

    fn by_type<'a>(s: &'a McpEndpointStatus, ty: &str) -> &'a Condition {
        s.conditions.iter().find(|c| c.type_ == ty).unwrap()
    }

    #[test]
    fn granted_and_available_is_ready() {
        let e = ep("a", McpEndpointSpec::default());
        let g = evaluate(&e, &Config::default()).unwrap();
        let seen = Observed {
            available_replicas: 1,
            ready_replicas: 1,
            ..Default::default()
        };
        let s = compute(&e, &Outcome::Granted(&g, seen), t(10));
        assert_eq!(by_type(&s, READY).status, "True");
        assert_eq!(by_type(&s, RBAC_READY).status, "True");
        assert_eq!(by_type(&s, AVAILABLE).status, "True");
        assert_eq!(s.url.as_deref(), Some("http://ep.a.svc:80/mcp"));
        assert_eq!(s.token_secret_name.as_deref(), Some("ep-token"));
        assert_eq!(s.tool_count, Some(s.tools.len() as i32));
        assert_eq!(s.namespaces, ["a"]);
        assert_eq!(s.observed_generation, Some(1));
    }

    #[test]
    fn transition_time_only_moves_on_change() {
        let mut e = ep("a", McpEndpointSpec::default());
        let g = evaluate(&e, &Config::default()).unwrap();
        let down = Observed::default();
        let up = Observed {
            available_replicas: 1,
            ready_replicas: 1,
            ..Default::default()
        };
        let s1 = compute(&e, &Outcome::Granted(&g, down.clone()), t(10));
        e.status = Some(s1.clone());
        let s2 = compute(&e, &Outcome::Granted(&g, down), t(20));
        assert_eq!(
            s1, s2,
            "same observation, same status: no write, no hot loop"
        );
        e.status = Some(s2);
        let s3 = compute(&e, &Outcome::Granted(&g, up), t(30));
        assert_eq!(by_type(&s3, AVAILABLE).last_transition_time, t(30));
        assert_eq!(by_type(&s3, RBAC_READY).last_transition_time, t(10));
        assert_eq!(by_type(&s3, READY).status, "True");
        // Ready: no Event for the first pass's NotAvailable, Ready (Normal) after.
        assert_eq!(transition(None, &s1), None);
        let (warn, reason, _) = transition(Some(&s1), &s3).unwrap();
        assert!(!warn);
        assert_eq!(reason, "Ready");
        assert!(transition(Some(&s3), &s3).is_none());
    }

    #[test]
    fn refused_is_not_ready_with_a_warning() {
        let e = ep(
            "a",
            McpEndpointSpec {
                namespaces: Some(vec!["b".into()]),
                ..Default::default()
            },
        );
        let r = evaluate(&e, &Config::default()).unwrap_err();
        let s = compute(&e, &Outcome::Refused(&r), t(10));
        let ready = by_type(&s, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "ScopeNotAllowed")
        );
        assert!(ready.message.contains("admin namespace"));
        assert!(s.tools.is_empty() && s.namespaces.is_empty());
        let (warn, reason, _) = transition(None, &s).unwrap();
        assert!(warn);
        assert_eq!(reason, "ScopeNotAllowed");
    }

    #[test]
    fn missing_token_secret_is_not_ready() {
        let e = ep("a", McpEndpointSpec::default());
        let g = evaluate(&e, &Config::default()).unwrap();
        let seen = Observed {
            available_replicas: 1,
            token_problem: Some("Secret a/x not found".into()),
            ..Default::default()
        };
        let s = compute(&e, &Outcome::Granted(&g, seen), t(10));
        assert_eq!(by_type(&s, READY).reason, "TokenSecretNotFound");
    }

    #[test]
    fn dropped_tools_are_a_condition_and_one_warning_per_change() {
        let write = kube_mcp_catalog::tools::CATALOG
            .iter()
            .find(|t| t.class == kube_mcp_catalog::tools::ToolClass::Write)
            .unwrap()
            .name;
        let read = kube_mcp_catalog::tools::CATALOG[0].name;
        let mut e = ep(
            "a",
            McpEndpointSpec {
                tools: Some(vec![read.into(), write.into()]),
                ..Default::default()
            },
        );
        let g = evaluate(&e, &Config::default()).unwrap();
        let s1 = compute(&e, &Outcome::Granted(&g, Observed::default()), t(10));
        let c = by_type(&s1, TOOLS_DROPPED);
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "NotOffered")
        );
        assert!(
            c.message.starts_with("1 tool(s) not offered: ") && c.message.contains(write),
            "{}",
            c.message
        );
        assert_eq!(s1.tools, [read]);
        assert_eq!(
            dropped_transition(None, &s1).as_deref(),
            Some(c.message.as_str())
        );
        assert_eq!(dropped_transition(Some(&s1), &s1), None, "no repeat");
        e.status = Some(s1.clone());
        e.spec.tools = Some(vec![read.into()]);
        let g = evaluate(&e, &Config::default()).unwrap();
        let s2 = compute(&e, &Outcome::Granted(&g, Observed::default()), t(20));
        assert_eq!(by_type(&s2, TOOLS_DROPPED).status, "False");
        assert_eq!(dropped_transition(Some(&s1), &s2), None);
        assert_eq!(s2.auth.as_deref(), Some("Generated"));
    }

    #[test]
    fn foreign_conditions_are_kept() {
        let mut e = ep("a", McpEndpointSpec::default());
        let other = cond("Progressing", true, "X", "y".into(), None, &t(1));
        e.status = Some(McpEndpointStatus {
            conditions: vec![other.clone()],
            ..Default::default()
        });
        let g = evaluate(&e, &Config::default()).unwrap();
        let s = compute(&e, &Outcome::Granted(&g, Observed::default()), t(10));
        assert!(s.conditions.contains(&other));
    }

    fn server(tools: &[&str]) -> VerifiedServer {
        VerifiedServer {
            server_name: "kube-mcp-server".into(),
            server_version: "0.1.0".into(),
            tools: tools.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn up(verification: Verification) -> Observed {
        Observed {
            available_replicas: 1,
            ready_replicas: 1,
            verification,
            ..Default::default()
        }
    }

    #[test]
    fn tool_diff_lists_missing_and_extra() {
        let s = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert!(tool_diff(&s(&["a", "b"]), &s(&["b", "a"])).is_empty());
        let d = tool_diff(&s(&["a", "b"]), &s(&["b", "z", "c"]));
        assert_eq!(d.missing, ["a"]);
        assert_eq!(d.extra, ["c", "z"]);
        assert_eq!(d.message(), "missing: a; extra: c, z");
        assert_eq!(tool_diff(&s(&[]), &s(&["p"])).message(), "extra: p");
    }

    #[test]
    fn catalog_order_is_stable() {
        let names: Vec<String> = kube_mcp_catalog::tools::names()
            .take(3)
            .map(String::from)
            .collect();
        let mut shuffled = vec!["zz_unknown".to_string(), names[2].clone()];
        shuffled.extend(names[..2].iter().rev().cloned());
        let mut want = names.clone();
        want.push("zz_unknown".into());
        assert_eq!(catalog_order(shuffled), want);
    }

    #[test]
    fn advertised_tools_matching_verify_and_mismatching_degrade() {
        let mut e = ep("a", McpEndpointSpec::default());
        let g = evaluate(&e, &Config::default()).unwrap();
        let tools = g.tool_names();
        let names: Vec<&str> = tools.iter().map(String::as_str).collect();
        let ok = compute(
            &e,
            &Outcome::Granted(&g, up(Verification::Advertised(server(&names)))),
            t(10),
        );
        let v = by_type(&ok, VERIFIED);
        assert_eq!(
            (v.status.as_str(), v.reason.as_str()),
            ("True", "ToolsMatch")
        );
        assert_eq!(by_type(&ok, DEGRADED).status, "False");
        assert_eq!(ok.verified.as_ref().unwrap().tools, tools);
        assert_eq!(
            by_type(&ok, READY).status,
            "True",
            "Ready does not depend on it"
        );

        // The same answer later: nothing changes (no write).
        e.status = Some(ok.clone());
        let again = compute(
            &e,
            &Outcome::Granted(&g, up(Verification::Advertised(server(&names)))),
            t(20),
        );
        assert_eq!(again, ok);
        // Not asked again: the recorded verification is kept as is.
        let kept = compute(
            &e,
            &Outcome::Granted(&g, up(Verification::Unchanged)),
            t(25),
        );
        assert_eq!(kept, ok);

        let bad = compute(
            &e,
            &Outcome::Granted(&g, up(Verification::Advertised(server(&["ping", "nope"])))),
            t(30),
        );
        let v = by_type(&bad, VERIFIED);
        assert_eq!(
            (v.status.as_str(), v.reason.as_str()),
            ("False", "ToolsMismatch")
        );
        let d = by_type(&bad, DEGRADED);
        assert_eq!(
            (d.status.as_str(), d.reason.as_str()),
            ("True", "ToolsMismatch")
        );
        assert!(
            d.message.contains("missing: ") && d.message.contains("extra: nope"),
            "{}",
            d.message
        );
        assert_eq!(d.last_transition_time, t(30));
        assert_eq!(
            by_type(&bad, READY).last_transition_time,
            ok.conditions
                .iter()
                .find(|c| c.type_ == READY)
                .unwrap()
                .last_transition_time
        );
        assert_eq!(bad.verified.as_ref().unwrap().tools, ["ping", "nope"]);
    }

    #[test]
    fn unreachable_not_available_and_disabled() {
        let mut e = ep("a", McpEndpointSpec::default());
        let g = evaluate(&e, &Config::default()).unwrap();
        let names = g.tool_names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let ok = compute(
            &e,
            &Outcome::Granted(&g, up(Verification::Advertised(server(&names)))),
            t(10),
        );
        e.status = Some(ok.clone());
        let down = compute(
            &e,
            &Outcome::Granted(
                &g,
                up(Verification::Unreachable(
                    "cannot reach http://ep.a.svc:80/mcp: the connection was refused (Connection refused (os error 111))".into(),
                )),
            ),
            t(20),
        );
        let v = by_type(&down, VERIFIED);
        assert_eq!(
            (v.status.as_str(), v.reason.as_str()),
            ("False", "Unreachable")
        );
        assert!(
            v.message.contains("http://ep.a.svc:80/mcp") && v.message.contains("refused"),
            "{}",
            v.message
        );
        assert_eq!(by_type(&down, DEGRADED).status, "False");
        assert_eq!(down.verified, ok.verified, "the last answer is kept");

        let waiting = compute(
            &e,
            &Outcome::Granted(&g, up(Verification::NotAvailable("rolling out".into()))),
            t(30),
        );
        assert_eq!(by_type(&waiting, VERIFIED).status, "Unknown");

        let off = compute(&e, &Outcome::Granted(&g, up(Verification::Disabled)), t(40));
        assert!(
            off.conditions
                .iter()
                .all(|c| c.type_ != VERIFIED && c.type_ != DEGRADED)
        );
        assert!(off.verified.is_none());
    }

    #[test]
    fn rolled_out_needs_every_replica_updated_and_available() {
        use k8s_openapi::api::apps::v1::Deployment;
        let d = |generation: i64,
                 observed: i64,
                 replicas: i32,
                 updated: i32,
                 available: i32|
         -> Deployment {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "x", "generation": generation},
                "spec": {"replicas": 2, "selector": {}, "template": {}},
                "status": {"observedGeneration": observed, "replicas": replicas,
                           "updatedReplicas": updated, "availableReplicas": available},
            }))
            .unwrap()
        };
        assert!(rolled_out(&d(3, 3, 2, 2, 2)));
        assert!(!rolled_out(&d(3, 2, 2, 2, 2)), "not observed yet");
        assert!(!rolled_out(&d(3, 3, 3, 2, 2)), "an old pod is still there");
        assert!(!rolled_out(&d(3, 3, 2, 1, 2)), "not all updated");
        assert!(!rolled_out(&d(3, 3, 2, 2, 1)), "not all available");
        assert!(!rolled_out(&Deployment::default()));
    }
}
