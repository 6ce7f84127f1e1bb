//! Subcommands, runtime construction, wiring and shutdown.
//!
//! Every message on standard error starts with `sluice: `. Exit codes: 0 on success, 1 when a
//! check, render or admin command found problems, 2 on a usage or runtime error.

mod admin;
mod check;
mod render;
mod serve;
mod trial;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

/// Exit code of a check, render or admin command that found problems.
const EXIT_PROBLEMS: u8 = 1;
/// Exit code of a usage or runtime error.
const EXIT_ERROR: u8 = 2;

/// Self-hosted event streaming: accepts Amplitude SDK events, stores them durably and
/// forwards each one to every destination as a templated HTTP request.
#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about,
    max_term_width = 79,
    after_help = "Exit codes: 0 success, 1 problems found (check, render, admin commands), 2 \
                  usage or runtime error."
)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the ingest server and deliver events to every destination.
    Serve(ServeArgs),
    /// Check a configuration file and print a summary of it.
    Check(CheckArgs),
    /// Render a template with a JSON data file and print the result.
    Render(RenderArgs),
    /// Show the pending, leased and dead counts of each destination.
    Queues(admin::QueuesArgs),
    /// List, show, replay or purge dead letters.
    Dead(admin::DeadArgs),
    /// Stop deliveries to a destination until `sluice resume` or a restart.
    Pause(admin::PauseArgs),
    /// Resume deliveries to a paused destination.
    Resume(admin::PauseArgs),
}

/// Arguments of `sluice serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Read the configuration from FILE instead of the embedded default.
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen on ADDR (IP:PORT), overriding `listen` in the file.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Keep the outbox in DIR, overriding `state_dir` in the file.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Logging options shared by the subcommands that log.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Write logs as FORMAT: text or json.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// Log at LEVEL and above: error, warn, info, debug or trace. RUST_LOG overrides it.
    #[arg(
        long,
        value_name = "LEVEL",
        default_value = "info",
        value_parser = clap::builder::PossibleValuesParser::new(["error", "warn", "info", "debug", "trace"])
    )]
    pub log_level: String,
}

/// Arguments of `sluice check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check FILE instead of the embedded default.
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Arguments of `sluice render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Render the template in FILE.
    #[arg(long, short, value_name = "FILE")]
    pub template: PathBuf,
    /// Read the data model from FILE: a JSON object whose keys (such as `input` and
    /// `parameters`) are the template's top-level variables.
    #[arg(long, short, value_name = "FILE")]
    pub data: PathBuf,
}

/// Parses the command line, runs the subcommand and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
        Command::Check(args) => check::run(&args),
        Command::Render(args) => render::run(&args),
        Command::Queues(args) => admin::queues(args),
        Command::Dead(args) => admin::dead(args),
        Command::Pause(args) => admin::pause(args, true),
        Command::Resume(args) => admin::pause(args, false),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "sluice: {}", one_line(&error));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Joins an error's context chain on one line, outermost first, leaving out a cause whose
/// text the message before it already contains (many errors print their source themselves).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Writes `text` to standard output; a closed pipe (`sluice check | head`) ends quietly.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(anyhow::Error::new(error).context("cannot write to standard output")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn one_line_skips_repeated_causes() {
        let io = std::io::Error::other("read-only file system");
        let error = anyhow::Error::new(io).context("cannot open outbox x: read-only file system");
        let error = error.context("cannot start");
        assert_eq!(one_line(&error), "cannot start: cannot open outbox x: read-only file system");
    }

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags_parse() {
        let cli = Cli::try_parse_from([
            "sluice",
            "serve",
            "--config",
            "a.toml",
            "--listen",
            "127.0.0.1:9",
            "--state-dir",
            "s",
            "--log-format",
            "json",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else { panic!("not serve") };
        assert_eq!(args.config, Some(PathBuf::from("a.toml")));
        assert_eq!(args.listen.unwrap().port(), 9);
        assert_eq!(args.state_dir, Some(PathBuf::from("s")));
        assert_eq!(args.log.log_format, LogFormat::Json);
    }

    #[test]
    fn serve_rejects_bad_listen_address() {
        let error = Cli::try_parse_from(["sluice", "serve", "--listen", "here"]).unwrap_err();
        assert!(error.to_string().contains("--listen"), "{error}");
    }

    #[test]
    fn render_needs_template_and_data() {
        assert!(Cli::try_parse_from(["sluice", "render", "--template", "t.ftl"]).is_err());
        let cli = Cli::try_parse_from(["sluice", "render", "-t", "t.ftl", "-d", "d.json"]).unwrap();
        assert!(matches!(cli.command, Command::Render(_)));
    }
}
