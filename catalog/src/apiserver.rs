//! What both binaries say when the API server cannot be used, and how they
//! read a `KUBECONFIG` list.
//!
//! kube's own messages drop the URL (`ServiceError: client error (Connect)`)
//! and print an API status as a Debug dump; these name the API server and
//! the root cause, and print a status as code, reason and message.

use kube::client::ClientBuilder;
use kube::config::Kubeconfig;
use std::error::Error as StdError;
use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;
use tower::util::MapErrLayer;

pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The service stack `ClientBuilder::try_from(Config)` builds.
type Stack = tower::util::BoxService<
    http::Request<kube::client::Body>,
    http::Response<Box<kube::client::DynBody>>,
    BoxError,
>;

/// A request that got no answer from the API server at `url`.
#[derive(Debug)]
pub struct Unreachable {
    pub url: String,
    source: BoxError,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cause = self.source.as_ref();
        write!(
            f,
            "cannot reach the API server at {}: {}",
            self.url,
            chain(cause)
        )?;
        match hint(cause) {
            Some(h) => write!(f, " ({h})"),
            None => Ok(()),
        }
    }
}

impl StdError for Unreachable {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

/// The error map for a kube client's service stack: transport errors become
/// [`Unreachable`] naming `url`; kube's own errors (auth, building the
/// request) pass unchanged so kube still sees them as its own.
pub fn name_url(url: String) -> impl Fn(BoxError) -> BoxError + Clone + Send + Sync + 'static {
    move |e| {
        if e.is::<kube::Error>() {
            e
        } else {
            Box::new(Unreachable {
                url: url.clone(),
                source: e,
            })
        }
    }
}

/// A client builder for `config` whose transport errors name the API
/// server; callers may add layers on top (the server's gate).
pub fn client_builder(
    config: kube::Config,
) -> Result<
    ClientBuilder<
        tower::util::MapErr<Stack, impl Fn(BoxError) -> BoxError + Clone + Send + Sync + 'static>,
    >,
    kube::Error,
> {
    let url = url_of(&config);
    Ok(ClientBuilder::try_from(config)?.with_layer(&MapErrLayer::new(name_url(url))))
}

/// The API server URL as users write it (no trailing slash).
pub fn url_of(config: &kube::Config) -> String {
    config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string()
}

/// One line about a failed API call: an API status as code, reason and
/// message (naming `url` when given), anything else as its chain of causes.
pub fn describe(e: &kube::Error, url: Option<&str>) -> String {
    match e {
        kube::Error::Api(s) => {
            let reason = if s.reason.is_empty() {
                http::StatusCode::from_u16(s.code)
                    .ok()
                    .and_then(|c| c.canonical_reason())
                    .unwrap_or("")
            } else {
                s.reason.as_str()
            };
            let at = url.map(|u| format!(" at {u}")).unwrap_or_default();
            let mut line = format!("the API server{at} answered {} {reason}", s.code);
            if !s.message.is_empty() && s.message != reason {
                line.push_str(": ");
                line.push_str(&s.message);
            }
            if s.code == 401 {
                line.push_str(" (the credentials were rejected; check the token or kubeconfig)");
            }
            line
        }
        // kube's "ServiceError: " prefix says nothing a user can act on.
        kube::Error::Service(inner) => chain(inner.as_ref()),
        other => chain(other),
    }
}

/// The messages of `e` and its sources, joined with ": ", leaving out a
/// message the ones before already contain (many errors repeat their source).
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    // Bounded: source chains are short, but a cycle must not hang a log line.
    for _ in 0..16 {
        let Some(cause) = next else { break };
        let msg = cause.to_string();
        if !msg.is_empty() && !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        next = cause.source();
    }
    out
}

/// What the root cause suggests to check, for the causes new users meet.
fn hint(e: &(dyn StdError + 'static)) -> Option<&'static str> {
    let mut cur = Some(e);
    for _ in 0..16 {
        let c = cur?;
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return Some(
                        "nothing listens there: is the API server running, and are host and port right?",
                    );
                }
                std::io::ErrorKind::TimedOut => {
                    return Some("no answer in time: a wrong address, or a firewall in between?");
                }
                _ => {}
            }
        }
        let msg = c.to_string();
        if msg.starts_with("dns error") {
            return Some("the host name does not resolve; check the server URL");
        }
        if msg.contains("certificate") {
            return Some(
                "TLS verification failed; check the CA (certificate-authority-data, K8S_CA_DATA) and the server name",
            );
        }
        cur = c.source();
    }
    None
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KubeconfigListError {
    #[error("KUBECONFIG names no file")]
    Empty,
    #[error("none of the files KUBECONFIG names exists ({0}); fix KUBECONFIG or unset it")]
    NoneExists(String),
    #[error("{path}: {reason}")]
    Broken { path: PathBuf, reason: String },
}

/// kubectl's rule for a `KUBECONFIG` list: the files in order, missing ones
/// skipped (and logged), the first file to set a value wins.
pub fn read_kubeconfig_list(list: &OsStr) -> Result<Kubeconfig, KubeconfigListError> {
    let paths: Vec<PathBuf> = std::env::split_paths(list)
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    if paths.is_empty() {
        return Err(KubeconfigListError::Empty);
    }
    let (present, missing): (Vec<_>, Vec<_>) = paths.into_iter().partition(|p| p.exists());
    if present.is_empty() {
        let names: Vec<_> = missing.iter().map(|p| p.display().to_string()).collect();
        return Err(KubeconfigListError::NoneExists(names.join(", ")));
    }
    for p in &missing {
        tracing::info!(file = %p.display(), "KUBECONFIG names a file that does not exist; skipped, as kubectl does");
    }
    let mut merged: Option<Kubeconfig> = None;
    for p in present {
        let broken = |e: kube::config::KubeconfigError| KubeconfigListError::Broken {
            path: p.clone(),
            reason: chain(&e),
        };
        let kc = Kubeconfig::read_from(&p).map_err(broken)?;
        merged = Some(match merged {
            None => kc,
            Some(m) => m.merge(kc).map_err(broken)?,
        });
    }
    merged.ok_or(KubeconfigListError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure(message, reason)
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn a_status_is_code_reason_and_message_never_debug() {
        let e = status(401, "Unauthorized", "Unauthorized");
        let line = describe(&e, Some("https://k:6443"));
        assert_eq!(
            line,
            "the API server at https://k:6443 answered 401 Unauthorized \
             (the credentials were rejected; check the token or kubeconfig)"
        );
        let e = status(
            403,
            "Forbidden",
            "pods is forbidden: User \"x\" cannot list",
        );
        let line = describe(&e, None);
        assert_eq!(
            line,
            "the API server answered 403 Forbidden: pods is forbidden: User \"x\" cannot list"
        );
        assert!(!e.to_string().is_empty() && !line.contains("Status {"));
        assert_eq!(
            describe(&status(503, "", "down"), None),
            "the API server answered 503 Service Unavailable: down"
        );
    }

    #[tokio::test]
    async fn a_closed_port_names_the_url_and_the_refusal() {
        // Bind and drop: nothing listens on the port afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let mut config = kube::Config::new(url.parse().unwrap());
        config.default_retry = false;
        let client = client_builder(config).unwrap().build();
        let err = client.apiserver_version().await.unwrap_err();
        let line = describe(&err, None);
        assert!(
            line.starts_with(&format!("cannot reach the API server at {url}: ")),
            "{line}"
        );
        assert!(line.contains("Connection refused"), "{line}");
        assert!(line.contains("nothing listens there"), "{line}");
        assert!(!line.contains("ServiceError"), "{line}");
    }

    #[test]
    fn chain_drops_repeated_messages() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline has elapsed");
        let e = Unreachable {
            url: "https://k".into(),
            source: Box::new(io),
        };
        let line = chain(&e);
        assert_eq!(
            line,
            "cannot reach the API server at https://k: deadline has elapsed \
             (no answer in time: a wrong address, or a firewall in between?)"
        );
    }

    const KC: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://a:6443'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\ncurrent-context: a\n";

    #[test]
    fn a_kubeconfig_list_skips_missing_files_like_kubectl() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let other = dir.path().join("other");
        std::fs::write(&real, KC).unwrap();
        std::fs::write(
            &other,
            KC.replace("name: a", "name: b")
                .replace("https://a", "https://b"),
        )
        .unwrap();
        let missing = dir.path().join("missing");
        let list = std::env::join_paths([&missing, &real, &other]).unwrap();
        let kc = read_kubeconfig_list(&list).unwrap();
        // The first file to set current-context wins; both files' contexts are there.
        assert_eq!(kc.current_context.as_deref(), Some("a"));
        let names: Vec<_> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);

        let none = std::env::join_paths([&missing, &dir.path().join("gone")]).unwrap();
        let err = read_kubeconfig_list(&none).unwrap_err();
        assert!(matches!(err, KubeconfigListError::NoneExists(_)));
        assert!(
            err.to_string().contains("missing") && err.to_string().contains("gone"),
            "{err}"
        );
        assert_eq!(
            read_kubeconfig_list(OsStr::new(":")).unwrap_err(),
            KubeconfigListError::Empty
        );

        std::fs::write(&other, "clusters: [").unwrap();
        let err = read_kubeconfig_list(&list).unwrap_err().to_string();
        assert!(err.starts_with(&other.display().to_string()), "{err}");
    }
}
