//! Benchmark driver pieces (the `kube-mcp-bench` binary): seeding the control
//! plane, starting kube-mcp-server and its peers, measuring latency,
//! throughput, memory and start-up, what caller identity adds per call,
//! operator scale, the audit and tracing variants, and the report.

pub mod apistats;
pub mod identity;
pub mod kcm;
pub mod measure;
pub mod operator;
pub mod paging;
pub mod procfs;
pub mod report;
pub mod scale;
pub mod seed;
pub mod stats;
pub mod targets;
pub mod variants;
pub mod writes;
