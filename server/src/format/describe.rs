//! A kubectl-describe-like text of any object: the metadata header, then
//! every other top-level field as an indented `key: value` tree.

use super::table::Table;
use jiff::Timestamp;
use serde_json::{Map, Value};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The describe text of a (masked) object, without events.
pub fn object(obj: &Value) -> String {
    let meta = obj.get("metadata").cloned().unwrap_or(Value::Null);
    let s = |p: &str| meta.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let mut head: Vec<(String, String)> = vec![("Name".into(), s("/name").into())];
    if !s("/namespace").is_empty() {
        head.push(("Namespace".into(), s("/namespace").into()));
    }
    head.push(("Labels".into(), labels(meta.get("labels"), "=")));
    head.push(("Annotations".into(), labels(meta.get("annotations"), ": ")));
    for (k, p) in [("API Version", "/apiVersion"), ("Kind", "/kind")] {
        if let Some(v) = obj.pointer(p).and_then(Value::as_str) {
            head.push((k.into(), v.into()));
        }
    }
    for (k, p) in [
        ("Creation Timestamp", "/creationTimestamp"),
        ("Deletion Timestamp", "/deletionTimestamp"),
        ("UID", "/uid"),
        ("Generate Name", "/generateName"),
    ] {
        if !s(p).is_empty() {
            head.push((k.into(), s(p).into()));
        }
    }
    if let Some(owners) = meta.get("ownerReferences").and_then(Value::as_array) {
        let o: Vec<String> = owners
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o.get("kind").and_then(Value::as_str).unwrap_or_default(),
                    o.get("name").and_then(Value::as_str).unwrap_or_default()
                )
            })
            .collect();
        if !o.is_empty() {
            head.push(("Controlled By".into(), o.join(", ")));
        }
    }
    if let Some(f) = meta.get("finalizers").and_then(Value::as_array) {
        let f: Vec<String> = f.iter().map(super::cell).collect();
        head.push(("Finalizers".into(), f.join(", ")));
    }
    let mut out = String::new();
    let width = head.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0) + 2;
    for (k, v) in &head {
        push_aligned(&mut out, "", &format!("{k}:"), width, v);
    }
    if let Some(m) = obj.as_object() {
        for (k, v) in m {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            render_entry(&mut out, "", &title(k), v, 0);
        }
    }
    out
}

/// `key: value` with the value's continuation lines aligned under it.
fn push_aligned(out: &mut String, indent: &str, key: &str, width: usize, value: &str) {
    let pad = " ".repeat(width.saturating_sub(key.len()).max(1));
    let cont = format!("{indent}{}", " ".repeat(key.len() + pad.len()));
    for (i, line) in value.lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("{indent}{key}{pad}{line}\n"));
        } else {
            out.push_str(&format!("{cont}{line}\n"));
        }
    }
    if value.is_empty() {
        out.push_str(&format!("{indent}{key}\n"));
    }
}

/// Labels or annotations one per line, `<none>` when empty.
fn labels(v: Option<&Value>, sep: &str) -> String {
    let Some(m) = v.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return "<none>".into();
    };
    let lines: Vec<String> = m
        .iter()
        .filter(|(k, _)| k.as_str() != LAST_APPLIED)
        .map(|(k, v)| {
            let v = super::cell(v);
            // Long annotation values are cut, as kubectl does.
            let v = if v.len() > 200 {
                let mut cut = 200;
                while !v.is_char_boundary(cut) {
                    cut -= 1;
                }
                format!("{}...", &v[..cut])
            } else {
                v
            };
            format!("{k}{sep}{v}")
        })
        .collect();
    if lines.is_empty() {
        "<none>".into()
    } else {
        lines.join("\n")
    }
}

/// `fooBarBaz` -> `Foo Bar Baz`, as kubectl's generic describer labels fields.
pub fn title(key: &str) -> String {
    if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return key.to_string();
    }
    let mut out = String::new();
    let chars: Vec<char> = key.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if i == 0 {
            out.push(c.to_ascii_uppercase());
            continue;
        }
        let prev = chars[i - 1];
        // `URLPath` -> `URL Path`, but `podIPs` -> `Pod IPs`.
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
            && chars.get(i + 2).is_some_and(|n| n.is_ascii_lowercase());
        if c.is_ascii_uppercase()
            && (prev.is_ascii_lowercase() || (prev.is_ascii_uppercase() && next_lower))
        {
            out.push(' ');
        }
        out.push(*c);
    }
    out
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

fn render_entry(out: &mut String, indent: &str, key: &str, v: &Value, width: usize) {
    match v {
        Value::Object(m) if m.is_empty() => {
            push_aligned(out, indent, &format!("{key}:"), width, "<none>")
        }
        Value::Object(m) => {
            out.push_str(&format!("{indent}{key}:\n"));
            render_map(out, &format!("{indent}  "), m);
        }
        Value::Array(a) if a.is_empty() => {
            push_aligned(out, indent, &format!("{key}:"), width, "<none>")
        }
        Value::Array(a) if a.iter().all(is_scalar) => {
            let cells: Vec<String> = a.iter().map(super::cell).collect();
            let joined = cells.join(", ");
            if joined.len() <= 80 && !joined.contains('\n') {
                push_aligned(out, indent, &format!("{key}:"), width, &joined);
            } else {
                out.push_str(&format!("{indent}{key}:\n"));
                for c in cells {
                    push_aligned(out, &format!("{indent}  "), "-", 2, &c);
                }
            }
        }
        Value::Array(a) => {
            out.push_str(&format!("{indent}{key}:\n"));
            for item in a {
                let mut inner = String::new();
                match item {
                    Value::Object(m) => render_map(&mut inner, "", m),
                    other => inner.push_str(&format!("{}\n", super::cell(other))),
                }
                out.push_str(&super::list_item(
                    &format!("{indent}  - "),
                    &format!("{indent}    "),
                    &inner,
                ));
            }
        }
        scalar => push_aligned(out, indent, &format!("{key}:"), width, &super::cell(scalar)),
    }
}

/// A map's scalar entries aligned, then its nested entries.
fn render_map(out: &mut String, indent: &str, m: &Map<String, Value>) {
    let width = m
        .iter()
        .filter(|(_, v)| is_scalar(v))
        .map(|(k, _)| title(k).len() + 1)
        .max()
        .unwrap_or(0)
        + 2;
    for (k, v) in m {
        render_entry(out, indent, &title(k), v, width);
    }
}

/// The time an event last happened: lastTimestamp, eventTime, the series'
/// last observation or its creation, whichever it has.
pub fn event_time(e: &Value) -> String {
    [
        "/lastTimestamp",
        "/series/lastObservedTime",
        "/eventTime",
        "/deprecatedLastTimestamp",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| {
        e.pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    })
    .unwrap_or_default()
    .to_string()
}

/// kubectl describe's Events section for events already sorted oldest first.
pub fn events(list: &[Value], now: Timestamp) -> String {
    if list.is_empty() {
        return "Events:  <none>\n".into();
    }
    let mut t = Table::new(["Type", "Reason", "Age", "From", "Message"]);
    t.push(["----", "------", "----", "----", "-------"]);
    for e in list {
        let s = |p: &str| e.pointer(p).and_then(Value::as_str).unwrap_or_default();
        let last = super::age::since(&event_time(e), now);
        let count = e
            .get("count")
            .or_else(|| e.pointer("/series/count"))
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let first = s("/firstTimestamp");
        let age = if count > 1 && !first.is_empty() {
            format!("{last} (x{count} over {})", super::age::since(first, now))
        } else {
            last
        };
        let from = [
            "/source/component",
            "/reportingComponent",
            "/reportingController",
        ]
        .iter()
        .find_map(|p| {
            e.pointer(p)
                .and_then(Value::as_str)
                .filter(|x| !x.is_empty())
        })
        .unwrap_or_default();
        let message = s("/message").trim().replace('\n', " ");
        t.push([
            s("/type"),
            s("/reason"),
            age.as_str(),
            from,
            message.as_str(),
        ]);
    }
    let body = t.render(true);
    let mut out = "Events:\n".to_string();
    for line in body.lines() {
        out.push_str("  ");
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
    fn titles() {
        for (k, want) in [
            ("replicas", "Replicas"),
            ("podIP", "Pod IP"),
            ("matchLabels", "Match Labels"),
            ("hostIPs", "Host IPs"),
            ("app.kubernetes.io/name", "app.kubernetes.io/name"),
            ("URLPath", "URL Path"),
        ] {
            assert_eq!(title(k), want, "{k}");
        }
    }

    #[test]
    fn object_text() {
        let obj = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "team",
                "labels": {"app": "web", "tier": "front"},
                "annotations": {LAST_APPLIED: "{\"big\":true}"},
                "ownerReferences": [{"kind": "Thing", "name": "owner"}]
            },
            // Keys in sorted order, so the test holds with or without
            // serde_json's preserve_order.
            "spec": {
                "empty": {},
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"args": ["a", "b"], "image": "nginx", "name": "c"}]}}
            }
        });
        let text = object(&obj);
        let want = "\
Name:           web
Namespace:      team
Labels:         app=web
                tier=front
Annotations:    <none>
API Version:    apps/v1
Kind:           Deployment
Controlled By:  Thing/owner
Spec:
  Empty:     <none>
  Replicas:  2
  Selector:
    Match Labels:
      App:  web
  Template:
    Spec:
      Containers:
        - Args:   a, b
          Image:  nginx
          Name:   c
";
        assert_eq!(text, want, "\n{text}");
    }

    #[test]
    fn nested_maps_in_list_items_keep_every_key() {
        let obj = json!({"status": {"containerStatuses": [
            {"name": "web", "state": {"running": {"startedAt": "t"}}}
        ]}});
        let text = object(&obj);
        assert!(
            text.contains("      State:\n        Running:\n          Started At:  t\n"),
            "{text}"
        );
    }

    #[test]
    fn events_section() {
        let now: Timestamp = "2026-01-01T01:00:00Z".parse().unwrap();
        assert_eq!(events(&[], now), "Events:  <none>\n");
        let e = json!({
            "type": "Warning", "reason": "BackOff", "message": "Back-off\nrestarting",
            "count": 5, "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:59:00Z",
            "source": {"component": "kubelet"}
        });
        let text = events(&[e], now);
        assert!(
            text.starts_with("Events:\n  Type      Reason    Age"),
            "{text}"
        );
        assert!(
            text.contains("Warning   BackOff   60s (x5 over 60m)   kubelet   Back-off restarting"),
            "{text}"
        );
    }

    #[test]
    fn event_times_fall_back() {
        assert_eq!(event_time(&json!({"eventTime": "t1"})), "t1");
        assert_eq!(
            event_time(&json!({"lastTimestamp": null, "metadata": {"creationTimestamp": "t2"}})),
            "t2"
        );
    }
}
