//! Events go out beside the reconciles, the way client-go's broadcaster
//! sends them: queued, and written in order by one task. An Event is
//! best-effort; a reconcile must not wait for its write, nor spend a turn of
//! the reconcilers' rate limit on it (at 1,000 new endpoints, Events were
//! 2 of each endpoint's 12 requests). Like controller-runtime's recorder,
//! the operator gives the writer a client with its own rate limit.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, Recorder, Reporter};
use tokio::sync::mpsc;
use tracing::warn;

/// Events waiting to be written at most (client-go's broadcaster queues
/// 1,000 too); past that, new ones are dropped with a warning.
pub const QUEUE: usize = 1000;

/// The sending side; the writer task ends once every sender is dropped and
/// the queue is written out.
#[derive(Clone)]
pub struct Events {
    tx: mpsc::Sender<(Event, ObjectReference)>,
}

impl Events {
    /// Starts the writer on the current tokio runtime.
    pub fn start(client: Client, reporter: Reporter) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Event, ObjectReference)>(QUEUE);
        let recorder = Recorder::new(client, reporter);
        tokio::spawn(async move {
            while let Some((ev, reference)) = rx.recv().await {
                if let Err(e) = recorder.publish(&ev, &reference).await {
                    warn!(
                        endpoint = %about(&reference), reason = %ev.reason, error = %e,
                        "publishing an event failed"
                    );
                }
            }
        });
        Events { tx }
    }

    /// Queues `ev` about `reference`; never waits.
    pub fn publish(&self, ev: Event, reference: ObjectReference) {
        match self.tx.try_send((ev, reference)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full((ev, reference))) => warn!(
                endpoint = %about(&reference),
                reason = %ev.reason,
                "dropped an event: {QUEUE} are already waiting to be written"
            ),
            // The writer is gone: the operator is stopping.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// `namespace/name`, as the reconciler's logs name an endpoint.
fn about(r: &ObjectReference) -> String {
    format!(
        "{}/{}",
        r.namespace.as_deref().unwrap_or_default(),
        r.name.as_deref().unwrap_or_default()
    )
}
