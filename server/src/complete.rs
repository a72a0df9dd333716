//! completion/complete: values for the k8s-diagnose prompt's arguments and
//! the resource template's variables, read through the gate and within the
//! scope, matched against what is typed, at most 100.
//!
//! Reads that fail (RBAC, an unreachable API server) give no values rather
//! than an error: a picker shows nothing, and the call that follows says why.

use crate::tools::{Ctx, ToolError};
use crate::{prompts, resources};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Api;
use kube::api::ListParams;
use rmcp::model::{CompleteRequestParams, CompletionInfo, Reference};

/// Items read per list request for completion (one page, no more).
const PAGE: u32 = 500;

/// Why a completion request names nothing this server completes.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UnknownRef {
    #[error("no prompt {0:?} to complete; prompts/list shows the prompts this server offers")]
    Prompt(String),
    #[error(
        "no resource template {0:?} to complete; resources/templates/list shows the templates this server offers"
    )]
    Template(String),
    #[error(
        "this server completes prompt arguments (ref/prompt) and resource template variables (ref/resource) only"
    )]
    Other,
}

/// What one argument completes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Namespaces,
    ResourceTypes,
    /// Pod (and, cluster-wide, node) names: what the diagnosis keyword matches.
    PodAndNodeNames,
    Nothing,
}

/// Which values `arg` of `reference` takes, if the reference is offered.
fn source(
    reference: &Reference,
    arg: &str,
    prompt: bool,
    template: bool,
) -> Result<Source, UnknownRef> {
    match reference {
        Reference::Prompt(p) if prompt && p.name == prompts::DIAGNOSE => Ok(match arg {
            "namespace" => Source::Namespaces,
            "keyword" => Source::PodAndNodeNames,
            _ => Source::Nothing,
        }),
        Reference::Prompt(p) => Err(UnknownRef::Prompt(p.name.clone())),
        Reference::Resource(r) if template && r.uri == resources::TEMPLATE => Ok(match arg {
            "namespace" => Source::Namespaces,
            "resourceType" => Source::ResourceTypes,
            _ => Source::Nothing,
        }),
        Reference::Resource(r) => Err(UnknownRef::Template(r.uri.clone())),
        _ => Err(UnknownRef::Other),
    }
}

/// The values of `candidates` that match `typed` (case-insensitive): those
/// starting with it first, then those containing it, each sorted, at most
/// [`CompletionInfo::MAX_VALUES`], with the total and whether more exist.
pub fn matching(candidates: Vec<String>, typed: &str) -> CompletionInfo {
    let typed = typed.trim().to_ascii_lowercase();
    let mut starts = vec![];
    let mut contains = vec![];
    for c in candidates {
        let lower = c.to_ascii_lowercase();
        if lower.starts_with(&typed) {
            starts.push(c);
        } else if lower.contains(&typed) {
            contains.push(c);
        }
    }
    for group in [&mut starts, &mut contains] {
        group.sort();
        group.dedup();
    }
    let total = starts.len() + contains.len();
    let mut values = starts;
    values.extend(contains);
    values.truncate(CompletionInfo::MAX_VALUES);
    let mut info = CompletionInfo::default();
    info.has_more = Some(total > values.len());
    info.total = Some(u32::try_from(total).unwrap_or(u32::MAX));
    info.values = values;
    info
}

/// Completes one argument; `prompt` / `template`: whether this server offers them.
pub async fn complete(
    ctx: &Ctx,
    req: &CompleteRequestParams,
    prompt: bool,
    template: bool,
) -> Result<CompletionInfo, UnknownRef> {
    let from = source(&req.r#ref, &req.argument.name, prompt, template)?;
    let context_ns = req
        .context
        .as_ref()
        .and_then(|c| c.arguments.as_ref())
        .and_then(|a| a.get("namespace"))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    let candidates = match from {
        Source::Nothing => vec![],
        Source::Namespaces => namespaces(ctx).await,
        Source::ResourceTypes => resource_types(ctx).await,
        Source::PodAndNodeNames => pod_and_node_names(ctx, context_ns.as_deref()).await,
    };
    Ok(matching(candidates, &req.argument.value))
}

/// The namespaces in scope: the configured list, or every namespace the
/// server may list.
async fn namespaces(ctx: &Ctx) -> Vec<String> {
    if let Some(list) = ctx.scope.list_targets() {
        return list;
    }
    let read = async {
        let client = ctx.client(None).await?;
        let list = Api::<Namespace>::all(client)
            .list_metadata(&ListParams::default().limit(PAGE))
            .await?;
        Ok::<_, ToolError>(
            list.items
                .into_iter()
                .filter_map(|n| n.metadata.name)
                .collect(),
        )
    };
    read.await.unwrap_or_else(|e| {
        tracing::debug!(error = %e, "no namespaces to complete");
        vec![]
    })
}

/// The namespaced, listable kinds the cluster serves (preferred versions),
/// by plural name; Secrets only where they are not hidden.
async fn resource_types(ctx: &Ctx) -> Vec<String> {
    let read = async {
        let client = ctx.client(None).await?;
        Ok::<_, ToolError>(ctx.discovery.all(&client).await?)
    };
    match read.await {
        Ok(all) => all
            .iter()
            .filter(|r| r.preferred && r.namespaced && r.supports("list"))
            .filter(|r| !ctx.hides(r))
            .map(|r| r.api.plural.clone())
            .collect(),
        Err(e) => {
            tracing::debug!(error = %e, "no resource types to complete");
            vec![]
        }
    }
}

/// Pod names in `namespace` (or in every namespace in scope) and, for a
/// cluster-wide server, node names.
async fn pod_and_node_names(ctx: &Ctx, namespace: Option<&str>) -> Vec<String> {
    let read = async {
        let client = ctx.client(None).await?;
        let lp = ListParams::default().limit(PAGE);
        let apis: Vec<Api<Pod>> = match (namespace, ctx.scope.list_targets()) {
            (Some(ns), _) => {
                ctx.scope.check(ns)?;
                vec![Api::namespaced(client.clone(), ns)]
            }
            (None, None) => vec![Api::all(client.clone())],
            (None, Some(list)) => list
                .iter()
                .map(|ns| Api::namespaced(client.clone(), ns))
                .collect(),
        };
        let mut names = vec![];
        for api in apis {
            names.extend(
                api.list_metadata(&lp)
                    .await?
                    .items
                    .into_iter()
                    .filter_map(|p| p.metadata.name),
            );
        }
        if ctx.scope.allows_cluster_scoped() {
            let nodes = Api::<Node>::all(client).list_metadata(&lp).await?;
            names.extend(nodes.items.into_iter().filter_map(|n| n.metadata.name));
        }
        Ok::<_, ToolError>(names)
    };
    read.await.unwrap_or_else(|e| {
        tracing::debug!(error = %e, "no names to complete");
        vec![]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{PromptReference, ResourceTemplateReference};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn prefix_matches_come_first_then_substrings() {
        let got = matching(
            strings(&[
                "kube-system",
                "team-a",
                "default",
                "team-b",
                "my-team",
                "team-a",
            ]),
            "Team",
        );
        assert_eq!(got.values, strings(&["team-a", "team-b", "my-team"]));
        assert_eq!((got.total, got.has_more), (Some(3), Some(false)));
        let all = matching(strings(&["b", "a"]), "");
        assert_eq!(all.values, strings(&["a", "b"]));
    }

    #[test]
    fn at_most_one_hundred_values() {
        let many: Vec<String> = (0..250).map(|i| format!("pod-{i:03}")).collect();
        let got = matching(many, "pod");
        assert_eq!(got.values.len(), 100);
        assert_eq!(got.values[0], "pod-000");
        assert_eq!((got.total, got.has_more), (Some(250), Some(true)));
    }

    #[test]
    fn sources_table() {
        let prompt = Reference::Prompt(PromptReference::new(prompts::DIAGNOSE));
        let template = Reference::Resource(ResourceTemplateReference::new(resources::TEMPLATE));
        let cases = [
            (&prompt, "namespace", Ok(Source::Namespaces)),
            (&prompt, "keyword", Ok(Source::PodAndNodeNames)),
            (&prompt, "other", Ok(Source::Nothing)),
            (&template, "namespace", Ok(Source::Namespaces)),
            (&template, "resourceType", Ok(Source::ResourceTypes)),
        ];
        for (r, arg, want) in cases {
            assert_eq!(source(r, arg, true, true), want, "{arg}");
        }
        // Not offered here (the filter), or not ours.
        assert!(matches!(
            source(&prompt, "namespace", false, true),
            Err(UnknownRef::Prompt(_))
        ));
        assert!(matches!(
            source(&template, "namespace", true, false),
            Err(UnknownRef::Template(_))
        ));
        let other = Reference::Prompt(PromptReference::new("test_prompt_with_arguments"));
        let err = source(&other, "arg1", true, true).unwrap_err().to_string();
        assert!(err.contains("prompts/list"), "{err}");
    }
}
