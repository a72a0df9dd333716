//! The Grafana dashboard (config/grafana/kube-mcp-dashboard.json) against
//! the metrics the binaries expose: each binary's tests check that the
//! dashboard queries only metrics it exposes, and all of its families.

use std::collections::BTreeSet;

/// Where the dashboard lives, from a crate's manifest directory.
pub const PATH: &str = "../config/grafana/kube-mcp-dashboard.json";

/// Prefix of every metric of the server; the operator's add [`OPERATOR_PREFIX`].
pub const PREFIX: &str = "kube_mcp_";
/// Prefix of every metric of the operator.
pub const OPERATOR_PREFIX: &str = "kube_mcp_operator_";

/// Every metric name `text` mentions: the words starting with [`PREFIX`]
/// (the bare prefix, as in a `kube_mcp_.*` selector, names none).
pub fn mentioned(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(PREFIX) && w.len() > PREFIX.len())
        .collect()
}

/// What an OpenMetrics/Prometheus text exposition exposes: its families
/// (`# TYPE` lines) and the names of its samples (`_total`, `_bucket`, ...).
pub fn exposed(exposition: &str) -> BTreeSet<&str> {
    exposition
        .lines()
        .filter_map(|l| match l.strip_prefix("# TYPE ") {
            Some(rest) => rest.split_whitespace().next(),
            None if l.starts_with('#') => None,
            None => l.split(['{', ' ']).next(),
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// The families of an exposition (`# TYPE` lines).
pub fn families(exposition: &str) -> BTreeSet<&str> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.split_whitespace().next())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_samples() {
        let expr = r#"sum by (le) (rate(kube_mcp_x_bucket{job=~"$job"}[5m])) / kube_mcp_y_total"#;
        assert_eq!(
            mentioned(expr).into_iter().collect::<Vec<_>>(),
            ["kube_mcp_x_bucket", "kube_mcp_y_total"]
        );
        let text = "# HELP kube_mcp_x X.\n# TYPE kube_mcp_x histogram\nkube_mcp_x_bucket{le=\"1\"} 0\nkube_mcp_x_count 0\n# EOF\n";
        assert_eq!(
            exposed(text).into_iter().collect::<Vec<_>>(),
            ["kube_mcp_x", "kube_mcp_x_bucket", "kube_mcp_x_count"]
        );
        assert_eq!(
            families(text).into_iter().collect::<Vec<_>>(),
            ["kube_mcp_x"]
        );
    }
}
