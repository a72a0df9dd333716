//! An McpEndpoint never grants more than its creator holds.

use super::*;
use kube::api::Patch;
use kube_mcp_tests::test_namespace;

/// A Role letting its subjects create and edit McpEndpoints in `ns`, nothing else.
fn endpoint_editor(ns: &str, user: &str) -> String {
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": format!("mcpe-{user}"), "namespace": ns},
         "rules": [{"apiGroups": ["kubemcp.io"], "resources": ["mcpendpoints"],
                    "verbs": ["get", "list", "create", "update", "patch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": format!("mcpe-{user}"), "namespace": ns},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": format!("mcpe-{user}")},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]},
    ]})
    .to_string()
}

fn bind_cluster_role(ns: Option<&str>, role: &str, user: &str) -> String {
    let kind = if ns.is_some() {
        "RoleBinding"
    } else {
        "ClusterRoleBinding"
    };
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
        "metadata": {"name": format!("{role}-{user}"), "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})
    .to_string()
}

#[tokio::test]
async fn a_user_who_can_only_create_endpoints_gets_no_more_than_read_only_hidden() {
    install();
    let ns = test_namespace("adm-creator").await;
    let user = format!("alice-{}", ns.name);
    admin_apply(&endpoint_editor(&ns.name, &user));
    let alice = impersonating(&user, &[]).await;
    let n = ns.name.as_str();

    let masked = denied_by("endpoint-secrets", || {
        create_endpoint(
            &alice,
            n,
            "ep",
            json!({"access": "ReadOnly", "secrets": "Masked"}),
            true,
        )
    })
    .await;
    assert!(
        masked.contains(&format!("Secrets in namespace {n}"))
            && masked.contains("must hold get on secrets there")
            && masked.contains(&user)
            && masked.contains("Set spec.secrets: Hidden"),
        "{masked}"
    );
    let write = denied_by("endpoint-writes", || {
        create_endpoint(
            &alice,
            n,
            "ep",
            json!({"access": "NonDestructive", "secrets": "Hidden"}),
            true,
        )
    })
    .await;
    assert!(
        write.contains("must hold create on deployments.apps there"),
        "{write}"
    );
    let image = denied_by("endpoint-writes", || {
        create_endpoint(
            &alice,
            n,
            "ep",
            json!({"secrets": "Hidden", "image": "example.com/mine:1"}),
            true,
        )
    })
    .await;
    assert!(
        image.contains("use on mcpendpoints/image (kubemcp.io)"),
        "{image}"
    );
    let wide = denied_by("endpoint-secrets", || {
        create_endpoint(&alice, n, "ep", json!({"namespaces": ["*"]}), true)
    })
    .await;
    assert!(wide.contains("Secrets cluster-wide"), "{wide}");

    // What alice holds nothing extra for: a ReadOnly endpoint that cannot read Secrets.
    admitted(|| {
        create_endpoint(
            &alice,
            n,
            "ep",
            json!({"access": "ReadOnly", "secrets": "Hidden"}),
            false,
        )
    })
    .await;
    ns.delete().await;
}

#[tokio::test]
async fn a_namespace_admin_is_admitted_in_their_namespace_only() {
    install();
    let ns = test_namespace("adm-admin").await;
    let other = test_namespace("adm-other").await;
    let user = format!("bob-{}", ns.name);
    admin_apply(&endpoint_editor(&ns.name, &user));
    admin_apply(&bind_cluster_role(Some(&ns.name), "admin", &user));
    let bob = impersonating(&user, &[]).await;
    let n = ns.name.as_str();

    let reach = json!({"secrets": "Visible", "namespaces": [n, other.name]});
    let msg = denied_by("endpoint-secrets", || {
        create_endpoint(&bob, n, "wide", reach.clone(), true)
    })
    .await;
    assert!(
        msg.contains(&format!("in namespace {}", other.name)),
        "{msg}"
    );
    let image = json!({"access": "Full", "image": "example.com/mine:1"});
    denied_by("endpoint-writes", || {
        create_endpoint(&bob, n, "img", image.clone(), true)
    })
    .await;

    admitted(|| {
        create_endpoint(
            &bob,
            n,
            "full",
            json!({"access": "Full", "secrets": "Visible"}),
            false,
        )
    })
    .await;
    // The image override is its own permission, which admin does not include.
    admin_apply(
        &json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": "mcpe-image", "namespace": n},
             "rules": [{"apiGroups": ["kubemcp.io"], "resources": ["mcpendpoints/image"], "verbs": ["use"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": "mcpe-image", "namespace": n},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "mcpe-image"},
             "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]},
        ]})
        .to_string(),
    );
    admitted(|| create_endpoint(&bob, n, "img", image.clone(), false)).await;
    ns.delete().await;
    other.delete().await;
}

/// The reviews `spec.auth` makes the server's ServiceAccount hold are
/// cluster-wide rights: a namespace admin holds neither, so may not hand them out.
#[tokio::test]
async fn identity_modes_need_their_creator_to_hold_the_reviews() {
    install();
    let ns = test_namespace("adm-reviews").await;
    let user = format!("dave-{}", ns.name);
    admin_apply(&endpoint_editor(&ns.name, &user));
    admin_apply(&bind_cluster_role(Some(&ns.name), "admin", &user));
    let dave = impersonating(&user, &[]).await;
    let n = ns.name.as_str();
    let auth = |auth: Value| json!({"secrets": "Hidden", "auth": auth});

    let kubernetes = auth(json!({"modes": ["Token", "Kubernetes"]}));
    let msg = denied_by("endpoint-reviews", || {
        create_endpoint(&dave, n, "sa", kubernetes.clone(), true)
    })
    .await;
    assert!(
        msg.contains("modes includes Kubernetes")
            && msg
                .contains("must hold create on tokenreviews.authentication.k8s.io (cluster-wide)")
            && msg.contains(&user)
            && msg.contains("Remove Kubernetes from spec.auth.modes"),
        "{msg}"
    );
    let oidc = json!({"issuerURL": "https://idp.example.com"});
    let caller = auth(json!({"modes": ["Oidc"], "oidc": oidc, "authorize": "Caller"}));
    let msg = denied_by("endpoint-reviews", || {
        create_endpoint(&dave, n, "caller", caller.clone(), true)
    })
    .await;
    assert!(
        msg.contains("must hold create on subjectaccessreviews.authorization.k8s.io")
            && msg.contains("Set spec.auth.authorize: Endpoint"),
        "{msg}"
    );
    // Oidc alone makes no review: nothing more to hold.
    let oidc_only = auth(json!({"modes": ["Oidc"], "oidc": oidc}));
    admitted(|| create_endpoint(&dave, n, "oidc", oidc_only.clone(), true)).await;
    // system:auth-delegator holds both reviews.
    admin_apply(&bind_cluster_role(None, "system:auth-delegator", &user));
    admitted(|| create_endpoint(&dave, n, "sa", kubernetes.clone(), true)).await;
    admitted(|| create_endpoint(&dave, n, "caller", caller.clone(), true)).await;
    kubectl()
        .args([
            "delete",
            "clusterrolebinding",
            &format!("system:auth-delegator-{user}"),
        ])
        .output()
        .unwrap();
    ns.delete().await;
}

#[tokio::test]
async fn metadata_edits_are_not_checked_again_but_spec_edits_are() {
    install();
    let ns = test_namespace("adm-update").await;
    let user = format!("carol-{}", ns.name);
    admin_apply(&endpoint_editor(&ns.name, &user));
    let n = ns.name.as_str();
    // Created by an admin; carol may edit McpEndpoints but holds nothing they grant.
    create_endpoint(
        &ns.client,
        n,
        "ep",
        json!({"access": "ReadOnly", "secrets": "Visible"}),
        false,
    )
    .await
    .unwrap();
    let carol = impersonating(&user, &[]).await;
    let api = endpoints(&carol, n);
    let patch = |p: Value, dry_run: bool| {
        let api = api.clone();
        let pp = patch_params(dry_run);
        async move { outcome(api.patch("ep", &pp, &Patch::Merge(&p)).await) }
    };
    denied_by("endpoint-secrets", || {
        patch(json!({"spec": {"replicas": 2}}), true)
    })
    .await;
    // Labels, annotations, finalizers (Argo CD, the operator): never checked.
    let meta = json!({"metadata": {"labels": {"team": "a"}, "finalizers": ["example.com/keep"]}});
    admitted(|| patch(meta.clone(), false)).await;
    admitted(|| patch(json!({"metadata": {"finalizers": null}}), false)).await;
    ns.delete().await;
}

/// The CRD caps spec.namespaces where every policy stays under CEL's cost
/// budget: a list at the cap, for a user who holds everything, is admitted
/// (3 policies making 20, 21 and 10 authorizer checks).
#[tokio::test]
async fn a_namespace_list_at_the_cap_is_admitted_for_a_user_who_holds_everything() {
    install();
    let ns = test_namespace("adm-cap").await;
    let n = ns.name.as_str();
    let holder = format!("dave-{n}");
    let creator = format!("erin-{n}");
    admin_apply(&bind_cluster_role(None, "cluster-admin", &holder));
    admin_apply(&endpoint_editor(n, &creator));
    let cap = kube_mcp_operator_cap();
    let spaces: Vec<String> = (0..cap).map(|i| format!("{n}-{i}")).collect();
    let spec = |spaces: &[String]| json!({"access": "Full", "secrets": "Visible", "image": "example.com/mine:1", "namespaces": spaces});
    // Each policy checks every index: a creator short of one permission is
    // refused by the policy that checks it (which also shows it is loaded)...
    let erin = impersonating(&creator, &[]).await;
    let with = |access: &str, secrets: &str| json!({"access": access, "secrets": secrets, "namespaces": spaces});
    denied_by("endpoint-secrets", || {
        create_endpoint(&erin, n, "cap", with("ReadOnly", "Visible"), true)
    })
    .await;
    denied_by("endpoint-writes", || {
        create_endpoint(&erin, n, "cap", with("NonDestructive", "Hidden"), true)
    })
    .await;
    admin_apply(&json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": format!("deployer-{creator}")},
         "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "patch"]}]},
    ]}).to_string());
    admin_apply(&bind_cluster_role(
        None,
        &format!("deployer-{creator}"),
        &creator,
    ));
    let msg = denied_by("endpoint-deletes", || {
        create_endpoint(&erin, n, "cap", with("Full", "Hidden"), true)
    })
    .await;
    assert!(
        msg.contains(&format!("in namespace {n}-0; its creator must hold delete")),
        "{msg}"
    );
    // ...and one holding everything passes all 51 checks within the budget.
    let dave = impersonating(&holder, &[]).await;
    let start = Instant::now();
    admitted(|| create_endpoint(&dave, n, "cap", spec(&spaces), false)).await;
    eprintln!(
        "an endpoint at the cap ({cap} namespaces) admitted in {:?}",
        start.elapsed()
    );
    let mut over = spaces.clone();
    over.push(format!("{n}-{cap}"));
    let err = create_endpoint(&dave, n, "over", spec(&over), true)
        .await
        .unwrap_err();
    assert!(
        err.contains(&format!("must have at most {cap} items")),
        "{err}"
    );
    ns.delete().await;
}

/// The cap, as the generated CRD states it.
fn kube_mcp_operator_cap() -> usize {
    let crd: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo().join("crds/mcpendpoints.kubemcp.io.yaml")).unwrap(),
    )
    .unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    spec["properties"]["namespaces"]["maxItems"]
        .as_u64()
        .unwrap() as usize
}
