//! A tool call's arguments as the audit log keeps them: Secret values,
//! tokens and passwords replaced by `***`, long values cut.
//!
//! What is masked, whatever the server's Secrets mode:
//! - Secrets inside manifests (`data`, `stringData`, the last-applied copy),
//!   through [`crate::mask`], plus any `stringData`, and `data` of any
//!   object whose kind names a Secret;
//! - every value under a key that names a credential (token, password,
//!   secret, apiKey, ...), except keys that only refer to one (`...Name`,
//!   `...Ref`, `...Type`);
//! - on a call about Secrets (`resourceType` secret), every argument but
//!   those that address the object (name, namespace, ...), keeping the keys
//!   of `key=value` pairs;
//! - command-line flags that carry credentials (`--token=x`, `--password x`)
//!   and `Bearer`/`Basic` credentials or URL passwords in any string.
//!
//! Free-form text that hides a value in none of these shapes (a password
//! inside a shell command) is not recognised: use the `metadata` level where
//! commands carry credentials.

use crate::config::SecretsMode;
use crate::mask::{self, MASK};
use serde_json::{Map, Value};

/// Longest string kept whole, in bytes.
pub const MAX_STRING: usize = 512;
/// Most items kept of one array.
pub const MAX_ITEMS: usize = 64;
/// Deepest nesting kept.
const MAX_DEPTH: usize = 12;
/// Bytes of strings kept across all arguments.
const BUDGET: usize = 16 * 1024;

/// The redacted arguments and the values that were masked (to cut them from
/// any other text of the same record).
#[derive(Debug, Default)]
pub struct Redacted {
    pub value: Value,
    pub masked: Vec<String>,
}

/// The arguments that only address an object; on a call about Secrets,
/// every other argument is masked.
const ADDRESSING: &[&str] = &[
    "resourceType",
    "name",
    "namespace",
    "context",
    "command",
    "subCommand",
    "output",
    "outputFormat",
    "dryRun",
    "patchType",
    "labelSelector",
    "fieldSelector",
    "allNamespaces",
    "secretType",
    "force",
    "gracePeriod",
    "timeout",
    "validate",
    "filename",
    "patchFile",
];

/// Redacts and bounds a call's arguments.
pub fn arguments(args: &Map<String, Value>) -> Redacted {
    let secret_call = args
        .get("resourceType")
        .and_then(Value::as_str)
        .is_some_and(names_secret);
    let mut w = Walker {
        masked: vec![],
        budget: BUDGET,
    };
    let mut out = args.clone();
    for (k, v) in out.iter_mut() {
        if secret_call && !ADDRESSING.contains(&k.as_str()) {
            // Lists of `key=value` pairs (fromLiteral, --from-literal=)
            // keep their keys; anything else is masked whole.
            let pairs = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
            w.mask_leaves(v, None, pairs);
        }
        w.walk(v, Some(k), 1);
    }
    Redacted {
        value: Value::Object(out),
        masked: w.masked,
    }
}

/// `text` without any of `masked`, nor inline credentials.
pub fn text(text: &str, masked: &[String]) -> String {
    let mut out = inline_credentials(text, &mut vec![]);
    for v in masked {
        if v.len() >= crate::call::MIN_REDACTED_LEN && out.contains(v.as_str()) {
            out = out.replace(v.as_str(), MASK);
        }
    }
    out
}

/// A resource type argument that means Secrets (`secret`, `Secrets`,
/// `v1/secrets`, `secrets.v1.`).
fn names_secret(resource_type: &str) -> bool {
    resource_type
        .to_ascii_lowercase()
        .split(['/', '.', ' '])
        .any(|p| p == "secret" || p == "secrets")
}

/// A key whose value is a credential (but not one that only names one).
pub fn sensitive_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let names_one = [
        "token",
        "pass",
        "pwd",
        "secret",
        "credential",
        "apikey",
        "privatekey",
        "authorization",
        "cookie",
    ]
    .iter()
    .any(|w| k.contains(w));
    let refers = ["name", "names", "ref", "refs", "type", "namespace"]
        .iter()
        .any(|s| k.ends_with(s));
    names_one && !refers
}

struct Walker {
    masked: Vec<String>,
    budget: usize,
}

impl Walker {
    /// Keeps a masked value in the forms other text may quote it: as sent,
    /// base64-decoded, and base64-encoded (as a Secret stores it).
    fn remember(&mut self, s: &str) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        if let Ok(bytes) = b64.decode(s.trim())
            && let Ok(text) = String::from_utf8(bytes)
        {
            self.masked.push(text);
        }
        self.masked.push(b64.encode(s));
        self.masked.push(s.to_string());
    }

    /// Replaces every leaf of `v` by `***`, keeping object keys and the
    /// JSON-patch fields that only address (`op`, `path`, `from`); with
    /// `pairs`, the key of a `key=value` string too.
    fn mask_leaves(&mut self, v: &mut Value, key: Option<&str>, pairs: bool) {
        match v {
            Value::Object(m) => m
                .iter_mut()
                .for_each(|(k, c)| self.mask_leaves(c, Some(k), pairs)),
            Value::Array(a) => a.iter_mut().for_each(|c| self.mask_leaves(c, key, pairs)),
            Value::Null | Value::Bool(_) => {}
            _ if matches!(key, Some("op" | "path" | "from")) => {}
            Value::String(s) if s == MASK => {}
            Value::String(s) => {
                let s = std::mem::take(s);
                // A value of only `=` is base64 padding, not a pair.
                let pair = s
                    .split_once('=')
                    .filter(|(k, v)| !k.is_empty() && !v.trim_matches('=').is_empty());
                *v = Value::String(match pair {
                    Some((k, value)) if pairs => {
                        self.remember(value);
                        format!("{k}={MASK}")
                    }
                    _ => {
                        self.remember(&s);
                        MASK.into()
                    }
                });
            }
            Value::Number(n) => {
                let n = n.to_string();
                self.remember(&n);
                *v = Value::String(MASK.into());
            }
        }
    }

    fn walk(&mut self, v: &mut Value, key: Option<&str>, depth: usize) {
        if key.is_some_and(sensitive_key) {
            return self.mask_leaves(v, None, false);
        }
        if depth > MAX_DEPTH {
            *v = Value::String("…".into());
            return;
        }
        match v {
            Value::Object(m) => self.walk_object(m, depth),
            Value::Array(items) => {
                self.mask_flags(items);
                let extra = items.len().saturating_sub(MAX_ITEMS);
                items.truncate(MAX_ITEMS);
                for item in items.iter_mut() {
                    self.walk(item, None, depth + 1);
                }
                if extra > 0 {
                    items.push(Value::String(format!("…[+{extra} items]")));
                }
            }
            Value::String(s) => {
                if let Some(docs) = self.manifest(s, depth) {
                    *v = docs;
                } else {
                    let mut found = vec![];
                    let clean = inline_credentials(s, &mut found);
                    found.iter().for_each(|f| self.remember(f));
                    *s = self.bound(clean);
                }
            }
            _ => {}
        }
    }

    fn walk_object(&mut self, m: &mut Map<String, Value>, depth: usize) {
        let secret_kind = m
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.to_ascii_lowercase().contains("secret"));
        for (k, child) in m.iter_mut() {
            if k == "stringData" || (secret_kind && k == "data") {
                self.mask_leaves(child, None, false);
            } else {
                self.walk(child, Some(k), depth + 1);
            }
        }
    }

    /// `--token=x` and `--password x` style arguments in a list of strings.
    fn mask_flags(&mut self, items: &mut [Value]) {
        let mut mask_next = false;
        for item in items.iter_mut() {
            let Value::String(s) = item else {
                mask_next = false;
                continue;
            };
            if mask_next {
                self.remember(s);
                *s = MASK.into();
                mask_next = false;
                continue;
            }
            if !s.starts_with('-') {
                continue;
            }
            match s.split_once('=') {
                Some((flag, value)) if sensitive_key(flag) => {
                    self.remember(value);
                    *s = format!("{flag}={MASK}");
                }
                Some(_) => {}
                None => mask_next = sensitive_key(s),
            }
        }
    }

    /// A string that is a manifest (YAML or JSON documents holding objects),
    /// as redacted documents; an unreadable one that mentions a credential
    /// is masked whole.
    fn manifest(&mut self, s: &str, depth: usize) -> Option<Value> {
        let t = s.trim_start();
        let looks = s.contains('\n') || t.starts_with('{') || t.starts_with('[');
        if !looks {
            return None;
        }
        let docs: Vec<Value> = match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => a,
            Ok(v) => vec![v],
            Err(_) => serde_saphyr::from_multiple(s).unwrap_or_default(),
        };
        if !docs.iter().any(Value::is_object) {
            let lower = s.to_ascii_lowercase();
            let risky = ["secret", "token", "pass", "key", "credential"]
                .iter()
                .any(|w| lower.contains(w));
            if risky {
                self.remember(s);
                for line in s.lines() {
                    if let Some((_, value)) = line.split_once(':') {
                        self.remember(value.trim().trim_matches(['"', '\'']));
                    }
                }
                return Some(Value::String(MASK.into()));
            }
            return None;
        }
        let mut docs: Vec<Value> = docs;
        for d in docs.iter_mut() {
            let seen = mask::redact_collect(d, SecretsMode::Masked);
            self.masked.extend(seen);
            self.walk(d, None, depth + 1);
        }
        Some(match docs.len() {
            1 => docs.pop().unwrap_or_default(),
            _ => Value::Array(docs),
        })
    }

    /// `s` cut to [`MAX_STRING`] bytes and to what is left of the budget.
    fn bound(&mut self, mut s: String) -> String {
        let keep = s.len().min(MAX_STRING).min(self.budget);
        self.budget -= keep;
        if keep == s.len() {
            return s;
        }
        let mut cut = keep;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let total = s.len();
        s.truncate(cut);
        s.push_str(&format!("…[{total} bytes]"));
        s
    }
}

/// Masks the credential in `Bearer x`, `Basic x` and `scheme://user:pass@`,
/// adding what it masked to `masked`.
fn inline_credentials(s: &str, masked: &mut Vec<String>) -> String {
    let mut out = s.to_string();
    for scheme in ["bearer ", "basic "] {
        let mut from = 0;
        while let Some(i) = out[from..].to_ascii_lowercase().find(scheme) {
            let start = from + i + scheme.len();
            let end = out[start..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                .map_or(out.len(), |e| start + e);
            if end > start {
                masked.push(out[start..end].to_string());
                out.replace_range(start..end, MASK);
            }
            from = start + MASK.len().min(out.len() - start);
        }
    }
    let mut from = 0;
    while let Some(i) = out[from..].find("://") {
        let auth_start = from + i + 3;
        let rest = &out[auth_start..];
        // Up to the last `@` of the word, not the first `/`: an unencoded
        // `/` in a password is still the password (over-masking is fine).
        let end = rest.find([' ', '"', '\'']).unwrap_or(rest.len());
        match rest[..end].rfind('@') {
            Some(at) => match rest[..at].find(':') {
                Some(colon) => {
                    masked.push(rest[colon + 1..at].to_string());
                    out.replace_range(auth_start + colon + 1..auth_start + at, MASK);
                    from = auth_start + colon + 1 + MASK.len();
                }
                None => from = auth_start,
            },
            None => from = auth_start,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redact(v: Value) -> Value {
        arguments(v.as_object().unwrap()).value
    }

    #[test]
    fn credential_keys() {
        for (key, masked) in [
            ("token", true),
            ("password", true),
            ("adminPassword", true),
            ("client_secret", true),
            ("apiKey", true),
            ("X-Api-Key", true),
            ("secretName", false),
            ("tokenSecretRef", false),
            ("secretType", false),
            ("name", false),
            ("namespace", false),
        ] {
            assert_eq!(sensitive_key(key), masked, "{key}");
        }
    }

    #[test]
    fn table() {
        let cases = [
            // A Secret manifest: values masked, the rest kept.
            (
                json!({"manifest": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: hunter22\n"}),
                json!({"manifest": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "***"}}}),
            ),
            // A patch of a Secret: every value.
            (
                json!({"resourceType": "secret", "name": "s", "patchData": {"data": {"k": "aHVudGVyMjI="}}}),
                json!({"resourceType": "secret", "name": "s", "patchData": {"data": {"k": "***"}}}),
            ),
            (
                json!({"resourceType": "secrets", "patchType": "json", "patchData": [{"op": "replace", "path": "/data/k", "value": "eA=="}]}),
                json!({"resourceType": "secrets", "patchType": "json", "patchData": [{"op": "replace", "path": "/data/k", "value": "***"}]}),
            ),
            // A ConfigMap patch keeps its values.
            (
                json!({"resourceType": "secret", "args": ["aHVudGVyMjI=", "eA==", "k=dj0="]}),
                json!({"resourceType": "secret", "args": ["***", "***", "k=***"]}),
            ),
            (
                json!({"resourceType": "configmap", "patchData": {"data": {"k": "v"}}}),
                json!({"resourceType": "configmap", "patchData": {"data": {"k": "v"}}}),
            ),
            (
                json!({"resourceType": "secret", "name": "s", "fromLiteral": ["user=admin", "pw=hunter22"]}),
                json!({"resourceType": "secret", "name": "s", "fromLiteral": ["user=***", "pw=***"]}),
            ),
            (
                json!({"command": "create", "resourceType": "secret", "args": ["generic", "s", "--from-literal=k=hunter22"]}),
                json!({"command": "create", "resourceType": "secret", "args": ["***", "***", "--from-literal=***"]}),
            ),
            (
                json!({"chart": "db", "values": {"auth": {"rootPassword": "hunter22", "user": "app"}}}),
                json!({"chart": "db", "values": {"auth": {"rootPassword": "***", "user": "app"}}}),
            ),
            (
                json!({"command": "get", "args": ["pods", "--token=hunter22", "--password", "hunter22", "-n", "a"]}),
                json!({"command": "get", "args": ["pods", "--token=***", "--password", "***", "-n", "a"]}),
            ),
            (
                json!({"command": ["curl", "-H", "Authorization: Bearer abc.def", "https://u:hunter22@h/x"]}),
                json!({"command": ["curl", "-H", "Authorization: Bearer ***", "https://u:***@h/x"]}),
            ),
            (
                json!({"flags": {"token": "hunter22", "selector": "a=b"}}),
                json!({"flags": {"token": "***", "selector": "a=b"}}),
            ),
            (
                json!({"replicas": 3, "force": true}),
                json!({"replicas": 3, "force": true}),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input.clone()), want, "{input}");
        }
    }

    #[test]
    fn unreadable_manifests_that_mention_credentials_are_masked_whole() {
        let got = redact(json!({"manifest": "kind: Secret\nstringData: [unclosed\n  k: hunter22"}));
        assert_eq!(got, json!({"manifest": "***"}));
        let kept = redact(json!({"manifest": "just\nwords"}));
        assert_eq!(kept, json!({"manifest": "just\nwords"}));
    }

    #[test]
    fn long_values_are_cut_and_say_so() {
        let long = "x".repeat(MAX_STRING * 2);
        let many: Vec<Value> = (0..MAX_ITEMS + 5).map(|i| json!(i)).collect();
        let got = redact(json!({"name": long, "args": many}));
        let name = got["name"].as_str().unwrap();
        assert!(
            name.len() < MAX_STRING + 32 && name.ends_with("…[1024 bytes]"),
            "{name}"
        );
        let args = got["args"].as_array().unwrap();
        assert_eq!(args.len(), MAX_ITEMS + 1);
        assert_eq!(args[MAX_ITEMS], json!("…[+5 items]"));
    }

    #[test]
    fn masked_values_are_cut_from_other_text() {
        let r = arguments(
            json!({"resourceType": "secret", "fromLiteral": ["k=hunter22"]})
                .as_object()
                .unwrap(),
        );
        assert_eq!(
            text("create failed: hunter22 is bad; Bearer tok", &r.masked),
            "create failed: *** is bad; Bearer ***"
        );
    }
}
