//! Helm tools, through a `helm` binary on PATH (or KUBE_MCP_HELM). The
//! server's cluster access is handed to helm as a temporary kubeconfig file
//! (mode 0600, in a private temporary directory, deleted after the call).
use super::{Ctx, ToolError, ToolResult};
use crate::config::SecretsMode;
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

fn invalid(tool: ToolId, reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool,
        reason: reason.into(),
    }
}

/// The helm binary: KUBE_MCP_HELM, else `helm` on PATH.
pub fn helm_binary() -> Result<PathBuf, ToolError> {
    find_helm(
        std::env::var_os("KUBE_MCP_HELM").filter(|v| !v.is_empty()),
        std::env::var_os("PATH"),
    )
}

fn find_helm(
    explicit: Option<std::ffi::OsString>,
    path: Option<std::ffi::OsString>,
) -> Result<PathBuf, ToolError> {
    if let Some(p) = explicit {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(ToolError::Invalid(format!(
                "KUBE_MCP_HELM names {}, which is not a file; point it at a helm 3 binary",
                p.display()
            )))
        };
    }
    path.iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("helm"))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            ToolError::Invalid(
                "the Helm tools need the helm binary (Helm 3, https://helm.sh/docs/intro/install/), \
                 which is not on this server's PATH; install it or set KUBE_MCP_HELM to its path"
                    .into(),
            )
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Helm's release-name rule: lower-case DNS label characters, at most 53.
pub fn check_release_name(tool: ToolId, name: &str) -> Result<(), ToolError> {
    let ok = !name.is_empty()
        && name.len() <= 53
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            tool,
            format!(
                "release name {name:?} is invalid: use lower-case letters, digits, '-' and '.', at most 53 characters"
            ),
        ))
    }
}

/// What helm is given as the chart: a local directory (only inside the
/// allowed directory) or a reference helm resolves (repo/chart, oci://, https://).
pub fn chart_arg(tool: ToolId, chart: &str, files_dir: Option<&Path>) -> Result<String, ToolError> {
    let c = chart.trim();
    if c.is_empty() || c.starts_with('-') {
        return Err(invalid(
            tool,
            format!("chart {chart:?} is not a chart reference"),
        ));
    }
    if c.starts_with("file://") {
        return Err(invalid(
            tool,
            "file:// charts are not allowed; give a directory path inside the allowed directory",
        ));
    }
    let path_like = c.starts_with('/')
        || c.starts_with("./")
        || c.starts_with("../")
        || c.starts_with('~')
        || c == ".";
    if path_like || c.ends_with(".tgz") {
        let real = super::files::resolve(files_dir, "chart", c)?;
        return Ok(real.to_string_lossy().into_owned());
    }
    Ok(c.to_string())
}

fn check_repo(tool: ToolId, repo: Option<&str>) -> Result<Option<String>, ToolError> {
    match repo.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r)
            if r.starts_with("https://") || r.starts_with("http://") || r.starts_with("oci://") =>
        {
            Ok(Some(r.to_string()))
        }
        Some(r) => Err(invalid(
            tool,
            format!("repo {r:?} must be an http(s):// or oci:// URL"),
        )),
    }
}

/// A private temporary directory holding the kubeconfig and values files of one call.
struct Workspace {
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Workspace {
    async fn new(ctx: &Ctx, context: Option<&str>) -> Result<Self, ToolError> {
        let dir = tempfile::Builder::new()
            .prefix("kube-mcp-helm-")
            .tempdir()
            .map_err(|e| {
                ToolError::Invalid(format!("cannot create a temporary directory for helm: {e}"))
            })?;
        let mut ws = Workspace { dir, args: vec![] };
        let access = ctx.access().await;
        if let Some(mut kc) = access.kubeconfig.clone() {
            let chosen = match context.filter(|c| !c.is_empty()) {
                Some(c) => {
                    access.check_context(c)?;
                    Some(c.to_string())
                }
                None => ctx.current_context().await.or(access.context.clone()),
            };
            if let Some(c) = &chosen {
                kc.current_context = Some(c.clone());
            }
            let text = serde_json::to_vec(&kc).map_err(|e| {
                ToolError::Invalid(format!("cannot render the kubeconfig for helm: {e}"))
            })?;
            let path = ws.write("kubeconfig", &text)?;
            ws.args.push("--kubeconfig".into());
            ws.args.push(path.to_string_lossy().into_owned());
            if let Some(c) = chosen {
                ws.args.push("--kube-context".into());
                ws.args.push(c);
            }
        }
        Ok(ws)
    }

    /// Writes a file readable only by this user.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, ToolError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.path().join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| {
                ToolError::Invalid(format!("cannot write a temporary file for helm: {e}"))
            })?;
        f.write_all(bytes).map_err(|e| {
            ToolError::Invalid(format!("cannot write a temporary file for helm: {e}"))
        })?;
        Ok(path)
    }

    /// `-f` arguments for the values object and the values file.
    fn values_args(
        &self,
        ctx: &Ctx,
        tool: ToolId,
        values: Option<&Value>,
        values_file: Option<&str>,
    ) -> Result<Vec<String>, ToolError> {
        let mut out = vec![];
        if let Some(f) = values_file.filter(|f| !f.is_empty()) {
            let real = super::files::resolve(ctx.settings.files_dir.as_deref(), "valuesFile", f)?;
            out.push("-f".into());
            out.push(real.to_string_lossy().into_owned());
        }
        match values {
            None | Some(Value::Null) => {}
            Some(v @ Value::Object(_)) => {
                let bytes = serde_json::to_vec(v).map_err(|e| invalid(tool, e.to_string()))?;
                let path = self.write("values.json", &bytes)?;
                out.push("-f".into());
                out.push(path.to_string_lossy().into_owned());
            }
            Some(_) => {
                return Err(invalid(
                    tool,
                    "values must be an object, e.g. {\"replicaCount\": 2}",
                ));
            }
        }
        Ok(out)
    }

    async fn run(&self, ctx: &Ctx, what: &str, args: Vec<String>) -> Result<String, ToolError> {
        let helm = helm_binary()?;
        let mut cmd = tokio::process::Command::new(helm);
        cmd.args(&args)
            .args(&self.args)
            .current_dir(self.dir.path())
            .env_remove("KUBECONFIG")
            .env_remove("HELM_KUBETOKEN")
            .env_remove("HELM_KUBEAPISERVER")
            .env_remove("HELM_KUBECONTEXT")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if ctx.secrets() == SecretsMode::Hidden {
            // Releases are kept in Secrets by default; this server may not touch them.
            cmd.env("HELM_DRIVER", "configmap");
        }
        let limit = Duration::from_secs(ctx.settings.tool_timeout_seconds.saturating_sub(1).max(1));
        let out = tokio::time::timeout(limit, cmd.output())
            .await
            .map_err(|_| {
                ToolError::Invalid(format!(
                    "helm {what} did not finish within {}s",
                    limit.as_secs()
                ))
            })?
            .map_err(|e| ToolError::Invalid(format!("cannot run helm: {e}")))?;
        // A chart's templates and NOTES can print what they looked up.
        let mode = ctx.secrets();
        let stdout = crate::mask::redact_text(&String::from_utf8_lossy(&out.stdout), mode);
        if out.status.success() {
            Ok(stdout)
        } else {
            let stderr = crate::mask::redact_text(&String::from_utf8_lossy(&out.stderr), mode);
            Err(ToolError::Invalid(ctx.bound(format!(
                "helm {what} failed ({}): {}",
                out.status,
                stderr.trim()
            ))))
        }
    }

    /// The chart as a local file: a remote one is pulled once, here, so that
    /// the chart checked and the chart installed are the same bytes.
    async fn local_chart(
        &self,
        ctx: &Ctx,
        chart: String,
        repo: Option<String>,
    ) -> Result<String, ToolError> {
        if Path::new(&chart).is_absolute() {
            return Ok(chart);
        }
        let dest = self.dir.path().join("chart");
        std::fs::create_dir(&dest).map_err(|e| {
            ToolError::Invalid(format!("cannot create a directory for the chart: {e}"))
        })?;
        let mut cmd = vec![
            "pull".to_string(),
            chart.clone(),
            "--destination".into(),
            dest.to_string_lossy().into_owned(),
        ];
        if let Some(r) = repo {
            cmd.push("--repo".into());
            cmd.push(r);
        }
        self.run(ctx, "pull", cmd).await?;
        let pulled = std::fs::read_dir(&dest)
            .map_err(|e| ToolError::Invalid(format!("cannot read the pulled chart: {e}")))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "tgz"))
            .ok_or_else(|| {
                ToolError::Invalid(format!("helm pull {chart} produced no chart archive"))
            })?;
        Ok(pulled.to_string_lossy().into_owned())
    }
}

/// On a server limited to some namespaces, or hiding Secrets, helm must not
/// write what the server itself would refuse: the chart is rendered first
/// and every object checked like a manifest (namespace scope, cluster-scoped
/// kinds, Secrets). The API server's RBAC remains the second guard.
async fn precheck(
    ctx: &Ctx,
    ws: &Workspace,
    context: Option<&str>,
    rest: &[String],
    ns: &str,
) -> Result<(), ToolError> {
    if ctx.scope.is_all() && ctx.secrets() != SecretsMode::Hidden {
        return Ok(());
    }
    let mut cmd = vec!["template".to_string()];
    cmd.extend(rest.iter().cloned());
    let rendered = ws.run(ctx, "template", cmd).await?;
    if rendered.trim().is_empty() {
        return Ok(());
    }
    let client = ctx.client(context).await?;
    let objects = super::manifest::parse(&rendered)?;
    super::manifest::resolve_all(ctx, &client, objects, Some(ns))
        .await
        .map_err(|e| {
            ToolError::Invalid(format!(
                "the chart renders an object this server may not write, so nothing was installed: {e}"
            ))
        })?;
    Ok(())
}

pub async fn install(ctx: &Ctx, args: InstallArgs) -> ToolResult {
    const TOOL: ToolId = ToolId::InstallHelmChart;
    check_release_name(TOOL, &args.name)?;
    let chart = chart_arg(TOOL, &args.chart, ctx.settings.files_dir.as_deref())?;
    let repo = check_repo(TOOL, args.repo.as_deref())?;
    let ns = ctx.namespace(args.namespace.as_deref()).await?;
    let ws = Workspace::new(ctx, args.context.as_deref()).await?;
    let values = ws.values_args(ctx, TOOL, args.values.as_ref(), args.values_file.as_deref())?;
    let verb = if args.use_template {
        "template"
    } else {
        "install"
    };
    let chart = ws.local_chart(ctx, chart, repo).await?;
    let mut rest: Vec<String> = vec![args.name.clone(), chart, "--namespace".into(), ns.clone()];
    rest.extend(values);
    let mut cmd: Vec<String> = vec![verb.into()];
    cmd.extend(rest.iter().cloned());
    if !args.use_template {
        precheck(ctx, &ws, args.context.as_deref(), &rest, &ns).await?;
        if args.create_namespace {
            cmd.push("--create-namespace".into());
        }
        let out = ws.run(ctx, "install", cmd).await?;
        return Ok(ctx.bound(out));
    }
    let rendered = ws.run(ctx, "template", cmd).await?;
    drop(ws);
    let client = ctx.client(args.context.as_deref()).await?;
    let objects = super::manifest::parse(&rendered)?;
    let targets = super::manifest::resolve_all(ctx, &client, objects, Some(&ns)).await?;
    let mut lines = vec![];
    if args.create_namespace {
        let namespaces = kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone());
        if namespaces.get_opt(&ns).await?.is_none() {
            let ns_obj = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let t = super::manifest::resolve_all(ctx, &client, vec![ns_obj], None).await?;
            lines.extend(super::apply::apply_targets(&client, &t, false, false).await?);
        }
    }
    lines.extend(super::apply::apply_targets(&client, &targets, false, false).await?);
    Ok(ctx.bound(format!(
        "Rendered chart {} as release {} with helm template and applied {} object(s) to namespace {ns}:\n{}",
        args.chart,
        args.name,
        targets.len(),
        lines.join("\n")
    )))
}

pub async fn upgrade(ctx: &Ctx, args: UpgradeArgs) -> ToolResult {
    const TOOL: ToolId = ToolId::UpgradeHelmChart;
    check_release_name(TOOL, &args.name)?;
    let chart = chart_arg(TOOL, &args.chart, ctx.settings.files_dir.as_deref())?;
    let repo = check_repo(TOOL, args.repo.as_deref())?;
    let ns = ctx.namespace(args.namespace.as_deref()).await?;
    let ws = Workspace::new(ctx, args.context.as_deref()).await?;
    let values = ws.values_args(ctx, TOOL, args.values.as_ref(), args.values_file.as_deref())?;
    let chart = ws.local_chart(ctx, chart, repo).await?;
    let mut rest: Vec<String> = vec![args.name.clone(), chart, "--namespace".into(), ns.clone()];
    rest.extend(values);
    precheck(ctx, &ws, args.context.as_deref(), &rest, &ns).await?;
    let mut cmd: Vec<String> = vec!["upgrade".into()];
    cmd.extend(rest);
    Ok(ctx.bound(ws.run(ctx, "upgrade", cmd).await?))
}

pub async fn uninstall(ctx: &Ctx, args: UninstallArgs) -> ToolResult {
    const TOOL: ToolId = ToolId::UninstallHelmChart;
    check_release_name(TOOL, &args.name)?;
    let ns = ctx.namespace(args.namespace.as_deref()).await?;
    let ws = Workspace::new(ctx, args.context.as_deref()).await?;
    let cmd = vec![
        "uninstall".into(),
        args.name.clone(),
        "--namespace".into(),
        ns,
    ];
    Ok(ctx.bound(ws.run(ctx, "uninstall", cmd).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names() {
        for (n, ok) in [
            ("web", true),
            ("my-app.v2", true),
            ("Web", false),
            ("-x", false),
            ("x-", false),
            ("", false),
            ("--set=a", false),
        ] {
            assert_eq!(
                check_release_name(ToolId::InstallHelmChart, n).is_ok(),
                ok,
                "{n}"
            );
        }
        assert!(check_release_name(ToolId::InstallHelmChart, &"a".repeat(54)).is_err());
    }

    #[test]
    fn charts_and_repos() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("mychart")).unwrap();
        let d = Some(tmp.path());
        let abs = tmp.path().join("mychart");
        assert_eq!(
            chart_arg(ToolId::InstallHelmChart, "bitnami/nginx", d).unwrap(),
            "bitnami/nginx"
        );
        assert_eq!(
            chart_arg(ToolId::InstallHelmChart, "oci://r.example/c", d).unwrap(),
            "oci://r.example/c"
        );
        assert!(
            chart_arg(ToolId::InstallHelmChart, abs.to_str().unwrap(), d)
                .unwrap()
                .ends_with("mychart")
        );
        assert!(
            chart_arg(ToolId::InstallHelmChart, "/etc", d)
                .unwrap_err()
                .to_string()
                .contains("outside")
        );
        assert!(
            chart_arg(ToolId::InstallHelmChart, "./mychart", None)
                .unwrap_err()
                .to_string()
                .contains("KUBE_MCP_FILES_DIR")
        );
        assert!(chart_arg(ToolId::InstallHelmChart, "--post-renderer=x", d).is_err());
        assert!(chart_arg(ToolId::InstallHelmChart, "file:///etc", d).is_err());
        assert_eq!(
            check_repo(ToolId::InstallHelmChart, Some("https://charts.example"))
                .unwrap()
                .as_deref(),
            Some("https://charts.example")
        );
        assert!(check_repo(ToolId::InstallHelmChart, Some("/local")).is_err());
    }

    #[test]
    fn missing_helm_names_what_to_install() {
        let err = find_helm(None, Some("/nonexistent".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("helm binary") && err.contains("KUBE_MCP_HELM"),
            "{err}"
        );
        let err = find_helm(Some("/nonexistent/helm".into()), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("KUBE_MCP_HELM"), "{err}");
    }
}
