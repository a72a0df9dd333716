//! Which tools this server offers, with the seed's precedence:
//! ALLOWED_TOOLS > ALLOW_ONLY_READONLY_TOOLS > ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS.

use crate::catalog::{self, CATALOG, ToolClass, ToolSpec};
use crate::config::Settings;
use std::collections::BTreeSet;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unknown tool(s) in ALLOWED_TOOLS: {unknown}. Known tools: {known}")]
pub struct UnknownTools {
    pub unknown: String,
    pub known: String,
}

/// The set of tools one server offers.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolFilter {
    enabled: BTreeSet<&'static str>,
}

impl ToolFilter {
    pub fn from_settings(s: &Settings) -> Result<Self, UnknownTools> {
        let allowed: Vec<&str> = s
            .allowed_tools
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .collect();
        if !allowed.is_empty() {
            let unknown: Vec<&str> = allowed
                .iter()
                .copied()
                .filter(|t| catalog::find(t).is_none())
                .collect();
            if !unknown.is_empty() {
                return Err(UnknownTools {
                    unknown: unknown.join(", "),
                    known: catalog::names().collect::<Vec<_>>().join(", "),
                });
            }
            return Ok(Self::only(|t| allowed.contains(&t.name)));
        }
        if s.readonly {
            return Ok(Self::only(|t| t.class == ToolClass::ReadOnly));
        }
        if s.non_destructive {
            return Ok(Self::only(|t| t.class != ToolClass::Destructive));
        }
        Ok(Self::only(|_| true))
    }

    fn only(keep: impl Fn(&ToolSpec) -> bool) -> Self {
        Self {
            enabled: CATALOG.iter().filter(|t| keep(t)).map(|t| t.name).collect(),
        }
    }

    pub fn allows(&self, name: &str) -> bool {
        self.enabled.contains(name)
    }

    /// Enabled tools in catalog order.
    pub fn tools(&self) -> impl Iterator<Item = &'static ToolSpec> + '_ {
        CATALOG.iter().filter(|t| self.enabled.contains(t.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: Settings) -> Vec<&'static str> {
        ToolFilter::from_settings(&s)
            .unwrap()
            .tools()
            .map(|t| t.name)
            .collect()
    }

    #[test]
    fn precedence_table() {
        let ro = Settings {
            readonly: true,
            ..Default::default()
        };
        let nd = Settings {
            non_destructive: true,
            ..Default::default()
        };
        let both = Settings {
            readonly: true,
            non_destructive: true,
            ..Default::default()
        };
        let allow = Settings {
            allowed_tools: vec!["kubectl_delete".into(), " ping".into()],
            readonly: true,
            non_destructive: true,
            ..Default::default()
        };
        assert_eq!(names(Settings::default()).len(), 23);
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
    fn unknown_allowed_tool_lists_the_known_names() {
        let s = Settings {
            allowed_tools: vec!["kubectl_get".into(), "kubectl_nuke".into()],
            ..Default::default()
        };
        let err = ToolFilter::from_settings(&s).unwrap_err();
        assert_eq!(err.unknown, "kubectl_nuke");
        assert!(err.to_string().contains("kubectl_get, kubectl_describe"));
    }
}
