//! list_api_resources: what the cluster serves, from discovery.
use super::{CallResult, Ctx, Output, ToolError};
use crate::discovery::Resource;
use crate::format::table::Table;
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Only resources of this API group ('' or 'core' for the core group)
    pub api_group: Option<String>,
    /// If set, only namespaced (true) or only cluster-scoped (false) resources
    pub namespaced: Option<bool>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
    /// Only resources that support all these verbs
    pub verbs: Option<Vec<String>>,
    /// Output format: wide (default), name or no-headers
    pub output: Option<String>,
}

/// The preferred version of each resource that passes the filters, in
/// discovery's group order and by name within a group.
pub fn select<'a>(all: &'a [Resource], args: &Args) -> Vec<&'a Resource> {
    let group = args.api_group.as_deref().map(|g| match g.trim() {
        "core" => "",
        g => g,
    });
    let verbs: Vec<String> = args
        .verbs
        .iter()
        .flatten()
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    let mut groups: Vec<&str> = vec![];
    let mut out: Vec<&Resource> = all
        .iter()
        .filter(|r| r.preferred)
        .filter(|r| group.is_none_or(|g| r.api.group == g))
        .filter(|r| args.namespaced.is_none_or(|n| r.namespaced == n))
        .filter(|r| verbs.iter().all(|v| r.supports(v)))
        .inspect(|r| {
            if !groups.contains(&r.api.group.as_str()) {
                groups.push(&r.api.group);
            }
        })
        .collect();
    out.sort_by_key(|r| {
        (
            groups
                .iter()
                .position(|g| *g == r.api.group)
                .unwrap_or(usize::MAX),
            r.api.plural.clone(),
        )
    });
    out
}

/// The `kubectl api-resources` table (`wide` adds VERBS and CATEGORIES).
pub fn render(list: &[&Resource], output: &str) -> Result<String, String> {
    let (wide, headers) = match output {
        "" | "wide" => (true, true),
        "no-headers" => (true, false),
        "name" => {
            return Ok(list
                .iter()
                .map(|r| format!("{}\n", r.qualified_plural()))
                .collect());
        }
        other => {
            return Err(format!(
                "unknown output {other:?}; use wide, name or no-headers"
            ));
        }
    };
    let mut cols = vec!["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"];
    if wide {
        cols.extend(["VERBS", "CATEGORIES"]);
    }
    let mut t = Table::new(cols);
    for r in list {
        let mut row = vec![
            r.api.plural.clone(),
            r.short_names.join(","),
            r.api.api_version.clone(),
            r.namespaced.to_string(),
            r.api.kind.clone(),
        ];
        if wide {
            row.push(format!("[{}]", r.verbs.join(" ")));
            row.push(r.categories.join(","));
        }
        t.push(row);
    }
    Ok(t.render(headers))
}

/// The structured result: the same resources as the table, as data.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApiResources {
    pub resources: Vec<ApiResourceInfo>,
}

/// One served resource.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiResourceInfo {
    /// Plural name, as used in URLs and by kubectl_get
    pub name: String,
    pub short_names: Vec<String>,
    /// "" for the core group
    pub group: String,
    pub api_version: String,
    pub namespaced: bool,
    pub kind: String,
    pub verbs: Vec<String>,
    pub categories: Vec<String>,
}

pub fn output_schema() -> Map<String, Value> {
    super::schema::<ApiResources>()
}

fn structured(list: &[&Resource]) -> ApiResources {
    ApiResources {
        resources: list
            .iter()
            .map(|r| ApiResourceInfo {
                name: r.api.plural.clone(),
                short_names: r.short_names.clone(),
                group: r.api.group.clone(),
                api_version: r.api.api_version.clone(),
                namespaced: r.namespaced,
                kind: r.api.kind.clone(),
                verbs: r.verbs.clone(),
                categories: r.categories.clone(),
            })
            .collect(),
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> CallResult {
    let client = ctx.client(args.context.as_deref()).await?;
    let all = ctx.discovery.all(&client).await?;
    let list = select(&all, &args);
    let output = args.output.as_deref().map(str::trim).unwrap_or("wide");
    let text = render(&list, output).map_err(|reason| ToolError::InvalidArgs {
        tool: ToolId::ListApiResources,
        reason,
    })?;
    Output::typed(ctx.bound(text), &structured(&list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::discovery::ApiResource;

    fn res(
        group: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
        verbs: &[&str],
        short: &[&str],
        preferred: bool,
    ) -> Resource {
        let version = if preferred { "v1" } else { "v1beta1" };
        Resource {
            api: ApiResource {
                group: group.into(),
                version: version.into(),
                api_version: if group.is_empty() {
                    version.into()
                } else {
                    format!("{group}/{version}")
                },
                kind: kind.into(),
                plural: plural.into(),
            },
            namespaced,
            singular: kind.to_ascii_lowercase(),
            short_names: short.iter().map(|s| s.to_string()).collect(),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            categories: vec![],
            preferred,
        }
    }

    fn sample() -> Vec<Resource> {
        vec![
            res(
                "",
                "pods",
                "Pod",
                true,
                &["get", "list", "watch", "delete"],
                &["po"],
                true,
            ),
            res("", "nodes", "Node", false, &["get", "list"], &["no"], true),
            res("", "bindings", "Binding", true, &["create"], &[], true),
            res(
                "apps",
                "deployments",
                "Deployment",
                true,
                &["get", "list"],
                &["deploy"],
                true,
            ),
            res(
                "apps",
                "deployments",
                "Deployment",
                true,
                &["get"],
                &["deploy"],
                false,
            ),
        ]
    }

    fn args(group: Option<&str>, namespaced: Option<bool>, verbs: &[&str]) -> Args {
        Args {
            api_group: group.map(str::to_string),
            namespaced,
            context: None,
            verbs: (!verbs.is_empty()).then(|| verbs.iter().map(|s| s.to_string()).collect()),
            output: None,
        }
    }

    #[test]
    fn filters() {
        let all = sample();
        let names = |a: Args| {
            select(&all, &a)
                .iter()
                .map(|r| r.qualified_plural())
                .collect::<Vec<_>>()
        };
        for (a, want) in [
            (
                args(None, None, &[]),
                vec!["bindings", "nodes", "pods", "deployments.apps"],
            ),
            (
                args(Some("core"), None, &[]),
                vec!["bindings", "nodes", "pods"],
            ),
            (args(Some(""), Some(false), &[]), vec!["nodes"]),
            (args(Some("apps"), None, &[]), vec!["deployments.apps"]),
            (
                args(None, Some(true), &["list", "get"]),
                vec!["pods", "deployments.apps"],
            ),
            (args(None, None, &["delete"]), vec!["pods"]),
        ] {
            assert_eq!(names(a), want);
        }
    }

    #[test]
    fn outputs() {
        let all = sample();
        let list = select(&all, &args(None, None, &["delete"]));
        assert_eq!(render(&list, "name").unwrap(), "pods\n");
        assert_eq!(
            render(&list, "wide").unwrap(),
            "NAME   SHORTNAMES   APIVERSION   NAMESPACED   KIND   VERBS                     CATEGORIES\npods   po           v1           true         Pod    [get list watch delete]\n"
        );
        assert_eq!(
            render(&list, "no-headers").unwrap(),
            "pods   po   v1   true   Pod   [get list watch delete]\n"
        );
        assert!(render(&list, "xml").is_err());
    }
}
