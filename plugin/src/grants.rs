//! `kubectl mcp grants`: what an endpoint's ServiceAccount may do, as the API
//! server answers it. One SubjectAccessReview per verb × resource × place:
//! it needs only `create subjectaccessreviews` (not `impersonate`, which a
//! SelfSubjectRulesReview as the ServiceAccount would), and it asks the
//! authorizer chain itself, so webhook authorizers and admission-free
//! answers are what the server pod would get.

use crate::error::Error;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};
use kube_mcp_catalog::{CATALOG, SECRETS};

/// Questions in flight at once: the answers take a local API server ~1 ms
/// each, and more would only queue there.
const CONCURRENCY: usize = 16;

const VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

/// Kinds no tool needs that would widen an endpoint beyond its tools if
/// granted: RBAC itself, token minting, identity.
const SENSITIVE: &[(&str, &str, &[&str])] = &[
    ("", SECRETS, VERBS),
    ("", "serviceaccounts/token", &["create"]),
    ("", "pods/exec", &["create"]),
    ("", "pods/attach", &["create"]),
    ("", "pods/portforward", &["create"]),
    ("", "pods/eviction", &["create"]),
    ("", "nodes/proxy", &["get", "create"]),
    (
        "rbac.authorization.k8s.io",
        "roles",
        &["create", "escalate", "bind"],
    ),
    (
        "rbac.authorization.k8s.io",
        "rolebindings",
        &["create", "update"],
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterroles",
        &["create", "escalate", "bind"],
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        &["create", "update"],
    ),
    ("", "users", &["impersonate"]),
    ("", "groups", &["impersonate"]),
    ("", "serviceaccounts", &["impersonate"]),
    ("*", "*", VERBS),
];

/// Where a question is asked: one namespace, or cluster-wide (cluster-scoped
/// kinds, and namespaced kinds across every namespace).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    Namespace(String),
    Cluster,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub place: Place,
    pub group: &'static str,
    /// `pods` or `pods/log`.
    pub resource: &'static str,
    pub verb: &'static str,
}

/// (group, resource, verbs) of every kind the catalog's rules name, then the
/// sensitive extras; first occurrence wins the order, verbs are merged.
fn kinds() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let mut out: Vec<(&str, &str, Vec<&str>)> = vec![];
    let mut add = |group: &'static str, resource: &'static str, verbs: &[&'static str]| match out
        .iter_mut()
        .find(|(g, r, _)| *g == group && *r == resource)
    {
        Some((_, _, vs)) => {
            for v in verbs {
                if !vs.contains(v) {
                    vs.push(v);
                }
            }
        }
        None => out.push((group, resource, verbs.to_vec())),
    };
    for rule in CATALOG.iter().flat_map(|t| t.rules) {
        for group in rule.api_groups {
            for resource in rule.resources {
                add(group, resource, VERBS);
            }
        }
    }
    for (group, resource, verbs) in SENSITIVE {
        add(group, resource, verbs);
    }
    out
}

/// Every question for an endpoint whose scope is `namespaces` (`*`: all).
pub fn questions(namespaces: &[String]) -> Vec<Question> {
    let mut places: Vec<Place> = namespaces
        .iter()
        .filter(|n| n.as_str() != "*")
        .map(|n| Place::Namespace(n.clone()))
        .collect();
    places.push(Place::Cluster);
    let kinds = kinds();
    places
        .into_iter()
        .flat_map(|place| {
            kinds.iter().flat_map(move |(group, resource, verbs)| {
                let place = place.clone();
                verbs.iter().map(move |verb| Question {
                    place: place.clone(),
                    group,
                    resource,
                    verb,
                })
            })
        })
        .collect()
}

/// The username and groups the API server gives ServiceAccount `ns/name`.
pub fn subject(ns: &str, name: &str) -> (String, Vec<String>) {
    (
        format!("system:serviceaccount:{ns}:{name}"),
        vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".into(),
        ],
    )
}

fn review(user: &str, groups: &[String], q: &Question) -> SubjectAccessReview {
    let (resource, subresource) = match q.resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_string())),
        None => (q.resource, None),
    };
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.into()),
            groups: Some(groups.to_vec()),
            resource_attributes: Some(ResourceAttributes {
                namespace: match &q.place {
                    Place::Namespace(n) => Some(n.clone()),
                    Place::Cluster => None,
                },
                group: Some(q.group.into()),
                resource: Some(resource.into()),
                subresource,
                verb: Some(q.verb.into()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    }
}

/// Asks the API server every question; the answers keep the questions' order.
pub async fn ask(
    client: &Client,
    user: &str,
    groups: &[String],
    questions: Vec<Question>,
) -> Result<Vec<(Question, bool)>, Error> {
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    futures::stream::iter(questions)
        .map(|q| {
            let api = api.clone();
            let sar = review(user, groups, &q);
            async move {
                let answer = api
                    .create(&PostParams::default(), &sar)
                    .await
                    .map_err(|e| {
                        Error::from_kube(
                            e,
                            "create subjectaccessreviews.authorization.k8s.io, which `kubectl mcp grants` asks the API server with (the system:auth-delegator ClusterRole grants it)",
                        )
                    })?;
                let allowed = answer.status.is_some_and(|s| s.allowed && !s.denied.unwrap_or(false));
                Ok::<_, Error>((q, allowed))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

fn place_name(p: &Place) -> &str {
    match p {
        Place::Namespace(n) => n,
        Place::Cluster => "*",
    }
}

/// `pods`, `deployments.apps`, `pods/log`, `*.*`: kubectl's resource.group.
fn resource_name(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        match resource.split_once('/') {
            Some((r, sub)) => format!("{r}.{group}/{sub}"),
            None => format!("{resource}.{group}"),
        }
    }
}

/// The table: per place, each resource with at least one allowed verb.
pub fn render(user: &str, answers: &[(Question, bool)]) -> String {
    let mut rows: Vec<Vec<String>> = vec![];
    let mut i = 0;
    while i < answers.len() {
        let (q, _) = &answers[i];
        let same = answers[i..]
            .iter()
            .take_while(|(o, _)| {
                o.place == q.place && o.group == q.group && o.resource == q.resource
            })
            .count();
        let verbs: Vec<&str> = answers[i..i + same]
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(o, _)| o.verb)
            .collect();
        if !verbs.is_empty() {
            rows.push(vec![
                place_name(&q.place).into(),
                resource_name(q.group, q.resource),
                verbs.join(","),
            ]);
        }
        i += same;
    }
    let mut out = format!(
        "{user}, as the API server answers ({} SubjectAccessReviews; NAMESPACE * = cluster-wide):\n",
        answers.len()
    );
    if rows.is_empty() {
        out.push_str("nothing is allowed.\n");
    } else {
        out.push_str(&crate::table::render(
            &["NAMESPACE", "RESOURCE", "VERBS"],
            &rows,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn q(
        place: Place,
        group: &'static str,
        resource: &'static str,
        verb: &'static str,
    ) -> Question {
        Question {
            place,
            group,
            resource,
            verb,
        }
    }

    #[test]
    fn asks_every_catalog_kind_and_the_sensitive_ones_in_each_place() {
        let qs = questions(&["a".into(), "b".into()]);
        let places: BTreeSet<Place> = qs.iter().map(|q| q.place.clone()).collect();
        assert_eq!(
            places,
            [
                Place::Namespace("a".into()),
                Place::Namespace("b".into()),
                Place::Cluster
            ]
            .into()
        );
        for (group, resource, verb) in [
            ("apps", "deployments", "patch"),
            ("", "pods/log", "get"),
            ("", "nodes", "get"),
            ("rbac.authorization.k8s.io", "roles", "escalate"),
            ("", "users", "impersonate"),
            ("*", "*", "delete"),
        ] {
            for place in &places {
                assert!(
                    qs.iter()
                        .any(|x| x == &q(place.clone(), group, resource, verb)),
                    "{place:?} {group}/{resource} {verb}"
                );
            }
        }
        let all = questions(&["*".into()]);
        assert!(
            all.iter().all(|q| q.place == Place::Cluster),
            "`*` is asked cluster-wide only"
        );
        assert_eq!(all.len() * 3, qs.len());
    }

    #[test]
    fn review_splits_subresources_and_leaves_cluster_questions_without_namespace() {
        let (user, groups) = subject("team", "kube-mcp.ops");
        assert_eq!(user, "system:serviceaccount:team:kube-mcp.ops");
        assert!(groups.contains(&"system:serviceaccounts:team".to_string()));
        let r = review(
            &user,
            &groups,
            &q(Place::Namespace("team".into()), "", "pods/log", "get"),
        );
        let a = r.spec.resource_attributes.unwrap();
        assert_eq!(a.resource.as_deref(), Some("pods"));
        assert_eq!(a.subresource.as_deref(), Some("log"));
        assert_eq!(a.namespace.as_deref(), Some("team"));
        let r = review(&user, &groups, &q(Place::Cluster, "", "nodes", "list"));
        assert_eq!(r.spec.resource_attributes.unwrap().namespace, None);
    }

    #[test]
    fn renders_allowed_verbs_per_place_and_resource() {
        let ns = || Place::Namespace("team".into());
        let answers = vec![
            (q(ns(), "", "pods", "get"), true),
            (q(ns(), "", "pods", "list"), true),
            (q(ns(), "", "pods", "delete"), false),
            (q(ns(), "", "pods/log", "get"), true),
            (q(ns(), "apps", "deployments/scale", "patch"), true),
            (q(ns(), "", SECRETS, "get"), false),
            (q(Place::Cluster, "", "nodes", "get"), false),
        ];
        assert_eq!(
            render("sa", &answers),
            "sa, as the API server answers (7 SubjectAccessReviews; NAMESPACE * = cluster-wide):\n\
             NAMESPACE   RESOURCE                 VERBS\n\
             team        pods                     get,list\n\
             team        pods/log                 get\n\
             team        deployments.apps/scale   patch\n"
        );
        assert_eq!(
            render("sa", &answers[5..]),
            "sa, as the API server answers (2 SubjectAccessReviews; NAMESPACE * = cluster-wide):\nnothing is allowed.\n"
        );
    }
}
