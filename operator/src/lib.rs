//! kube-mcp-operator: reconciles `McpEndpoint` resources into least-privilege
//! kube-mcp-server deployments.
//!
//! Pure builders (spec + operator config -> desired objects) live in one module
//! per concept; [`reconcile`] is the only module that talks to the API server.

pub mod admin;
pub mod admission;
pub mod apiserver;
pub mod apply;
pub mod cache;
pub mod config;
pub mod crd;
pub mod deployment;
pub mod drift;
pub mod error;
pub mod events;
pub mod finalizer;
pub mod guard;
pub mod image;
pub mod labels;
pub mod leader;
pub mod meta;
pub mod metrics;
pub mod names;
pub mod network_policy;
pub mod operator_rbac;
pub mod owners;
pub mod ownership;
pub mod probe;
pub mod rbac;
pub mod reconcile;
pub mod renewal;
pub mod secret;
pub mod service;
pub mod status;
pub mod stored;
pub mod telemetry;
pub mod verifier;
pub mod verify;

pub use crd::{McpEndpoint, McpEndpointSpec, McpEndpointStatus};
