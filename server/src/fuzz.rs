//! Fuzz targets: every parser that takes client input, each a function of
//! arbitrary bytes that must return (an error is an answer), never panic.
//! server/tests/fuzz.rs replays the committed corpora (server/fuzz/corpus)
//! and mutates them for a bounded run; scripts/fuzz runs it for longer.

use crate::catalog::CATALOG;
use crate::format::jsonpath::Path;
use crate::tools::{self, create, duration, flags, generic, get, logs, manifest, patch};
use kube_mcp_catalog::ToolId;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// kubectl_apply/kubectl_create manifests (YAML or JSON, multi-document, Lists).
    Manifest,
    /// JSONPath expressions (sortBy, custom columns' paths).
    JsonPath,
    /// kubectl_get's output argument: custom-columns=NAME:.path,...
    CustomColumns,
    /// Durations (since, timeouts).
    Duration,
    /// kubectl_generic's flags map and arguments, screened for dangerous flags.
    Flags,
    /// Label changes (key=value, key-), literal pairs, service ports, and
    /// label selectors in object form.
    Selectors,
    /// Kubernetes API paths the gate reads scope and verb from.
    ApiPath,
    /// A tools/call's arguments: the first byte picks the tool, the rest is
    /// its arguments as JSON.
    ToolArgs,
    /// A JSON-RPC message body.
    JsonRpc,
}

impl Target {
    pub const ALL: [Target; 9] = [
        Target::Manifest,
        Target::JsonPath,
        Target::CustomColumns,
        Target::Duration,
        Target::Flags,
        Target::Selectors,
        Target::ApiPath,
        Target::ToolArgs,
        Target::JsonRpc,
    ];

    /// The name of its corpus directory.
    pub fn name(self) -> &'static str {
        match self {
            Target::Manifest => "manifest",
            Target::JsonPath => "jsonpath",
            Target::CustomColumns => "custom_columns",
            Target::Duration => "duration",
            Target::Flags => "flags",
            Target::Selectors => "selectors",
            Target::ApiPath => "api_path",
            Target::ToolArgs => "tool_args",
            Target::JsonRpc => "jsonrpc",
        }
    }

    /// Feeds `data` to the target's parsers, and what they accept to the
    /// code that uses it.
    pub fn run(self, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        match self {
            Target::Manifest => {
                if let Ok(docs) = manifest::parse(&text) {
                    for doc in &docs {
                        let _ = manifest::to_yaml(doc);
                    }
                }
            }
            Target::JsonPath => {
                if let Ok(path) = Path::parse(&text) {
                    let obj = sample();
                    let _ = path.eval(&obj);
                    let _ = path.cell(&obj);
                }
            }
            Target::CustomColumns => {
                let _ = get::Output::parse(Some(&text), true);
                if let Ok(cols) = get::custom_columns(&text) {
                    let _ = get::custom_row(&cols, &sample(), jiff::Timestamp::UNIX_EPOCH);
                }
            }
            Target::Duration => {
                let _ = duration::parse(&text);
            }
            Target::Flags => {
                let args: Vec<String> = text.split(['\n', '\0']).map(str::to_owned).collect();
                let dir = std::path::Path::new("/nonexistent/kube-mcp-fuzz");
                let _ = flags::screen(None, &args, Some(dir));
                if let Ok(map) = serde_json::from_slice::<BTreeMap<String, Value>>(data) {
                    let _ = flags::screen(Some(&map), &args, None);
                }
            }
            Target::Selectors => {
                let items: Vec<String> = text.split('\n').map(str::to_owned).collect();
                let _ = generic::label_changes(&items);
                let _ = create::pairs(Some(items.as_slice()), "fromLiteral");
                for item in &items {
                    let _ = create::service_port(item);
                }
                if let Ok(v) = serde_json::from_slice::<Value>(data) {
                    let _ = logs::selector_string(&v);
                }
            }
            Target::ApiPath => {
                let _ = crate::gate::Target::parse(&text);
            }
            Target::ToolArgs => {
                let Some((first, rest)) = data.split_first() else {
                    return;
                };
                let spec = &CATALOG[usize::from(*first) % CATALOG.len()];
                let args = serde_json::from_slice::<Map<String, Value>>(rest).ok();
                let _ = (tools::entry(spec.id).parse)(spec.id, args.clone());
                // The pure steps after parsing: generated objects and patches.
                match spec.id {
                    ToolId::KubectlCreate => {
                        if let Ok(a) = tools::parse_args::<create::Args>(spec.id, args) {
                            let files = [("f.txt".to_string(), text.to_string())];
                            let _ = create::generate(&a, &files);
                        }
                    }
                    ToolId::KubectlPatch => {
                        if let Ok(a) = tools::parse_args::<patch::Args>(spec.id, args)
                            && let Some(data) = a.patch_data
                        {
                            let _ = patch::build(a.patch_type.as_deref(), data);
                        }
                    }
                    _ => {}
                }
            }
            Target::JsonRpc => {
                if let Ok(rmcp::model::ClientJsonRpcMessage::Request(r)) =
                    crate::jsonrpc::parse(data)
                    && let rmcp::model::ClientRequest::CustomRequest(c) = r.request
                {
                    let _ = crate::jsonrpc::unmatched(&c.method, c.params);
                }
            }
        }
    }
}

/// An object with the shapes paths walk into: nested maps, lists of maps,
/// scalars of each type, and keys with dots.
fn sample() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {"app": "web", "a.b/c": "d"}, "annotations": {}},
        "spec": {"containers": [{"name": "a", "image": "i:1", "ports": [{"containerPort": 80}]},
                                {"name": "b", "image": "i:2", "args": ["x", "y"]}],
                 "replicas": 3, "paused": false, "nodeName": null},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        "items": [1, "two", [3], {"four": 4}]
    })
}
