//! Confirmations before destructive calls, through real clients that
//! answer yes, no and nothing: rmcp and the Python SDK at both protocol
//! revisions (elicitation on 2025-11-25 sessions, input-required results
//! on 2026-07-28), and a raw HTTP client playing the untrusted party
//! (tampered, moved, expired and missing state, answers without a question).

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::PostParams;
use kube_mcp_tests::mcp::{self, Answer, McpClient};
use kube_mcp_tests::server::ServerProcess;
use kube_mcp_tests::{TestNamespace, python, test_namespace};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-server");

async fn server(env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(Path::new(BIN), env).await
}

async fn client(s: &ServerProcess, answer: Answer, modern: bool) -> McpClient {
    McpClient::connect_asking(reqwest::Client::new(), &s.url, None, answer, modern)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", s.log()))
}

/// `n` pods labelled `app=<group>`, named `<group>-000`...
async fn pods(ns: &TestNamespace, group: &str, n: usize) -> Vec<String> {
    let api = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
    let mut names = vec![];
    for i in 0..n {
        let name = format!("{group}-{i:03}");
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app": group}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }))
        .unwrap();
        api.create(&PostParams::default(), &pod).await.unwrap();
        names.push(name);
    }
    names
}

/// Whether every pod of `names` is still there and not being deleted.
async fn intact(ns: &TestNamespace, names: &[String]) -> bool {
    let api = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
    for n in names {
        match api.get_opt(n).await.unwrap() {
            Some(p) if p.metadata.deletion_timestamp.is_none() => {}
            _ => return false,
        }
    }
    true
}

async fn gone(ns: &TestNamespace, names: &[String]) -> bool {
    let api = Api::<Pod>::namespaced(ns.client.clone(), &ns.name);
    for n in names {
        if let Some(p) = api.get_opt(n).await.unwrap()
            && p.metadata.deletion_timestamp.is_none()
        {
            return false;
        }
    }
    true
}

fn delete_group(ns: &TestNamespace, group: &str) -> Value {
    json!({"resourceType": "pods", "namespace": ns.name, "labelSelector": format!("app={group}")})
}

fn statement(ns: &TestNamespace, names: &[String]) -> String {
    format!(
        "kube-mcp-server will delete {} pods in {}: {}. Go ahead?",
        names.len(),
        ns.name,
        names.join(", ")
    )
}

#[tokio::test]
async fn a_2025_session_is_asked_through_elicitation() {
    let ns = test_namespace("cfe").await;
    // Long enough for a yes on a loaded CI machine, short enough to wait out.
    let s = server(&[("KUBE_MCP_CONFIRM_TIMEOUT_SECONDS", "5")]).await;

    // Yes: the question states exactly what happens, then it happens.
    let yes = pods(&ns, "yes", 3).await;
    let c = client(&s, Answer::Yes, false).await;
    let out = c.call("kubectl_delete", delete_group(&ns, "yes")).await;
    assert!(!out.is_error, "{out:?}\n{}", s.log());
    assert_eq!(c.asker.asked(), [statement(&ns, &yes)]);
    assert!(gone(&ns, &yes).await);
    // kubectl_generic's delete is asked the same way.
    let one = pods(&ns, "gen", 1).await;
    let out = c
        .call(
            "kubectl_generic",
            json!({"command": "delete", "resourceType": "pod", "name": one[0], "namespace": ns.name}),
        )
        .await;
    assert!(!out.is_error, "{out:?}");
    assert_eq!(
        c.asker.asked().last().unwrap(),
        &format!(
            "kube-mcp-server will delete pod {} in {}. Go ahead?",
            one[0], ns.name
        )
    );
    // Nothing to delete, nothing to ask: the tool reports the 404 itself.
    let before = c.asker.asked().len();
    let missing = c
        .call(
            "kubectl_delete",
            json!({"resourceType": "pod", "name": "no-such-pod", "namespace": ns.name}),
        )
        .await;
    assert!(
        missing.is_error && missing.text.contains("404"),
        "{missing:?}"
    );
    assert_eq!(c.asker.asked().len(), before);
    c.close().await;

    // No: nothing changes, and the result says so.
    let no = pods(&ns, "no", 2).await;
    let c = client(&s, Answer::No, false).await;
    let out = c.call("kubectl_delete", delete_group(&ns, "no")).await;
    assert!(
        out.is_error && out.text.contains("Not done: the user declined"),
        "{out:?}"
    );
    assert!(out.text.contains(&no.join(", ")), "{out:?}");
    assert!(intact(&ns, &no).await);
    // A drain is stated with the pods it would evict; no leaves the node alone.
    let drain = c
        .call(
            "node_management",
            json!({"operation": "drain", "nodeName": "kwok-node-1", "confirmDrain": true, "force": true, "deleteLocalData": true}),
        )
        .await;
    assert!(drain.is_error, "{drain:?}");
    assert!(
        c.asker
            .asked()
            .last()
            .unwrap()
            .contains("drain node kwok-node-1: cordon it"),
        "{:?} {drain:?}",
        c.asker.asked()
    );
    let node = Api::<Node>::all(ns.client.clone())
        .get("kwok-node-1")
        .await
        .unwrap();
    assert_ne!(node.spec.unwrap().unschedulable, Some(true), "not cordoned");
    c.close().await;

    // Nothing: after the timeout, nothing changes.
    let never = pods(&ns, "never", 1).await;
    let c = client(&s, Answer::Never, false).await;
    let out = c.call("kubectl_delete", delete_group(&ns, "never")).await;
    assert!(
        out.is_error && out.text.contains("no answer came within 5s"),
        "{out:?}"
    );
    assert!(intact(&ns, &never).await);
    c.close().await;
    ns.delete().await;
}

#[tokio::test]
async fn the_policy_decides_which_calls_ask_and_dry_runs_never_do() {
    let ns = test_namespace("cfp").await;
    let cm = |name: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {}}}\n",
            ns.name
        )
    };
    let writes = server(&[("KUBE_MCP_CONFIRM", "writes")]).await;
    let c = client(&writes, Answer::Yes, false).await;
    let dry = c
        .call(
            "kubectl_apply",
            json!({"manifest": cm("dry"), "dryRun": true}),
        )
        .await;
    assert!(!dry.is_error, "{dry:?}");
    assert!(c.asker.asked().is_empty(), "a dry run never asks");
    let real = c
        .call("kubectl_apply", json!({"manifest": cm("real")}))
        .await;
    assert!(!real.is_error, "{real:?}");
    let asked = c.asker.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].starts_with("kube-mcp-server will run kubectl_apply with manifest=apiVersion: v1"),
        "{asked:?}"
    );
    // Reads never ask.
    c.call(
        "kubectl_get",
        json!({"resourceType": "configmaps", "namespace": ns.name}),
    )
    .await;
    assert_eq!(c.asker.asked().len(), 1);
    c.close().await;

    // Under `never`, even a delete runs straight away.
    let never = server(&[("KUBE_MCP_CONFIRM", "never")]).await;
    let c = client(&never, Answer::No, false).await;
    let doomed = pods(&ns, "nvr", 1).await;
    let out = c.call("kubectl_delete", delete_group(&ns, "nvr")).await;
    assert!(!out.is_error && c.asker.asked().is_empty(), "{out:?}");
    assert!(gone(&ns, &doomed).await);
    c.close().await;

    // A client that cannot answer gets the fallback: deny says why and how.
    let deny = server(&[("KUBE_MCP_CONFIRM_FALLBACK", "deny")]).await;
    let kept = pods(&ns, "deny", 1).await;
    let c = client(&deny, Answer::Unsupported, false).await;
    let out = c.call("kubectl_delete", delete_group(&ns, "deny")).await;
    assert!(out.is_error, "{out:?}");
    for want in [
        "Not done",
        "no (form) elicitation",
        "KUBE_MCP_CONFIRM_FALLBACK=deny",
        &kept[0],
    ] {
        assert!(out.text.contains(want), "{want}: {}", out.text);
    }
    assert!(intact(&ns, &kept).await);
    c.close().await;
    // ... and allow (the default) runs as before confirmations existed.
    let allow = server(&[]).await;
    let c = client(&allow, Answer::Unsupported, false).await;
    let out = c.call("kubectl_delete", delete_group(&ns, "deny")).await;
    assert!(!out.is_error, "{out:?}");
    assert!(gone(&ns, &kept).await);
    c.close().await;

    // A stateless server cannot ask a 2025 client mid-call: the fallback.
    let stateless = server(&[
        ("KUBE_MCP_STATELESS", "true"),
        ("KUBE_MCP_CONFIRM_FALLBACK", "deny"),
    ])
    .await;
    let kept = pods(&ns, "stl", 1).await;
    let c = client(&stateless, Answer::Yes, false).await;
    let out = c.call("kubectl_delete", delete_group(&ns, "stl")).await;
    assert!(out.is_error && out.text.contains("stateless"), "{out:?}");
    assert!(c.asker.asked().is_empty());
    assert!(intact(&ns, &kept).await);
    c.close().await;
    ns.delete().await;
}

#[tokio::test]
async fn a_2026_client_answers_an_input_required_result() {
    let ns = test_namespace("cfm").await;
    let s = server(&[]).await;
    let yes = pods(&ns, "myes", 2).await;
    let c = client(&s, Answer::Yes, true).await;
    let out = c.call("kubectl_delete", delete_group(&ns, "myes")).await;
    assert!(!out.is_error, "{out:?}\n{}", s.log());
    assert_eq!(c.asker.asked(), [statement(&ns, &yes)]);
    assert!(gone(&ns, &yes).await);
    c.close().await;

    let no = pods(&ns, "mno", 1).await;
    let c = client(&s, Answer::No, true).await;
    let out = c.call("kubectl_delete", delete_group(&ns, "mno")).await;
    assert!(out.is_error && out.text.contains("declined"), "{out:?}");
    assert!(intact(&ns, &no).await);
    c.close().await;
    ns.delete().await;
}

#[tokio::test]
async fn the_python_sdk_answers_at_both_revisions() {
    let ns = test_namespace("cfy").await;
    let s = server(&[]).await;
    for (mode, answer) in [
        ("legacy", "yes"),
        ("legacy", "no"),
        ("2026-07-28", "yes"),
        ("2026-07-28", "no"),
    ] {
        let group = format!("py{}{answer}", if mode == "legacy" { "l" } else { "m" });
        let names = pods(&ns, &group, 2).await;
        let run = python::run(&[
            "--url",
            &s.url,
            "--mode",
            mode,
            "--elicit",
            answer,
            "--call",
            "kubectl_delete",
            "--args",
            &delete_group(&ns, &group).to_string(),
        ])
        .await;
        assert!(run.ok, "{mode} {answer}: {}", run.stderr);
        assert_eq!(
            run.out["asked"],
            json!([statement(&ns, &names)]),
            "{}",
            run.out
        );
        if answer == "yes" {
            assert_eq!(run.out["call"]["is_error"], false, "{}", run.out);
            assert!(gone(&ns, &names).await, "{mode}");
        } else {
            assert_eq!(run.out["call"]["is_error"], true, "{}", run.out);
            assert!(intact(&ns, &names).await, "{mode}");
        }
    }
    ns.delete().await;
}

// ---- the untrusted party: raw 2026-07-28 requests -------------------------

async fn call_2026(url: &str, args: Value, extra: Value, elicitation: bool) -> Value {
    mcp::raw_delete_2026(url, None, args, extra, elicitation).await
}

#[tokio::test]
async fn sealed_state_resists_the_untrusted_party() {
    let ns = test_namespace("cfu").await;
    let key = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key.path(), "a-key-every-replica-of-this-endpoint-shares\n").unwrap();
    let key_file = key.path().to_str().unwrap();
    let a = server(&[("KUBE_MCP_CONFIRM_KEY_FILE", key_file)]).await;
    let names = pods(&ns, "raw", 2).await;
    let args = delete_group(&ns, "raw");

    // The question: input required, the statement, sealed state; nothing done.
    let asked = call_2026(&a.url, args.clone(), json!({}), true).await;
    let state = mcp::request_state(&asked);
    let question = &asked["result"]["inputRequests"]["confirm"];
    assert_eq!(question["method"], "elicitation/create", "{asked}");
    assert_eq!(question["params"]["message"], statement(&ns, &names));
    assert!(intact(&ns, &names).await);

    // Tampered state: a protocol error, nothing done.
    let tampered = call_2026(
        &a.url,
        args.clone(),
        json!({"requestState": format!("{state}-TAMPERED"), "inputResponses": mcp::yes()}),
        true,
    )
    .await;
    assert_eq!(tampered["error"]["code"], -32602, "{tampered}");
    assert!(intact(&ns, &names).await);

    // The state of this call moved onto another call: refused.
    let other = pods(&ns, "other", 1).await;
    let moved = call_2026(
        &a.url,
        delete_group(&ns, "other"),
        json!({"requestState": state, "inputResponses": mcp::yes()}),
        true,
    )
    .await;
    assert_eq!(moved["error"]["code"], -32602, "{moved}");
    assert!(intact(&ns, &other).await);

    // A yes without the state it answers: asked again, nothing done.
    let unasked = call_2026(
        &a.url,
        args.clone(),
        json!({"inputResponses": mcp::yes()}),
        true,
    )
    .await;
    mcp::request_state(&unasked);
    // State without an answer: asked again.
    let no_answer = call_2026(
        &a.url,
        args.clone(),
        json!({"requestState": state, "inputResponses": {"other": {"action": "accept"}}}),
        true,
    )
    .await;
    mcp::request_state(&no_answer);
    // Garbage where the answer goes: a protocol error.
    let garbage = call_2026(
        &a.url,
        args.clone(),
        json!({"requestState": state, "inputResponses": {"confirm": 12345}}),
        true,
    )
    .await;
    assert_eq!(garbage["error"]["code"], -32602, "{garbage}");
    assert!(intact(&ns, &names).await);

    // A replica with another key does not accept it; one with the same key
    // (another process: stateless, any replica) finishes the call.
    let stranger = server(&[]).await;
    let refused = call_2026(
        &stranger.url,
        args.clone(),
        json!({"requestState": state, "inputResponses": mcp::yes()}),
        true,
    )
    .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(intact(&ns, &names).await);
    let b = server(&[
        ("KUBE_MCP_CONFIRM_KEY_FILE", key_file),
        ("KUBE_MCP_STATELESS", "true"),
    ])
    .await;
    let done = call_2026(
        &b.url,
        args.clone(),
        json!({"requestState": state, "inputResponses": mcp::yes()}),
        true,
    )
    .await;
    assert_eq!(done["result"]["isError"], false, "{done}\n{}", b.log());
    assert!(gone(&ns, &names).await);

    // Expired state: refused.
    let short = server(&[("KUBE_MCP_CONFIRM_TIMEOUT_SECONDS", "1")]).await;
    let late = pods(&ns, "late", 1).await;
    let asked = call_2026(&short.url, delete_group(&ns, "late"), json!({}), true).await;
    let state = mcp::request_state(&asked);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let expired = call_2026(
        &short.url,
        delete_group(&ns, "late"),
        json!({"requestState": state, "inputResponses": mcp::yes()}),
        true,
    )
    .await;
    assert_eq!(expired["error"]["code"], -32602, "{expired}");
    assert!(
        expired["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{expired}"
    );
    assert!(intact(&ns, &late).await);

    // A 2026 client without elicitation gets the fallback, never a question.
    let deny = server(&[("KUBE_MCP_CONFIRM_FALLBACK", "deny")]).await;
    let refused = call_2026(&deny.url, delete_group(&ns, "late"), json!({}), false).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(intact(&ns, &late).await);
    ns.delete().await;
}
