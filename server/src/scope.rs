//! Namespace scope: which namespaces a server may touch. Checked before any
//! API request, so an out-of-scope call never reaches the API server.

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace (`*`, or no setting).
    All,
    /// Only these.
    Only(BTreeSet<String>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("namespace {namespace:?} is outside this server's scope; it may only use: {allowed}")]
pub struct OutOfScope {
    pub namespace: String,
    pub allowed: String,
}

impl Scope {
    pub fn from_list(list: &[String]) -> Self {
        let set: BTreeSet<String> = list
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        if set.is_empty() || set.contains("*") {
            Scope::All
        } else {
            Scope::Only(set)
        }
    }

    pub fn check(&self, namespace: &str) -> Result<(), OutOfScope> {
        match self {
            Scope::All => Ok(()),
            Scope::Only(set) if set.contains(namespace) => Ok(()),
            Scope::Only(set) => Err(OutOfScope {
                namespace: namespace.to_string(),
                allowed: set.iter().cloned().collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The namespaces an all-namespaces listing covers: `None` means the
    /// cluster-wide list, `Some` one list per namespace.
    pub fn list_targets(&self) -> Option<Vec<String>> {
        match self {
            Scope::All => None,
            Scope::Only(set) => Some(set.iter().cloned().collect()),
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// Whether cluster-scoped kinds (nodes, namespaces) are reachable:
    /// only a cluster-wide server reads them.
    pub fn allows_cluster_scoped(&self) -> bool {
        self.is_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let s = |v: &[&str]| Scope::from_list(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&[]), Scope::All);
        assert_eq!(s(&["a", "*"]), Scope::All);
        assert!(s(&["a", "b"]).check("b").is_ok());
        let err = s(&["a", " b "]).check("c").unwrap_err();
        assert_eq!(err.allowed, "a, b");
        assert!(err.to_string().contains("\"c\" is outside"));
        assert_eq!(
            s(&["b", "a"]).list_targets(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(s(&["*"]).list_targets(), None);
    }
}
