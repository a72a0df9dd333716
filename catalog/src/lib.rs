//! What kube-mcp-server and kube-mcp-operator must agree on, in a crate small
//! enough that the operator does not link the server: the tool catalog
//! ([`tools`]), which tools a server offers ([`policy`]), and the server's
//! settings ([`settings`]), which the operator renders into a Deployment and
//! the server parses back with the same code; plus the few runtime pieces
//! both binaries need alike ([`logging`], [`apiserver`] errors and
//! `KUBECONFIG` lists, the [`signal`] that stops them).

pub mod apiserver;
pub mod dashboard;
pub mod logging;
pub mod memory;
pub mod policy;
pub mod settings;
pub mod signal;
pub mod tools;

pub use tools::{
    CATALOG, Needs, Rule, RuleScope, SECRETS, ToolClass, ToolId, ToolSpec, find, names,
};
