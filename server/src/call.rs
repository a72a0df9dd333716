//! What one tool call carries with it across the layers it passes: the
//! session it belongs to, the Secret values the gate masked while serving it
//! (so they can be cut from any error text of the same call), and the
//! Kubernetes requests it made.
//!
//! A task-local, so the gate on the kube client (which no tool calls
//! directly) can find the call it serves without every tool passing it down.

use crate::identity::Principal;
use std::sync::{Arc, Mutex};

tokio::task_local! {
    static CALL: Arc<Call>;
}

/// Shortest masked value searched for in error text: shorter ones would cut
/// ordinary words out of messages (they are still masked in every object).
pub const MIN_REDACTED_LEN: usize = 4;

/// One Kubernetes request a call made, as the gate saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    pub verb: String,
    pub path: String,
    pub status: Option<u16>,
    pub dry_run: bool,
}

/// One MCP session: what it chose for itself (a kubeconfig context), so a
/// choice never reaches another session of the same process.
#[derive(Debug, Default)]
pub struct Session {
    context: Mutex<Option<String>>,
    /// Who opened it, where its requests do not say (legacy SSE).
    pub caller: Option<Arc<Principal>>,
}

impl Session {
    pub fn for_caller(caller: Option<Arc<Principal>>) -> Self {
        Self {
            caller,
            ..Self::default()
        }
    }

    pub fn context(&self) -> Option<String> {
        self.context
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_context(&self, name: &str) {
        *self.context.lock().unwrap_or_else(|e| e.into_inner()) = Some(name.to_string());
    }
}

/// The state of one tool call (or resource read).
#[derive(Debug, Default)]
pub struct Call {
    /// The session the call belongs to.
    pub session: Arc<Session>,
    /// Who made the call (HTTP); per-caller authorization checks its rights.
    pub caller: Option<Arc<Principal>>,
    seen: Mutex<Vec<String>>,
    requests: Mutex<Vec<ApiRequest>>,
}

impl Call {
    pub fn new(session: Arc<Session>) -> Arc<Self> {
        let caller = session.caller.clone();
        Self::by(session, caller)
    }

    /// A call made by `caller` in `session`.
    pub fn by(session: Arc<Session>, caller: Option<Arc<Principal>>) -> Arc<Self> {
        Arc::new(Self {
            session,
            caller,
            ..Self::default()
        })
    }

    /// Remembers Secret values the gate masked, in the forms they can take
    /// in text: as stored (base64) and decoded.
    pub fn saw_secret_values(&self, values: impl IntoIterator<Item = String>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for v in values {
            if v.len() >= MIN_REDACTED_LEN && !seen.contains(&v) {
                seen.push(v);
            }
        }
        // Longest first, so a value is never half-cut by a shorter one inside it.
        seen.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// `text` with every Secret value this call saw replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for v in seen.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), crate::mask::MASK);
            }
        }
        out
    }

    /// `v` with every Secret value this call saw replaced by `***` in every
    /// string and key (structured results carry text too).
    pub fn redact_value(&self, v: &mut serde_json::Value) {
        use serde_json::Value;
        if self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
        {
            return;
        }
        match v {
            Value::String(s) => *s = self.redact(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.redact_value(i)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut item) in old {
                    self.redact_value(&mut item);
                    map.insert(self.redact(&k), item);
                }
            }
            _ => {}
        }
    }

    pub fn record(&self, request: ApiRequest) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
    }

    /// The requests made so far, in order.
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Runs `f` as (part of) `call`.
pub async fn within<F: Future>(call: Arc<Call>, f: F) -> F::Output {
    CALL.scope(call, f).await
}

/// `f` as part of the current call, if any: for tasks a tool spawns that
/// make requests later (port-forward connections), which would otherwise
/// run outside the call and its caller's authorization.
pub fn inherit<F: Future>(f: F) -> impl Future<Output = F::Output> {
    let call = current();
    async move {
        match call {
            Some(c) => within(c, f).await,
            None => f.await,
        }
    }
}

/// The call the current task serves, if any.
pub fn current() -> Option<Arc<Call>> {
    CALL.try_with(Arc::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_seen_values_longest_first_and_skips_short_ones() {
        let c = Call::new(Arc::default());
        c.saw_secret_values(["hunter2".to_string(), "hunter2-extra".into(), "ab".into()]);
        assert_eq!(
            c.redact("bad value \"hunter2-extra\" and hunter2; ab stays"),
            "bad value \"***\" and ***; ab stays"
        );
    }

    #[test]
    fn redacts_values_and_keys_inside_structured_results() {
        let c = Call::new(Arc::default());
        let mut v = serde_json::json!({"a": ["x hunter2 y", 3], "hunter2": {"b": "hunter2"}});
        let untouched = v.clone();
        Call::new(Arc::default()).redact_value(&mut v);
        assert_eq!(v, untouched, "nothing seen: nothing changes");
        c.saw_secret_values(["hunter2".to_string()]);
        c.redact_value(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["x *** y", 3], "***": {"b": "***"}})
        );
    }

    #[tokio::test]
    async fn the_current_call_is_visible_inside_and_not_outside() {
        assert!(current().is_none());
        let session = Arc::new(Session::default());
        session.set_context("dev");
        let c = Call::new(session);
        let ctx = within(c.clone(), async {
            current().and_then(|c| c.session.context())
        })
        .await;
        assert_eq!(ctx.as_deref(), Some("dev"));
    }

    #[tokio::test]
    async fn spawned_work_inherits_the_call_only_when_asked() {
        let caller = Arc::new(Principal::shared_token());
        let c = Call::by(Arc::default(), Some(caller.clone()));
        let (plain, inherited) = within(c, async {
            let plain = tokio::spawn(async { current().is_some() });
            let inherited =
                tokio::spawn(inherit(async { current().and_then(|c| c.caller.clone()) }));
            (plain.await.unwrap(), inherited.await.unwrap())
        })
        .await;
        assert!(!plain, "tokio::spawn does not carry task-locals");
        assert_eq!(inherited, Some(caller));
    }
}
