//! Per-caller authorization (`KUBE_MCP_AUTHORIZE=caller`): before a tool's
//! Kubernetes request is sent, the API server is asked with a
//! SubjectAccessReview whether the caller (user, groups, extra) may make
//! that exact request. The request then needs both the endpoint's RBAC (it
//! is sent with the endpoint's credentials) and the caller's; nobody is
//! impersonated.
//!
//! A tower layer under the gate, over a buffered client: the gate's own
//! refusals come first, and a request the review refuses is never sent.
//! Reviews are made with a separate client (the server's credentials, no
//! gate) and their answers cached for [`CACHE_TTL`].

pub mod attributes;

use crate::call;
use crate::gate::Refusal;
use crate::identity::Principal;
use attributes::Attributes;
use futures::future::BoxFuture;
use http::{Request, Response, header};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;
use kube::client::{Body, DynBody};
use moka::sync::Cache;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Layer, Service};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a review's answer is reused: revoking a caller's rights takes
/// effect within this.
pub const CACHE_TTL: Duration = Duration::from_secs(10);
const CACHE_ENTRIES: u64 = 10_000;

/// Why a request was not sent for the caller. Shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error(
        "this server authorizes each caller (KUBE_MCP_AUTHORIZE=caller) and this call names no user \
         (the shared token names none): connect with a ServiceAccount token or an OIDC token"
    )]
    NoUser,
    #[error(
        "{who} may not {what}: the API server's SubjectAccessReview for the caller says {reason}. \
         This endpoint does for a caller only what the caller's own RBAC allows too; ask for a Role \
         that grants it"
    )]
    Forbidden {
        who: String,
        what: String,
        reason: String,
    },
    #[error(
        "the caller's permission to {what} could not be checked ({why}), so the request was not sent"
    )]
    Unchecked { what: String, why: String },
}

#[derive(Clone)]
struct Decision {
    allowed: bool,
    reason: String,
}

pub struct CallerAuthorizer {
    client: kube::Client,
    cache: Cache<(Principal, Attributes), Decision>,
}

/// The review for `p` doing `a`.
pub fn review(p: &Principal, a: &Attributes) -> SubjectAccessReview {
    let (resource_attributes, non_resource_attributes) = match a.clone() {
        Attributes::Resource {
            verb,
            group,
            version,
            resource,
            subresource,
            namespace,
            name,
        } => {
            let set = |s: String| Some(s).filter(|s| !s.is_empty());
            (
                Some(ResourceAttributes {
                    verb: Some(verb),
                    group: Some(group),
                    version: set(version),
                    resource: Some(resource),
                    subresource: set(subresource),
                    namespace: set(namespace),
                    name: set(name),
                    ..ResourceAttributes::default()
                }),
                None,
            )
        }
        Attributes::NonResource { verb, path } => (
            None,
            Some(NonResourceAttributes {
                path: Some(path),
                verb: Some(verb),
            }),
        ),
    };
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: p.username.clone(),
            uid: p.uid.clone(),
            groups: Some(p.groups.clone()),
            extra: (!p.extra.is_empty()).then(|| p.extra.clone()),
            resource_attributes,
            non_resource_attributes,
        },
        ..SubjectAccessReview::default()
    }
}

impl CallerAuthorizer {
    /// `client`: the server's own credentials, not behind the gate.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            cache: Cache::builder()
                .max_capacity(CACHE_ENTRIES)
                .time_to_live(CACHE_TTL)
                .build(),
        }
    }

    /// Whether the caller may make a request needing `needs`.
    pub async fn check(
        &self,
        caller: Option<&Principal>,
        needs: &[Attributes],
    ) -> Result<(), Denied> {
        let Some(p) = caller.filter(|p| p.username.is_some()) else {
            return Err(Denied::NoUser);
        };
        for a in needs {
            let key = (p.clone(), a.clone());
            let decision = match self.cache.get(&key) {
                Some(d) => d,
                None => {
                    let d = self.ask(p, a).await?;
                    self.cache.insert(key, d.clone());
                    d
                }
            };
            if !decision.allowed {
                return Err(Denied::Forbidden {
                    who: p.display_name(),
                    what: a.to_string(),
                    reason: decision.reason,
                });
            }
        }
        Ok(())
    }

    async fn ask(&self, p: &Principal, a: &Attributes) -> Result<Decision, Denied> {
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let done = api
            .create(&PostParams::default(), &review(p, a))
            .await
            .map_err(|e| Denied::Unchecked {
                what: a.to_string(),
                why: format!(
                    "{}; the server's ServiceAccount needs create on subjectaccessreviews (system:auth-delegator)",
                    kube_mcp_catalog::apiserver::describe(&e, None)
                ),
            })?;
        let status = done.status.unwrap_or_default();
        let reason = match (
            status.reason.filter(|r| !r.is_empty()),
            status.evaluation_error,
        ) {
            (Some(r), _) => r,
            (None, Some(e)) if !e.is_empty() => format!("no (evaluation error: {e})"),
            _ if status.allowed => "yes".into(),
            _ => "no RBAC rule allows it".into(),
        };
        Ok(Decision {
            allowed: status.allowed,
            reason,
        })
    }
}

/// The layer; its inner service must be cloneable (a buffered client).
#[derive(Clone)]
pub struct CallerLayer {
    authorizer: Arc<CallerAuthorizer>,
}

impl CallerLayer {
    pub fn new(authorizer: CallerAuthorizer) -> Self {
        Self {
            authorizer: Arc::new(authorizer),
        }
    }
}

impl<S> Layer<S> for CallerLayer {
    type Service = CallerCheck<S>;
    fn layer(&self, inner: S) -> CallerCheck<S> {
        CallerCheck {
            inner,
            authorizer: self.authorizer.clone(),
        }
    }
}

pub struct CallerCheck<S> {
    inner: S,
    authorizer: Arc<CallerAuthorizer>,
}

impl<S> Service<Request<Body>> for CallerCheck<S>
where
    S: Service<Request<Body>, Response = Response<Box<DynBody>>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Box<DynBody>>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // The service polled ready goes with this request; a clone stays.
        let fresh = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, fresh);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let needs = attributes::of_request(
            req.method(),
            req.uri().path(),
            req.uri().query(),
            content_type,
        );
        let authorizer = self.authorizer.clone();
        Box::pin(async move {
            // The call is visible here, on the task awaiting the request.
            // Requests outside a tool call are the server's own (readiness).
            if let Some(c) = call::current() {
                authorizer
                    .check(c.caller.as_deref(), &needs)
                    .await
                    .map_err(|d| Box::new(Refusal::Caller(d)) as BoxError)?;
            }
            ready.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Method;

    #[test]
    fn a_review_names_the_caller_and_the_exact_request() {
        let p = Principal {
            method: Method::Oidc,
            username: Some("oidc:alice".into()),
            uid: None,
            groups: vec!["oidc:dev".into(), "system:authenticated".into()],
            extra: [("scopes".to_string(), vec!["x".to_string()])].into(),
            scopes: vec![],
        };
        let a = attributes::of_request(
            &http::Method::GET,
            "/api/v1/namespaces/a/pods/p/log",
            None,
            "",
        );
        let r = serde_json::to_value(review(&p, &a[0])).unwrap();
        assert_eq!(
            r["spec"],
            serde_json::json!({
                "user": "oidc:alice",
                "groups": ["oidc:dev", "system:authenticated"],
                "extra": {"scopes": ["x"]},
                "resourceAttributes": {
                    "verb": "get", "group": "", "version": "v1", "resource": "pods",
                    "subresource": "log", "namespace": "a", "name": "p"
                }
            })
        );
        let d = attributes::of_request(&http::Method::GET, "/version", None, "");
        let r = serde_json::to_value(review(&p, &d[0])).unwrap();
        assert_eq!(
            r["spec"]["nonResourceAttributes"],
            serde_json::json!({"path": "/version", "verb": "get"})
        );
    }
}
