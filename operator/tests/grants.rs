//! Exact least privilege, as the API server sees it: for every access level ×
//! secrets mode × scope, the real reconciler grants an endpoint, and its
//! ServiceAccount's rights (SubjectAccessReview, every verb × resource ×
//! place) must equal the table in grants/table.rs, nothing more and nothing
//! less. docs/grants.md is rendered from the same table.

mod common;
#[path = "grants/doc.rs"]
mod doc;
#[path = "grants/table.rs"]
mod table;

use common::*;
use futures::StreamExt;
use kube::{Api, Client};
use kube_mcp_operator::crd::{Access, McpEndpointSpec, SecretsPolicy};
use kube_mcp_operator::crd::{AuthMode, AuthSpec, Authorize, OidcSpec};
use kube_mcp_tests::access;
use kube_mcp_tests::test_namespace;
use std::time::{Duration, Instant};
use table::{ACCESS, PLACES, Place, RESOURCES, SCOPES, SECRETS, SPECIAL, Scope, VERBS};

/// SubjectAccessReviews in flight at once.
const CONCURRENCY: usize = 16;

#[test]
fn docs_grants_md_is_the_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grants.md");
    let rendered = doc::render();
    if std::env::var_os("KUBE_MCP_WRITE_DOCS").is_some() {
        std::fs::write(path, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/grants.md drifted from operator/tests/grants/table.rs; regenerate with \
         `KUBE_MCP_WRITE_DOCS=1 cargo test -p kube-mcp-operator --test grants docs`"
    );
}

/// One endpoint of the matrix.
struct Endpoint {
    access: Access,
    secrets: SecretsPolicy,
    scope: Scope,
    name: String,
    home: String,
}

/// One question: may this endpoint's ServiceAccount `verb` the resource at `ns` ("" = cluster-wide)?
#[derive(Clone)]
struct Question {
    endpoint: usize,
    verb: &'static str,
    resource: table::Resource,
    place: Place,
    namespace: String,
}

async fn ask(client: &Client, ep: &Endpoint, q: &Question) -> bool {
    let req = access::Request {
        verb: q.verb,
        group: q.resource.0,
        resource: q.resource.1,
        namespace: &q.namespace,
    };
    access::service_account_may(client, &ep.home, &format!("kube-mcp.{}", ep.name), req)
        .await
        .unwrap_or_else(|e| panic!("SubjectAccessReview: {e}"))
}

/// The questions whose answer differs from the table, as readable lines.
async fn mismatches(
    client: &Client,
    endpoints: &[Endpoint],
    questions: Vec<Question>,
) -> Vec<(Question, String)> {
    futures::stream::iter(questions)
        .map(|q| async move {
            let ep = &endpoints[q.endpoint];
            let got = ask(client, ep, &q).await;
            let want = table::allowed(ep.access, ep.secrets, ep.scope, q.verb, q.resource, q.place);
            (got != want).then(|| {
                let line = format!(
                    "{} (access {}, secrets {:?}, scope {:?}): {} {}/{} at {:?} ({}): API server says {}, table says {}",
                    ep.name,
                    ep.access.as_str(),
                    ep.secrets,
                    ep.scope,
                    q.verb,
                    if q.resource.0.is_empty() { "core" } else { q.resource.0 },
                    q.resource.1,
                    q.place,
                    if q.namespace.is_empty() { "cluster-wide" } else { &q.namespace },
                    got,
                    want
                );
                (q, line)
            })
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|m| async move { m })
        .collect()
        .await
}

#[tokio::test]
async fn every_setting_grants_exactly_the_table() {
    let team = test_namespace("grants-team").await;
    let ops = test_namespace("grants-ops").await;
    let listed = test_namespace("grants-listed").await;
    let unlisted = test_namespace("grants-unlisted").await;
    let admin = team.client.clone();
    let op = Operator::start(&admin, config(&[&team.name, &ops.name], &[&ops.name])).await;

    let mut endpoints = vec![];
    for access in ACCESS {
        for secrets in SECRETS {
            for scope in SCOPES {
                let (home, namespaces) = match scope {
                    Scope::Own => (&team.name, None),
                    Scope::List => (&ops.name, Some(vec![ops.name.clone(), listed.name.clone()])),
                    Scope::All => (&ops.name, Some(vec!["*".to_string()])),
                };
                let name = format!("{access:?}-{secrets:?}-{scope:?}").to_lowercase();
                let spec = McpEndpointSpec {
                    access,
                    secrets,
                    namespaces,
                    ..Default::default()
                };
                create(&admin, home, &name, spec).await;
                endpoints.push(Endpoint {
                    access,
                    secrets,
                    scope,
                    name,
                    home: home.clone(),
                });
            }
        }
    }
    let started = Instant::now();
    for ep in &endpoints {
        wait_condition(&admin, &ep.home, &ep.name, "RbacReady", "True").await;
    }
    eprintln!(
        "{} endpoints granted in {:?}",
        endpoints.len(),
        started.elapsed()
    );
    // The RBAC authorizer learns of new Roles through an informer.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut questions = vec![];
    for (i, ep) in endpoints.iter().enumerate() {
        for place in PLACES {
            let namespace = match place {
                Place::Home => ep.home.clone(),
                Place::Listed => listed.name.clone(),
                Place::Unlisted => unlisted.name.clone(),
                Place::Cluster => String::new(),
            };
            let mut ask = |verb, resource: table::Resource| {
                if resource.2 || place == Place::Cluster {
                    let namespace = if resource.2 {
                        namespace.clone()
                    } else {
                        String::new()
                    };
                    questions.push(Question {
                        endpoint: i,
                        verb,
                        resource,
                        place,
                        namespace,
                    });
                }
            };
            for &resource in RESOURCES {
                for verb in VERBS {
                    ask(verb, resource);
                }
            }
            for &(verb, group, resource, namespaced) in SPECIAL {
                ask(verb, (group, resource, namespaced));
            }
        }
    }
    assert_eq!(
        questions.len(),
        endpoints.len() * doc::questions_per_endpoint()
    );
    let total = questions.len();
    let started = Instant::now();
    let mut wrong = mismatches(&admin, &endpoints, questions).await;
    let elapsed = started.elapsed();
    eprintln!(
        "{total} SubjectAccessReviews in {elapsed:?} ({:.0}/s, {CONCURRENCY} at a time), {} differ",
        total as f64 / elapsed.as_secs_f64(),
        wrong.len()
    );
    if !wrong.is_empty() {
        // One more look after a pause, for answers the authorizer had not caught up with.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let again = wrong.into_iter().map(|(q, _)| q).collect();
        wrong = mismatches(&admin, &endpoints, again).await;
    }
    let lines: Vec<&str> = wrong.iter().take(60).map(|(_, l)| l.as_str()).collect();
    assert!(
        wrong.is_empty(),
        "{} of {total} answers differ from the table:\n{}",
        wrong.len(),
        lines.join("\n")
    );

    for ep in &endpoints {
        Api::<kube_mcp_operator::McpEndpoint>::namespaced(admin.clone(), &ep.home)
            .delete(&ep.name, &Default::default())
            .await
            .unwrap();
    }
    eventually("the cluster-scoped grants to go", || async {
        let mut left = 0;
        for ep in endpoints.iter().filter(|e| e.scope == Scope::All) {
            left += owned_rbac(&admin, &ep.home, &ep.name).await.len();
        }
        (left == 0).then_some(())
    })
    .await;
    op.stop().await;
    for ns in [team, ops, listed, unlisted] {
        ns.delete().await;
    }
}

/// `spec.auth` grants the reviews of the table's IDENTITY rows to exactly the
/// endpoints that use them, renders what the server reads, shows the modes in
/// status, and the grants go with the endpoint.
#[tokio::test]
async fn auth_modes_grant_exactly_their_reviews() {
    let team = test_namespace("grants-auth").await;
    let admin = team.client.clone();
    let op = Operator::start(&admin, config(&[&team.name], &[])).await;
    let oidc = OidcSpec {
        issuer_url: "https://idp.example.com".into(),
        ..Default::default()
    };
    // (name, modes, authorize, status.auth)
    let cases = [
        (
            "token",
            vec![AuthMode::Token],
            Authorize::Endpoint,
            "Generated",
        ),
        (
            "sa-caller",
            vec![AuthMode::Token, AuthMode::Kubernetes],
            Authorize::Caller,
            "Generated+Kubernetes/Caller",
        ),
        (
            "sa",
            vec![AuthMode::Kubernetes],
            Authorize::Endpoint,
            "Kubernetes",
        ),
        ("oidc", vec![AuthMode::Oidc], Authorize::Endpoint, "Oidc"),
        (
            "oidc-caller",
            vec![AuthMode::Oidc],
            Authorize::Caller,
            "Oidc/Caller",
        ),
    ];
    for (name, modes, authorize, _) in &cases {
        let spec = McpEndpointSpec {
            secrets: SecretsPolicy::Hidden,
            auth: Some(AuthSpec {
                modes: modes.clone(),
                authorize: *authorize,
                oidc: modes.contains(&AuthMode::Oidc).then(|| oidc.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        create(&admin, &team.name, name, spec).await;
    }
    let api = Api::<kube_mcp_operator::McpEndpoint>::namespaced(admin.clone(), &team.name);
    for (name, modes, authorize, shown) in &cases {
        wait_condition(&admin, &team.name, name, "RbacReady", "True").await;
        let status = api.get(name).await.unwrap().status.unwrap();
        assert_eq!(status.auth.as_deref(), Some(*shown), "{name}");
        let kubernetes = modes.contains(&AuthMode::Kubernetes);
        let caller = *authorize == Authorize::Caller;
        let ep = Endpoint {
            access: Access::ReadOnly,
            secrets: SecretsPolicy::Hidden,
            scope: Scope::Own,
            name: name.to_string(),
            home: team.name.clone(),
        };
        for (_, group, resource, _) in table::IDENTITY {
            for verb in ["create", "get", "list"] {
                let q = Question {
                    endpoint: 0,
                    verb,
                    resource: (group, resource, false),
                    place: Place::Cluster,
                    namespace: String::new(),
                };
                let want = table::identity_allowed(kubernetes, caller, verb, resource);
                eventually(&format!("{name}: {verb} {resource} = {want}"), || async {
                    (ask(&admin, &ep, &q).await == want).then_some(())
                })
                .await;
            }
        }
        let owned = owned_rbac(&admin, &team.name, name).await;
        let cluster = owned.iter().filter(|o| o.starts_with("Cluster")).count();
        assert_eq!(
            cluster,
            if kubernetes || caller { 2 } else { 0 },
            "{name}: {owned:?}"
        );
    }
    // What the server reads: the modes, whose rights, and the audience clients ask tokens for.
    let env: std::collections::BTreeMap<String, String> =
        Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(admin.clone(), &team.name)
            .get("sa-caller")
            .await
            .unwrap()
            .spec
            .unwrap()
            .template
            .spec
            .unwrap()
            .containers[0]
            .env
            .clone()
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.value.unwrap_or_default()))
            .collect();
    let url = format!("http://sa-caller.{}.svc:80/mcp", team.name);
    assert_eq!(env["KUBE_MCP_AUTH_MODES"], "token,kubernetes");
    assert_eq!(env["KUBE_MCP_AUTHORIZE"], "caller");
    assert_eq!(env["KUBE_MCP_RESOURCE_URL"], url);
    assert_eq!(env["KUBE_MCP_AUDIENCES"], url);

    for (name, ..) in &cases {
        api.delete(name, &Default::default()).await.unwrap();
    }
    eventually("the review grants to go", || async {
        let mut left = 0;
        for (name, ..) in &cases {
            left += owned_rbac(&admin, &team.name, name).await.len();
        }
        (left == 0).then_some(())
    })
    .await;
    op.stop().await;
    team.delete().await;
}
