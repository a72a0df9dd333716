//! kubectl_delete: by name, by selector or by manifest.
use super::manifest::{self, dynamic_api, object_ref};
use super::{Ctx, ToolError, ToolResult};
use kube::api::{DeleteParams, ListParams, PropagationPolicy};
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to delete
    pub resource_type: Option<String>,
    /// Name of the resource
    pub name: Option<String>,
    /// Namespace of the resource
    pub namespace: Option<String>,
    /// Delete everything matching this label selector
    pub label_selector: Option<String>,
    /// Delete the objects a manifest names
    pub manifest: Option<String>,
    /// Path to a manifest file inside the server's allowed directory
    pub filename: Option<String>,
    /// Delete across every namespace in this server's scope
    #[serde(default)]
    pub all_namespaces: bool,
    /// Delete immediately (grace period 0)
    #[serde(default)]
    pub force: bool,
    /// Grace period in seconds
    pub grace_period_seconds: Option<i64>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

const TOOL: ToolId = ToolId::KubectlDelete;

/// The delete options: force means grace period 0, else the given one.
pub fn delete_params(force: bool, grace: Option<i64>) -> Result<DeleteParams, ToolError> {
    let grace = if force { Some(0) } else { grace };
    if let Some(g) = grace
        && g < 0
    {
        return Err(ToolError::InvalidArgs {
            tool: TOOL,
            reason: format!("gracePeriodSeconds must be 0 or more, not {g}"),
        });
    }
    Ok(DeleteParams {
        grace_period_seconds: grace.map(|g| g as u32),
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    })
}

/// How a delete call names its objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Manifest,
    Name,
    /// A label selector, and whether it spans every namespace in scope.
    Selector {
        selector: String,
        all_namespaces: bool,
    },
}

/// The objects a delete call names, resolved and scope-checked (a selector
/// is listed), without deleting anything: what the call does, and what a
/// confirmation states first.
pub struct Doomed {
    pub selection: Selection,
    pub targets: Vec<manifest::Target>,
}

fn target(r: &crate::discovery::Resource, ns: Option<String>, name: String) -> manifest::Target {
    manifest::Target {
        resource: r.clone(),
        namespace: ns,
        name,
        object: serde_json::Value::Null,
    }
}

pub async fn resolve(ctx: &Ctx, client: &kube::Client, args: &Args) -> Result<Doomed, ToolError> {
    let has_manifest = args
        .manifest
        .as_deref()
        .is_some_and(|m| !m.trim().is_empty())
        || args.filename.as_deref().is_some_and(|f| !f.is_empty());
    if has_manifest {
        if args.resource_type.is_some() || args.label_selector.is_some() {
            return Err(ToolError::InvalidArgs {
                tool: TOOL,
                reason: "give either a manifest/filename or resourceType with name/labelSelector, not both".into(),
            });
        }
        let text = manifest::text(
            ctx,
            TOOL,
            args.manifest.as_deref(),
            args.filename.as_deref(),
        )
        .await?;
        let targets = manifest::resolve_all(
            ctx,
            client,
            manifest::parse(&text)?,
            args.namespace.as_deref(),
        )
        .await?;
        return Ok(Doomed {
            selection: Selection::Manifest,
            targets,
        });
    }
    let Some(rt) = args.resource_type.as_deref().filter(|s| !s.is_empty()) else {
        return Err(ToolError::InvalidArgs {
            tool: TOOL,
            reason: "give resourceType with name or labelSelector, or a manifest/filename".into(),
        });
    };
    let r = ctx.resolve(client, rt).await?;
    let name = args.name.as_deref().filter(|s| !s.is_empty());
    let selector = args.label_selector.as_deref().filter(|s| !s.is_empty());
    match (name, selector) {
        (Some(_), Some(_)) => Err(ToolError::InvalidArgs {
            tool: TOOL,
            reason: "give name or labelSelector, not both".into(),
        }),
        (None, None) => Err(ToolError::InvalidArgs {
            tool: TOOL,
            reason: format!("give the name of the {rt} to delete, or a labelSelector"),
        }),
        (Some(name), None) => {
            if args.all_namespaces {
                return Err(ToolError::InvalidArgs {
                    tool: TOOL,
                    reason: "allNamespaces works with labelSelector, not with a name".into(),
                });
            }
            let ns = if r.namespaced {
                Some(ctx.namespace(args.namespace.as_deref()).await?)
            } else {
                manifest::check_cluster_scoped(ctx, &r, name)?;
                None
            };
            Ok(Doomed {
                selection: Selection::Name,
                targets: vec![target(&r, ns, name.to_string())],
            })
        }
        (None, Some(sel)) => {
            let namespaces: Vec<Option<String>> = if !r.namespaced {
                manifest::check_cluster_scoped(ctx, &r, "*")?;
                vec![None]
            } else if args.all_namespaces {
                match ctx.scope.list_targets() {
                    None => vec![None],
                    Some(list) => list.into_iter().map(Some).collect(),
                }
            } else {
                vec![Some(ctx.namespace(args.namespace.as_deref()).await?)]
            };
            let lp = ListParams::default().labels(sel);
            let mut targets = vec![];
            for ns in namespaces {
                for obj in dynamic_api(client, &r, ns.as_deref()).list(&lp).await? {
                    let name = obj.metadata.name.clone().unwrap_or_default();
                    targets.push(target(&r, obj.metadata.namespace.clone(), name));
                }
            }
            Ok(Doomed {
                selection: Selection::Selector {
                    selector: sel.to_string(),
                    all_namespaces: args.all_namespaces,
                },
                targets,
            })
        }
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> ToolResult {
    let params = delete_params(args.force, args.grace_period_seconds)?;
    let client = ctx.client(args.context.as_deref()).await?;
    let doomed = resolve(ctx, &client, &args).await?;
    let mut lines = vec![];
    match doomed.selection {
        Selection::Manifest => {
            // Like kubectl, objects already gone are reported and the rest still deleted.
            let mut deleted = 0;
            for t in &doomed.targets {
                match delete_one(&t.api(&client), &t.resource, &t.name, &params).await {
                    Ok(line) => {
                        deleted += 1;
                        lines.push(line);
                    }
                    Err(ToolError::Api(kube::Error::Api(s))) if s.code == 404 => {
                        lines.push(format!("{} not found", t.display()));
                    }
                    Err(e) => {
                        lines.push(format!("{}: {e}", t.display()));
                        return Err(ToolError::Invalid(lines.join("\n")));
                    }
                }
            }
            if deleted == 0 {
                return Err(ToolError::Invalid(format!(
                    "nothing was deleted: {}",
                    lines.join("; ")
                )));
            }
            Ok(ctx.bound(lines.join("\n")))
        }
        Selection::Name => match doomed.targets.first() {
            Some(t) => delete_one(&t.api(&client), &t.resource, &t.name, &params).await,
            None => Err(ToolError::Invalid("nothing to delete".into())),
        },
        Selection::Selector {
            selector,
            all_namespaces,
        } => {
            for t in &doomed.targets {
                let line = delete_one(&t.api(&client), &t.resource, &t.name, &params).await?;
                lines.push(match &t.namespace {
                    Some(n) if all_namespaces => format!("{line} (namespace {n})"),
                    _ => line,
                });
            }
            if lines.is_empty() {
                Ok(format!("No resources found matching {selector}"))
            } else {
                Ok(ctx.bound(lines.join("\n")))
            }
        }
    }
}

/// Deletes one object and says so the way kubectl does.
async fn delete_one(
    api: &kube::Api<kube::api::DynamicObject>,
    r: &crate::discovery::Resource,
    name: &str,
    params: &DeleteParams,
) -> Result<String, ToolError> {
    api.delete(name, params).await?;
    let shown = object_ref(r, name);
    let (kind, n) = shown.split_once('/').unwrap_or((&shown, name));
    Ok(format!("{kind} \"{n}\" deleted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_table() {
        let cases = [
            (false, None, Ok(None)),
            (false, Some(30), Ok(Some(30))),
            (true, Some(30), Ok(Some(0))),
            (true, None, Ok(Some(0))),
            (false, Some(-1), Err(())),
        ];
        for (force, grace, want) in cases {
            let got = delete_params(force, grace)
                .map(|p| p.grace_period_seconds)
                .map_err(|_| ());
            assert_eq!(got, want, "{force} {grace:?}");
        }
    }
}
