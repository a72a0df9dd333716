//! Rendering shared by the read tools: kubectl-style tables, ages, a small
//! JSONPath subset, and the generic describe text. Pure functions only, so
//! all of it is unit-tested without a cluster.

pub mod age;
pub mod describe;
pub mod jsonpath;
pub mod table;

use serde_json::Value;

/// A JSON value as one table cell: strings bare, null as `<none>`,
/// objects and arrays as compact JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "<none>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// YAML text of a value (serde-saphyr), with a JSON fallback so a value
/// that YAML cannot express is still shown.
pub fn yaml(v: &Value) -> String {
    serde_saphyr::to_string(v)
        .unwrap_or_else(|_| serde_json::to_string_pretty(v).unwrap_or_default())
}

/// Pretty JSON text of a value.
pub fn json(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Indents every line of `text` but the first by `pad` and prefixes the
/// first with `first`, for YAML list items.
pub fn list_item(first: &str, pad: &str, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(first);
        } else if !line.is_empty() {
            out.push_str(pad);
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells() {
        for (v, want) in [
            (json!(null), "<none>"),
            (json!("x"), "x"),
            (json!(3), "3"),
            (json!(true), "true"),
            (json!(["a", 1]), "[\"a\",1]"),
        ] {
            assert_eq!(cell(&v), want);
        }
    }

    #[test]
    fn yaml_list_items_parse_back() {
        let items = [
            json!({"a": {"b": [1, 2]}, "s": "multi\nline\ntext\n"}),
            json!({"c": "d"}),
        ];
        let mut text = "items:\n".to_string();
        for i in &items {
            text.push_str(&list_item("- ", "  ", &yaml(i)));
        }
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back["items"], Value::Array(items.to_vec()));
    }
}
