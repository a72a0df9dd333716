//! What a tool call hands back to the client: its text and, for data, its
//! structured content, both cut of every Secret value the call saw and both
//! held to the output bound (SPAWN_MAX_BUFFER).

use crate::call::Call;
use crate::tools::{Ctx, Output};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

/// Halvings of the longest array tried before a structured result is left
/// as it is (each halves one array, so a few dozen reach any size).
const MAX_CUTS: usize = 64;

/// A successful call's result, redacted and bounded.
pub fn success(ctx: &Ctx, call: &Call, out: Output) -> CallToolResult {
    let mut result =
        CallToolResult::success(vec![ContentBlock::text(ctx.bound(call.redact(&out.text)))]);
    result.structured_content = out.structured.map(|mut v| {
        call.redact_value(&mut v);
        bound_value(v, ctx.settings.max_output_bytes)
    });
    result
}

/// A failed call's result: the error text, redacted.
pub fn failure(call: &Call, text: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(call.redact(text))])
}

/// `v` cut to at most `max` bytes of JSON by halving its longest arrays, with
/// `"truncated": true` added to a top-level object that was cut (every
/// output schema allows the extra property). The shape stays what the
/// output schema says; text content says how to narrow the request.
pub fn bound_value(mut v: Value, max: usize) -> Value {
    let size = |v: &Value| serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0);
    let mut cut = false;
    for _ in 0..MAX_CUTS {
        if size(&v) <= max {
            break;
        }
        match longest_array(&mut v) {
            Some(items) if !items.is_empty() => {
                items.truncate(items.len() / 2);
                cut = true;
            }
            _ => break,
        }
    }
    if cut && let Some(o) = v.as_object_mut() {
        o.insert("truncated".into(), Value::Bool(true));
    }
    v
}

/// The array with the most elements anywhere in `v`.
fn longest_array(v: &mut Value) -> Option<&mut Vec<Value>> {
    fn len_of(v: &Value) -> usize {
        match v {
            Value::Array(a) => a.len().max(a.iter().map(len_of).max().unwrap_or(0)),
            Value::Object(o) => o.values().map(len_of).max().unwrap_or(0),
            _ => 0,
        }
    }
    let longest = len_of(v);
    if longest == 0 {
        return None;
    }
    fn find(v: &mut Value, want: usize) -> Option<&mut Vec<Value>> {
        match v {
            Value::Array(a) => {
                if a.len() == want {
                    Some(a)
                } else {
                    a.iter_mut().find_map(|i| find(i, want))
                }
            }
            Value::Object(o) => o.values_mut().find_map(|i| find(i, want)),
            _ => None,
        }
    }
    find(v, longest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_small_value_is_left_alone() {
        let v = json!({"items": [1, 2, 3]});
        assert_eq!(bound_value(v.clone(), 1000), v);
    }

    #[test]
    fn the_longest_array_is_halved_until_it_fits() {
        let items: Vec<Value> = (0..1000)
            .map(|i| json!({"name": format!("pod-{i}")}))
            .collect();
        let v = json!({"kind": "List", "tags": ["a", "b"], "items": items});
        let out = bound_value(v, 2000);
        assert!(serde_json::to_vec(&out).unwrap().len() <= 2000);
        assert_eq!(out["truncated"], true);
        assert_eq!(out["kind"], "List");
        assert_eq!(out["tags"], json!(["a", "b"]), "the short array is kept");
        let kept = out["items"].as_array().unwrap();
        assert!(!kept.is_empty() && kept[0]["name"] == "pod-0");
    }

    #[test]
    fn a_value_without_arrays_stays_as_it_is() {
        let v = json!({"description": "x".repeat(500)});
        assert_eq!(bound_value(v.clone(), 100), v);
    }

    #[test]
    fn nested_arrays_are_found() {
        let v = json!({"a": {"b": (0..100).collect::<Vec<_>>()}});
        let out = bound_value(v, 60);
        assert!(out["a"]["b"].as_array().unwrap().len() < 100);
    }
}
