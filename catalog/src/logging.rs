//! Log set-up shared by both binaries: one switch (`--log-format` /
//! `KUBE_MCP_LOG_FORMAT`) for text or JSON, always to stderr (the server's
//! stdout carries the stdio transport), colour only on a terminal.

use clap::ValueEnum;
use std::io::IsTerminal;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// A layer beside the log output, with its own filter (the server's
/// OpenTelemetry export).
pub type ExtraLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The environment variable both binaries read the log format from.
pub const FORMAT_ENV: &str = "KUBE_MCP_LOG_FORMAT";

/// Directives for the default filter (no `RUST_LOG`): kube's per-request
/// ERROR line and rustls' verifier say, without the URL, what the binaries'
/// own messages (see [`crate::apiserver`]) say with it.
pub const QUIET_TRANSPORT: &str = "kube_client::client::builder=off,rustls_platform_verifier=off";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// Whether text logs get ANSI colours: only for a terminal, and never when
/// `NO_COLOR` is set to anything (<https://no-color.org>).
pub fn use_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber. `filter` is an `EnvFilter` directive
/// string (usually from `RUST_LOG`); an invalid one falls back to `info`
/// and says so, rather than silently logging nothing.
pub fn init(format: LogFormat, filter: &str) {
    init_with(format, filter, vec![]);
}

/// [`init`] plus `extra` layers. The filter applies to the log output only,
/// so each extra layer sees what its own filter lets through.
pub fn init_with(format: LogFormat, filter: &str, extra: Vec<ExtraLayer>) {
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let colour = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let output: ExtraLayer = match format {
        LogFormat::Json => fmt.json().with_filter(filter).boxed(),
        LogFormat::Text => fmt.with_filter(filter).boxed(),
    };
    let mut layers = vec![output];
    layers.extend(extra);
    tracing_subscriber::registry().with(layers).init();
    if let Some(e) = bad {
        tracing::warn!("RUST_LOG is not a valid log filter ({e}); logging at info");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }
}
