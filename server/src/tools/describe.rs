//! kubectl_describe: the object in readable form plus its recent Events.
use super::get::{self, Target};
use super::{Ctx, ToolError, ToolResult};
use crate::discovery::Resource;
use crate::format::describe;
use kube::Client;
use kube::api::ListParams;
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to describe (e.g., pods, deployments, services)
    pub resource_type: String,
    /// Name of the resource to describe
    pub name: String,
    /// Namespace of the resource (optional - defaults to the server's default namespace)
    pub namespace: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
    /// If true, look for the resource in every namespace in scope
    #[serde(default)]
    pub all_namespaces: bool,
}

/// How many of the most recent events describe shows.
const EVENTS_SHOWN: usize = 20;

pub async fn run(ctx: &Ctx, args: Args) -> ToolResult {
    let client = ctx.client(args.context.as_deref()).await?;
    let r = ctx.resolve(&client, &args.resource_type).await?;
    let name = args.name.trim();
    if name.is_empty() {
        return Err(ToolError::InvalidArgs {
            tool: ToolId::KubectlDescribe,
            reason: "name must not be empty".into(),
        });
    }
    let mut obj = find(ctx, &client, &r, &args, name).await?;
    ctx.redact(&mut obj);
    let mut text = describe::object(&obj);
    match events_for(ctx, &client, &r, &obj).await {
        // Already masked page by page.
        Ok(events) => text.push_str(&describe::events(
            &events_sorted(events),
            jiff::Timestamp::now(),
        )),
        // Events are a bonus: a server without RBAC on them still describes.
        Err(e) => text.push_str(&format!("Events:  <unavailable: {e}>\n")),
    }
    Ok(ctx.bound(text))
}

/// The object: in the requested namespace, or with `allNamespaces` the
/// first namespace in scope that has it.
async fn find(
    ctx: &Ctx,
    client: &Client,
    r: &Resource,
    args: &Args,
    name: &str,
) -> Result<Value, ToolError> {
    if !r.namespaced {
        if !ctx.scope.allows_cluster_scoped() {
            return Err(get::cluster_scoped_refused(ctx, r));
        }
        return get::get_object(client, &get::collection_url(r, None), name, None).await;
    }
    if !args.all_namespaces {
        let ns = ctx.namespace(args.namespace.as_deref()).await?;
        return get::get_object(client, &get::collection_url(r, Some(&ns)), name, None).await;
    }
    let ns = get::find_namespace(ctx, client, r, name).await?;
    get::get_object(client, &get::collection_url(r, Some(&ns)), name, None).await
}

/// The core/v1 Events about `obj`, matched by name, namespace and uid.
async fn events_for(
    ctx: &Ctx,
    client: &Client,
    r: &Resource,
    obj: &Value,
) -> Result<Vec<Value>, ToolError> {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let (name, ns, uid) = (
        s("/metadata/name"),
        s("/metadata/namespace"),
        s("/metadata/uid"),
    );
    let mut selector = vec![
        format!("involvedObject.name={name}"),
        format!("involvedObject.kind={}", r.api.kind),
    ];
    if !uid.is_empty() {
        selector.push(format!("involvedObject.uid={uid}"));
    }
    let events = ctx.resolve(client, "events").await?;
    let url = if ns.is_empty() {
        // Events about cluster-scoped objects live in `default` (or anywhere).
        if !ctx.scope.allows_cluster_scoped() {
            return Ok(vec![]);
        }
        get::collection_url(&events, None)
    } else {
        selector.push(format!("involvedObject.namespace={ns}"));
        get::collection_url(&events, Some(ns))
    };
    let lp = ListParams {
        field_selector: Some(selector.join(",")),
        ..Default::default()
    };
    // One page of events is plenty for the last few; the bound keeps it small.
    let g = get::gather(
        ctx,
        client,
        &[Target::List(url)],
        &lp,
        None,
        256 * 1024,
        |page| {
            get::page_items(&events, page)
                .into_iter()
                .map(|e| get::Entry {
                    key: None,
                    bytes: 512,
                    row: e,
                })
                .collect()
        },
    )
    .await?;
    Ok(g.entries.into_iter().map(|e| e.row).collect())
}

/// The last [`EVENTS_SHOWN`] events, oldest first.
fn events_sorted(mut events: Vec<Value>) -> Vec<Value> {
    events.sort_by_key(describe::event_time);
    let skip = events.len().saturating_sub(EVENTS_SHOWN);
    events.split_off(skip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_latest_events_in_order() {
        let events: Vec<Value> = (0..30)
            .rev()
            .map(|i| json!({"lastTimestamp": format!("2026-01-01T00:00:{i:02}Z"), "reason": i.to_string()}))
            .collect();
        let kept = events_sorted(events);
        assert_eq!(kept.len(), EVENTS_SHOWN);
        assert_eq!(kept[0]["reason"], "10");
        assert_eq!(kept[EVENTS_SHOWN - 1]["reason"], "29");
    }
}
