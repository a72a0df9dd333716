//! Cluster access with the seed's source order:
//! KUBECONFIG_YAML > KUBECONFIG_JSON > K8S_SERVER + K8S_TOKEN > in-cluster >
//! KUBECONFIG_PATH > KUBECONFIG > ~/.kube/config, then K8S_CONTEXT and
//! K8S_NAMESPACE overrides. The variables are listed for `--help` and
//! docs/server.md in `kube_mcp_catalog::settings::CLUSTER_ENV`.

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube_mcp_catalog::apiserver::read_kubeconfig_list;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Which source the server's credentials came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    KubeconfigYaml,
    KubeconfigJson,
    ServerToken,
    InCluster,
    KubeconfigPath(PathBuf),
    KubeconfigEnv(String),
    DefaultFile(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::KubeconfigYaml => write!(f, "KUBECONFIG_YAML"),
            Source::KubeconfigJson => write!(f, "KUBECONFIG_JSON"),
            Source::ServerToken => write!(f, "K8S_SERVER + K8S_TOKEN"),
            Source::InCluster => write!(f, "in-cluster service account"),
            Source::KubeconfigPath(p) => write!(f, "KUBECONFIG_PATH ({})", p.display()),
            Source::KubeconfigEnv(p) => write!(f, "KUBECONFIG ({p})"),
            Source::DefaultFile(p) => write!(f, "default kubeconfig ({})", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster access from {source_name} failed: {reason}")]
    Broken { source_name: String, reason: String },
    #[error(
        "no usable cluster access: set KUBECONFIG_YAML, KUBECONFIG_JSON, K8S_SERVER and K8S_TOKEN, \
         KUBECONFIG_PATH or KUBECONFIG, run in a pod, or create ~/.kube/config"
    )]
    NoSource,
    #[error("context {name:?} is not in the kubeconfig; known contexts: {known}")]
    UnknownContext { name: String, known: String },
    #[error(
        "the server runs with {0} credentials, which have no kubeconfig contexts to switch between"
    )]
    NoKubeconfig(String),
}

/// The credentials the server loaded, kept so contexts can be switched later.
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    pub source: Source,
    /// None in-cluster, where there is no kubeconfig.
    pub kubeconfig: Option<Kubeconfig>,
    /// K8S_CONTEXT, or the kubeconfig's current context.
    pub context: Option<String>,
    /// K8S_NAMESPACE.
    pub namespace: Option<String>,
}

impl ClusterAccess {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ClusterError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Reads settings through `env`, so the order is testable without
    /// touching the process environment.
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, ClusterError> {
        let broken = |source: &Source, reason: String| ClusterError::Broken {
            source_name: source.to_string(),
            reason,
        };
        let (source, kubeconfig) = if let Some(yaml) = env("KUBECONFIG_YAML") {
            let s = Source::KubeconfigYaml;
            let kc = Kubeconfig::from_yaml(&yaml).map_err(|e| broken(&s, e.to_string()))?;
            (s, Some(kc))
        } else if let Some(text) = env("KUBECONFIG_JSON") {
            let s = Source::KubeconfigJson;
            let kc: Kubeconfig = serde_json::from_str(&text)
                .map_err(|e| broken(&s, format!("not a kubeconfig in JSON: {e}")))?;
            (s, Some(kc))
        } else if let (Some(server), Some(token)) = (env("K8S_SERVER"), env("K8S_TOKEN")) {
            let s = Source::ServerToken;
            let kc = server_token_kubeconfig(
                &server,
                &token,
                env("K8S_CA_DATA"),
                env("K8S_SKIP_TLS_VERIFY"),
            )
            .map_err(|e| broken(&s, e))?;
            (s, Some(kc))
        } else if env("KUBERNETES_SERVICE_HOST").is_some() && Path::new(TOKEN_PATH).exists() {
            (Source::InCluster, None)
        } else if let Some(path) = env("KUBECONFIG_PATH") {
            let s = Source::KubeconfigPath(path.clone().into());
            let kc = Kubeconfig::read_from(&path).map_err(|e| broken(&s, e.to_string()))?;
            (s, Some(kc))
        } else if let Some(paths) = env("KUBECONFIG") {
            let s = Source::KubeconfigEnv(paths.clone());
            let kc = read_kubeconfig_list(std::ffi::OsStr::new(&paths))
                .map_err(|e| broken(&s, e.to_string()))?;
            (s, Some(kc))
        } else {
            let home = env("HOME").ok_or(ClusterError::NoSource)?;
            let path = PathBuf::from(home).join(".kube").join("config");
            if !path.exists() {
                return Err(ClusterError::NoSource);
            }
            let s = Source::DefaultFile(path.clone());
            let kc = Kubeconfig::read_from(&path).map_err(|e| broken(&s, e.to_string()))?;
            (s, Some(kc))
        };
        let context = env("K8S_CONTEXT")
            .or_else(|| kubeconfig.as_ref().and_then(|k| k.current_context.clone()));
        let access = ClusterAccess {
            source,
            kubeconfig,
            context,
            namespace: env("K8S_NAMESPACE"),
        };
        if let (Some(kc), Some(ctx)) = (&access.kubeconfig, &access.context)
            && !kc.contexts.iter().any(|c| &c.name == ctx)
        {
            return Err(broken(&access.source, unknown_context(kc, ctx).to_string()));
        }
        Ok(access)
    }

    pub fn context_names(&self) -> Vec<String> {
        self.kubeconfig
            .iter()
            .flat_map(|k| k.contexts.iter().map(|c| c.name.clone()))
            .collect()
    }

    /// Checks that `name` can be switched to.
    pub fn check_context(&self, name: &str) -> Result<(), ClusterError> {
        match &self.kubeconfig {
            None => Err(ClusterError::NoKubeconfig(self.source.to_string())),
            Some(kc) if kc.contexts.iter().any(|c| c.name == name) => Ok(()),
            Some(kc) => Err(unknown_context(kc, name)),
        }
    }

    /// A client configuration for `context` (or the current one).
    pub async fn config(&self, context: Option<&str>) -> Result<kube::Config, ClusterError> {
        let broken = |reason: String| ClusterError::Broken {
            source_name: self.source.to_string(),
            reason,
        };
        let mut cfg = match &self.kubeconfig {
            None => kube::Config::incluster().map_err(|e| broken(e.to_string()))?,
            Some(kc) => {
                let context = context.map(str::to_string).or_else(|| self.context.clone());
                if let Some(c) = &context {
                    self.check_context(c)?;
                }
                let opts = KubeConfigOptions {
                    context,
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig(kc.clone(), &opts)
                    .await
                    .map_err(|e| broken(e.to_string()))?
            }
        };
        if let Some(ns) = &self.namespace {
            cfg.default_namespace = ns.clone();
        }
        // kube retries a 429, 503 or 504 up to 15 times, backing off towards
        // minutes: a PodDisruptionBudget's refusal of an eviction held a drain
        // until the tool timeout, whatever its own timeout said. A tool call
        // answers with what the API server said instead; node drain retries
        // evictions itself, within its timeout.
        cfg.default_retry = false;
        Ok(cfg)
    }
}

const TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

fn unknown_context(kc: &Kubeconfig, name: &str) -> ClusterError {
    ClusterError::UnknownContext {
        name: name.to_string(),
        known: kc
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The seed's minimal configuration as a kubeconfig, so context handling is
/// the same for every source. CA data forces verification on.
fn server_token_kubeconfig(
    server: &str,
    token: &str,
    ca: Option<String>,
    skip: Option<String>,
) -> Result<Kubeconfig, String> {
    let skip = ca.is_none()
        && skip
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("true") || s == "1");
    let mut cluster = json!({ "server": server, "insecure-skip-tls-verify": skip });
    if let Some(ca) = ca {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(ca.trim())
            .map_err(|e| {
                format!(
                    "K8S_CA_DATA is not base64 ({e}); give the base64 of the PEM CA certificate"
                )
            })?;
        cluster["certificate-authority-data"] = json!(ca.trim());
    }
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{ "name": "k8s", "cluster": cluster }],
        "users": [{ "name": "k8s", "user": { "token": token } }],
        "contexts": [{ "name": "k8s", "context": { "cluster": "k8s", "user": "k8s" } }],
        "current-context": "k8s"
    }))
    .map_err(|e| e.to_string())
}

/// The ServiceAccount (namespace, name) a bearer token was issued for, read
/// from its `sub` claim. Not verified: it only tells the server who it is
/// itself, from its own credentials.
pub fn service_account_of_token(token: &str) -> Option<(String, String)> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let sub = claims.get("sub")?.as_str()?;
    let rest = sub.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    Some((ns.to_string(), name.to_string()))
}

/// The ServiceAccount the server's own credentials belong to, if any.
pub fn service_account_of(config: &kube::Config) -> Option<(String, String)> {
    use secrecy::ExposeSecret;
    let auth = &config.auth_info;
    let token = match (&auth.token, &auth.token_file) {
        (Some(t), _) => t.expose_secret().to_string(),
        (None, Some(f)) => std::fs::read_to_string(f).ok()?,
        _ => return None,
    };
    service_account_of_token(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const YAML: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://yaml:6443'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n- name: b\n  context: {cluster: c, user: u, namespace: nb}\ncurrent-context: a\n";

    fn access(vars: &[(&str, &str)]) -> Result<ClusterAccess, ClusterError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClusterAccess::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn service_account_from_a_token() {
        use base64::Engine;
        let enc = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let tok = |sub: &str| {
            format!(
                "{}.{}.sig",
                enc(json!({"alg": "RS256"})),
                enc(json!({"sub": sub}))
            )
        };
        assert_eq!(
            service_account_of_token(&tok("system:serviceaccount:team-a:kube-mcp.ep")),
            Some(("team-a".into(), "kube-mcp.ep".into()))
        );
        assert_eq!(service_account_of_token(&tok("alice")), None);
        assert_eq!(service_account_of_token("not-a-jwt"), None);
    }

    #[test]
    fn source_order() {
        let json =
            serde_json::to_string(&serde_saphyr::from_str::<serde_json::Value>(YAML).unwrap())
                .unwrap();
        let all = [
            ("KUBECONFIG_YAML", YAML),
            ("KUBECONFIG_JSON", json.as_str()),
            ("K8S_SERVER", "https://token:6443"),
            ("K8S_TOKEN", "tok"),
            ("KUBECONFIG_PATH", "/nonexistent/path"),
        ];
        assert_eq!(access(&all).unwrap().source, Source::KubeconfigYaml);
        assert_eq!(access(&all[1..]).unwrap().source, Source::KubeconfigJson);
        assert_eq!(access(&all[2..]).unwrap().source, Source::ServerToken);
        let err = access(&all[4..]).unwrap_err().to_string();
        assert!(err.contains("KUBECONFIG_PATH (/nonexistent/path)"), "{err}");
        assert!(matches!(
            access(&[("HOME", "/nonexistent")]),
            Err(ClusterError::NoSource)
        ));
    }

    #[test]
    fn a_kubeconfig_list_with_a_missing_file_works_like_kubectl() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("config");
        std::fs::write(&real, YAML).unwrap();
        let list = format!("{}/missing:{}", dir.path().display(), real.display());
        let a = access(&[("KUBECONFIG", &list)]).unwrap();
        assert_eq!(a.source, Source::KubeconfigEnv(list));
        assert_eq!(a.context.as_deref(), Some("a"));
        let none = format!("{0}/missing:{0}/gone", dir.path().display());
        let err = access(&[("KUBECONFIG", &none)]).unwrap_err().to_string();
        assert!(
            err.contains("none of the files KUBECONFIG names exists") && err.contains("gone"),
            "{err}"
        );
    }

    #[test]
    fn server_without_token_falls_through() {
        assert!(matches!(
            access(&[("K8S_SERVER", "https://x")]),
            Err(ClusterError::NoSource)
        ));
    }

    #[test]
    fn context_and_namespace_overrides() {
        let a = access(&[
            ("KUBECONFIG_YAML", YAML),
            ("K8S_CONTEXT", "b"),
            ("K8S_NAMESPACE", "ns1"),
        ])
        .unwrap();
        assert_eq!(a.context.as_deref(), Some("b"));
        assert_eq!(a.namespace.as_deref(), Some("ns1"));
        let err = access(&[("KUBECONFIG_YAML", YAML), ("K8S_CONTEXT", "zz")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"zz\"") && err.contains("a, b"), "{err}");
    }

    #[test]
    fn broken_yaml_names_the_source() {
        let err = access(&[("KUBECONFIG_YAML", "clusters: [")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cluster access from KUBECONFIG_YAML failed"),
            "{err}"
        );
    }

    #[test]
    fn ca_data_forces_verification_and_must_be_base64() {
        let kc =
            server_token_kubeconfig("https://x", "t", Some("Zm9v".into()), Some("true".into()))
                .unwrap();
        let c = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(c.insecure_skip_tls_verify, Some(false));
        let kc = server_token_kubeconfig("https://x", "t", None, Some("true".into())).unwrap();
        assert_eq!(
            kc.clusters[0]
                .cluster
                .as_ref()
                .unwrap()
                .insecure_skip_tls_verify,
            Some(true)
        );
        let err = server_token_kubeconfig("https://x", "t", Some("%%%".into()), None).unwrap_err();
        assert!(err.contains("K8S_CA_DATA"));
    }

    #[tokio::test]
    async fn config_uses_the_chosen_context() {
        let a = access(&[("KUBECONFIG_YAML", YAML)]).unwrap();
        let cfg = a.config(Some("b")).await.unwrap();
        assert_eq!(cfg.default_namespace, "nb");
        assert_eq!(cfg.cluster_url.to_string(), "https://yaml:6443/");
        assert!(matches!(
            a.config(Some("nope")).await,
            Err(ClusterError::UnknownContext { .. })
        ));
    }
}
