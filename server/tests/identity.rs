//! Who is calling, end to end: the real server binary against the local
//! control plane, a test OIDC issuer over HTTPS with its own CA, tokens
//! minted by the API server's TokenRequest, and reviews made by the real API
//! server (TokenReview, SubjectAccessReview). Each refusal is checked as a
//! client sees it: status, `WWW-Authenticate`, or the tool error.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use kube_mcp_tests::mcp::McpClient;
use kube_mcp_tests::oidc::OidcIssuer;
use kube_mcp_tests::server::ServerProcess;
use kube_mcp_tests::{service_account_token, service_account_token_for, test_namespace};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");
/// The endpoint's public URL (behind an ingress; the server listens on loopback).
const RESOURCE: &str = "https://mcp.test.example/mcp";
const METADATA: &str = "https://mcp.test.example/.well-known/oauth-protected-resource/mcp";
const SCOPE: &str = "mcp:tools";

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

/// POSTs an initialize with `bearer`; returns the status and WWW-Authenticate.
async fn initialize(server: &ServerProcess, bearer: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (resp.status().as_u16(), challenge)
}

async fn start(env: &[(&str, String)]) -> ServerProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServerProcess::start(Path::new(BIN), &env).await
}

fn oidc_env(issuer: &OidcIssuer, dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("KUBE_MCP_RESOURCE_URL", RESOURCE.into()),
        ("KUBE_MCP_OIDC_ISSUER_URL", issuer.url.clone()),
        (
            "KUBE_MCP_OIDC_CA_FILE",
            issuer.write_ca(dir).display().to_string(),
        ),
        ("KUBE_MCP_OIDC_REQUIRED_SCOPES", SCOPE.into()),
        ("KUBE_MCP_OIDC_USERNAME_PREFIX", "oidc:".into()),
        ("KUBE_MCP_OIDC_GROUPS_PREFIX", "oidc:".into()),
    ]
}

/// Claims of a token `issuer` grants `sub` for this endpoint with the scope.
fn good(issuer: &OidcIssuer, sub: &str) -> Value {
    let mut c = issuer.claims(sub, RESOURCE);
    c["scope"] = json!(format!("openid {SCOPE}"));
    c
}

#[tokio::test]
async fn oidc_tokens_are_verified_and_each_bad_one_refused_with_its_challenge() {
    let issuer = OidcIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = oidc_env(&issuer, dir.path());
    env.push(("KUBE_MCP_AUTH_MODES", "oidc".into()));
    let server = start(&env).await;

    let ok = issuer.token(&good(&issuer, "alice"));
    let client = McpClient::connect_bearer(&server.url, &ok)
        .await
        .unwrap_or_else(|e| panic!("a good token is refused: {e}\n{}", server.log()));
    assert_eq!(client.call("ping", json!({})).await.text, "pong");

    let (status, challenge) = initialize(&server, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge,
        format!("Bearer resource_metadata=\"{METADATA}\", scope=\"{SCOPE}\""),
        "no token: a challenge without an error, pointing to the metadata"
    );

    let now = jiff::Timestamp::now().as_second();
    let with = |patch: Value| {
        let mut c = good(&issuer, "alice");
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let refused = [
        (
            "wrong audience",
            issuer.token(&with(json!({"aud": "https://kubernetes.default.svc"}))),
            "audience",
        ),
        (
            "expired",
            issuer.token(&with(json!({"exp": now - 120}))),
            "expired",
        ),
        (
            "not yet valid",
            issuer.token(&with(json!({"nbf": now + 300}))),
            "not valid yet",
        ),
        (
            "wrong issuer",
            issuer.token(&with(json!({"iss": "https://evil.example"}))),
            "issuer",
        ),
        (
            "alg none",
            issuer.unsigned(&good(&issuer, "alice")),
            "unsigned",
        ),
        (
            "bad signature",
            issuer.forged(&good(&issuer, "alice")),
            "signature",
        ),
        (
            "not a JWT",
            "opaque-token".to_string(),
            "not a token this server accepts",
        ),
    ];
    for (case, token, why) in refused {
        let (status, challenge) = initialize(&server, Some(&token)).await;
        assert_eq!(status, 401, "{case}");
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\", error_description=\"")
                && challenge.contains(why)
                && challenge.ends_with(&format!("resource_metadata=\"{METADATA}\"")),
            "{case}: {challenge}"
        );
    }

    let mut no_scope = good(&issuer, "alice");
    no_scope["scope"] = json!("openid");
    let (status, challenge) = initialize(&server, Some(&issuer.token(&no_scope))).await;
    assert_eq!(status, 403, "a missing scope is insufficient_scope");
    assert!(
        challenge.starts_with(&format!(
            "Bearer error=\"insufficient_scope\", scope=\"{SCOPE}\""
        )) && challenge.contains(&format!("resource_metadata=\"{METADATA}\"")),
        "{challenge}"
    );
    let log = server.log();
    assert!(!log.contains(&ok), "a token reached the log");
    client.close().await;
}

#[tokio::test]
async fn a_rotated_issuer_key_is_picked_up_without_a_restart() {
    let issuer = OidcIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = oidc_env(&issuer, dir.path());
    env.push(("KUBE_MCP_AUTH_MODES", "oidc".into()));
    let server = start(&env).await;
    let old = issuer.token(&good(&issuer, "alice"));
    assert_eq!(initialize(&server, Some(&old)).await.0, 200);
    let reads = issuer.jwks_reads();

    let kid = issuer.rotate();
    let new = issuer.token(&good(&issuer, "alice"));
    // Unknown key ids make the server read the keys again, at most once per
    // 5 s: the first tries may fall inside that window.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut status = 0;
    while Instant::now() < deadline {
        status = initialize(&server, Some(&new)).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        status,
        200,
        "a token signed with {kid} is still refused:\n{}",
        server.log()
    );
    assert!(issuer.jwks_reads() > reads, "the keys were not read again");
    assert!(
        issuer.jwks_reads() <= reads + 4,
        "reads are rate-limited: {} reads for a few dozen attempts",
        issuer.jwks_reads() - reads
    );
    let (status, challenge) = initialize(&server, Some(&old)).await;
    assert_eq!(status, 401, "the retired key no longer verifies");
    assert!(challenge.contains("does not publish"), "{challenge}");
}

#[tokio::test]
async fn the_protected_resource_metadata_names_resource_issuer_and_scopes() {
    let issuer = OidcIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = oidc_env(&issuer, dir.path());
    env.push(("KUBE_MCP_AUTH_MODES", "token,kubernetes,oidc".into()));
    env.push(("MCP_AUTH_TOKEN", "s3cret".into()));
    let server = start(&env).await;
    let http = reqwest::Client::new();
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let resp = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path} is public");
        let doc: Value = resp.json().await.unwrap();
        let fields = doc.as_object().unwrap();
        assert_eq!(fields.len(), 5, "{path}: {doc}");
        assert_eq!(doc["resource"], RESOURCE, "{path}");
        assert_eq!(doc["authorization_servers"], json!([issuer.url]), "{path}");
        assert_eq!(doc["scopes_supported"], json!([SCOPE]), "{path}");
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]), "{path}");
        assert_eq!(doc["resource_name"], "kube-mcp-server", "{path}");
    }
    // The static token still works next to the other modes, in its header.
    let client = McpClient::connect(&server.url, Some("s3cret"))
        .await
        .unwrap();
    assert_eq!(client.call("ping", json!({})).await.text, "pong");
    let (status, challenge) = initialize(&server, Some("wrong")).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    // A token-only server has no metadata to offer.
    let plain = start(&[("MCP_AUTH_TOKEN", "s3cret".into())]).await;
    let resp = http
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            plain.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(initialize(&plain, None).await.1, "Bearer");
}

#[tokio::test]
async fn service_account_tokens_for_the_endpoint_audience_are_accepted_others_refused() {
    let ns = test_namespace("id-sa").await;
    let server = start(&[
        ("KUBE_MCP_AUTH_MODES", "kubernetes".into()),
        ("KUBE_MCP_RESOURCE_URL", RESOURCE.into()),
    ])
    .await;
    let ours = service_account_token_for(&ns.client, &ns.name, "default", RESOURCE).await;
    let client = McpClient::connect_bearer(&server.url, &ours)
        .await
        .unwrap_or_else(|e| panic!("a token for {RESOURCE} is refused: {e}\n{}", server.log()));
    assert_eq!(client.call("ping", json!({})).await.text, "pong");
    client.close().await;

    for (case, token) in [
        (
            "the API server's audience",
            service_account_token(&ns.client, &ns.name, "default").await,
        ),
        (
            "another service's audience",
            service_account_token_for(&ns.client, &ns.name, "default", "https://vault.example")
                .await,
        ),
    ] {
        let (status, challenge) = initialize(&server, Some(&token)).await;
        assert_eq!(status, 401, "{case}");
        assert!(
            challenge.contains("error=\"invalid_token\"")
                && challenge.contains("--audience https://mcp.test.example/mcp"),
            "{case}: {challenge}"
        );
    }
    ns.delete().await;
}

async fn service_account(ns: &kube_mcp_tests::TestNamespace, name: &str) {
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<ServiceAccount>::namespaced(ns.client.clone(), &ns.name)
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
}

async fn bind_view(ns: &kube_mcp_tests::TestNamespace, name: &str, subject: Value) {
    let rb: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [subject],
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(ns.client.clone(), &ns.name)
        .create(&PostParams::default(), &rb)
        .await
        .unwrap();
}

#[tokio::test]
async fn callers_through_one_endpoint_get_what_their_own_rbac_allows() {
    let ns = test_namespace("id-caller").await;
    let issuer = OidcIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    service_account(&ns, "reader").await;
    service_account(&ns, "nobody").await;
    bind_view(
        &ns,
        "reader-view",
        json!({"kind": "ServiceAccount", "name": "reader", "namespace": ns.name}),
    )
    .await;
    bind_view(
        &ns,
        "viewers-view",
        json!({"kind": "Group", "name": "oidc:viewers", "apiGroup": "rbac.authorization.k8s.io"}),
    )
    .await;

    let mut env = oidc_env(&issuer, dir.path());
    env.extend([
        ("KUBE_MCP_AUTH_MODES", "token,kubernetes,oidc".to_string()),
        ("MCP_AUTH_TOKEN", "s3cret".into()),
        ("KUBE_MCP_AUTHORIZE", "caller".into()),
        ("KUBE_MCP_NAMESPACES", ns.name.clone()),
        ("KUBE_MCP_SECRETS", "visible".into()),
    ]);
    let server = start(&env).await;
    let list = json!({"resourceType": "configmaps", "namespace": ns.name});

    let reader = service_account_token_for(&ns.client, &ns.name, "reader", RESOURCE).await;
    let nobody = service_account_token_for(&ns.client, &ns.name, "nobody", RESOURCE).await;
    let mut alice = good(&issuer, "alice");
    alice["groups"] = json!(["viewers"]);
    let bob = good(&issuer, "bob");
    let (alice, bob) = (issuer.token(&alice), issuer.token(&bob));

    for (who, token, allowed, name) in [
        (
            "reader",
            &reader,
            true,
            format!("system:serviceaccount:{}:reader", ns.name),
        ),
        (
            "nobody",
            &nobody,
            false,
            format!("system:serviceaccount:{}:nobody", ns.name),
        ),
        ("alice", &alice, true, "oidc:alice".into()),
        ("bob", &bob, false, "oidc:bob".into()),
    ] {
        let client = McpClient::connect_bearer(&server.url, token).await.unwrap();
        let tools = client.list_tools().await;
        assert!(
            !tools.iter().any(|t| t.contains("helm")),
            "helm runs outside the gate and is not offered: {tools:?}"
        );
        let out = client.call("kubectl_get", list.clone()).await;
        assert_eq!(!out.is_error, allowed, "{who}: {}", out.text);
        if !allowed {
            assert!(
                out.text.contains(&format!("{name} ("))
                    && out
                        .text
                        .contains(&format!("may not list configmaps in namespace {}", ns.name))
                    && out.text.contains("SubjectAccessReview"),
                "{who}: {}",
                out.text
            );
        }
        client.close().await;
    }

    // The shared token names no user to check.
    let shared = McpClient::connect(&server.url, Some("s3cret"))
        .await
        .unwrap();
    let out = shared.call("kubectl_get", list.clone()).await;
    assert!(
        out.is_error && out.text.contains("names no user"),
        "{}",
        out.text
    );
    shared.close().await;

    // Revoking the caller's rights takes effect once the cached answer expires.
    Api::<RoleBinding>::namespaced(ns.client.clone(), &ns.name)
        .delete("reader-view", &DeleteParams::default())
        .await
        .unwrap();
    let client = McpClient::connect_bearer(&server.url, &reader)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(25);
    let mut out = client.call("kubectl_get", list.clone()).await;
    while !out.is_error && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        out = client.call("kubectl_get", list.clone()).await;
    }
    assert!(
        out.is_error && out.text.contains("may not list configmaps"),
        "{}",
        out.text
    );
    client.close().await;
    ns.delete().await;
}

/// The first SSE event of a GET /sse: the URL to POST messages to.
async fn sse_endpoint(resp: &mut reqwest::Response) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .expect("the endpoint event in time")
            .expect("the SSE stream")
            .expect("the endpoint event before the stream ends");
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(line) = seen.lines().find_map(|l| l.strip_prefix("data:"))
            && seen.contains("\n\n")
        {
            return line.trim().to_string();
        }
    }
    panic!("no endpoint event: {seen:?}");
}

#[tokio::test]
async fn a_legacy_sse_session_takes_messages_only_from_the_caller_that_opened_it() {
    let ns = test_namespace("id-sse").await;
    service_account(&ns, "alice").await;
    service_account(&ns, "mallory").await;
    let server = start(&[
        ("KUBE_MCP_AUTH_MODES", "kubernetes".into()),
        ("KUBE_MCP_RESOURCE_URL", RESOURCE.into()),
        ("ENABLE_UNSAFE_SSE_TRANSPORT", "true".into()),
    ])
    .await;
    let alice = service_account_token_for(&ns.client, &ns.name, "alice", RESOURCE).await;
    let mallory = service_account_token_for(&ns.client, &ns.name, "mallory", RESOURCE).await;
    let http = reqwest::Client::new();
    let mut stream = http
        .get(format!("{}/sse", server.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let path = sse_endpoint(&mut stream).await;
    let post = |token: String| {
        http.post(format!("{}{path}", server.base))
            .header("content-type", "application/json")
            .bearer_auth(token)
            .body(INIT)
            .send()
    };
    let theirs = post(mallory).await.unwrap();
    assert_eq!(theirs.status(), 403, "another caller's message is refused");
    let body = theirs.text().await.unwrap();
    assert!(body.contains("opened by another caller"), "{body}");
    assert_eq!(
        post(alice).await.unwrap().status(),
        202,
        "the opener's message is taken"
    );
    drop(stream);
    ns.delete().await;
}

#[tokio::test]
async fn a_server_that_may_not_review_tokens_says_what_it_needs() {
    use base64::Engine;
    let ns = test_namespace("id-norights").await;
    service_account(&ns, "bare-server").await;
    service_account(&ns, "agent").await;
    let own = service_account_token(&ns.client, &ns.name, "bare-server").await;
    let cluster = kube_mcp_tests::cluster();
    let ca = base64::engine::general_purpose::STANDARD.encode(cluster.ca_pem());
    let server = start(&[
        ("KUBE_MCP_AUTH_MODES", "kubernetes".into()),
        ("KUBE_MCP_RESOURCE_URL", RESOURCE.into()),
        ("K8S_SERVER", cluster.server_url().to_string()),
        ("K8S_TOKEN", own),
        ("K8S_CA_DATA", ca),
    ])
    .await;
    let agent = service_account_token_for(&ns.client, &ns.name, "agent", RESOURCE).await;
    let resp = reqwest::Client::new()
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(&agent)
        .body(INIT)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503, "the token was not judged");
    assert!(
        resp.headers().get("www-authenticate").is_none(),
        "no challenge: the client's token is not at fault"
    );
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("create on tokenreviews (system:auth-delegator)"),
        "{body}"
    );
    assert!(!body.contains(&agent) && !server.log().contains(&agent));
    ns.delete().await;
}
