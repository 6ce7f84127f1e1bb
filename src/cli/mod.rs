//! Subcommands, runtime construction, wiring and shutdown.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Self-hosted event streaming: Amplitude-compatible ingest, durable outbox, templated
/// delivery.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, max_term_width = 79)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the ingest server and deliver events to every destination.
    Serve,
}

/// Parses the command line, runs the subcommand and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => ExitCode::SUCCESS,
    }
}
