//! The operator's own account (config/rbac) writes only what it manages:
//! tried with a token of the packaged ServiceAccount, as whoever stole it would.

use super::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube_mcp_tests::{service_account_token, test_namespace};

const MANAGED: &str = r#"{"app.kubernetes.io/managed-by": "kube-mcp-operator"}"#;

fn managed() -> Value {
    serde_json::from_str(MANAGED).unwrap()
}

async fn operator_client(admin: &Client) -> Client {
    let token = service_account_token(admin, "kube-mcp-system", "kube-mcp-operator").await;
    kube_mcp_tests::client_with_token(&token).await
}

/// Creates `o` through `api` (a dry run unless `really`).
async fn create<K>(api: &Api<K>, o: K, really: bool) -> Result<(), String>
where
    K: kube::Resource + Clone + serde::Serialize + DeserializeOwned + std::fmt::Debug,
{
    outcome(api.create(&post(!really), &o).await)
}

fn server_deployment(name: &str, image: &str, sa: &str) -> Deployment {
    obj(
        json!({"metadata": {"name": name, "labels": managed()}, "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {
                "serviceAccountName": sa, "containers": [{"name": "s", "image": image}]}},
        }}),
    )
}

#[tokio::test]
async fn the_operator_account_cannot_mint_tokens_or_touch_what_it_does_not_manage() {
    install();
    let ns = test_namespace("adm-op").await;
    let n = ns.name.as_str();
    let op = operator_client(&ns.client).await;

    // The attack: a token Secret for a powerful controller, read back after.
    let grab: Secret = obj(json!({"metadata": {"name": "grab", "labels": managed(),
        "annotations": {"kubernetes.io/service-account.name": "clusterrole-aggregation-controller"}},
        "type": "kubernetes.io/service-account-token"}));
    let kube_system = Api::<Secret>::namespaced(op.clone(), "kube-system");
    let msg = denied_by("operator-writes", || {
        create(&kube_system, grab.clone(), true)
    })
    .await;
    assert!(msg.contains("may only write Opaque Secrets"), "{msg}");
    assert!(
        Api::<Secret>::namespaced(ns.client.clone(), "kube-system")
            .get_opt("grab")
            .await
            .unwrap()
            .is_none()
    );

    let secrets = Api::<Secret>::namespaced(op.clone(), n);
    let unlabelled: Secret = obj(json!({"metadata": {"name": "plain"}, "stringData": {"a": "b"}}));
    let msg = denied_by("operator-writes", || {
        create(&secrets, unlabelled.clone(), true)
    })
    .await;
    assert!(
        msg.contains(
            "may only write objects labelled app.kubernetes.io/managed-by=kube-mcp-operator"
        ),
        "{msg}"
    );
    let own: Secret = obj(
        json!({"metadata": {"name": "own", "labels": managed()}, "stringData": {"token": "x"}}),
    );
    admitted(|| create(&secrets, own.clone(), true)).await;

    // No take-over: an existing Secret does not become the operator's by labelling it.
    Api::<Secret>::namespaced(ns.client.clone(), n)
        .create(
            &PostParams::default(),
            &obj(json!({"metadata": {"name": "app-db"}, "stringData": {"p": "q"}})),
        )
        .await
        .unwrap();
    let label = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-db", "labels": managed()}});
    let ssa = PatchParams::apply("kube-mcp-operator").force();
    denied_by("operator-writes", || {
        let (secrets, label, ssa) = (secrets.clone(), label.clone(), ssa.clone());
        async move { outcome(secrets.patch("app-db", &ssa, &Patch::Apply(&label)).await) }
    })
    .await;

    // Deployments: allowed images only, running as endpoint ServiceAccounts only.
    let deployments = Api::<Deployment>::namespaced(op.clone(), n);
    let allowed = "ghcr.io/kube-mcp/kube-mcp-server:0.1.0";
    let msg = denied_by("operator-images", || {
        create(
            &deployments,
            server_deployment("evil", "evil.example/x:1", "kube-mcp.ep"),
            true,
        )
    })
    .await;
    assert!(
        msg.contains(&format!("allowedImages: {allowed}), not evil.example/x:1")),
        "{msg}"
    );
    let msg = denied_by("operator-writes", || {
        create(
            &deployments,
            server_deployment("as-default", allowed, "default"),
            true,
        )
    })
    .await;
    assert!(
        msg.contains("may only run Deployments as kube-mcp.* ServiceAccounts"),
        "{msg}"
    );
    admitted(|| {
        create(
            &deployments,
            server_deployment("server", allowed, "kube-mcp.ep"),
            true,
        )
    })
    .await;
    // Nor delete one it does not manage.
    Api::<Deployment>::namespaced(ns.client.clone(), n)
        .create(
            &PostParams::default(),
            &server_deployment("app", "busybox", "default"),
        )
        .await
        .unwrap();
    let unmanage = json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": null}}});
    Api::<Deployment>::namespaced(ns.client.clone(), n)
        .patch("app", &PatchParams::default(), &Patch::Merge(&unmanage))
        .await
        .unwrap();
    denied_by("operator-writes", || {
        let deployments = deployments.clone();
        async move {
            outcome(
                deployments
                    .delete(
                        "app",
                        &DeleteParams {
                            dry_run: true,
                            ..Default::default()
                        },
                    )
                    .await,
            )
        }
    })
    .await;

    // Bindings: only endpoint ServiceAccounts, only to the Role of the same name.
    let roles = Api::<Role>::namespaced(op.clone(), n);
    let role: Role = obj(json!({"metadata": {"name": "ep", "labels": managed()},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}));
    admitted(|| create(&roles, role.clone(), true)).await;
    let bindings = Api::<RoleBinding>::namespaced(op.clone(), n);
    let binding = |subject: Value, role: &str| -> RoleBinding {
        obj(json!({"metadata": {"name": "ep", "labels": managed()},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [subject]}))
    };
    let user = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"});
    let msg = denied_by("operator-writes", || {
        create(&bindings, binding(user.clone(), "ep"), true)
    })
    .await;
    assert!(
        msg.contains("may only bind kube-mcp.* ServiceAccounts"),
        "{msg}"
    );
    let sa = json!({"kind": "ServiceAccount", "name": "kube-mcp.ep", "namespace": n});
    let msg = denied_by("operator-writes", || {
        create(&bindings, binding(sa.clone(), "reader"), true)
    })
    .await;
    assert!(
        msg.contains("may only bind the role named like the binding"),
        "{msg}"
    );

    // Every other kind it writes: only with its label.
    let sas = Api::<ServiceAccount>::namespaced(op.clone(), n);
    denied_by("operator-writes", || {
        create(&sas, obj(json!({"metadata": {"name": "kube-mcp.x"}})), true)
    })
    .await;
    let svcs = Api::<Service>::namespaced(op.clone(), n);
    let svc: Service = obj(json!({"metadata": {"name": "x"}, "spec": {"ports": [{"port": 80}]}}));
    denied_by("operator-writes", || create(&svcs, svc.clone(), true)).await;
    ns.delete().await;
}

/// With the opt-in escalate/bind (config/full-access), RBAC no longer stops
/// the operator's account from binding powerful roles; the policy still does.
#[tokio::test]
async fn with_full_access_the_operator_account_still_binds_only_its_own_roles() {
    install();
    let mut overlay = kubectl();
    overlay.args([
        "apply",
        "--server-side",
        "-f",
        "config/full-access/escalate_role.yaml",
    ]);
    run(overlay);
    let ns = test_namespace("adm-full").await;
    let n = ns.name.as_str();
    let op = operator_client(&ns.client).await;
    let sa = json!([{"kind": "ServiceAccount", "name": "kube-mcp.ep", "namespace": n}]);

    let crbs = Api::<ClusterRoleBinding>::all(op.clone());
    let crb = |name: &str, role: &str| -> ClusterRoleBinding {
        obj(json!({"metadata": {"name": name, "labels": managed()},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": sa}))
    };
    let msg = denied_by("operator-writes", || {
        create(&crbs, crb("admin", "admin"), true)
    })
    .await;
    assert!(
        msg.contains("may only name cluster-wide RBAC objects kube-mcp:*"),
        "{msg}"
    );
    let name = format!("kube-mcp:{n}:ep");
    denied_by("operator-writes", || {
        create(&crbs, crb(&name, "cluster-admin"), true)
    })
    .await;
    let edit: RoleBinding = obj(json!({"metadata": {"name": "edit", "labels": managed()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": sa}));
    let rbs = Api::<RoleBinding>::namespaced(op.clone(), n);
    denied_by("operator-writes", || create(&rbs, edit.clone(), true)).await;
    let aggregated: ClusterRole = obj(
        json!({"metadata": {"name": format!("kube-mcp:{n}:agg"), "labels": managed()},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}]}}),
    );
    let crs = Api::<ClusterRole>::all(op.clone());
    let msg = denied_by("operator-writes", || create(&crs, aggregated.clone(), true)).await;
    assert!(
        msg.contains("may not write aggregated ClusterRoles"),
        "{msg}"
    );
    // What the operator does write for a Full endpoint still goes through.
    let own: ClusterRole = obj(json!({"metadata": {"name": name, "labels": managed()},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}));
    admitted(|| create(&crs, own.clone(), true)).await;
    admitted(|| create(&crbs, crb(&name, &name), true)).await;
    let mut remove = kubectl();
    remove.args(["delete", "-f", "config/full-access/escalate_role.yaml"]);
    run(remove);
    ns.delete().await;
}
