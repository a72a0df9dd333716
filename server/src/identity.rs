//! Who is calling: the principal an HTTP request authenticated as. The
//! authentication layer puts it on the request; the handler puts it on the
//! [`crate::call::Call`] it serves, where per-caller authorization (and the
//! audit log) read it.

use serde::Serialize;
use std::collections::BTreeMap;

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The shared static token: every holder looks alike, no user name.
    Token,
    /// A ServiceAccount token, checked by the API server's TokenReview.
    Kubernetes,
    /// A JWT from the OIDC issuer, checked against its keys.
    Oidc,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Token => "token",
            Method::Kubernetes => "kubernetes",
            Method::Oidc => "oidc",
        }
    }
}

/// An authenticated caller, named as Kubernetes names users, so its rights
/// can be asked of the API server (SubjectAccessReview).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Principal {
    pub method: Method,
    /// The Kubernetes user name (`system:serviceaccount:ns:sa`, or the
    /// OIDC claim with its prefix); `None` for the shared token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Extra attributes (TokenReview's `user.extra`), forwarded to reviews.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
    /// OAuth scopes the token carried (OIDC).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

impl Principal {
    /// The holder of the shared static token.
    pub fn shared_token() -> Self {
        Self {
            method: Method::Token,
            username: None,
            uid: None,
            groups: vec![],
            extra: BTreeMap::new(),
            scopes: vec![],
        }
    }

    /// How the caller is named in logs and refusals.
    pub fn display_name(&self) -> String {
        match &self.username {
            Some(u) => format!("{u} ({})", self.method.as_str()),
            None => "the shared token's holder".into(),
        }
    }

    /// Whether two requests come from the same caller (a legacy SSE
    /// session's messages must come from whoever opened it).
    pub fn same_caller(&self, other: &Principal) -> bool {
        self.method == other.method && self.username == other.username && self.uid == other.uid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sameness() {
        let sa = Principal {
            method: Method::Kubernetes,
            username: Some("system:serviceaccount:a:agent".into()),
            uid: Some("u1".into()),
            groups: vec!["system:serviceaccounts".into()],
            ..Principal::shared_token()
        };
        assert_eq!(
            sa.display_name(),
            "system:serviceaccount:a:agent (kubernetes)"
        );
        let mut rotated = sa.clone();
        rotated.groups.push("extra".into());
        assert!(sa.same_caller(&rotated), "same user, whatever its groups");
        let other = Principal {
            username: Some("system:serviceaccount:a:other".into()),
            ..sa.clone()
        };
        assert!(!sa.same_caller(&other));
        assert!(!sa.same_caller(&Principal::shared_token()));
        assert_eq!(
            serde_json::to_value(Principal::shared_token()).unwrap(),
            serde_json::json!({"method": "token"})
        );
    }
}
