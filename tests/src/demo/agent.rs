//! The demo's in-cluster-style client: an agent that authenticates with its
//! own ServiceAccount token, minted for the endpoint's audience as a
//! projected token volume mounts it, instead of the endpoint's shared token.

use super::NAMESPACE;
use crate::mcp::McpClient;
use anyhow::Context;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};

/// The agent's ServiceAccount in the demo namespace.
pub const AGENT: &str = "triage-agent";

/// `spec.auth.modes` of the demo's endpoint: the shared token (the README's
/// clients and the operator's verification) and ServiceAccount tokens.
pub fn with_service_account_tokens(mut endpoint: serde_json::Value) -> serde_json::Value {
    endpoint["spec"]["auth"]["modes"] = serde_json::json!(["Token", "Kubernetes"]);
    endpoint
}

async fn token(client: &Client, audience: Option<&str>) -> anyhow::Result<String> {
    let req = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: audience.map(|a| vec![a.to_string()]),
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let resp: TokenRequest = Api::<ServiceAccount>::namespaced(client.clone(), NAMESPACE)
        .create_subresource("token", AGENT, &PostParams::default(), &req)
        .await
        .with_context(|| format!("TokenRequest for {NAMESPACE}/{AGENT}"))?;
    resp.status
        .and_then(|s| s.token)
        .filter(|t| !t.is_empty())
        .context("the TokenRequest returned no token")
}

/// What the agent saw, as lines for the demo's output: its token for the
/// endpoint's audience `audience` (status.url) lists the tools at `local`;
/// its token for the API server is refused.
pub async fn run(client: &Client, local: &str, audience: &str) -> anyhow::Result<String> {
    let sa = serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": AGENT, "namespace": NAMESPACE}});
    Api::<ServiceAccount>::namespaced(client.clone(), NAMESPACE)
        .patch(
            AGENT,
            &PatchParams::apply("kube-mcp-demo"),
            &Patch::Apply(&sa),
        )
        .await?;
    let for_endpoint = token(client, Some(audience)).await?;
    let mcp = McpClient::connect_bearer(local, &for_endpoint)
        .await
        .map_err(|e| anyhow::anyhow!("the endpoint refused {AGENT}'s token for {audience}: {e}"))?;
    let tools = mcp.list_tools().await;
    mcp.close().await;
    let for_api = token(client, None).await?;
    match McpClient::connect_bearer(local, &for_api).await {
        // rmcp's words for a 401 answer.
        Err(e) if e.contains("Auth required") => {}
        Err(e) => anyhow::bail!("{AGENT}'s token for the API server failed otherwise: {e}"),
        Ok(_) => anyhow::bail!("the endpoint accepted {AGENT}'s token for the API server"),
    }
    Ok(format!(
        "ServiceAccount {NAMESPACE}/{AGENT} with a token for audience {audience} (as a projected \
         token volume mounts it): tools/list -> {} tools; its token for the API server is refused \
         (401)",
        tools.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_keeps_its_spec_and_gains_the_kubernetes_mode() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/samples/team-a-readonly.yaml"
        );
        let sample: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let ep = with_service_account_tokens(sample.clone());
        assert_eq!(
            ep["spec"]["auth"]["modes"],
            serde_json::json!(["Token", "Kubernetes"])
        );
        assert!(
            ep["spec"]["auth"].get("authorize").is_none(),
            "the endpoint's rights, as the sample"
        );
        let mut back = ep;
        back["spec"].as_object_mut().unwrap().remove("auth");
        let mut orig = sample;
        orig["spec"].as_object_mut().unwrap().remove("auth");
        assert_eq!(back, orig);
    }
}
