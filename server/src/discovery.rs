//! Resource names to API endpoints, from the API server's aggregated
//! discovery (two requests), cached and refreshed once on a miss so a CRD
//! installed after start-up is found.

use kube::Client;
use kube::core::discovery::v2::APIGroupDiscoveryList;
use kube::discovery::ApiResource;
use std::sync::Arc;
use tokio::sync::RwLock;

/// One served resource, with every name kubectl accepts for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub api: ApiResource,
    pub namespaced: bool,
    pub singular: String,
    pub short_names: Vec<String>,
    pub verbs: Vec<String>,
    pub categories: Vec<String>,
    /// Whether this is the group's preferred version.
    pub preferred: bool,
}

impl Resource {
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// `kind.group` or just `kind` for the core group, as kubectl prints it.
    pub fn qualified_plural(&self) -> String {
        if self.api.group.is_empty() {
            self.api.plural.clone()
        } else {
            format!("{}.{}", self.api.plural, self.api.group)
        }
    }

    /// Whether `name` (any case; optionally `name.group` or `name.version.group`) means this resource.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let (base, group) = match name.split_once('.') {
            Some((b, g)) => (b.to_string(), Some(g.to_string())),
            None => (name.clone(), None),
        };
        if let Some(g) = group {
            let version_group = format!("{}.{}", self.api.version, self.api.group);
            if g != self.api.group && g != version_group {
                return false;
            }
        }
        base == self.api.plural
            || base == self.singular
            || base == self.api.kind.to_ascii_lowercase()
            || self.short_names.contains(&base)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error(
        "the server doesn't have a resource type {0:?}; list_api_resources shows the types this cluster serves"
    )]
    Unknown(String),
    #[error("API discovery failed: {}", kube_mcp_catalog::apiserver::describe(.0, None))]
    Api(#[from] kube::Error),
}

#[derive(Clone, Default)]
pub struct Discovery {
    cache: Arc<RwLock<Option<Arc<Vec<Resource>>>>>,
}

impl Discovery {
    /// Every served resource (preferred versions first).
    pub async fn all(&self, client: &Client) -> Result<Arc<Vec<Resource>>, DiscoveryError> {
        if let Some(r) = self.cache.read().await.clone() {
            return Ok(r);
        }
        self.refresh(client).await
    }

    pub async fn refresh(&self, client: &Client) -> Result<Arc<Vec<Resource>>, DiscoveryError> {
        let (core, groups) = tokio::try_join!(
            client.list_core_api_versions_aggregated(),
            client.list_api_groups_aggregated()
        )?;
        let resources = Arc::new(
            flatten(&core)
                .into_iter()
                .chain(flatten(&groups))
                .collect::<Vec<_>>(),
        );
        *self.cache.write().await = Some(resources.clone());
        Ok(resources)
    }

    pub async fn invalidate(&self) {
        *self.cache.write().await = None;
    }

    /// Resolves a kubectl-style resource name, refreshing once on a miss.
    pub async fn resolve(&self, client: &Client, name: &str) -> Result<Resource, DiscoveryError> {
        if let Some(r) = pick(&self.all(client).await?, name) {
            return Ok(r);
        }
        pick(&self.refresh(client).await?, name)
            .ok_or_else(|| DiscoveryError::Unknown(name.to_string()))
    }
}

/// The preferred version of the first group (in discovery's priority order)
/// that serves `name`, as kubectl picks it.
pub fn pick(all: &[Resource], name: &str) -> Option<Resource> {
    let name = name.trim();
    all.iter()
        .filter(|r| r.preferred)
        .find(|r| r.matches(name))
        .or_else(|| all.iter().find(|r| r.matches(name)))
        .cloned()
}

fn flatten(list: &APIGroupDiscoveryList) -> Vec<Resource> {
    let mut out = vec![];
    for group in &list.items {
        let group_name = group
            .metadata
            .as_ref()
            .and_then(|m| m.name.clone())
            .unwrap_or_default();
        for (i, version) in group.versions.iter().enumerate() {
            let Some(v) = &version.version else { continue };
            for r in &version.resources {
                let (Some(plural), Some(kind)) = (
                    &r.resource,
                    r.response_kind.as_ref().and_then(|k| k.kind.clone()),
                ) else {
                    continue;
                };
                let api_version = if group_name.is_empty() {
                    v.clone()
                } else {
                    format!("{group_name}/{v}")
                };
                out.push(Resource {
                    api: ApiResource {
                        group: group_name.clone(),
                        version: v.clone(),
                        api_version,
                        kind: kind.clone(),
                        plural: plural.clone(),
                    },
                    namespaced: r.scope.as_deref() == Some("Namespaced"),
                    singular: r
                        .singular_resource
                        .clone()
                        .unwrap_or_else(|| kind.to_ascii_lowercase()),
                    short_names: r.short_names.clone(),
                    verbs: r.verbs.clone(),
                    categories: r.categories.clone(),
                    preferred: i == 0,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Vec<Resource> {
        let list: APIGroupDiscoveryList = serde_json::from_value(json!({"items": [
            {"metadata": {"name": ""}, "versions": [{"version": "v1", "resources": [
                {"resource": "pods", "responseKind": {"group": "", "version": "v1", "kind": "Pod"}, "scope": "Namespaced",
                 "singularResource": "pod", "shortNames": ["po"], "verbs": ["get", "list"]},
                {"resource": "events", "responseKind": {"group": "", "version": "v1", "kind": "Event"}, "scope": "Namespaced",
                 "singularResource": "event", "shortNames": ["ev"], "verbs": ["get", "list"]}]}]},
            {"metadata": {"name": "events.k8s.io"}, "versions": [{"version": "v1", "resources": [
                {"resource": "events", "responseKind": {"group": "events.k8s.io", "version": "v1", "kind": "Event"}, "scope": "Namespaced",
                 "singularResource": "event", "shortNames": ["ev"], "verbs": ["get", "list"]}]}]},
            {"metadata": {"name": "kubemcp.io"}, "versions": [
                {"version": "v1beta1", "resources": [{"resource": "mcpendpoints", "responseKind": {"group": "kubemcp.io", "version": "v1beta1", "kind": "McpEndpoint"}, "scope": "Namespaced", "singularResource": "mcpendpoint", "shortNames": ["mcpe"], "verbs": ["get"]}]},
                {"version": "v1alpha1", "resources": [{"resource": "mcpendpoints", "responseKind": {"group": "kubemcp.io", "version": "v1alpha1", "kind": "McpEndpoint"}, "scope": "Namespaced", "singularResource": "mcpendpoint", "shortNames": ["mcpe"], "verbs": ["get"]}]}]}
        ]})).unwrap();
        flatten(&list)
    }

    #[test]
    fn every_kubectl_name_resolves() {
        let all = sample();
        for name in ["pods", "pod", "po", "Pod", "PODS"] {
            assert_eq!(pick(&all, name).unwrap().api.kind, "Pod", "{name}");
        }
        let mcpe = pick(&all, "mcpe").unwrap();
        assert_eq!(mcpe.api.version, "v1beta1", "the preferred version wins");
        assert_eq!(
            pick(&all, "mcpendpoints.v1alpha1.kubemcp.io")
                .unwrap()
                .api
                .version,
            "v1alpha1"
        );
        assert!(pick(&all, "deploy").is_none());
    }

    #[test]
    fn the_first_group_wins_and_a_group_suffix_picks_another() {
        let all = sample();
        assert_eq!(pick(&all, "ev").unwrap().api.group, "");
        assert_eq!(
            pick(&all, "events.events.k8s.io").unwrap().api.group,
            "events.k8s.io"
        );
    }
}
