//! Helm tools, through a `helm` binary on PATH.
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallArgs {
    /// Release name
    pub name: String,
    /// Chart reference: repo/chart, a URL, or a local chart directory
    pub chart: String,
    /// Namespace to install into
    pub namespace: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
    /// Chart repository URL
    pub repo: Option<String>,
    /// Values as an object
    pub values: Option<serde_json::Value>,
    /// Values file inside the server's allowed directory
    pub values_file: Option<String>,
    /// Render with `helm template` and apply the result instead of installing a release
    #[serde(default)]
    pub use_template: bool,
    /// Create the namespace if it is missing
    #[serde(default = "yes")]
    pub create_namespace: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeArgs {
    /// Release name
    pub name: String,
    /// Chart reference: repo/chart, a URL, or a local chart directory
    pub chart: String,
    /// Namespace of the release
    pub namespace: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
    /// Chart repository URL
    pub repo: Option<String>,
    /// Values as an object
    pub values: Option<serde_json::Value>,
    /// Values file inside the server's allowed directory
    pub values_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UninstallArgs {
    /// Release name
    pub name: String,
    /// Namespace of the release
    pub namespace: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

fn yes() -> bool {
    true
}

pub async fn install(_ctx: &super::Ctx, _args: InstallArgs) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "install_helm_chart",
    })
}

pub async fn upgrade(_ctx: &super::Ctx, _args: UpgradeArgs) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "upgrade_helm_chart",
    })
}

pub async fn uninstall(_ctx: &super::Ctx, _args: UninstallArgs) -> super::ToolResult {
    Err(super::ToolError::NotImplemented {
        tool: "uninstall_helm_chart",
    })
}
