//! Generated tests. The masking invariant: a random Secret value, in random
//! shapes (objects, SecretLists, Lists, Table rows, last-applied
//! annotations, API errors), never appears in anything the server renders.
//! And every parser that takes client input answers bad input with an
//! error, never a panic. Bounded: proptest's case count (PROPTEST_CASES
//! raises it for a longer run).

use base64::Engine;
use kube_mcp_server::audit::{self, Audit, Rotating, Sink};
use kube_mcp_server::call::Call;
use kube_mcp_server::config::{AuditLevel, SecretsMode};
use kube_mcp_server::format::{self, jsonpath::Path};
use kube_mcp_server::gate::{self, Target};
use kube_mcp_server::mask;
use kube_mcp_server::tools::{duration, flags, generic, get, manifest};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A value worth stealing: long enough that finding it is not chance.
fn secret_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/=_.:@ -]{10,40}".prop_filter("not only spaces", |s| s.trim().len() >= 8)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A Secret holding `v` in data (base64), stringData (plain) and in the
/// last-applied annotation kubectl writes.
fn secret(v: &str, key: &str) -> Value {
    let last = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                      "data": {key: b64(v)}, "stringData": {key: v}})
    .to_string();
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last}},
        "type": "Opaque",
        "data": {key: b64(v), "other": b64("not-secret")},
        "stringData": {key: v},
    })
}

/// The Secret in one of the shapes the API server returns.
fn shaped(v: &str, key: &str, shape: u8) -> Value {
    let s = secret(v, key);
    match shape % 5 {
        0 => s,
        1 => {
            // A typed SecretList: items carry no kind.
            let mut item = s;
            item.as_object_mut().map(|o| o.remove("kind"));
            json!({"apiVersion": "v1", "kind": "SecretList", "items": [item]})
        }
        2 => {
            json!({"apiVersion": "v1", "kind": "List", "items": [{"kind": "ConfigMap", "data": {"k": "v"}}, s]})
        }
        3 => json!({"kind": "Table", "rows": [{"cells": ["s", "Opaque", 2],
                     "object": {"kind": "PartialObjectMetadata", "metadata": s["metadata"].clone()}}]}),
        _ => json!({"kind": "List", "items": [{"kind": "SecretList", "items": [s]}]}),
    }
}

/// A tool call's arguments carrying `v` in one of the ways a client can
/// send a Secret value or a credential; (tool, arguments). Tokens in
/// headers and URLs are `v` without spaces and quotes.
fn call_with(v: &str, key: &str, shape: u8) -> (&'static str, Value) {
    let token = as_token(v);
    match shape % 10 {
        0 => (
            "kubectl_apply",
            json!({"manifest": format::yaml(&secret(v, key))}),
        ),
        1 => (
            "kubectl_create",
            json!({"manifest": json!({"kind": "List", "items": [secret(v, key)]}).to_string()}),
        ),
        2 => (
            "kubectl_patch",
            json!({"resourceType": "secret", "name": "s", "patchData": {"stringData": {key: v}, "data": {key: b64(v)}}}),
        ),
        3 => (
            "kubectl_patch",
            json!({"resourceType": "Secret", "name": "s", "patchType": "json",
                "patchData": [{"op": "replace", "path": format!("/data/{key}"), "value": b64(v)}]}),
        ),
        4 => (
            "kubectl_create",
            json!({"resourceType": "secret", "name": "s", "fromLiteral": [format!("{key}={v}")],
                "fromFileContent": [format!("tls.key={v}")]}),
        ),
        5 => (
            "install_helm_chart",
            json!({"name": "db", "chart": "db", "values": {"auth": {"rootPassword": v, "apiKey": v}}}),
        ),
        6 => (
            "kubectl_generic",
            json!({"command": "get", "args": ["pods", format!("--token={v}"), "--password", v]}),
        ),
        7 => (
            "exec_in_pod",
            json!({"name": "p", "command": ["curl", "-H", format!("Authorization: Bearer {token}"), format!("https://u:{token}@h/x")]}),
        ),
        8 => (
            "kubectl_generic",
            json!({"command": "create", "resourceType": "secret", "args": ["generic", "s", format!("--from-literal={key}={v}")],
                "flags": {"token": v}}),
        ),
        _ => (
            "kubectl_create",
            json!({"resourceType": "secret", "name": "s", "secretType": "generic", "fromLiteral": [format!("{key}={}", b64(v))]}),
        ),
    }
}

fn as_token(v: &str) -> String {
    v.replace([' ', '\'', '"'], "_")
}

fn absent(text: &str, v: &str) -> Result<(), TestCaseError> {
    prop_assert!(!text.contains(v), "plain value in:\n{}", text);
    prop_assert!(!text.contains(&b64(v)), "base64 value in:\n{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn masked_objects_render_without_the_value(v in secret_value(), key in "[a-z]{1,12}", shape in 0u8..5) {
        let mut obj = shaped(&v, &key, shape);
        let seen = mask::redact_collect(&mut obj, SecretsMode::Masked);
        prop_assert!(seen.contains(&v), "the value was not remembered: {seen:?}");
        for text in [format::json(&obj), format::yaml(&obj), obj.to_string()] {
            absent(&text, &v)?;
        }
        // Columns a client may ask for.
        for spec in ["D:.data", "S:.stringData", "K:.data.*", "A:.metadata.annotations", "I:.items[*].data"] {
            if let Ok(cols) = get::custom_columns(spec) {
                let row = get::custom_row(&cols, &obj, jiff::Timestamp::UNIX_EPOCH);
                absent(&row.iter().collect::<Vec<_>>().join(" "), &v)?;
            }
        }
        // A masked object stays masked when masked again.
        let again = obj.clone();
        mask::redact(&mut obj, SecretsMode::Masked);
        prop_assert_eq!(obj, again);
    }

    #[test]
    fn text_manifests_are_masked(v in secret_value(), key in "[a-z]{1,12}") {
        let obj = secret(&v, &key);
        for text in [obj.to_string(), format::yaml(&obj)] {
            absent(&mask::redact_text(&text, SecretsMode::Masked), &v)?;
        }
    }

    #[test]
    fn api_errors_about_a_secret_lose_the_values(v in secret_value(), noise in "[a-z ]{0,20}") {
        // Go's %q quoting, as the API server writes field errors.
        let quoted = serde_json::to_string(&v).unwrap();
        let message = format!("Secret \"s\" is invalid: type: Invalid value: {quoted}: {noise}");
        absent(&gate::mask_invalid_values(&message), &v)?;
        let status = json!({"kind": "Status", "message": message, "details": {"causes": [{"message": format!("Invalid value: {quoted}")}]}});
        absent(&gate::mask_invalid_values(&status.to_string()), &v)?;
        // And a value the call saw is cut from any text of that call.
        let call = Call::new(Arc::default());
        let mut obj = secret(&v, "k");
        call.saw_secret_values(mask::redact_collect(&mut obj, SecretsMode::Masked));
        absent(&call.redact(&format!("{noise} {v} {} {noise}", b64(&v))), &v)?;
    }

    #[test]
    fn audit_records_never_hold_a_secret_value_or_token(v in secret_value(), key in "[a-z]{1,12}", shape in 0u8..10) {
        let (tool, args) = call_with(&v, &key, shape);
        let sent = if shape == 7 { as_token(&v) } else { v.clone() };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let audit = Audit::new(
            AuditLevel::Request,
            None,
            Sink::File(Mutex::new(Rotating::open(path.clone(), 1 << 20).unwrap())),
        );
        let pending = audit.begin(tool, args.as_object());
        // The call failed with a message quoting what it was sent.
        let outcome = audit::Outcome::ToolError { reason: format!("cannot use {args}: {sent} / {}", b64(&sent)) };
        audit.finish(pending, &Default::default(), outcome, None, 0);
        let record = std::fs::read_to_string(&path).unwrap();
        prop_assert!(record.contains("\"arguments\""), "{}", record);
        absent(&record, &sent)?;
    }

    #[test]
    fn json_patches_on_secrets_are_refused_exactly_when_they_read(
        ops in prop::collection::vec((prop::sample::select(vec!["add", "remove", "replace", "copy", "move", "test", "Copy"]), "/[a-z/]{1,20}"), 0..6)
    ) {
        let body: Vec<Value> = ops.iter().map(|(op, path)| json!({"op": op, "path": path, "from": "/data/x", "value": "v"})).collect();
        let reads = ops.iter().any(|(op, _)| matches!(op.to_ascii_lowercase().as_str(), "copy" | "move" | "test"));
        let bytes = serde_json::to_vec(&body).unwrap();
        prop_assert_eq!(gate::check_json_patch(&bytes).is_err(), reads);
    }

    #[test]
    fn parsers_answer_any_input_without_panicking(s in "\\PC{0,80}") {
        let _ = Path::parse(&s);
        let _ = get::custom_columns(&s);
        let _ = duration::parse(&s);
        let _ = manifest::parse(&s);
        let _ = Target::parse(&s);
        let _ = generic::label_changes(std::slice::from_ref(&s));
        let _ = flags::screen(None, &[s.clone(), s.clone()], None);
        let _ = gate::check_json_patch(s.as_bytes());
        let _ = gate::mask_invalid_values(&s);
    }

    #[test]
    fn durations_round_trip(n in 0u64..100_000, unit in prop::sample::select(vec![("s", 1u64), ("m", 60), ("h", 3600), ("d", 86400)])) {
        let d = duration::parse(&format!("{n}{}", unit.0)).unwrap();
        prop_assert_eq!(d.as_secs(), n * unit.1);
    }

    #[test]
    fn manifests_round_trip_through_yaml_and_json(name in "[a-z][a-z0-9-]{0,20}", n in 1usize..5) {
        let docs: Vec<Value> = (0..n).map(|i| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("{name}-{i}")}, "data": {"k": format!("v{i}")}})).collect();
        let yaml = docs.iter().map(format::yaml).collect::<Vec<_>>().join("---\n");
        prop_assert_eq!(manifest::parse(&yaml).unwrap(), docs.clone());
        prop_assert_eq!(manifest::parse(&serde_json::to_string(&docs).unwrap()).unwrap(), docs);
    }
}
