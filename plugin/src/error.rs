//! What can go wrong, each saying what was wrong and how to fix it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("McpEndpoint CRD not installed: install the operator (see README)")]
    CrdMissing,
    #[error("you may not {action}: {reason}")]
    Forbidden { action: String, reason: String },
    #[error(
        "McpEndpoint {name:?} not found in namespace {namespace}: `kubectl mcp list -n {namespace}` (or `-A`) shows the endpoints you can see"
    )]
    NotFound { name: String, namespace: String },
    #[error(
        "no Ready pod behind Service {namespace}/{service}: `kubectl get pods -n {namespace} -l {selector}` shows why (the endpoint's Ready condition too: `kubectl mcp list -n {namespace}`)"
    )]
    NoReadyPod {
        namespace: String,
        service: String,
        selector: String,
    },
    #[error("{0}")]
    Endpoint(String),
    #[error("kubeconfig: {0} (set --kubeconfig, KUBECONFIG or --context)")]
    Kubeconfig(String),
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error(
        "cannot listen on 127.0.0.1:{port}: {source} (pick another --port, or leave it out for a free one)"
    )]
    Listen { port: u16, source: std::io::Error },
    #[error("talking to the API server: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    /// A refusal (403) of `action` becomes [`Error::Forbidden`] with the
    /// API server's reason; other errors pass through.
    pub fn from_kube(e: kube::Error, action: impl Into<String>) -> Self {
        match e {
            kube::Error::Api(s) if s.code == 403 => Error::Forbidden {
                action: action.into(),
                reason: s.message,
            },
            e => Error::Kube(e),
        }
    }
}

pub fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}
