//! The shared-token check for HTTP transports: X-MCP-AUTH (the seed's
//! header) or `Authorization: Bearer`. Tokens are compared as SHA-256
//! digests in constant time, and a token file is re-read so a rotated
//! Secret takes effect without a restart.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use subtle::ConstantTimeEq;

type TokenDigest = [u8; 32];

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read the auth token file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("the auth token file {0} is empty")]
    Empty(PathBuf),
}

/// Where the expected token comes from. `None` inside means auth is off.
#[derive(Clone, Default)]
pub struct TokenCheck {
    expected: Arc<RwLock<Option<TokenDigest>>>,
}

impl std::fmt::Debug for TokenCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCheck(<redacted>)")
    }
}

fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.trim().as_bytes()).into()
}

fn read_token(path: &Path) -> Result<TokenDigest, AuthError> {
    let text = std::fs::read_to_string(path).map_err(|e| AuthError::File {
        path: path.into(),
        reason: e.to_string(),
    })?;
    if text.trim().is_empty() {
        return Err(AuthError::Empty(path.into()));
    }
    Ok(digest(&text))
}

impl TokenCheck {
    pub fn disabled() -> Self {
        Self::default()
    }

    pub fn from_token(token: &str) -> Self {
        Self {
            expected: Arc::new(RwLock::new(Some(digest(token)))),
        }
    }

    /// Reads the file now (failing start-up if it is unusable) and then
    /// every `every`, keeping the last good token when a read fails.
    pub fn from_file(path: PathBuf, every: Duration) -> Result<Self, AuthError> {
        let check = Self {
            expected: Arc::new(RwLock::new(Some(read_token(&path)?))),
        };
        let weak = Arc::downgrade(&check.expected);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(slot) = weak.upgrade() else { break };
                match read_token(&path) {
                    Ok(d) => {
                        let mut cur = slot.write().unwrap_or_else(|e| e.into_inner());
                        if cur.as_ref() != Some(&d) {
                            *cur = Some(d);
                            tracing::info!(path = %path.display(), "auth token changed; the new token is in effect");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "keeping the previous auth token"),
                }
            }
        });
        Ok(check)
    }

    pub fn enabled(&self) -> bool {
        self.expected.read().map(|g| g.is_some()).unwrap_or(true)
    }

    /// Whether `presented` is the expected token (false when auth is off).
    pub fn matches(&self, presented: &str) -> bool {
        match self.expected.read() {
            Ok(g) => g.is_some_and(|expected| bool::from(digest(presented).ct_eq(&expected))),
            Err(_) => false,
        }
    }

    /// Whether the request's headers carry the expected token.
    pub fn allows(&self, headers: &http::HeaderMap) -> bool {
        let expected = match self.expected.read() {
            Ok(g) => *g,
            Err(_) => return false,
        };
        let Some(expected) = expected else {
            return true;
        };
        let presented = headers
            .get("x-mcp-auth")
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| {
                        v.strip_prefix("Bearer ")
                            .or_else(|| v.strip_prefix("bearer "))
                    })
            });
        match presented {
            Some(p) => bool::from(digest(p).ct_eq(&expected)),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn header_table() {
        let check = TokenCheck::from_token("s3cret");
        let cases: &[(&[(&'static str, &str)], bool)] = &[
            (&[], false),
            (&[("x-mcp-auth", "s3cret")], true),
            (&[("x-mcp-auth", "wrong")], false),
            (&[("x-mcp-auth", "s3cre")], false),
            (&[("authorization", "Bearer s3cret")], true),
            (&[("authorization", "Basic s3cret")], false),
            (
                &[("authorization", "Bearer nope"), ("x-mcp-auth", "s3cret")],
                true,
            ),
        ];
        for (h, want) in cases {
            assert_eq!(check.allows(&headers(h)), *want, "{h:?}");
        }
        assert!(TokenCheck::disabled().allows(&HeaderMap::new()));
    }

    #[test]
    fn debug_never_shows_the_token() {
        assert!(!format!("{:?}", TokenCheck::from_token("s3cret")).contains("s3cret"));
    }

    #[tokio::test]
    async fn a_rotated_file_takes_effect() {
        let dir = std::env::temp_dir().join(format!("kube-mcp-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "old\n").unwrap();
        let check = TokenCheck::from_file(path.clone(), Duration::from_millis(20)).unwrap();
        assert!(
            check.allows(&headers(&[("x-mcp-auth", "old")])),
            "trailing newline is ignored"
        );
        std::fs::write(&path, "new").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(check.allows(&headers(&[("x-mcp-auth", "new")])));
        assert!(!check.allows(&headers(&[("x-mcp-auth", "old")])));
        assert!(matches!(
            TokenCheck::from_file(dir.join("missing"), Duration::from_secs(1)),
            Err(AuthError::File { .. })
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
