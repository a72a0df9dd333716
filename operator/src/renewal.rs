//! The leader's own record of its Lease renewals (why: [`crate::leader`]).
//! The lease manager's client is wrapped so that every answer about this
//! replica's Lease is read on its way back; the newest `renewTime` the API
//! server holds for this replica sets the leader's deadline.

use crate::leader;
use http::{Request, Response};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::client::Body;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// Longest sleep between two looks at the deadline: a wall-clock jump is
/// noticed within this.
const RECHECK: Duration = Duration::from_secs(1);

/// The newest renewal the API server confirmed for this replica.
pub struct Renewals {
    path: String,
    identity: String,
    last: watch::Sender<Option<SystemTime>>,
}

impl Renewals {
    pub fn new(namespace: &str, identity: &str) -> Arc<Self> {
        Arc::new(Self {
            path: leader::lease_path(namespace, leader::LEASE_NAME),
            identity: identity.to_string(),
            last: watch::Sender::new(None),
        })
    }

    /// `base` for the lease manager: the same requests, with every
    /// successful answer about the Lease read here first.
    pub fn client(self: &Arc<Self>, base: Client) -> Client {
        let namespace = base.default_namespace().to_string();
        let me = self.clone();
        let service = tower::service_fn(move |req: Request<Body>| {
            let (base, me) = (base.clone(), me.clone());
            async move {
                let about_lease = req.uri().path() == me.path;
                let resp = base.send(req).await?;
                if !about_lease || !resp.status().is_success() {
                    return Ok::<_, kube::Error>(resp);
                }
                let (parts, body) = resp.into_parts();
                let bytes = body.collect_bytes().await?;
                if let Ok(lease) = serde_json::from_slice::<Lease>(&bytes) {
                    me.observe(&lease);
                }
                Ok(Response::from_parts(parts, Body::from(bytes)))
            }
        });
        Client::new(service, namespace)
    }

    fn observe(&self, lease: &Lease) {
        if let Some(renewed) = leader::confirmed_renewal(lease, &self.identity) {
            self.last.send_if_modified(|last| {
                let newer = last.is_none_or(|l| renewed > l);
                if newer {
                    *last = Some(renewed);
                }
                newer
            });
        }
    }

    /// The last confirmed renewal.
    pub fn last(&self) -> Option<SystemTime> {
        *self.last.borrow()
    }

    /// Whether the last confirmed renewal still leaves time to lead.
    fn leaves_time(&self) -> bool {
        self.last()
            .is_some_and(|t| leader::stop_at(t) > SystemTime::now())
    }

    /// Waits up to `within` for a renewal that leaves time to lead (a
    /// replica restarted under its old identity finds its old, maybe
    /// nearly expired, Lease). False when none came.
    pub async fn fresh(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut rx = self.last.subscribe();
        while !self.leaves_time() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = tokio::time::timeout(left.min(RECHECK), rx.changed()).await;
        }
        true
    }

    /// Resolves when the leader must stop: no renewal newer than the last
    /// confirmed one by its [`leader::stop_at`]. Returns that renewal.
    pub async fn expired(&self) -> Option<SystemTime> {
        let mut rx = self.last.subscribe();
        loop {
            let last = *rx.borrow_and_update();
            let left = last
                .and_then(|t| leader::stop_at(t).duration_since(SystemTime::now()).ok())
                .unwrap_or(Duration::ZERO);
            if left.is_zero() {
                return last;
            }
            tokio::select! {
                _ = tokio::time::sleep(left.min(RECHECK)) => {}
                changed = rx.changed() => if changed.is_err() { return last },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn lease(holder: &str, renewed: SystemTime) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                renew_time: Some(MicroTime(
                    jiff::Timestamp::try_from(renewed).expect("a valid time"),
                )),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    #[test]
    fn only_newer_renewals_of_this_replica_count() {
        let r = Renewals::new("ops", "op-a");
        let now = SystemTime::now();
        r.observe(&lease("op-a", now));
        r.observe(&lease("op-b", now + Duration::from_secs(5)));
        r.observe(&lease("op-a", now - Duration::from_secs(5)));
        assert_eq!(r.last(), Some(now));
    }

    #[tokio::test]
    async fn a_stale_renewal_expires_at_once_and_a_fresh_one_does_not() {
        let r = Renewals::new("ops", "op-a");
        assert_eq!(r.expired().await, None, "never renewed: no term at all");
        assert!(!r.fresh(Duration::from_millis(50)).await);

        let old = SystemTime::now() - Duration::from_secs(leader::LEASE_DURATION_SECONDS);
        r.observe(&lease("op-a", old));
        assert!(!r.fresh(Duration::from_millis(50)).await);
        assert_eq!(r.expired().await, Some(old));

        r.observe(&lease("op-a", SystemTime::now()));
        assert!(r.fresh(Duration::from_millis(50)).await);
        let expired = tokio::time::timeout(Duration::from_millis(300), r.expired()).await;
        assert!(expired.is_err(), "a fresh renewal leaves time to lead");
    }
}
