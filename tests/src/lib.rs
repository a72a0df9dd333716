//! Test support for kube-mcp: a local Kubernetes control plane (etcd,
//! kube-apiserver with RBAC, controller-manager, scheduler, kwok fake nodes)
//! built from the upstream Go modules, and a per-process test fixture.
//!
//! ```no_run
//! # async fn demo() {
//! let ns = kube_mcp_tests::test_namespace("demo").await;
//! let token = kube_mcp_tests::service_account_token(&ns.client, &ns.name, "default").await;
//! let as_sa = kube_mcp_tests::client_with_token(&token).await;
//! # let _ = as_sa;
//! # }
//! ```

pub mod access;
pub mod bench;
pub mod bins;
pub mod controlplane;
pub mod demo;
pub mod fixture;
pub mod forward;
pub mod installed;
pub mod kubeconfig;
pub mod kubelet;
pub mod machine;
pub mod mcp;
pub mod node;
pub mod npm;
pub mod oidc;
pub mod pki;
pub mod proxy;
pub mod python;
pub mod reliability;
pub mod server;

pub use controlplane::{ControlPlane, Error, Options};
pub use fixture::{
    TestNamespace, admin_client, client_with_token, cluster, kubectl, real_node,
    real_node_namespace, service_account_token, service_account_token_for, test_namespace,
};
