//! Certificates and keys for the local control plane, generated with rcgen
//! (ECDSA P-256 everywhere) at every start-up: nothing is cached or committed.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::controlplane::Error;

/// A PEM certificate and its PEM (PKCS#8) private key.
#[derive(Clone, Debug)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Everything the control plane's components need.
#[derive(Clone, Debug)]
pub struct Pki {
    pub ca: CertPair,
    pub apiserver: CertPair,
    pub admin: CertPair,
    pub controller_manager: CertPair,
    pub scheduler: CertPair,
    pub kwok: CertPair,
    /// Service-account token signing key (private, PKCS#8 PEM).
    pub sa_key_pem: String,
    /// Its public half (SPKI PEM), for `--service-account-key-file`.
    pub sa_pub_pem: String,
}

/// Subject alternative names of the API server's serving certificate.
pub const APISERVER_SANS: &[&str] = &[
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "10.96.0.1",
];

/// The admin user every kubeconfig the fixture writes for tests uses.
pub const ADMIN_USER: &str = "kube-mcp-admin";

fn pki_err(what: &str) -> impl FnOnce(rcgen::Error) -> Error + '_ {
    move |source| Error::Pki {
        what: what.to_string(),
        source,
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "kube-mcp-local-ca");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params
}

/// Parameters of the API server's serving certificate.
pub fn apiserver_params() -> Result<CertificateParams, Error> {
    let sans: Vec<String> = APISERVER_SANS.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(sans).map_err(pki_err("apiserver SANs"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// Parameters of a client certificate: CN is the user, each O a group.
pub fn client_params(cn: &str, orgs: &[&str]) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    for o in orgs {
        dn.push(DnType::OrganizationName, *o);
    }
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params
}

fn sign(
    params: &CertificateParams,
    issuer: &Issuer<'_, KeyPair>,
    what: &str,
) -> Result<CertPair, Error> {
    let key = KeyPair::generate().map_err(pki_err(what))?;
    let cert = params.signed_by(&key, issuer).map_err(pki_err(what))?;
    Ok(CertPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A fresh self-signed CA and the issuer that signs with it.
fn new_ca() -> Result<(CertPair, Issuer<'static, KeyPair>), Error> {
    let ca_key = KeyPair::generate().map_err(pki_err("CA key"))?;
    let params = ca_params();
    let ca_cert = params.self_signed(&ca_key).map_err(pki_err("CA"))?;
    let ca = CertPair {
        cert_pem: ca_cert.pem(),
        key_pem: ca_key.serialize_pem(),
    };
    Ok((ca, Issuer::new(params, ca_key)))
}

impl Pki {
    /// Generates a fresh CA and every certificate signed by it.
    pub fn generate() -> Result<Pki, Error> {
        let (ca, issuer) = new_ca()?;
        let sa = KeyPair::generate().map_err(pki_err("service-account key"))?;
        Ok(Pki {
            apiserver: sign(&apiserver_params()?, &issuer, "apiserver")?,
            admin: sign(
                &client_params(ADMIN_USER, &["system:masters"]),
                &issuer,
                "admin",
            )?,
            controller_manager: sign(
                &client_params("system:kube-controller-manager", &[]),
                &issuer,
                "controller-manager",
            )?,
            scheduler: sign(
                &client_params("system:kube-scheduler", &[]),
                &issuer,
                "scheduler",
            )?,
            kwok: sign(
                &client_params("kube-mcp-kwok", &["system:masters"]),
                &issuer,
                "kwok",
            )?,
            sa_key_pem: sa.serialize_pem(),
            sa_pub_pem: sa.public_key_pem(),
            ca,
        })
    }
}

/// A fresh CA and a serving certificate for loopback (127.0.0.1,
/// localhost) signed by it, for test servers that speak HTTPS.
pub fn loopback_serving() -> Result<(CertPair, CertPair), Error> {
    let (ca, issuer) = new_ca()?;
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(pki_err("loopback SANs"))?;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    Ok((ca, sign(&server, &issuer, "loopback server")?))
}

/// True when `params` names `name` as a DNS or IP subject alternative name.
pub fn has_san(params: &CertificateParams, name: &str) -> bool {
    params.subject_alt_names.iter().any(|san| match san {
        SanType::DnsName(d) => d.as_str() == name,
        SanType::IpAddress(ip) => ip.to_string() == name,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apiserver_cert_covers_loopback_and_in_cluster_names() {
        let params = apiserver_params().unwrap();
        for name in ["127.0.0.1", "localhost", "kubernetes.default.svc"] {
            assert!(has_san(&params, name), "missing SAN {name}");
        }
        // IPs are IP SANs, not DNS names (rustls checks an IP URL against IP SANs).
        assert!(
            params
                .subject_alt_names
                .iter()
                .any(|s| matches!(s, SanType::IpAddress(ip) if ip.is_loopback()))
        );
        assert!(
            params
                .extended_key_usages
                .contains(&ExtendedKeyUsagePurpose::ServerAuth)
        );
    }

    #[test]
    fn generated_pki_is_pem() {
        let pki = Pki::generate().unwrap();
        for pair in [&pki.ca, &pki.apiserver, &pki.admin, &pki.kwok] {
            assert!(pair.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
            assert!(pair.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        }
        assert!(pki.sa_pub_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    }

    #[test]
    fn admin_is_system_masters() {
        let params = client_params(ADMIN_USER, &["system:masters"]);
        let dn: Vec<_> = params.distinguished_name.iter().collect();
        assert!(dn.iter().any(|(t, _)| **t == DnType::OrganizationName));
        assert!(
            params
                .extended_key_usages
                .contains(&ExtendedKeyUsagePurpose::ClientAuth)
        );
    }
}
