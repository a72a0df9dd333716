//! From a verified OIDC token's claims to a Kubernetes-style principal, the
//! way the API server maps OIDC users: a username claim with a prefix, a
//! groups claim with a prefix, and `system:authenticated` for everyone.

use crate::identity::{Method, Principal};
use serde_json::{Map, Value};

/// What the API server adds to every authenticated user's groups.
pub const AUTHENTICATED: &str = "system:authenticated";

/// How claims become a user name and groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub username_claim: String,
    /// Already resolved: empty for none.
    pub username_prefix: String,
    /// `None`: the token's groups are not used.
    pub groups_claim: Option<String>,
    pub groups_prefix: String,
}

impl Mapping {
    /// The API server's defaults: an unset username prefix is `<issuer>#`
    /// unless the claim is `email`; `-` means none.
    pub fn new(
        issuer: &str,
        username_claim: &str,
        username_prefix: Option<&str>,
        groups_claim: &str,
        groups_prefix: &str,
    ) -> Self {
        let username_prefix = match username_prefix {
            Some("-") => String::new(),
            Some(p) => p.to_string(),
            None if username_claim == "email" => String::new(),
            None => format!("{issuer}#"),
        };
        Self {
            username_claim: username_claim.to_string(),
            username_prefix,
            groups_claim: Some(groups_claim.trim())
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            groups_prefix: groups_prefix.to_string(),
        }
    }
}

/// Why claims do not make a user. Shown to the client (no claim values).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("the token has no string claim {0:?} to take the user name from")]
    NoUsername(String),
    #[error("the token's email is not verified (email_verified is not true)")]
    EmailNotVerified,
    #[error("the token's claim {0:?} is neither a string nor a list of strings")]
    BadGroups(String),
    #[error(
        "the token maps to a reserved system: user or group name; set a username or groups prefix"
    )]
    Reserved,
}

fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

/// The scopes a token carries: `scope` (space-separated, RFC 9068) or `scp`
/// (a list or a string, as some identity providers write it).
pub fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let from = |v: &Value| match v {
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        other => strings(other).unwrap_or_default(),
    };
    claims
        .get("scope")
        .or_else(|| claims.get("scp"))
        .map(from)
        .unwrap_or_default()
}

/// The required scopes `have` lacks, in the order required.
pub fn missing_scopes(have: &[String], required: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|r| !have.contains(r))
        .cloned()
        .collect()
}

/// The principal the claims name.
pub fn principal(claims: &Map<String, Value>, m: &Mapping) -> Result<Principal, ClaimError> {
    let name = claims
        .get(&m.username_claim)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ClaimError::NoUsername(m.username_claim.clone()))?;
    if m.username_claim == "email"
        && claims
            .get("email_verified")
            .is_some_and(|v| v != &Value::Bool(true))
    {
        return Err(ClaimError::EmailNotVerified);
    }
    let username = format!("{}{name}", m.username_prefix);
    let mut groups = match &m.groups_claim {
        Some(c) => match claims.get(c) {
            None | Some(Value::Null) => vec![],
            Some(v) => strings(v).ok_or_else(|| ClaimError::BadGroups(c.clone()))?,
        },
        None => vec![],
    };
    for g in &mut groups {
        g.insert_str(0, &m.groups_prefix);
    }
    // Names the API server reserves for itself would let a token claim
    // system:masters; the API server refuses them from OIDC, and so do we.
    if username.starts_with("system:") || groups.iter().any(|g| g.starts_with("system:")) {
        return Err(ClaimError::Reserved);
    }
    groups.push(AUTHENTICATED.into());
    Ok(Principal {
        method: Method::Oidc,
        username: Some(username),
        uid: None,
        groups,
        extra: Default::default(),
        scopes: scopes(claims),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "https://idp.example.com";

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn prefixes_follow_the_api_server() {
        let m = |claim, prefix| Mapping::new(ISSUER, claim, prefix, "groups", "");
        assert_eq!(m("sub", None).username_prefix, "https://idp.example.com#");
        assert_eq!(m("email", None).username_prefix, "");
        assert_eq!(m("sub", Some("-")).username_prefix, "");
        assert_eq!(m("sub", Some("oidc:")).username_prefix, "oidc:");
        assert_eq!(
            Mapping::new(ISSUER, "sub", None, " ", "").groups_claim,
            None
        );
    }

    #[test]
    fn claims_table() {
        let m = Mapping::new(ISSUER, "sub", Some("oidc:"), "groups", "oidc:");
        let email = Mapping::new(ISSUER, "email", None, "groups", "");
        let ok = |m: &Mapping, c: Value| principal(&claims(c), m).unwrap();
        let err = |m: &Mapping, c: Value| principal(&claims(c), m).unwrap_err();

        let p = ok(&m, json!({"sub": "alice", "groups": ["dev", "ops"]}));
        assert_eq!(p.username.as_deref(), Some("oidc:alice"));
        assert_eq!(p.groups, ["oidc:dev", "oidc:ops", "system:authenticated"]);
        assert_eq!(
            ok(&m, json!({"sub": "a", "groups": "one"})).groups[0],
            "oidc:one"
        );
        assert_eq!(ok(&m, json!({"sub": "a"})).groups, [AUTHENTICATED]);
        assert_eq!(
            err(&m, json!({"groups": []})),
            ClaimError::NoUsername("sub".into())
        );
        assert_eq!(
            err(&m, json!({"sub": 7})),
            ClaimError::NoUsername("sub".into())
        );
        assert_eq!(
            err(&m, json!({"sub": "a", "groups": [1]})),
            ClaimError::BadGroups("groups".into())
        );
        let e = ok(&email, json!({"email": "a@x.io", "email_verified": true}));
        assert_eq!(e.username.as_deref(), Some("a@x.io"));
        assert_eq!(
            err(&email, json!({"email": "a@x.io", "email_verified": false})),
            ClaimError::EmailNotVerified
        );
        let bare = Mapping::new(ISSUER, "sub", Some("-"), "groups", "");
        assert_eq!(
            err(&bare, json!({"sub": "system:admin"})),
            ClaimError::Reserved
        );
        assert_eq!(
            err(&bare, json!({"sub": "a", "groups": ["system:masters"]})),
            ClaimError::Reserved
        );
    }

    #[test]
    fn scopes_from_scope_or_scp() {
        assert_eq!(scopes(&claims(json!({"scope": "a  b"}))), ["a", "b"]);
        assert_eq!(scopes(&claims(json!({"scp": ["a", "b"]}))), ["a", "b"]);
        assert_eq!(scopes(&claims(json!({"scp": "a b"}))), ["a", "b"]);
        assert!(scopes(&claims(json!({}))).is_empty());
        let have = vec!["mcp:read".to_string()];
        let need = vec!["mcp:read".to_string(), "mcp:tools".to_string()];
        assert_eq!(missing_scopes(&have, &need), ["mcp:tools"]);
        assert!(missing_scopes(&need, &have).is_empty());
    }
}
