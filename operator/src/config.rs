//! Operator configuration: flags and environment.

use crate::crd::Access;
use clap::{Parser, Subcommand, ValueEnum};
pub use kube_mcp_catalog::logging::LogFormat;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The default server image: the one released with this operator.
pub const DEFAULT_IMAGE: &str = concat!(
    "ghcr.io/kube-mcp/kube-mcp-server:",
    env!("CARGO_PKG_VERSION")
);

#[derive(Debug, Parser)]
#[command(
    name = "kube-mcp-operator",
    version,
    about = "Reconciles McpEndpoint resources into scoped kube-mcp-server deployments"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller (default).
    Run,
    /// Print the McpEndpoint CRD as YAML and exit.
    Crd,
    /// Print the ClusterRole the operator itself needs as YAML and exit
    /// (config/rbac/cluster_role.yaml).
    Rbac {
        /// Name of the ClusterRole.
        #[arg(long, default_value = "kube-mcp-operator")]
        name: String,
        /// Print only the rules (the chart's files/operator-rules.yaml).
        #[arg(long)]
        rules: bool,
    },
    /// Print the ValidatingAdmissionPolicies and bindings as YAML and exit
    /// (config/admission/policies.yaml).
    Admission {
        /// Prefix of the policies' names (the operator's fullname).
        #[arg(long, default_value = "kube-mcp-operator")]
        name: String,
        /// The operator's namespace.
        #[arg(long = "namespace", default_value = "kube-mcp-system")]
        namespace: String,
        /// The operator's ServiceAccount.
        #[arg(long, default_value = "kube-mcp-operator")]
        service_account: String,
        /// Print the chart's templates/admission.yaml instead (names left to Helm).
        #[arg(long)]
        helm: bool,
    },
}

/// Access ceiling flag values (same spelling as the CRD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MaxAccess {
    #[value(name = "ReadOnly", alias = "readonly")]
    ReadOnly,
    #[value(name = "NonDestructive", alias = "nondestructive")]
    NonDestructive,
    #[value(name = "Full", alias = "full")]
    Full,
}

impl From<MaxAccess> for Access {
    fn from(m: MaxAccess) -> Self {
        match m {
            MaxAccess::ReadOnly => Access::ReadOnly,
            MaxAccess::NonDestructive => Access::NonDestructive,
            MaxAccess::Full => Access::Full,
        }
    }
}

/// Policy and runtime settings of the operator.
#[derive(Debug, Clone, Parser)]
pub struct Config {
    /// Image of kube-mcp-server used when an endpoint names none.
    #[arg(long, env = "KUBE_MCP_SERVER_IMAGE", default_value = DEFAULT_IMAGE, global = true)]
    pub server_image: String,

    /// Namespaces whose endpoints may reach other namespaces or the whole cluster (comma list).
    #[arg(
        long,
        env = "KUBE_MCP_ADMIN_NAMESPACES",
        value_delimiter = ',',
        global = true
    )]
    pub admin_namespaces: Vec<String>,

    /// Images an endpoint may name in spec.image (comma list): an exact reference, or a
    /// prefix ending in `*` (end it with `/` before the `*`, e.g. `registry.example.com/kube-mcp/*`).
    /// --server-image is always allowed; empty: only it.
    #[arg(
        long,
        env = "KUBE_MCP_ALLOWED_IMAGES",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_images: Vec<String>,

    /// Highest access an endpoint may ask for: ReadOnly, NonDestructive or Full.
    #[arg(
        long,
        env = "KUBE_MCP_MAX_ACCESS",
        value_enum,
        default_value = "ReadOnly",
        global = true
    )]
    pub max_access: MaxAccess,

    /// Audit level of endpoints whose spec.audit.level is unset: off, metadata or request.
    #[arg(
        long,
        env = "KUBE_MCP_DEFAULT_AUDIT_LEVEL",
        value_enum,
        default_value = "metadata",
        global = true
    )]
    pub default_audit_level: kube_mcp_catalog::settings::AuditLevel,

    /// Whether cluster-wide endpoints (namespaces: ["*"]) may read cluster-scoped kinds (nodes,
    /// namespaces, persistent volumes, storage classes, CRDs). Namespace-scoped endpoints never
    /// get a cluster-scoped rule.
    #[arg(long, env = "KUBE_MCP_ALLOW_CLUSTER_READS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub allow_cluster_reads: bool,

    /// Whether to create a NetworkPolicy per endpoint.
    #[arg(long, env = "KUBE_MCP_NETWORK_POLICIES", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub network_policies: bool,

    /// Namespaces whose McpEndpoints are reconciled (comma list); empty: all.
    #[arg(
        long,
        env = "KUBE_MCP_WATCH_NAMESPACES",
        value_delimiter = ',',
        global = true
    )]
    pub watch_namespaces: Vec<String>,

    /// Address of the admin server (/metrics, /healthz, /readyz).
    #[arg(
        long,
        env = "KUBE_MCP_METRICS_ADDR",
        default_value = "0.0.0.0:8080",
        global = true
    )]
    pub metrics_addr: SocketAddr,

    /// Leader election through the Lease `kube-mcp-operator`: the controller runs only
    /// while this replica holds it, and the process exits when it loses it.
    #[arg(long, env = "KUBE_MCP_LEADER_ELECT", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub leader_elect: bool,

    /// Namespace of the leader-election Lease; default: POD_NAMESPACE, else `default`.
    #[arg(long, env = "KUBE_MCP_LEASE_NAMESPACE", global = true)]
    pub lease_namespace: Option<String>,

    /// Verify each available endpoint with an MCP initialize and tools/list through its Service.
    #[arg(long, env = "KUBE_MCP_VERIFY", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub verify: bool,

    /// Endpoints reconciled at once (all watched namespaces together): bounds
    /// the requests a burst of creates sends the API server together.
    #[arg(long, env = "KUBE_MCP_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..), global = true)]
    pub concurrency: u16,

    /// Requests per second the controller sends the API server on average
    /// (client-side rate limit, like client-go's QPS; leader election is not
    /// limited, and Events have a limit of the same size of their own).
    #[arg(long, env = "KUBE_MCP_KUBE_QPS", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub kube_qps: u32,

    /// Requests the controller may send at once above --kube-qps (client-go's burst).
    #[arg(long, env = "KUBE_MCP_KUBE_BURST", default_value_t = 400, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub kube_burst: u32,

    /// File of `<service host>=<ip:port>` lines used instead of cluster DNS for verification
    /// (re-read at each verification; for tests and clusters the operator cannot resolve).
    #[arg(long, env = "KUBE_MCP_VERIFY_ADDRESS_MAP", global = true)]
    pub verify_address_map: Option<PathBuf>,

    /// The API server's addresses (`IP:PORT`, comma list) endpoints' NetworkPolicies
    /// let the server reach; empty: the `kubernetes` Service and EndpointSlices in
    /// `default`, read at start-up.
    #[arg(
        long,
        env = "KUBE_MCP_API_SERVER_ENDPOINTS",
        value_delimiter = ',',
        global = true
    )]
    pub api_server_endpoints: Vec<SocketAddr>,

    /// Namespace the operator's pods run in (downward API `POD_NAMESPACE`; in a pod,
    /// read from the ServiceAccount mount when unset). With --verify, endpoints'
    /// NetworkPolicies admit the operator's pods (`app.kubernetes.io/name=kube-mcp-operator`) from there.
    #[arg(long, env = "POD_NAMESPACE", global = true)]
    pub operator_namespace: Option<String>,

    /// Log format: text or json (one object per line). Logs go to stderr, in colour only on a terminal.
    #[arg(long, env = kube_mcp_catalog::logging::FORMAT_ENV, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Where endpoints' traces go (--otlp-*, --otel-service-name).
    #[command(flatten)]
    pub telemetry: crate::telemetry::Telemetry,

    /// Where endpoints with the Oidc mode may reach their issuer (--oidc-issuer-cidrs).
    #[command(flatten)]
    pub issuer_egress: crate::network_policy::IssuerEgress,
}

/// The tracing filter from `RUST_LOG` (default `info,kube=warn` and
/// [`kube_mcp_catalog::logging::QUIET_TRANSPORT`]).
///
/// EnvFilter matches target *prefixes*, so `kube=warn` (meant for kube-rs) also
/// silences this crate's `kube_mcp_operator` targets; unless a directive names
/// this crate, it gets the global level (or `info`).
pub fn log_filter(rust_log: Option<&str>) -> String {
    let default = format!(
        "info,kube=warn,{}",
        kube_mcp_catalog::logging::QUIET_TRANSPORT
    );
    let base = rust_log
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&default);
    let directives: Vec<&str> = base.split(',').map(str::trim).collect();
    let shadowed = directives
        .iter()
        .any(|d| d.starts_with("kube=") || d.starts_with("kube["));
    let named = directives
        .iter()
        .any(|d| d.starts_with("kube_mcp_operator"));
    if shadowed && !named {
        let global = directives
            .iter()
            .find(|d| !d.is_empty() && !d.contains('='))
            .copied()
            .unwrap_or("info");
        format!("{base},kube_mcp_operator={global}")
    } else {
        base.to_string()
    }
}

impl Config {
    pub fn max_access(&self) -> Access {
        self.max_access.into()
    }

    pub fn is_admin_namespace(&self, ns: &str) -> bool {
        self.admin_namespaces.iter().any(|a| a == ns)
    }

    /// The client-side rate limit as tower's fixed window: `kube_burst`
    /// requests per `kube_burst / kube_qps` seconds, i.e. `kube_qps` on
    /// average with bursts of `kube_burst`.
    pub fn rate_limit(&self) -> (u64, std::time::Duration) {
        let burst = self.kube_burst.max(1);
        let window = f64::from(burst) / f64::from(self.kube_qps.max(1));
        (u64::from(burst), std::time::Duration::from_secs_f64(window))
    }
}

impl Default for Config {
    fn default() -> Self {
        // An empty command line yields every default (no env read for defaults here).
        Self {
            server_image: DEFAULT_IMAGE.into(),
            admin_namespaces: vec![],
            allowed_images: vec![],
            max_access: MaxAccess::ReadOnly,
            default_audit_level: kube_mcp_catalog::settings::AuditLevel::Metadata,
            allow_cluster_reads: true,
            network_policies: true,
            watch_namespaces: vec![],
            metrics_addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            leader_elect: false,
            lease_namespace: None,
            verify: true,
            concurrency: 8,
            kube_qps: 200,
            kube_burst: 400,
            verify_address_map: None,
            api_server_endpoints: vec![],
            operator_namespace: None,
            log_format: LogFormat::Text,
            telemetry: crate::telemetry::Telemetry {
                otel_service_name: crate::telemetry::DEFAULT_SERVICE_NAME.into(),
                ..Default::default()
            },
            issuer_egress: crate::network_policy::IssuerEgress::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("kube-mcp-operator").chain(args.iter().copied()))
            .unwrap()
    }

    #[test]
    fn defaults() {
        let c = parse(&[]);
        assert!(c.command.is_none());
        let d = Config::default();
        assert_eq!(c.config.server_image, d.server_image);
        assert!(
            c.config
                .server_image
                .starts_with("ghcr.io/kube-mcp/kube-mcp-server:")
        );
        assert_eq!(c.config.max_access(), Access::ReadOnly);
        assert_eq!(d.max_access(), Access::ReadOnly);
        assert!(c.config.allowed_images.is_empty() && d.allowed_images.is_empty());
        assert!(c.config.allow_cluster_reads && c.config.network_policies);
        assert!(!c.config.leader_elect);
        assert_eq!(c.config.metrics_addr, d.metrics_addr);
        assert!(c.config.verify && d.verify);
        assert!(c.config.verify_address_map.is_none());
        assert_eq!(
            (c.config.concurrency, c.config.kube_qps, c.config.kube_burst),
            (d.concurrency, d.kube_qps, d.kube_burst)
        );
        assert!(Cli::try_parse_from(["kube-mcp-operator", "--concurrency=0"]).is_err());
        assert!(Cli::try_parse_from(["kube-mcp-operator", "--kube-qps=0"]).is_err());
    }

    #[test]
    fn log_filter_keeps_the_operators_own_logs() {
        assert_eq!(
            log_filter(None),
            format!(
                "info,kube=warn,{},kube_mcp_operator=info",
                kube_mcp_catalog::logging::QUIET_TRANSPORT
            )
        );
        assert_eq!(
            log_filter(Some("warn,kube=error")),
            "warn,kube=error,kube_mcp_operator=warn"
        );
        assert_eq!(log_filter(Some("debug")), "debug");
        assert_eq!(
            log_filter(Some("info,kube=warn,kube_mcp_operator=debug")),
            "info,kube=warn,kube_mcp_operator=debug"
        );
    }

    #[test]
    fn flags() {
        let c = parse(&[
            "run",
            "--admin-namespaces",
            "ops,platform",
            "--max-access",
            "NonDestructive",
            "--allow-cluster-reads",
            "false",
            "--network-policies=false",
            "--watch-namespaces=a,b",
            "--verify=false",
            "--verify-address-map",
            "/tmp/map",
            "--leader-elect=true",
            "--lease-namespace=ops",
            "--api-server-endpoints=10.0.0.1:6443,[fd00::1]:443",
            "--allowed-images=registry.example.com/kube-mcp/*,ghcr.io/x/y:1",
        ]);
        assert_eq!(
            c.config.allowed_images,
            ["registry.example.com/kube-mcp/*", "ghcr.io/x/y:1"]
        );
        assert_eq!(
            c.config.api_server_endpoints,
            [
                "10.0.0.1:6443".parse::<SocketAddr>().unwrap(),
                "[fd00::1]:443".parse().unwrap()
            ]
        );
        assert!(!c.config.verify);
        assert_eq!(
            c.config.verify_address_map.as_deref(),
            Some(std::path::Path::new("/tmp/map"))
        );
        assert!(c.config.leader_elect);
        assert_eq!(c.config.lease_namespace.as_deref(), Some("ops"));
        assert!(matches!(c.command, Some(Command::Run)));
        assert_eq!(c.config.admin_namespaces, ["ops", "platform"]);
        assert!(c.config.is_admin_namespace("ops"));
        assert!(!c.config.is_admin_namespace("team-a"));
        assert_eq!(c.config.max_access(), Access::NonDestructive);
        assert!(!c.config.allow_cluster_reads);
        assert!(!c.config.network_policies);
        assert_eq!(c.config.watch_namespaces, ["a", "b"]);
        assert!(matches!(parse(&["crd"]).command, Some(Command::Crd)));
        assert!(matches!(
            parse(&["admission", "--namespace=ops", "--helm"]).command,
            Some(Command::Admission { namespace, helm: true, .. }) if namespace == "ops"
        ));
    }

    #[test]
    fn boolean_flags_take_a_bare_flag_or_a_value() {
        let c = parse(&["--leader-elect", "--verify=false", "--log-format", "json"]);
        assert!(c.config.leader_elect && !c.config.verify);
        assert_eq!(c.config.log_format, LogFormat::Json);
        let c = parse(&[
            "run",
            "--network-policies",
            "false",
            "--allow-cluster-reads",
        ]);
        assert!(!c.config.network_policies && c.config.allow_cluster_reads);
    }
}
