//! The gate: a tower layer on the kube client that every Kubernetes API
//! request a tool makes passes, both ways. Tools never see a client without
//! it, so no tool, present or future, can go around what it enforces:
//!
//! - **Scope.** A namespaced path must name a namespace in scope. A
//!   cluster-level path (cluster-scoped kinds, all-namespaces lists) needs a
//!   cluster-wide scope, except discovery, OpenAPI, `/version` and reviews of
//!   the server's own rights.
//! - **Hidden Secrets.** With `KUBE_MCP_SECRETS=hidden` no request touches a
//!   Secret.
//! - **Masking.** Unless Secrets are visible, every response from a Secret
//!   path is masked here, before any tool, renderer, log line or error sees
//!   it; the masked values are remembered for the call, and cut from every
//!   error body the same call receives.
//! - **Secret writes never read stored values.** A JSON patch on a Secret may
//!   not `copy`, `move` or `test`: each would make the API server read a
//!   stored value into a field, an error message, or a yes/no answer.
//!
//! Each request is also recorded on the call it serves (the audit log's
//! "which Kubernetes requests did this call make").

use crate::apipath::{self, ApiPath};
use crate::call::{self, ApiRequest};
use crate::config::SecretsMode;
use crate::mask;
use crate::scope::Scope;
use crate::workload;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use kube::client::{Body, DynBody};
use serde_json::Value;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Discovery, OpenAPI, `/version`: no object at all.
    Discovery,
    /// A review of the caller's own rights (SelfSubjectAccessReview, ...).
    SelfReview,
    /// Objects of one namespace.
    Namespaced {
        namespace: String,
        group: String,
        resource: String,
    },
    /// Cluster-scoped objects, or a namespaced kind across all namespaces.
    Cluster { group: String, resource: String },
    /// Anything else (`/healthz`, `/metrics`, aggregated API oddities).
    Other,
}

impl Target {
    /// Parses a request path (no query); `true` for the legacy watch prefix.
    pub fn parse(path: &str) -> (Target, bool) {
        Self::of(&ApiPath::parse(path))
    }

    /// What the gate needs of a parsed path.
    pub fn of(path: &ApiPath) -> (Target, bool) {
        let (address, watch) = match path {
            ApiPath::Discovery => return (Target::Discovery, false),
            ApiPath::Other => return (Target::Other, false),
            ApiPath::Resource { address, watch } => (address, *watch),
        };
        let (group, resource) = (address.group.clone(), address.resource.clone());
        let self_review = address.namespace.is_none()
            && matches!(
                (group.as_str(), resource.as_str()),
                (
                    "authorization.k8s.io",
                    "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
                ) | ("authentication.k8s.io", "selfsubjectreviews")
            );
        let target = match &address.namespace {
            _ if self_review => Target::SelfReview,
            Some(ns) => Target::Namespaced {
                namespace: ns.clone(),
                group,
                resource,
            },
            None => Target::Cluster { group, resource },
        };
        (target, watch)
    }

    fn is_secrets(&self) -> bool {
        match self {
            Target::Namespaced {
                group, resource, ..
            }
            | Target::Cluster { group, resource } => group.is_empty() && resource == "secrets",
            _ => false,
        }
    }
}

/// Why the gate refused a request. The text is shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("namespace {namespace:?} is outside this server's scope; it may only use: {allowed}")]
    OutOfScope { namespace: String, allowed: String },
    #[error(
        "{resource} are cluster-scoped (or a listing across all namespaces), and this server may only use the namespaces {allowed}; only a cluster-wide server (KUBE_MCP_NAMESPACES=*) reaches them"
    )]
    ClusterScoped { resource: String, allowed: String },
    #[error(
        "Secrets are hidden on this server (KUBE_MCP_SECRETS=hidden); no tool reads or writes them"
    )]
    SecretsHidden,
    #[error(
        "a JSON patch on a Secret may not use the {op:?} operation: it makes the API server read a stored value, which this server masks; use add, replace or remove"
    )]
    SecretPatchReads { op: String },
    #[error(
        "watching Secrets is not supported on a server that masks them; get or list them instead"
    )]
    SecretWatch,
    #[error("the Secret response could not be read to mask it, so it was withheld")]
    Unmaskable,
    #[error("the request path {0:?} is outside what this server uses")]
    UnknownPath(String),
    #[error(transparent)]
    Workload(#[from] workload::Refusal),
    #[error("the request body could not be read to check it, so it was not sent")]
    UnreadableBody,
    #[error(
        "{0} are reserved for authenticating and authorizing this server's callers; no tool makes them"
    )]
    ReviewsReserved(String),
    #[error(transparent)]
    Caller(#[from] crate::authz::Denied),
}

impl Refusal {
    /// Who refused, for the audit log: the namespace `scope`, a `gate`
    /// rule, or the `caller`'s own RBAC (per-caller authorization), named.
    pub fn refuser(&self) -> (&'static str, &'static str) {
        match self {
            Refusal::OutOfScope { .. } => ("scope", "namespace"),
            Refusal::ClusterScoped { .. } => ("scope", "cluster_scoped"),
            Refusal::UnknownPath(_) => ("scope", "unknown_path"),
            Refusal::SecretsHidden => ("gate", "secrets_hidden"),
            Refusal::SecretPatchReads { .. } => ("gate", "secret_patch_reads"),
            Refusal::SecretWatch => ("gate", "secret_watch"),
            Refusal::Unmaskable => ("gate", "unmaskable"),
            Refusal::Workload(_) => ("gate", "workload"),
            Refusal::UnreadableBody => ("gate", "unreadable_body"),
            Refusal::ReviewsReserved(_) => ("gate", "reviews_reserved"),
            Refusal::Caller(_) => ("caller", "caller_rbac"),
        }
    }
}

/// What the gate enforces.
#[derive(Debug, Clone)]
pub struct Policy {
    pub scope: Scope,
    pub secrets: SecretsMode,
    /// What a workload written through this server may not do.
    pub workloads: workload::Rules,
}

impl Policy {
    fn allowed(&self) -> String {
        match &self.scope {
            Scope::All => "*".into(),
            Scope::Only(set) => set.iter().cloned().collect::<Vec<_>>().join(", "),
        }
    }

    /// Whether a request to `target` may leave the process.
    pub fn check(&self, path: &str, target: &Target, watch: bool) -> Result<(), Refusal> {
        if let Target::Cluster { group, resource } = target
            && is_review(group, resource)
        {
            return Err(Refusal::ReviewsReserved(resource.clone()));
        }
        if self.secrets == SecretsMode::Hidden && target.is_secrets() {
            return Err(Refusal::SecretsHidden);
        }
        if self.secrets == SecretsMode::Masked && target.is_secrets() && watch {
            return Err(Refusal::SecretWatch);
        }
        match (target, &self.scope) {
            (Target::Discovery | Target::SelfReview, _) => Ok(()),
            (_, Scope::All) => Ok(()),
            (Target::Namespaced { namespace, .. }, Scope::Only(set)) => {
                if set.contains(namespace) {
                    Ok(())
                } else {
                    Err(Refusal::OutOfScope {
                        namespace: namespace.clone(),
                        allowed: self.allowed(),
                    })
                }
            }
            (Target::Cluster { resource, .. }, Scope::Only(_)) => Err(Refusal::ClusterScoped {
                resource: resource.clone(),
                allowed: self.allowed(),
            }),
            (Target::Other, Scope::Only(_)) => Err(Refusal::UnknownPath(path.to_string())),
        }
    }
}

/// TokenReviews and SubjectAccessReviews: the server may hold the right to
/// make them (system:auth-delegator) for its callers' sake, never a tool's.
fn is_review(group: &str, resource: &str) -> bool {
    matches!(
        (group, resource),
        ("authentication.k8s.io", "tokenreviews")
            | ("authorization.k8s.io", "subjectaccessreviews")
    )
}

/// Refuses a JSON patch body that reads stored values.
pub fn check_json_patch(body: &[u8]) -> Result<(), Refusal> {
    let Ok(Value::Array(ops)) = serde_json::from_slice::<Value>(body) else {
        // Not a patch the API server would accept either; let it say why.
        return Ok(());
    };
    for op in &ops {
        if let Some(name) = op.get("op").and_then(Value::as_str)
            && matches!(name.to_ascii_lowercase().as_str(), "copy" | "move" | "test")
        {
            return Err(Refusal::SecretPatchReads {
                op: name.to_string(),
            });
        }
    }
    Ok(())
}

/// The layer to put on every client a tool may use.
#[derive(Clone)]
pub struct GateLayer {
    policy: Arc<Policy>,
}

impl GateLayer {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;
    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            policy: self.policy.clone(),
        }
    }
}

pub struct Gate<S> {
    inner: S,
    policy: Arc<Policy>,
}

/// Refuses a request, and records it on the call it serves (found inside
/// the future: `call` runs on the client's buffer task).
fn refused(
    r: Refusal,
    mut request: ApiRequest,
) -> BoxFuture<'static, Result<Response<Box<DynBody>>, BoxError>> {
    Box::pin(async move {
        if let Some(c) = call::current() {
            request.refused = Some(r.refuser());
            c.record(request);
        }
        Err(Box::new(r) as BoxError)
    })
}

fn query_flag(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| v.to_string())
    })
}

impl<S> Service<Request<Body>> for Gate<S>
where
    S: Service<Request<Body>, Response = Response<Box<DynBody>>, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Box<DynBody>>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let path = req.uri().path().to_string();
        let query = req.uri().query();
        let parsed = ApiPath::parse(&path);
        let (target, legacy_watch) = Target::of(&parsed);
        let watch =
            legacy_watch || query_flag(query, "watch").is_some_and(|v| v == "true" || v == "1");
        let record = ApiRequest {
            verb: apipath::verb(req.method(), &parsed, watch),
            dry_run: query_flag(query, "dryRun").is_some(),
            path,
            status: None,
            refused: None,
        };
        if let Err(r) = self.policy.check(&record.path, &target, watch) {
            return refused(r, record);
        }
        let mask_secret = target.is_secrets() && self.policy.secrets == SecretsMode::Masked;
        let req = match checked_body(&self.policy, req, &target, mask_secret) {
            Ok(req) => req,
            Err(r) => return refused(r, record),
        };
        let future = self.inner.call(req);
        // kube runs this `call` on its buffer's worker task, and the future
        // returned on the caller's task: the call is found inside the future.
        Box::pin(async move {
            let call = call::current();
            let resp = future.await;
            if let Some(c) = &call {
                c.record(ApiRequest {
                    status: resp.as_ref().ok().map(|r| r.status().as_u16()),
                    ..record
                });
            }
            filter_response(resp?, call.as_deref(), mask_secret).await
        })
    }
}

/// The request, its body checked when it writes a Secret that reads masked
/// or a workload under workload rules; other requests pass untouched.
fn checked_body(
    policy: &Policy,
    req: Request<Body>,
    target: &Target,
    mask_secret: bool,
) -> Result<Request<Body>, Refusal> {
    let workload_write = match target {
        Target::Namespaced {
            namespace,
            group,
            resource,
        } if policy.workloads.active() && workload::is_workload(group, resource) => {
            Some(namespace.as_str())
        }
        _ => None,
    };
    let writes = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    if !writes || !(mask_secret || workload_write.is_some()) {
        return Ok(req);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (parts, body) = req.into_parts();
    // Request bodies the client builds are whole buffers: reading one
    // completes at once.
    let bytes = match futures::FutureExt::now_or_never(body.collect_bytes()) {
        Some(Ok(b)) => b,
        _ => return Err(Refusal::UnreadableBody),
    };
    inspect_body(
        policy,
        &parts.method,
        &content_type,
        &bytes,
        mask_secret,
        workload_write,
    )?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The API server's answer as the caller may see it: Secret values masked
/// (an answer that cannot be parsed to mask becomes a 502), and an error's
/// text stripped of the values the call has seen, which the API server
/// echoes back in validation messages.
async fn filter_response(
    resp: Response<Box<DynBody>>,
    call: Option<&call::Call>,
    mask_secret: bool,
) -> Result<Response<Box<DynBody>>, BoxError> {
    let is_error = resp.status().as_u16() >= 400;
    let redact_error = is_error && call.is_some();
    if !mask_secret && !redact_error {
        return Ok(resp);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let mut out = bytes.to_vec();
    if mask_secret && !bytes.is_empty() {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut v) => {
                let seen = mask::redact_collect(&mut v, SecretsMode::Masked);
                if let Some(c) = call {
                    c.saw_secret_values(seen);
                }
                out = serde_json::to_vec(&v)?;
            }
            Err(_) => {
                parts.status = StatusCode::BAD_GATEWAY;
                out = status_body(502, &Refusal::Unmaskable.to_string());
            }
        }
    }
    if is_error {
        let mut text = String::from_utf8_lossy(&out).into_owned();
        if mask_secret {
            text = mask_invalid_values(&text);
        }
        if let Some(c) = call {
            text = c.redact(&text);
        }
        out = text.into_bytes();
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = Full::new(Bytes::from(out)).map_err(|never| -> BoxError { match never {} });
    Ok(Response::from_parts(parts, Box::new(body) as Box<DynBody>))
}

/// Checks a write body: JSON patches on Secrets, workload rules.
fn inspect_body(
    policy: &Policy,
    method: &Method,
    content_type: &str,
    bytes: &[u8],
    secret: bool,
    workload_ns: Option<&str>,
) -> Result<(), Refusal> {
    let json_patch = content_type.starts_with("application/json-patch+json");
    if secret && *method == Method::PATCH && json_patch {
        check_json_patch(bytes)?;
    }
    if let Some(ns) = workload_ns {
        let body: Value = serde_json::from_slice(bytes)
            .or_else(|_| serde_saphyr::from_slice(bytes))
            .map_err(|_| Refusal::UnreadableBody)?;
        let whole = *method != Method::PATCH || content_type.starts_with("application/apply-patch");
        if whole {
            workload::check_object(&body, ns, &policy.workloads)?;
        } else {
            workload::check_patch(&body, ns, &policy.workloads)?;
        }
    }
    Ok(())
}

/// The API server's field errors quote the offending value (`Invalid value:
/// "..."`). On a Secret that value may be one the call did not send; every
/// such quote in an error about a Secret is masked. `text` is a Status body
/// (its messages are masked) or plain text.
pub fn mask_invalid_values(text: &str) -> String {
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) => *s = mask_quoted(s),
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(m) => m.values_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            walk(&mut v);
            v.to_string()
        }
        Err(_) => mask_quoted(text),
    }
}

/// Masks what follows each `Invalid value: ` in plain text: a Go-quoted
/// string up to its closing quote, or a bare value up to the next separator.
fn mask_quoted(text: &str) -> String {
    const MARK: &str = "Invalid value: ";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i + MARK.len()]);
        rest = &rest[i + MARK.len()..];
        out.push_str(if rest.starts_with('"') {
            "\"***\""
        } else {
            mask::MASK
        });
        let end = if let Some(quoted) = rest.strip_prefix('"') {
            let mut chars = quoted.char_indices();
            let mut end = rest.len();
            while let Some((k, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        end = k + 2;
                        break;
                    }
                    _ => {}
                }
            }
            end
        } else {
            rest.find([',', ';', '\n', ']', ' ']).unwrap_or(rest.len())
        };
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A Kubernetes Status body, so the client reports `message` as the error.
fn status_body(code: u16, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": message, "code": code,
    }))
    .unwrap_or_default()
}

/// The refusal inside a client error, if the gate refused the request.
pub fn refusal(e: &kube::Error) -> Option<&Refusal> {
    match e {
        kube::Error::Service(inner) => inner.downcast_ref::<Refusal>(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(n: &str, g: &str, r: &str) -> Target {
        Target::Namespaced {
            namespace: n.into(),
            group: g.into(),
            resource: r.into(),
        }
    }
    fn cl(g: &str, r: &str) -> Target {
        Target::Cluster {
            group: g.into(),
            resource: r.into(),
        }
    }

    #[test]
    fn paths() {
        let cases = [
            ("/api", Target::Discovery, false),
            ("/api/v1", Target::Discovery, false),
            ("/apis/apps/v1", Target::Discovery, false),
            ("/openapi/v3/apis/apps/v1", Target::Discovery, false),
            ("/version", Target::Discovery, false),
            ("/api/v1/namespaces/a/pods", ns("a", "", "pods"), false),
            (
                "/api/v1/namespaces/a/pods/p/exec",
                ns("a", "", "pods"),
                false,
            ),
            (
                "/api/v1/namespaces/a/secrets/s",
                ns("a", "", "secrets"),
                false,
            ),
            (
                "/apis/apps/v1/namespaces/b/deployments/d",
                ns("b", "apps", "deployments"),
                false,
            ),
            (
                "/api/v1/watch/namespaces/a/secrets",
                ns("a", "", "secrets"),
                true,
            ),
            ("/api/v1/pods", cl("", "pods"), false),
            ("/api/v1/nodes/n", cl("", "nodes"), false),
            ("/api/v1/namespaces", cl("", "namespaces"), false),
            ("/api/v1/namespaces/a", cl("", "namespaces"), false),
            ("/api/v1/namespaces/a/finalize", cl("", "namespaces"), false),
            (
                "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                cl("rbac.authorization.k8s.io", "clusterroles"),
                false,
            ),
            (
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                Target::SelfReview,
                false,
            ),
            (
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                cl("authorization.k8s.io", "subjectaccessreviews"),
                false,
            ),
            ("/healthz", Target::Other, false),
        ];
        for (path, want, watch) in cases {
            assert_eq!(Target::parse(path), (want, watch), "{path}");
        }
    }

    fn policy(scope: &[&str], secrets: SecretsMode) -> Policy {
        Policy {
            scope: Scope::from_list(&scope.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            secrets,
            workloads: workload::Rules::default(),
        }
    }

    #[test]
    fn invalid_values_are_masked_in_text_and_json() {
        let plain = r#"Secret "s" is invalid: [type: Invalid value: "aHVudGVy": field is immutable, data[x]: Invalid value: 12, metadata.labels: Invalid value: "a\"bcde"]"#;
        let got = mask_invalid_values(plain);
        assert!(
            !got.contains("aHVudGVy") && !got.contains("12,") && !got.contains("bcde"),
            "{got}"
        );
        assert!(
            got.contains(r#"type: Invalid value: "***": field is immutable"#),
            "{got}"
        );
        let json =
            serde_json::json!({"message": "x: Invalid value: \"c2VjcmV0\": bad"}).to_string();
        let got = mask_invalid_values(&json);
        assert!(!got.contains("c2VjcmV0"), "{got}");
        assert!(
            serde_json::from_str::<Value>(&got).is_ok(),
            "still JSON: {got}"
        );
        assert_eq!(mask_invalid_values("no values here"), "no values here");
    }

    #[test]
    fn scope_table() {
        let p = policy(&["a", "b"], SecretsMode::Masked);
        let all = policy(&["*"], SecretsMode::Masked);
        for (path, in_scope, cluster_wide) in [
            ("/api/v1/namespaces/a/pods", true, true),
            ("/api/v1/namespaces/b/configmaps/x", true, true),
            ("/api/v1/namespaces/c/pods", false, true),
            ("/api/v1/pods", false, true),
            ("/api/v1/nodes", false, true),
            ("/api/v1/namespaces/a", false, true),
            ("/apis/apps/v1", true, true),
            ("/openapi/v3", true, true),
            (
                "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                true,
                true,
            ),
            ("/metrics", false, true),
        ] {
            let (t, w) = Target::parse(path);
            assert_eq!(p.check(path, &t, w).is_ok(), in_scope, "{path}");
            assert_eq!(all.check(path, &t, w).is_ok(), cluster_wide, "{path} (*)");
        }
        for review in [
            "/apis/authentication.k8s.io/v1/tokenreviews",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        ] {
            let (t, w) = Target::parse(review);
            assert!(
                matches!(all.check(review, &t, w), Err(Refusal::ReviewsReserved(_))),
                "{review}"
            );
        }
        let (t, w) = Target::parse("/api/v1/namespaces/c/pods");
        let msg = p.check("", &t, w).unwrap_err().to_string();
        assert!(msg.contains("\"c\"") && msg.contains("a, b"), "{msg}");
    }

    #[test]
    fn secrets_rules() {
        let hidden = policy(&["*"], SecretsMode::Hidden);
        let masked = policy(&["*"], SecretsMode::Masked);
        let visible = policy(&["*"], SecretsMode::Visible);
        for path in [
            "/api/v1/namespaces/a/secrets",
            "/api/v1/secrets",
            "/api/v1/namespaces/a/secrets/s",
        ] {
            let (t, w) = Target::parse(path);
            assert_eq!(
                hidden.check(path, &t, w),
                Err(Refusal::SecretsHidden),
                "{path}"
            );
            assert!(masked.check(path, &t, w).is_ok());
        }
        let (t, w) = Target::parse("/api/v1/namespaces/a/configmaps");
        assert!(hidden.check("", &t, w).is_ok());
        let (t, _) = Target::parse("/api/v1/namespaces/a/secrets");
        assert_eq!(masked.check("", &t, true), Err(Refusal::SecretWatch));
        assert!(visible.check("", &t, true).is_ok());
    }

    #[test]
    fn json_patches_that_read_are_refused() {
        for (body, ok) in [
            (
                r#"[{"op":"replace","path":"/data/a","value":"eA=="}]"#,
                true,
            ),
            (
                r#"[{"op":"add","path":"/metadata/labels/x","value":"y"},{"op":"remove","path":"/data/b"}]"#,
                true,
            ),
            (
                r#"[{"op":"copy","from":"/data/a","path":"/metadata/labels/x"}]"#,
                false,
            ),
            (
                r#"[{"op":"move","from":"/data/a","path":"/data/b"}]"#,
                false,
            ),
            (
                r#"[{"op":"test","path":"/data/a","value":"Z3Vlc3M="}]"#,
                false,
            ),
            (r#"[{"op":"COPY","from":"/data/a","path":"/type"}]"#, false),
            ("not json", true),
        ] {
            assert_eq!(check_json_patch(body.as_bytes()).is_ok(), ok, "{body}");
        }
    }
}
