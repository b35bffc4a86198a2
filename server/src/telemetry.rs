//! Logging through tracing: a filter from `BRICKDESK_LOG` (or `log` in the config), plain or
//! JSON lines on stderr. Stdout stays free for the one `listening on` line scripts read.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global subscriber; later calls (tests start many servers) are no-ops.
pub fn init(filter: &str, format: LogFormat) {
    let env_filter = EnvFilter::try_new(filter).unwrap_or_else(|err| {
        eprintln!("warning: log filter {filter:?} is invalid ({err}); using \"info\"");
        EnvFilter::new("info")
    });
    let registry = tracing_subscriber::registry().with(env_filter);
    let result = match format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    // Colours only on a terminal: journald and `docker logs` get plain text.
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // An already-installed subscriber is fine: the first one wins.
    drop(result);
}
