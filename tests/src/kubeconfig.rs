//! Kubeconfig files for the local control plane's users.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// How a kubeconfig's user authenticates.
#[derive(Clone, Debug)]
pub enum Credential<'a> {
    /// A client certificate and its key (PEM).
    ClientCert { cert_pem: &'a str, key_pem: &'a str },
    /// A bearer token (e.g. a ServiceAccount's TokenRequest token).
    Token(&'a str),
}

/// Renders a single-context kubeconfig: cluster `kube-mcp`, user `user`,
/// context `kube-mcp` (current), CA and credentials inlined as data.
pub fn render(server_url: &str, ca_pem: &str, user: &str, cred: &Credential<'_>) -> String {
    let ca = STANDARD.encode(ca_pem);
    let user_block = match cred {
        Credential::ClientCert { cert_pem, key_pem } => format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            STANDARD.encode(cert_pem),
            STANDARD.encode(key_pem)
        ),
        Credential::Token(token) => format!("    token: {}\n", quote(token)),
    };
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: kube-mcp\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         users:\n\
         - name: {user}\n  user:\n{user_block}\
         contexts:\n\
         - name: kube-mcp\n  context:\n    cluster: kube-mcp\n    user: {user}\n    namespace: default\n\
         current-context: kube-mcp\n",
        server = quote(server_url),
        user = quote(user),
    )
}

/// A YAML double-quoted scalar.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Builds a kube client config from a rendered kubeconfig.
pub async fn client_config(yaml: &str) -> Result<kube::Config, kube::config::KubeconfigError> {
    let kc = kube::config::Kubeconfig::from_yaml(yaml)?;
    kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await
}

/// Reads the server URL and CA (PEM) of a kubeconfig's current context.
pub fn server_and_ca(yaml: &str) -> Option<(String, String)> {
    let kc = kube::config::Kubeconfig::from_yaml(yaml).ok()?;
    let ctx_name = kc.current_context.clone()?;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == ctx_name)?
        .context
        .clone()?;
    let cluster = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)?
        .cluster
        .clone()?;
    let server = cluster.server?;
    let ca = match (
        cluster.certificate_authority_data,
        cluster.certificate_authority,
    ) {
        (Some(data), _) => String::from_utf8(STANDARD.decode(data.trim()).ok()?).ok()?,
        (None, Some(path)) => std::fs::read_to_string(path).ok()?,
        (None, None) => return None,
    };
    Some((server, ca))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    #[test]
    fn client_cert_kubeconfig_parses() {
        let yaml = render(
            "https://127.0.0.1:6443",
            CA,
            "kube-mcp-admin",
            &Credential::ClientCert {
                cert_pem: "CERT",
                key_pem: "KEY",
            },
        );
        let kc = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("kube-mcp"));
        let user = kc.auth_infos[0].auth_info.as_ref().unwrap();
        assert_eq!(
            user.client_certificate_data.as_deref(),
            Some(STANDARD.encode("CERT").as_str())
        );
        assert!(user.token.is_none());
        let (server, ca) = server_and_ca(&yaml).unwrap();
        assert_eq!(server, "https://127.0.0.1:6443");
        assert_eq!(ca, CA);
    }

    #[test]
    fn token_kubeconfig_parses_and_quotes() {
        let yaml = render(
            "https://127.0.0.1:1",
            CA,
            "sa",
            &Credential::Token("a\"b\\c"),
        );
        let kc = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        let user = kc.auth_infos[0].auth_info.as_ref().unwrap();
        use secrecy::ExposeSecret as _;
        assert_eq!(user.token.as_ref().unwrap().expose_secret(), "a\"b\\c");
    }
}
