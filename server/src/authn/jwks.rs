//! The OIDC issuer's signing keys: read from its discovery document's
//! `jwks_uri`, kept for a while, and read again when a token names a key id
//! the server does not know (key rotation), at most once per
//! [`MIN_REFRESH`] however many such tokens arrive.

use super::Failure;
use super::fetch::Fetcher;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Fewest seconds between two reads of the keys.
pub const MIN_REFRESH: Duration = Duration::from_secs(5);
/// Keys older than this are read again before use.
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// One usable verification key.
#[derive(Clone)]
pub struct Key {
    pub key: DecodingKey,
    /// The algorithm the key is published for, if the issuer says.
    pub alg: Option<String>,
}

/// The keys of one read of the key set.
#[derive(Clone, Default)]
pub struct Keys {
    by_kid: HashMap<String, Key>,
    unnamed: Vec<Key>,
}

impl Keys {
    /// The keys of a JWKS document that can verify signatures: asymmetric,
    /// not marked for encryption; others are skipped, not fatal.
    pub fn from_document(doc: &Value) -> Keys {
        let mut keys = Keys::default();
        for raw in doc
            .get("keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
                continue;
            };
            let symmetric = matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_));
            let for_encryption =
                matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption));
            if symmetric || for_encryption {
                continue;
            }
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            let key = Key {
                key,
                alg: jwk.common.key_algorithm.map(|a| a.to_string()),
            };
            match jwk.common.key_id {
                Some(kid) => {
                    keys.by_kid.insert(kid, key);
                }
                None => keys.unnamed.push(key),
            }
        }
        keys
    }

    /// The key for `kid`; a token without one may only use the sole key.
    pub fn find(&self, kid: Option<&str>) -> Option<&Key> {
        match kid {
            Some(k) => self.by_kid.get(k),
            None if self.by_kid.len() + self.unnamed.len() == 1 => {
                self.unnamed.first().or_else(|| self.by_kid.values().next())
            }
            None => None,
        }
    }

    pub fn len(&self) -> usize {
        self.by_kid.len() + self.unnamed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Default)]
struct State {
    keys: Arc<Keys>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
}

pub struct KeyCache {
    issuer: String,
    http: Fetcher,
    state: RwLock<State>,
    /// One read at a time; the others wait for it and use its keys.
    refreshing: tokio::sync::Mutex<()>,
}

impl KeyCache {
    pub fn new(issuer: String, http: Fetcher) -> Self {
        Self {
            issuer,
            http,
            state: RwLock::default(),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn snapshot(&self) -> (Arc<Keys>, bool, bool) {
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        let fresh = s.fetched.is_some_and(|t| t.elapsed() < MAX_AGE);
        let may_refresh = s.attempted.is_none_or(|t| t.elapsed() >= MIN_REFRESH);
        (s.keys.clone(), fresh, may_refresh)
    }

    /// The key a token names, reading the keys again if it is not known.
    pub async fn key(&self, kid: Option<&str>) -> Result<Key, Failure> {
        let (keys, fresh, _) = self.snapshot();
        if fresh && let Some(k) = keys.find(kid) {
            return Ok(k.clone());
        }
        let read_error = {
            let _one = self.refreshing.lock().await;
            // Another caller may have read the keys while this one waited.
            let (keys, fresh, may_refresh) = self.snapshot();
            match keys.find(kid) {
                Some(k) if fresh => return Ok(k.clone()),
                _ if may_refresh => self.refresh().await.err(),
                _ => None,
            }
        };
        let (keys, _, _) = self.snapshot();
        if let Some(k) = keys.find(kid) {
            return Ok(k.clone());
        }
        match read_error {
            Some(e) if keys.is_empty() => Err(Failure::Unavailable(format!(
                "the server cannot read the OIDC issuer's keys: {e}"
            ))),
            _ => Err(Failure::Invalid(match kid {
                Some(k) => {
                    format!("the token is signed with key {k:?}, which the issuer does not publish")
                }
                None => "the token names no key (kid) and the issuer publishes several".into(),
            })),
        }
    }

    /// Reads the discovery document and the keys it points to.
    pub async fn refresh(&self) -> Result<usize, String> {
        self.state
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .attempted = Some(Instant::now());
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let discovery = self.http.get_json(&discovery_url).await?;
        let issuer = discovery.get("issuer").and_then(Value::as_str);
        if issuer != Some(self.issuer.as_str()) {
            return Err(format!(
                "{discovery_url} names the issuer {issuer:?}, not {:?}; KUBE_MCP_OIDC_ISSUER_URL must be exactly the issuer",
                self.issuer
            ));
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .filter(|u| u.starts_with("https://"))
            .ok_or_else(|| format!("{discovery_url} has no https jwks_uri"))?;
        let keys = Keys::from_document(&self.http.get_json(jwks_uri).await?);
        if keys.is_empty() {
            return Err(format!("{jwks_uri} holds no usable signing key"));
        }
        let n = keys.len();
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        s.keys = Arc::new(keys);
        s.fetched = Some(Instant::now());
        tracing::info!(issuer = %self.issuer, keys = n, "read the OIDC issuer's signing keys");
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // A P-256 public key (the RFC 7515 appendix A.3 example).
    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    fn ec(kid: Option<&str>, extra: Value) -> Value {
        let mut k = json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y});
        if let Some(kid) = kid {
            k["kid"] = kid.into();
        }
        for (a, b) in extra.as_object().unwrap() {
            k[a] = b.clone();
        }
        k
    }

    #[test]
    fn only_signature_keys_are_kept() {
        let doc = json!({"keys": [
            ec(Some("a"), json!({"alg": "ES256", "use": "sig"})),
            ec(Some("enc"), json!({"use": "enc"})),
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "weird", "kid": "w"},
            ec(None, json!({})),
        ]});
        let keys = Keys::from_document(&doc);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.find(Some("a")).unwrap().alg.as_deref(), Some("ES256"));
        for absent in ["enc", "hmac", "w", "b"] {
            assert!(keys.find(Some(absent)).is_none(), "{absent}");
        }
        assert!(keys.find(None).is_none(), "two keys: a token must name one");
        let one = Keys::from_document(&json!({"keys": [ec(Some("a"), json!({}))]}));
        assert!(
            one.find(None).is_some(),
            "the sole key serves tokens without kid"
        );
        assert!(Keys::from_document(&json!({})).is_empty());
    }
}
