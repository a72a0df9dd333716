//! `kubectl mcp list`: the endpoints the caller can see.

use crate::error::{self, Error};
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use kube_mcp_operator::McpEndpoint;

/// Which namespaces to list.
pub enum Where<'a> {
    One(&'a str),
    All,
}

pub async fn fetch(client: &Client, place: &Where<'_>) -> Result<Vec<McpEndpoint>, Error> {
    let (api, action): (Api<McpEndpoint>, String) = match place {
        Where::One(ns) => (
            Api::namespaced(client.clone(), ns),
            format!("list mcpendpoints.kubemcp.io in namespace {ns}"),
        ),
        Where::All => (
            Api::all(client.clone()),
            "list mcpendpoints.kubemcp.io across all namespaces".into(),
        ),
    };
    let mut items = api
        .list(&ListParams::default())
        .await
        .map_err(|e| match e {
            // The API server answers 404 for the path of a resource it does not serve.
            e if error::is_status(&e, 404) => Error::CrdMissing,
            e => Error::from_kube(e, action),
        })?
        .items;
    items.sort_by_key(|ep| (ep.namespace(), ep.name_any()));
    Ok(items)
}

/// The table, or what kubectl says when there is nothing to show.
pub fn render(endpoints: &[McpEndpoint], place: &Where<'_>) -> Result<String, String> {
    if endpoints.is_empty() {
        return Err(match place {
            Where::One(ns) => format!("No McpEndpoints found in {ns}."),
            Where::All => "No McpEndpoints found.".into(),
        });
    }
    let all = matches!(place, Where::All);
    let mut header = vec!["NAME", "ACCESS", "SECRETS", "TOOLS", "READY", "REASON"];
    if all {
        header.insert(0, "NAMESPACE");
    }
    let rows: Vec<Vec<String>> = endpoints
        .iter()
        .map(|ep| {
            let mut row = row(ep);
            if all {
                row.insert(0, ep.namespace().unwrap_or_default());
            }
            row
        })
        .collect();
    Ok(crate::table::render(&header, &rows))
}

fn row(ep: &McpEndpoint) -> Vec<String> {
    let status = ep.status.as_ref();
    let ready = kube_mcp_operator::status::ready(status);
    let tools = status
        .and_then(|s| s.tool_count)
        .map(|n| n.to_string())
        .unwrap_or_else(|| "-".into());
    vec![
        ep.name_any(),
        ep.spec.access.as_str().into(),
        format!("{:?}", ep.spec.secrets),
        tools,
        ready
            .map(|c| c.status.clone())
            .unwrap_or_else(|| "Unknown".into()),
        ready.map(|c| c.reason.clone()).unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    use kube_mcp_operator::crd::{Access, McpEndpointSpec, McpEndpointStatus, SecretsPolicy};

    fn ep(ns: &str, name: &str, access: Access, ready: Option<(&str, &str)>) -> McpEndpoint {
        let mut ep = McpEndpoint::new(
            name,
            McpEndpointSpec {
                access,
                secrets: SecretsPolicy::Hidden,
                ..McpEndpointSpec::default()
            },
        );
        ep.metadata.namespace = Some(ns.into());
        ep.status = ready.map(|(status, reason)| McpEndpointStatus {
            tool_count: Some(8),
            conditions: vec![Condition {
                type_: "Ready".into(),
                status: status.into(),
                reason: reason.into(),
                message: String::new(),
                last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
                observed_generation: None,
            }],
            ..McpEndpointStatus::default()
        });
        ep
    }

    #[test]
    fn tables() {
        let eps = [
            ep("team-a", "ro", Access::ReadOnly, Some(("True", "Ready"))),
            ep(
                "team-b",
                "ops",
                Access::Full,
                Some(("False", "NoReadyPods")),
            ),
            ep("team-b", "new", Access::NonDestructive, None),
        ];
        let cases: [(&[McpEndpoint], Where, Result<&str, &str>); 4] = [
            (
                &eps[..1],
                Where::One("team-a"),
                Ok("NAME   ACCESS     SECRETS   TOOLS   READY   REASON\n\
                    ro     ReadOnly   Hidden    8       True    Ready\n"),
            ),
            (
                &eps,
                Where::All,
                Ok(
                    "NAMESPACE   NAME   ACCESS           SECRETS   TOOLS   READY     REASON\n\
                    team-a      ro     ReadOnly         Hidden    8       True      Ready\n\
                    team-b      ops    Full             Hidden    8       False     NoReadyPods\n\
                    team-b      new    NonDestructive   Hidden    -       Unknown\n",
                ),
            ),
            (
                &[],
                Where::One("team-c"),
                Err("No McpEndpoints found in team-c."),
            ),
            (&[], Where::All, Err("No McpEndpoints found.")),
        ];
        for (eps, place, want) in cases {
            let got = render(eps, &place);
            assert_eq!(got.as_deref(), want.map_err(String::from).as_deref());
        }
    }
}
