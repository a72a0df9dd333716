//! What knowing the caller costs per call: the same tool calls through one
//! kube-mcp-server per authentication mode (the static token, a
//! ServiceAccount token reviewed by the API server's TokenReview, a JWT from
//! a test OIDC issuer) and with per-caller authorization (a
//! SubjectAccessReview per Kubernetes request). Review answers are cached for
//! 10 s, so a client calling steadily pays a review once per token and
//! request shape (a JWT is verified on every request, with cached keys); the
//! `new_token_initialize` series makes every request present a token the
//! server has not seen (the uncached cost of authentication), and
//! `new_caller_first_call` is each such caller's first tool call (the
//! uncached cost of a SubjectAccessReview in the Caller rows).

use super::measure::{Config, Conn, latency};
use super::seed::Layout;
use super::stats;
use super::targets::{Kind, Scenario};
use crate::mcp::McpClient;
use crate::oidc::OidcIssuer;
use crate::server::ServerProcess;
use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// The endpoint URL tokens are minted for (the server listens on loopback).
const RESOURCE: &str = "https://mcp.bench.example/mcp";
const SCOPE: &str = "mcp:tools";
const STATIC: &str = "bench-static-token";
const CALLER_NS: &str = "default";
/// Callers `bench-caller-0` ..= `bench-caller-NEW_TOKENS`, each its own user.
const CALLER_SA: &str = "bench-caller";
const GROUP: &str = "bench-viewers";
/// Requests with a token never seen before, per row.
const NEW_TOKENS: usize = 20;

/// How a row's client proves who it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Credential {
    Static,
    ServiceAccount,
    Oidc,
}

struct Row {
    key: &'static str,
    title: &'static str,
    credential: Credential,
    caller_authz: bool,
}

const ROWS: [Row; 5] = [
    Row {
        key: "token",
        title: "static token (`token`)",
        credential: Credential::Static,
        caller_authz: false,
    },
    Row {
        key: "kubernetes",
        title: "ServiceAccount token (`kubernetes`, TokenReview)",
        credential: Credential::ServiceAccount,
        caller_authz: false,
    },
    Row {
        key: "oidc",
        title: "OIDC JWT (`oidc`)",
        credential: Credential::Oidc,
        caller_authz: false,
    },
    Row {
        key: "kubernetes+caller",
        title: "ServiceAccount token, `authorize: Caller` (SubjectAccessReview)",
        credential: Credential::ServiceAccount,
        caller_authz: true,
    },
    Row {
        key: "oidc+caller",
        title: "OIDC JWT, `authorize: Caller` (SubjectAccessReview)",
        credential: Credential::Oidc,
        caller_authz: true,
    },
];

/// The caller's rights: `view` everywhere, for the ServiceAccount and for
/// the OIDC group, so Caller authorization allows what is measured.
async fn grant_view(client: &kube::Client) -> Result<()> {
    let ssa = PatchParams::apply("kube-mcp-bench").force();
    let mut subjects = vec![json!(
        {"kind": "Group", "name": format!("oidc:{GROUP}"), "apiGroup": "rbac.authorization.k8s.io"}
    )];
    for n in 0..=NEW_TOKENS {
        let name = format!("{CALLER_SA}-{n}");
        let sa: ServiceAccount = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": CALLER_NS},
        }))?;
        Api::<ServiceAccount>::namespaced(client.clone(), CALLER_NS)
            .patch(&name, &ssa, &Patch::Apply(&sa))
            .await
            .context("creating the callers' ServiceAccounts")?;
        subjects.push(json!({"kind": "ServiceAccount", "name": name, "namespace": CALLER_NS}));
    }
    let name = "kube-mcp-bench-caller-view";
    let crb: ClusterRoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": subjects,
    }))?;
    Api::<ClusterRoleBinding>::all(client.clone())
        .patch(name, &ssa, &Patch::Apply(&crb))
        .await
        .context("binding the caller to view")?;
    Ok(())
}

fn oidc_token(issuer: &OidcIssuer, n: usize) -> String {
    let mut claims = issuer.claims(&format!("bench-user-{n}"), RESOURCE);
    claims["scope"] = json!(format!("openid {SCOPE}"));
    claims["groups"] = json!([GROUP]);
    issuer.token(&claims)
}

async fn new_token(c: Credential, client: &kube::Client, issuer: &OidcIssuer, n: usize) -> String {
    match c {
        Credential::Static => STATIC.to_string(),
        Credential::ServiceAccount => {
            let sa = format!("{CALLER_SA}-{n}");
            crate::service_account_token_for(client, CALLER_NS, &sa, RESOURCE).await
        }
        Credential::Oidc => oidc_token(issuer, n),
    }
}

/// POSTs an initialize with `token`; the time to the response head.
async fn initialize(http: &reqwest::Client, url: &str, token: &str) -> Result<Duration> {
    const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
    let t = Instant::now();
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(token)
        .body(INIT)
        .send()
        .await?;
    let took = t.elapsed();
    anyhow::ensure!(
        resp.status().is_success(),
        "initialize: HTTP {}",
        resp.status()
    );
    Ok(took)
}

/// What every row shares.
struct Setup<'a> {
    bin: &'a Path,
    kubeconfig: &'a Path,
    client: &'a kube::Client,
    issuer: OidcIssuer,
    ca_file: std::path::PathBuf,
    layout: &'a Layout,
    cfg: &'a Config,
}

async fn measure_row(row: &Row, set: &Setup<'_>) -> Result<Value> {
    let (client, issuer, layout, cfg) = (set.client, &set.issuer, set.layout, set.cfg);
    let kubeconfig = set.kubeconfig.display().to_string();
    let ca = set.ca_file.display().to_string();
    let mut env: Vec<(&str, &str)> = vec![
        ("KUBECONFIG_PATH", &kubeconfig),
        ("RUST_LOG", "warn"),
        ("KUBE_MCP_RESOURCE_URL", RESOURCE),
    ];
    match row.credential {
        Credential::Static => {
            env.extend([("KUBE_MCP_AUTH_MODES", "token"), ("MCP_AUTH_TOKEN", STATIC)])
        }
        Credential::ServiceAccount => env.push(("KUBE_MCP_AUTH_MODES", "kubernetes")),
        Credential::Oidc => env.extend([
            ("KUBE_MCP_AUTH_MODES", "oidc"),
            ("KUBE_MCP_OIDC_ISSUER_URL", issuer.url.as_str()),
            ("KUBE_MCP_OIDC_CA_FILE", &ca),
            ("KUBE_MCP_OIDC_REQUIRED_SCOPES", SCOPE),
            ("KUBE_MCP_OIDC_USERNAME_PREFIX", "oidc:"),
            ("KUBE_MCP_OIDC_GROUPS_PREFIX", "oidc:"),
        ]),
    }
    if row.caller_authz {
        env.push(("KUBE_MCP_AUTHORIZE", "caller"));
    }
    let server = ServerProcess::start(set.bin, &env).await;
    let token = new_token(row.credential, client, issuer, 0).await;
    let mcp = match row.credential {
        Credential::Static => McpClient::connect(&server.url, Some(&token)).await,
        _ => McpClient::connect_bearer(&server.url, &token).await,
    }
    .map_err(|e| anyhow::anyhow!("{}: connect: {e}\n{}", row.key, server.log()))?;
    let mut scenarios = serde_json::Map::new();
    let mut conn = Conn::Mcp(mcp, "", Value::Null);
    for s in [Scenario::GetPodsSmall, Scenario::GetDeploymentYaml] {
        let (tool, args) = s.call(Kind::KubeMcp, layout).map_err(anyhow::Error::msg)?;
        let Conn::Mcp(mcp, _, _) = conn else {
            unreachable!("an MCP connection")
        };
        conn = Conn::Mcp(mcp, tool, args);
        let v = latency(&conn, cfg, Duration::ZERO).await;
        eprintln!(
            "[bench] identity {} {}: p50 {} ms, errors {}",
            row.key,
            s.key(layout),
            v["latency"]["p50_ms"],
            v["errors"]
        );
        scenarios.insert(s.key(layout), v);
    }
    conn.close().await;

    let http = reqwest::Client::new();
    let (tool, args) = Scenario::GetDeploymentYaml
        .call(Kind::KubeMcp, layout)
        .map_err(anyhow::Error::msg)?;
    let (mut initialized, mut first_calls, mut errors) = (vec![], vec![], vec![]);
    for n in 1..=NEW_TOKENS {
        let token = new_token(row.credential, client, issuer, n).await;
        initialized.push(
            initialize(&http, &server.url, &token)
                .await
                .with_context(|| {
                    format!("{}: initialize with a new token\n{}", row.key, server.log())
                })?,
        );
        // The token is reviewed now; the caller's first tool call still
        // needs its own SubjectAccessReview (Caller rows).
        let mcp = match row.credential {
            Credential::Static => McpClient::connect(&server.url, Some(&token)).await,
            _ => McpClient::connect_bearer(&server.url, &token).await,
        }
        .map_err(|e| anyhow::anyhow!("{}: connect: {e}", row.key))?;
        let conn = Conn::Mcp(mcp, tool, args.clone());
        let call = conn.call().await;
        match call.error {
            None => first_calls.push(call.took),
            Some(e) => errors.push(e),
        }
        conn.close().await;
    }
    server.terminate().await;
    Ok(json!({
        "title": row.title,
        "scenarios": scenarios,
        "new_token_initialize": stats::summarize(&initialized),
        "new_caller_first_call": stats::summarize(&first_calls),
        "new_caller_errors": errors,
    }))
}

/// Every row; a row that cannot be measured says why instead.
pub async fn run(
    bin: &Path,
    kubeconfig: &Path,
    client: &kube::Client,
    layout: &Layout,
    cfg: &Config,
) -> Value {
    if let Err(e) = grant_view(client).await {
        return json!({"skipped": format!("{e:#}")});
    }
    let issuer = OidcIssuer::start().await;
    let Ok(dir) = tempfile::tempdir() else {
        return json!({"skipped": "no temporary directory"});
    };
    let set = Setup {
        bin,
        kubeconfig,
        client,
        ca_file: issuer.write_ca(dir.path()),
        issuer,
        layout,
        cfg,
    };
    let mut rows = vec![];
    for row in &ROWS {
        let mut v = measure_row(row, &set)
            .await
            .unwrap_or_else(|e| json!({"title": row.title, "skipped": format!("{e:#}")}));
        v["key"] = json!(row.key);
        rows.push(v);
    }
    json!({
        "resource": RESOURCE,
        "cache_ttl_s": 10,
        "new_tokens": NEW_TOKENS,
        "rows": rows,
    })
}
