//! kube-mcp-server: a Kubernetes MCP server with native API calls.

// The catalog and the settings are shared with the operator; kept under
// their old names so `crate::config::Settings` reads as before.
pub use kube_mcp_catalog::settings as config;
pub use kube_mcp_catalog::tools as catalog;
pub mod apipath;
pub mod audit;
pub mod auth;
pub mod authn;
pub mod authz;
pub mod call;
pub mod cluster;
pub mod complete;
pub mod confirm;
pub mod discovery;
pub mod filter;
pub mod format;
#[doc(hidden)]
pub mod fuzz;
pub mod gate;
pub mod guard;
pub mod handler;
pub mod http;
pub mod identity;
pub mod jsonrpc;
pub mod mask;
pub mod metrics;
pub mod origin;
pub mod prompts;
pub mod resources;
pub mod result;
pub mod scope;
pub mod serve;
pub mod telemetry;
pub mod tools;
pub mod workload;
