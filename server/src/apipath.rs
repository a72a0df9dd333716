//! What a Kubernetes API request addresses, read from its path: the group,
//! resource, namespace, name and subresource, and the verb RBAC and the
//! audit log call it. The gate's [`crate::gate::Target`] is built on it.

use serde::Serialize;

/// One object or collection of the resource API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Address {
    /// `""` for the core group.
    pub group: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
}

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiPath {
    /// Discovery, OpenAPI, `/version`: no object at all.
    Discovery,
    /// The resource API; `watch` for the legacy `/watch/` prefix.
    Resource { address: Address, watch: bool },
    /// Anything else (`/healthz`, `/metrics`, aggregated API oddities).
    Other,
}

impl ApiPath {
    /// Parses a request path (no query).
    pub fn parse(path: &str) -> ApiPath {
        let seg: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (group, rest) = match seg.as_slice() {
            ["version"]
            | ["openapi", ..]
            | ["api"]
            | ["api", _]
            | ["apis"]
            | ["apis", _]
            | ["apis", _, _] => return ApiPath::Discovery,
            ["api", _, rest @ ..] => ("", rest),
            ["apis", g, _, rest @ ..] => (*g, rest),
            _ => return ApiPath::Other,
        };
        let (watch, rest) = match rest {
            ["watch", r @ ..] => (true, r),
            r => (false, r),
        };
        let own = |s: &&str| s.to_string();
        let address = |namespace: Option<&&str>, resource: &str, more: &[&str]| Address {
            group: group.to_string(),
            resource: resource.to_string(),
            namespace: namespace.map(own),
            name: more.first().map(own),
            subresource: (more.len() > 1).then(|| more[1..].join("/")),
        };
        let address = match rest {
            [] => return ApiPath::Discovery,
            // A namespace itself, and its own subresources.
            ["namespaces", ns, sub @ ("status" | "finalize")] => Address {
                subresource: Some(sub.to_string()),
                ..address(None, "namespaces", &[ns])
            },
            ["namespaces"] | ["namespaces", _] => address(None, "namespaces", &rest[1..]),
            ["namespaces", ns, resource, more @ ..] => address(Some(ns), resource, more),
            [resource, more @ ..] => address(None, resource, more),
        };
        ApiPath::Resource { address, watch }
    }
}

/// The verb of a request as RBAC names it: `get`, `list`, `watch`,
/// `create`, `update`, `patch`, `delete`, `deletecollection`.
pub fn verb(method: &http::Method, path: &ApiPath, watch: bool) -> &'static str {
    let named = matches!(path, ApiPath::Resource { address, .. } if address.name.is_some());
    match *method {
        http::Method::GET | http::Method::HEAD if watch => "watch",
        http::Method::GET | http::Method::HEAD
            if named || !matches!(path, ApiPath::Resource { .. }) =>
        {
            "get"
        }
        http::Method::GET | http::Method::HEAD => "list",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE if named => "delete",
        http::Method::DELETE => "deletecollection",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn res(g: &str, r: &str, ns: Option<&str>, name: Option<&str>, sub: Option<&str>) -> ApiPath {
        ApiPath::Resource {
            address: Address {
                group: g.into(),
                resource: r.into(),
                namespace: ns.map(Into::into),
                name: name.map(Into::into),
                subresource: sub.map(Into::into),
            },
            watch: false,
        }
    }

    #[test]
    fn paths() {
        let cases = [
            ("/version", ApiPath::Discovery),
            ("/apis/apps/v1", ApiPath::Discovery),
            ("/api/v1/watch", ApiPath::Discovery),
            ("/healthz", ApiPath::Other),
            ("/api/v1/pods", res("", "pods", None, None, None)),
            (
                "/api/v1/namespaces/a/pods/p/exec",
                res("", "pods", Some("a"), Some("p"), Some("exec")),
            ),
            (
                "/apis/apps/v1/namespaces/b/deployments/d/scale",
                res("apps", "deployments", Some("b"), Some("d"), Some("scale")),
            ),
            (
                "/api/v1/namespaces/a/secrets",
                res("", "secrets", Some("a"), None, None),
            ),
            (
                "/api/v1/namespaces",
                res("", "namespaces", None, None, None),
            ),
            (
                "/api/v1/namespaces/a",
                res("", "namespaces", None, Some("a"), None),
            ),
            (
                "/api/v1/namespaces/a/finalize",
                res("", "namespaces", None, Some("a"), Some("finalize")),
            ),
            (
                "/api/v1/nodes/n/proxy/x/y",
                res("", "nodes", None, Some("n"), Some("proxy/x/y")),
            ),
        ];
        for (path, want) in cases {
            assert_eq!(ApiPath::parse(path), want, "{path}");
        }
        let ApiPath::Resource { watch, .. } = ApiPath::parse("/api/v1/watch/namespaces/a/pods")
        else {
            panic!("not a resource path")
        };
        assert!(watch);
    }

    #[test]
    fn verbs() {
        let one = ApiPath::parse("/api/v1/namespaces/a/pods/p");
        let all = ApiPath::parse("/api/v1/namespaces/a/pods");
        let disc = ApiPath::parse("/apis");
        for (method, path, watch, want) in [
            (Method::GET, &one, false, "get"),
            (Method::GET, &all, false, "list"),
            (Method::GET, &all, true, "watch"),
            (Method::GET, &disc, false, "get"),
            (Method::POST, &all, false, "create"),
            (Method::PUT, &one, false, "update"),
            (Method::PATCH, &one, false, "patch"),
            (Method::DELETE, &one, false, "delete"),
            (Method::DELETE, &all, false, "deletecollection"),
        ] {
            assert_eq!(verb(&method, path, watch), want, "{method} {path:?}");
        }
    }
}
