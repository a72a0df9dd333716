//! The endpoint's Service: port 80 -> the server's `http` port.

use crate::crd::McpEndpoint;
use crate::{labels, meta, names};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub fn service(ep: &McpEndpoint) -> Service {
    let ns = names::namespace(ep);
    Service {
        metadata: meta::child(ep, &names::base(ep), Some(&ns)),
        spec: Some(ServiceSpec {
            selector: Some(labels::selector(ep)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: names::SERVICE_PORT,
                target_port: Some(IntOrString::String("http".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::McpEndpointSpec;
    use crate::guard::tests::ep;

    #[test]
    fn port_80_to_http() {
        let s = service(&ep("a", McpEndpointSpec::default()));
        let spec = s.spec.unwrap();
        let p = &spec.ports.unwrap()[0];
        assert_eq!(p.port, 80);
        assert_eq!(p.target_port, Some(IntOrString::String("http".into())));
        assert_eq!(spec.selector.unwrap()["app.kubernetes.io/instance"], "ep");
        assert!(s.metadata.owner_references.is_some());
    }
}
