//! Endpoint creators are not trusted: creating an McpEndpoint must not be a
//! way around RBAC. Each test plays a creator who wants more than they hold,
//! against the real reconciler and the real API server (RBAC on).

mod common;

use common::*;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};
use kube_mcp_operator::crd::{McpEndpoint, McpEndpointSpec};
use kube_mcp_tests::{kubectl, test_namespace};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

fn from<T: DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Creates `obj` with the admin client; returns its resourceVersion.
async fn plant<K>(api: &Api<K>, obj: serde_json::Value) -> String
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let created = api
        .create(&PostParams::default(), &from(obj))
        .await
        .unwrap();
    created.resource_version().unwrap()
}

async fn rv_of<K>(api: &Api<K>, name: &str) -> Option<String>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name)
        .await
        .unwrap()
        .and_then(|o| o.resource_version())
}

/// `kubectl auth can-i <verb> <resource> [-n ns] --as <user>`: the API server's answer.
fn can_i(verb: &str, resource: &str, ns: Option<&str>, user: &str) -> bool {
    let mut cmd = kubectl();
    cmd.args(["auth", "can-i", verb, resource, "--as", user]);
    if let Some(ns) = ns {
        cmd.args(["-n", ns]);
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "yes"
}

/// (status, reason, message) of the Ready condition.
async fn ready(client: &Client, ns: &str, name: &str) -> Option<(String, String, String)> {
    let ep = Api::<McpEndpoint>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .ok()?;
    let c = ep
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status, c.reason, c.message))
}

async fn wait_refused(client: &Client, ns: &str, name: &str, reason: &str) -> String {
    eventually(&format!("{ns}/{name} Ready=False {reason}"), || async {
        let (s, r, m) = ready(client, ns, name).await?;
        (s == "False" && r == reason).then_some(m)
    })
    .await
}

async fn warning_event(client: &Client, ns: &str, name: &str, reason: &str) -> String {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    eventually(&format!("a {reason} Warning Event for {name}"), || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find_map(|e| {
            let about = e.regarding.as_ref()?.name.as_deref() == Some(name);
            (about && e.reason.as_deref() == Some(reason) && e.type_.as_deref() == Some("Warning"))
                .then(|| e.note.unwrap_or_default())
        })
    })
    .await
}

async fn delete_endpoint(client: &Client, ns: &str, name: &str) {
    let api: Api<McpEndpoint> = Api::namespaced(client.clone(), ns);
    api.delete(name, &DeleteParams::default()).await.unwrap();
    eventually(&format!("{ns}/{name} to be deleted"), || async {
        api.get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn naming_an_endpoint_after_an_existing_object_takes_nothing_over() {
    let team = test_namespace("trust-team").await;
    let ops = test_namespace("trust-ops").await;
    let admin = team.client.clone();
    let (t, o) = (team.name.as_str(), ops.name.as_str());
    let team_dev = format!("team-dev-{t}");
    let op = Operator::start(&admin, config(&[t, o], &[o])).await;

    // The victims: objects someone else made, under names an endpoint would use.
    let roles: Api<Role> = Api::namespaced(admin.clone(), t);
    let bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), t);
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), t);
    let services: Api<Service> = Api::namespaced(admin.clone(), t);
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), t);
    let cluster_roles: Api<ClusterRole> = Api::all(admin.clone());
    let cluster_bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
    let user =
        |u: &str| json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u}]);
    let role_rv = plant(
        &roles,
        json!({"metadata": {"name": "developer"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}),
    )
    .await;
    plant(
        &bindings,
        json!({"metadata": {"name": "developer"}, "subjects": user(&team_dev),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "developer"}}),
    )
    .await;
    let binding_rv = plant(&bindings, json!({"metadata": {"name": "binder"}, "subjects": user(&team_dev),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}})).await;
    let sa_rv = plant(&sas, json!({"metadata": {"name": "kube-mcp.ci-deployer"}})).await;
    plant(&bindings, json!({"metadata": {"name": "ci-deployer-edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "kube-mcp.ci-deployer", "namespace": t}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}})).await;
    let service_rv = plant(
        &services,
        json!({"metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    )
    .await;
    let secret_rv = plant(
        &secrets,
        json!({"metadata": {"name": "vault-token"},
        "stringData": {"token": "the-vault-token"}}),
    )
    .await;
    let wide = format!("kube-mcp:{o}:wide");
    let cluster_role_rv = plant(
        &cluster_roles,
        json!({"metadata": {"name": wide},
        "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]}),
    )
    .await;
    let crb = format!("trust-{t}");
    plant(
        &cluster_bindings,
        json!({"metadata": {"name": crb}, "subjects": user(&team_dev),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": wide}}),
    )
    .await;
    let sa_user = format!("system:serviceaccount:{t}:kube-mcp.ci-deployer");
    let rights = || {
        [
            can_i("get", "secrets", Some(t), &team_dev),
            can_i("get", "configmaps", Some(t), &team_dev),
            can_i("list", "pods", Some(t), &team_dev),
            can_i("get", "nodes", None, &team_dev),
            can_i("list", "nodes", None, &team_dev),
            can_i("delete", "deployments", Some(t), &sa_user),
            can_i("get", "secrets", Some(o), &sa_user),
        ]
    };
    let before = rights();
    assert_eq!(before, [false, true, true, true, false, true, false]);

    // The threat is an object that already exists: the operator learns of
    // it through its name watch, whose latency is the window it documents.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // (endpoint namespace, endpoint, spec, the object it would take over)
    let attempts = [
        (t, "developer", json!({}), format!("Role {t}/developer")),
        (t, "binder", json!({}), format!("RoleBinding {t}/binder")),
        (
            t,
            "ci-deployer",
            json!({}),
            format!("ServiceAccount {t}/kube-mcp.ci-deployer"),
        ),
        (t, "web", json!({}), format!("Service {t}/web")),
        (t, "vault", json!({}), format!("Secret {t}/vault-token")),
        (
            o,
            "wide",
            json!({"namespaces": ["*"]}),
            format!("ClusterRole {wide}"),
        ),
    ];
    for (ns, name, spec, _) in &attempts {
        create(&admin, ns, name, from::<McpEndpointSpec>(spec.clone())).await;
    }
    for (ns, name, _, object) in &attempts {
        let msg = wait_refused(&admin, ns, name, "NameConflict").await;
        assert!(
            msg.starts_with(&format!("{object} already exists")),
            "{msg}"
        );
        assert!(msg.contains("Rename the endpoint"), "{msg}");
        let note = warning_event(&admin, ns, name, "NameConflict").await;
        assert!(note.contains(object.as_str()), "{note}");
        // Nothing was granted or deployed for it.
        assert_eq!(
            owned_rbac(&admin, ns, name).await,
            Vec::<String>::new(),
            "{name}"
        );
        let own_sa = format!("kube-mcp.{name}");
        if *name != "ci-deployer" {
            let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
            assert!(
                sas.get_opt(&own_sa).await.unwrap().is_none(),
                "{name}: {own_sa}"
            );
        }
        let deployments: Api<Deployment> = Api::namespaced(admin.clone(), ns);
        assert!(deployments.get_opt(name).await.unwrap().is_none(), "{name}");
    }
    let unchanged = || async {
        assert_eq!(rv_of(&roles, "developer").await, Some(role_rv.clone()));
        assert_eq!(rv_of(&bindings, "binder").await, Some(binding_rv.clone()));
        assert_eq!(
            rv_of(&sas, "kube-mcp.ci-deployer").await,
            Some(sa_rv.clone())
        );
        assert_eq!(rv_of(&services, "web").await, Some(service_rv.clone()));
        assert_eq!(
            rv_of(&secrets, "vault-token").await,
            Some(secret_rv.clone())
        );
        assert_eq!(
            rv_of(&cluster_roles, &wide).await,
            Some(cluster_role_rv.clone())
        );
    };
    unchanged().await;
    assert_eq!(rights(), before, "kubectl auth can-i answers changed");

    // Deleting the endpoints removes nothing of the victims' (no owner
    // reference was added, so the garbage collector has nothing to follow).
    for (ns, name, _, _) in &attempts {
        delete_endpoint(&admin, ns, name).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    unchanged().await;
    assert_eq!(rights(), before);

    op.stop().await;
    let _ = cluster_bindings
        .delete(&crb, &DeleteParams::default())
        .await;
    let _ = cluster_roles.delete(&wide, &DeleteParams::default()).await;
    team.delete().await;
    ops.delete().await;
}

#[tokio::test]
async fn names_that_collided_before_get_distinct_objects() {
    // `team`/`a-prod` and `team-a`/`prod` both made `kube-mcp-team-a-prod`.
    let team = test_namespace("col").await;
    let admin = team.client.clone();
    let team_a = format!("{}-a", team.name);
    let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(admin.clone());
    ns_api
        .create(
            &PostParams::default(),
            &from(json!({"metadata": {"name": team_a}})),
        )
        .await
        .unwrap();
    let target = test_namespace("col-target").await;
    let (t, ta, tg) = (team.name.as_str(), team_a.as_str(), target.name.as_str());
    let op = Operator::start(&admin, config(&[t, ta], &[t, ta])).await;
    let listed = |home: &str| from::<McpEndpointSpec>(json!({"namespaces": [home, tg]}));
    let everywhere = from::<McpEndpointSpec>(json!({"namespaces": ["*"]}));
    let endpoints = [
        (t, "a-prod", listed(t)),
        (ta, "prod", listed(ta)),
        (t, "a-wide", everywhere.clone()),
        (ta, "wide", everywhere),
    ];
    for (ns, name, spec) in &endpoints {
        create(&admin, ns, name, spec.clone()).await;
    }
    for (ns, name, _) in &endpoints {
        wait_condition(&admin, ns, name, "RbacReady", "True").await;
    }
    let roles: Api<Role> = Api::namespaced(admin.clone(), tg);
    for (ns, name) in [(t, "a-prod"), (ta, "prod")] {
        let r = roles.get(&format!("kube-mcp:{ns}:{name}")).await.unwrap();
        assert_eq!(r.labels()["kubemcp.io/owner-namespace"], ns);
    }
    let crs: Api<ClusterRoleBinding> = Api::all(admin.clone());
    for (ns, name) in [(t, "a-wide"), (ta, "wide")] {
        let b = crs.get(&format!("kube-mcp:{ns}:{name}")).await.unwrap();
        let subject = &b.subjects.unwrap()[0];
        assert_eq!(
            (subject.namespace.as_deref(), subject.name.as_str()),
            (Some(ns), format!("kube-mcp.{name}").as_str())
        );
    }
    // Every endpoint holds its grant at the same time: none overwrote another.
    for (ns, name, _) in &endpoints {
        let sa = sa_client(&admin, ns, name).await;
        settle(&sa, tg, 200).await;
    }
    // Deleting one leaves the other's grant in place.
    delete_endpoint(&admin, t, "a-prod").await;
    let other = sa_client(&admin, ta, "prod").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    settle(&other, tg, 200).await;
    assert!(
        roles
            .get_opt(&format!("kube-mcp:{ta}:prod"))
            .await
            .unwrap()
            .is_some()
    );

    for (ns, name, _) in &endpoints[1..] {
        delete_endpoint(&admin, ns, name).await;
    }
    op.stop().await;
    let _ = ns_api.delete(&team_a, &DeleteParams::default()).await;
    team.delete().await;
    target.delete().await;
}

#[tokio::test]
async fn objects_of_earlier_versions_are_replaced_and_others_left_alone() {
    let ops = test_namespace("legacy").await;
    let target = test_namespace("legacy-target").await;
    let admin = ops.client.clone();
    let (o, tg) = (ops.name.as_str(), target.name.as_str());
    install_crd(&admin).await;
    let ep = create(&admin, o, "old", from(json!({"namespaces": [o, tg]}))).await;
    let uid = ep.uid().unwrap();
    // What the previous operator version left: a ServiceAccount named like the
    // endpoint (owned), and cross-namespace/cluster objects under the old
    // names with owner labels but no UID label.
    let labels = json!({"app.kubernetes.io/managed-by": "kube-mcp-operator",
        "kubemcp.io/owner-namespace": o, "kubemcp.io/owner-name": "old"});
    let legacy = format!("kube-mcp-{o}-old");
    let owner = json!([{"apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint", "name": "old", "uid": uid, "controller": true}]);
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), o);
    plant(
        &sas,
        json!({"metadata": {"name": "old", "labels": labels, "ownerReferences": owner}}),
    )
    .await;
    let roles: Api<Role> = Api::namespaced(admin.clone(), tg);
    plant(
        &roles,
        json!({"metadata": {"name": legacy, "labels": labels}, "rules": []}),
    )
    .await;
    let cluster_roles: Api<ClusterRole> = Api::all(admin.clone());
    plant(
        &cluster_roles,
        json!({"metadata": {"name": legacy, "labels": labels}, "rules": []}),
    )
    .await;
    // Labelled for this endpoint's name but owned by another endpoint (UID): never pruned.
    let mut foreign = labels.clone();
    foreign["kubemcp.io/owner-uid"] = json!("another-endpoint-uid");
    let decoy = format!("kube-mcp-{o}-decoy");
    let decoy_rv = plant(
        &cluster_roles,
        json!({"metadata": {"name": decoy, "labels": foreign}, "rules": []}),
    )
    .await;

    let op = Operator::start(&admin, config(&[o], &[o])).await;
    wait_condition(&admin, o, "old", "RbacReady", "True").await;
    eventually("the legacy objects to be replaced", || async {
        let gone = sas.get_opt("old").await.ok()?.is_none()
            && roles.get_opt(&legacy).await.ok()?.is_none()
            && cluster_roles.get_opt(&legacy).await.ok()?.is_none();
        let new = roles
            .get_opt(&format!("kube-mcp:{o}:old"))
            .await
            .ok()?
            .is_some()
            && sas.get_opt("kube-mcp.old").await.ok()?.is_some();
        (gone && new).then_some(())
    })
    .await;
    let d = Api::<Deployment>::namespaced(admin.clone(), o)
        .get("old")
        .await
        .unwrap();
    assert_eq!(
        d.spec
            .unwrap()
            .template
            .spec
            .unwrap()
            .service_account_name
            .as_deref(),
        Some("kube-mcp.old")
    );
    assert_eq!(rv_of(&cluster_roles, &decoy).await, Some(decoy_rv.clone()));
    delete_endpoint(&admin, o, "old").await;
    assert_eq!(
        rv_of(&cluster_roles, &decoy).await,
        Some(decoy_rv),
        "cleanup spares it too"
    );

    op.stop().await;
    let _ = cluster_roles.delete(&decoy, &DeleteParams::default()).await;
    ops.delete().await;
    target.delete().await;
}

#[tokio::test]
async fn an_image_outside_the_allowlist_is_never_deployed() {
    let ns = test_namespace("trust-image").await;
    let admin = ns.client.clone();
    let n = ns.name.as_str();
    let mut cfg = config(&[n], &[]);
    cfg.allowed_images = vec!["registry.example.com/kube-mcp/*".into()];
    let default_image = cfg.server_image.clone();
    let op = Operator::start(&admin, cfg).await;
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), n);
    let image_of = |d: Deployment| d.spec?.template.spec?.containers.first()?.image.clone();

    create(&admin, n, "img", McpEndpointSpec::default()).await;
    wait_condition(&admin, n, "img", "RbacReady", "True").await;
    assert_eq!(
        image_of(deployments.get("img").await.unwrap()),
        Some(default_image)
    );

    let eps: Api<McpEndpoint> = Api::namespaced(admin.clone(), n);
    let set_image = |image: &'static str| {
        let eps = eps.clone();
        async move {
            eps.patch(
                "img",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"image": image}})),
            )
            .await
            .unwrap();
        }
    };
    set_image("attacker.example/exfil").await;
    let msg = wait_refused(&admin, n, "img", "ImageNotAllowed").await;
    assert!(
        msg.contains("attacker.example/exfil") && msg.contains("--allowed-images"),
        "{msg}"
    );
    eventually("the Deployment and the grants to go", || async {
        let gone = deployments.get_opt("img").await.ok()?.is_none()
            && owned_rbac(&admin, n, "img").await.is_empty();
        gone.then_some(())
    })
    .await;
    // Refused from the start: never a Deployment with that image.
    create(
        &admin,
        n,
        "img2",
        from(json!({"image": "attacker.example/exfil:1"})),
    )
    .await;
    wait_refused(&admin, n, "img2", "ImageNotAllowed").await;
    assert!(deployments.get_opt("img2").await.unwrap().is_none());

    set_image("registry.example.com/kube-mcp/server:2").await;
    let d = eventually("the allowed image to be deployed", || async {
        deployments.get_opt("img").await.ok()?
    })
    .await;
    assert_eq!(
        image_of(d).as_deref(),
        Some("registry.example.com/kube-mcp/server:2")
    );
    op.stop().await;
    ns.delete().await;
}

/// Every object in `ns` the operator (or anything it caused) could have written, as JSON.
async fn everything_in(client: &Client, ns: &str, except_secret: &str) -> String {
    let mut out = String::new();
    macro_rules! dump {
        ($($k:ty),*) => {$(
            for o in Api::<$k>::namespaced(client.clone(), ns).list(&ListParams::default()).await.unwrap() {
                out.push_str(&serde_json::to_string(&o).unwrap());
            }
        )*};
    }
    dump!(
        Deployment,
        k8s_openapi::api::apps::v1::ReplicaSet,
        k8s_openapi::api::core::v1::Pod,
        k8s_openapi::api::core::v1::ConfigMap,
        Service,
        ServiceAccount,
        Role,
        RoleBinding,
        k8s_openapi::api::networking::v1::NetworkPolicy,
        Event,
        k8s_openapi::api::core::v1::Event,
        McpEndpoint
    );
    for s in Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        if s.name_any() != except_secret {
            out.push_str(&serde_json::to_string(&s).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn a_token_secret_that_did_not_opt_in_is_never_used() {
    let ns = test_namespace("trust-token").await;
    let admin = ns.client.clone();
    let n = ns.name.as_str();
    let op = Operator::start(&admin, config(&[n], &[])).await;
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), n);
    let value = format!("db-password-{}", kube_mcp_tests::fixture::random_suffix(12));
    plant(
        &secrets,
        json!({"metadata": {"name": "db"}, "stringData": {"password": value}}),
    )
    .await;

    create(
        &admin,
        n,
        "app",
        from(json!({"auth": {"tokenSecretRef": {"name": "db", "key": "password"}}})),
    )
    .await;
    let msg = wait_refused(&admin, n, "app", "TokenSecretNotAllowed").await;
    assert!(
        msg.contains(&format!(
            "kubectl -n {n} label secret db kubemcp.io/token-for=app"
        )),
        "{msg}"
    );
    warning_event(&admin, n, "app", "TokenSecretNotAllowed").await;
    assert!(
        Api::<Deployment>::namespaced(admin.clone(), n)
            .get_opt("app")
            .await
            .unwrap()
            .is_none()
    );
    assert!(owned_rbac(&admin, n, "app").await.is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let written = everything_in(&admin, n, "db").await;
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&value);
    assert!(
        !written.contains(&value) && !written.contains(&encoded),
        "the Secret's value leaked"
    );

    // Labelled for another endpoint: still refused.
    let label = |v: &str| json!({"metadata": {"labels": {"kubemcp.io/token-for": v}}});
    secrets
        .patch("db", &PatchParams::default(), &Patch::Merge(label("other")))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        ready(&admin, n, "app").await.unwrap().1,
        "TokenSecretNotAllowed"
    );
    // Opted in for this endpoint: used (the watch on Secrets notices the label).
    secrets
        .patch("db", &PatchParams::default(), &Patch::Merge(label("app")))
        .await
        .unwrap();
    wait_condition(&admin, n, "app", "RbacReady", "True").await;
    assert_eq!(token_volume(&admin, n, "app").await.as_deref(), Some("db"));
    op.stop().await;
    ns.delete().await;
}

#[tokio::test]
async fn dropped_tools_are_reported_not_silent() {
    use kube_mcp_catalog::tools::ToolId;
    let ns = test_namespace("trust-dropped").await;
    let admin = ns.client.clone();
    let n = ns.name.as_str();
    let op = Operator::start(&admin, config(&[n], &[])).await;
    let (get, delete) = (ToolId::KubectlGet.name(), ToolId::KubectlDelete.name());
    create(
        &admin,
        n,
        "picky",
        from(json!({"access": "ReadOnly", "tools": [get, delete]})),
    )
    .await;
    wait_condition(&admin, n, "picky", "ToolsDropped", "True").await;
    let ep = Api::<McpEndpoint>::namespaced(admin.clone(), n)
        .get("picky")
        .await
        .unwrap();
    let st = ep.status.unwrap();
    assert_eq!(st.tools, [get]);
    let c = st
        .conditions
        .iter()
        .find(|c| c.type_ == "ToolsDropped")
        .unwrap();
    assert!(
        c.message.contains(&format!(
            "{delete} is a Destructive tool, above the access ceiling ReadOnly"
        )),
        "{}",
        c.message
    );
    let note = warning_event(&admin, n, "picky", "ToolsDropped").await;
    assert!(note.contains(delete), "{note}");
    op.stop().await;
    ns.delete().await;
}

fn kubectl_out(args: &[&str]) -> String {
    let out = kubectl().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn kubectl_get_shows_why_an_endpoint_is_not_ready() {
    let ns = test_namespace("trust-columns").await;
    let admin = ns.client.clone();
    let n = ns.name.as_str();
    let op = Operator::start(&admin, config(&[n], &[])).await;
    create(&admin, n, "wants-all", from(json!({"namespaces": ["*"]}))).await;
    create(&admin, n, "fine", from(json!({"secrets": "Hidden"}))).await;
    wait_refused(&admin, n, "wants-all", "ScopeNotAllowed").await;
    wait_condition(&admin, n, "fine", "Ready", "True").await;
    let plain = kubectl_out(&["get", "mcpe", "-n", n]);
    let header: Vec<&str> = plain.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "ACCESS", "TOOLS", "READY", "REASON", "URL", "AGE"]
    );
    let row = |out: &str, name: &str| -> Vec<String> {
        let line = out.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().map(String::from).collect()
    };
    assert_eq!(row(&plain, "wants-all")[3..5], ["False", "ScopeNotAllowed"]);
    assert_eq!(row(&plain, "fine")[3..5], ["True", "Ready"]);
    let wide = kubectl_out(&["get", "mcpe", "-n", n, "-o", "wide"]);
    let header: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "ACCESS", "TOOLS", "READY", "REASON", "SCOPE", "SECRETS", "AUTH", "URL", "AGE"
        ]
    );
    assert_eq!(
        row(&wide, "fine")[5..8],
        [format!("[\"{n}\"]"), "Hidden".into(), "Generated".into()]
    );
    op.stop().await;
    ns.delete().await;
}

#[tokio::test]
async fn a_failed_verification_reads_as_one_sentence_with_its_cause() {
    let ns = test_namespace("trust-verify").await;
    let admin = ns.client.clone();
    let n = ns.name.as_str();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let map = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(map.path(), format!("refused.{n}.svc={closed}\n")).unwrap();
    let mut cfg = config(&[n], &[]);
    cfg.verify = true;
    cfg.verify_address_map = Some(map.path().to_path_buf());
    let op = Operator::start(&admin, cfg).await;
    create(&admin, n, "nodns", McpEndpointSpec::default()).await;
    create(&admin, n, "refused", McpEndpointSpec::default()).await;
    let verified = |name: &'static str| {
        let admin = admin.clone();
        async move {
            eventually(&format!("{name}: Verified=False"), || async {
                let ep = Api::<McpEndpoint>::namespaced(admin.clone(), n)
                    .get(name)
                    .await
                    .ok()?;
                let c = ep
                    .status?
                    .conditions
                    .into_iter()
                    .find(|c| c.type_ == "Verified")?;
                (c.status == "False").then_some(c.message)
            })
            .await
        }
    };
    let dns = verified("nodns").await;
    let want =
        format!("cannot reach http://nodns.{n}.svc:80/mcp: DNS lookup of nodns.{n}.svc failed (");
    assert!(dns.starts_with(&want), "{dns}");
    let refused = verified("refused").await;
    let want = format!(
        "cannot reach http://refused.{n}.svc:{}/mcp: the connection was refused (",
        closed.port()
    );
    assert!(refused.starts_with(&want), "{refused}");
    eprintln!("verification failures:\n  {dns}\n  {refused}");
    for m in [&dns, &refused] {
        assert!(!m.contains("Transport [") && !m.contains('\n'), "{m}");
    }
    op.stop().await;
    ns.delete().await;
}
