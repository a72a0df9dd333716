//! The server's settings and its Deployment.

use crate::config::Config;
use crate::crd::{
    self, Access, AuditLevel, AuthMode as CrdAuthMode, Authorize, ConfirmCalls, McpEndpoint,
    SecretsPolicy,
};
use crate::guard::Grant;
use crate::{image, labels, meta, names, secret};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    HTTPGetAction, KeyToPath, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile,
    SecretVolumeSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube_mcp_catalog::settings::{
    AuditLevel as ServerAuditLevel, AuthMode, Authorize as ServerAuthorize, ConfirmFallback,
    ConfirmPolicy, SecretsMode, Settings, Transport,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// UID/GID the server runs as (distroless `nonroot`).
pub const RUN_AS: i64 = 65532;

/// The server settings of an endpoint: what the Deployment's env renders.
pub fn settings(ep: &McpEndpoint, grant: &Grant, cfg: &Config) -> Settings {
    let name = names::base(ep);
    let ns = names::namespace(ep);
    let mut hosts = vec![
        name.clone(),
        format!("{name}.{ns}"),
        format!("{name}.{ns}.svc"),
        format!("{name}.{ns}.svc.cluster.local"),
    ];
    for h in &ep.spec.allowed_hosts {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    Settings {
        transport: Some(Transport::Http),
        port: names::SERVER_PORT as u16,
        host: "0.0.0.0".into(),
        stateless: true,
        allowed_tools: grant.tool_names(),
        // ALLOWED_TOOLS wins; the class switches repeat the ceiling for defence in depth.
        readonly: grant.access == Access::ReadOnly,
        non_destructive: grant.access == Access::NonDestructive,
        secrets: Some(match grant.secrets {
            SecretsPolicy::Hidden => SecretsMode::Hidden,
            SecretsPolicy::Masked => SecretsMode::Masked,
            SecretsPolicy::Visible => SecretsMode::Visible,
        }),
        namespaces: grant.scope.to_list(),
        allowed_hosts: hosts,
        allowed_origins: ep.spec.allowed_origins.clone(),
        endpoint: Some(format!("{ns}/{name}")),
        audit_level: match ep.spec.audit.as_ref().and_then(|a| a.level) {
            Some(AuditLevel::Off) => ServerAuditLevel::Off,
            Some(AuditLevel::Metadata) => ServerAuditLevel::Metadata,
            Some(AuditLevel::Request) => ServerAuditLevel::Request,
            None => cfg.default_audit_level,
        },
        enable_telemetry: crate::telemetry::enabled(ep, &cfg.telemetry),
        ..auth_settings(ep, confirm_settings(ep))
    }
}

/// The authentication settings of `spec.auth` over `base`. The default
/// ([Token]) renders no mode list, as before modes existed.
fn auth_settings(ep: &McpEndpoint, base: Settings) -> Settings {
    let auth = ep.spec.auth.clone().unwrap_or_default();
    let has = |m| auth.modes.contains(&m);
    let by_name = has(CrdAuthMode::Kubernetes) || has(CrdAuthMode::Oidc);
    let oidc = auth.oidc.clone().filter(|_| has(CrdAuthMode::Oidc));
    let resource = auth.resource_url.clone().unwrap_or_else(|| names::url(ep));
    let defaults = Settings::default();
    Settings {
        auth_token_file: has(CrdAuthMode::Token).then(|| names::TOKEN_FILE.into()),
        auth_modes: if auth.modes == [CrdAuthMode::Token] {
            vec![]
        } else {
            auth.modes
                .iter()
                .map(|m| match m {
                    CrdAuthMode::Token => AuthMode::Token,
                    CrdAuthMode::Kubernetes => AuthMode::Kubernetes,
                    CrdAuthMode::Oidc => AuthMode::Oidc,
                })
                .collect()
        },
        resource_url: by_name.then(|| resource.clone()),
        // Spelled out: the server would take its normalised resource URL
        // (`:80` dropped), which is not the status.url clients request tokens for.
        audiences: match (by_name, auth.audiences.is_empty()) {
            (false, _) => vec![],
            (true, true) => vec![resource],
            (true, false) => auth.audiences.clone(),
        },
        oidc_issuer_url: oidc.as_ref().map(|o| o.issuer_url.clone()),
        oidc_ca_file: oidc
            .as_ref()
            .and_then(|o| o.ca_config_map_ref.as_ref())
            .map(|_| names::OIDC_CA_FILE.into()),
        oidc_username_claim: oidc
            .as_ref()
            .and_then(|o| o.username_claim.clone())
            .unwrap_or(defaults.oidc_username_claim),
        oidc_username_prefix: oidc.as_ref().and_then(|o| o.username_prefix.clone()),
        oidc_groups_claim: oidc
            .as_ref()
            .and_then(|o| o.groups_claim.clone())
            .unwrap_or(defaults.oidc_groups_claim),
        oidc_groups_prefix: oidc
            .as_ref()
            .and_then(|o| o.groups_prefix.clone())
            .unwrap_or_default(),
        oidc_required_scopes: oidc.map(|o| o.required_scopes).unwrap_or_default(),
        authorize: match auth.authorize {
            Authorize::Endpoint => ServerAuthorize::Endpoint,
            Authorize::Caller => ServerAuthorize::Caller,
        },
        ..base
    }
}

/// The confirmation settings of `spec.confirm`, and the key every replica
/// signs confirmation state with (in the generated token Secret).
fn confirm_settings(ep: &McpEndpoint) -> Settings {
    let c = ep.spec.confirm.clone().unwrap_or_default();
    Settings {
        confirm: match c.calls {
            ConfirmCalls::Destructive => ConfirmPolicy::Destructive,
            ConfirmCalls::Writes => ConfirmPolicy::Writes,
            ConfirmCalls::Never => ConfirmPolicy::Never,
        },
        confirm_fallback: match c.fallback {
            crd::ConfirmFallback::Deny => ConfirmFallback::Deny,
            crd::ConfirmFallback::Allow => ConfirmFallback::Allow,
        },
        confirm_key_file: (!secret::is_referenced(ep)).then(|| names::CONFIRM_KEY_FILE.into()),
        ..Settings::default()
    }
}

/// The container env rendered from the settings, then the OTel variables
/// ([`crate::telemetry::env`]).
pub fn env(settings: &Settings, otel: Vec<(String, String)>) -> Vec<EnvVar> {
    settings
        .to_env()
        .into_iter()
        .chain(otel)
        .map(|(name, value)| EnvVar {
            name,
            value: Some(value),
            value_from: None,
        })
        .collect()
}

/// sha256 (hex) of the rendered env and the token source: a change rolls the pods.
pub fn config_hash(env: &[EnvVar], token_secret: &str, token_key: &str) -> String {
    let mut h = Sha256::new();
    for e in env {
        h.update(e.name.as_bytes());
        h.update(b"=");
        h.update(e.value.as_deref().unwrap_or_default().as_bytes());
        h.update(b"\n");
    }
    h.update(token_secret.as_bytes());
    h.update(b"/");
    h.update(token_key.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn probe(path: &str, initial: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        initial_delay_seconds: Some(initial),
        period_seconds: Some(10),
        ..Probe::default()
    }
}

/// What the auth volume holds: the token and, from the generated token
/// Secret, the confirmation key.
fn auth_items(ep: &McpEndpoint, token_key: String) -> Vec<KeyToPath> {
    let mut items = vec![KeyToPath {
        key: token_key,
        path: names::TOKEN_KEY.into(),
        mode: None,
    }];
    if !secret::is_referenced(ep) {
        items.push(KeyToPath {
            key: names::CONFIRM_KEY.into(),
            path: names::CONFIRM_KEY.into(),
            mode: None,
        });
    }
    items
}

/// The OIDC issuer's CA bundle (`spec.auth.oidc.caConfigMapRef`), mounted
/// where `KUBE_MCP_OIDC_CA_FILE` points. A ConfigMap, not a Secret: CA
/// certificates are public, and the operator reads no Secret it was not given.
fn oidc_ca_volume(ep: &McpEndpoint) -> Option<(VolumeMount, Volume)> {
    let auth = ep.spec.auth.as_ref()?;
    if !auth.modes.contains(&CrdAuthMode::Oidc) {
        return None;
    }
    let r = auth.oidc.as_ref()?.ca_config_map_ref.as_ref()?;
    let mount = VolumeMount {
        name: "oidc-ca".into(),
        mount_path: names::OIDC_CA_MOUNT_DIR.into(),
        read_only: Some(true),
        ..VolumeMount::default()
    };
    let volume = Volume {
        name: "oidc-ca".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: r.name.clone(),
            items: Some(vec![KeyToPath {
                key: r.key.clone(),
                path: names::OIDC_CA_KEY.into(),
                mode: None,
            }]),
            default_mode: Some(0o444),
            optional: None,
        }),
        ..Volume::default()
    };
    Some((mount, volume))
}

/// The Deployment running kube-mcp-server for the endpoint.
pub fn deployment(ep: &McpEndpoint, grant: &Grant, cfg: &Config) -> Deployment {
    let ns = names::namespace(ep);
    let env = env(
        &settings(ep, grant, cfg),
        crate::telemetry::env(ep, &cfg.telemetry),
    );
    let (secret_name, secret_key) = secret::token_source(ep);
    let hash = config_hash(&env, &secret_name, &secret_key);
    let image = image::effective(ep, cfg);
    let oidc_ca = oidc_ca_volume(ep);
    let container = Container {
        name: names::CONTAINER_NAME.into(),
        image: Some(image),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: names::SERVER_PORT,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        liveness_probe: Some(probe("/health", 5)),
        readiness_probe: Some(probe("/ready", 2)),
        resources: ep.spec.resources.clone(),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: None,
            }),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(
            [
                VolumeMount {
                    name: "auth".into(),
                    mount_path: names::TOKEN_MOUNT_DIR.into(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                },
                VolumeMount {
                    name: "tmp".into(),
                    mount_path: "/tmp".into(),
                    ..VolumeMount::default()
                },
            ]
            .into_iter()
            .chain(oidc_ca.as_ref().map(|(mount, _)| mount.clone()))
            .collect(),
        ),
        ..Container::default()
    };
    let mut pod_labels = labels::labels(ep);
    pod_labels.extend(labels::selector(ep));
    Deployment {
        metadata: meta::child(ep, &names::base(ep), Some(&ns)),
        spec: Some(DeploymentSpec {
            replicas: Some(ep.spec.replicas),
            selector: LabelSelector {
                match_labels: Some(labels::selector(ep)),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(BTreeMap::from([(labels::CONFIG_HASH.to_string(), hash)])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(names::service_account(ep)),
                    automount_service_account_token: Some(true),
                    enable_service_links: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(RUN_AS),
                        run_as_group: Some(RUN_AS),
                        fs_group: Some(RUN_AS),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            localhost_profile: None,
                        }),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![container],
                    volumes: Some(
                        [
                            Volume {
                                name: "auth".into(),
                                secret: Some(SecretVolumeSource {
                                    secret_name: Some(secret_name),
                                    items: Some(auth_items(ep, secret_key)),
                                    default_mode: Some(0o440),
                                    optional: None,
                                }),
                                ..Volume::default()
                            },
                            Volume {
                                name: "tmp".into(),
                                empty_dir: Some(EmptyDirVolumeSource::default()),
                                ..Volume::default()
                            },
                        ]
                        .into_iter()
                        .chain(oidc_ca.map(|(_, volume)| volume))
                        .collect(),
                    ),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{AuthSpec, McpEndpointSpec, SecretKeyRef};
    use crate::guard::{evaluate, tests::ep};
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    fn render(spec: McpEndpointSpec) -> Deployment {
        let e = ep("team-a", spec);
        let cfg = Config {
            max_access: crate::config::MaxAccess::Full,
            allowed_images: vec!["example.com/*".into()],
            ..Config::default()
        };
        let g = evaluate(&e, &cfg).unwrap();
        deployment(&e, &g, &cfg)
    }

    fn env_map(d: &Deployment) -> BTreeMap<String, String> {
        d.spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
            .env
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| (e.name.clone(), e.value.clone().unwrap()))
            .collect()
    }

    /// The rendered env parsed by the server's own parser (the OTel variables,
    /// which are no flag's, left out).
    fn parse(env: &BTreeMap<String, String>) -> Settings {
        let mut cmd = <Settings as clap::CommandFactory>::command();
        cmd.build();
        let mut args = vec!["kube-mcp-server".to_string()];
        for (k, v) in env.iter().filter(|(k, _)| !k.starts_with("OTEL_")) {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_env().is_some_and(|e| e == k.as_str()))
                .unwrap();
            args.push(format!("--{}={v}", arg.get_long().unwrap()));
        }
        Settings::from_args_and_env(args).unwrap()
    }

    #[test]
    fn auth_modes_and_authorization_reach_env() {
        use crate::crd::{AuthMode as M, AuthSpec, Authorize as A, OidcSpec};
        let auth = |modes: Vec<M>, authorize, oidc: bool| McpEndpointSpec {
            auth: Some(AuthSpec {
                modes,
                authorize,
                audiences: if oidc { vec!["mcp".into()] } else { vec![] },
                resource_url: oidc.then(|| "https://mcp.example.com/mcp".into()),
                oidc: oidc.then(|| OidcSpec {
                    issuer_url: "https://idp.example.com".into(),
                    required_scopes: vec!["mcp:tools".into()],
                    username_claim: Some("email".into()),
                    groups_prefix: Some("idp:".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let url = "http://ep.team-a.svc:80/mcp";

        let default = parse(&env_map(&render(McpEndpointSpec::default())));
        assert!(default.auth_modes.is_empty(), "the server's default: token");
        assert!(default.auth_token_file.is_some() && default.resource_url.is_none());

        let env = env_map(&render(auth(
            vec![M::Token, M::Kubernetes],
            A::Caller,
            false,
        )));
        let s = parse(&env);
        assert_eq!(s.auth_modes, [AuthMode::Token, AuthMode::Kubernetes]);
        assert_eq!(s.authorize, ServerAuthorize::Caller);
        assert_eq!(s.resource_url.as_deref(), Some(url));
        assert_eq!(
            s.audiences,
            [url],
            "status.url, as clients request tokens for it"
        );
        assert_eq!(
            s.auth_token_file.as_deref(),
            Some(std::path::Path::new(names::TOKEN_FILE))
        );
        assert!(!env.contains_key("KUBE_MCP_OIDC_ISSUER_URL"));

        let env = env_map(&render(auth(vec![M::Oidc], A::Caller, true)));
        let s = parse(&env);
        assert_eq!(s.auth_modes, [AuthMode::Oidc]);
        assert!(
            s.auth_token_file.is_none(),
            "the server refuses a token file without the token mode"
        );
        assert_eq!(
            s.resource_url.as_deref(),
            Some("https://mcp.example.com/mcp")
        );
        assert_eq!(s.audiences, ["mcp"]);
        assert_eq!(
            s.oidc_issuer_url.as_deref(),
            Some("https://idp.example.com")
        );
        assert_eq!(s.oidc_required_scopes, ["mcp:tools"]);
        assert_eq!(s.oidc_username_claim, "email");
        assert_eq!(s.oidc_groups_claim, "groups");
        assert_eq!(s.oidc_groups_prefix, "idp:");
        assert_eq!(s.oidc_username_prefix, None);
        assert!(s.oidc_ca_file.is_none());

        // A private CA: the ConfigMap's key mounted where the server reads it.
        let mut spec = auth(vec![M::Oidc], A::Endpoint, true);
        if let Some(o) = spec.auth.as_mut().and_then(|a| a.oidc.as_mut()) {
            o.ca_config_map_ref = Some(crate::crd::ConfigMapKeyRef {
                name: "company-ca".into(),
                key: "bundle.pem".into(),
            });
        }
        let d = render(spec);
        assert_eq!(
            parse(&env_map(&d)).oidc_ca_file.as_deref(),
            Some(std::path::Path::new("/var/run/kube-mcp/oidc-ca/ca.crt"))
        );
        let pod = d.spec.unwrap().template.spec.unwrap();
        let v = pod.volumes.unwrap().pop().unwrap();
        let cm = v.config_map.unwrap();
        assert_eq!(cm.name, "company-ca");
        let item = &cm.items.unwrap()[0];
        assert_eq!(
            (item.key.as_str(), item.path.as_str()),
            ("bundle.pem", "ca.crt")
        );
        let m = pod.containers[0]
            .volume_mounts
            .clone()
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(
            (m.name.as_str(), m.mount_path.as_str()),
            ("oidc-ca", "/var/run/kube-mcp/oidc-ca")
        );
        assert_eq!(m.read_only, Some(true));
    }

    #[test]
    fn telemetry_reaches_env_only_with_a_collector() {
        let e = ep("team-a", McpEndpointSpec::default());
        let cfg = |args: &[&str]| Config {
            telemetry: <crate::config::Cli as clap::Parser>::try_parse_from(
                std::iter::once("op").chain(args.iter().copied()),
            )
            .unwrap()
            .config
            .telemetry,
            ..Config::default()
        };
        let off = cfg(&[]);
        let env = env_map(&deployment(&e, &evaluate(&e, &off).unwrap(), &off));
        assert!(!env.contains_key("ENABLE_TELEMETRY") && !env.contains_key("OTEL_SERVICE_NAME"));
        let on = cfg(&["--otlp-endpoint=http://otel.obs.svc:4317"]);
        let env = env_map(&deployment(&e, &evaluate(&e, &on).unwrap(), &on));
        assert!(parse(&env).enable_telemetry);
        assert_eq!(
            env["OTEL_EXPORTER_OTLP_ENDPOINT"],
            "http://otel.obs.svc:4317"
        );
        assert_eq!(env["OTEL_SERVICE_NAME"], "kube-mcp/team-a/ep");
    }

    #[test]
    fn env_is_the_servers_own_parsing() {
        let d = render(McpEndpointSpec {
            tools: Some(vec!["kubectl_get".into(), "kubectl_logs".into()]),
            allowed_hosts: vec!["mcp.example.com".into()],
            allowed_origins: vec!["https://app.example.com".into()],
            ..Default::default()
        });
        let env = env_map(&d);
        let parsed = parse(&env);
        assert_eq!(parsed.transport(), Transport::Http);
        assert_eq!(parsed.port, 8080);
        assert_eq!(parsed.host, "0.0.0.0");
        assert!(parsed.stateless);
        assert_eq!(parsed.allowed_tools, ["kubectl_get", "kubectl_logs"]);
        assert_eq!(parsed.secrets_mode(), SecretsMode::Masked);
        assert_eq!(parsed.namespaces, ["team-a"]);
        assert_eq!(
            parsed.auth_token_file.as_deref(),
            Some(std::path::Path::new("/var/run/kube-mcp/auth/token"))
        );
        assert_eq!(
            parsed.allowed_hosts,
            [
                "ep",
                "ep.team-a",
                "ep.team-a.svc",
                "ep.team-a.svc.cluster.local",
                "mcp.example.com"
            ]
        );
        assert_eq!(parsed.allowed_origins, ["https://app.example.com"]);
        assert!(
            !env.contains_key("MCP_AUTH_TOKEN"),
            "the token is never in env"
        );
    }

    #[test]
    fn hidden_secrets_and_access_reach_env() {
        let d = render(McpEndpointSpec {
            access: Access::NonDestructive,
            secrets: SecretsPolicy::Hidden,
            ..Default::default()
        });
        let env = env_map(&d);
        assert_eq!(env["KUBE_MCP_SECRETS"], "hidden");
        let tools: Vec<&str> = env["ALLOWED_TOOLS"].split(',').collect();
        for t in &tools {
            let spec = kube_mcp_catalog::tools::find(t).unwrap();
            assert_ne!(spec.class, kube_mcp_catalog::tools::ToolClass::Destructive);
        }
    }

    #[test]
    fn security_context_is_restricted() {
        let d = render(McpEndpointSpec::default());
        let pod = d.spec.unwrap().template.spec.unwrap();
        let c = &pod.containers[0];
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(sc.run_as_user, Some(65532));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop,
            Some(vec!["ALL".to_string()])
        );
        assert_eq!(sc.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
        assert_eq!(pod.automount_service_account_token, Some(true));
        assert_eq!(pod.service_account_name.as_deref(), Some("kube-mcp.ep"));
    }

    #[test]
    fn probes_and_port() {
        let d = render(McpEndpointSpec::default());
        let c = &d.spec.unwrap().template.spec.unwrap().containers[0];
        let p = &c.ports.as_ref().unwrap()[0];
        assert_eq!((p.name.as_deref(), p.container_port), (Some("http"), 8080));
        let path = |p: &Option<Probe>| {
            p.as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .clone()
                .unwrap()
        };
        assert_eq!(path(&c.liveness_probe), "/health");
        assert_eq!(path(&c.readiness_probe), "/ready");
    }

    /// A spec naming its own token Secret (`mine`, key `k`).
    fn with_own_token() -> McpEndpointSpec {
        McpEndpointSpec {
            auth: Some(AuthSpec {
                token_secret_ref: Some(SecretKeyRef {
                    name: "mine".into(),
                    key: "k".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn confirmations_follow_spec_confirm_and_share_the_generated_key() {
        use crate::crd::{ConfirmFallback as Fallback, ConfirmSpec};
        let cases = [
            (None, "destructive", "allow"),
            (
                Some((ConfirmCalls::Writes, Fallback::Deny)),
                "writes",
                "deny",
            ),
            (
                Some((ConfirmCalls::Never, Fallback::Allow)),
                "never",
                "allow",
            ),
        ];
        for (confirm, calls, fallback) in cases {
            let d = render(McpEndpointSpec {
                confirm: confirm.map(|(calls, fallback)| ConfirmSpec { calls, fallback }),
                ..Default::default()
            });
            let env = env_map(&d);
            assert_eq!(env["KUBE_MCP_CONFIRM"], calls);
            assert_eq!(env["KUBE_MCP_CONFIRM_FALLBACK"], fallback);
            // Every replica reads the same key, from the generated token Secret.
            assert_eq!(
                env["KUBE_MCP_CONFIRM_KEY_FILE"],
                "/var/run/kube-mcp/auth/confirm-key"
            );
            let items = d.spec.unwrap().template.spec.unwrap().volumes.unwrap()[0]
                .secret
                .clone()
                .unwrap()
                .items
                .unwrap();
            assert_eq!(items[1].key, "confirm-key");
        }
        // A referenced token Secret holds no key of ours: each replica makes one.
        let d = render(with_own_token());
        assert!(!env_map(&d).contains_key("KUBE_MCP_CONFIRM_KEY_FILE"));
        let volumes = d.spec.unwrap().template.spec.unwrap().volumes.unwrap();
        assert_eq!(volumes[0].secret.clone().unwrap().items.unwrap().len(), 1);
    }

    #[test]
    fn token_volume_is_read_only_and_follows_the_ref() {
        let d = render(McpEndpointSpec::default());
        let pod = d.spec.unwrap().template.spec.unwrap();
        let m = &pod.containers[0].volume_mounts.as_ref().unwrap()[0];
        assert_eq!(
            (m.mount_path.as_str(), m.read_only),
            ("/var/run/kube-mcp/auth", Some(true))
        );
        let v = pod.volumes.unwrap()[0].secret.clone().unwrap();
        assert_eq!(v.secret_name.as_deref(), Some("ep-token"));
        assert_eq!(v.items.unwrap()[0].path, "token");

        let d = render(with_own_token());
        let v = d.spec.unwrap().template.spec.unwrap().volumes.unwrap()[0]
            .secret
            .clone()
            .unwrap();
        assert_eq!(v.secret_name.as_deref(), Some("mine"));
        let item = &v.items.unwrap()[0];
        assert_eq!((item.key.as_str(), item.path.as_str()), ("k", "token"));
    }

    #[test]
    fn config_hash_moves_with_settings_only() {
        let hash = |d: &Deployment| {
            d.spec
                .as_ref()
                .unwrap()
                .template
                .metadata
                .as_ref()
                .unwrap()
                .annotations
                .as_ref()
                .unwrap()[labels::CONFIG_HASH]
                .clone()
        };
        let a = render(McpEndpointSpec::default());
        let b = render(McpEndpointSpec::default());
        assert_eq!(hash(&a), hash(&b));
        assert_eq!(hash(&a).len(), 64);
        let c = render(McpEndpointSpec {
            tools: Some(vec!["kubectl_get".into()]),
            ..Default::default()
        });
        assert_ne!(hash(&a), hash(&c));
        // Replicas and resources do not roll pods through the hash.
        let r = render(McpEndpointSpec {
            replicas: 3,
            ..Default::default()
        });
        assert_eq!(hash(&a), hash(&r));
    }

    #[test]
    fn image_and_resources_from_spec() {
        let res = ResourceRequirements {
            limits: Some(BTreeMap::from([(
                "memory".to_string(),
                Quantity("128Mi".into()),
            )])),
            ..Default::default()
        };
        let d = render(McpEndpointSpec {
            image: Some("example.com/mcp:dev".into()),
            resources: Some(res.clone()),
            replicas: 2,
            ..Default::default()
        });
        let spec = d.spec.unwrap();
        assert_eq!(spec.replicas, Some(2));
        let c = &spec.template.spec.unwrap().containers[0];
        assert_eq!(c.image.as_deref(), Some("example.com/mcp:dev"));
        assert_eq!(c.resources, Some(res));
        let d = render(McpEndpointSpec::default());
        assert_eq!(
            d.spec.unwrap().template.spec.unwrap().containers[0]
                .image
                .as_deref(),
            Some(crate::config::DEFAULT_IMAGE)
        );
    }

    #[test]
    fn audit_level_from_the_spec_else_the_operators_default() {
        use crate::crd::{AuditLevel, AuditSpec};
        let level = |spec_level: Option<AuditLevel>, default| {
            let e = ep(
                "team-a",
                McpEndpointSpec {
                    audit: Some(AuditSpec { level: spec_level }),
                    ..Default::default()
                },
            );
            let cfg = Config {
                default_audit_level: default,
                ..Config::default()
            };
            let g = evaluate(&e, &cfg).unwrap();
            env_map(&deployment(&e, &g, &cfg))["KUBE_MCP_AUDIT_LEVEL"].clone()
        };
        // (spec.audit.level, operator default, rendered)
        for (spec_level, default, want) in [
            (None, ServerAuditLevel::Metadata, "metadata"),
            (None, ServerAuditLevel::Request, "request"),
            (Some(AuditLevel::Off), ServerAuditLevel::Request, "off"),
            (Some(AuditLevel::Request), ServerAuditLevel::Off, "request"),
            (
                Some(AuditLevel::Metadata),
                ServerAuditLevel::Off,
                "metadata",
            ),
        ] {
            assert_eq!(
                level(spec_level, default),
                want,
                "{spec_level:?} {default:?}"
            );
        }
    }

    /// Snapshot of one full rendered Deployment (regenerate deliberately when the shape changes).
    #[test]
    fn full_deployment_snapshot() {
        let d = render(McpEndpointSpec {
            tools: Some(vec!["kubectl_get".into(), "kubectl_logs".into()]),
            ..Default::default()
        });
        let got = serde_json::to_value(&d).unwrap();
        let hash = got["spec"]["template"]["metadata"]["annotations"][labels::CONFIG_HASH].clone();
        let want = serde_json::json!({
          "apiVersion": "apps/v1",
          "kind": "Deployment",
          "metadata": {
            "name": "ep",
            "namespace": "team-a",
            "labels": {
              "app.kubernetes.io/component": "mcp-endpoint",
              "app.kubernetes.io/instance": "ep",
              "app.kubernetes.io/managed-by": "kube-mcp-operator",
              "app.kubernetes.io/name": "kube-mcp-server",
              "app.kubernetes.io/part-of": "kube-mcp",
              "kubemcp.io/owner-name": "ep",
              "kubemcp.io/owner-namespace": "team-a",
              "kubemcp.io/owner-uid": "0000-uid"
            },
            "ownerReferences": [{
              "apiVersion": "kubemcp.io/v1alpha1", "kind": "McpEndpoint", "name": "ep",
              "uid": "0000-uid", "controller": true
            }]
          },
          "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": "ep", "app.kubernetes.io/name": "kube-mcp-server"}},
            "template": {
              "metadata": {
                "labels": {
                  "app.kubernetes.io/component": "mcp-endpoint",
                  "app.kubernetes.io/instance": "ep",
                  "app.kubernetes.io/managed-by": "kube-mcp-operator",
                  "app.kubernetes.io/name": "kube-mcp-server",
                  "app.kubernetes.io/part-of": "kube-mcp",
                  "kubemcp.io/owner-name": "ep",
                  "kubemcp.io/owner-namespace": "team-a",
                  "kubemcp.io/owner-uid": "0000-uid"
                },
                "annotations": {"kubemcp.io/config-hash": hash}
              },
              "spec": {
                "serviceAccountName": "kube-mcp.ep",
                "automountServiceAccountToken": true,
                "enableServiceLinks": false,
                "securityContext": {
                  "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
                  "seccompProfile": {"type": "RuntimeDefault"}
                },
                "containers": [{
                  "name": "kube-mcp-server",
                  "image": crate::config::DEFAULT_IMAGE,
                  "env": [
                    {"name": "ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT", "value": "true"},
                    {"name": "PORT", "value": "8080"},
                    {"name": "HOST", "value": "0.0.0.0"},
                    {"name": "KUBE_MCP_STATELESS", "value": "true"},
                    {"name": "ALLOWED_TOOLS", "value": "kubectl_get,kubectl_logs"},
                    {"name": "ALLOW_ONLY_READONLY_TOOLS", "value": "true"},
                    {"name": "ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS", "value": "false"},
                    {"name": "KUBE_MCP_SECRETS", "value": "masked"},
                    {"name": "KUBE_MCP_NAMESPACES", "value": "team-a"},
                    {"name": "KUBE_MCP_AUTH_TOKEN_FILE", "value": "/var/run/kube-mcp/auth/token"},
                    {"name": "DNS_REBINDING_PROTECTION", "value": "true"},
                    {"name": "DNS_REBINDING_ALLOWED_HOST", "value": "ep,ep.team-a,ep.team-a.svc,ep.team-a.svc.cluster.local"},
                    {"name": "SPAWN_MAX_BUFFER", "value": "1048576"},
                    {"name": "KUBE_MCP_TOOL_TIMEOUT_SECONDS", "value": "60"},
                    {"name": "KUBE_MCP_MAX_SESSIONS", "value": "1000"},
                    {"name": "KUBE_MCP_SESSION_IDLE_SECONDS", "value": "300"},
                    {"name": "KUBE_MCP_CONFIRM", "value": "destructive"},
                    {"name": "KUBE_MCP_CONFIRM_FALLBACK", "value": "allow"},
                    {"name": "KUBE_MCP_CONFIRM_TIMEOUT_SECONDS", "value": "120"},
                    {"name": "KUBE_MCP_CONFIRM_KEY_FILE", "value": "/var/run/kube-mcp/auth/confirm-key"},
                    {"name": "KUBE_MCP_ENDPOINT", "value": "team-a/ep"},
                    {"name": "KUBE_MCP_AUDIT_LEVEL", "value": "metadata"}
                  ],
                  "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                  "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "initialDelaySeconds": 5, "periodSeconds": 10},
                  "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "initialDelaySeconds": 2, "periodSeconds": 10},
                  "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]},
                    "readOnlyRootFilesystem": true,
                    "runAsGroup": 65532,
                    "runAsNonRoot": true,
                    "runAsUser": 65532,
                    "seccompProfile": {"type": "RuntimeDefault"}
                  },
                  "volumeMounts": [
                    {"name": "auth", "mountPath": "/var/run/kube-mcp/auth", "readOnly": true},
                    {"name": "tmp", "mountPath": "/tmp"}
                  ]
                }],
                "volumes": [
                  {"name": "auth", "secret": {"secretName": "ep-token", "items": [{"key": "token", "path": "token"}, {"key": "confirm-key", "path": "confirm-key"}], "defaultMode": 288}},
                  {"name": "tmp", "emptyDir": {}}
                ]
              }
            }
          }
        });
        assert_eq!(
            got,
            want,
            "\n{}",
            serde_json::to_string_pretty(&got).unwrap()
        );
    }
}
