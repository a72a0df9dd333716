//! Which tools this server offers, with the seed's precedence
//! (ALLOWED_TOOLS > ALLOW_ONLY_READONLY_TOOLS > ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS),
//! then what each tool needs (a cluster-wide scope, visible Secrets).
//!
//! The decision is [`kube_mcp_catalog::policy::offer`], the same function the
//! operator uses for an endpoint's tools and RBAC.

use crate::config::Settings;
use crate::scope::Scope;
use kube_mcp_catalog::policy::{self, Offer, Request};
use kube_mcp_catalog::{CATALOG, ToolClass, ToolId, ToolSpec};
use std::collections::BTreeSet;

/// Why the settings name no usable set of tools.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("ALLOWED_TOOLS: {0}")]
    Unknown(#[from] policy::UnknownTools),
    #[error("ALLOWED_TOOLS names tools this server cannot offer: {0}")]
    CannotOffer(String),
}

/// The set of tools one server offers.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolFilter {
    enabled: BTreeSet<ToolId>,
    /// Tools left out by what they need, one sentence each (logged at start-up).
    pub dropped: Vec<String>,
}

impl ToolFilter {
    pub fn from_settings(s: &Settings) -> Result<Self, FilterError> {
        let allowed: Vec<String> = s
            .allowed_tools
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let ceiling = if !allowed.is_empty() || (!s.readonly && !s.non_destructive) {
            ToolClass::Destructive
        } else if s.readonly {
            ToolClass::ReadOnly
        } else {
            ToolClass::Write
        };
        let offer = policy::offer(Request {
            allowlist: (!allowed.is_empty()).then_some(allowed.as_slice()),
            ceiling,
            secrets: s.secrets_mode(),
            cluster_scope: Scope::from_list(&s.namespaces).is_all(),
            caller_authorization: s.authorize == crate::config::Authorize::Caller,
        })?;
        // A tool asked for by name that cannot be offered is a configuration
        // error, not something to drop quietly.
        if !allowed.is_empty() && !offer.dropped.is_empty() {
            return Err(FilterError::CannotOffer(offer.explanations().join("; ")));
        }
        Ok(Self::from_offer(&offer))
    }

    fn from_offer(offer: &Offer) -> Self {
        Self {
            enabled: offer.tools.iter().map(|t| t.id).collect(),
            dropped: offer.explanations(),
        }
    }

    pub fn allows(&self, id: ToolId) -> bool {
        self.enabled.contains(&id)
    }

    /// Enabled tools in catalog order.
    pub fn tools(&self) -> impl Iterator<Item = &'static ToolSpec> + '_ {
        CATALOG.iter().filter(|t| self.enabled.contains(&t.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretsMode;

    fn names(s: Settings) -> Vec<&'static str> {
        ToolFilter::from_settings(&s)
            .unwrap()
            .tools()
            .map(|t| t.name)
            .collect()
    }

    fn visible() -> Settings {
        Settings {
            secrets: Some(SecretsMode::Visible),
            ..Default::default()
        }
    }

    #[test]
    fn precedence_table() {
        let ro = Settings {
            readonly: true,
            ..visible()
        };
        let nd = Settings {
            non_destructive: true,
            ..visible()
        };
        let both = Settings {
            readonly: true,
            non_destructive: true,
            ..visible()
        };
        let allow = Settings {
            allowed_tools: vec!["kubectl_delete".into(), " ping".into()],
            readonly: true,
            non_destructive: true,
            ..visible()
        };
        assert_eq!(names(visible()).len(), 23);
        assert_eq!(
            names(ro),
            [
                "kubectl_get",
                "kubectl_describe",
                "kubectl_logs",
                "kubectl_context",
                "kubectl_reconnect",
                "explain_resource",
                "list_api_resources",
                "ping"
            ]
        );
        let nd = names(nd);
        assert_eq!(nd.len(), 18);
        assert!(!nd.contains(&"kubectl_delete") && nd.contains(&"kubectl_apply"));
        assert_eq!(names(both).len(), 8, "read-only wins over non-destructive");
        assert_eq!(
            names(allow),
            ["ping", "kubectl_delete"],
            "ALLOWED_TOOLS wins over both modes"
        );
    }

    #[test]
    fn masked_secrets_leave_out_helm_and_a_scope_leaves_out_nodes() {
        let f = ToolFilter::from_settings(&Settings {
            namespaces: vec!["team-a".into()],
            ..Default::default()
        })
        .unwrap();
        assert!(!f.allows(ToolId::InstallHelmChart));
        assert!(!f.allows(ToolId::NodeManagement));
        assert!(f.allows(ToolId::KubectlDelete));
        assert_eq!(f.dropped.len(), 4, "{:?}", f.dropped);
        // Asked for by name, they are a start-up error that says why.
        let err = ToolFilter::from_settings(&Settings {
            allowed_tools: vec!["kubectl_get".into(), "install_helm_chart".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("KUBE_MCP_SECRETS=visible"),
            "{err}"
        );
    }

    #[test]
    fn unknown_allowed_tool_lists_the_known_names() {
        let s = Settings {
            allowed_tools: vec!["kubectl_get".into(), "kubectl_nuke".into()],
            ..Default::default()
        };
        let err = ToolFilter::from_settings(&s).unwrap_err();
        assert!(err.to_string().contains("kubectl_nuke"), "{err}");
        assert!(err.to_string().contains("kubectl_get, kubectl_describe"));
    }
}
