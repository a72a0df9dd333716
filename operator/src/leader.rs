//! Leader election settings (pure). The election itself runs in `main`: the
//! controller runs only while this replica holds the Lease, and the process
//! exits when it loses it or the lease task ends (as linkerd2's policy
//! controller does), so two replicas never reconcile at once for long.

/// Name of the Lease (`coordination.k8s.io/v1`).
pub const LEASE_NAME: &str = "kube-mcp-operator";
/// Seconds a Lease stays valid without renewal (client-go's default is 15).
pub const LEASE_DURATION_SECONDS: u64 = 15;
/// Seconds before expiry the holder renews.
pub const LEASE_GRACE_SECONDS: u64 = 5;

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
    fn renewal_before_expiry() {
        const { assert!(LEASE_GRACE_SECONDS < LEASE_DURATION_SECONDS) };
    }
}
