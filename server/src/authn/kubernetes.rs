//! ServiceAccount tokens, checked by the API server's TokenReview for this
//! server's audience. The token is sent to the API server only to be
//! reviewed (with the server's own credentials); it is never used to act.

use super::{Failure, digest};
use crate::identity::{Method, Principal};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};
use kube::Api;
use kube::api::PostParams;
use moka::sync::Cache;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a review's answer is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(10);
const CACHE_ENTRIES: u64 = 10_000;

/// A cached answer, and until when it holds (never past the token's `exp`).
#[derive(Clone)]
struct Reviewed {
    answer: Result<Arc<Principal>, Failure>,
    until: Instant,
}

pub struct TokenReviewer {
    client: kube::Client,
    audiences: Vec<String>,
    cache: Cache<[u8; 32], Reviewed>,
}

/// What a review's status means for this server.
pub fn judge(status: &TokenReviewStatus, audiences: &[String]) -> Result<Principal, Failure> {
    let wrong_audience = || {
        Failure::Invalid(format!(
            "the token is not for this server's audience; request one for {} \
             (kubectl create token <sa> --audience {0}, or a projected token with that audience)",
            audiences.first().map(String::as_str).unwrap_or_default()
        ))
    };
    if status.authenticated != Some(true) {
        // The API server refuses a token minted for another audience when
        // asked for ours; its error says so (and holds no token material).
        let error = status.error.as_deref().unwrap_or_default();
        if error.contains("audience") {
            return Err(wrong_audience());
        }
        return Err(Failure::Invalid(
            "the API server does not accept this token (unknown, expired, or its pod is gone)"
                .into(),
        ));
    }
    // Empty audiences with `authenticated` means the token is for the API
    // server only; a token for another service is not one for this server.
    let ours = status
        .audiences
        .iter()
        .flatten()
        .any(|a| audiences.contains(a));
    if !ours {
        return Err(wrong_audience());
    }
    let user = status.user.clone().unwrap_or_default();
    let username = user.username.filter(|u| !u.is_empty()).ok_or_else(|| {
        Failure::Invalid("the API server accepted the token but named no user".into())
    })?;
    Ok(Principal {
        method: Method::Kubernetes,
        username: Some(username),
        uid: user.uid,
        groups: user.groups.unwrap_or_default(),
        extra: user.extra.unwrap_or_default().into_iter().collect(),
        scopes: vec![],
    })
}

/// When a JWT says it expires, read without checking the signature: it only
/// ever shortens how long an answer is cached.
fn unverified_expiry(token: &str) -> Option<Instant> {
    let exp = super::unverified_claims(token)?.get("exp")?.as_i64()?;
    let now = jiff::Timestamp::now().as_second();
    let left = u64::try_from(exp.saturating_sub(now)).unwrap_or(0);
    Some(Instant::now() + Duration::from_secs(left))
}

impl TokenReviewer {
    pub fn new(client: kube::Client, audiences: Vec<String>) -> Self {
        Self {
            client,
            audiences,
            cache: Cache::builder()
                .max_capacity(CACHE_ENTRIES)
                .time_to_live(CACHE_TTL)
                .build(),
        }
    }

    pub async fn review(&self, token: &str) -> Result<Arc<Principal>, Failure> {
        let key = digest(token);
        if let Some(hit) = self.cache.get(&key)
            && hit.until > Instant::now()
        {
            return hit.answer;
        }
        let answer = self.ask(token).await;
        if matches!(answer, Err(Failure::Unavailable(_))) {
            return answer;
        }
        let mut until = Instant::now() + CACHE_TTL;
        if let Some(exp) = unverified_expiry(token) {
            until = until.min(exp);
        }
        self.cache.insert(
            key,
            Reviewed {
                answer: answer.clone(),
                until,
            },
        );
        answer
    }

    async fn ask(&self, token: &str) -> Result<Arc<Principal>, Failure> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_string(),
                audiences: Some(self.audiences.clone()),
            },
            ..TokenReview::default()
        };
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let done = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| {
                let why = kube_mcp_catalog::apiserver::describe(&e, None);
                tracing::warn!(error = %why, "TokenReview failed");
                Failure::Unavailable(format!(
                    "the server could not have the token reviewed by the API server ({why}); \
                     its ServiceAccount needs create on tokenreviews (system:auth-delegator)"
                ))
            })?;
        let status = done.status.unwrap_or_default();
        if let Some(e) = status.error.as_deref().filter(|e| !e.is_empty()) {
            tracing::debug!(error = e, "TokenReview refused a token");
        }
        judge(&status, &self.audiences).map(Arc::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::authentication::v1::UserInfo;

    fn status(authenticated: bool, audiences: Option<&[&str]>) -> TokenReviewStatus {
        TokenReviewStatus {
            authenticated: Some(authenticated),
            audiences: audiences.map(|a| a.iter().map(|s| s.to_string()).collect()),
            user: Some(UserInfo {
                username: Some("system:serviceaccount:a:agent".into()),
                uid: Some("uid-1".into()),
                groups: Some(vec!["system:serviceaccounts".into()]),
                extra: None,
            }),
            error: None,
        }
    }

    #[test]
    fn the_audience_must_be_ours() {
        let ours = vec!["https://mcp.example.com/mcp".to_string()];
        let p = judge(&status(true, Some(&["https://mcp.example.com/mcp"])), &ours).unwrap();
        assert_eq!(p.username.as_deref(), Some("system:serviceaccount:a:agent"));
        assert_eq!(p.method, Method::Kubernetes);
        assert_eq!(p.groups, ["system:serviceaccounts"]);
        for refused in [
            status(true, None),
            status(true, Some(&[])),
            status(true, Some(&["https://kubernetes.default.svc"])),
            status(false, Some(&["https://mcp.example.com/mcp"])),
        ] {
            assert!(matches!(judge(&refused, &ours), Err(Failure::Invalid(_))));
        }
        let Err(Failure::Invalid(why)) = judge(&status(true, None), &ours) else {
            unreachable!()
        };
        assert!(
            why.contains("--audience https://mcp.example.com/mcp"),
            "{why}"
        );
        // What the API server answers for a token minted for its own audience.
        let mut other = status(false, None);
        other.error = Some(
            "[invalid bearer token, token audiences [\"https://kubernetes.default.svc\"] \
             is invalid for the target audiences [\"https://mcp.example.com/mcp\"]]"
                .into(),
        );
        let Err(Failure::Invalid(why)) = judge(&other, &ours) else {
            unreachable!()
        };
        assert!(why.contains("--audience"), "{why}");
        let Err(Failure::Invalid(why)) = judge(&status(false, None), &ours) else {
            unreachable!()
        };
        assert!(why.contains("does not accept"), "{why}");
    }
}
