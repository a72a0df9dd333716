//! Which tools one server offers: the one function that both the server (its
//! filter) and the operator (an endpoint's effective tools and RBAC) call, so
//! the two can never disagree.

use crate::settings::SecretsMode;
use crate::tools::{CATALOG, Needs, ToolClass, ToolSpec};

/// What a server is asked to offer.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Tool names to offer; `None`: every tool up to the ceiling.
    pub allowlist: Option<&'a [String]>,
    /// The highest class offered.
    pub ceiling: ToolClass,
    pub secrets: SecretsMode,
    /// Whether the server may reach every namespace (`*`).
    pub cluster_scope: bool,
    /// Whether each Kubernetes request also needs the caller's rights
    /// (per-caller authorization).
    pub caller_authorization: bool,
}

/// Why a tool the allowlist names (or the ceiling would allow) is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Its class is above the ceiling.
    AboveCeiling {
        class: ToolClass,
        ceiling: ToolClass,
    },
    /// It needs a cluster-wide scope.
    NeedsClusterScope,
    /// It needs Secrets to be visible.
    NeedsVisibleSecrets,
    /// It reaches the API server outside the server's checked client, where
    /// per-caller authorization cannot see its requests.
    BypassesCallerAuthorization,
}

impl Dropped {
    /// One sentence: why, and how to get the tool.
    pub fn explain(&self, tool: &str) -> String {
        match self {
            Dropped::AboveCeiling { class, ceiling } => format!(
                "{tool} is a {} tool, above the access ceiling {} (raise the access level to offer it)",
                class.as_str(),
                ceiling.as_str()
            ),
            Dropped::NeedsClusterScope => format!(
                "{tool} works on nodes, which only a cluster-wide scope (namespaces: [\"*\"]) reaches"
            ),
            Dropped::NeedsVisibleSecrets => format!(
                "{tool} runs Helm, whose charts can read any Secret the server can (lookup) and print it, \
                 so it is offered only with Secrets visible (secrets: Visible / KUBE_MCP_SECRETS=visible)"
            ),
            Dropped::BypassesCallerAuthorization => format!(
                "{tool} runs a separate program with the server's own credentials, whose requests \
                 per-caller authorization cannot check, so it is not offered with authorize: Caller \
                 (KUBE_MCP_AUTHORIZE=caller)"
            ),
        }
    }
}

/// The tools offered, in catalog order, and those dropped with the reason.
#[derive(Debug, Clone, Default)]
pub struct Offer {
    pub tools: Vec<&'static ToolSpec>,
    /// Tools the allowlist names (or, without one, tools at or under the
    /// ceiling) that are not offered.
    pub dropped: Vec<(&'static ToolSpec, Dropped)>,
}

impl Offer {
    pub fn names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name.to_string()).collect()
    }

    /// Dropped tools as one readable sentence each.
    pub fn explanations(&self) -> Vec<String> {
        self.dropped
            .iter()
            .map(|(t, d)| d.explain(t.name))
            .collect()
    }
}

/// Names in an allowlist that are not tools.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tool(s): {unknown}. Known tools: {known}")]
pub struct UnknownTools {
    pub unknown: String,
    pub known: String,
}

/// The tools `req` offers. A tool is offered when the allowlist (if any)
/// names it, its class is at most the ceiling and what it needs holds.
pub fn offer(req: Request<'_>) -> Result<Offer, UnknownTools> {
    let listed: Option<Vec<&str>> = req.allowlist.map(|l| {
        l.iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .collect()
    });
    if let Some(list) = &listed {
        let unknown: Vec<&str> = list
            .iter()
            .copied()
            .filter(|n| !CATALOG.iter().any(|t| t.name == *n))
            .collect();
        if !unknown.is_empty() {
            return Err(UnknownTools {
                unknown: unknown.join(", "),
                known: crate::tools::names().collect::<Vec<_>>().join(", "),
            });
        }
    }
    let mut out = Offer::default();
    for t in CATALOG {
        let named = listed.as_ref().is_none_or(|l| l.contains(&t.name));
        if !named {
            continue;
        }
        let why = if t.class > req.ceiling {
            // Without an allowlist a tool above the ceiling was never asked for.
            if listed.is_none() {
                continue;
            }
            Some(Dropped::AboveCeiling {
                class: t.class,
                ceiling: req.ceiling,
            })
        } else if req.caller_authorization && t.bypasses_gate() {
            Some(Dropped::BypassesCallerAuthorization)
        } else {
            match t.needs {
                Needs::Nothing => None,
                Needs::ClusterScope if !req.cluster_scope => Some(Dropped::NeedsClusterScope),
                Needs::VisibleSecrets if req.secrets != SecretsMode::Visible => {
                    Some(Dropped::NeedsVisibleSecrets)
                }
                Needs::ClusterScope | Needs::VisibleSecrets => None,
            }
        };
        match why {
            None => out.tools.push(t),
            Some(d) => out.dropped.push((t, d)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ToolId;

    fn req(ceiling: ToolClass, secrets: SecretsMode, cluster: bool) -> Request<'static> {
        Request {
            allowlist: None,
            ceiling,
            secrets,
            cluster_scope: cluster,
            caller_authorization: false,
        }
    }

    fn names(o: &Offer) -> Vec<&'static str> {
        o.tools.iter().map(|t| t.name).collect()
    }

    #[test]
    fn ceilings_without_an_allowlist() {
        let ro = offer(req(ToolClass::ReadOnly, SecretsMode::Masked, false)).unwrap();
        assert!(ro.tools.iter().all(|t| t.class == ToolClass::ReadOnly));
        assert_eq!(ro.tools.len(), 8);
        assert!(
            ro.dropped.is_empty(),
            "nothing was asked for above the ceiling"
        );
        let full = offer(req(ToolClass::Destructive, SecretsMode::Visible, true)).unwrap();
        assert_eq!(full.tools.len(), CATALOG.len());
    }

    #[test]
    fn needs_drop_tools_and_say_why() {
        let o = offer(req(ToolClass::Destructive, SecretsMode::Masked, false)).unwrap();
        let dropped: Vec<_> = o.dropped.iter().map(|(t, d)| (t.id, *d)).collect();
        assert_eq!(
            dropped,
            [
                (ToolId::InstallHelmChart, Dropped::NeedsVisibleSecrets),
                (ToolId::UninstallHelmChart, Dropped::NeedsVisibleSecrets),
                (ToolId::UpgradeHelmChart, Dropped::NeedsVisibleSecrets),
                (ToolId::NodeManagement, Dropped::NeedsClusterScope),
            ]
        );
        assert!(o.explanations()[0].contains("lookup"));
        assert!(o.explanations()[3].contains("\"*\""));
    }

    #[test]
    fn caller_authorization_drops_the_tools_that_bypass_the_gate() {
        let o = offer(Request {
            caller_authorization: true,
            ..req(ToolClass::Destructive, SecretsMode::Visible, true)
        })
        .unwrap();
        let dropped: Vec<_> = o.dropped.iter().map(|(t, d)| (t.id, *d)).collect();
        assert_eq!(
            dropped,
            [
                (
                    ToolId::InstallHelmChart,
                    Dropped::BypassesCallerAuthorization
                ),
                (
                    ToolId::UninstallHelmChart,
                    Dropped::BypassesCallerAuthorization
                ),
                (
                    ToolId::UpgradeHelmChart,
                    Dropped::BypassesCallerAuthorization
                ),
            ]
        );
        assert!(o.explanations()[0].contains("authorize: Caller"));
        assert_eq!(o.tools.len(), CATALOG.len() - 3);
    }

    #[test]
    fn an_allowlist_above_the_ceiling_is_reported() {
        let list = vec!["kubectl_get".to_string(), "kubectl_delete".to_string()];
        let o = offer(Request {
            allowlist: Some(&list),
            ..req(ToolClass::ReadOnly, SecretsMode::Masked, false)
        })
        .unwrap();
        assert_eq!(names(&o), ["kubectl_get"]);
        assert_eq!(o.dropped.len(), 1);
        let why = o.explanations().remove(0);
        assert!(
            why.contains("kubectl_delete is a Destructive tool"),
            "{why}"
        );
    }

    #[test]
    fn unknown_names_are_an_error_listing_the_known_ones() {
        let list = vec!["kubectl_get".to_string(), "kubectl_nuke".to_string()];
        let err = offer(Request {
            allowlist: Some(&list),
            ..req(ToolClass::Destructive, SecretsMode::Masked, true)
        })
        .unwrap_err();
        assert_eq!(err.unknown, "kubectl_nuke");
        assert!(err.known.starts_with("kubectl_get, kubectl_describe"));
    }
}
