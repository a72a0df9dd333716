//! What `kubectl` users see of the CRD, from the real API server: errors of
//! bad specs (`kubectl apply --dry-run=server`) say what is wrong in words,
//! defaults are filled in and documented.

mod common;

use common::install_crd;
use kube_mcp_tests::{kubectl, test_namespace};

/// `kubectl apply --dry-run=server -o json` of an McpEndpoint: Ok(stored object) or Err(stderr).
fn dry_run(
    ns: &str,
    name: &str,
    spec: Option<serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let mut doc = serde_json::json!({
        "apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint",
        "metadata": {"name": name, "namespace": ns},
    });
    if let Some(spec) = spec {
        doc["spec"] = spec;
    }
    let out = kube_mcp_tests::fixture::kubectl_stdin(
        &["apply", "--dry-run=server", "-o", "json", "-f", "-"],
        &doc.to_string(),
    );
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn bad_specs_are_refused_in_words() {
    let ns = test_namespace("crd-msg").await;
    install_crd(&ns.client).await;
    let first_tool = kube_mcp_catalog::tools::names().next().unwrap();
    let json = |s: &str| Some(serde_json::from_str::<serde_json::Value>(s).unwrap());
    // (name, spec, what the error must say)
    let cases = [
        (
            "1abc",
            None,
            vec![
                r#"metadata.name: Invalid value: "1abc": must be a DNS-1035 label"#,
                "e.g. team-a-readonly",
            ],
        ),
        (
            "hosts",
            json(r#"{"allowedHosts": ["not a host/"]}"#),
            vec![
                r#"spec.allowedHosts[0]: Invalid value: "not a host/": must be a lower-case host name"#,
                "e.g. mcp.example.com",
            ],
        ),
        (
            "origins",
            json(r#"{"allowedOrigins": ["ftp://x/y"]}"#),
            vec![r#"spec.allowedOrigins[0]: Invalid value: "ftp://x/y": must be an origin"#],
        ),
        (
            "ns",
            json(r#"{"namespaces": ["Team_A"]}"#),
            vec![r#"spec.namespaces[0]: Invalid value: "Team_A": must be a namespace name"#],
        ),
        (
            "star",
            json(r#"{"namespaces": ["*", "a"]}"#),
            vec!["spec.namespaces: Invalid value: '*' (cluster-wide) must be the only entry"],
        ),
        (
            "zero",
            json(r#"{"replicas": 0}"#),
            vec!["spec.replicas", "greater than or equal to 1"],
        ),
        (
            "many",
            json(r#"{"replicas": 11}"#),
            vec!["spec.replicas", "less than or equal to 10"],
        ),
        (
            "tool",
            json(r#"{"tools": ["no_such_tool"]}"#),
            vec![
                r#"spec.tools[0]: Unsupported value: "no_such_tool""#,
                first_tool,
            ],
        ),
        (
            "access",
            json(r#"{"access": "Admin"}"#),
            vec![r#"spec.access: Unsupported value: "Admin""#, "ReadOnly"],
        ),
    ];
    for (name, spec, want) in cases {
        let err = dry_run(&ns.name, name, spec).expect_err(name);
        for w in want {
            assert!(err.contains(w), "{name}: {w:?} not in\n{err}");
        }
        // No bare regular expression, and every error names its field (the API
        // server adds one field-less note when a schema error kept it from
        // running the CEL rules).
        let unnamed = err
            .lines()
            .filter(|l| {
                l.contains("<nil>") && !l.contains("some validation rules were not checked")
            })
            .count();
        assert!(
            !err.contains("should match") && unnamed == 0,
            "{name}:\n{err}"
        );
        eprintln!("{name}: {}", err.trim().lines().last().unwrap_or_default());
    }
    ns.delete().await;
}

#[tokio::test]
async fn spec_may_be_left_out_and_defaults_are_documented() {
    let ns = test_namespace("crd-defaults").await;
    install_crd(&ns.client).await;
    for spec in [None, Some(serde_json::json!({}))] {
        let stored = dry_run(&ns.name, "bare", spec.clone()).unwrap();
        let s = &stored["spec"];
        assert_eq!(
            (
                s["access"].as_str(),
                s["secrets"].as_str(),
                s["replicas"].as_i64()
            ),
            (Some("ReadOnly"), Some("Masked"), Some(1)),
            "{spec:?}: {s}"
        );
    }
    for (field, default) in [
        ("access", "Default: ReadOnly"),
        ("secrets", "Default: Masked"),
        ("replicas", "Default: 1"),
        ("namespaces", "Default (absent): its own namespace"),
    ] {
        let out = kubectl()
            .args(["explain", &format!("mcpendpoints.spec.{field}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(default), "kubectl explain {field}:\n{text}");
    }
    ns.delete().await;
}
