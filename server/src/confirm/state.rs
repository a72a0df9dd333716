//! The state a 2026-07-28 confirmation carries from the question to the
//! answer, which any replica may receive: a digest of what the user was
//! asked, sealed with HMAC-SHA256 (rmcp's `RequestStateCodec`) over the
//! exact call, under a key every replica shares, with an expiry. A client
//! cannot alter it, move it to another call, or keep it past its time.

use rand::TryRngCore;
use rmcp::model::{RequestStateCodec, RequestStateError, SealOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

/// Why the confirmation key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("KUBE_MCP_CONFIRM_KEY_FILE {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "KUBE_MCP_CONFIRM_KEY_FILE {path} holds {len} bytes; the key needs at least {min} random bytes (e.g. head -c 32 /dev/urandom | base64 > {path})"
    )]
    TooShort {
        path: String,
        len: usize,
        min: usize,
    },
    #[error("cannot make a random confirmation key: {0}")]
    Random(String),
}

/// What the sealed state holds: the digest of the statement asked about.
#[derive(Debug, Serialize, Deserialize)]
struct Asked {
    statement: String,
}

pub struct Sealer {
    codec: RequestStateCodec,
    ttl: Duration,
}

impl Sealer {
    /// With the key in `key_file` (trimmed, as a Secret mounts it), or a
    /// random one for this process only.
    pub fn new(key_file: Option<&Path>, ttl: Duration) -> Result<Self, KeyError> {
        let min = RequestStateCodec::MIN_KEY_LENGTH;
        let key = match key_file {
            Some(path) => {
                let shown = path.display().to_string();
                let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
                    path: shown.clone(),
                    source,
                })?;
                let key = bytes.trim_ascii().to_vec();
                if key.len() < min {
                    return Err(KeyError::TooShort {
                        path: shown,
                        len: key.len(),
                        min,
                    });
                }
                key
            }
            None => {
                let mut key = vec![0u8; min];
                rand::rngs::OsRng
                    .try_fill_bytes(&mut key)
                    .map_err(|e| KeyError::Random(e.to_string()))?;
                key
            }
        };
        let codec = RequestStateCodec::try_new(key).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self { codec, ttl })
    }

    /// The state for asking about `statement` on the call `call` (a [`call_digest`]).
    pub fn seal(&self, call: &[u8], statement: &str) -> Result<String, RequestStateError> {
        let asked = Asked {
            statement: digest_hex(statement),
        };
        self.codec.seal_json_with(
            &asked,
            &SealOptions::new().associated_data(call).ttl(self.ttl),
        )
    }

    /// The digest of the statement the state was sealed for, if `sealed`
    /// is intact, unexpired and made for this very call.
    pub fn open(&self, sealed: &str, call: &[u8]) -> Result<String, RequestStateError> {
        self.codec
            .open_json_with::<Asked>(sealed, call)
            .map(|a| a.statement)
    }
}

/// sha256 (hex) of `text`.
pub fn digest_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What binds a state to one call: the tool and its arguments, with object
/// keys sorted so a client's key order does not matter.
pub fn call_digest(tool: &str, args: &Map<String, Value>) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"tools/call\n");
    h.update(tool.as_bytes());
    h.update(b"\n");
    h.update(canonical(&Value::Object(args.clone())).as_bytes());
    h.finalize().to_vec()
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn sealer(ttl: Duration) -> Sealer {
        Sealer::new(None, ttl).unwrap()
    }

    #[test]
    fn a_state_opens_only_for_its_own_call() {
        let s = sealer(Duration::from_secs(60));
        let call = call_digest(
            "kubectl_delete",
            &args(json!({"name": "a", "resourceType": "pods"})),
        );
        let state = s.seal(&call, "delete pod a in team-a").unwrap();
        assert_eq!(
            s.open(&state, &call).unwrap(),
            digest_hex("delete pod a in team-a")
        );
        // Same arguments in another order: the same call.
        let reordered = call_digest(
            "kubectl_delete",
            &args(json!({"resourceType": "pods", "name": "a"})),
        );
        assert!(s.open(&state, &reordered).is_ok());
        // Another name, another tool, a tampered state, another key.
        let other = call_digest(
            "kubectl_delete",
            &args(json!({"name": "b", "resourceType": "pods"})),
        );
        assert!(s.open(&state, &other).is_err());
        let tool = call_digest(
            "kubectl_scale",
            &args(json!({"name": "a", "resourceType": "pods"})),
        );
        assert!(s.open(&state, &tool).is_err());
        assert!(s.open(&format!("{state}-TAMPERED"), &call).is_err());
        let mut flipped = state.clone().into_bytes();
        let i = flipped.len() / 2;
        flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
        assert!(s.open(&String::from_utf8(flipped).unwrap(), &call).is_err());
        assert!(sealer(Duration::from_secs(60)).open(&state, &call).is_err());
    }

    #[test]
    fn a_state_expires() {
        let s = sealer(Duration::from_millis(1));
        let call = call_digest("cleanup", &Map::new());
        let state = s.seal(&call, "stop 1 port-forward").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(matches!(
            s.open(&state, &call),
            Err(RequestStateError::Expired)
        ));
    }

    #[test]
    fn replicas_with_one_key_file_accept_each_others_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "c2hhcmVkLWtleS1mb3ItZXZlcnktcmVwbGljYS0wMTIzNDU=\n").unwrap();
        let a = Sealer::new(Some(&path), Duration::from_secs(60)).unwrap();
        let b = Sealer::new(Some(&path), Duration::from_secs(60)).unwrap();
        let call = call_digest("cleanup", &Map::new());
        assert!(b.open(&a.seal(&call, "x").unwrap(), &call).is_ok());
        std::fs::write(&path, "short\n").unwrap();
        let err = Sealer::new(Some(&path), Duration::from_secs(60))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("5 bytes") && err.contains("at least 32"),
            "{err}"
        );
        let err = Sealer::new(Some(&dir.path().join("absent")), Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("KUBE_MCP_CONFIRM_KEY_FILE"), "{err}");
    }
}
