//! kubectl_create: from a manifest or the seed's generator arguments.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Server-side dry run
    #[serde(default)]
    pub dry_run: bool,
    /// Output format of the created object: yaml (default), json or name
    pub output: Option<String>,
    /// Validate the object against the schema (the API server always does)
    #[serde(default = "yes")]
    pub validate: bool,
    /// YAML or JSON manifest to create
    pub manifest: Option<String>,
    /// Path to a manifest file inside the server's allowed directory
    pub filename: Option<String>,
    /// Generator: namespace, configmap, secret, service, deployment, job or cronjob
    pub resource_type: Option<String>,
    /// Name of the object to generate
    pub name: Option<String>,
    /// Namespace of the object
    pub namespace: Option<String>,
    /// key=value pairs for configmap/secret
    pub from_literal: Option<Vec<String>>,
    /// key=path pairs for configmap/secret (paths inside the allowed directory)
    pub from_file: Option<Vec<String>>,
    /// key=content pairs: file content given inline
    pub from_file_content: Option<Vec<String>>,
    /// Secret type: generic, docker-registry or tls
    pub secret_type: Option<String>,
    /// Service type: clusterip, nodeport, loadbalancer or externalname
    pub service_type: Option<String>,
    /// Service ports as port or port:targetPort
    pub tcp_port: Option<Vec<String>>,
    /// Container image for deployment/job/cronjob
    pub image: Option<String>,
    /// Replicas for deployment
    pub replicas: Option<i32>,
    /// Container port for deployment
    pub port: Option<i32>,
    /// Cron schedule for cronjob
    pub schedule: Option<String>,
    /// Create the cronjob suspended
    #[serde(default)]
    pub suspend: bool,
    /// Command for job/cronjob containers
    pub command: Option<Vec<String>>,
    /// key=value labels
    pub labels: Option<Vec<String>>,
    /// key=value annotations
    pub annotations: Option<Vec<String>>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

fn yes() -> bool {
    true
}

pub async fn run(_ctx: &super::Ctx, _args: Args) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "kubectl_create",
    })
}
