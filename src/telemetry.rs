//! Logging setup and the field names every log line uses.
//!
//! Logs go to standard error through `tracing`, as text that journald shows well or as JSON
//! lines. Field names are the same in logs, admin output and metric labels.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The field naming the destination.
pub const DESTINATION: &str = "destination";
/// The field naming the event.
pub const EVENT_ID: &str = "event_id";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable text, one line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber.
///
/// `RUST_LOG` overrides `default_level` with a filter such as `sluice=debug`.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("sluice={default_level},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        // A failed write to standard error (a dead log reader, a full disk) must not matter:
        // with internal error logging on, tracing-subscriber reports it with `eprintln!`,
        // which panics because standard error is what failed.
        .log_internal_errors(false);
    // A second call (tests that run several commands in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
