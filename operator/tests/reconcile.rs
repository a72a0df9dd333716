//! The operator against a real kube-apiserver (RBAC on): the controller runs
//! in-process on each test's runtime with an admin client; RBAC denials come
//! from the API server through tokens of the endpoints' ServiceAccounts.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{
    DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::{Api, Client, ResourceExt};
use kube_mcp_catalog::tools::{CATALOG, RuleScope, ToolClass};
use kube_mcp_operator::crd::{Access, McpEndpoint, McpEndpointSpec, SecretsPolicy};
use kube_mcp_operator::metrics::Metrics;
use kube_mcp_operator::reconcile::{self, Context};
use kube_mcp_operator::{labels, status};
use kube_mcp_tests::{client_with_token, service_account_token, test_namespace};

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }))
    .unwrap()
}

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "data": {"a": "b"}}))
        .unwrap()
}

fn env_of(d: &Deployment) -> BTreeMap<String, String> {
    d.spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.name, e.value.unwrap_or_default()))
        .collect()
}

/// Two read-only tools with rules, the second with namespaced rules only (from the catalog, no name spelled).
fn two_read_tools() -> (&'static str, &'static str) {
    let with_rules = |t: &&kube_mcp_catalog::tools::ToolSpec| {
        t.class == ToolClass::ReadOnly && !t.rules.is_empty()
    };
    let b = CATALOG
        .iter()
        .filter(with_rules)
        .find(|t| t.rules.iter().all(|r| r.scope == RuleScope::Namespaced))
        .expect("a read tool with namespaced rules only");
    let a = CATALOG
        .iter()
        .filter(with_rules)
        .find(|t| t.name != b.name)
        .expect("a second read tool");
    (a.name, b.name)
}

#[tokio::test]
async fn read_only_endpoint_can_read_and_nothing_else() {
    let ns = test_namespace("op-ro").await;
    let other = test_namespace("op-ro-other").await;
    let client = ns.client.clone();
    let op = Operator::start(&client, config(&[&ns.name], &[])).await;
    let started = Instant::now();
    create(
        &client,
        &ns.name,
        "ro",
        McpEndpointSpec {
            access: Access::ReadOnly,
            secrets: SecretsPolicy::Hidden,
            ..Default::default()
        },
    )
    .await;
    wait_condition(&client, &ns.name, "ro", "RbacReady", "True").await;
    eprintln!("ro: RbacReady after {:?}", started.elapsed());

    let sa = sa_client(&client, &ns.name, "ro").await;
    settle(&sa, &ns.name, 200).await;
    let pods: Api<Pod> = Api::namespaced(sa.clone(), &ns.name);
    assert_eq!(
        code(pods.list(&ListParams::default()).await),
        200,
        "list pods in scope"
    );
    assert_eq!(
        code(pods.create(&PostParams::default(), &pod("p")).await),
        403,
        "create pods"
    );
    let secrets: Api<Secret> = Api::namespaced(sa.clone(), &ns.name);
    assert_eq!(
        code(secrets.list(&ListParams::default()).await),
        403,
        "secrets: Hidden"
    );
    let elsewhere: Api<Pod> = Api::namespaced(sa.clone(), &other.name);
    assert_eq!(
        code(elsewhere.list(&ListParams::default()).await),
        403,
        "another namespace"
    );

    // The rendered server settings and the children exist.
    let d = Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .get("ro")
        .await
        .unwrap();
    let env = env_of(&d);
    assert_eq!(env["KUBE_MCP_SECRETS"], "hidden");
    assert_eq!(env["KUBE_MCP_NAMESPACES"], ns.name);
    for t in env["ALLOWED_TOOLS"].split(',') {
        assert_eq!(
            kube_mcp_catalog::tools::find(t).unwrap().class,
            ToolClass::ReadOnly
        );
    }
    assert!(!env.contains_key("MCP_AUTH_TOKEN"));
    Api::<Service>::namespaced(client.clone(), &ns.name)
        .get("ro")
        .await
        .unwrap();
    Api::<NetworkPolicy>::namespaced(client.clone(), &ns.name)
        .get("ro")
        .await
        .unwrap();
    let token = Api::<Secret>::namespaced(client.clone(), &ns.name)
        .get("ro-token")
        .await
        .unwrap();
    let token = String::from_utf8(token.data.unwrap()["token"].0.clone()).unwrap();
    assert!(token.starts_with("kmcp_"), "{}", token.len());
    assert_eq!(token.len(), 48, "kmcp_ and 32 bytes in base64url");
    let ep = Api::<McpEndpoint>::namespaced(client.clone(), &ns.name)
        .get("ro")
        .await
        .unwrap();
    let st = ep.status.clone().unwrap();
    assert_eq!(
        st.url.as_deref(),
        Some(format!("http://ro.{}.svc:80/mcp", ns.name).as_str())
    );
    assert_eq!(st.token_secret_name.as_deref(), Some("ro-token"));
    assert_eq!(st.namespaces, std::slice::from_ref(&ns.name));
    assert_eq!(st.tool_count, Some(st.tools.len() as i32));

    // Everything it caused is in its namespace and owned by it: no finalizer,
    // so deleting it (or its namespace) never waits for the operator, and
    // the garbage collector takes the children.
    assert!(ep.finalizers().is_empty(), "{:?}", ep.finalizers());
    Api::<RoleBinding>::namespaced(client.clone(), &ns.name)
        .get("ro")
        .await
        .unwrap();
    op.stop().await;
    Api::<McpEndpoint>::namespaced(client.clone(), &ns.name)
        .delete("ro", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "the operator-less delete to collect the children",
        || async {
            let ns = ns.name.as_str();
            let d = Api::<Deployment>::namespaced(client.clone(), ns)
                .get_opt("ro")
                .await
                .ok()?;
            let rb = Api::<RoleBinding>::namespaced(client.clone(), ns)
                .get_opt("ro")
                .await
                .ok()?;
            let t = Api::<Secret>::namespaced(client.clone(), ns)
                .get_opt("ro-token")
                .await
                .ok()?;
            (d.is_none() && rb.is_none() && t.is_none()).then_some(())
        },
    )
    .await;
    ns.delete().await;
    other.delete().await;
}

#[tokio::test]
async fn non_destructive_endpoint_can_create_but_not_delete() {
    let ns = test_namespace("op-nd").await;
    let client = ns.client.clone();
    let op = Operator::start(&client, config(&[&ns.name], &[])).await;
    let sa = granted(
        &client,
        &ns.name,
        "nd",
        McpEndpointSpec {
            access: Access::NonDestructive,
            ..Default::default()
        },
    )
    .await;

    let cms: Api<ConfigMap> = Api::namespaced(sa.clone(), &ns.name);
    assert_eq!(
        code(
            cms.create(&PostParams::default(), &config_map("made-by-mcp"))
                .await
        ),
        200,
        "create"
    );
    assert_eq!(
        code(cms.delete("made-by-mcp", &DeleteParams::default()).await),
        403,
        "delete"
    );
    let pods: Api<Pod> = Api::namespaced(sa.clone(), &ns.name);
    assert_eq!(
        code(
            pods.delete_collection(&DeleteParams::default(), &ListParams::default())
                .await
        ),
        403
    );

    op.stop().await;
    ns.delete().await;
}

#[tokio::test]
async fn deleting_the_endpoint_removes_everything_it_caused() {
    let admin_ns = test_namespace("op-admin").await;
    let target = test_namespace("op-target").await;
    let client = admin_ns.client.clone();
    let op = Operator::start(&client, config(&[&admin_ns.name], &[&admin_ns.name])).await;
    create(
        &client,
        &admin_ns.name,
        "reach",
        McpEndpointSpec {
            namespaces: Some(vec![admin_ns.name.clone(), target.name.clone()]),
            ..Default::default()
        },
    )
    .await;
    wait_condition(&client, &admin_ns.name, "reach", "RbacReady", "True").await;
    let cross = format!("kube-mcp:{}:reach", admin_ns.name);
    let rb = Api::<RoleBinding>::namespaced(client.clone(), &target.name)
        .get(&cross)
        .await
        .unwrap();
    assert!(
        rb.metadata.owner_references.is_none(),
        "cross-namespace objects carry no owner reference"
    );
    // The SA can read in the target namespace now.
    let sa = sa_client(&client, &admin_ns.name, "reach").await;
    settle(&sa, &target.name, 200).await;
    assert_eq!(
        code(
            Api::<Pod>::namespaced(sa.clone(), &target.name)
                .list(&ListParams::default())
                .await
        ),
        200
    );
    let caused = owned_rbac(&client, &admin_ns.name, "reach").await;
    assert!(
        !caused.iter().any(|c| c.starts_with("Cluster")),
        "a namespace-scoped endpoint gets no cluster-scoped grant: {caused:?}"
    );
    // Only the operator can revoke the grant in the other namespace.
    let reach = Api::<McpEndpoint>::namespaced(client.clone(), &admin_ns.name)
        .get("reach")
        .await
        .unwrap();
    assert_eq!(reach.finalizers(), ["kubemcp.io/cleanup"]);

    let started = Instant::now();
    Api::<McpEndpoint>::namespaced(client.clone(), &admin_ns.name)
        .delete("reach", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the endpoint to go away", || async {
        Api::<McpEndpoint>::namespaced(client.clone(), &admin_ns.name)
            .get_opt("reach")
            .await
            .ok()
            .and_then(|o| o.is_none().then_some(()))
    })
    .await;
    eprintln!(
        "delete: endpoint (finalizer) gone after {:?}",
        started.elapsed()
    );
    eventually("every RBAC object to go away", || async {
        owned_rbac(&client, &admin_ns.name, "reach")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    eprintln!(
        "delete: every RBAC object gone after {:?}",
        started.elapsed()
    );
    // Same-namespace children go through the garbage collector.
    eventually("the owned children to be collected", || async {
        let ns = admin_ns.name.as_str();
        let d = Api::<Deployment>::namespaced(client.clone(), ns)
            .get_opt("reach")
            .await
            .ok()?;
        let s = Api::<Service>::namespaced(client.clone(), ns)
            .get_opt("reach")
            .await
            .ok()?;
        let sa = Api::<ServiceAccount>::namespaced(client.clone(), ns)
            .get_opt("kube-mcp.reach")
            .await
            .ok()?;
        let t = Api::<Secret>::namespaced(client.clone(), ns)
            .get_opt("reach-token")
            .await
            .ok()?;
        let np = Api::<NetworkPolicy>::namespaced(client.clone(), ns)
            .get_opt("reach")
            .await
            .ok()?;
        (d.is_none() && s.is_none() && sa.is_none() && t.is_none() && np.is_none()).then_some(())
    })
    .await;
    eprintln!("delete: everything gone after {:?}", started.elapsed());
    // The ServiceAccount is gone: its token is refused (401), or forbidden if still cached (403).
    let after = code(
        Api::<Pod>::namespaced(sa, &target.name)
            .list(&ListParams::default())
            .await,
    );
    assert!(after == 401 || after == 403, "{after}");

    op.stop().await;
    admin_ns.delete().await;
    target.delete().await;
}

/// Rights never outlive the endpoint. A delete that orphans the children
/// (`propagationPolicy: Orphan`: the garbage collector keeps them) still
/// takes the Role and RoleBinding, which the operator revokes when the watch
/// reports the delete; the Deployment stays, as the delete asked.
#[tokio::test]
async fn a_deleted_endpoints_grants_go_even_when_its_children_are_orphaned() {
    let ns = test_namespace("op-orphan").await;
    let client = ns.client.clone();
    let op = Operator::start(&client, config(&[&ns.name], &[])).await;
    let sa = granted(
        &client,
        &ns.name,
        "orph",
        McpEndpointSpec {
            access: Access::ReadOnly,
            ..Default::default()
        },
    )
    .await;
    assert!(!owned_rbac(&client, &ns.name, "orph").await.is_empty());

    let started = Instant::now();
    Api::<McpEndpoint>::namespaced(client.clone(), &ns.name)
        .delete("orph", &DeleteParams::orphan())
        .await
        .unwrap();
    eventually("the endpoint to go away", || async {
        Api::<McpEndpoint>::namespaced(client.clone(), &ns.name)
            .get_opt("orph")
            .await
            .ok()
            .and_then(|o| o.is_none().then_some(()))
    })
    .await;
    eventually("the operator to revoke the grants", || async {
        owned_rbac(&client, &ns.name, "orph")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    eprintln!("orphan: grants revoked after {:?}", started.elapsed());
    settle(&sa, &ns.name, 403).await;
    // Orphaned as asked: the collector took only the owner reference.
    let d = Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .get("orph")
        .await
        .unwrap();
    assert!(
        d.metadata.owner_references.unwrap_or_default().is_empty(),
        "the orphaned Deployment keeps no owner reference"
    );

    op.stop().await;
    ns.delete().await;
}

#[tokio::test]
async fn refused_scope_grants_nothing() {
    let ns = test_namespace("op-refuse").await;
    let other = test_namespace("op-refuse-other").await;
    let client = ns.client.clone();
    let op = Operator::start(&client, config(&[&ns.name], &[])).await;

    // First a valid endpoint, so there is something to take away.
    create(&client, &ns.name, "greedy", McpEndpointSpec::default()).await;
    wait_condition(&client, &ns.name, "greedy", "RbacReady", "True").await;
    assert!(!owned_rbac(&client, &ns.name, "greedy").await.is_empty());

    // Then it asks for another namespace: refused, and every grant is revoked.
    let patch = serde_json::json!({"spec": {"namespaces": [other.name]}});
    Api::<McpEndpoint>::namespaced(client.clone(), &ns.name)
        .patch("greedy", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    eventually("Ready=False ScopeNotAllowed", || async {
        let c = condition(&client, &ns.name, "greedy", "Ready").await?;
        (c == ("False".to_string(), "ScopeNotAllowed".to_string())).then_some(())
    })
    .await;
    eventually("the grants to be revoked", || async {
        owned_rbac(&client, &ns.name, "greedy")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(
        Api::<Deployment>::namespaced(client.clone(), &ns.name)
            .get_opt("greedy")
            .await
            .unwrap()
            .is_none()
    );
    let sa = sa_client(&client, &ns.name, "greedy").await;
    settle(&sa, &ns.name, 403).await;
    assert_eq!(
        code(
            Api::<Pod>::namespaced(sa.clone(), &ns.name)
                .list(&ListParams::default())
                .await
        ),
        403
    );
    assert_eq!(
        code(
            Api::<Pod>::namespaced(sa, &other.name)
                .list(&ListParams::default())
                .await
        ),
        403
    );
    let ep = Api::<McpEndpoint>::namespaced(client.clone(), &ns.name)
        .get("greedy")
        .await
        .unwrap();
    let ready = status::ready(ep.status.as_ref()).unwrap();
    assert!(
        ready.message.contains("admin namespace"),
        "{}",
        ready.message
    );

    // A Warning event says so.
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), &ns.name);
    eventually("a ScopeNotAllowed Warning event", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("ScopeNotAllowed")
                    && e.type_.as_deref() == Some("Warning")
            })
            .then_some(())
    })
    .await;

    // Refused from the start: nothing is ever granted.
    create(
        &client,
        &ns.name,
        "wide",
        McpEndpointSpec {
            namespaces: Some(vec!["*".into()]),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        wait_condition(&client, &ns.name, "wide", "Ready", "False").await,
        "ScopeNotAllowed"
    );
    assert!(owned_rbac(&client, &ns.name, "wide").await.is_empty());

    op.stop().await;
    ns.delete().await;
    other.delete().await;
}

fn rv(v: &str) -> u64 {
    v.parse().expect("a numeric resourceVersion")
}

/// Snapshot of the resourceVersions of every child of an endpoint.
async fn versions(client: &Client, ns: &str, name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let lp = ListParams::default().labels(&labels::owner_selector(ns, name));
    macro_rules! collect {
        ($k:ty) => {
            for o in Api::<$k>::all(client.clone())
                .list_metadata(&lp)
                .await
                .unwrap()
            {
                out.insert(
                    format!(
                        "{} {}/{}",
                        stringify!($k),
                        o.namespace().unwrap_or_default(),
                        o.name_any()
                    ),
                    o.resource_version().unwrap_or_default(),
                );
            }
        };
    }
    collect!(Deployment);
    collect!(Service);
    collect!(ServiceAccount);
    collect!(Secret);
    collect!(NetworkPolicy);
    collect!(Role);
    collect!(RoleBinding);
    collect!(ClusterRole);
    collect!(ClusterRoleBinding);
    let ep = Api::<McpEndpoint>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .unwrap();
    out.insert(
        "McpEndpoint".into(),
        ep.resource_version().unwrap_or_default(),
    );
    out
}

#[tokio::test]
async fn reconciling_twice_changes_nothing() {
    let ns = test_namespace("op-noop").await;
    let client = ns.client.clone();
    install_crd(&client).await;
    // No running controller: reconcile by hand, so nothing else writes.
    let ctx = Arc::new(Context::new(
        client.clone(),
        config(&[&ns.name], &[]),
        Arc::new(Metrics::default()),
    ));
    let api: Api<McpEndpoint> = Api::namespaced(client.clone(), &ns.name);
    create(&client, &ns.name, "noop", McpEndpointSpec::default()).await;
    let pass = || async {
        let ep = Arc::new(api.get("noop").await.unwrap());
        let t = Instant::now();
        reconcile::reconcile(ep, ctx.clone())
            .await
            .expect("reconcile");
        t.elapsed()
    };
    // The Deployment's ADDED event carries the resourceVersion it was created
    // at (its status updates change the one a GET would show).
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let mut added = deployments
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    // A namespace-local endpoint needs no finalizer: the first pass creates the children.
    let first = pass().await;
    assert!(api.get("noop").await.unwrap().finalizers().is_empty());
    let created = loop {
        match added.try_next().await.unwrap() {
            Some(WatchEvent::Added(d)) => break rv(&d.resource_version().unwrap()),
            Some(_) => continue,
            None => panic!("the Deployment watch ended"),
        }
    };
    drop(added);
    // Created in waves: no binding before the Roles, ServiceAccount, token and
    // NetworkPolicy; no pod template before the bindings. Revisions of one
    // etcd order the writes (they are opaque to clients, not to this test).
    let at_creation = versions(&client, &ns.name, "noop").await;
    let of = |prefix: &str| -> Vec<u64> {
        at_creation
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| rv(v))
            .collect()
    };
    let bindings = of("RoleBinding ");
    let first_wave: Vec<u64> = [
        "ServiceAccount ",
        "Secret ",
        "Role ",
        "NetworkPolicy ",
        "Service ",
    ]
    .iter()
    .flat_map(|k| of(k))
    .collect();
    assert!(
        !bindings.is_empty() && first_wave.len() >= 5,
        "{at_creation:?}"
    );
    let (wave1_end, wave2_start) = (first_wave.iter().max(), bindings.iter().min());
    assert!(
        wave1_end < wave2_start,
        "a binding came before its wave: {at_creation:?}"
    );
    assert!(
        bindings.iter().all(|b| *b < created),
        "the Deployment (created at {created}) came before a binding: {at_creation:?}"
    );
    // Let the Deployment settle (controller-manager and kwok write its status).
    eventually("the Deployment to be available", || async {
        let d = deployments.get("noop").await.ok()?;
        let st = d.status?;
        (st.available_replicas.unwrap_or(0) >= 1 && st.observed_generation == d.metadata.generation)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    pass().await; // records availability in the status
    let before = versions(&client, &ns.name, "noop").await;
    assert!(before.len() >= 8, "{before:?}");
    let second = pass().await;
    let third = pass().await;
    let after = versions(&client, &ns.name, "noop").await;
    assert_eq!(before, after, "a no-op reconcile must not write");
    assert_eq!(
        condition(&client, &ns.name, "noop", "Ready")
            .await
            .unwrap()
            .0,
        "True"
    );
    eprintln!("reconcile latency: first (create) {first:?}, no-op {second:?}, {third:?}");
    ns.delete().await;
}

#[tokio::test]
async fn changed_tools_reach_the_deployment_and_the_role() {
    let ns = test_namespace("op-tools").await;
    let client = ns.client.clone();
    let op = Operator::start(&client, config(&[&ns.name], &[])).await;
    let (a, b) = two_read_tools();
    create(
        &client,
        &ns.name,
        "t",
        McpEndpointSpec {
            tools: Some(vec![a.into()]),
            ..Default::default()
        },
    )
    .await;
    wait_condition(&client, &ns.name, "t", "RbacReady", "True").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    assert_eq!(
        env_of(&deployments.get("t").await.unwrap())["ALLOWED_TOOLS"],
        a
    );

    let started = Instant::now();
    let patch = serde_json::json!({"spec": {"tools": [b]}});
    Api::<McpEndpoint>::namespaced(client.clone(), &ns.name)
        .patch("t", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    eventually("ALLOWED_TOOLS to follow spec.tools", || async {
        let d = deployments.get("t").await.ok()?;
        (env_of(&d)["ALLOWED_TOOLS"] == b).then_some(())
    })
    .await;
    let want: std::collections::BTreeSet<String> = kube_mcp_catalog::tools::find(b)
        .unwrap()
        .rules
        .iter()
        .filter(|r| r.scope == RuleScope::Namespaced)
        .flat_map(|r| r.resources.iter().map(|s| s.to_string()))
        .collect();
    let roles: Api<Role> = Api::namespaced(client.clone(), &ns.name);
    eventually("the Role to follow spec.tools", || async {
        let r = roles.get("t").await.ok()?;
        let got: std::collections::BTreeSet<String> = r
            .rules?
            .into_iter()
            .flat_map(|r| r.resources.unwrap_or_default())
            .collect();
        (got == want).then_some(())
    })
    .await;
    eprintln!(
        "tools change reached Deployment and Role after {:?}",
        started.elapsed()
    );
    // Status is written last in a pass.
    eventually("status.tools to follow spec.tools", || async {
        let ep = Api::<McpEndpoint>::namespaced(client.clone(), &ns.name)
            .get("t")
            .await
            .ok()?;
        (ep.status?.tools == [b.to_string()]).then_some(())
    })
    .await;
    op.stop().await;
    ns.delete().await;
}

/// The operator with only the ClusterRole `kube-mcp-operator rbac` prints (not admin):
/// it can grant a Full endpoint (wildcard helm rules, node writes) through
/// `escalate`/`bind`, check the CRD, write status and events, and clean up.
#[tokio::test]
async fn operator_needs_only_its_printed_cluster_role() {
    let ns = test_namespace("op-self").await;
    let admin = ns.client.clone();
    install_crd(&admin).await;
    let role_name = format!("kube-mcp-operator-{}", ns.name);
    let mut cr = kube_mcp_operator::operator_rbac::cluster_role(&role_name);
    cr.rules
        .get_or_insert_with(Vec::new)
        .extend(kube_mcp_operator::operator_rbac::escalate_rules());
    Api::<ClusterRole>::all(admin.clone())
        .patch(
            &role_name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(&cr),
        )
        .await
        .unwrap();
    Api::<ServiceAccount>::namespaced(admin.clone(), &ns.name)
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "operator"}})).unwrap(),
        )
        .await
        .unwrap();
    let crb: ClusterRoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": role_name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": ns.name}],
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(admin.clone())
        .patch(
            &role_name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(&crb),
        )
        .await
        .unwrap();
    let op_client =
        client_with_token(&service_account_token(&admin, &ns.name, "operator").await).await;
    eventually("the operator's RBAC to be effective", || async {
        reconcile::check_crd(&op_client).await.ok()
    })
    .await;

    // Cluster-wide, Full, Secrets visible: the widest grant there is (helm's
    // wildcard and the node rules in a ClusterRole).
    let op = Operator::start_with(op_client, config(&[&ns.name], &[&ns.name])).await;
    create(
        &admin,
        &ns.name,
        "full",
        McpEndpointSpec {
            access: Access::Full,
            namespaces: Some(vec!["*".into()]),
            secrets: SecretsPolicy::Visible,
            ..Default::default()
        },
    )
    .await;
    wait_condition(&admin, &ns.name, "full", "RbacReady", "True").await;
    let caused = owned_rbac(&admin, &ns.name, "full").await;
    assert!(
        caused.iter().any(|c| c.starts_with("ClusterRoleBinding ")),
        "{caused:?}"
    );
    let sa = sa_client(&admin, &ns.name, "full").await;
    settle(&sa, &ns.name, 200).await;
    let cms: Api<ConfigMap> = Api::namespaced(sa, &ns.name);
    assert_eq!(
        code(cms.create(&PostParams::default(), &config_map("x")).await),
        200
    );
    assert_eq!(
        code(cms.delete("x", &DeleteParams::default()).await),
        200,
        "Full may delete"
    );

    Api::<McpEndpoint>::namespaced(admin.clone(), &ns.name)
        .delete("full", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the cluster-scoped grants to go away", || async {
        owned_rbac(&admin, &ns.name, "full")
            .await
            .iter()
            .all(|c| !c.starts_with("Cluster"))
            .then_some(())
    })
    .await;
    op.stop().await;
    let _ = Api::<ClusterRoleBinding>::all(admin.clone())
        .delete(&role_name, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRole>::all(admin.clone())
        .delete(&role_name, &DeleteParams::default())
        .await;
    ns.delete().await;
}

#[tokio::test]
async fn tokens_rotate_by_annotation_and_referenced_secrets_are_watched() {
    let ns = test_namespace("op-token").await;
    let client = ns.client.clone();
    let op = Operator::start(&client, config(&[&ns.name], &[])).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let eps: Api<McpEndpoint> = Api::namespaced(client.clone(), &ns.name);

    // Generated token: kept across reconciles, replaced when the annotation changes.
    create(&client, &ns.name, "gen", McpEndpointSpec::default()).await;
    wait_condition(&client, &ns.name, "gen", "RbacReady", "True").await;
    let first = secrets.get("gen-token").await.unwrap().data.unwrap()["token"].clone();
    let patch = serde_json::json!({"metadata": {"annotations": {"kubemcp.io/rotate-token": "1"}}});
    eps.patch("gen", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let second = eventually("the token to rotate", || async {
        let t = secrets.get("gen-token").await.ok()?.data?["token"].clone();
        (t != first).then_some(t)
    })
    .await;
    assert_eq!(second.0.len(), 48, "kmcp_ and 32 bytes in base64url");
    assert!(second.0.starts_with(b"kmcp_"));
    let s = secrets.get("gen-token").await.unwrap();
    assert_eq!(s.annotations()["kubemcp.io/rotated-for"], "1");

    // Referenced token: Ready waits for the Secret, and its creation is noticed.
    let spec: McpEndpointSpec = serde_json::from_value(serde_json::json!({
        "auth": {"tokenSecretRef": {"name": "byo", "key": "t"}},
    }))
    .unwrap();
    create(&client, &ns.name, "ref", spec).await;
    eventually("Ready=False TokenSecretNotFound", || async {
        let c = condition(&client, &ns.name, "ref", "Ready").await?;
        (c.1 == "TokenSecretNotFound").then_some(())
    })
    .await;
    assert!(
        secrets.get_opt("ref-token").await.unwrap().is_none(),
        "no token generated"
    );
    let byo: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "byo", "labels": {"kubemcp.io/token-for": "ref"}},
        "stringData": {"t": "from-the-user"},
    }))
    .unwrap();
    let started = Instant::now();
    secrets.create(&PostParams::default(), &byo).await.unwrap();
    eventually("the referenced Secret to be noticed", || async {
        let c = condition(&client, &ns.name, "ref", "Ready").await?;
        (c.1 != "TokenSecretNotFound").then_some(())
    })
    .await;
    eprintln!("referenced Secret noticed after {:?}", started.elapsed());
    assert_eq!(
        token_volume(&client, &ns.name, "ref").await.as_deref(),
        Some("byo")
    );
    op.stop().await;
    ns.delete().await;
}

#[tokio::test]
async fn a_settled_endpoint_is_not_reconciled_again() {
    let ns = test_namespace("op-quiet").await;
    let client = ns.client.clone();
    let op = Operator::start(&client, config(&[&ns.name], &[])).await;
    create(&client, &ns.name, "quiet", McpEndpointSpec::default()).await;
    wait_condition(&client, &ns.name, "quiet", "Ready", "True").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = op.ctx.metrics.reconciles.get();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = op.ctx.metrics.reconciles.get();
    eprintln!(
        "quiet: {before} reconciles to settle, {} in the next 5s",
        after - before
    );
    assert_eq!(
        after, before,
        "no hot loop: a settled endpoint causes no reconcile"
    );
    assert!(
        op.ctx
            .metrics
            .render()
            .contains("kube_mcp_operator_reconciles_total")
    );
    op.stop().await;
    ns.delete().await;
}

/// A restarted operator (or one installed after the endpoints) must take up
/// every endpoint already there: their first reconciles all start before the
/// child watches have listed, and each must get past that wait. A child
/// deleted by hand comes back (the watches see deletes too).
#[tokio::test]
async fn endpoints_created_before_the_operator_are_all_reconciled() {
    let ns = test_namespace("op-before").await;
    let client = ns.client.clone();
    install_crd(&client).await;
    let names: Vec<String> = (0..12).map(|i| format!("early-{i}")).collect();
    for n in &names {
        create(&client, &ns.name, n, McpEndpointSpec::default()).await;
    }
    let op = Operator::start_with(client.clone(), config(&[&ns.name], &[])).await;
    for n in &names {
        wait_condition(&client, &ns.name, n, "RbacReady", "True").await;
    }
    let roles: Api<Role> = Api::namespaced(client.clone(), &ns.name);
    let role = names[0].clone();
    let before = roles.get(&role).await.expect("the endpoint's Role").uid();
    roles.delete(&role, &DeleteParams::default()).await.unwrap();
    let after = eventually("the deleted Role to come back", || async {
        let r = roles.get(&role).await.ok()?;
        (r.uid() != before).then_some(r)
    })
    .await;
    assert!(after.rules.is_some_and(|r| !r.is_empty()));
    op.stop().await;
    ns.delete().await;
}
