//! Errors of the operator, each with a metric label.

/// Errors of the pure builders.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(#[source] rand::rand_core::OsError),
    #[error("the endpoint has no {0}")]
    MissingField(&'static str),
}

/// Errors of a reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[source] kube::Error),
    #[error("building objects: {0}")]
    Build(#[from] BuildError),
    #[error("serializing: {0}")]
    Serialize(#[source] serde_json::Error),
    #[error("verification: {0}")]
    Verify(#[from] VerifyError),
    /// An object under a child's name is not the endpoint's (never adopted).
    #[error("{}", .0.message())]
    NameConflict(crate::ownership::Conflict),
}

/// Why an MCP verification failed (the status says it too).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the endpoint is unreachable: {0}")]
    Unreachable(String),
    #[error("the server advertises other tools than the effective set: {0}")]
    ToolsMismatch(String),
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Error::Kube(e)
    }
}

impl Error {
    /// A short, bounded label for the errors metric.
    pub fn metric_label(&self) -> String {
        match self {
            Error::Kube(kube::Error::Api(s)) => format!("api_{}", s.code),
            Error::Kube(_) => "kube".into(),
            Error::Build(_) => "build".into(),
            Error::Serialize(_) => "serialize".into(),
            Error::Verify(VerifyError::Unreachable(_)) => "verify_unreachable".into(),
            Error::Verify(VerifyError::ToolsMismatch(_)) => "verify_tools_mismatch".into(),
            Error::NameConflict(_) => "name_conflict".into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(
            Error::Build(BuildError::MissingField("uid")).metric_label(),
            "build"
        );
        let api = kube::Error::Api(
            kube::core::Status::failure("forbidden", "Forbidden")
                .with_code(403)
                .boxed(),
        );
        assert_eq!(Error::Kube(api).metric_label(), "api_403");
        assert_eq!(
            Error::Verify(VerifyError::ToolsMismatch("extra: ping".into())).metric_label(),
            "verify_tools_mismatch"
        );
    }
}
