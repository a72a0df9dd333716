//! Where the API server is: the only address, besides cluster DNS, that the
//! endpoints' NetworkPolicy lets a server reach.
//!
//! Read once at start-up (the `kubernetes` Service and its EndpointSlices in
//! `default`) unless `--api-server-endpoints` names the addresses. Both the
//! Service's cluster IP and the endpoints are kept: CNIs differ in whether
//! egress rules see the address before or after the Service's DNAT.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use kube::{Api, Client};
use std::net::{IpAddr, SocketAddr};

const NAMESPACE: &str = "default";
const SERVICE: &str = "kubernetes";

/// The API server's addresses from the `kubernetes` Service and EndpointSlices.
pub async fn discover(client: &Client) -> Result<Vec<SocketAddr>, kube::Error> {
    let svc = Api::<Service>::namespaced(client.clone(), NAMESPACE)
        .get_opt(SERVICE)
        .await?;
    let slices = Api::<EndpointSlice>::namespaced(client.clone(), NAMESPACE)
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={SERVICE}")))
        .await?;
    Ok(addresses(svc.as_ref(), &slices.items))
}

/// Every (address, port) of the Service and its ready endpoints, sorted, once each.
pub fn addresses(svc: Option<&Service>, slices: &[EndpointSlice]) -> Vec<SocketAddr> {
    let mut out = vec![];
    if let Some(spec) = svc.and_then(|s| s.spec.as_ref()) {
        let ips = spec
            .cluster_ips
            .clone()
            .or_else(|| spec.cluster_ip.clone().map(|ip| vec![ip]))
            .unwrap_or_default();
        for ip in ips.iter().filter_map(|ip| ip.parse::<IpAddr>().ok()) {
            for p in spec.ports.iter().flatten() {
                out.extend(u16::try_from(p.port).ok().map(|p| SocketAddr::new(ip, p)));
            }
        }
    }
    for slice in slices {
        let ports: Vec<u16> = slice
            .ports
            .iter()
            .flatten()
            .filter_map(|p| p.port.and_then(|p| u16::try_from(p).ok()))
            .collect();
        for ep in slice.endpoints.iter().flatten() {
            if ep.conditions.as_ref().and_then(|c| c.ready) == Some(false) {
                continue;
            }
            for ip in ep.addresses.iter().filter_map(|a| a.parse::<IpAddr>().ok()) {
                out.extend(ports.iter().map(|p| SocketAddr::new(ip, *p)));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_and_ready_endpoints() {
        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": "kubernetes"},
            "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}
        }))
        .unwrap();
        let slice: EndpointSlice = serde_json::from_value(json!({
            "metadata": {"name": "kubernetes"},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["192.168.1.10"], "conditions": {"ready": true}},
                {"addresses": ["192.168.1.11"]},
                {"addresses": ["192.168.1.12"], "conditions": {"ready": false}},
            ],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]
        }))
        .unwrap();
        let got: Vec<String> = addresses(Some(&svc), &[slice.clone(), slice])
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(
            got,
            ["10.96.0.1:443", "192.168.1.10:6443", "192.168.1.11:6443"]
        );
        assert!(addresses(None, &[]).is_empty());
    }
}
