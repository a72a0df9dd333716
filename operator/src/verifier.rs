//! MCP verification off the reconcile path.
//!
//! A probe can take up to [`crate::verify::TIMEOUT`]; inside a reconcile it
//! would hold one of the controller's few concurrency slots that long, so a
//! slow endpoint would stall the others. A reconcile instead asks for the
//! result of the configuration it sees (its fingerprint): a finished result
//! is handed over once, a missing one is started in its own task (a bounded
//! number at a time), and when a probe ends the controllers are asked to
//! reconcile that endpoint again.

use crate::cache::Router;
use crate::crd::McpEndpoint;
use crate::status::Verification;
use kube::runtime::reflector::ObjectRef;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// What the status says while a probe for a new configuration runs.
pub const VERIFYING: &str =
    "verifying the server (MCP initialize and tools/list through its Service)";

#[derive(Default)]
struct Entry {
    /// The fingerprint a probe is running for.
    running: Option<String>,
    /// A finished probe not yet handed to a reconcile.
    done: Option<(String, Verification)>,
    /// The fingerprint whose result the status shows.
    shown: Option<String>,
    /// Probes of the shown fingerprint since it was shown (retries).
    retries: u32,
}

pub struct Verifier {
    entries: Mutex<HashMap<ObjectRef<McpEndpoint>, Entry>>,
    permits: Arc<Semaphore>,
    /// Where a finished probe asks for its endpoint's reconcile.
    router: Router,
}

impl Verifier {
    /// At most `parallel` probes at once.
    pub fn new(parallel: usize, router: Router) -> Self {
        Verifier {
            entries: Mutex::default(),
            permits: Arc::new(Semaphore::new(parallel.max(1))),
            router,
        }
    }

    /// The verification to record for `obj` at `fingerprint`: a finished
    /// result (once), or, while one runs, [`Verification::Unchanged`] if the
    /// status already shows this fingerprint's result (a retry) and
    /// NotAvailable otherwise. Starts `probe` when none runs for it.
    pub fn result<F>(
        self: &Arc<Self>,
        obj: &ObjectRef<McpEndpoint>,
        fingerprint: &str,
        probe: impl FnOnce() -> F,
    ) -> Verification
    where
        F: Future<Output = Verification> + Send + 'static,
    {
        let Ok(mut entries) = self.entries.lock() else {
            return Verification::NotAvailable("the verifier failed; retrying".into());
        };
        let e = entries.entry(obj.clone()).or_default();
        if let Some((f, v)) = e.done.take()
            && f == fingerprint
        {
            e.shown = Some(f);
            return v;
        }
        if e.running.as_deref() != Some(fingerprint) {
            e.running = Some(fingerprint.to_string());
            // A retry of what the status shows waits longer each time (1 s,
            // 2 s, ... 5 min), as a failed reconcile would; a new
            // configuration is probed at once.
            let delay = if e.shown.as_deref() == Some(fingerprint) {
                e.retries = e.retries.saturating_add(1);
                crate::reconcile::backoff(e.retries)
            } else {
                e.retries = 0;
                std::time::Duration::ZERO
            };
            let (this, obj, fingerprint, fut) =
                (self.clone(), obj.clone(), fingerprint.to_string(), probe());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let permit = this.permits.clone().acquire_owned().await;
                let v = fut.await;
                drop(permit);
                this.finish(obj, fingerprint, v);
            });
        }
        if e.shown.as_deref() == Some(fingerprint) {
            Verification::Unchanged
        } else {
            Verification::NotAvailable(VERIFYING.into())
        }
    }

    fn finish(&self, obj: ObjectRef<McpEndpoint>, fingerprint: String, v: Verification) {
        if let Ok(mut entries) = self.entries.lock() {
            let e = entries.entry(obj.clone()).or_default();
            // A newer configuration's probe owns the entry now.
            if e.running.as_deref() == Some(fingerprint.as_str()) {
                e.running = None;
                e.done = Some((fingerprint, v));
            }
        }
        self.router.send(obj);
    }

    /// Drops what is known of `obj` (refused or deleted: nothing deployed).
    pub fn forget(&self, obj: &ObjectRef<McpEndpoint>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(obj);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn obj() -> ObjectRef<McpEndpoint> {
        ObjectRef::new("ep").within("ns")
    }

    #[tokio::test]
    async fn a_result_is_handed_over_once_and_a_retry_keeps_the_status() {
        let (router, mut woken) = Router::new(&[None]);
        let (v, mut woken) = (Arc::new(Verifier::new(2, router)), woken.remove(0));
        let unreachable = || async { Verification::Unreachable("no".into()) };
        assert_eq!(
            v.result(&obj(), "f1", unreachable),
            Verification::NotAvailable(VERIFYING.into())
        );
        // Asking again while it runs starts nothing new.
        assert_eq!(
            v.result(&obj(), "f1", || async { panic!("second probe") }),
            Verification::NotAvailable(VERIFYING.into())
        );
        let woke = tokio::time::timeout(Duration::from_secs(5), woken.recv()).await;
        assert_eq!(woke.unwrap(), Some(obj()));
        assert_eq!(
            v.result(&obj(), "f1", unreachable),
            Verification::Unreachable("no".into())
        );
        // The retry (a new probe) leaves the shown result alone, and waits.
        let asked = tokio::time::Instant::now();
        assert_eq!(v.result(&obj(), "f1", unreachable), Verification::Unchanged);
        woken.recv().await;
        assert!(
            asked.elapsed() >= Duration::from_millis(900),
            "{:?}",
            asked.elapsed()
        );
        // A new configuration is not verified by the old one's result.
        let pending = || std::future::pending::<Verification>();
        assert_eq!(
            v.result(&obj(), "f2", pending),
            Verification::NotAvailable(VERIFYING.into())
        );
        v.forget(&obj());
        assert_eq!(
            v.result(&obj(), "f2", pending),
            Verification::NotAvailable(VERIFYING.into())
        );
    }
}
