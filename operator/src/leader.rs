//! Leader election settings and the leader's deadline (pure). The election
//! itself runs in `main`: the controller runs only while this replica holds
//! the Lease, and the process exits when it loses it, when the lease task
//! ends (as linkerd2's policy controller does), or when no renewal was
//! confirmed for nearly a lease duration ([`crate::renewal`]), so two
//! replicas never reconcile at once.
//!
//! The last rule closes a gap in kube-lease-manager: while its renewals fail
//! (the API server unreachable, etcd stalled) it keeps reporting leadership,
//! and a standby takes the Lease over once `renewTime + leaseDurationSeconds`
//! has passed. The leader therefore goes by the newest `renewTime` the API
//! server confirmed holding for it, the same time the standby goes by, and
//! stops [`STOP_MARGIN_SECONDS`] before the standby may start.

use k8s_openapi::api::coordination::v1::Lease;
use std::time::{Duration, SystemTime};

/// Name of the Lease (`coordination.k8s.io/v1`).
pub const LEASE_NAME: &str = "kube-mcp-operator";
/// Seconds a Lease stays valid without renewal (client-go's default is 15).
pub const LEASE_DURATION_SECONDS: u64 = 15;
/// Seconds before expiry the holder renews: 8 s after a renewal, which
/// leaves room for retries before [`STOP_MARGIN_SECONDS`] ends the term.
pub const LEASE_GRACE_SECONDS: u64 = 7;
/// Seconds before the Lease expires (for the other replicas) that a leader
/// without a newer confirmed renewal stops: covers the time exiting takes.
pub const STOP_MARGIN_SECONDS: u64 = 3;

/// The path of the Lease `namespace/name`, as the API client requests it.
pub fn lease_path(namespace: &str, name: &str) -> String {
    format!("/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}")
}

/// The renewal a Lease read from the API server confirms for `identity`:
/// its `renewTime` when `identity` holds it.
pub fn confirmed_renewal(lease: &Lease, identity: &str) -> Option<SystemTime> {
    let spec = lease.spec.as_ref()?;
    if spec.holder_identity.as_deref() != Some(identity) {
        return None;
    }
    Some(spec.renew_time.as_ref()?.0.into())
}

/// When a leader whose last confirmed renewal was at `renewed` must have
/// stopped: the Lease's expiry minus [`STOP_MARGIN_SECONDS`].
pub fn stop_at(renewed: SystemTime) -> SystemTime {
    renewed + Duration::from_secs(LEASE_DURATION_SECONDS - STOP_MARGIN_SECONDS)
}

/// The Lease's namespace: the flag, else the pod's namespace, else `default`.
pub fn lease_namespace(flag: Option<&str>, pod_namespace: Option<&str>) -> String {
    [flag, pod_namespace]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string()
}

/// This replica's identity in the Lease: the pod name, else `<hostname>-<pid>`.
pub fn identity(pod_name: Option<&str>, hostname: Option<&str>, pid: u32) -> String {
    match pod_name.map(str::trim).filter(|s| !s.is_empty()) {
        Some(p) => p.to_string(),
        None => format!(
            "{}-{pid}",
            hostname
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("kube-mcp-operator")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_precedence() {
        assert_eq!(lease_namespace(Some("ops"), Some("pod-ns")), "ops");
        assert_eq!(lease_namespace(None, Some("pod-ns")), "pod-ns");
        assert_eq!(lease_namespace(Some(" "), None), "default");
        assert_eq!(lease_namespace(None, None), "default");
    }

    #[test]
    fn identity_precedence() {
        assert_eq!(identity(Some("op-0"), Some("h"), 7), "op-0");
        assert_eq!(identity(None, Some("host\n"), 7), "host-7");
        assert_eq!(identity(Some(""), None, 7), "kube-mcp-operator-7");
    }

    #[test]
    fn renewal_before_the_leader_stops() {
        // Renew, then retry, well before stopping; stop before the Lease expires.
        const { assert!(STOP_MARGIN_SECONDS + 2 < LEASE_GRACE_SECONDS) };
        const { assert!(LEASE_GRACE_SECONDS < LEASE_DURATION_SECONDS) };
        const { assert!(STOP_MARGIN_SECONDS > 0) };
    }

    fn lease(holder: Option<&str>, renewed_secs: Option<i64>) -> Lease {
        use k8s_openapi::api::coordination::v1::LeaseSpec;
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: holder.map(String::from),
                renew_time: renewed_secs
                    .map(|s| MicroTime(jiff::Timestamp::from_second(s).expect("a valid time"))),
                lease_duration_seconds: Some(LEASE_DURATION_SECONDS as i32),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    #[test]
    fn only_a_lease_held_by_this_replica_confirms_a_renewal() {
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let cases = [
            (lease(Some("op-a"), Some(100)), Some(at(100))),
            (lease(Some("op-b"), Some(100)), None),
            (lease(None, Some(100)), None),
            (lease(Some("op-a"), None), None),
            (Lease::default(), None),
        ];
        for (l, want) in cases {
            assert_eq!(confirmed_renewal(&l, "op-a"), want, "{l:?}");
        }
    }

    #[test]
    fn the_leader_stops_before_a_standby_may_take_over() {
        let renewed = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let expiry = renewed + Duration::from_secs(LEASE_DURATION_SECONDS);
        assert_eq!(
            expiry.duration_since(stop_at(renewed)).ok(),
            Some(Duration::from_secs(STOP_MARGIN_SECONDS))
        );
        assert_eq!(
            lease_path("ops", LEASE_NAME),
            "/apis/coordination.k8s.io/v1/namespaces/ops/leases/kube-mcp-operator"
        );
    }
}
