//! JWTs from one OIDC issuer: the signature with an allowed asymmetric
//! algorithm and the issuer's published key, then `iss`, `aud`, `exp` and
//! `nbf` (with [`LEEWAY`]), then the claims mapped to a user and groups and
//! the required scopes.

use super::claims::{self, Mapping};
use super::fetch::Fetcher;
use super::jwks::KeyCache;
use super::{AuthnError, Failure};
use crate::config::Settings;
use crate::identity::Principal;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};
use std::str::FromStr;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY: u64 = 30;

/// Every asymmetric algorithm: the default allowlist. HMAC would let anyone
/// holding a public key sign tokens; `none` signs nothing.
pub const ASYMMETRIC: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

pub struct OidcVerifier {
    issuer: String,
    audiences: Vec<String>,
    mapping: Mapping,
    required_scopes: Vec<String>,
    algorithms: Vec<Algorithm>,
    keys: KeyCache,
}

/// The allowlist from `--oidc-signing-algs`.
pub fn algorithms(names: &[String]) -> Result<Vec<Algorithm>, AuthnError> {
    if names.iter().all(|n| n.trim().is_empty()) {
        return Ok(ASYMMETRIC.to_vec());
    }
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            Algorithm::from_str(n)
                .ok()
                .filter(|a| ASYMMETRIC.contains(a))
                .ok_or_else(|| AuthnError::Config(format!(
                    "KUBE_MCP_OIDC_SIGNING_ALGS: {n:?} is not an asymmetric JWT algorithm; use some of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA"
                )))
        })
        .collect()
}

impl OidcVerifier {
    pub fn new(
        settings: &Settings,
        issuer: &str,
        audiences: Vec<String>,
    ) -> Result<Self, AuthnError> {
        let issuer = issuer.trim().to_string();
        if !issuer.starts_with("https://") {
            return Err(AuthnError::Config(format!(
                "KUBE_MCP_OIDC_ISSUER_URL {issuer:?} must be an https:// URL, exactly as the issuer's tokens name it"
            )));
        }
        let mapping = Mapping::new(
            &issuer,
            &settings.oidc_username_claim,
            settings.oidc_username_prefix.as_deref(),
            &settings.oidc_groups_claim,
            &settings.oidc_groups_prefix,
        );
        Ok(Self {
            keys: KeyCache::new(
                issuer.clone(),
                Fetcher::new(settings.oidc_ca_file.as_deref())?,
            ),
            issuer,
            audiences,
            mapping,
            required_scopes: required_scopes(settings),
            algorithms: algorithms(&settings.oidc_signing_algs)?,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Reads the issuer's keys now, so a wrong issuer URL or CA shows in the
    /// log at start-up rather than at the first call.
    pub async fn warm(&self) {
        if let Err(e) = self.keys.refresh().await {
            tracing::warn!(issuer = %self.issuer, "cannot read the OIDC issuer's keys yet: {e}");
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, Failure> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            Failure::Invalid(
                "the token is not a JWT signed with an algorithm this server knows (unsigned tokens are never accepted)".into(),
            )
        })?;
        if !self.algorithms.contains(&header.alg) {
            return Err(Failure::Invalid(format!(
                "the token is signed with {:?}, which this server does not accept",
                header.alg
            )));
        }
        let key = self.keys.key(header.kid.as_deref()).await?;
        if key
            .alg
            .as_deref()
            .is_some_and(|a| a != format!("{:?}", header.alg))
        {
            return Err(Failure::Invalid(
                "the token's algorithm is not the one its key is published for".into(),
            ));
        }
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&self.audiences);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.leeway = LEEWAY;
        v.validate_nbf = true;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &v)
            .map_err(|e| Failure::Invalid(self.explain(e.kind())))?;
        let principal = claims::principal(&data.claims, &self.mapping)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        let missing = claims::missing_scopes(&principal.scopes, &self.required_scopes);
        if !missing.is_empty() {
            return Err(Failure::InsufficientScope(missing));
        }
        Ok(principal)
    }

    /// Why a token failed, in words a user can act on (no claim values).
    fn explain(&self, kind: &ErrorKind) -> String {
        match kind {
            ErrorKind::ExpiredSignature => "the token has expired; get a new one".into(),
            ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
            ErrorKind::InvalidIssuer => format!("the token is not from the issuer {}", self.issuer),
            ErrorKind::InvalidAudience => format!(
                "the token is not for this server; request one with the audience (resource) {}",
                self.audiences
                    .first()
                    .map(String::as_str)
                    .unwrap_or_default()
            ),
            ErrorKind::InvalidSignature => "the token's signature does not verify".into(),
            ErrorKind::MissingRequiredClaim(c) => format!("the token has no {c} claim"),
            ErrorKind::InvalidAlgorithm => "the token's algorithm does not fit its key".into(),
            other => format!("the token could not be verified ({other:?})"),
        }
    }
}

/// The scopes every token must carry.
pub fn required_scopes(settings: &Settings) -> Vec<String> {
    settings
        .oidc_required_scopes
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_algorithm_allowlist_is_asymmetric() {
        assert_eq!(algorithms(&[]).unwrap(), ASYMMETRIC);
        assert_eq!(
            algorithms(&["RS256".into(), " ES256".into()]).unwrap(),
            [Algorithm::RS256, Algorithm::ES256]
        );
        for bad in ["HS256", "none", "XX1"] {
            let e = algorithms(&[bad.into()]).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("RS256"), "{e}");
        }
    }

    #[test]
    fn the_issuer_must_be_https() {
        let s = Settings::default();
        let e = OidcVerifier::new(&s, "http://idp.example.com", vec![])
            .err()
            .unwrap();
        assert!(e.to_string().contains("https://"), "{e}");
    }
}
