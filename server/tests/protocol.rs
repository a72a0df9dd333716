//! The protocol features a client uses day to day, through real clients
//! (rmcp and the Python SDK) against the real server and the local control
//! plane: completions, resource templates, structured results (masked and
//! bounded like text), and closing a session.

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::Api;
use kube::api::PostParams;
use kube_mcp_tests::fixture::kubectl_apply;
use kube_mcp_tests::mcp::McpClient;
use kube_mcp_tests::server::ServerProcess;
use kube_mcp_tests::{TestNamespace, kubectl, npm, python, test_namespace};
use rmcp::ServiceError;
use rmcp::model::{CompletionContext, ErrorCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");
const TEMPLATE: &str = "k8s://{namespace}/{resourceType}";

async fn server(env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(Path::new(BIN), env).await
}

async fn configmap(ns: &TestNamespace, name: &str) {
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap();
    Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
}

async fn pods(ns: &TestNamespace, prefix: &str, n: usize) {
    let api = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
    for i in 0..n {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("{prefix}-{i:03}")},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }))
        .unwrap();
        api.create(&PostParams::default(), &pod).await.unwrap();
    }
}

fn ns_context(ns: &str) -> Option<CompletionContext> {
    let mut c = CompletionContext::new();
    c.arguments = Some(HashMap::from([("namespace".to_string(), ns.to_string())]));
    Some(c)
}

#[tokio::test]
async fn completions_offer_namespaces_kinds_and_names_in_scope() {
    let ns = test_namespace("cmpl").await;
    pods(&ns, "web", 3).await;
    let s = server(&[]).await;
    let c = s.client().await;
    let svc = &c.service;

    // The prompt's namespace: what is typed narrows it, prefix matches first.
    let got = svc
        .complete_prompt_argument("k8s-diagnose", "namespace", &ns.name, None)
        .await
        .unwrap();
    assert_eq!(got.values, std::slice::from_ref(&ns.name), "{got:?}");
    let kube = svc
        .complete_prompt_argument("k8s-diagnose", "namespace", "kube-", None)
        .await
        .unwrap();
    assert!(kube.values.contains(&"kube-system".to_string()), "{kube:?}");
    assert!(
        kube.values.iter().all(|v| v.starts_with("kube-")),
        "{kube:?}"
    );

    // The keyword matches pod names: those in the chosen namespace.
    let web = svc
        .complete_prompt_argument("k8s-diagnose", "keyword", "we", ns_context(&ns.name))
        .await
        .unwrap();
    assert_eq!(web.values, ["web-000", "web-001", "web-002"], "{web:?}");
    // Node names come too on a cluster-wide server.
    let node = svc
        .complete_prompt_argument("k8s-diagnose", "keyword", "kwok-node", None)
        .await
        .unwrap();
    assert_eq!(node.values, ["kwok-node-0", "kwok-node-1"], "{node:?}");

    // The template's resource types come from discovery.
    let kinds = svc
        .complete_resource_argument(TEMPLATE, "resourceType", "config", None)
        .await
        .unwrap();
    assert_eq!(kinds.values, ["configmaps"], "{kinds:?}");
    let deploy = svc
        .complete_resource_argument(TEMPLATE, "resourceType", "deploy", None)
        .await
        .unwrap();
    assert_eq!(deploy.values, ["deployments"]);

    // A prompt or template this server does not have is an error naming the fix.
    let err = svc
        .complete_prompt_argument("test_prompt_with_arguments", "arg1", "", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("prompts/list"), "{err}");
    c.close().await;

    // The Python SDK asks the same questions.
    let run = python::run(&[
        "--url",
        &s.url,
        "--mode",
        "legacy",
        "--complete",
        &json!({"ref": {"type": "ref/prompt", "name": "k8s-diagnose"}, "argument": {"name": "keyword", "value": "web"}, "context": {"namespace": ns.name}}).to_string(),
        "--complete",
        &json!({"ref": {"type": "ref/resource", "uri": TEMPLATE}, "argument": {"name": "namespace", "value": ns.name}}).to_string(),
    ])
    .await;
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(
        run.out["completions"][0]["values"],
        json!(["web-000", "web-001", "web-002"])
    );
    assert_eq!(run.out["completions"][1]["values"], json!([ns.name]));
    ns.delete().await;
}

#[tokio::test]
async fn completions_stay_in_scope_bounded_and_follow_the_filter() {
    let ns = test_namespace("cmps").await;
    pods(&ns, "many", 105).await;
    let scope = format!("{},team-x", ns.name);
    let s = server(&[
        ("KUBE_MCP_NAMESPACES", &scope),
        ("KUBE_MCP_SECRETS", "hidden"),
    ])
    .await;
    let c = s.client().await;
    let svc = &c.service;
    // Only the namespaces in scope, never kube-system.
    let all = svc
        .complete_resource_argument(TEMPLATE, "namespace", "", None)
        .await
        .unwrap();
    let mut want = vec![ns.name.clone(), "team-x".to_string()];
    want.sort();
    assert_eq!(all.values, want);
    // At most 100 values, saying there are more.
    let many = svc
        .complete_prompt_argument("k8s-diagnose", "keyword", "many", None)
        .await
        .unwrap();
    assert_eq!(many.values.len(), 100);
    assert_eq!((many.total, many.has_more), (Some(105), Some(true)));
    // A namespace outside the scope gives nothing; nodes are cluster-wide.
    let outside = svc
        .complete_prompt_argument("k8s-diagnose", "keyword", "", ns_context("kube-system"))
        .await
        .unwrap();
    assert!(outside.values.is_empty(), "{outside:?}");
    // Hidden Secrets are no resource type here.
    let sec = svc
        .complete_resource_argument(TEMPLATE, "resourceType", "secret", None)
        .await
        .unwrap();
    assert!(sec.values.is_empty(), "{sec:?}");
    c.close().await;

    // Without kubectl_get: no resources, no templates, nothing to complete.
    let narrow = server(&[("ALLOWED_TOOLS", "ping")]).await;
    let c = narrow.client().await;
    assert!(
        c.service
            .list_all_resource_templates()
            .await
            .unwrap()
            .is_empty()
    );
    let err = c
        .service
        .complete_resource_argument(TEMPLATE, "namespace", "", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("resources/templates/list"), "{err}");
    c.close().await;
    ns.delete().await;
}

#[tokio::test]
async fn the_resource_template_reads_any_namespaced_kind_in_scope() {
    let ns = test_namespace("tmpl").await;
    configmap(&ns, "settings").await;
    kubectl()
        .args(["create", "secret", "generic", "db", "-n", &ns.name])
        .arg("--from-literal=password=tmpl-hunter2")
        .status()
        .unwrap();
    let s = server(&[("KUBE_MCP_NAMESPACES", &ns.name)]).await;
    let c = s.client().await;
    let templates: Vec<String> = c
        .service
        .list_all_resource_templates()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.uri_template.clone())
        .collect();
    assert_eq!(templates, [TEMPLATE]);
    let cms = c
        .read_resource(&format!("k8s://{}/configmaps", ns.name))
        .await
        .unwrap();
    assert!(cms.contains("\"settings\""), "{cms}");
    let secrets = c
        .read_resource(&format!("k8s://{}/secrets", ns.name))
        .await
        .unwrap();
    assert!(
        secrets.contains("***") && !secrets.contains("tmpl-hunter2"),
        "{secrets}"
    );
    let outside = c
        .read_resource("k8s://kube-system/configmaps")
        .await
        .unwrap_err();
    assert!(outside.contains("outside"), "{outside}");
    // An unknown kind is no resource; the error names the URI (SEP-2164).
    let unknown = format!("k8s://{}/nosuchkinds", ns.name);
    match c
        .service
        .read_resource(rmcp::model::ReadResourceRequestParams::new(&unknown))
        .await
    {
        Err(ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode::RESOURCE_NOT_FOUND);
            assert_eq!(e.data, Some(json!({"uri": unknown})));
        }
        other => panic!("an unknown kind is no resource: {other:?}"),
    }
    c.close().await;
    ns.delete().await;
}

/// The tools whose every result is data.
const SCHEMAS: [&str; 4] = [
    "explain_resource",
    "kubectl_context",
    "kubectl_rollout",
    "list_api_resources",
];

#[tokio::test]
async fn structured_results_carry_the_data_masked_and_bounded() {
    let ns = test_namespace("strc").await;
    // Applied, so the last-applied annotation carries the value in clear.
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: {}}}\nstringData: {{password: strc-hunter2}}\n",
        ns.name
    );
    kubectl_apply(&secret, false);
    let s = server(&[]).await;
    let c = s.client().await;

    let mut with_schema: Vec<String> = c
        .tools()
        .await
        .into_iter()
        .filter(|t| t.output_schema.is_some())
        .map(|t| t.name.to_string())
        .collect();
    with_schema.sort();
    assert_eq!(with_schema, SCHEMAS);

    // kubectl_get -o json: the structured result is the JSON of the text,
    // with the Secret masked in both, the annotation included.
    let got = c
        .call(
            "kubectl_get",
            json!({"resourceType": "secret", "name": "db", "namespace": ns.name, "output": "json"}),
        )
        .await;
    let structured = got.structured.clone().expect("structured content");
    assert_eq!(
        structured,
        serde_json::from_str::<Value>(&got.text).unwrap()
    );
    let dump = structured.to_string();
    assert!(
        dump.contains("***")
            && !dump.contains("strc-hunter2")
            && !dump.contains("c3RyYy1odW50ZXIy"),
        "{dump}"
    );
    // Other formats stay text only.
    let table = c
        .call(
            "kubectl_get",
            json!({"resourceType": "secrets", "namespace": ns.name, "output": "wide"}),
        )
        .await;
    assert!(table.structured.is_none(), "{table:?}");

    let apis = c
        .call("list_api_resources", json!({"apiGroup": "apps"}))
        .await;
    let names: Vec<&str> = apis.structured.as_ref().unwrap()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"deployments"), "{names:?}");
    let explain = c
        .call("explain_resource", json!({"resource": "deployments.spec"}))
        .await;
    let fields = &explain.structured.as_ref().unwrap()["fields"];
    let replicas = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "replicas")
        .unwrap();
    assert_eq!(replicas["type"], "integer");
    assert_eq!(
        explain.structured.as_ref().unwrap()["field"]["name"],
        "spec"
    );
    c.close().await;

    // The Python SDK checks every structured result against its schema.
    for (tool, args) in [
        ("list_api_resources", json!({})),
        ("kubectl_context", json!({"operation": "list"})),
        (
            "kubectl_context",
            json!({"operation": "get", "output": "name"}),
        ),
        ("explain_resource", json!({"resource": "pods"})),
    ] {
        let run = python::run(&[
            "--url",
            &s.url,
            "--mode",
            "legacy",
            "--call",
            tool,
            "--args",
            &args.to_string(),
        ])
        .await;
        assert!(run.ok, "{tool} {args}: {}", run.stderr);
        assert_eq!(run.out["call"]["is_error"], false, "{}", run.out);
        assert!(run.out["call"]["structured"].is_object(), "{}", run.out);
        assert_eq!(run.out["output_schemas"], json!(SCHEMAS));
    }

    // The output bound holds for structured content too.
    let small = server(&[("SPAWN_MAX_BUFFER", "3000")]).await;
    let c = small.client().await;
    let apis = c.call("list_api_resources", json!({})).await;
    let v = apis.structured.unwrap();
    assert!(serde_json::to_vec(&v).unwrap().len() <= 3000);
    assert_eq!(v["truncated"], true);
    assert!(!v["resources"].as_array().unwrap().is_empty());
    c.close().await;
    ns.delete().await;
}

#[tokio::test]
async fn the_rollout_status_is_data() {
    let ns = test_namespace("rlst").await;
    let d = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: {}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: c, image: busybox}}]}}\n",
        ns.name
    );
    let s = server(&[]).await;
    let c: McpClient = s.client().await;
    let applied = c.call("kubectl_apply", json!({"manifest": d})).await;
    assert!(!applied.is_error, "{applied:?}");
    let status = c
        .call(
            "kubectl_rollout",
            json!({"subCommand": "status", "resourceType": "deployment", "name": "web", "namespace": ns.name, "timeout": "60s"}),
        )
        .await;
    let v = status.structured.expect("structured");
    assert_eq!(v["subCommand"], "status");
    assert_eq!(v["resource"], "deployment.apps/web");
    assert_eq!(v["namespace"], ns.name);
    assert_eq!(v["done"], true, "{v}");
    assert!(
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().contains("successfully rolled out")),
        "{v}"
    );
    c.close().await;
    ns.delete().await;
}

#[tokio::test]
async fn closing_a_session_answers_204_and_the_python_sdk_logs_no_warning() {
    let s = server(&[("ALLOW_ONLY_READONLY_TOOLS", "true")]).await;
    let http = reqwest::Client::new();
    let init = http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#)
        .send()
        .await
        .unwrap();
    let id = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let closed = http
        .delete(&s.url)
        .header("mcp-session-id", &id)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 204);
    let again = http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &id)
        .header("mcp-protocol-version", "2025-11-25")
        .body(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "the closed session is gone");

    for mode in [None, Some("legacy")] {
        let mut args = vec!["--url", s.url.as_str(), "--call", "ping"];
        if let Some(m) = mode {
            args.extend(["--mode", m]);
        }
        let run = python::run(&args).await;
        assert!(run.ok, "{}", run.stderr);
        assert!(
            !run.stderr.contains("Session termination failed"),
            "{mode:?}: {}",
            run.stderr
        );
    }
}

/// The TypeScript SDK's inspector CLI sees the template, the output schemas
/// and the structured content.
#[tokio::test]
async fn the_inspector_cli_sees_templates_schemas_and_structured_results() {
    let s = server(&[]).await;
    let inspect = |method: &'static str, extra: &'static [&'static str]| {
        let url = s.url.clone();
        async move {
            let mut args = vec![
                "--cli",
                url.as_str(),
                "--transport",
                "http",
                "--method",
                method,
            ];
            args.extend_from_slice(extra);
            let (ok, out) = npm::run("mcp-inspector", &args).await;
            assert!(ok, "{method}: {out}");
            serde_json::from_str::<Value>(&out[out.find('{').unwrap()..])
                .unwrap_or_else(|e| panic!("{method}: {e}: {out}"))
        }
    };
    let templates = inspect("resources/templates/list", &[]).await;
    assert_eq!(
        templates["resourceTemplates"][0]["uriTemplate"], TEMPLATE,
        "{templates}"
    );
    let tools = inspect("tools/list", &[]).await;
    let mut with_schema: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outputSchema"].is_object())
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    with_schema.sort();
    assert_eq!(with_schema, SCHEMAS);
    let called = inspect(
        "tools/call",
        &[
            "--tool-name",
            "list_api_resources",
            "--tool-arg",
            "apiGroup=apps",
        ],
    )
    .await;
    let names: Vec<&str> = called["structuredContent"]["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{called}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"deployments"), "{called}");
}
