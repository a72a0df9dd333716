//! MCP prompts: k8s-diagnose.

use rmcp::model::{Prompt, PromptArgument, PromptMessage, Role};
use serde_json::{Map, Value};

pub const DIAGNOSE: &str = "k8s-diagnose";

pub fn list() -> Vec<Prompt> {
    vec![Prompt::new(
        DIAGNOSE,
        Some("Diagnose Kubernetes pods and nodes whose names match a keyword"),
        Some(vec![
            PromptArgument::new("keyword")
                .with_description("Keyword to match pod or node names")
                .with_required(true),
            PromptArgument::new("namespace")
                .with_description("Namespace to look in (default: all in scope)")
                .with_required(false),
        ]),
    )]
}

/// The messages of prompt `name`, or None for an unknown prompt.
pub fn get(name: &str, args: &Map<String, Value>) -> Result<Vec<PromptMessage>, String> {
    if name != DIAGNOSE {
        return Err(format!(
            "unknown prompt {name:?}; this server offers {DIAGNOSE}"
        ));
    }
    let keyword = args
        .get("keyword")
        .and_then(Value::as_str)
        .ok_or("k8s-diagnose needs the argument keyword")?;
    let ns = args
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("all namespaces in scope");
    Ok(vec![PromptMessage::new_text(
        Role::User,
        format!("Diagnose Kubernetes resources matching {keyword:?} in {ns}."),
    )])
}
