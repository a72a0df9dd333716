//! Server settings from flags and environment, seed-compatible.
//!
//! The operator renders the same settings into a Deployment with
//! [`Settings::to_env`], so one parser reads them whoever starts the server.

use crate::tools::{Rule, RuleScope};
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Parser, ValueEnum};
use std::path::PathBuf;

/// How MCP messages reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    Stdio,
    Http,
    Sse,
}

/// What the server shows of a Secret's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SecretsMode {
    /// Every value of data/stringData becomes `***`.
    #[default]
    Masked,
    /// Secrets are refused outright, even their names.
    Hidden,
    /// Values are shown as the API returns them.
    Visible,
}

pub use crate::logging::LogFormat;

/// How much of each tool call the audit log records, like the API server's
/// audit policy levels. Writes and refusals are recorded at `metadata` at
/// least, whatever the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Default)]
pub enum AuditLevel {
    /// Reads are not recorded (writes and refusals still are, without arguments).
    Off,
    /// Who called which tool, where, with what result; no arguments.
    #[default]
    Metadata,
    /// Metadata plus the arguments, with Secret values and tokens redacted.
    Request,
}

impl AuditLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditLevel::Off => "off",
            AuditLevel::Metadata => "metadata",
            AuditLevel::Request => "request",
        }
    }
}

/// How an HTTP client may prove who it is; one server may accept several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum AuthMode {
    /// The shared static token (MCP_AUTH_TOKEN / KUBE_MCP_AUTH_TOKEN_FILE).
    Token,
    /// Kubernetes ServiceAccount tokens for this server's audience, checked
    /// by the API server's TokenReview.
    Kubernetes,
    /// JWTs from an OIDC issuer, checked against its published keys.
    Oidc,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Token => "token",
            AuthMode::Kubernetes => "kubernetes",
            AuthMode::Oidc => "oidc",
        }
    }
}

/// What the server's ServiceAccount needs for the kubernetes mode: TokenReviews.
pub const TOKEN_REVIEWS: Rule = Rule {
    api_groups: &["authentication.k8s.io"],
    resources: &["tokenreviews"],
    verbs: &["create"],
    scope: RuleScope::Cluster,
};

/// What the server's ServiceAccount needs for caller authorization: SubjectAccessReviews.
pub const SUBJECT_ACCESS_REVIEWS: Rule = Rule {
    api_groups: &["authorization.k8s.io"],
    resources: &["subjectaccessreviews"],
    verbs: &["create"],
    scope: RuleScope::Cluster,
};

impl AuthMode {
    /// The RBAC rule the server needs to accept this mode's callers, if any.
    pub fn rule(self) -> Option<Rule> {
        (self == AuthMode::Kubernetes).then_some(TOKEN_REVIEWS)
    }
}

/// Whose rights a tool call's Kubernetes requests need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Authorize {
    /// The server's own (its ServiceAccount's RBAC): every caller alike.
    #[default]
    Endpoint,
    /// Also the caller's: each request is checked with a SubjectAccessReview
    /// for the caller's user and groups before it is sent.
    Caller,
}

impl Authorize {
    /// The RBAC rule the server needs to authorize this way, if any.
    pub fn rule(self) -> Option<Rule> {
        (self == Authorize::Caller).then_some(SUBJECT_ACCESS_REVIEWS)
    }
}

/// Which tool calls wait for the user's yes before they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ConfirmPolicy {
    /// Calls that remove or disrupt things: delete, drain, uninstall, cleanup.
    #[default]
    Destructive,
    /// Every call that changes something (destructive ones included).
    Writes,
    /// No call asks.
    Never,
}

/// What happens to a call that needs a confirmation when the client cannot
/// answer one (no elicitation support, or a stateless 2025 session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ConfirmFallback {
    /// The call is refused, saying why.
    Deny,
    /// The call runs, as it would without confirmations.
    #[default]
    Allow,
}

/// Defaults of the HTTP bounds on slow and greedy clients.
pub const DEFAULT_HEADER_TIMEOUT_SECONDS: u64 = 10;
pub const DEFAULT_BODY_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// An environment variable the server reads that is not a flag's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    pub help: &'static str,
}

const fn var(name: &'static str, help: &'static str) -> EnvVar {
    EnvVar { name, help }
}

/// Cluster access, in the seed's order: the first source that is set wins.
pub const CLUSTER_ENV: &[EnvVar] = &[
    var("KUBECONFIG_YAML", "a whole kubeconfig as YAML"),
    var("KUBECONFIG_JSON", "a whole kubeconfig as JSON"),
    var(
        "K8S_SERVER",
        "the API server URL; a source together with K8S_TOKEN",
    ),
    var("K8S_TOKEN", "the bearer token for K8S_SERVER"),
    var(
        "K8S_CA_DATA",
        "base64 PEM CA for K8S_SERVER (turns TLS verification on)",
    ),
    var(
        "K8S_SKIP_TLS_VERIFY",
        "true: do not verify K8S_SERVER's certificate (ignored with K8S_CA_DATA)",
    ),
    var(
        "KUBERNETES_SERVICE_HOST",
        "set by Kubernetes in a pod: use the pod's ServiceAccount",
    ),
    var(
        "KUBERNETES_SERVICE_PORT",
        "set by Kubernetes in a pod, with KUBERNETES_SERVICE_HOST",
    ),
    var("KUBECONFIG_PATH", "one kubeconfig file"),
    var(
        "KUBECONFIG",
        "kubeconfig files separated by ':', merged; missing ones are skipped as kubectl does",
    ),
    var("HOME", "~/.kube/config, the last source"),
];

/// Overrides that apply to whichever source was used.
pub const CONTEXT_ENV: &[EnvVar] = &[
    var(
        "K8S_CONTEXT",
        "the kubeconfig context to use instead of current-context",
    ),
    var(
        "K8S_NAMESPACE",
        "the default namespace instead of the context's",
    ),
];

/// Everything else the server reads outside its flags.
pub const OTHER_ENV: &[EnvVar] = &[
    var(
        "RUST_LOG",
        "log filter, e.g. debug or info,kube=debug (default: info)",
    ),
    var(
        "NO_COLOR",
        "set: no colour in text logs, even on a terminal",
    ),
    var(
        "KUBE_MCP_HELM",
        "the helm binary the helm tools run (default: helm on PATH)",
    ),
    var("PATH", "where the helm tools look for helm"),
];

/// OpenTelemetry, read when ENABLE_TELEMETRY is on (the seed's names and
/// the standard OTel ones).
pub const OTEL_ENV: &[EnvVar] = &[
    var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "the OTLP collector URL; traces are exported only when this and ENABLE_TELEMETRY are set",
    ),
    var(
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "grpc (default, as the seed) or http/protobuf",
    ),
    var(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "the traces-only collector URL; wins over OTEL_EXPORTER_OTLP_ENDPOINT",
    ),
    var(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "the traces-only protocol; wins over OTEL_EXPORTER_OTLP_PROTOCOL",
    ),
    var(
        "OTEL_SERVICE_NAME",
        "the service.name of the traces (default: kube-mcp-server)",
    ),
    var(
        "OTEL_RESOURCE_ATTRIBUTES",
        "more resource attributes, key=value,key=value",
    ),
    var(
        "OTEL_TRACES_SAMPLER",
        "e.g. parentbased_always_on (default), parentbased_traceidratio",
    ),
    var(
        "OTEL_TRACES_SAMPLER_ARG",
        "the sampler's argument, e.g. 0.1 for a ratio",
    ),
];

/// Every variable the server reads besides its flags' (`--help` lists them).
pub fn extra_env() -> impl Iterator<Item = &'static EnvVar> {
    CLUSTER_ENV
        .iter()
        .chain(CONTEXT_ENV)
        .chain(OTHER_ENV)
        .chain(OTEL_ENV)
}

/// The `--help` section for [`extra_env`].
fn env_help() -> String {
    let mut out = String::new();
    for (title, vars) in [
        (
            "Cluster access (the first source set wins, as in mcp-server-kubernetes):",
            CLUSTER_ENV,
        ),
        ("For any source:", CONTEXT_ENV),
        ("Other environment:", OTHER_ENV),
        (
            "OpenTelemetry (with ENABLE_TELEMETRY=true; the standard OTEL_* variables apply):",
            OTEL_ENV,
        ),
    ] {
        out.push_str(title);
        out.push('\n');
        for v in vars {
            out.push_str(&format!("  {:<24} {}\n", v.name, v.help));
        }
    }
    out.push_str("Boolean flags accept a bare flag (--readonly) or a value (--readonly=false).\n");
    out.push_str("HTTP and SSE modes serve both /mcp and /sse + /messages on one port, behind the same checks.");
    out
}

#[derive(Debug, Clone, Parser, PartialEq)]
#[command(
    name = "kube-mcp-server",
    version,
    about = "A Kubernetes MCP server (drop-in for mcp-server-kubernetes)",
    after_help = env_help()
)]
pub struct Settings {
    /// Print the tool catalog as JSON (honouring the tool filters) and exit.
    #[arg(long)]
    pub list_tools: bool,

    /// Transport: stdio (default), http (streamable HTTP on /mcp) or sse (legacy /sse + /messages).
    #[arg(long, value_enum)]
    pub transport: Option<Transport>,

    /// Serve streamable HTTP (/mcp) on HOST:PORT (the seed's switch; same as --transport http).
    #[arg(long, env = "ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT", value_parser = BoolishValueParser::new(), action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub enable_streamable_http: bool,

    /// Serve the legacy SSE transport (/sse + /messages) (the seed's switch; same as --transport sse).
    #[arg(long, env = "ENABLE_UNSAFE_SSE_TRANSPORT", value_parser = BoolishValueParser::new(), action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub enable_sse: bool,

    /// Port for the HTTP transports.
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,

    /// Address to listen on for the HTTP transports.
    #[arg(long, env = "HOST", default_value = "localhost")]
    pub host: String,

    /// Serve each HTTP request on its own, with no session (for several replicas behind one Service).
    #[arg(long, env = "KUBE_MCP_STATELESS", value_parser = BoolishValueParser::new(), action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub stateless: bool,

    /// Comma-separated allowlist of tool names; wins over the two modes below.
    #[arg(long, env = "ALLOWED_TOOLS", value_delimiter = ',')]
    pub allowed_tools: Vec<String>,

    /// Offer only the read-only tools.
    #[arg(long, env = "ALLOW_ONLY_READONLY_TOOLS", value_parser = BoolishValueParser::new(), action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub readonly: bool,

    /// Offer every tool except the destructive ones.
    #[arg(long, env = "ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS", value_parser = BoolishValueParser::new(), action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub non_destructive: bool,

    /// Seed switch: mask Secret values (default true). MASK_SECRETS=false shows them.
    #[arg(long, env = "MASK_SECRETS", value_parser = BoolishValueParser::new(), action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = true)]
    pub mask_secrets: bool,

    /// masked, hidden or visible; wins over MASK_SECRETS when set.
    #[arg(long, env = "KUBE_MCP_SECRETS", value_enum)]
    pub secrets: Option<SecretsMode>,

    /// Namespaces this server may touch: a comma list, or `*` for all (default).
    #[arg(long, env = "KUBE_MCP_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,

    /// Token HTTP clients must send in X-MCP-AUTH or `Authorization: Bearer`.
    #[arg(long, env = "MCP_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,

    /// File holding the token; re-read when it changes, so rotation needs no restart.
    #[arg(long, env = "KUBE_MCP_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<PathBuf>,

    /// How HTTP clients may authenticate (comma list of token, kubernetes, oidc). Default: token when a token is set, else none.
    #[arg(long, env = "KUBE_MCP_AUTH_MODES", value_enum, value_delimiter = ',')]
    pub auth_modes: Vec<AuthMode>,

    /// The URL clients use for this server's MCP endpoint (e.g. https://mcp.example.com/mcp): the OAuth resource and the default audience. Needed by the kubernetes and oidc modes.
    #[arg(long, env = "KUBE_MCP_RESOURCE_URL")]
    pub resource_url: Option<String>,

    /// Token audiences this server accepts (comma list). Default: the resource URL.
    #[arg(long, env = "KUBE_MCP_AUDIENCES", value_delimiter = ',')]
    pub audiences: Vec<String>,

    /// The OIDC issuer whose tokens the oidc mode accepts (https://...; its discovery document and keys are read from there).
    #[arg(long, env = "KUBE_MCP_OIDC_ISSUER_URL")]
    pub oidc_issuer_url: Option<String>,

    /// PEM CA certificates the issuer's TLS certificate must chain to. Default: the system's roots.
    #[arg(long, env = "KUBE_MCP_OIDC_CA_FILE")]
    pub oidc_ca_file: Option<PathBuf>,

    /// The claim holding the user name.
    #[arg(long, env = "KUBE_MCP_OIDC_USERNAME_CLAIM", default_value = "sub")]
    pub oidc_username_claim: String,

    /// Put before the user name, as the API server's --oidc-username-prefix: default `<issuer>#` (none for the email claim); `-` for none.
    #[arg(long, env = "KUBE_MCP_OIDC_USERNAME_PREFIX")]
    pub oidc_username_prefix: Option<String>,

    /// The claim holding the groups (a string or a list); empty for none.
    #[arg(long, env = "KUBE_MCP_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,

    /// Put before each group name, e.g. `oidc:`.
    #[arg(long, env = "KUBE_MCP_OIDC_GROUPS_PREFIX", default_value = "")]
    pub oidc_groups_prefix: String,

    /// Scopes every OIDC token must carry (comma list; read from `scope` or `scp`).
    #[arg(long, env = "KUBE_MCP_OIDC_REQUIRED_SCOPES", value_delimiter = ',')]
    pub oidc_required_scopes: Vec<String>,

    /// JWT signature algorithms accepted (comma list). Default: every asymmetric one (RS*, PS*, ES256, ES384, EdDSA); `none` and HMAC never are.
    #[arg(long, env = "KUBE_MCP_OIDC_SIGNING_ALGS", value_delimiter = ',')]
    pub oidc_signing_algs: Vec<String>,

    /// endpoint: tool calls act with the server's rights alone; caller: each Kubernetes request also needs the caller's own (SubjectAccessReview).
    #[arg(long, env = "KUBE_MCP_AUTHORIZE", value_enum, default_value_t = Authorize::Endpoint)]
    pub authorize: Authorize,

    /// DNS-rebinding protection (Host allowlist) on HTTP transports.
    #[arg(long, env = "DNS_REBINDING_PROTECTION", value_parser = BoolishValueParser::new(), action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = true)]
    pub dns_rebinding_protection: bool,

    /// Extra allowed Host header values (comma list; an entry without port matches any port).
    #[arg(long, env = "DNS_REBINDING_ALLOWED_HOST", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// Browser origins allowed to call the server (comma list); requests with another Origin are refused.
    #[arg(long, env = "KUBE_MCP_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Byte bound of one tool result (the seed's SPAWN_MAX_BUFFER); longer output is cut with a note.
    #[arg(long, env = "SPAWN_MAX_BUFFER", default_value_t = 1024 * 1024)]
    pub max_output_bytes: usize,

    /// Upper bound on one tool call's duration, in seconds.
    #[arg(long, env = "KUBE_MCP_TOOL_TIMEOUT_SECONDS", default_value_t = 60)]
    pub tool_timeout_seconds: u64,

    /// Directory that filename arguments must stay inside (default: none allowed).
    #[arg(long, env = "KUBE_MCP_FILES_DIR")]
    pub files_dir: Option<PathBuf>,

    /// Most MCP sessions held at once (streamable HTTP and legacy SSE each); a new one beyond is refused with 503.
    #[arg(long, env = "KUBE_MCP_MAX_SESSIONS", default_value_t = 1000)]
    pub max_sessions: usize,

    /// Seconds a session may stay idle before the server closes it.
    #[arg(long, env = "KUBE_MCP_SESSION_IDLE_SECONDS", default_value_t = 300)]
    pub session_idle_seconds: u64,

    /// Seconds a client may take to send a request's headers (slowloris); the connection is closed after.
    #[arg(long, env = "KUBE_MCP_HEADER_TIMEOUT_SECONDS", default_value_t = DEFAULT_HEADER_TIMEOUT_SECONDS)]
    pub header_timeout_seconds: u64,

    /// Seconds a client may take to send a request's body; slower ones are answered 408.
    #[arg(long, env = "KUBE_MCP_BODY_TIMEOUT_SECONDS", default_value_t = DEFAULT_BODY_TIMEOUT_SECONDS)]
    pub body_timeout_seconds: u64,

    /// Most client connections held at once; further ones wait in the listen backlog.
    #[arg(long, env = "KUBE_MCP_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Which calls ask the user first: destructive (delete, drain, uninstall, cleanup), writes, or never.
    #[arg(long, env = "KUBE_MCP_CONFIRM", value_enum, default_value_t = ConfirmPolicy::Destructive)]
    pub confirm: ConfirmPolicy,

    /// A call that must ask, from a client that cannot answer: deny or allow it.
    #[arg(long, env = "KUBE_MCP_CONFIRM_FALLBACK", value_enum, default_value_t = ConfirmFallback::Allow)]
    pub confirm_fallback: ConfirmFallback,

    /// Seconds a confirmation waits for the answer (and how long a 2026-07-28 confirmation stays valid).
    #[arg(long, env = "KUBE_MCP_CONFIRM_TIMEOUT_SECONDS", default_value_t = 120)]
    pub confirm_timeout_seconds: u64,

    /// File holding the key (32+ bytes) that signs confirmation state; every replica needs the same one. Default: a random key per process.
    #[arg(long, env = "KUBE_MCP_CONFIRM_KEY_FILE")]
    pub confirm_key_file: Option<PathBuf>,

    /// Log format: text or json.
    #[arg(long, env = crate::logging::FORMAT_ENV, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The endpoint this server serves, as <namespace>/<name>; named in every audit record (the operator sets it).
    #[arg(long, env = "KUBE_MCP_ENDPOINT")]
    pub endpoint: Option<String>,

    /// Audit log level: off (reads not recorded), metadata or request (with redacted arguments); writes and refusals are always recorded.
    #[arg(long, env = "KUBE_MCP_AUDIT_LEVEL", value_enum, default_value_t = AuditLevel::Metadata)]
    pub audit_level: AuditLevel,

    /// Write audit records to this file instead of stdout (stderr with the stdio transport).
    #[arg(long, env = "KUBE_MCP_AUDIT_FILE")]
    pub audit_file: Option<PathBuf>,

    /// Size at which the audit file is rotated to <file>.1 (one rotated file is kept).
    #[arg(long, env = "KUBE_MCP_AUDIT_FILE_MAX_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub audit_file_max_bytes: u64,

    /// Export OpenTelemetry traces (the seed's switch); needs OTEL_EXPORTER_OTLP_ENDPOINT too.
    #[arg(long, env = "ENABLE_TELEMETRY", value_parser = BoolishValueParser::new(), action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub enable_telemetry: bool,
}

impl Settings {
    /// Parses flags and environment the way the binary does.
    pub fn from_args_and_env<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::try_parse_from(args)
    }

    pub fn transport(&self) -> Transport {
        if let Some(t) = self.transport {
            t
        } else if self.enable_streamable_http {
            Transport::Http
        } else if self.enable_sse {
            Transport::Sse
        } else {
            Transport::Stdio
        }
    }

    pub fn secrets_mode(&self) -> SecretsMode {
        match self.secrets {
            Some(m) => m,
            None if self.mask_secrets => SecretsMode::Masked,
            None => SecretsMode::Visible,
        }
    }

    /// The environment that makes a server start with these settings.
    /// Secrets (the auth token) are never rendered: pass them as a file.
    pub fn to_env(&self) -> Vec<(String, String)> {
        let mut env = vec![];
        let mut put = |k: &str, v: String| env.push((k.to_string(), v));
        match self.transport() {
            Transport::Http => put("ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT", "true".into()),
            Transport::Sse => put("ENABLE_UNSAFE_SSE_TRANSPORT", "true".into()),
            Transport::Stdio => {}
        }
        put("PORT", self.port.to_string());
        put("HOST", self.host.clone());
        put("KUBE_MCP_STATELESS", self.stateless.to_string());
        if !self.allowed_tools.is_empty() {
            put("ALLOWED_TOOLS", self.allowed_tools.join(","));
        }
        put("ALLOW_ONLY_READONLY_TOOLS", self.readonly.to_string());
        put(
            "ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS",
            self.non_destructive.to_string(),
        );
        put("KUBE_MCP_SECRETS", value_name(self.secrets_mode()));
        if !self.namespaces.is_empty() {
            put("KUBE_MCP_NAMESPACES", self.namespaces.join(","));
        }
        if let Some(f) = &self.auth_token_file {
            put("KUBE_MCP_AUTH_TOKEN_FILE", f.display().to_string());
        }
        let list = |v: &[String]| v.join(",");
        if !self.auth_modes.is_empty() {
            let modes: Vec<String> = self.auth_modes.iter().map(|m| m.as_str().into()).collect();
            put("KUBE_MCP_AUTH_MODES", list(&modes));
        }
        if let Some(u) = &self.resource_url {
            put("KUBE_MCP_RESOURCE_URL", u.clone());
        }
        if !self.audiences.is_empty() {
            put("KUBE_MCP_AUDIENCES", list(&self.audiences));
        }
        if let Some(u) = &self.oidc_issuer_url {
            put("KUBE_MCP_OIDC_ISSUER_URL", u.clone());
            if let Some(f) = &self.oidc_ca_file {
                put("KUBE_MCP_OIDC_CA_FILE", f.display().to_string());
            }
            put(
                "KUBE_MCP_OIDC_USERNAME_CLAIM",
                self.oidc_username_claim.clone(),
            );
            if let Some(p) = &self.oidc_username_prefix {
                put("KUBE_MCP_OIDC_USERNAME_PREFIX", p.clone());
            }
            put("KUBE_MCP_OIDC_GROUPS_CLAIM", self.oidc_groups_claim.clone());
            if !self.oidc_groups_prefix.is_empty() {
                put(
                    "KUBE_MCP_OIDC_GROUPS_PREFIX",
                    self.oidc_groups_prefix.clone(),
                );
            }
            if !self.oidc_required_scopes.is_empty() {
                put(
                    "KUBE_MCP_OIDC_REQUIRED_SCOPES",
                    list(&self.oidc_required_scopes),
                );
            }
            if !self.oidc_signing_algs.is_empty() {
                put("KUBE_MCP_OIDC_SIGNING_ALGS", list(&self.oidc_signing_algs));
            }
        }
        if self.authorize == Authorize::Caller {
            put("KUBE_MCP_AUTHORIZE", "caller".into());
        }
        put(
            "DNS_REBINDING_PROTECTION",
            self.dns_rebinding_protection.to_string(),
        );
        if !self.allowed_hosts.is_empty() {
            put("DNS_REBINDING_ALLOWED_HOST", self.allowed_hosts.join(","));
        }
        if !self.allowed_origins.is_empty() {
            put("KUBE_MCP_ALLOWED_ORIGINS", self.allowed_origins.join(","));
        }
        put("SPAWN_MAX_BUFFER", self.max_output_bytes.to_string());
        put(
            "KUBE_MCP_TOOL_TIMEOUT_SECONDS",
            self.tool_timeout_seconds.to_string(),
        );
        if let Some(d) = &self.files_dir {
            put("KUBE_MCP_FILES_DIR", d.display().to_string());
        }
        put("KUBE_MCP_MAX_SESSIONS", self.max_sessions.to_string());
        put(
            "KUBE_MCP_SESSION_IDLE_SECONDS",
            self.session_idle_seconds.to_string(),
        );
        // Rendered only when changed: Deployments made before these existed stay as they are.
        if self.header_timeout_seconds != DEFAULT_HEADER_TIMEOUT_SECONDS {
            put(
                "KUBE_MCP_HEADER_TIMEOUT_SECONDS",
                self.header_timeout_seconds.to_string(),
            );
        }
        if self.body_timeout_seconds != DEFAULT_BODY_TIMEOUT_SECONDS {
            put(
                "KUBE_MCP_BODY_TIMEOUT_SECONDS",
                self.body_timeout_seconds.to_string(),
            );
        }
        if self.max_connections != DEFAULT_MAX_CONNECTIONS {
            put("KUBE_MCP_MAX_CONNECTIONS", self.max_connections.to_string());
        }
        put("KUBE_MCP_CONFIRM", value_name(self.confirm));
        put(
            "KUBE_MCP_CONFIRM_FALLBACK",
            value_name(self.confirm_fallback),
        );
        put(
            "KUBE_MCP_CONFIRM_TIMEOUT_SECONDS",
            self.confirm_timeout_seconds.to_string(),
        );
        if let Some(f) = &self.confirm_key_file {
            put("KUBE_MCP_CONFIRM_KEY_FILE", f.display().to_string());
        }
        if self.log_format == LogFormat::Json {
            put("KUBE_MCP_LOG_FORMAT", "json".into());
        }
        if let Some(e) = &self.endpoint {
            put("KUBE_MCP_ENDPOINT", e.clone());
        }
        put("KUBE_MCP_AUDIT_LEVEL", self.audit_level.as_str().into());
        if let Some(f) = &self.audit_file {
            put("KUBE_MCP_AUDIT_FILE", f.display().to_string());
            put(
                "KUBE_MCP_AUDIT_FILE_MAX_BYTES",
                self.audit_file_max_bytes.to_string(),
            );
        }
        if self.enable_telemetry {
            put("ENABLE_TELEMETRY", "true".into());
        }
        env
    }
}

/// The command-line spelling of a value (`destructive`, `allow`).
fn value_name(v: impl ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

impl Default for Settings {
    fn default() -> Self {
        // Parsing an empty command line yields every default; no env is read
        // because clap only reads env for args during a real parse.
        Self {
            list_tools: false,
            transport: None,
            enable_streamable_http: false,
            enable_sse: false,
            port: 3000,
            host: "localhost".into(),
            stateless: false,
            allowed_tools: vec![],
            readonly: false,
            non_destructive: false,
            mask_secrets: true,
            secrets: None,
            namespaces: vec![],
            auth_token: None,
            auth_token_file: None,
            auth_modes: vec![],
            resource_url: None,
            audiences: vec![],
            oidc_issuer_url: None,
            oidc_ca_file: None,
            oidc_username_claim: "sub".into(),
            oidc_username_prefix: None,
            oidc_groups_claim: "groups".into(),
            oidc_groups_prefix: String::new(),
            oidc_required_scopes: vec![],
            oidc_signing_algs: vec![],
            authorize: Authorize::Endpoint,
            dns_rebinding_protection: true,
            allowed_hosts: vec![],
            allowed_origins: vec![],
            max_output_bytes: 1024 * 1024,
            tool_timeout_seconds: 60,
            files_dir: None,
            max_sessions: 1000,
            session_idle_seconds: 300,
            header_timeout_seconds: DEFAULT_HEADER_TIMEOUT_SECONDS,
            body_timeout_seconds: DEFAULT_BODY_TIMEOUT_SECONDS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            confirm: ConfirmPolicy::Destructive,
            confirm_fallback: ConfirmFallback::Allow,
            confirm_timeout_seconds: 120,
            confirm_key_file: None,
            log_format: LogFormat::Text,
            endpoint: None,
            audit_level: AuditLevel::Metadata,
            audit_file: None,
            audit_file_max_bytes: 100 * 1024 * 1024,
            enable_telemetry: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Settings {
        Settings::try_parse_from(std::iter::once("kube-mcp-server").chain(args.iter().copied()))
            .unwrap()
    }

    #[test]
    fn defaults_match_the_seed() {
        let s = parse(&[]);
        assert_eq!(s.transport(), Transport::Stdio);
        assert_eq!(s.port, 3000);
        assert_eq!(s.secrets_mode(), SecretsMode::Masked);
        assert!(s.dns_rebinding_protection);
        assert_eq!(s.max_output_bytes, 1 << 20);
    }

    #[test]
    fn transport_flag_wins_over_seed_switches() {
        let s = parse(&["--enable-sse", "true", "--transport", "http"]);
        assert_eq!(s.transport(), Transport::Http);
        let s = parse(&["--enable-sse", "1"]);
        assert_eq!(s.transport(), Transport::Sse);
    }

    #[test]
    fn secrets_setting_wins_over_mask_secrets() {
        assert_eq!(
            parse(&["--mask-secrets", "false"]).secrets_mode(),
            SecretsMode::Visible
        );
        assert_eq!(
            parse(&["--mask-secrets", "false", "--secrets", "hidden"]).secrets_mode(),
            SecretsMode::Hidden
        );
    }

    #[test]
    fn boolean_flags_take_a_bare_flag_or_a_value() {
        let s = parse(&["--readonly", "--stateless", "--port", "8080"]);
        assert!(s.readonly && s.stateless);
        assert_eq!(s.port, 8080);
        assert!(!parse(&["--readonly=false"]).readonly);
        assert!(parse(&["--readonly=true"]).readonly);
        assert!(parse(&["--readonly", "yes"]).readonly);
        assert!(!parse(&["--mask-secrets", "false"]).mask_secrets);
        assert_eq!(parse(&["--enable-sse"]).transport(), Transport::Sse);
        let err = Settings::try_parse_from(["kube-mcp-server", "--readonly=maybe"]).unwrap_err();
        assert!(err.to_string().contains("maybe"), "{err}");
        // Every boolean the seed has (and ours) takes the bare form.
        let cmd = <Settings as clap::CommandFactory>::command();
        for arg in cmd.get_arguments().filter(|a| a.get_env().is_some()) {
            let takes_bool =
                arg.get_default_values() == ["true"] || arg.get_default_values() == ["false"];
            if takes_bool {
                let long = arg.get_long().unwrap();
                Settings::try_parse_from(["kube-mcp-server", &format!("--{long}")])
                    .unwrap_or_else(|e| panic!("--{long}: {e}"));
            }
        }
    }

    #[test]
    fn help_lists_every_environment_variable() {
        let mut cmd = <Settings as clap::CommandFactory>::command();
        let help = cmd.render_long_help().to_string();
        let flag_env: Vec<_> = cmd
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        assert!(flag_env.len() > 15, "{flag_env:?}");
        for name in flag_env
            .iter()
            .map(String::as_str)
            .chain(extra_env().map(|v| v.name))
        {
            assert!(
                help.contains(name),
                "--help does not mention {name}:\n{help}"
            );
        }
        assert!(help.contains("ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT"));
    }

    #[test]
    fn default_is_what_an_empty_command_line_gives() {
        assert_eq!(Settings::default(), parse(&[]));
    }

    #[test]
    fn to_env_round_trips_through_the_parser() {
        let mut s = Settings {
            transport: Some(Transport::Http),
            port: 8080,
            host: "0.0.0.0".into(),
            stateless: true,
            allowed_tools: vec!["kubectl_get".into(), "kubectl_logs".into()],
            readonly: true,
            secrets: Some(SecretsMode::Hidden),
            namespaces: vec!["team-a".into(), "team-b".into()],
            auth_token_file: Some("/var/run/kube-mcp/token".into()),
            auth_modes: vec![AuthMode::Token, AuthMode::Kubernetes, AuthMode::Oidc],
            resource_url: Some("https://mcp.example.com/mcp".into()),
            audiences: vec!["https://mcp.example.com/mcp".into(), "kube-mcp".into()],
            oidc_issuer_url: Some("https://idp.example.com".into()),
            oidc_ca_file: Some("/etc/kube-mcp/oidc-ca.pem".into()),
            oidc_username_claim: "email".into(),
            oidc_username_prefix: Some("oidc:".into()),
            oidc_groups_claim: "roles".into(),
            oidc_groups_prefix: "oidc:".into(),
            oidc_required_scopes: vec!["mcp:tools".into()],
            oidc_signing_algs: vec!["RS256".into()],
            authorize: Authorize::Caller,
            allowed_hosts: vec!["mcp.example.com".into(), "svc.ns.svc".into()],
            allowed_origins: vec!["https://app.example.com".into()],
            confirm: ConfirmPolicy::Writes,
            confirm_fallback: ConfirmFallback::Deny,
            confirm_timeout_seconds: 30,
            confirm_key_file: Some("/var/run/kube-mcp/confirm/key".into()),
            log_format: LogFormat::Json,
            endpoint: Some("team-a/readonly".into()),
            audit_level: AuditLevel::Request,
            audit_file: Some("/var/log/kube-mcp/audit.log".into()),
            audit_file_max_bytes: 1 << 20,
            enable_telemetry: true,
            header_timeout_seconds: 5,
            body_timeout_seconds: 20,
            max_connections: 512,
            ..Settings::default()
        };
        let env = s.to_env();
        assert!(
            env.iter().all(|(k, _)| k != "MCP_AUTH_TOKEN"),
            "a token must never be rendered as env"
        );
        // Parse the rendered env as flags: clap reads env and flags through the same args.
        let mut args = vec!["kube-mcp-server".to_string()];
        let mut cmd = <Settings as clap::CommandFactory>::command();
        cmd.build();
        for (k, v) in &env {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_env().is_some_and(|e| e == k.as_str()))
                .unwrap();
            args.push(format!("--{}={v}", arg.get_long().unwrap()));
        }
        let back = Settings::try_parse_from(args).unwrap();
        // The explicit transport becomes the seed switch; both mean http.
        assert_eq!(back.transport(), Transport::Http);
        s.transport = None;
        s.enable_streamable_http = true;
        assert_eq!(
            back,
            Settings {
                mask_secrets: true,
                ..s
            }
        );
    }
}
