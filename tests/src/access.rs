//! What the API server's authorizer answers for a ServiceAccount, asked
//! with a SubjectAccessReview as the account itself would be judged
//! (its user name and groups).

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

/// A request to ask about: `resource` may carry a subresource
/// (`pods/exec`); an empty `namespace` asks cluster-wide.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub namespace: &'a str,
}

/// Whether ServiceAccount `namespace/name` may make `req`.
pub async fn service_account_may(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    req: Request<'_>,
) -> kube::Result<bool> {
    let (resource, subresource) = match req.resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_string())),
        None => (req.resource, None),
    };
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(format!("system:serviceaccount:{namespace}:{name}")),
            groups: Some(vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ]),
            resource_attributes: Some(ResourceAttributes {
                namespace: (!req.namespace.is_empty()).then(|| req.namespace.to_string()),
                verb: Some(req.verb.into()),
                group: Some(req.group.into()),
                resource: Some(resource.into()),
                subresource,
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let answer = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}
