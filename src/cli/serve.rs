//! `sluice serve`: runs ingest and delivery until SIGTERM or Ctrl-C.

use super::ServeArgs;

/// Runs the server until a shutdown signal arrives.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("serve is not wired yet")
}
