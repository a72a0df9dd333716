//! The generated auth token Secret.

use crate::crd::McpEndpoint;
use crate::error::BuildError;
use crate::{labels, meta, names};
use base64::Engine;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use rand::TryRngCore;
use std::collections::BTreeMap;

/// Marks a token as ours. Secret scanners can match it, and a token never starts with
/// `-`: base64url does one time in 64, and a command line such as `--token $TOKEN` then
/// reads the token as an option (Python's argparse refuses it).
pub const TOKEN_PREFIX: &str = "kmcp_";

/// A fresh token: the prefix, then 32 bytes from the OS CSPRNG in base64url without padding.
pub fn generate_token() -> Result<String, BuildError> {
    let mut buf = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut buf)
        .map_err(BuildError::Random)?;
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf);
    Ok(format!("{TOKEN_PREFIX}{body}"))
}

/// Name and key of the Secret the server reads its token from.
pub fn token_source(ep: &McpEndpoint) -> (String, String) {
    match ep
        .spec
        .auth
        .as_ref()
        .and_then(|a| a.token_secret_ref.as_ref())
    {
        Some(r) => (r.name.clone(), r.key.clone()),
        None => (names::token_secret(ep), names::TOKEN_KEY.to_string()),
    }
}

/// Whether the endpoint names its own token Secret (`spec.auth.tokenSecretRef`).
pub fn is_referenced(ep: &McpEndpoint) -> bool {
    ep.spec
        .auth
        .as_ref()
        .is_some_and(|a| a.token_secret_ref.is_some())
}

/// Why the referenced Secret may not serve as the endpoint's token, or None
/// when it opted in with the label `kubemcp.io/token-for: <endpoint name>`.
/// Otherwise anyone allowed to create an McpEndpoint could have the operator
/// mount any Secret of the namespace into a pod and send its value over HTTP.
pub fn not_opted_in(ep: &McpEndpoint, secret: &ObjectMeta) -> Option<String> {
    let name = names::base(ep);
    let labelled = secret
        .labels
        .as_ref()
        .and_then(|l| l.get(labels::TOKEN_FOR))
        .is_some_and(|v| *v == name);
    if labelled {
        return None;
    }
    let ns = names::namespace(ep);
    let secret_name = secret.name.clone().unwrap_or_default();
    Some(format!(
        "Secret {ns}/{secret_name} (spec.auth.tokenSecretRef) is not labelled {}={name}; the operator uses only \
         Secrets that opted in as an endpoint's token. Label it (kubectl -n {ns} label secret {secret_name} \
         {}={name}) or remove spec.auth to have a token generated",
        labels::TOKEN_FOR,
        labels::TOKEN_FOR
    ))
}

/// The rotate-token annotation value of the endpoint ("" when absent).
fn rotation(ep: &McpEndpoint) -> String {
    ep.annotations()
        .get(labels::ROTATE_TOKEN)
        .cloned()
        .unwrap_or_default()
}

/// The token `existing` holds, if it was made for the endpoint's current
/// rotate-token value (an empty value counts as none).
fn kept_token(ep: &McpEndpoint, existing: Option<&Secret>) -> Option<ByteString> {
    let s = existing?;
    let made_for = s
        .annotations()
        .get(labels::ROTATED_FOR)
        .map_or("", String::as_str);
    let value = s.data.as_ref()?.get(names::TOKEN_KEY)?;
    (made_for == rotation(ep) && !value.0.is_empty()).then(|| value.clone())
}

/// The confirmation key `existing` holds (an empty value counts as none).
fn kept_key(existing: Option<&Secret>) -> Option<ByteString> {
    existing?
        .data
        .as_ref()?
        .get(names::CONFIRM_KEY)
        .filter(|k| !k.0.is_empty())
        .cloned()
}

/// Whether `token_secret` would make anything new from `existing`: a token
/// (none yet, or a rotation asked since it was made) or a confirmation key.
/// The reconciler then re-reads the Secret from the API server first: a
/// store that lags the operator's own last write must not rotate twice.
pub fn makes_fresh(ep: &McpEndpoint, existing: Option<&Secret>) -> bool {
    kept_token(ep, existing).is_none() || kept_key(existing).is_none()
}

/// The generated token Secret, or None when the endpoint references its own.
///
/// An existing token is kept unless the endpoint's `kubemcp.io/rotate-token`
/// annotation differs from the value the token was made for (kept in the
/// Secret's `kubemcp.io/rotated-for` annotation); then `fresh` makes a new one.
/// The Secret also holds the key the replicas sign confirmation state with,
/// made once by `fresh` and kept (a token rotation leaves it alone).
pub fn token_secret(
    ep: &McpEndpoint,
    existing: Option<&Secret>,
    fresh: impl Fn() -> Result<String, BuildError>,
) -> Result<Option<Secret>, BuildError> {
    if is_referenced(ep) {
        return Ok(None);
    }
    let token = match kept_token(ep, existing) {
        Some(t) => t,
        None => ByteString(fresh()?.into_bytes()),
    };
    let confirm_key = match kept_key(existing) {
        Some(k) => k,
        None => ByteString(fresh()?.into_bytes()),
    };
    let ns = names::namespace(ep);
    let mut metadata = meta::child(ep, &names::token_secret(ep), Some(&ns));
    metadata.annotations = Some(BTreeMap::from([(
        labels::ROTATED_FOR.to_string(),
        rotation(ep),
    )]));
    Ok(Some(Secret {
        metadata,
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([
            (names::TOKEN_KEY.to_string(), token),
            (names::CONFIRM_KEY.to_string(), confirm_key),
        ])),
        ..Secret::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{AuthSpec, McpEndpointSpec, SecretKeyRef};
    use crate::guard::tests::ep;

    fn fixed(v: &'static str) -> impl Fn() -> Result<String, BuildError> {
        move || Ok(v.to_string())
    }

    fn token(s: &Secret) -> &[u8] {
        &s.data.as_ref().unwrap()["token"].0
    }

    #[test]
    fn generated_tokens_are_random_and_urlsafe() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        let body = a.strip_prefix(TOKEN_PREFIX).unwrap();
        assert_eq!(body.len(), 43); // 32 bytes, base64 without padding
        assert!(
            body.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        // Enough draws that an unprefixed token would have started with '-' (1 in 64).
        assert!((0..1000).all(|_| !generate_token().unwrap().starts_with('-')));
    }

    #[test]
    fn first_token_then_kept_then_rotated() {
        let mut e = ep("a", McpEndpointSpec::default());
        let first = token_secret(&e, None, fixed("one")).unwrap().unwrap();
        assert_eq!(first.metadata.name.as_deref(), Some("ep-token"));
        assert_eq!(token(&first), b"one");
        assert!(first.metadata.owner_references.is_some());
        // Existing: kept, the generator is not asked.
        let kept = token_secret(&e, Some(&first), || panic!("must not regenerate"))
            .unwrap()
            .unwrap();
        assert_eq!(kept, first);
        // The annotation changes: a new token, and the new value is remembered.
        e.annotations_mut()
            .insert(labels::ROTATE_TOKEN.into(), "2026-11-27".into());
        let rotated = token_secret(&e, Some(&first), fixed("two"))
            .unwrap()
            .unwrap();
        assert_eq!(token(&rotated), b"two");
        assert_eq!(rotated.annotations()[labels::ROTATED_FOR], "2026-11-27");
        let again = token_secret(&e, Some(&rotated), || panic!("must not regenerate"))
            .unwrap()
            .unwrap();
        assert_eq!(token(&again), b"two");
    }

    #[test]
    fn fresh_values_are_made_only_when_due() {
        let mut e = ep("a", McpEndpointSpec::default());
        assert!(makes_fresh(&e, None));
        let first = token_secret(&e, None, fixed("one")).unwrap().unwrap();
        assert!(!makes_fresh(&e, Some(&first)));
        let mut no_key = first.clone();
        no_key.data.as_mut().unwrap().remove("confirm-key");
        assert!(makes_fresh(&e, Some(&no_key)));
        let mut empty = first.clone();
        empty
            .data
            .as_mut()
            .unwrap()
            .insert("token".into(), ByteString(vec![]));
        assert!(makes_fresh(&e, Some(&empty)));
        e.annotations_mut()
            .insert(labels::ROTATE_TOKEN.into(), "r1".into());
        assert!(makes_fresh(&e, Some(&first)));
        let rotated = token_secret(&e, Some(&first), fixed("two"))
            .unwrap()
            .unwrap();
        assert!(!makes_fresh(&e, Some(&rotated)));
    }

    #[test]
    fn the_confirmation_key_is_made_once_and_survives_rotation() {
        let mut e = ep("a", McpEndpointSpec::default());
        let key = |s: &Secret| s.data.as_ref().unwrap()["confirm-key"].0.clone();
        let first = token_secret(&e, None, fixed("one")).unwrap().unwrap();
        assert_eq!(key(&first), b"one");
        e.annotations_mut()
            .insert(labels::ROTATE_TOKEN.into(), "2026-12-02".into());
        let rotated = token_secret(&e, Some(&first), fixed("two"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (token(&rotated), key(&rotated)),
            (&b"two"[..], b"one".to_vec())
        );
        // A Secret from before confirmations gets a key, its token kept.
        let mut old = first.clone();
        old.data.as_mut().unwrap().remove("confirm-key");
        let e = ep("a", McpEndpointSpec::default());
        let upgraded = token_secret(&e, Some(&old), fixed("three"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (token(&upgraded), key(&upgraded)),
            (&b"one"[..], b"three".to_vec())
        );
    }

    #[test]
    fn only_secrets_labelled_for_the_endpoint_may_serve() {
        let e = ep("a", McpEndpointSpec::default());
        let meta = |label: Option<(&str, &str)>| ObjectMeta {
            name: Some("db".into()),
            labels: label.map(|(k, v)| BTreeMap::from([(k.to_string(), v.to_string())])),
            ..ObjectMeta::default()
        };
        assert_eq!(
            not_opted_in(&e, &meta(Some((labels::TOKEN_FOR, "ep")))),
            None
        );
        for m in [
            meta(None),
            meta(Some((labels::TOKEN_FOR, "other-endpoint"))),
            meta(Some(("app", "ep"))),
        ] {
            let why = not_opted_in(&e, &m).unwrap();
            assert!(
                why.contains("Secret a/db")
                    && why.contains("kubectl -n a label secret db kubemcp.io/token-for=ep"),
                "{why}"
            );
        }
    }

    #[test]
    fn referenced_secret_means_none_generated() {
        let s = McpEndpointSpec {
            auth: Some(AuthSpec {
                token_secret_ref: Some(SecretKeyRef {
                    name: "mine".into(),
                    key: "k".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = ep("a", s);
        assert!(token_secret(&e, None, fixed("x")).unwrap().is_none());
        assert_eq!(token_source(&e), ("mine".into(), "k".into()));
        assert_eq!(
            token_source(&ep("a", McpEndpointSpec::default())),
            ("ep-token".into(), "token".into())
        );
    }
}
