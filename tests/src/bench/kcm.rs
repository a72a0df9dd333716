//! What kube-controller-manager's own API client went through during a
//! window, from its /metrics: requests sent, and how long its client-side
//! rate limiter (`--kube-api-qps`, 20 a second per controller by default)
//! held them. Turning an endpoint's Deployment into a Ready pod is its work,
//! so that limit, not the operator, paces "all Ready".

use crate::controlplane::ControlPlane;
use anyhow::{Context as _, Result};
use serde_json::{Value, json};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct ClientStats {
    pub requests: f64,
    /// Seconds requests spent waiting in the rate limiter, summed.
    pub limiter_wait_seconds: f64,
}

/// Sums kube-controller-manager's client metrics (every controller's).
pub fn parse(text: &str) -> ClientStats {
    let mut s = ClientStats::default();
    for (name, _, v) in super::apistats::samples(text) {
        match name {
            "rest_client_requests_total" => s.requests += v,
            "rest_client_rate_limiter_duration_seconds_sum" => s.limiter_wait_seconds += v,
            _ => {}
        }
    }
    s
}

/// A client for kube-controller-manager's secure port (found in its
/// command line), with the admin's credentials: it delegates both checks to
/// the API server. Its serving certificate is self-signed, hence no CA.
async fn client(cp: &ControlPlane) -> Result<kube::Client> {
    let (_, pid) = cp
        .processes()
        .into_iter()
        .find(|(name, _)| name == "kube-controller-manager")
        .context("no kube-controller-manager in this control plane")?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))?;
    let port = cmdline
        .split(|b| *b == 0)
        .filter_map(|a| std::str::from_utf8(a).ok())
        .find_map(|a| a.strip_prefix("--secure-port="))
        .context("kube-controller-manager has no --secure-port")?
        .to_string();
    let kubeconfig = kube::config::Kubeconfig::read_from(cp.kubeconfig_path())?;
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    config.cluster_url = format!("https://127.0.0.1:{port}").parse()?;
    config.root_cert = None;
    config.accept_invalid_certs = true;
    Ok(kube::Client::try_from(config)?)
}

async fn snapshot(client: &kube::Client) -> Result<ClientStats> {
    let req = http::Request::get("/metrics").body(vec![])?;
    Ok(parse(&client.request_text(req).await?))
}

/// The start of a window over kube-controller-manager's client, or why
/// there is none (the report then only lacks the controller-manager's part).
pub struct Window {
    start: std::result::Result<(kube::Client, ClientStats), String>,
    at: std::time::Instant,
}

impl Window {
    pub async fn open(cp: &ControlPlane) -> Window {
        let start = match client(cp).await {
            Ok(c) => snapshot(&c).await.map(|s| (c, s)),
            Err(e) => Err(e),
        }
        .map_err(|e| format!("{e:#}"));
        if let Err(e) = &start {
            eprintln!("[bench] kube-controller-manager metrics: {e}");
        }
        Window {
            start,
            at: std::time::Instant::now(),
        }
    }

    /// What its client did since [`Window::open`].
    pub async fn close(self) -> Value {
        let seconds = self.at.elapsed().as_secs_f64();
        match self.start {
            Ok((c, before)) => match snapshot(&c).await {
                Ok(after) => to_json(&before, &after, seconds),
                Err(e) => json!({"not_measured": format!("{e:#}")}),
            },
            Err(e) => json!({"not_measured": e}),
        }
    }
}

/// The window from `a` to `b`, `seconds` long.
pub fn to_json(a: &ClientStats, b: &ClientStats, seconds: f64) -> Value {
    let requests = b.requests - a.requests;
    let r = |v: f64| (v * 10.0).round() / 10.0;
    json!({
        "requests": requests,
        "requests_per_s": r(requests / seconds.max(1e-9)),
        "rate_limiter_wait_seconds": r(b.limiter_wait_seconds - a.limiter_wait_seconds),
        "seconds": r(seconds),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_controllers_requests_and_limiter_waits() {
        let text = "# HELP rest_client_requests_total ...\n\
            rest_client_requests_total{code=\"200\",host=\"127.0.0.1:1\",method=\"GET\"} 420\n\
            rest_client_requests_total{code=\"201\",host=\"127.0.0.1:1\",method=\"POST\"} 741\n\
            rest_client_rate_limiter_duration_seconds_sum{host=\"127.0.0.1:1\",verb=\"GET\"} 18.5\n\
            rest_client_rate_limiter_duration_seconds_sum{host=\"127.0.0.1:1\",verb=\"POST\"} 42.0\n\
            rest_client_rate_limiter_duration_seconds_count{host=\"127.0.0.1:1\",verb=\"POST\"} 744\n\
            rest_client_request_duration_seconds_sum{host=\"127.0.0.1:1\",verb=\"GET\"} 9\n";
        let s = parse(text);
        assert_eq!(
            s,
            ClientStats {
                requests: 1161.0,
                limiter_wait_seconds: 60.5
            }
        );
        let w = to_json(&ClientStats::default(), &s, 23.0);
        assert_eq!(w["requests_per_s"], json!(50.5));
        assert_eq!(w["rate_limiter_wait_seconds"], json!(60.5));
    }
}
