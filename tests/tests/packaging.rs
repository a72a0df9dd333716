//! Packaging and GitOps: the kustomize layout (config/), the Helm chart
//! (charts/kube-mcp), the Argo CD health check (config/argocd), and the
//! installed operator's RBAC, checked against the real local control plane.
//!
//! The operator tests run the `kube-mcp-operator` binary as a local process
//! (there is no container runtime) with a kubeconfig holding a token of the
//! ServiceAccount config/default installs, so it has exactly the RBAC the
//! packaging grants. Each such test watches only its own namespace, so tests
//! running in parallel do not fight over endpoints.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Api, Client};
use serde_json::Value;

use kube_mcp_tests::installed::InstalledOperator;
use kube_mcp_tests::{cluster, kubectl, test_namespace};

// ---- helpers ---------------------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    let p = repo().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn helm() -> Command {
    let mut c = Command::new(cluster().bin_dir().join("helm"));
    // No user state leaks in (repositories, plugins, registry logins).
    let home = std::env::temp_dir().join(format!("kube-mcp-helm-{}", std::process::id()));
    c.env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .current_dir(repo());
    c
}

fn show(cmd: &Command, out: &Output) -> String {
    format!(
        "{:?} -> {}\nstdout:\n{}\nstderr:\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd` (optionally feeding `stdin`) and returns its output.
fn run(mut cmd: Command, stdin: Option<&str>) -> (Command, Output) {
    cmd.current_dir(repo())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(input.as_bytes()).expect("writing stdin");
    }
    let out = child.wait_with_output().expect("waiting for the command");
    (cmd, out)
}

/// Runs `cmd` and panics with its output unless it succeeds; returns stdout.
fn ok(cmd: Command, stdin: Option<&str>) -> String {
    let (cmd, out) = run(cmd, stdin);
    assert!(out.status.success(), "command failed: {}", show(&cmd, &out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kubectl_args(args: &[&str]) -> Command {
    let mut c = kubectl();
    c.args(args);
    c
}

/// Splits a multi-document YAML stream into JSON values (empty documents dropped).
fn yaml_docs(text: &str) -> Vec<Value> {
    let mut docs = vec![];
    let mut cur = String::new();
    let mut flush = |cur: &mut String| {
        if cur
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        {
            let v: Value = serde_saphyr::from_str(cur)
                .unwrap_or_else(|e| panic!("parsing YAML document: {e}\n{cur}"));
            if !v.is_null() {
                docs.push(v);
            }
        }
        cur.clear();
    };
    for line in text.lines() {
        if line.trim_end() == "---" {
            flush(&mut cur);
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    flush(&mut cur);
    docs
}

fn find<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

async fn eventually<T, F, Fut>(what: &str, within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < within {
        match f().await {
            Ok(v) => return v,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out after {within:?} waiting for {what}: {last}");
}

fn endpoint_api(client: &Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("kubemcp.io", "v1alpha1", "McpEndpoint");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "mcpendpoints");
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn ready_condition(ep: &DynamicObject) -> Option<Value> {
    ep.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
        .cloned()
}

/// Installs config/default (namespace, CRD, RBAC, operator Deployment) with
/// server-side apply and waits until the CRD is established.
fn install_default() {
    ok(
        kubectl_args(&["apply", "--server-side", "-k", "config/default"]),
        None,
    );
    ok(
        kubectl_args(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/mcpendpoints.kubemcp.io",
        ]),
        None,
    );
}

// ---- files that must agree with each other ----------------------------------

const CRD: &str = "crds/mcpendpoints.kubemcp.io.yaml";

#[test]
fn crd_copies_equal_the_generated_crd() {
    let generated = read(CRD);
    assert!(
        !generated.trim().is_empty(),
        "{CRD} is empty: generate it with `cargo run -p kube-mcp-operator -- crd > {CRD}`"
    );
    for copy in [
        "config/crd/mcpendpoints.kubemcp.io.yaml",
        "charts/kube-mcp/crds/mcpendpoints.kubemcp.io.yaml",
    ] {
        assert!(
            read(copy) == generated,
            "{copy} differs from {CRD}: run config/crd/sync.sh"
        );
    }
}

#[test]
fn argocd_cm_inlines_health_lua() {
    let cm = yaml_docs(&read("config/argocd/argocd-cm.yaml"));
    assert_eq!(cm.len(), 1);
    assert_eq!(cm[0]["kind"], "ConfigMap");
    assert_eq!(cm[0]["metadata"]["name"], "argocd-cm");
    let inlined = cm[0]["data"]["resource.customizations.health.kubemcp.io_McpEndpoint"]
        .as_str()
        .expect("argocd-cm.yaml has no resource.customizations.health.kubemcp.io_McpEndpoint");
    assert!(
        inlined == read("config/argocd/health.lua"),
        "the script inlined in config/argocd/argocd-cm.yaml differs from health.lua: run config/argocd/sync.sh"
    );
}

/// The health check as Argo CD runs an argocd-cm customization: gopher-lua
/// without the standard libraries (tests/argocd/main.go, built by
/// tests/argocd/build.sh), on every case of health_test.yaml.
#[test]
fn argocd_health_check_returns_the_expected_status_for_each_sample() {
    let mut build = Command::new("bash");
    build.arg("tests/argocd/build.sh");
    let bin = ok(build, None)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let mut cmd = Command::new(bin);
    cmd.arg("config/argocd");
    let (cmd, out) = run(cmd, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "health check cases failed: {}",
        show(&cmd, &out)
    );
    let cases = std::fs::read_dir(repo().join("config/argocd/testdata"))
        .unwrap()
        .count();
    assert!(
        stdout.contains(&format!("{cases} case(s), 0 failure(s)")),
        "every file of config/argocd/testdata must be a case of health_test.yaml:\n{stdout}"
    );
}

// ---- Helm ----------------------------------------------------------------

#[test]
fn helm_lint_is_clean() {
    for extra in [
        &[][..],
        &[
            "--set",
            "rbac.allowFullAccess=true",
            "--set",
            "policy.maxAccess=Full",
        ][..],
        &[
            "--set",
            "serviceMonitor.enabled=true",
            "--set",
            "policy.adminNamespaces={ops,platform}",
        ][..],
    ] {
        let mut cmd = helm();
        cmd.args(["lint", "--strict", "charts/kube-mcp"])
            .args(extra);
        let out = ok(cmd, None);
        assert!(out.contains("0 chart(s) failed"), "{out}");
        assert!(
            !out.contains("[WARNING]") && !out.contains("[ERROR]"),
            "{out}"
        );
    }
}

fn helm_template(args: &[&str]) -> Result<String, String> {
    let mut cmd = helm();
    cmd.args([
        "template",
        "kube-mcp",
        "charts/kube-mcp",
        "--namespace",
        "kube-mcp-system",
    ])
    .args(args);
    let (cmd, out) = run(cmd, None);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(show(&cmd, &out))
    }
}

#[test]
fn chart_rbac_equals_the_kustomize_rbac() {
    let chart = yaml_docs(&helm_template(&[]).unwrap());
    let kustomize = yaml_docs(&read("config/rbac/cluster_role.yaml"));
    let chart_role = find(&chart, "ClusterRole");
    assert_eq!(chart_role.len(), 1);
    assert_eq!(chart_role[0]["metadata"]["name"], "kube-mcp-operator");
    assert_eq!(
        chart_role[0]["rules"], kustomize[0]["rules"],
        "charts/kube-mcp/templates/clusterrole.yaml and config/rbac/cluster_role.yaml must grant the same rules"
    );
    let escalates = |rules: &Value| {
        rules.as_array().unwrap().iter().any(|r| {
            r["verbs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == "escalate" || v == "bind")
        })
    };
    assert!(
        !escalates(&chart_role[0]["rules"]),
        "escalate/bind must be opt-in"
    );
    // rbac.allowFullAccess adds exactly escalate + bind on roles and clusterroles,
    // like the config/full-access overlay.
    let full = yaml_docs(
        &helm_template(&[
            "--set",
            "rbac.allowFullAccess=true",
            "--set",
            "policy.maxAccess=Full",
        ])
        .unwrap(),
    );
    let full_rules = find(&full, "ClusterRole")[0]["rules"]
        .as_array()
        .unwrap()
        .clone();
    let extra: Vec<_> = full_rules[kustomize[0]["rules"].as_array().unwrap().len()..].to_vec();
    let overlay = yaml_docs(&ok(
        kubectl_args(&["kustomize", "config/full-access"]),
        None,
    ));
    let overlay_role = find(&overlay, "ClusterRole")
        .into_iter()
        .find(|r| r["metadata"]["name"] == "kube-mcp-operator-escalate")
        .expect("config/full-access has the escalate ClusterRole");
    assert_eq!(Value::Array(extra), overlay_role["rules"]);
    let deploy = find(&overlay, "Deployment")[0];
    let env = deploy["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == "KUBE_MCP_MAX_ACCESS" && e["value"] == "Full"),
        "the full-access overlay raises the ceiling: {env:?}"
    );
}

/// The policies the chart renders are config/admission's, with the
/// release's names; `admission.enabled=false` renders none.
#[test]
fn chart_admission_equals_the_kustomize_admission() {
    let is_policy = |d: &&Value| {
        d["apiVersion"] == "admissionregistration.k8s.io/v1"
            && d["kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("ValidatingAdmissionPolicy"))
    };
    // Helm orders objects by kind: compare by (kind, name).
    let keyed = |docs: Vec<&Value>| -> std::collections::BTreeMap<(String, String), Value> {
        docs.into_iter()
            .map(|d| {
                let key = (
                    d["kind"].as_str().unwrap().to_string(),
                    d["metadata"]["name"].as_str().unwrap().to_string(),
                );
                (key, d.clone())
            })
            .collect()
    };
    let kustomize = yaml_docs(&read("config/admission/policies.yaml"));
    let kustomize = keyed(kustomize.iter().collect());
    let chart = yaml_docs(&helm_template(&[]).unwrap());
    let chart = keyed(chart.iter().filter(is_policy).collect());
    assert_eq!(
        kustomize.keys().collect::<Vec<_>>(),
        chart.keys().collect::<Vec<_>>()
    );
    for (key, k) in &kustomize {
        assert!(
            k == &chart[key],
            "{key:?} differs between config/admission and the chart"
        );
    }
    assert!(kustomize.len() >= 12, "{} objects", kustomize.len());

    let mut other = helm();
    other.args([
        "template",
        "team",
        "charts/kube-mcp",
        "--namespace",
        "ops",
        "--set",
        "serviceAccount.name=op",
    ]);
    let other = yaml_docs(&ok(other, None));
    let other: Vec<&Value> = other.iter().filter(is_policy).collect();
    assert_eq!(other.len(), kustomize.len());
    for d in &other {
        let name = d["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("team-kube-mcp-operator-"), "{name}");
    }
    let text = serde_json::to_string(&other).unwrap();
    assert!(
        text.contains("request.userInfo.username == 'system:serviceaccount:ops:op'"),
        "{text}"
    );
    assert!(
        text.contains(r#""name":"team-kube-mcp-operator-policy","namespace":"ops""#),
        "{text}"
    );

    let off = yaml_docs(&helm_template(&["--set", "admission.enabled=false"]).unwrap());
    assert_eq!(off.iter().filter(is_policy).count(), 0);
}

/// One image list for the operator and the admission policy, in both packages.
#[test]
fn the_operator_and_the_policy_read_the_same_allowed_images() {
    let check = |docs: &[Value], want: &str| {
        let cm = find(docs, "ConfigMap")
            .into_iter()
            .find(|c| c["metadata"]["name"] == "kube-mcp-operator-policy")
            .expect("the policy ConfigMap");
        assert_eq!(cm["data"]["allowedImages"], want);
        let deploy = find(docs, "Deployment")[0];
        let env = deploy["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap();
        let from = env
            .iter()
            .find(|e| e["name"] == "KUBE_MCP_ALLOWED_IMAGES")
            .map(|e| e["valueFrom"]["configMapKeyRef"].clone());
        assert_eq!(
            from,
            Some(serde_json::json!({"name": "kube-mcp-operator-policy", "key": "allowedImages"}))
        );
        let binding = find(docs, "ValidatingAdmissionPolicyBinding")
            .into_iter()
            .find(|b| b["spec"]["paramRef"].is_object())
            .expect("a binding with params");
        assert_eq!(
            binding["spec"]["paramRef"]["name"],
            "kube-mcp-operator-policy"
        );
        assert_eq!(binding["spec"]["paramRef"]["namespace"], "kube-mcp-system");
    };
    let server = "ghcr.io/kube-mcp/kube-mcp-server:0.1.0";
    check(
        &yaml_docs(&ok(kubectl_args(&["kustomize", "config/default"]), None)),
        server,
    );
    check(&yaml_docs(&helm_template(&[]).unwrap()), server);
    check(
        &yaml_docs(
            &helm_template(&["--set", "policy.allowedImages={registry.example/mcp/*}"]).unwrap(),
        ),
        &format!("{server},registry.example/mcp/*"),
    );
}

#[test]
fn chart_renders_values_into_operator_flags() {
    let docs = yaml_docs(
        &helm_template(&[
            "--set",
            "rbac.allowFullAccess=true",
            "--set",
            "policy.maxAccess=NonDestructive",
            "--set",
            "policy.adminNamespaces={ops,platform}",
            "--set",
            "watchNamespaces={team-a,team-b}",
            "--set",
            "policy.networkPolicies=false",
            "--set",
            "image.tag=9.9.9",
            "--set",
            "serviceMonitor.enabled=true",
        ])
        .unwrap(),
    );
    let deploy = find(&docs, "Deployment")[0];
    assert_eq!(deploy["spec"]["strategy"]["type"], "Recreate");
    let c = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "ghcr.io/kube-mcp/kube-mcp-operator:9.9.9");
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for want in [
        "run",
        "--max-access=NonDestructive",
        "--admin-namespaces=ops,platform",
        "--watch-namespaces=team-a,team-b",
        "--network-policies=false",
        "--allow-cluster-reads=true",
        // The server image follows the chart's appVersion, not image.tag.
        "--server-image=ghcr.io/kube-mcp/kube-mcp-server:0.1.0",
    ] {
        assert!(args.contains(&want), "{want} missing from {args:?}");
    }
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["securityContext"]["runAsUser"],
        65532
    );
    let sm = find(&docs, "ServiceMonitor");
    assert_eq!(sm.len(), 1);
    assert_eq!(sm[0]["apiVersion"], "monitoring.coreos.com/v1");
    // Off by default.
    assert!(find(&yaml_docs(&helm_template(&[]).unwrap()), "ServiceMonitor").is_empty());
}

/// The operator's defaults for endpoints (audit level, traces) become its
/// flags, which the operator's own parser accepts; the dashboard is a
/// ConfigMap for Grafana's sidecar only when asked for.
#[test]
fn chart_renders_endpoint_defaults_and_the_dashboard() {
    let args_of = |docs: &[Value]| -> Vec<String> {
        find(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    let default = yaml_docs(&helm_template(&[]).unwrap());
    let args = args_of(&default);
    for want in [
        "--default-audit-level=metadata",
        "--otel-service-name=kube-mcp/{namespace}/{name}",
    ] {
        assert!(
            args.iter().any(|a| a == want),
            "{want} missing from {args:?}"
        );
    }
    assert!(!args.iter().any(|a| a.starts_with("--otlp")), "{args:?}");
    assert!(find(&default, "ConfigMap").iter().all(|c| {
        !c["metadata"]["name"]
            .as_str()
            .unwrap()
            .ends_with("-dashboard")
    }));

    let docs = yaml_docs(
        &helm_template(&[
            "--set",
            "operator.defaultAuditLevel=request",
            "--set",
            "operator.otlpEndpoint=http://otel.obs.svc:4317",
            "--set",
            "operator.otlpCollector.namespace=obs",
            "--set",
            "operator.otlpCollector.podLabels.app=otel",
            "--set",
            "operator.otlpCollector.podLabels.tier=collector",
            "--set",
            "grafanaDashboard.enabled=true",
            "--set",
            "grafanaDashboard.namespace=monitoring",
        ])
        .unwrap(),
    );
    let args = args_of(&docs);
    for want in [
        "--default-audit-level=request",
        "--otlp-endpoint=http://otel.obs.svc:4317",
        "--otlp-collector-namespace=obs",
        "--otlp-collector-pod-labels=app=otel,tier=collector",
    ] {
        assert!(
            args.iter().any(|a| a == want),
            "{want} missing from {args:?}"
        );
    }
    // The operator parses them: its flags are global, so `crd` takes them and exits.
    let mut op = Command::new(kube_mcp_tests::bins::path("kube-mcp-operator"));
    op.arg("crd")
        .args(args.iter().filter(|a| a.starts_with("--")));
    ok(op, None);
    let board = find(&docs, "ConfigMap")
        .into_iter()
        .find(|c| {
            c["metadata"]["name"]
                .as_str()
                .unwrap()
                .ends_with("-dashboard")
        })
        .expect("the dashboard ConfigMap");
    assert_eq!(board["metadata"]["namespace"], "monitoring");
    assert_eq!(board["metadata"]["labels"]["grafana_dashboard"], "1");
    let json = board["data"]["kube-mcp-dashboard.json"].as_str().unwrap();
    assert_eq!(
        json.trim_end(),
        read("config/grafana/kube-mcp-dashboard.json").trim_end()
    );
    for (value, why) in [
        ("operator.defaultAuditLevel=verbose", "value must be one of"),
        ("operator.otlpEndpoint=otel:4317", "does not match pattern"),
    ] {
        let err = helm_template(&["--set", value]).expect_err(value);
        assert!(err.contains(why), "{value}: expected {why:?} in\n{err}");
    }
}

#[test]
fn chart_refuses_values_it_cannot_honour() {
    for (args, why) in [
        (
            &["--set", "policy.maxAccess=Admin"][..],
            "value must be one of",
        ),
        (
            &["--set", "policy.maxAccess=Full"][..],
            "rbac.allowFullAccess=true",
        ),
        (
            &["--set", "policy.maxAccess=NonDestructive"][..],
            "rbac.allowFullAccess=true",
        ),
        (&["--set", "replicas=2"][..], "leaderElection.enabled=true"),
        (
            &["--set", "serviceAccount.create=false"][..],
            "serviceAccount.create=false needs serviceAccount.name",
        ),
        (&["--set", "unknownValue=1"][..], "unknownValue"),
    ] {
        let err = helm_template(args).expect_err(&format!("{args:?} must be refused"));
        assert!(err.contains(why), "{args:?}: expected {why:?} in\n{err}");
    }
    let ha = helm_template(&[
        "--set",
        "leaderElection.enabled=true",
        "--set",
        "replicas=2",
    ])
    .expect("two replicas with leader election render");
    assert!(
        ha.contains("--leader-elect=true") && ha.contains("type: RollingUpdate"),
        "{ha}"
    );
}

#[test]
fn helm_template_applies_with_server_dry_run() {
    let ns = "kube-mcp-chart-dry-run";
    let _ = run(kubectl_args(&["create", "namespace", ns]), None);
    for extra in [
        &[][..],
        &[
            "--set",
            "rbac.allowFullAccess=true",
            "--set",
            "policy.maxAccess=Full",
        ][..],
    ] {
        let mut cmd = helm();
        cmd.args([
            "template",
            "kube-mcp",
            "charts/kube-mcp",
            "--include-crds",
            "--namespace",
            ns,
        ])
        .args(extra);
        let manifests = ok(cmd, None);
        // --force-conflicts: the cluster-scoped objects (ClusterRole, policies)
        // share their names with config/default's, installed by other tests.
        let out = ok(
            kubectl_args(&[
                "apply",
                "--server-side",
                "--force-conflicts",
                "--dry-run=server",
                "-f",
                "-",
            ]),
            Some(&manifests),
        );
        for kind in [
            "customresourcedefinition.apiextensions.k8s.io/mcpendpoints.kubemcp.io",
            "configmap/kube-mcp-operator-policy",
            "validatingadmissionpolicy.admissionregistration.k8s.io/kube-mcp-operator-endpoint-secrets",
            "validatingadmissionpolicybinding.admissionregistration.k8s.io/kube-mcp-operator-operator-images",
            "serviceaccount/kube-mcp-operator",
            "clusterrole.rbac.authorization.k8s.io/kube-mcp-operator",
            "clusterrolebinding.rbac.authorization.k8s.io/kube-mcp-operator",
            "deployment.apps/kube-mcp-operator",
            "service/kube-mcp-operator-metrics",
        ] {
            assert!(out.contains(kind), "{kind} not in the dry run:\n{out}");
        }
    }
}

// ---- kustomize -------------------------------------------------------------

#[tokio::test]
async fn kustomize_default_installs_the_operator() {
    install_default();
    let client = kube_mcp_tests::admin_client().await;
    let ns = "kube-mcp-system";
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .get("kube-mcp-operator")
        .await
        .unwrap();
    Api::<Service>::namespaced(client.clone(), ns)
        .get("kube-mcp-operator-metrics")
        .await
        .unwrap();
    let role = Api::<ClusterRole>::all(client.clone())
        .get("kube-mcp-operator")
        .await
        .unwrap();
    assert!(
        !role.rules.unwrap_or_default().iter().any(|r| r
            .verbs
            .iter()
            .any(|v| v == "escalate" || v == "bind" || v == "*")),
        "the default install must not hold escalate, bind or wildcard verbs"
    );
    let d = Api::<Deployment>::namespaced(client.clone(), ns)
        .get("kube-mcp-operator")
        .await
        .unwrap();
    let spec = d.spec.unwrap();
    assert_eq!(spec.replicas, Some(1));
    assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("Recreate"));
    let pod = spec.template.spec.unwrap();
    assert_eq!(
        pod.service_account_name.as_deref(),
        Some("kube-mcp-operator")
    );
    let c = &pod.containers[0];
    assert_eq!(
        c.image.as_deref(),
        Some("ghcr.io/kube-mcp/kube-mcp-operator:0.1.0")
    );
    let sc = c.security_context.clone().unwrap();
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.run_as_user, Some(65532));
    // The pod is admitted under the namespace's restricted Pod Security level
    // (kwok plays the kubelet, so it even turns Ready).
    eventually("the operator pod", Duration::from_secs(60), || {
        let d = Api::<Deployment>::namespaced(client.clone(), ns);
        async move {
            let st = d
                .get("kube-mcp-operator")
                .await
                .map_err(|e| e.to_string())?
                .status;
            match st.and_then(|s| s.ready_replicas) {
                Some(1) => Ok(()),
                other => Err(format!("readyReplicas {other:?}")),
            }
        }
    })
    .await;
    // Plain (client-side) apply is accepted too.
    let client_side = ok(
        kubectl_args(&["apply", "--dry-run=server", "-k", "config/default"]),
        None,
    );
    assert!(
        client_side.contains("deployment.apps/kube-mcp-operator"),
        "{client_side}"
    );
    // Re-applying is a no-op.
    let again = ok(
        kubectl_args(&["apply", "--server-side", "-k", "config/default"]),
        None,
    );
    assert!(!again.contains("conflict"), "{again}");
}

#[test]
fn kustomize_samples_build() {
    let docs = yaml_docs(&ok(kubectl_args(&["kustomize", "config/samples"]), None));
    let eps = find(&docs, "McpEndpoint");
    let access: Vec<&str> = eps
        .iter()
        .map(|e| e["spec"]["access"].as_str().unwrap())
        .collect();
    assert!(
        access.contains(&"ReadOnly") && access.contains(&"NonDestructive"),
        "{access:?}"
    );
    assert!(
        eps.iter()
            .any(|e| e["spec"]["namespaces"] == serde_json::json!(["*"])),
        "a cluster-wide sample"
    );
    // Every token Secret a sample names comes with the samples, opted in to it.
    for ep in &eps {
        if let Some(name) = ep["spec"]["auth"]["tokenSecretRef"]["name"].as_str() {
            let secret = find(&docs, "Secret")
                .into_iter()
                .find(|s| {
                    s["metadata"]["name"] == name
                        && s["metadata"]["namespace"] == ep["metadata"]["namespace"]
                })
                .unwrap_or_else(|| panic!("config/samples lacks the Secret {name}"));
            assert_eq!(
                secret["metadata"]["labels"]["kubemcp.io/token-for"],
                ep["metadata"]["name"]
            );
        }
    }
    // How to admit an ingress controller besides the endpoint's namespace.
    assert!(
        eps.iter().any(|e| e["spec"]["network"]["allowFrom"]
            .as_array()
            .is_some_and(
                |peers| peers.len() > 1 && peers.iter().any(|p| p["namespaceSelector"].is_object())
            )),
        "a sample admits an ingress controller"
    );
}

// ---- the installed operator ------------------------------------------------

/// The operator as installed by a package's Deployment `deploy`, run as a
/// local process with its ServiceAccount's token.
struct Operator;

impl Operator {
    /// The operator config/default installs, watching `watch`.
    async fn start(client: &Client, watch: &str) -> InstalledOperator {
        let rendered = yaml_docs(&ok(kubectl_args(&["kustomize", "config/default"]), None));
        Self::start_as(client, watch, find(&rendered, "Deployment")[0]).await
    }

    async fn start_as(client: &Client, watch: &str, deploy: &Value) -> InstalledOperator {
        Self::start_with(client, watch, deploy, &[]).await
    }

    /// With `extra_env` on top of the manifest's (what an overlay patching an env entry does).
    async fn start_with(
        client: &Client,
        watch: &str,
        deploy: &Value,
        extra_env: &[(&str, &str)],
    ) -> InstalledOperator {
        InstalledOperator::start(client, deploy, Some(watch), extra_env).await
    }
}

/// The ReadOnly sample endpoint, moved to namespace `ns`.
fn readonly_sample(ns: &str) -> String {
    let sample = read("config/samples/team-a-readonly.yaml");
    assert!(sample.contains("namespace: team-a"));
    sample.replace("namespace: team-a", &format!("namespace: {ns}"))
}

async fn wait_ready(
    client: &Client,
    ns: &str,
    name: &str,
    op: &InstalledOperator,
) -> DynamicObject {
    let api = endpoint_api(client, ns);
    let start = Instant::now();
    loop {
        let ep = api.get(name).await.unwrap();
        let generation = ep.metadata.generation;
        let observed = ep.data["status"]["observedGeneration"].as_i64();
        let ready = ready_condition(&ep);
        if ready.as_ref().is_some_and(|c| c["status"] == "True") && observed == generation {
            return ep;
        }
        if start.elapsed() > Duration::from_secs(90) {
            panic!(
                "{ns}/{name} not Ready: status {:#}\noperator log:\n{}",
                ep.data["status"],
                op.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn installed_operator_reconciles_a_readonly_endpoint_with_only_its_rbac() {
    install_default();
    let ns = test_namespace("pkg-e2e").await;
    let client = ns.client.clone();
    let op = Operator::start(&client, &ns.name).await;

    ok(
        kubectl_args(&["apply", "--server-side", "-f", "-"]),
        Some(&readonly_sample(&ns.name)),
    );
    let name = "team-a-readonly";
    let ep = wait_ready(&client, &ns.name, name, &op).await;
    assert_eq!(
        ep.data["status"]["url"],
        format!("http://{name}.{}.svc:80/mcp", ns.name)
    );

    // Every child exists, written by the operator with its own token.
    let n = &ns.name;
    Api::<ServiceAccount>::namespaced(client.clone(), n)
        .get(&format!("kube-mcp.{name}"))
        .await
        .unwrap();
    Api::<Secret>::namespaced(client.clone(), n)
        .get(&format!("{name}-token"))
        .await
        .unwrap();
    let role = Api::<Role>::namespaced(client.clone(), n)
        .get(name)
        .await
        .unwrap();
    Api::<RoleBinding>::namespaced(client.clone(), n)
        .get(name)
        .await
        .unwrap();
    let d = Api::<Deployment>::namespaced(client.clone(), n)
        .get(name)
        .await
        .unwrap();
    let managers: Vec<String> = d
        .metadata
        .managed_fields
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        managers.iter().any(|m| m == "kube-mcp-operator"),
        "{managers:?}"
    );
    Api::<Service>::namespaced(client.clone(), n)
        .get(name)
        .await
        .unwrap();
    // ReadOnly: the endpoint's Role holds read verbs only.
    for r in role.rules.unwrap_or_default() {
        assert!(
            r.verbs
                .iter()
                .all(|v| ["get", "list", "watch"].contains(&v.as_str())),
            "a ReadOnly endpoint was granted {:?}",
            r.verbs
        );
    }
    // A namespace-scoped endpoint gets no cluster-scoped rule at all.
    let cr_name = format!("kube-mcp:{n}:{name}");
    assert!(
        Api::<ClusterRole>::all(client.clone())
            .get_opt(&cr_name)
            .await
            .unwrap()
            .is_none()
    );

    // Deleting the endpoint takes its grants with it: the operator revokes
    // them when the watch reports the delete, without waiting for the
    // garbage collector (which learns of a CRD installed moments ago only at
    // its next 30 s discovery sync).
    ok(
        kubectl_args(&[
            "-n",
            n,
            "delete",
            "mcpendpoint",
            name,
            "--wait",
            "--timeout=60s",
        ]),
        None,
    );
    let roles = Api::<Role>::namespaced(client.clone(), n);
    eventually(
        "the endpoint's Role to be removed",
        Duration::from_secs(30),
        || {
            let roles = roles.clone();
            async move {
                match roles.get_opt(name).await {
                    Ok(None) => Ok(()),
                    Ok(Some(_)) => Err("still there".into()),
                    Err(e) => Err(e.to_string()),
                }
            }
        },
    )
    .await;

    let denials = op.denials();
    let log = op.stop().await;
    assert!(
        denials.is_empty(),
        "the API server refused the operator something its packaged RBAC should grant:\n{}\n\nfull log:\n{log}",
        denials.join("\n")
    );
    ns.delete().await;
}

/// Field paths (`f:spec`, `f:status`, ...) at the top of a managedFields entry.
fn top_fields(entry: &Value) -> Vec<String> {
    entry["fieldsV1"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn gitops_reapply_under_another_field_manager_changes_nothing() {
    install_default();
    let ns = test_namespace("pkg-gitops").await;
    let client = ns.client.clone();
    let op = Operator::start(&client, &ns.name).await;
    let manifest = readonly_sample(&ns.name);
    let name = "team-a-readonly";
    let argo = |args: &[&str]| {
        let mut c = kubectl_args(&[
            "apply",
            "--server-side",
            "--field-manager=argocd-controller",
        ]);
        c.args(args).args(["-f", "-"]);
        c
    };

    ok(argo(&[]), Some(&manifest));
    let first = wait_ready(&client, &ns.name, name, &op).await;
    // Let the status settle (Deployment availability, events) before comparing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let api = endpoint_api(&client, &ns.name);
    let before = api.get(name).await.unwrap();
    let child_before = Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .get(name)
        .await
        .unwrap();

    // What Argo CD does on every sync: server-side diff, then apply. No
    // conflict (kubectl apply --server-side fails on one), no diff, no write.
    let mut diff = kubectl_args(&[
        "diff",
        "--server-side",
        "--field-manager=argocd-controller",
        "-f",
        "-",
    ]);
    diff.env("KUBECTL_EXTERNAL_DIFF", "diff -u");
    let (diff, out) = run(diff, Some(&manifest));
    assert_eq!(
        out.status.code(),
        Some(0),
        "a re-sync would show drift: {}",
        show(&diff, &out)
    );
    ok(argo(&[]), Some(&manifest));
    let after = api.get(name).await.unwrap();
    assert_eq!(after.metadata.generation, first.metadata.generation);
    assert_eq!(after.data["spec"], before.data["spec"]);
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "re-applying the same manifest wrote the object"
    );
    let child_after = Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .get(name)
        .await
        .unwrap();
    assert_eq!(
        child_after.metadata.resource_version,
        child_before.metadata.resource_version
    );

    // Ownership: Argo CD owns the spec, the operator only status (and its finalizer).
    let managed: Vec<Value> = after
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::to_value(m).unwrap())
        .collect();
    let mut argo_seen = false;
    for m in &managed {
        let manager = m["manager"].as_str().unwrap_or_default();
        let fields = top_fields(m);
        if manager == "argocd-controller" {
            argo_seen = true;
            assert!(fields.contains(&"f:spec".to_string()), "{m:#}");
            assert!(!fields.contains(&"f:status".to_string()), "{m:#}");
        } else {
            assert!(
                !fields.contains(&"f:spec".to_string()),
                "{manager} owns spec fields, so it would fight Argo CD: {m:#}"
            );
            if m["subresource"] != "status" {
                // Outside /status the operator may only hold its finalizer.
                let meta = &m["fieldsV1"]["f:metadata"];
                let keys: Vec<&String> = meta
                    .as_object()
                    .map(|o| o.keys().collect())
                    .unwrap_or_default();
                assert!(
                    fields.iter().all(|f| f == "f:metadata")
                        && keys.iter().all(|k| *k == "f:finalizers"),
                    "{manager} owns more than the finalizer outside /status: {m:#}"
                );
            }
        }
    }
    assert!(argo_seen, "no argocd-controller entry in {managed:#?}");

    // A spec change from Git is reconciled, and the re-apply of it is again a no-op.
    let changed = manifest.replace("secrets: Masked", "secrets: Hidden");
    assert_ne!(changed, manifest);
    ok(argo(&[]), Some(&changed));
    let updated = wait_ready(&client, &ns.name, name, &op).await;
    assert_eq!(
        updated.metadata.generation,
        first.metadata.generation.map(|g| g + 1)
    );
    assert_eq!(
        updated.data["status"]["observedGeneration"],
        serde_json::json!(updated.metadata.generation)
    );

    ok(
        kubectl_args(&[
            "-n",
            &ns.name,
            "delete",
            "mcpendpoint",
            name,
            "--wait",
            "--timeout=60s",
        ]),
        None,
    );
    let denials = op.denials();
    let log = op.stop().await;
    assert!(
        denials.is_empty(),
        "RBAC denials:\n{}\n\nlog:\n{log}",
        denials.join("\n")
    );
    ns.delete().await;
}

#[tokio::test]
async fn helm_installed_operator_reconciles_a_readonly_endpoint_with_only_its_rbac() {
    let ns = test_namespace("pkg-helm").await;
    let client = ns.client.clone();
    let release = ns.name.clone();
    let mut install = helm();
    install.args([
        "install",
        &release,
        "charts/kube-mcp",
        "--namespace",
        &ns.name,
        "--wait",
        "--timeout",
        "90s",
    ]);
    install.env("KUBECONFIG", cluster().kubeconfig_path());
    let notes = ok(install, None);
    assert!(notes.contains("ReadOnly endpoints only"), "{notes}");
    let mut template = helm();
    template.args([
        "template",
        &release,
        "charts/kube-mcp",
        "--namespace",
        &ns.name,
    ]);
    let rendered = yaml_docs(&ok(template, None));
    let deploy = find(&rendered, "Deployment")[0];
    assert_eq!(
        deploy["spec"]["template"]["spec"]["serviceAccountName"],
        format!("{release}-kube-mcp-operator")
    );

    // Endpoints in their own namespace, reconciled by the chart's operator.
    let team = test_namespace("pkg-helm-team").await;
    let op = Operator::start_as(&client, &team.name, deploy).await;
    ok(
        kubectl_args(&["apply", "--server-side", "-f", "-"]),
        Some(&readonly_sample(&team.name)),
    );
    let name = "team-a-readonly";
    wait_ready(&client, &team.name, name, &op).await;
    Api::<Role>::namespaced(client.clone(), &team.name)
        .get(name)
        .await
        .unwrap();
    Api::<Deployment>::namespaced(client.clone(), &team.name)
        .get(name)
        .await
        .unwrap();
    ok(
        kubectl_args(&[
            "-n",
            &team.name,
            "delete",
            "mcpendpoint",
            name,
            "--wait",
            "--timeout=60s",
        ]),
        None,
    );

    let denials = op.denials();
    let log = op.stop().await;
    assert!(
        denials.is_empty(),
        "RBAC denials:\n{}\n\nlog:\n{log}",
        denials.join("\n")
    );
    let mut uninstall = helm();
    uninstall.args(["uninstall", &release, "--namespace", &ns.name]);
    uninstall.env("KUBECONFIG", cluster().kubeconfig_path());
    ok(uninstall, None);
    team.delete().await;
    ns.delete().await;
}

/// config/samples as documented: with `kube-mcp-admin` as admin namespace and
/// the default ReadOnly ceiling, the team endpoint and the cluster-wide admin
/// endpoint are served with only the packaged RBAC (the latter through a
/// ClusterRole holding every namespaced read), and the NonDestructive one is
/// refused with AccessNotAllowed.
#[tokio::test]
async fn samples_reconcile_as_documented() {
    install_default();
    let client = kube_mcp_tests::admin_client().await;
    ok(
        kubectl_args(&["apply", "--server-side", "-k", "config/samples"]),
        None,
    );
    // The admin sample's own token Secret comes with the samples, opted in.
    let token = Api::<Secret>::namespaced(client.clone(), "kube-mcp-admin")
        .get("platform-mcp-token")
        .await
        .unwrap();
    assert_eq!(
        token
            .metadata
            .labels
            .unwrap_or_default()
            .get("kubemcp.io/token-for")
            .map(String::as_str),
        Some("platform-readonly")
    );
    let rendered = yaml_docs(&ok(kubectl_args(&["kustomize", "config/default"]), None));
    let op = Operator::start_with(
        &client,
        "team-a,kube-mcp-admin",
        find(&rendered, "Deployment")[0],
        &[("KUBE_MCP_ADMIN_NAMESPACES", "kube-mcp-admin")],
    )
    .await;

    wait_ready(&client, "team-a", "team-a-readonly", &op).await;
    let admin = wait_ready(&client, "kube-mcp-admin", "platform-readonly", &op).await;
    assert_eq!(admin.data["status"]["namespaces"], serde_json::json!(["*"]));
    let api = endpoint_api(&client, "team-a");
    let refused = eventually(
        "team-a-deployer to be refused",
        Duration::from_secs(60),
        || {
            let api = api.clone();
            async move {
                let ep = api
                    .get("team-a-deployer")
                    .await
                    .map_err(|e| e.to_string())?;
                match ready_condition(&ep) {
                    Some(c) if c["status"] == "False" && c["reason"] == "AccessNotAllowed" => Ok(c),
                    other => Err(format!("Ready {other:?}")),
                }
            }
        },
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("ReadOnly"),
        "{refused}"
    );
    // Refused: nothing granted.
    assert!(
        Api::<Role>::namespaced(client.clone(), "team-a")
            .get_opt("team-a-deployer")
            .await
            .unwrap()
            .is_none()
    );

    // Delete the endpoints while the operator runs, so their finalizer is
    // served (the namespaces stay for a later run on the same cluster).
    for (ns, name) in [
        ("team-a", "team-a-readonly"),
        ("team-a", "team-a-deployer"),
        ("kube-mcp-admin", "platform-readonly"),
    ] {
        ok(
            kubectl_args(&[
                "-n",
                ns,
                "delete",
                "mcpendpoint",
                name,
                "--wait",
                "--timeout=60s",
            ]),
            None,
        );
    }
    let denials = op.denials();
    let log = op.stop().await;
    assert!(
        denials.is_empty(),
        "RBAC denials:\n{}\n\nlog:\n{log}",
        denials.join("\n")
    );
}

/// One version everywhere: the workspace, the chart, the kustomize images, and
/// the server image the operator defaults to; one Dockerfile for both images.
#[test]
fn versions_and_images_agree() {
    let cargo = read("Cargo.toml");
    let version = cargo
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| l.trim().strip_prefix("version = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("workspace.package.version");
    let chart = &yaml_docs(&read("charts/kube-mcp/Chart.yaml"))[0];
    assert_eq!(chart["version"], version.as_str());
    assert_eq!(chart["appVersion"], version.as_str());

    let deploy = &yaml_docs(&read("config/manager/deployment.yaml"))[0];
    let c = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["image"],
        format!("ghcr.io/kube-mcp/kube-mcp-operator:{version}")
    );
    let server_image = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "KUBE_MCP_SERVER_IMAGE")
        .map(|e| e["value"].clone());
    let want = format!("ghcr.io/kube-mcp/kube-mcp-server:{version}");
    assert_eq!(server_image, Some(Value::String(want.clone())));
    // The operator's own default (operator/src/config.rs) is the same image.
    let config_rs = read("operator/src/config.rs");
    assert!(
        config_rs.contains("\"ghcr.io/kube-mcp/kube-mcp-server:\""),
        "operator/src/config.rs no longer defaults to ghcr.io/kube-mcp/kube-mcp-server:<version>"
    );

    let dockerfile = read("Dockerfile");
    for needle in [
        "ARG BIN=",
        "AS kube-mcp-server",
        "AS kube-mcp-operator",
        "FROM ${BIN}",
        "--release --locked",
        "unknown-linux-musl",
        "gcr.io/distroless/static-debian12:nonroot",
        "USER 65532:65532",
    ] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks {needle:?}");
    }
    assert!(
        !dockerfile.contains("ENTRYPOINT [\"/bin/sh"),
        "no shell in the images"
    );
}
