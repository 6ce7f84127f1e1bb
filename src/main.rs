//! The `sluice` binary: parses arguments, sets up logging and runs the chosen subcommand.

use std::process::ExitCode;

fn main() -> ExitCode {
    sluice::cli::main()
}
