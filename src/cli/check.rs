//! `sluice check`: validates a configuration and prints what it configures.

use std::fmt::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::{CheckArgs, EXIT_PROBLEMS, print_stdout, trial};
use crate::config::{ApiKeys, Config, DestinationKind};

/// Loads the configuration and renders each destination's templates once against a sample
/// event; prints a summary and returns 0, or prints every problem to standard error and
/// returns 1. Warnings (a template that fails on the sample event but may work on others) are
/// printed without changing the exit code.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.config {
        std::fs::metadata(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
    }
    let config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            for problem in &error.problems {
                eprintln!("sluice: {problem}");
            }
            eprintln!("sluice: {} found", count(error.problems.len(), "problem"));
            return Ok(ExitCode::from(EXIT_PROBLEMS));
        }
    };
    let sample = trial::sample_event();
    let mut errors = 0;
    for destination in &config.destinations {
        for finding in trial::trial_render(destination, &sample) {
            match finding {
                trial::Finding::Error(message) => {
                    errors += 1;
                    eprintln!("sluice: destinations.{}: {message}", destination.name);
                }
                trial::Finding::Warning(message) => {
                    eprintln!("sluice: warning: destinations.{}: {message}", destination.name);
                }
            }
        }
    }
    if errors > 0 {
        eprintln!("sluice: {} found", count(errors, "problem"));
        return Ok(ExitCode::from(EXIT_PROBLEMS));
    }
    print_stdout(&summary(&config))?;
    Ok(ExitCode::SUCCESS)
}

/// Describes a configuration in a few lines, without any secret.
pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    let file = config
        .path
        .as_ref()
        .map_or_else(|| "embedded default".to_owned(), |p| p.display().to_string());
    let _ = writeln!(out, "configuration: {file} is valid");
    let _ = writeln!(out, "listen: {}", config.listen);
    let _ = writeln!(out, "state_dir: {}", config.state_dir.display());
    for source in &config.sources {
        let keys = match &source.api_keys {
            ApiKeys::Any => "any API key".to_owned(),
            ApiKeys::List(keys) => count(keys.len(), "API key"),
        };
        let _ = writeln!(out, "source {}: {keys}", source.name);
    }
    for destination in &config.destinations {
        let target = match &destination.kind {
            DestinationKind::Stdout => "standard output".to_owned(),
            DestinationKind::Http(http) => {
                format!("{} {}", http.method, crate::config::url_for_display(&http.url))
            }
        };
        let template = match &destination.template {
            Some(template) => format!("template {}", template.name()),
            None => "input as JSON".to_owned(),
        };
        let batch = match &destination.batch {
            Some(batch) => format!("batches of up to {}", batch.max_events),
            None => "one event per request".to_owned(),
        };
        let _ = writeln!(out, "destination {}: {target}, {template}, {batch}", destination.name);
    }
    out
}

/// Returns `n` with `noun`, adding the plural `s` unless `n` is 1: `1 API key`, `2 problems`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}
