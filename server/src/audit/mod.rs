//! The audit log: one JSON record per tool call, and one per request the
//! server refused (auth, Host/Origin, the tool filter, the namespace scope,
//! a gate rule). Each says who (the caller, the session), where (the
//! endpoint, the transport), what (the tool, its arguments at the `request`
//! level, the Kubernetes requests it made) and with what result.
//!
//! Records carry `"log":"audit"` so a log pipeline can route them; they go
//! to stdout (stderr under the stdio transport) or a rotated file. Secret
//! values and tokens never reach a record: arguments pass [`redact`], and
//! reasons are cut of every value the call masked.

pub mod redact;
pub mod sink;

use crate::apipath::{Address, ApiPath};
use crate::call::{ApiRequest, Call};
use crate::config::{AuditLevel, Settings, Transport as Serving};
use crate::gate;
use crate::origin::Origin;
use crate::tools::ToolError;
use kube_mcp_catalog::ToolClass;
use serde::Serialize;
use serde_json::{Map, Value};
pub use sink::{Rotating, Sink, SinkError};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Longest reason kept, in bytes.
const MAX_REASON: usize = 1024;

/// Who refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Refuser {
    /// The token check (401).
    Auth,
    /// DNS-rebinding protection: the Host header.
    Host,
    /// The browser Origin allowlist.
    Origin,
    /// The tool filter (ALLOWED_TOOLS, read-only, non-destructive).
    Filter,
    /// The namespace scope.
    Scope,
    /// A rule of the gate on the kube client (Secrets, workloads).
    Gate,
    /// The caller's own RBAC (KUBE_MCP_AUTHORIZE=caller).
    Caller,
    /// The user, asked to confirm the call (KUBE_MCP_CONFIRM).
    Confirm,
}

impl Refuser {
    fn of_gate(by: &str) -> Self {
        match by {
            "scope" => Refuser::Scope,
            "caller" => Refuser::Caller,
            _ => Refuser::Gate,
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The tool ran and failed (bad arguments, the API server's error, a timeout).
    ToolError {
        reason: String,
    },
    Refused {
        by: Refuser,
        rule: &'static str,
        reason: String,
    },
}

impl Outcome {
    /// The outcome of a tool's result: a refusal by the scope or the gate
    /// is told apart from the tool's own failures.
    pub fn of<T>(result: &Result<T, ToolError>) -> Self {
        let Err(e) = result else {
            return Outcome::Ok;
        };
        let reason = e.to_string();
        let (by, rule) = match e {
            ToolError::OutOfScope(_) => (Refuser::Scope, "namespace"),
            ToolError::SecretsHidden => (Refuser::Gate, "secrets_hidden"),
            ToolError::NotOffered(_) => (Refuser::Filter, "not_enabled"),
            ToolError::Api(api) => match gate::refusal(api) {
                Some(r) => {
                    let (by, rule) = r.refuser();
                    (Refuser::of_gate(by), rule)
                }
                None => return Outcome::ToolError { reason },
            },
            _ => return Outcome::ToolError { reason },
        };
        Outcome::Refused { by, rule, reason }
    }

    fn is_refusal(&self) -> bool {
        matches!(self, Outcome::Refused { .. })
    }
}

/// A tool call being audited: what is known before it runs.
pub struct Pending {
    started: Instant,
    time: jiff::Timestamp,
    tool: String,
    class: Option<ToolClass>,
    /// The redacted arguments, at the `request` level.
    arguments: Option<redact::Redacted>,
}

/// One Kubernetes request in a record.
#[derive(Debug, Serialize, PartialEq)]
struct KubeRequest {
    verb: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    address: Option<Address>,
    /// For requests outside the resource API (discovery).
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    status: Option<u16>,
    dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused_by: Option<Refuser>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'static str>,
}

impl From<&ApiRequest> for KubeRequest {
    fn from(r: &ApiRequest) -> Self {
        let (address, path) = match ApiPath::parse(&r.path) {
            ApiPath::Resource { address, .. } => (Some(address), None),
            _ => (None, Some(r.path.clone())),
        };
        Self {
            verb: r.verb,
            address,
            path,
            status: r.status,
            dry_run: r.dry_run,
            refused_by: r.refused.map(|(by, _)| Refuser::of_gate(by)),
            rule: r.refused.map(|(_, rule)| rule),
        }
    }
}

/// The HTTP request a transport-level refusal answered.
#[derive(Debug, Serialize)]
struct HttpRequest<'a> {
    method: &'a str,
    path: &'a str,
}

/// One audit record, as written.
#[derive(Debug, Serialize)]
struct Record<'a> {
    log: &'static str,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<&'a str>,
    #[serde(flatten)]
    origin: &'a Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<ToolClass>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<HttpRequest<'a>>,
    level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requests: Option<Vec<KubeRequest>>,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused_by: Option<Refuser>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    duration_ms: f64,
    output_bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<String>,
}

/// The audit log of one server.
pub struct Audit {
    level: AuditLevel,
    endpoint: Option<String>,
    sink: Sink,
    failing: AtomicBool,
}

impl Audit {
    pub fn new(level: AuditLevel, endpoint: Option<String>, sink: Sink) -> Self {
        Self {
            level,
            endpoint,
            sink,
            failing: AtomicBool::new(false),
        }
    }

    /// Records nowhere.
    pub fn discard() -> Self {
        Self::new(AuditLevel::Off, None, Sink::Discard)
    }

    /// The audit log the settings ask for: the file, else stdout, else
    /// (under the stdio transport, whose messages own stdout) stderr.
    pub fn from_settings(s: &Settings) -> Result<Self, SinkError> {
        let sink = match (&s.audit_file, s.transport()) {
            (Some(path), _) => Sink::File(Mutex::new(Rotating::open(
                path.clone(),
                s.audit_file_max_bytes,
            )?)),
            (None, Serving::Stdio) => Sink::Stderr,
            (None, _) => Sink::Stdout,
        };
        let endpoint = s.endpoint.clone().filter(|e| !e.trim().is_empty());
        Ok(Self::new(s.audit_level, endpoint, sink))
    }

    /// Starts auditing a call of `tool` (a name the client sent).
    pub fn begin(&self, tool: &str, args: Option<&Map<String, Value>>) -> Pending {
        let class = kube_mcp_catalog::find(tool).map(|t| t.class);
        Pending {
            started: Instant::now(),
            time: jiff::Timestamp::now(),
            tool: tool.to_string(),
            class,
            arguments: (self.level == AuditLevel::Request)
                .then(|| redact::arguments(args.unwrap_or(&Map::new()))),
        }
    }

    /// The level a record is written at, if at all: writes and refusals
    /// at `metadata` at least.
    fn level_for(&self, write: bool, refused: bool) -> Option<AuditLevel> {
        match self.level {
            AuditLevel::Off if write || refused => Some(AuditLevel::Metadata),
            AuditLevel::Off => None,
            level => Some(level),
        }
    }

    /// Writes the record of a finished call. `call` is absent for calls
    /// refused before they ran.
    pub fn finish(
        &self,
        pending: Pending,
        origin: &Origin,
        outcome: Outcome,
        call: Option<&Call>,
        output_bytes: usize,
    ) {
        let write = pending.class.is_some_and(|c| c != ToolClass::ReadOnly);
        let Some(level) = self.level_for(write, outcome.is_refusal()) else {
            return;
        };
        let masked = pending
            .arguments
            .as_ref()
            .map(|a| a.masked.as_slice())
            .unwrap_or_default();
        let clean = |text: String| {
            let text = call.map_or(text.clone(), |c| c.redact(&text));
            bounded(redact::text(&gate::mask_invalid_values(&text), masked))
        };
        let (name, refused_by, rule, reason) = match outcome {
            Outcome::Ok => ("ok", None, None, None),
            Outcome::ToolError { reason } => ("tool_error", None, None, Some(clean(reason))),
            Outcome::Refused { by, rule, reason } => {
                ("refused", Some(by), Some(rule), Some(clean(reason)))
            }
        };
        let arguments = match level {
            AuditLevel::Request => pending.arguments.as_ref().map(|a| &a.value),
            _ => None,
        };
        let tool = bounded_name(&pending.tool);
        let record = Record {
            log: "audit",
            time: pending.time.to_string(),
            endpoint: self.endpoint.as_deref(),
            origin,
            tool: Some(&tool),
            class: pending.class,
            http: None,
            level: level.as_str(),
            arguments,
            requests: Some(
                call.map(|c| c.requests().iter().map(KubeRequest::from).collect())
                    .unwrap_or_default(),
            ),
            outcome: name,
            refused_by,
            rule,
            reason,
            duration_ms: millis(pending.started),
            output_bytes,
            trace_id: crate::telemetry::current_trace_id(),
        };
        self.write(&record);
    }

    /// Writes the record of an HTTP request refused before it reached MCP
    /// (no token, a wrong token, a Host or Origin not allowed).
    pub fn refused_request(
        &self,
        origin: &Origin,
        by: Refuser,
        rule: &'static str,
        reason: &str,
        method: &str,
        path: &str,
    ) {
        let record = Record {
            log: "audit",
            time: jiff::Timestamp::now().to_string(),
            endpoint: self.endpoint.as_deref(),
            origin,
            tool: None,
            class: None,
            http: Some(HttpRequest { method, path }),
            level: AuditLevel::Metadata.as_str(),
            arguments: None,
            requests: None,
            outcome: "refused",
            refused_by: Some(by),
            rule: Some(rule),
            reason: Some(bounded(redact::text(reason, &[]))),
            duration_ms: 0.0,
            output_bytes: 0,
            trace_id: None,
        };
        self.write(&record);
    }

    fn write(&self, record: &Record<'_>) {
        if matches!(self.sink, Sink::Discard) {
            return;
        }
        let mut line = match serde_json::to_vec(record) {
            Ok(l) => l,
            Err(e) => return tracing::error!(error = %e, "an audit record could not be encoded"),
        };
        line.push(b'\n');
        self.sink.write(&line, &self.failing);
    }
}

fn millis(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

fn bounded(mut s: String) -> String {
    if s.len() > MAX_REASON {
        let mut cut = MAX_REASON;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// A tool name as the client sent it (unknown names too), bounded.
fn bounded_name(name: &str) -> String {
    let mut n: String = name.chars().take(128).collect();
    if n.len() < name.len() {
        n.push('…');
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::origin::{Caller, CallerAuth, Transport};
    use serde_json::json;

    fn origin() -> Origin {
        Origin {
            transport: Transport::Http,
            session: Some("s1".into()),
            request_id: Some("7".into()),
            caller: Caller::with(CallerAuth::Token),
            client: None,
        }
    }

    /// The records an audit log at `level` writes for `calls`, as JSON.
    fn records(level: AuditLevel, calls: &[(&str, Outcome)]) -> Vec<Value> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let audit = Audit::new(
            level,
            Some("team-a/ep".into()),
            Sink::File(Mutex::new(Rotating::open(path.clone(), 1 << 20).unwrap())),
        );
        for (tool, outcome) in calls {
            let args = json!({"namespace": "a", "token": "hunter22"});
            let p = audit.begin(tool, args.as_object());
            audit.finish(p, &origin(), outcome.clone(), None, 3);
        }
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn refused() -> Outcome {
        Outcome::Refused {
            by: Refuser::Filter,
            rule: "not_enabled",
            reason: "no".into(),
        }
    }

    #[test]
    fn levels_table() {
        let calls = [
            ("kubectl_get", Outcome::Ok),
            ("kubectl_delete", Outcome::Ok),
            ("kubectl_get", refused()),
        ];
        // (level, records written, with arguments)
        for (level, n, args) in [
            (AuditLevel::Off, 2, false),
            (AuditLevel::Metadata, 3, false),
            (AuditLevel::Request, 3, true),
        ] {
            let got = records(level, &calls);
            assert_eq!(got.len(), n, "{level:?}: {got:?}");
            for r in &got {
                assert_eq!(r.get("arguments").is_some(), args, "{level:?}: {r}");
                assert!(!r.to_string().contains("hunter22"), "{r}");
            }
        }
    }

    #[test]
    fn record_shape() {
        let got = records(AuditLevel::Request, &[("kubectl_get", Outcome::Ok)]);
        let r = &got[0];
        assert_eq!(r["log"], "audit");
        assert_eq!(r["endpoint"], "team-a/ep");
        assert_eq!(r["transport"], "http");
        assert_eq!(r["session"], "s1");
        assert_eq!(r["request_id"], "7");
        assert_eq!(r["caller"], json!({"auth": "token"}));
        assert_eq!(r["tool"], "kubectl_get");
        assert_eq!(r["class"], "ReadOnly");
        assert_eq!(r["arguments"], json!({"namespace": "a", "token": "***"}));
        assert_eq!(r["requests"], json!([]));
        assert_eq!(r["outcome"], "ok");
        assert_eq!(r["output_bytes"], 3);
        assert!(r["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn kubernetes_requests_are_named_by_verb_and_address() {
        let cases = [
            (
                ApiRequest {
                    verb: "patch",
                    path: "/apis/apps/v1/namespaces/a/deployments/d/scale".into(),
                    status: Some(200),
                    dry_run: true,
                    refused: None,
                },
                json!({"verb": "patch", "group": "apps", "resource": "deployments", "namespace": "a", "name": "d", "subresource": "scale", "status": 200, "dry_run": true}),
            ),
            (
                ApiRequest {
                    verb: "list",
                    path: "/api/v1/namespaces/b/pods".into(),
                    status: None,
                    dry_run: false,
                    refused: Some(("scope", "namespace")),
                },
                json!({"verb": "list", "group": "", "resource": "pods", "namespace": "b", "status": null, "dry_run": false, "refused_by": "scope", "rule": "namespace"}),
            ),
            (
                ApiRequest {
                    verb: "get",
                    path: "/apis/apps/v1".into(),
                    status: Some(200),
                    dry_run: false,
                    refused: None,
                },
                json!({"verb": "get", "path": "/apis/apps/v1", "status": 200, "dry_run": false}),
            ),
        ];
        for (req, want) in cases {
            assert_eq!(serde_json::to_value(KubeRequest::from(&req)).unwrap(), want);
        }
    }
}
