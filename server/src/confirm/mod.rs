//! Confirmations: a call that changes the cluster (by policy, the
//! destructive ones or every write) states exactly what it will do and
//! waits for the user's yes before anything happens. A 2025-11-25 session
//! is asked through elicitation; a 2026-07-28 request gets an
//! input-required result whose sealed state lets any replica finish the
//! call. A client that cannot answer gets the fallback policy; dry runs
//! never ask.

pub mod answer;
pub mod plan;
pub mod state;

use crate::config::Settings;
use crate::tools::Ctx;
use answer::{Answer, Responses};
use kube_mcp_catalog::ToolId;
use kube_mcp_catalog::settings::{ConfirmFallback, ConfirmPolicy};
use plan::Change;
use rmcp::model::{
    CallToolRequestParams, ElicitRequest, InputRequest, InputRequests, InputRequiredResult,
};
use rmcp::service::{RequestContext, ServiceError};
use rmcp::{ErrorData as McpError, Peer, RoleServer};
use serde_json::{Map, Value};
use state::Sealer;
use std::time::Duration;

pub use state::KeyError;

/// The confirmation settings of one server.
pub struct Confirmations {
    policy: ConfirmPolicy,
    fallback: ConfirmFallback,
    timeout: Duration,
    sealer: Sealer,
}

impl Confirmations {
    pub fn from_settings(s: &Settings) -> Result<Self, KeyError> {
        let timeout = Duration::from_secs(s.confirm_timeout_seconds.max(1));
        Ok(Self {
            policy: s.confirm,
            fallback: s.confirm_fallback,
            timeout,
            sealer: Sealer::new(s.confirm_key_file.as_deref(), timeout)?,
        })
    }

    fn asks(&self, change: Change) -> bool {
        match self.policy {
            ConfirmPolicy::Never => false,
            ConfirmPolicy::Writes => true,
            ConfirmPolicy::Destructive => change == Change::Destructive,
        }
    }
}

/// What happens to a call.
#[derive(Debug)]
pub enum Verdict {
    /// Run it (no confirmation needed, or the user said yes).
    Run,
    /// Do not run it; the text says why (a tool-level error).
    Refuse(String),
    /// Ask first: the input-required result to send (2026-07-28).
    Ask(InputRequiredResult),
    /// The retry itself is invalid (a protocol error).
    Reject(McpError),
}

/// How the client of this request can be asked.
enum Channel {
    Elicit(Peer<RoleServer>),
    InputRequired,
    None(&'static str),
}

fn channel(ctx: &Ctx, rc: &RequestContext<RoleServer>) -> Channel {
    const NO_FORM: &str = "this client declared no (form) elicitation support";
    let form = rc
        .client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none());
    if rc.protocol_version().is_some_and(|v| !v.has_initialize()) {
        return if form {
            Channel::InputRequired
        } else {
            Channel::None(NO_FORM)
        };
    }
    // Stateless streamable HTTP answers each POST on its own: a question
    // sent mid-call could never get its answer back.
    if ctx.settings.stateless && rc.extensions.get::<http::request::Parts>().is_some() {
        return Channel::None(
            "this server is stateless (KUBE_MCP_STATELESS) and the client speaks a 2025 protocol revision, which cannot answer a question mid-call",
        );
    }
    if !form {
        return Channel::None(NO_FORM);
    }
    Channel::Elicit(rc.peer.clone())
}

/// Decides whether the call `id(args)` runs now, asking the user first when
/// the policy says so.
pub async fn check(
    ctx: &Ctx,
    id: ToolId,
    args: &Map<String, Value>,
    req: &CallToolRequestParams,
    rc: &RequestContext<RoleServer>,
) -> Verdict {
    let c = &ctx.confirm;
    if c.policy == ConfirmPolicy::Never {
        return Verdict::Run;
    }
    let call = match plan::effective(ctx, id, args) {
        Ok(call) => call,
        // The tool would fail the same way; say it now.
        Err(e) => return Verdict::Refuse(e.to_string()),
    };
    match plan::change(&call) {
        Some(change) if c.asks(change) => {}
        _ => return Verdict::Run,
    }
    let statement = match plan::statement(ctx, &call).await {
        Ok(Some(s)) => s,
        Ok(None) => return Verdict::Run,
        Err(e) => return Verdict::Refuse(e.to_string()),
    };
    match channel(ctx, rc) {
        Channel::None(why) => c.fall_back(&statement, why),
        Channel::Elicit(peer) => c.elicit(&peer, &statement).await,
        Channel::InputRequired => c.round_trip(id, args, req, &statement),
    }
}

fn declined(statement: &str, why: &str) -> String {
    format!("Not done: {why}, so nothing was changed. The call would {statement}.")
}

impl Confirmations {
    fn fall_back(&self, statement: &str, why: &str) -> Verdict {
        match self.fallback {
            ConfirmFallback::Allow => {
                // Not the statement: it can quote arguments (a manifest's Secret data).
                tracing::info!(
                    reason = why,
                    "running without a confirmation (KUBE_MCP_CONFIRM_FALLBACK=allow)"
                );
                Verdict::Run
            }
            ConfirmFallback::Deny => Verdict::Refuse(format!(
                "Not done: this call would {statement}. This server asks the user before such calls, and {why}; \
                 its fallback refuses them (KUBE_MCP_CONFIRM_FALLBACK=deny). Use a client that supports elicitation, \
                 or ask whoever runs the server to change KUBE_MCP_CONFIRM / KUBE_MCP_CONFIRM_FALLBACK."
            )),
        }
    }

    /// 2025-11-25: ask through the session and wait (bounded) for the answer.
    async fn elicit(&self, peer: &Peer<RoleServer>, statement: &str) -> Verdict {
        let question = match answer::question(statement, None) {
            Ok(q) => q,
            Err(e) => return Verdict::Refuse(e),
        };
        match peer
            .create_elicitation_with_timeout(question, Some(self.timeout))
            .await
        {
            Ok(r) => match answer::read(&r) {
                Answer::Yes => Verdict::Run,
                Answer::No(why) => Verdict::Refuse(declined(statement, why)),
            },
            Err(ServiceError::Timeout { .. }) => Verdict::Refuse(declined(
                statement,
                &format!(
                    "no answer came within {}s (KUBE_MCP_CONFIRM_TIMEOUT_SECONDS)",
                    self.timeout.as_secs()
                ),
            )),
            Err(e) => Verdict::Refuse(declined(
                statement,
                &format!("the question could not be asked ({e})"),
            )),
        }
    }

    /// 2026-07-28: the first call gets the question with sealed state; the
    /// retry brings the answer and the state back, to this or any replica.
    fn round_trip(
        &self,
        id: ToolId,
        args: &Map<String, Value>,
        req: &CallToolRequestParams,
        statement: &str,
    ) -> Verdict {
        let call = state::call_digest(id.name(), args);
        let Some(sealed) = req.request_state.as_deref() else {
            return self.ask(&call, statement, None);
        };
        let asked = match self.sealer.open(sealed, &call) {
            Ok(asked) => asked,
            Err(e) => {
                return Verdict::Reject(McpError::invalid_params(
                    format!(
                        "requestState rejected ({e}): it was altered, has expired (KUBE_MCP_CONFIRM_TIMEOUT_SECONDS), \
                         was signed with another key, or belongs to another call; call {id} again without requestState"
                    ),
                    None,
                ));
            }
        };
        match answer::from_responses(req.input_responses.as_ref()) {
            Responses::Missing => self.ask(&call, statement, None),
            Responses::Malformed(why) => Verdict::Reject(McpError::invalid_params(why, None)),
            Responses::Given(Answer::No(why)) => Verdict::Refuse(declined(statement, why)),
            Responses::Given(Answer::Yes) if asked == state::digest_hex(statement) => Verdict::Run,
            Responses::Given(Answer::Yes) => self.ask(
                &call,
                statement,
                Some("this is not what was confirmed before: the cluster changed since"),
            ),
        }
    }

    fn ask(&self, call: &[u8], statement: &str, note: Option<&str>) -> Verdict {
        let question = match answer::question(statement, note) {
            Ok(q) => q,
            Err(e) => return Verdict::Refuse(e),
        };
        let sealed = match self.sealer.seal(call, statement) {
            Ok(s) => s,
            Err(e) => return Verdict::Refuse(format!("cannot seal the confirmation state: {e}")),
        };
        let mut requests = InputRequests::new();
        requests.insert(
            answer::KEY.to_string(),
            InputRequest::Elicitation(ElicitRequest::new(question)),
        );
        Verdict::Ask(InputRequiredResult::new(Some(requests), Some(sealed)))
    }
}
