//! The escalation guard and the effective grant of an endpoint.
//!
//! Pure: spec + operator policy -> what the endpoint gets, or why it gets nothing.

use crate::config::Config;
use crate::crd::{Access, AuthMode, AuthSpec, Authorize, McpEndpoint, SecretsPolicy};
use crate::names;
use kube_mcp_catalog::policy::{self, Offer, Request};
use kube_mcp_catalog::settings::{
    AuthMode as ServerAuthMode, Authorize as ServerAuthorize, SecretsMode,
};
use kube_mcp_catalog::tools::{Rule, ToolClass, ToolSpec};

/// Where an endpoint's server may act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// These namespaces (deduplicated, in spec order).
    Namespaces(Vec<String>),
    /// Every namespace (`namespaces: ["*"]`).
    Cluster,
}

impl Scope {
    /// The server's KUBE_MCP_NAMESPACES / status form.
    pub fn to_list(&self) -> Vec<String> {
        match self {
            Scope::Namespaces(v) => v.clone(),
            Scope::Cluster => vec!["*".into()],
        }
    }
}

/// What an accepted endpoint is granted.
#[derive(Debug, Clone)]
pub struct Grant {
    pub access: Access,
    pub secrets: SecretsPolicy,
    /// Effective tools, in catalog order.
    pub tools: Vec<&'static ToolSpec>,
    pub scope: Scope,
    /// Whether cluster-scoped catalog rules are granted: only to a cluster-wide
    /// endpoint, and only if the operator's policy allows them.
    pub cluster_reads: bool,
    /// Tools the spec asked for (or the ceiling allows) that are not offered,
    /// one sentence each saying why.
    pub dropped: Vec<String>,
    /// Cluster rules the server's own authentication and authorization need
    /// (TokenReviews for the Kubernetes mode, SubjectAccessReviews for
    /// Caller), granted whatever the scope.
    pub identity: Vec<Rule>,
}

impl Grant {
    pub fn tool_names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name.to_string()).collect()
    }
}

/// Why an endpoint is refused. Each carries a message saying how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    ScopeNotAllowed(String),
    AccessNotAllowed(String),
    NoEffectiveTools(String),
    ImageNotAllowed(String),
    /// `spec.auth.tokenSecretRef` names a Secret that did not opt in.
    TokenSecretNotAllowed(String),
    /// An object under a child's name is not the endpoint's.
    NameConflict(String),
}

impl Refusal {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::ScopeNotAllowed(_) => "ScopeNotAllowed",
            Refusal::AccessNotAllowed(_) => "AccessNotAllowed",
            Refusal::NoEffectiveTools(_) => "NoEffectiveTools",
            Refusal::ImageNotAllowed(_) => "ImageNotAllowed",
            Refusal::TokenSecretNotAllowed(_) => "TokenSecretNotAllowed",
            Refusal::NameConflict(_) => "NameConflict",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Refusal::ScopeNotAllowed(m)
            | Refusal::AccessNotAllowed(m)
            | Refusal::NoEffectiveTools(m)
            | Refusal::ImageNotAllowed(m)
            | Refusal::TokenSecretNotAllowed(m)
            | Refusal::NameConflict(m) => m,
        }
    }
}

/// The highest tool class an access level offers.
pub fn ceiling(access: Access) -> ToolClass {
    match access {
        Access::ReadOnly => ToolClass::ReadOnly,
        Access::NonDestructive => ToolClass::Write,
        Access::Full => ToolClass::Destructive,
    }
}

/// The server's secrets mode for an endpoint's policy.
pub fn secrets_mode(p: SecretsPolicy) -> SecretsMode {
    match p {
        SecretsPolicy::Hidden => SecretsMode::Hidden,
        SecretsPolicy::Masked => SecretsMode::Masked,
        SecretsPolicy::Visible => SecretsMode::Visible,
    }
}

/// The effective tool set, in catalog order, and what was left out and why:
/// the same decision the server makes from the settings the operator renders.
pub fn offer(
    access: Access,
    allowlist: Option<&[String]>,
    secrets: SecretsPolicy,
    scope: &Scope,
    caller_authorization: bool,
) -> Offer {
    // Unknown names cannot pass the CRD's enum; should one appear anyway it
    // is treated like any tool the endpoint does not get.
    policy::offer(Request {
        allowlist,
        ceiling: ceiling(access),
        secrets: secrets_mode(secrets),
        cluster_scope: *scope == Scope::Cluster,
        caller_authorization,
    })
    .unwrap_or_default()
}

/// The effective tool set alone.
pub fn effective_tools(
    access: Access,
    allowlist: Option<&[String]>,
    secrets: SecretsPolicy,
    scope: &Scope,
) -> Vec<&'static ToolSpec> {
    offer(access, allowlist, secrets, scope, false).tools
}

/// The requested scope: the own namespace by default, `*` = cluster.
pub fn requested_scope(ep: &McpEndpoint) -> Scope {
    let own = names::namespace(ep);
    match ep.spec.namespaces.as_deref() {
        None | Some([]) => Scope::Namespaces(vec![own]),
        Some(list) if list.iter().any(|n| n == "*") => Scope::Cluster,
        Some(list) => {
            let mut out: Vec<String> = vec![];
            for n in list {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
            Scope::Namespaces(out)
        }
    }
}

/// The escalation guard and the effective grant.
pub fn evaluate(ep: &McpEndpoint, cfg: &Config) -> Result<Grant, Refusal> {
    let own = names::namespace(ep);
    let admin = cfg.is_admin_namespace(&own);
    let admins = if cfg.admin_namespaces.is_empty() {
        "none are configured".to_string()
    } else {
        cfg.admin_namespaces.join(", ")
    };
    // Listing namespaces is refused outside an admin namespace too, so the
    // way out is the own namespace or an admin namespace.
    let fix = format!(
        "remove spec.namespaces (the endpoint then reaches its own namespace {own:?}), or create the \
         endpoint in an admin namespace (--admin-namespaces: {admins})"
    );
    let scope = requested_scope(ep);
    match &scope {
        Scope::Cluster if !admin => {
            return Err(Refusal::ScopeNotAllowed(format!(
                "namespaces [\"*\"] (cluster-wide) is only allowed for endpoints in an admin namespace; {fix}"
            )));
        }
        Scope::Namespaces(list) if !admin => {
            let foreign: Vec<&str> = list
                .iter()
                .filter(|n| **n != own)
                .map(String::as_str)
                .collect();
            if !foreign.is_empty() {
                return Err(Refusal::ScopeNotAllowed(format!(
                    "namespaces {foreign:?} are outside the endpoint's own namespace; only endpoints in an \
                     admin namespace may reach other namespaces; {fix}"
                )));
            }
        }
        _ => {}
    }
    let max = cfg.max_access();
    if ep.spec.access > max {
        return Err(Refusal::AccessNotAllowed(format!(
            "spec.access {} exceeds the operator's ceiling {} (--max-access); set spec.access to {} or lower",
            ep.spec.access.as_str(),
            max.as_str(),
            max.as_str()
        )));
    }
    if let Some(why) = crate::image::refusal(ep, cfg) {
        return Err(Refusal::ImageNotAllowed(why));
    }
    let auth = ep.spec.auth.clone().unwrap_or_default();
    let offered = offer(
        ep.spec.access,
        ep.spec.tools.as_deref(),
        ep.spec.secrets,
        &scope,
        auth.authorize == Authorize::Caller,
    );
    if offered.tools.is_empty() {
        return Err(Refusal::NoEffectiveTools(format!(
            "no tool of spec.tools can be offered with spec.access {}: {}; add a tool of that class to spec.tools, \
             raise spec.access, or remove spec.tools",
            ep.spec.access.as_str(),
            offered.explanations().join("; ")
        )));
    }
    Ok(Grant {
        access: ep.spec.access,
        secrets: ep.spec.secrets,
        dropped: offered.explanations(),
        tools: offered.tools,
        cluster_reads: cfg.allow_cluster_reads && scope == Scope::Cluster,
        scope,
        identity: identity_rules(&auth),
    })
}

/// The rules the server needs for `spec.auth`'s modes and authorization.
pub fn identity_rules(auth: &AuthSpec) -> Vec<Rule> {
    let review = auth.modes.contains(&AuthMode::Kubernetes);
    let caller = auth.authorize == Authorize::Caller;
    [
        review
            .then_some(ServerAuthMode::Kubernetes)
            .and_then(ServerAuthMode::rule),
        caller
            .then_some(ServerAuthorize::Caller)
            .and_then(ServerAuthorize::rule),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crd::McpEndpointSpec;

    pub(crate) fn ep(ns: &str, spec: McpEndpointSpec) -> McpEndpoint {
        let mut e = McpEndpoint::new("ep", spec);
        e.metadata.namespace = Some(ns.into());
        e.metadata.uid = Some("0000-uid".into());
        e.metadata.generation = Some(1);
        e
    }

    fn cfg(admins: &[&str], max: crate::config::MaxAccess) -> Config {
        Config {
            admin_namespaces: admins.iter().map(|s| s.to_string()).collect(),
            max_access: max,
            ..Config::default()
        }
    }

    fn spec(ns: Option<&[&str]>, access: Access) -> McpEndpointSpec {
        McpEndpointSpec {
            namespaces: ns.map(|v| v.iter().map(|s| s.to_string()).collect()),
            access,
            ..Default::default()
        }
    }

    #[test]
    fn guard_table() {
        use crate::config::MaxAccess::*;
        use Access as A;
        // (endpoint ns, spec.namespaces, access, admins, max) -> Ok(scope) | Err(reason)
        type Case<'a> = (
            &'a str,
            Option<&'a [&'a str]>,
            A,
            &'a [&'a str],
            crate::config::MaxAccess,
            Result<Scope, &'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                "a",
                None,
                A::ReadOnly,
                &[],
                Full,
                Ok(Scope::Namespaces(vec!["a".into()])),
            ),
            (
                "a",
                Some(&["a"]),
                A::Full,
                &[],
                Full,
                Ok(Scope::Namespaces(vec!["a".into()])),
            ),
            (
                "a",
                Some(&["a", "a"]),
                A::ReadOnly,
                &[],
                Full,
                Ok(Scope::Namespaces(vec!["a".into()])),
            ),
            (
                "a",
                Some(&["b"]),
                A::ReadOnly,
                &[],
                Full,
                Err("ScopeNotAllowed"),
            ),
            (
                "a",
                Some(&["a", "b"]),
                A::ReadOnly,
                &["ops"],
                Full,
                Err("ScopeNotAllowed"),
            ),
            (
                "a",
                Some(&["*"]),
                A::ReadOnly,
                &[],
                Full,
                Err("ScopeNotAllowed"),
            ),
            (
                "ops",
                Some(&["b", "c"]),
                A::ReadOnly,
                &["ops"],
                Full,
                Ok(Scope::Namespaces(vec!["b".into(), "c".into()])),
            ),
            (
                "ops",
                Some(&["*"]),
                A::ReadOnly,
                &["ops"],
                Full,
                Ok(Scope::Cluster),
            ),
            (
                "a",
                None,
                A::Full,
                &[],
                NonDestructive,
                Err("AccessNotAllowed"),
            ),
            (
                "a",
                None,
                A::NonDestructive,
                &[],
                ReadOnly,
                Err("AccessNotAllowed"),
            ),
            (
                "a",
                None,
                A::NonDestructive,
                &[],
                NonDestructive,
                Ok(Scope::Namespaces(vec!["a".into()])),
            ),
            (
                "ops",
                None,
                A::Full,
                &["ops"],
                ReadOnly,
                Err("AccessNotAllowed"),
            ),
        ];
        for (ns, namespaces, access, admins, max, want) in cases {
            let got = evaluate(&ep(ns, spec(namespaces, access)), &cfg(admins, max));
            match (&got, &want) {
                (Ok(g), Ok(s)) => assert_eq!(&g.scope, s, "{ns} {namespaces:?}"),
                (Err(r), Err(reason)) => {
                    assert_eq!(r.reason(), *reason, "{ns} {namespaces:?}");
                    assert!(
                        r.message().contains("spec."),
                        "message says how to fix: {}",
                        r.message()
                    );
                }
                _ => panic!("{ns} {namespaces:?} {access:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    fn own() -> Scope {
        Scope::Namespaces(vec!["a".into()])
    }

    #[test]
    fn tool_sets_follow_the_ceiling() {
        use kube_mcp_catalog::tools::CATALOG;
        let (m, v) = (SecretsPolicy::Masked, SecretsPolicy::Visible);
        let ro = effective_tools(Access::ReadOnly, None, m, &own());
        assert!(ro.iter().all(|t| t.class == ToolClass::ReadOnly));
        assert_eq!(
            ro.len(),
            CATALOG
                .iter()
                .filter(|t| t.class == ToolClass::ReadOnly)
                .count()
        );
        let nd = effective_tools(Access::NonDestructive, None, m, &own());
        assert!(nd.iter().all(|t| t.class != ToolClass::Destructive));
        assert!(nd.iter().any(|t| t.class == ToolClass::Write));
        assert_eq!(
            effective_tools(Access::Full, None, v, &Scope::Cluster).len(),
            CATALOG.len()
        );
    }

    #[test]
    fn allowlist_intersects_the_ceiling() {
        use kube_mcp_catalog::tools::CATALOG;
        let m = SecretsPolicy::Masked;
        let write = CATALOG
            .iter()
            .find(|t| t.class == ToolClass::Write)
            .unwrap()
            .name;
        let read = CATALOG
            .iter()
            .find(|t| t.class == ToolClass::ReadOnly)
            .unwrap()
            .name;
        let list = vec![write.to_string(), read.to_string()];
        let got: Vec<_> = effective_tools(Access::ReadOnly, Some(&list), m, &own())
            .iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(got, [read]);
        let o = offer(Access::ReadOnly, Some(&list), m, &own(), false);
        assert_eq!(o.dropped.len(), 1, "the write tool is reported as dropped");
        let got = effective_tools(Access::NonDestructive, Some(&list), m, &own());
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn scope_refusals_say_what_actually_works() {
        for namespaces in [&["*"][..], &["b"][..]] {
            let r = evaluate(
                &ep("a", spec(Some(namespaces), Access::ReadOnly)),
                &cfg(&["ops"], crate::config::MaxAccess::ReadOnly),
            )
            .unwrap_err();
            let m = r.message();
            assert!(
                m.contains("remove spec.namespaces") && m.contains("\"a\"") && m.contains("ops"),
                "{m}"
            );
            assert!(!m.contains("list namespaces explicitly"), "{m}");
        }
    }

    #[test]
    fn an_image_outside_the_policy_is_refused() {
        let s = McpEndpointSpec {
            image: Some("attacker.example/exfil".into()),
            ..Default::default()
        };
        let r = evaluate(&ep("a", s.clone()), &Config::default()).unwrap_err();
        assert_eq!(r.reason(), "ImageNotAllowed");
        let allowed = Config {
            allowed_images: vec!["attacker.example/*".into()],
            ..Config::default()
        };
        assert!(evaluate(&ep("a", s), &allowed).is_ok());
    }

    #[test]
    fn no_effective_tools_is_refused() {
        use kube_mcp_catalog::tools::CATALOG;
        let write = CATALOG
            .iter()
            .find(|t| t.class == ToolClass::Write)
            .unwrap()
            .name;
        let s = McpEndpointSpec {
            tools: Some(vec![write.into()]),
            ..Default::default()
        };
        let r = evaluate(&ep("a", s), &Config::default()).unwrap_err();
        assert_eq!(r.reason(), "NoEffectiveTools");
        let s = McpEndpointSpec {
            tools: Some(vec![]),
            ..Default::default()
        };
        assert!(evaluate(&ep("a", s), &Config::default()).is_err());
    }
}
