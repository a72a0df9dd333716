//! What a Kubernetes API request asks to do, in the terms RBAC decides on
//! (the API server's RequestInfo): verb, API group, resource, subresource,
//! namespace and name, or a non-resource path.

use http::Method;
use serde::Serialize;

/// One permission a request needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Attributes {
    Resource {
        verb: String,
        group: String,
        version: String,
        resource: String,
        subresource: String,
        namespace: String,
        name: String,
    },
    NonResource {
        verb: String,
        path: String,
    },
}

impl std::fmt::Display for Attributes {
    /// As `kubectl auth can-i` takes it: `list pods -n team-a`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attributes::NonResource { verb, path } => write!(f, "{verb} {path}"),
            Attributes::Resource {
                verb,
                group,
                resource,
                subresource,
                namespace,
                name,
                ..
            } => {
                write!(f, "{verb} {resource}")?;
                if !group.is_empty() {
                    write!(f, ".{group}")?;
                }
                if !name.is_empty() {
                    write!(f, "/{name}")?;
                }
                if !subresource.is_empty() {
                    write!(f, " (subresource {subresource})")?;
                }
                if namespace.is_empty() {
                    write!(f, " cluster-wide")
                } else {
                    write!(f, " in namespace {namespace}")
                }
            }
        }
    }
}

/// Subresources whose streams are authorized as `create` whatever the HTTP
/// method (websocket upgrades are GETs; Kubernetes >= 1.30 checks create).
const STREAMS: &[&str] = &["exec", "attach", "portforward"];

fn query_value<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then_some(v)
    })
}

/// The permissions a request needs: one, or two for a server-side apply
/// (a patch that may create the object).
pub fn of_request(
    method: &Method,
    path: &str,
    query: Option<&str>,
    content_type: &str,
) -> Vec<Attributes> {
    let seg: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match seg.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => {
            return vec![Attributes::NonResource {
                verb: method.as_str().to_ascii_lowercase(),
                path: path.to_string(),
            }];
        }
    };
    let (legacy_watch, rest) = match rest {
        ["watch", r @ ..] => (true, r),
        r => (false, r),
    };
    // As the API server's RequestInfo: namespaces/{ns}/{...} is in a
    // namespace unless what follows is a namespace's own subresource.
    let (namespace, parts): (&str, &[&str]) = match rest {
        ["namespaces", ns, r @ ..] if !r.is_empty() && !matches!(r, ["status" | "finalize"]) => {
            (ns, r)
        }
        r => ("", r),
    };
    let resource = parts.first().copied().unwrap_or_default();
    let name = parts.get(1).copied().unwrap_or_default();
    let subresource = parts.get(2).copied().unwrap_or_default();
    let watch = legacy_watch || matches!(query_value(query, "watch"), Some("true" | "1"));
    let verb = if STREAMS.contains(&subresource) {
        "create"
    } else {
        match *method {
            Method::GET | Method::HEAD if watch => "watch",
            Method::GET | Method::HEAD if name.is_empty() => "list",
            Method::GET | Method::HEAD => "get",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE if name.is_empty() => "deletecollection",
            Method::DELETE => "delete",
            _ => "",
        }
    };
    let one = |verb: &str| Attributes::Resource {
        verb: verb.to_string(),
        group: group.to_string(),
        version: version.to_string(),
        resource: resource.to_string(),
        subresource: subresource.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    };
    let mut out = vec![one(verb)];
    if *method == Method::PATCH && content_type.starts_with("application/apply-patch") {
        out.push(one("create"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(verb: &str, group: &str, resource: &str, sub: &str, ns: &str, name: &str) -> Attributes {
        Attributes::Resource {
            verb: verb.into(),
            group: group.into(),
            version: "v1".into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn requests_table() {
        let get = Method::GET;
        type Case<'a> = (Method, &'a str, Option<&'a str>, &'a str, Vec<Attributes>);
        let cases: Vec<Case> = vec![
            (
                get.clone(),
                "/api/v1/namespaces/a/pods",
                None,
                "",
                vec![res("list", "", "pods", "", "a", "")],
            ),
            (
                get.clone(),
                "/api/v1/namespaces/a/pods/p",
                None,
                "",
                vec![res("get", "", "pods", "", "a", "p")],
            ),
            (
                get.clone(),
                "/api/v1/namespaces/a/pods/p/log",
                None,
                "",
                vec![res("get", "", "pods", "log", "a", "p")],
            ),
            (
                get.clone(),
                "/api/v1/namespaces/a/pods/p/exec",
                Some("command=ls"),
                "",
                vec![res("create", "", "pods", "exec", "a", "p")],
            ),
            (
                Method::POST,
                "/api/v1/namespaces/a/pods/p/portforward",
                None,
                "",
                vec![res("create", "", "pods", "portforward", "a", "p")],
            ),
            (
                get.clone(),
                "/api/v1/namespaces/a/pods",
                Some("watch=true&x=1"),
                "",
                vec![res("watch", "", "pods", "", "a", "")],
            ),
            (
                get.clone(),
                "/api/v1/watch/namespaces/a/pods",
                None,
                "",
                vec![res("watch", "", "pods", "", "a", "")],
            ),
            (
                get.clone(),
                "/api/v1/pods",
                None,
                "",
                vec![res("list", "", "pods", "", "", "")],
            ),
            (
                get.clone(),
                "/api/v1/nodes/n1",
                None,
                "",
                vec![res("get", "", "nodes", "", "", "n1")],
            ),
            (
                get.clone(),
                "/api/v1/namespaces/a",
                None,
                "",
                vec![res("get", "", "namespaces", "", "", "a")],
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/a/finalize",
                None,
                "",
                vec![res("update", "", "namespaces", "finalize", "", "a")],
            ),
            (
                Method::POST,
                "/apis/apps/v1/namespaces/b/deployments",
                None,
                "",
                vec![res("create", "apps", "deployments", "", "b", "")],
            ),
            (
                Method::PATCH,
                "/apis/apps/v1/namespaces/b/deployments/d/scale",
                None,
                "application/merge-patch+json",
                vec![res("patch", "apps", "deployments", "scale", "b", "d")],
            ),
            (
                Method::PATCH,
                "/apis/apps/v1/namespaces/b/deployments/d",
                Some("fieldManager=x"),
                "application/apply-patch+yaml",
                vec![
                    res("patch", "apps", "deployments", "", "b", "d"),
                    res("create", "apps", "deployments", "", "b", "d"),
                ],
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/a/pods/p",
                None,
                "",
                vec![res("delete", "", "pods", "", "a", "p")],
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/a/pods",
                None,
                "",
                vec![res("deletecollection", "", "pods", "", "a", "")],
            ),
        ];
        for (m, path, q, ct, want) in cases {
            assert_eq!(of_request(&m, path, q, ct), want, "{m} {path}");
        }
        for path in [
            "/version",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/openapi/v3",
        ] {
            assert_eq!(
                of_request(&get, path, None, ""),
                vec![Attributes::NonResource {
                    verb: "get".into(),
                    path: path.into()
                }],
                "{path}"
            );
        }
    }

    #[test]
    fn display_reads_like_can_i() {
        assert_eq!(
            res("list", "", "pods", "", "a", "").to_string(),
            "list pods in namespace a"
        );
        assert_eq!(
            res("create", "apps", "deployments", "scale", "b", "d").to_string(),
            "create deployments.apps/d (subresource scale) in namespace b"
        );
        assert_eq!(
            res("get", "", "nodes", "", "", "n").to_string(),
            "get nodes/n cluster-wide"
        );
    }
}
