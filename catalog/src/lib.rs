//! What kube-mcp-server and kube-mcp-operator must agree on, in a crate small
//! enough that the operator does not link the server: the tool catalog
//! ([`tools`]), which tools a server offers ([`policy`]), and the server's
//! settings ([`settings`]), which the operator renders into a Deployment and
//! the server parses back with the same code.

pub mod policy;
pub mod settings;
pub mod tools;

pub use tools::{
    CATALOG, Needs, Rule, RuleScope, SECRETS, ToolClass, ToolId, ToolSpec, find, names,
};
