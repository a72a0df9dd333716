//! kubectl_context: list, get or set the kubeconfig context the server uses.
//!
//! Works on the kubeconfig the server loaded (never on a file it would
//! write), and never shows credentials: `detailed` adds the cluster's server
//! URL, the user's name and the kind of authentication only.
use super::{CallResult, Ctx, Output, ToolError};
use crate::cluster::ClusterError;
use crate::format::{self, table::Table};
use kube::config::Kubeconfig;
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Operation to perform: list contexts, get the current context, or set the current context
    #[serde(default = "default_operation")]
    pub operation: String,
    /// Name of the context to set as current (required for set operation)
    pub name: Option<String>,
    /// When listing contexts, highlight which one is currently active
    #[serde(default = "yes")]
    pub show_current: bool,
    /// Include cluster and user details in the output
    #[serde(default)]
    pub detailed: bool,
    /// Output format: json (default), yaml, name or custom
    pub output: Option<String>,
}

fn default_operation() -> String {
    "list".into()
}
fn yes() -> bool {
    true
}

const TOOL: ToolId = ToolId::KubectlContext;

fn bad(reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool: TOOL,
        reason: reason.into(),
    }
}

/// What a context shows: names and, when detailed, where it points and
/// which kind of credential it uses (never the credential).
pub fn describe_context(
    kc: &Kubeconfig,
    name: &str,
    current: Option<&str>,
    show_current: bool,
    detailed: bool,
) -> Value {
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref());
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert(
        "cluster".into(),
        json!(ctx.map(|c| c.cluster.clone()).unwrap_or_default()),
    );
    m.insert(
        "namespace".into(),
        json!(
            ctx.and_then(|c| c.namespace.clone())
                .unwrap_or_else(|| "default".into())
        ),
    );
    if show_current {
        m.insert("isCurrent".into(), json!(current == Some(name)));
    }
    if detailed {
        let cluster = ctx.and_then(|c| kc.clusters.iter().find(|n| n.name == c.cluster));
        let server = cluster
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.server.clone())
            .unwrap_or_default();
        let user = ctx.and_then(|c| c.user.clone()).unwrap_or_default();
        let auth = kc
            .auth_infos
            .iter()
            .find(|a| a.name == user)
            .and_then(|a| a.auth_info.as_ref())
            .map(|a| {
                if a.token.is_some() || a.token_file.is_some() {
                    "token"
                } else if a.client_certificate.is_some() || a.client_certificate_data.is_some() {
                    "client-certificate"
                } else if a.exec.is_some() {
                    "exec"
                } else if a.auth_provider.is_some() {
                    "auth-provider"
                } else if a.username.is_some() {
                    "basic"
                } else {
                    "none"
                }
            })
            .unwrap_or("none");
        m.insert("server".into(), json!(server));
        m.insert("user".into(), json!(user));
        m.insert("authMethod".into(), json!(auth));
    }
    Value::Object(m)
}

/// The structured result of every operation (the JSON output, whatever
/// the text format asked for).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextResult {
    /// `list`: every context of the kubeconfig
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contexts: Option<Vec<ContextInfo>>,
    /// `list` and `get`: the context this session uses
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// `get` with `detailed`, `set`: the context named
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    /// `set`: whether the switch happened
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One context, as [`describe_context`] shows it (never a credential).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextInfo {
    pub name: String,
    pub cluster: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_current: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
}

pub fn output_schema() -> Map<String, Value> {
    super::schema::<ContextResult>()
}

pub async fn run(ctx: &Ctx, args: Args) -> CallResult {
    let access = ctx.access().await;
    let Some(kc) = access.kubeconfig.as_ref() else {
        return Err(ClusterError::NoKubeconfig(access.source.to_string()).into());
    };
    let output = args.output.as_deref().map(str::trim).unwrap_or("json");
    if !matches!(output, "" | "json" | "yaml" | "name" | "custom") {
        return Err(bad(format!(
            "unknown output {output:?}; use json, yaml, name or custom"
        )));
    }
    let current = ctx.current_context().await;
    let (show, detailed) = (args.show_current, args.detailed);
    let (text, data) = match args.operation.trim() {
        "list" => {
            let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
            let items: Vec<Value> = names
                .iter()
                .map(|n| describe_context(kc, n, current.as_deref(), show, detailed))
                .collect();
            let mut v = json!({ "contexts": items });
            if show {
                v["currentContext"] = json!(current);
            }
            let text = match output {
                "name" => names.iter().map(|n| format!("{n}\n")).collect(),
                "custom" => table(&items, current.as_deref(), show, detailed),
                _ => render(&v, output),
            };
            (text, v)
        }
        "get" => {
            let Some(name) = current.clone() else {
                return Err(ToolError::Invalid(
                    "the kubeconfig has no current context".into(),
                ));
            };
            let mut v = json!({ "currentContext": name });
            if detailed {
                v["context"] = describe_context(kc, &name, Some(&name), false, true);
            }
            let text = match output {
                "name" => format!("{name}\n"),
                "custom" => table(
                    &[describe_context(kc, &name, Some(&name), show, detailed)],
                    Some(&name),
                    show,
                    detailed,
                ),
                _ => render(&v, output),
            };
            (text, v)
        }
        "set" => {
            let name = args
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| bad("set needs the name of a context (kubectl_context operation=list shows them)"))?;
            access.check_context(name)?;
            ctx.may_switch_context(&access)?;
            let Some(call) = crate::call::current() else {
                return Err(ToolError::Invalid(
                    "no session to switch the context of".into(),
                ));
            };
            if ctx.settings.stateless && ctx.settings.transport() != crate::config::Transport::Stdio
            {
                return Err(ToolError::Invalid(
                    "this server is stateless (KUBE_MCP_STATELESS): a switch would not outlive this request; pass `context` to each call instead".into(),
                ));
            }
            call.session.set_context(name);
            let v = json!({
                "success": true,
                "message": format!("Current context set to {name} for this session (other sessions and the kubeconfig file are not changed)"),
                "context": name,
            });
            let text = match output {
                "name" => format!("{name}\n"),
                _ => render(&v, output),
            };
            (text, v)
        }
        other => {
            return Err(bad(format!(
                "unknown operation {other:?}; use list, get or set"
            )));
        }
    };
    let data: ContextResult = serde_json::from_value(data)
        .map_err(|e| ToolError::Invalid(format!("cannot render the structured result: {e}")))?;
    Output::typed(text, &data)
}

fn render(v: &Value, output: &str) -> String {
    if output == "yaml" {
        format::yaml(v)
    } else {
        format::json(v)
    }
}

/// `kubectl config get-contexts` style.
fn table(items: &[Value], current: Option<&str>, show: bool, detailed: bool) -> String {
    let mut headers = vec![];
    if show {
        headers.push("CURRENT");
    }
    headers.extend(["NAME", "CLUSTER", "NAMESPACE"]);
    if detailed {
        headers.extend(["SERVER", "AUTHINFO", "AUTH"]);
    }
    let mut t = Table::new(headers);
    for i in items {
        let s = |k: &str| {
            i.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut row = vec![];
        if show {
            row.push(if current == Some(s("name").as_str()) {
                "*".into()
            } else {
                String::new()
            });
        }
        row.extend([s("name"), s("cluster"), s("namespace")]);
        if detailed {
            row.extend([s("server"), s("user"), s("authMethod")]);
        }
        t.push(row);
    }
    t.render(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KC: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster: {server: 'https://one:6443', certificate-authority-data: Q0FEQVRB}\n- name: c2\n  cluster: {server: 'https://two:6443'}\nusers:\n- name: tok\n  user: {token: supersecrettoken}\n- name: cert\n  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZREFUQQ==}\n- name: pw\n  user: {username: admin, password: hunter2}\ncontexts:\n- name: a\n  context: {cluster: c1, user: tok}\n- name: b\n  context: {cluster: c2, user: cert, namespace: nb}\n- name: c\n  context: {cluster: c2, user: pw}\ncurrent-context: a\n";

    #[test]
    fn details_never_carry_credentials() {
        let kc = Kubeconfig::from_yaml(KC).unwrap();
        for (name, auth, ns, server) in [
            ("a", "token", "default", "https://one:6443"),
            ("b", "client-certificate", "nb", "https://two:6443"),
            ("c", "basic", "default", "https://two:6443"),
        ] {
            let v = describe_context(&kc, name, Some("a"), true, true);
            assert_eq!(v["authMethod"], auth);
            assert_eq!(v["namespace"], ns);
            assert_eq!(v["server"], server);
            assert_eq!(v["isCurrent"], name == "a");
            let text = v.to_string();
            for secret in [
                "supersecrettoken",
                "Q0VSVA",
                "S0VZREFUQQ",
                "hunter2",
                "Q0FEQVRB",
            ] {
                assert!(!text.contains(secret), "{text}");
            }
        }
        let plain = describe_context(&kc, "a", None, false, false);
        assert_eq!(
            plain,
            json!({"name": "a", "cluster": "c1", "namespace": "default"})
        );
    }

    #[test]
    fn table_marks_the_current_context() {
        let kc = Kubeconfig::from_yaml(KC).unwrap();
        let items: Vec<Value> = ["a", "b"]
            .iter()
            .map(|n| describe_context(&kc, n, Some("b"), true, false))
            .collect();
        assert_eq!(
            table(&items, Some("b"), true, false),
            "CURRENT   NAME   CLUSTER   NAMESPACE\n          a      c1        default\n*         b      c2        nb\n"
        );
    }
}
