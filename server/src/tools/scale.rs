//! kubectl_scale: the scale subresource of a workload.
use super::manifest::{dynamic_api, object_ref};
use super::{Ctx, ToolError, ToolResult};
use kube::api::{Patch, PatchParams};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Name of the workload
    pub name: String,
    /// Namespace of the workload
    pub namespace: Option<String>,
    /// Number of replicas
    pub replicas: i32,
    /// deployment (default), statefulset or replicaset
    pub resource_type: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> ToolResult {
    if args.replicas < 0 {
        return Err(ToolError::InvalidArgs {
            tool: ToolId::KubectlScale,
            reason: format!("replicas must be 0 or more, not {}", args.replicas),
        });
    }
    let client = ctx.client(args.context.as_deref()).await?;
    let rt = args
        .resource_type
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("deployment");
    let r = ctx.resolve(&client, rt).await?;
    if !r.namespaced {
        return Err(ToolError::Invalid(format!(
            "{rt} is cluster-scoped and has no replicas to scale"
        )));
    }
    let ns = ctx.namespace(args.namespace.as_deref()).await?;
    let api = dynamic_api(&client, &r, Some(&ns));
    let pp = PatchParams {
        field_manager: Some(super::apply::FIELD_MANAGER.into()),
        ..Default::default()
    };
    let patch = Patch::Merge(json!({"spec": {"replicas": args.replicas}}));
    match api.patch_scale(&args.name, &pp, &patch).await {
        Ok(_) => Ok(format!("{} scaled", object_ref(&r, &args.name))),
        Err(kube::Error::Api(s)) if s.code == 404 && api.get_opt(&args.name).await?.is_some() => {
            Err(ToolError::Invalid(format!(
                "{} has no scale subresource; scale deployments, statefulsets or replicasets",
                object_ref(&r, &args.name)
            )))
        }
        Err(e) => Err(e.into()),
    }
}
