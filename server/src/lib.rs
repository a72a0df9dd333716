//! kube-mcp-server: a Kubernetes MCP server with native API calls.
pub mod auth;
pub mod catalog;
pub mod cluster;
pub mod config;
pub mod discovery;
pub mod filter;
pub mod format;
pub mod guard;
pub mod handler;
pub mod http;
pub mod mask;
pub mod metrics;
pub mod prompts;
pub mod resources;
pub mod scope;
pub mod tools;
