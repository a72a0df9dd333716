//! Secret masking. Every output of every tool passes through [`redact`]
//! before it is rendered as JSON, YAML, a table or describe text, so one
//! function decides what of a Secret leaves the server.

use crate::config::SecretsMode;
use serde_json::Value;

pub const MASK: &str = "***";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Masks Secret values anywhere inside `v` (objects, lists, List kinds,
/// Table rows, nested `items`) unless `mode` is [`SecretsMode::Visible`].
/// managedFields are dropped for every object, as kubectl does by default.
pub fn redact(v: &mut Value, mode: SecretsMode) {
    walk(v, mode != SecretsMode::Visible, false, &mut vec![]);
}

/// [`redact`], returning the values it replaced in the forms they can take
/// in text: as stored (base64) and decoded, when that is text.
pub fn redact_collect(v: &mut Value, mode: SecretsMode) -> Vec<String> {
    let mut seen = vec![];
    walk(v, mode != SecretsMode::Visible, false, &mut seen);
    seen
}

fn remember(value: &Value, seen: &mut Vec<String>) {
    use base64::Engine;
    match value {
        Value::String(s) => {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s)
                && let Ok(text) = String::from_utf8(bytes)
            {
                seen.push(text);
            }
            seen.push(s.clone());
        }
        Value::Object(m) => m.values().for_each(|x| remember(x, seen)),
        Value::Array(a) => a.iter().for_each(|x| remember(x, seen)),
        _ => {}
    }
}

/// `in_secret_list`: the value is an item of a SecretList, whose items carry
/// no `kind` of their own.
fn walk(v: &mut Value, mask: bool, in_secret_list: bool, seen: &mut Vec<String>) {
    match v {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| walk(i, mask, in_secret_list, seen)),
        Value::Object(obj) => {
            let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
            let is_secret = kind == "Secret"
                || (in_secret_list && !obj.contains_key("kind") && looks_like_object(obj));
            let is_secret_list = kind == "SecretList";
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("managedFields");
                // Checked on every object, not only Secrets: Table rows carry a
                // Secret's metadata as a PartialObjectMetadata.
                if mask
                    && let Some(last) = meta
                        .get_mut("annotations")
                        .and_then(Value::as_object_mut)
                        .and_then(|a| a.get_mut(LAST_APPLIED))
                    && let Some(masked) =
                        mask_embedded(last.as_str().unwrap_or_default(), is_secret, seen)
                {
                    *last = Value::String(masked);
                }
            }
            if mask && is_secret {
                for field in ["data", "stringData"] {
                    match obj.get_mut(field) {
                        Some(Value::Object(data)) => data.values_mut().for_each(|x| {
                            remember(x, seen);
                            *x = Value::String(MASK.into())
                        }),
                        Some(other @ (Value::String(_) | Value::Array(_))) => {
                            remember(other, seen);
                            *other = Value::String(MASK.into())
                        }
                        _ => {}
                    }
                }
            }
            for (key, child) in obj.iter_mut() {
                // Table rows hold partial objects under `object`; lists hold `items`.
                let child_in_list = is_secret_list && key == "items";
                if key != "data" || !is_secret {
                    walk(child, mask, child_in_list, seen);
                }
            }
        }
        _ => {}
    }
}

fn looks_like_object(obj: &serde_json::Map<String, Value>) -> bool {
    obj.contains_key("metadata")
}

/// The last-applied annotation is a JSON document of its own. Returns the
/// replacement when it holds a Secret (masked inside), or when it cannot be
/// read on an object known to be a Secret (hidden whole rather than leaked).
fn mask_embedded(text: &str, outer_is_secret: bool, seen: &mut Vec<String>) -> Option<String> {
    match serde_json::from_str::<Value>(text) {
        Ok(mut inner) if inner.get("kind").and_then(Value::as_str) == Some("Secret") => {
            walk(&mut inner, true, false, seen);
            Some(serde_json::to_string(&inner).unwrap_or_else(|_| MASK.into()))
        }
        Ok(_) if !outer_is_secret => None,
        _ if outer_is_secret => {
            seen.push(text.to_string());
            Some(MASK.into())
        }
        _ => None,
    }
}

/// Masks Secret values inside YAML or JSON text (one or many documents), for
/// text that did not come from the API as a value, such as a manifest echoed
/// back. Text that is not YAML/JSON is returned unchanged.
pub fn redact_text(text: &str, mode: SecretsMode) -> String {
    if mode == SecretsMode::Visible {
        return text.to_string();
    }
    if let Ok(mut v) = serde_json::from_str::<Value>(text) {
        redact(&mut v, mode);
        return serde_json::to_string_pretty(&v).unwrap_or_default();
    }
    let docs: Result<Vec<Value>, _> = serde_saphyr::from_multiple(text);
    match docs {
        Ok(mut docs) if docs.iter().any(|d| d.is_object()) => {
            docs.iter_mut().for_each(|d| redact(d, mode));
            docs.iter()
                .map(|d| serde_saphyr::to_string(d).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("---\n")
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn masked(mut v: Value) -> Value {
        redact(&mut v, SecretsMode::Masked);
        v
    }

    #[test]
    fn a_secret_keeps_its_keys_and_loses_its_values() {
        let v = masked(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "managedFields": [{"manager": "kubectl"}],
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration":
                        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"password\":\"aHVudGVyMg==\"},\"stringData\":{\"token\":\"plain\"}}",
                    "other": "kept"}},
            "type": "Opaque",
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="},
            "stringData": {"token": "plain"}
        }));
        assert_eq!(v["data"], json!({"password": "***", "user": "***"}));
        assert_eq!(v["stringData"], json!({"token": "***"}));
        assert_eq!(v["type"], "Opaque");
        assert_eq!(v["metadata"]["annotations"]["other"], "kept");
        assert!(v["metadata"].get("managedFields").is_none());
        let last = v["metadata"]["annotations"][LAST_APPLIED].as_str().unwrap();
        assert!(
            !last.contains("aHVudGVyMg==") && !last.contains("plain"),
            "{last}"
        );
        assert!(last.contains("\"password\":\"***\""));
    }

    #[test]
    fn lists_list_kinds_and_nested_items() {
        // A typed SecretList's items carry no kind; a List holds mixed kinds.
        let v = masked(json!({
            "kind": "List",
            "items": [
                {"kind": "SecretList", "items": [{"metadata": {"name": "a"}, "data": {"k": "dmFs"}}]},
                {"kind": "Secret", "metadata": {"name": "b"}, "data": {"k": "dmFs"}},
                {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "visible"}}
            ]
        }));
        assert_eq!(v["items"][0]["items"][0]["data"]["k"], "***");
        assert_eq!(v["items"][1]["data"]["k"], "***");
        assert_eq!(
            v["items"][2]["data"]["k"], "visible",
            "a ConfigMap is not a Secret"
        );
    }

    #[test]
    fn a_table_row_of_a_secret_hides_its_last_applied_values() {
        let last = "{\"kind\":\"Secret\",\"data\":{\"k\":\"dmFs\"}}";
        let v = masked(json!({"kind": "Table", "rows": [{"cells": ["s"], "object":
            {"kind": "PartialObjectMetadata", "metadata": {"annotations": {LAST_APPLIED: last}}}}]}));
        let got = v["rows"][0]["object"]["metadata"]["annotations"][LAST_APPLIED]
            .as_str()
            .unwrap();
        assert!(!got.contains("dmFs"), "{got}");
    }

    #[test]
    fn unreadable_last_applied_is_hidden_whole() {
        let v = masked(
            json!({"kind": "Secret", "metadata": {"annotations": {LAST_APPLIED: "{not json"}}}),
        );
        assert_eq!(v["metadata"]["annotations"][LAST_APPLIED], "***");
    }

    #[test]
    fn visible_mode_changes_no_value() {
        let mut v = json!({"kind": "Secret", "metadata": {}, "data": {"k": "dmFs"}});
        redact(&mut v, SecretsMode::Visible);
        assert_eq!(v["data"]["k"], "dmFs");
    }

    #[test]
    fn yaml_and_json_text() {
        let yaml = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: dmFs\n---\nkind: ConfigMap\ndata:\n  k: v\n";
        let out = redact_text(yaml, SecretsMode::Masked);
        assert!(!out.contains("dmFs"), "{out}");
        assert!(out.contains("k: v") || out.contains("k: 'v'"), "{out}");
        let json = r#"{"kind":"Secret","metadata":{},"stringData":{"k":"plain"}}"#;
        assert!(!redact_text(json, SecretsMode::Masked).contains("plain"));
        assert_eq!(redact_text("just words", SecretsMode::Masked), "just words");
    }
}
