//! `kubectl mcp connect`: forward a local port to the endpoint, read its
//! token if the caller may, print (and optionally write) the client's
//! configuration, then forward until Ctrl-C.

use crate::clients::{self, ClientKind, Entry, PLACEHOLDER, TOKEN_HEADER};
use crate::error::{self, Error};
use crate::forward::{self, Backend};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client};
use kube_mcp_operator::McpEndpoint;
use kube_mcp_operator::names;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct ConnectArgs {
    /// The McpEndpoint's name (in -n, else the context's namespace).
    pub endpoint: String,
    /// Which client's configuration to print.
    #[arg(long, value_enum, default_value = "claude")]
    pub client: ClientKind,
    /// Local port to listen on, on 127.0.0.1 (default: a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Merge the entry into this client file (JSON, or TOML for codex),
    /// keeping everything else in it; created if missing.
    #[arg(long, value_name = "PATH")]
    pub write: Option<PathBuf>,
    /// Leave the token out of the configuration (add the header yourself).
    #[arg(long)]
    pub no_token: bool,
    /// The server's name in the client's configuration (default: the endpoint's name).
    #[arg(long)]
    pub name: Option<String>,
}

/// The token, or why the configuration holds a placeholder.
enum Token {
    Value(String),
    Unreadable(String),
    Omitted,
}

pub async fn get_endpoint(client: &Client, ns: &str, name: &str) -> Result<McpEndpoint, Error> {
    Api::<McpEndpoint>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .map_err(|e| get_error(e, ns, name))
}

/// A 404 means either no such endpoint or no such resource type at all.
fn get_error(e: kube::Error, ns: &str, name: &str) -> Error {
    match e {
        kube::Error::Api(s) if s.code == 404 => {
            // What the API server says for a path it does not serve.
            if s.message.contains("could not find the requested resource") {
                Error::CrdMissing
            } else {
                Error::NotFound {
                    name: name.into(),
                    namespace: ns.into(),
                }
            }
        }
        e => Error::from_kube(e, format!("get mcpendpoints.kubemcp.io in namespace {ns}")),
    }
}

/// The Secret and key holding the endpoint's token.
fn token_ref(ep: &McpEndpoint) -> (String, String) {
    let spec_ref = ep
        .spec
        .auth
        .as_ref()
        .and_then(|a| a.token_secret_ref.as_ref());
    let name = ep
        .status
        .as_ref()
        .and_then(|s| s.token_secret_name.clone())
        .or_else(|| spec_ref.map(|r| r.name.clone()))
        .unwrap_or_else(|| names::token_secret(ep));
    let key = spec_ref
        .map(|r| r.key.clone())
        .unwrap_or_else(|| names::TOKEN_KEY.into());
    (name, key)
}

async fn read_token(client: &Client, ns: &str, ep: &McpEndpoint) -> Token {
    let (secret, key) = token_ref(ep);
    let how = format!(
        "someone who may read it can print it: `kubectl get secret -n {ns} {secret} -o jsonpath='{{.data.{key}}}' | base64 -d`"
    );
    match Api::<Secret>::namespaced(client.clone(), ns)
        .get(&secret)
        .await
    {
        Ok(s) => match s.data.unwrap_or_default().remove(&key) {
            Some(v) => match String::from_utf8(v.0) {
                Ok(t) if !t.trim().is_empty() => Token::Value(t.trim().to_string()),
                _ => Token::Unreadable(format!(
                    "Secret {ns}/{secret} holds no usable token under key {key:?}"
                )),
            },
            None => Token::Unreadable(format!("Secret {ns}/{secret} has no key {key:?}")),
        },
        Err(e) if error::is_status(&e, 403) => Token::Unreadable(format!(
            "you may not read Secret {ns}/{secret} (the token); {how}"
        )),
        Err(e) if error::is_status(&e, 404) => Token::Unreadable(format!(
            "Secret {ns}/{secret} (the token) does not exist yet: the operator creates it"
        )),
        Err(e) => Token::Unreadable(format!("reading Secret {ns}/{secret} failed ({e}); {how}")),
    }
}

/// Merges the entry into `path`, creating the file and its directory if needed.
fn write_into(path: &Path, kind: ClientKind, entry: &Entry) -> Result<(), Error> {
    let file_err = |reason: String| Error::File {
        path: path.to_path_buf(),
        reason,
    };
    let existing = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(file_err(e.to_string())),
    };
    let merged = clients::merge(kind, &existing, entry).map_err(|r| {
        file_err(format!(
            "{r}; fix the file or write to another --write path"
        ))
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_err(e.to_string()))?;
    }
    std::fs::write(path, merged).map_err(|e| file_err(e.to_string()))
}

/// Port-forward over a websocket (what kube-rs speaks) is authorized as
/// `get` on pods/portforward, and since Kubernetes 1.35 also as `create`:
/// asked up front, a refusal is one clear error instead of a reset per
/// connection later.
async fn check_port_forward(client: &Client, ns: &str) -> Result<(), Error> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    for verb in ["get", "create"] {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(ns.into()),
                    resource: Some("pods".into()),
                    subresource: Some("portforward".into()),
                    verb: Some(verb.into()),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(Error::Kube)?;
        if !answer.status.is_some_and(|s| s.allowed) {
            return Err(Error::Forbidden {
                action: format!("port-forward to pods in namespace {ns}"),
                reason: format!(
                    "`{verb}` on pods/portforward is not granted to you (connect needs get and create on pods/portforward, and get and list on pods and services)"
                ),
            });
        }
    }
    Ok(())
}

pub async fn run(client: &Client, ns: &str, args: ConnectArgs) -> Result<(), Error> {
    let ep = get_endpoint(client, ns, &args.endpoint).await?;
    check_port_forward(client, ns).await?;
    let backend = Backend::resolve(client, ns, &names::base(&ep), names::SERVICE_PORT).await?;
    // Fail now, not at the client's first request, when nothing serves.
    let (pod, port) = backend.pick(true).await?;
    let token = if args.no_token {
        Token::Omitted
    } else {
        read_token(client, ns, &ep).await
    };
    let listener = forward::listen(args.port.unwrap_or(0)).await?;
    let local = listener.local_addr().map_err(|source| Error::Listen {
        port: args.port.unwrap_or(0),
        source,
    })?;
    let entry = Entry {
        name: args.name.clone().unwrap_or_else(|| args.endpoint.clone()),
        url: format!("http://{local}/mcp"),
        token: match &token {
            Token::Value(t) => Some(t.clone()),
            Token::Unreadable(_) => Some(PLACEHOLDER.into()),
            Token::Omitted => None,
        },
    };
    println!("{}", clients::render(args.client, &entry));
    match &token {
        Token::Value(_) => {}
        Token::Unreadable(why) => eprintln!("note: {why}; replace {PLACEHOLDER} with it."),
        Token::Omitted => eprintln!(
            "note: the token is left out (--no-token): the client must send it in the {TOKEN_HEADER} header."
        ),
    }
    if let Some(path) = &args.write {
        write_into(path, args.client, &entry)?;
        eprintln!("wrote {} into {}", entry.name, path.display());
    }
    eprintln!(
        "Forwarding {} -> pod {ns}/{pod} port {port} through the API server; Ctrl-C stops.",
        entry.url
    );
    forward::serve(listener, Arc::new(backend), async {
        let signal = kube_mcp_catalog::signal::stop_signal().await;
        tracing::info!(signal, "stopping");
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_get_says_what_is_missing_or_refused() {
        let api = |code: u16, reason: &str, message: &str| {
            kube::Error::Api(
                kube::core::Status::failure(message, reason)
                    .with_code(code)
                    .boxed(),
            )
        };
        let cases = [
            (
                api(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
                "McpEndpoint CRD not installed: install the operator (see README)",
            ),
            (
                api(404, "NotFound", "mcpendpoints.kubemcp.io \"ops\" not found"),
                "McpEndpoint \"ops\" not found in namespace team: `kubectl mcp list -n team` (or `-A`) shows the endpoints you can see",
            ),
            (
                api(
                    403,
                    "Forbidden",
                    "mcpendpoints.kubemcp.io \"ops\" is forbidden: User \"u\" cannot get",
                ),
                "you may not get mcpendpoints.kubemcp.io in namespace team: mcpendpoints.kubemcp.io \"ops\" is forbidden: User \"u\" cannot get",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(get_error(err, "team", "ops").to_string(), want);
        }
    }
    use kube_mcp_operator::crd::{AuthSpec, McpEndpointSpec, McpEndpointStatus, SecretKeyRef};

    #[test]
    fn the_token_secret_comes_from_status_then_spec_then_the_generated_name() {
        let mut ep = McpEndpoint::new("ops", McpEndpointSpec::default());
        assert_eq!(token_ref(&ep), ("ops-token".into(), "token".into()));
        ep.spec.auth = Some(AuthSpec {
            token_secret_ref: Some(SecretKeyRef {
                name: "mine".into(),
                key: "k".into(),
            }),
        });
        assert_eq!(token_ref(&ep), ("mine".into(), "k".into()));
        ep.status = Some(McpEndpointStatus {
            token_secret_name: Some("from-status".into()),
            ..McpEndpointStatus::default()
        });
        assert_eq!(token_ref(&ep), ("from-status".into(), "k".into()));
    }
}
