//! Status math: old status + what was observed -> new status. Pure.

use crate::crd::{McpEndpoint, McpEndpointStatus};
use crate::guard::{Grant, Refusal};
use crate::names;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{Resource, ResourceExt};

pub const READY: &str = "Ready";
pub const RBAC_READY: &str = "RbacReady";
pub const AVAILABLE: &str = "Available";

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
}

/// The result of one pass.
#[derive(Debug, Clone)]
pub enum Outcome<'a> {
    Granted(&'a Grant, Observed),
    Refused(&'a Refusal),
}

fn cond(
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time: now.clone(),
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
    let generation = ep.meta().generation;
    let mut conditions: Vec<Condition> = old
        .conditions
        .iter()
        .filter(|c| ![READY, RBAC_READY, AVAILABLE].contains(&c.type_.as_str()))
        .cloned()
        .collect();
    let put = |conditions: &mut Vec<Condition>, c| set(conditions, &old.conditions, c);
    match outcome {
        Outcome::Refused(r) => {
            let msg = r.message().to_string();
            put(
                &mut conditions,
                cond(RBAC_READY, false, r.reason(), msg.clone(), generation, &now),
            );
            put(
                &mut conditions,
                cond(
                    AVAILABLE,
                    false,
                    r.reason(),
                    "nothing is deployed for a refused spec".into(),
                    generation,
                    &now,
                ),
            );
            put(
                &mut conditions,
                cond(READY, false, r.reason(), msg, generation, &now),
            );
            McpEndpointStatus {
                conditions,
                observed_generation: generation,
                url: None,
                token_secret_name: None,
                tools: vec![],
                tool_count: Some(0),
                namespaces: vec![],
                ready_replicas: Some(0),
            }
        }
        Outcome::Granted(grant, seen) => {
            let rbac_msg = format!(
                "{} rules granted through {} Role(s) and {} ClusterRole(s)",
                seen.rules, seen.roles, seen.cluster_roles
            );
            put(
                &mut conditions,
                cond(RBAC_READY, true, "Granted", rbac_msg, generation, &now),
            );
            let available = seen.available_replicas >= 1;
            let (reason, msg) = if available {
                (
                    "MinimumReplicasAvailable",
                    format!("{} replica(s) available", seen.available_replicas),
                )
            } else {
                (
                    "NoReplicasAvailable",
                    "the server Deployment has no available replica yet".to_string(),
                )
            };
            put(
                &mut conditions,
                cond(AVAILABLE, available, reason, msg, generation, &now),
            );
            let ready = match (&seen.token_problem, available) {
                (Some(p), _) => cond(
                    READY,
                    false,
                    "TokenSecretNotFound",
                    p.clone(),
                    generation,
                    &now,
                ),
                (None, false) => cond(
                    READY,
                    false,
                    "NotAvailable",
                    "waiting for a server replica".into(),
                    generation,
                    &now,
                ),
                (None, true) => cond(
                    READY,
                    true,
                    "Ready",
                    format!("serving at {}", names::url(ep)),
                    generation,
                    &now,
                ),
            };
            put(&mut conditions, ready);
            let tools = grant.tool_names();
            McpEndpointStatus {
                conditions,
                observed_generation: generation,
                url: Some(names::url(ep)),
                token_secret_name: Some(crate::secret::token_source(ep).0),
                tool_count: Some(tools.len() as i32),
                tools,
                namespaces: grant.scope.to_list(),
                ready_replicas: Some(seen.ready_replicas),
            }
        }
    }
}

/// The Ready condition of a status.
pub fn ready(status: Option<&McpEndpointStatus>) -> Option<&Condition> {
    status?.conditions.iter().find(|c| c.type_ == READY)
}

/// An Event to publish when Ready changed (status or reason): (warning?, reason, note).
pub fn transition(
    old: Option<&McpEndpointStatus>,
    new: &McpEndpointStatus,
) -> Option<(bool, String, String)> {
    let new_ready = ready(Some(new))?;
    let changed = match ready(old) {
        Some(o) => o.status != new_ready.status || o.reason != new_ready.reason,
        None => true,
    };
    if !changed {
        return None;
    }
    let warning = new_ready.status != "True" && new_ready.reason != "NotAvailable";
    Some((warning, new_ready.reason.clone(), new_ready.message.clone()))
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
        // Ready: NotAvailable (Normal) on first pass, Ready after.
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
}
