//! A test OIDC issuer: discovery and JWKS over HTTPS on a loopback port,
//! with its own CA, and ES256 signing keys generated per run. It signs the
//! tokens tests present, and forges the bad ones (wrong key, `alg: none`).
//! Signing uses ring directly, not the JWT library the server verifies
//! with, so the two check each other.

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// One ES256 key and its id.
struct SigningKey {
    kid: String,
    pair: EcdsaKeyPair,
}

impl SigningKey {
    fn generate(kid: &str) -> SigningKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap_or_else(|e| panic!("generating an ES256 key: {e}"));
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap_or_else(|e| panic!("loading an ES256 key: {e}"));
        SigningKey {
            kid: kid.to_string(),
            pair,
        }
    }

    /// The public key as a JWK (an uncompressed P-256 point: 0x04, x, y).
    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        })
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap_or_else(|e| panic!("signing: {e}"));
        format!("{input}.{}", b64(sig.as_ref()))
    }
}

struct Keys {
    /// Published in the JWKS; the last one signs.
    published: Vec<SigningKey>,
    generation: usize,
}

/// A running issuer; it stops when dropped.
pub struct OidcIssuer {
    /// `https://127.0.0.1:<port>`: the issuer identifier.
    pub url: String,
    /// The CA its certificate chains to (PEM).
    pub ca_pem: String,
    keys: Arc<Mutex<Keys>>,
    jwks_reads: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OidcIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Resp = hyper::Response<Full<Bytes>>;

fn respond(status: u16, body: Value) -> Resp {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|e| panic!("response: {e}"))
}

impl OidcIssuer {
    /// Starts serving discovery and JWKS with one key (`key-1`).
    pub async fn start() -> OidcIssuer {
        let (ca, server) =
            crate::pki::loopback_serving().unwrap_or_else(|e| panic!("issuer certificates: {e}"));
        let certs = vec![
            CertificateDer::from_pem_slice(server.cert_pem.as_bytes())
                .unwrap_or_else(|e| panic!("cert: {e}")),
        ];
        let key = PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes())
            .unwrap_or_else(|e| panic!("key: {e}"));
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .unwrap_or_else(|e| panic!("issuer TLS config: {e}"));
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("issuer listener: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let url = format!("https://127.0.0.1:{port}");
        let keys = Arc::new(Mutex::new(Keys {
            published: vec![SigningKey::generate("key-1")],
            generation: 1,
        }));
        let jwks_reads = Arc::new(AtomicUsize::new(0));
        let (k, reads, issuer) = (keys.clone(), jwks_reads.clone(), url.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, k, reads, issuer) =
                    (acceptor.clone(), k.clone(), reads.clone(), issuer.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let body = match req.uri().path() {
                                "/.well-known/openid-configuration" => respond(
                                    200,
                                    json!({
                                        "issuer": issuer,
                                        "jwks_uri": format!("{issuer}/keys"),
                                        "authorization_endpoint": format!("{issuer}/authorize"),
                                        "token_endpoint": format!("{issuer}/token"),
                                        "id_token_signing_alg_values_supported": ["ES256"],
                                    }),
                                ),
                                "/keys" => {
                                    reads.fetch_add(1, Ordering::SeqCst);
                                    let keys = k.lock().unwrap_or_else(|e| e.into_inner());
                                    let jwks: Vec<Value> =
                                        keys.published.iter().map(SigningKey::jwk).collect();
                                    respond(200, json!({ "keys": jwks }))
                                }
                                _ => respond(404, json!({"error": "not found"})),
                            };
                            async move { Ok::<_, std::convert::Infallible>(body) }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        OidcIssuer {
            url,
            ca_pem: ca.cert_pem,
            keys,
            jwks_reads,
            task,
        }
    }

    /// Writes the CA to `dir/oidc-ca.pem` (for KUBE_MCP_OIDC_CA_FILE).
    pub fn write_ca(&self, dir: &Path) -> PathBuf {
        let path = dir.join("oidc-ca.pem");
        std::fs::write(&path, &self.ca_pem)
            .unwrap_or_else(|e| panic!("writing the issuer CA: {e}"));
        path
    }

    /// Standard claims for `sub` with audience `aud`, valid for 10 minutes.
    pub fn claims(&self, sub: &str, aud: &str) -> Value {
        let now = jiff::Timestamp::now().as_second();
        json!({
            "iss": self.url, "sub": sub, "aud": aud,
            "iat": now, "nbf": now, "exp": now + 600,
        })
    }

    /// A token signed with the current key.
    pub fn token(&self, claims: &Value) -> String {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let key = keys
            .published
            .last()
            .unwrap_or_else(|| panic!("the issuer has no key"));
        key.sign(
            &json!({"alg": "ES256", "typ": "JWT", "kid": key.kid}),
            claims,
        )
    }

    /// A token naming the current key id but signed by another key.
    pub fn forged(&self, claims: &Value) -> String {
        let kid = self.current_kid();
        SigningKey::generate(&kid).sign(&json!({"alg": "ES256", "typ": "JWT", "kid": kid}), claims)
    }

    /// An unsigned token (`alg: none`).
    pub fn unsigned(&self, claims: &Value) -> String {
        let header = json!({"alg": "none", "typ": "JWT", "kid": self.current_kid()});
        format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        )
    }

    pub fn current_kid(&self) -> String {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.published
            .last()
            .map(|k| k.kid.clone())
            .unwrap_or_default()
    }

    /// Replaces the keys with a new one (a new `kid`); returns it.
    pub fn rotate(&self) -> String {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.generation += 1;
        let kid = format!("key-{}", keys.generation);
        keys.published = vec![SigningKey::generate(&kid)];
        kid
    }

    /// How many times the JWKS was read.
    pub fn jwks_reads(&self) -> usize {
        self.jwks_reads.load(Ordering::SeqCst)
    }
}
