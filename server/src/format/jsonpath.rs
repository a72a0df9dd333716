//! The JSONPath subset kubectl users write in `--sort-by` and
//! `custom-columns`: `.a.b`, `{.a.b}`, `.a[0]`, `.a[*].b`, `['x.y']` and
//! `a\.b` for keys with dots.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
    All,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path(Vec<Step>);

impl Path {
    pub fn parse(text: &str) -> Result<Path, String> {
        let mut t = text.trim();
        if let Some(inner) = t.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            t = inner.trim();
        }
        let t = t.strip_prefix('$').unwrap_or(t);
        let chars: Vec<char> = t.chars().collect();
        let mut steps = vec![];
        let mut i = 0;
        let bad = |why: &str| format!("unsupported JSONPath {text:?}: {why}");
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let mut key = String::new();
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        key.push(chars[i]);
                        i += 1;
                    }
                    if !key.is_empty() {
                        steps.push(Step::Key(key));
                    }
                }
                '[' => {
                    let end = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| bad("unclosed ["))?;
                    let inner: String = chars[i + 1..end].iter().collect();
                    let inner = inner.trim();
                    if inner == "*" {
                        steps.push(Step::All);
                    } else if let Ok(n) = inner.parse::<i64>() {
                        steps.push(Step::Index(n));
                    } else if let Some(k) = inner
                        .strip_prefix('\'')
                        .and_then(|x| x.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
                    {
                        steps.push(Step::Key(k.to_string()));
                    } else {
                        return Err(bad("only [n], [*] and ['key'] are supported"));
                    }
                    i = end + 1;
                }
                _ if steps.is_empty() => {
                    // A leading name without a dot: `metadata.name`.
                    let mut key = String::new();
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        key.push(chars[i]);
                        i += 1;
                    }
                    steps.push(Step::Key(key));
                }
                c => return Err(bad(&format!("unexpected {c:?}"))),
            }
        }
        Ok(Path(steps))
    }

    /// Whether the path starts with the key `first` (e.g. `metadata`).
    pub fn is_under(&self, first: &str) -> bool {
        matches!(self.0.first(), Some(Step::Key(k)) if k == first)
    }

    /// Every value the path reaches in `v`.
    pub fn eval<'a>(&self, v: &'a Value) -> Vec<&'a Value> {
        let mut cur = vec![v];
        for step in &self.0 {
            let mut next = vec![];
            for x in cur {
                match (step, x) {
                    (Step::Key(k), Value::Object(m)) => next.extend(m.get(k)),
                    (Step::Index(n), Value::Array(a)) => {
                        let idx = if *n < 0 { a.len() as i64 + n } else { *n };
                        if idx >= 0 {
                            next.extend(a.get(idx as usize));
                        }
                    }
                    (Step::All, Value::Array(a)) => next.extend(a.iter()),
                    (Step::All, Value::Object(m)) => next.extend(m.values()),
                    _ => {}
                }
            }
            cur = next;
        }
        cur
    }

    /// The values as one cell: `<none>` when absent, comma-joined when many.
    pub fn cell(&self, v: &Value) -> String {
        let found = self.eval(v);
        if found.is_empty() {
            return "<none>".into();
        }
        found
            .into_iter()
            .map(super::cell)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Orders two values for sorting: numbers numerically, absent values
/// first, everything else by its text (RFC3339 timestamps sort correctly).
pub fn compare(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or_default()
            .total_cmp(&y.as_f64().unwrap_or_default()),
        (Some(x), Some(y)) => super::cell(x).cmp(&super::cell(y)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj() -> Value {
        json!({
            "metadata": {"name": "p", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]},
            "status": {"count": 3}
        })
    }

    #[test]
    fn paths() {
        let o = obj();
        for (path, want) in [
            (".metadata.name", "p"),
            ("{.metadata.name}", "p"),
            ("metadata.name", "p"),
            ("$.metadata.name", "p"),
            (".spec.containers[0].image", "x"),
            (".spec.containers[-1].name", "b"),
            (".spec.containers[*].name", "a,b"),
            (".metadata.labels.app\\.kubernetes\\.io/name", "web"),
            (".metadata.labels['app.kubernetes.io/name']", "web"),
            (".status.count", "3"),
            (".status.missing", "<none>"),
            (".spec.containers[5].name", "<none>"),
        ] {
            assert_eq!(Path::parse(path).unwrap().cell(&o), want, "{path}");
        }
    }

    #[test]
    fn bad_paths_say_why() {
        assert!(Path::parse(".a[").unwrap_err().contains("unclosed"));
        assert!(Path::parse(".a[?(@.x)]").is_err());
        assert!(Path::parse(".metadata.name").unwrap().is_under("metadata"));
        assert!(!Path::parse(".status.phase").unwrap().is_under("metadata"));
    }

    #[test]
    fn ordering() {
        use std::cmp::Ordering::*;
        for (a, b, want) in [
            (json!(2), json!(10), Less),
            (
                json!("2026-01-02T00:00:00Z"),
                json!("2026-01-01T00:00:00Z"),
                Greater,
            ),
            (json!("a"), json!("a"), Equal),
        ] {
            assert_eq!(compare(Some(&a), Some(&b)), want);
        }
        assert_eq!(compare(None, Some(&json!(1))), Less);
    }
}
